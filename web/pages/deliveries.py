"""The delivery dashboard of a release: per centre and channel, a timeline, refreshed live."""
from __future__ import annotations

from flask import abort, g, render_template
from sqlalchemy import select

from alerts import authoring, release, updates
from alerts.models import Delivery, Release, utcnow
from web import db_session
from web.auth import login_required
from web.pages import bp
from web.pages.common import release_of


def _chart(dbs, planned: Release) -> dict:
    """Cumulative deliveries (sent or delivered) per channel over the seconds after T, as SVG polylines."""
    rows = dbs.execute(select(Delivery.channel, Delivery.sent_at, Delivery.delivered_at)
                       .where(Delivery.release_id == planned.id)).all()
    start = planned.fired_at or planned.scheduled_for
    series: dict[str, list[float]] = {}
    for channel, sent_at, delivered_at in rows:
        moment = sent_at or delivered_at
        if moment is not None:
            series.setdefault(channel, []).append(max(0.0, (moment - start).total_seconds()))
    span = max([max(times) for times in series.values()] + [1.0])
    total = max([len(times) for times in series.values()] + [1])
    width, height, pad = 600, 200, 30
    colours = ("#0b5394", "#b00020", "#146c2e", "#7a4b00", "#5b2a86")
    lines = []
    for index, (channel, times) in enumerate(sorted(series.items())):
        points = [(pad, height - pad)]
        for count, moment in enumerate(sorted(times), start=1):
            x = pad + (width - 2 * pad) * moment / span
            y = height - pad - (height - 2 * pad) * count / total
            points += [(x, points[-1][1]), (x, y)]
        points.append((width - pad, points[-1][1]))
        lines.append({"channel": channel, "count": len(times), "colour": colours[index % len(colours)],
                      "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points)})
    return {"width": width, "height": height, "pad": pad, "span": span, "total": total, "lines": lines}


def _dashboard(alert_id: int) -> dict:
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "read")
    planned = release_of(dbs, alert)
    if planned is None:
        abort(404)
    counts = {code: per for code, per in release.delivery_counts(dbs, planned).items()
              if release.sees_recipients(g.user, alert, code)}
    lateness = dict(dbs.execute(
        select(Delivery.channel, Delivery.first_attempt_at).where(release.attempted_from_t(planned))
        .order_by(Delivery.first_attempt_at)).all())  # channel -> its last first attempt
    late = {channel: int((moment - planned.scheduled_for).total_seconds() * 1000)
            for channel, moment in lateness.items()}
    return {"alert": alert, "planned": planned, "counts": counts, "late": late,
            "skew": release.skew_ms(dbs, planned), "chart": _chart(dbs, planned),
            "states": ("pending", "sending", "sent", "delivered", "failed", "unknown"),
            "cancel": updates.prepared_cancel(dbs, alert), "now": utcnow(), **release.plan_status(planned)}


@bp.get("/alerts/<int:alert_id>/deliveries")
@login_required
def deliveries(alert_id):
    return render_template("pages/deliveries.html", **_dashboard(alert_id))


@bp.get("/alerts/<int:alert_id>/deliveries/live")
@login_required
def deliveries_live(alert_id):
    return render_template("pages/_deliveries.html", **_dashboard(alert_id))
