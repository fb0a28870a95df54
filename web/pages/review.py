"""Spokespersons' pages: submit, review and decide, schedule or release, Updates and Cancels."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from alerts import authoring, release, review, sendable, updates
from alerts.errors import DomainError
from alerts.gazetteer import PLACES, place_name
from alerts.models import Alert, utcnow
from alerts.rendering import channel_problems
from channels.specs import PUBLIC_CHANNELS, TextLimits
from web import db_session, operation, release_options, services
from web.auth import login_required
from web.i18n import local_time, select_locale
from web.pages import bp
from web.pages.common import (
    base_version,
    current_alert,
    parse_local,
    perform,
    preview_context,
    release_of,
    show_refusal,
    user_timezone,
)


@bp.post("/alerts/<int:alert_id>/submit")
@login_required
def submit(alert_id):
    """Submit for approval; when the area covers the territory of centres that do not take part, the form names them
    (hidden `outside_participants`) and the ticked `confirm_outside` box confirms them."""
    limits = TextLimits.from_settings(services().settings)
    confirmed = request.form.getlist("outside_participants") if request.form.get("confirm_outside") == "yes" else None
    return perform(lambda session: review.submit_alert(session, g.user, alert_id, base_version(), limits, confirmed),
                   _("Submitted: the spokespersons of every centre can now review it."),
                   url_for("pages.detail", alert_id=alert_id))


def _configured_channels(alert: Alert) -> dict[str, list[str]]:
    return {row.centre.code: sendable.configured_channels(row.centre) + ["partners"]
            for row in sorted(alert.centre_rows, key=lambda r: r.role != "lead")}


def _channel_fits(alert: Alert, content: dict) -> dict[str, list[str]]:
    """Per channel, what the release would refuse (rendering.channel_problems: the same rule, the same languages,
    each country's cell broadcast)."""
    languages = sendable.sent_languages(alert, content)
    policies = sendable.cell_broadcast_policies(alert, _configured_channels(alert), languages) if languages else {}
    return channel_problems(content, languages, PUBLIC_CHANNELS, TextLimits.from_settings(services().settings),
                            cell_broadcast_policies=policies)


@bp.get("/alerts/<int:alert_id>/review")
@login_required
def review_page(alert_id):
    dbs = db_session()
    alert, version, content = current_alert(dbs, alert_id)
    channels = _configured_channels(alert)
    confirmation = release.confirmation(dbs, alert, content, channels, utcnow(), release_options(), g.user)
    decisions = review.decisions(dbs, alert, version)
    planned = release_of(dbs, alert)
    return render_template("pages/review.html", alert=alert, version=version, content=content,
                           **(release.plan_status(planned) if planned else {"plan": None, "awaiting": []}),
                           confirmation=confirmation, **preview_context(alert, content),
                           approvals=review.approval_state(dbs, alert, version),
                           decisions=decisions, fits=_channel_fits(alert, content), channels=channels,
                           planned=planned, cancel=updates.prepared_cancel(dbs, alert),
                           place_label=lambda code: place_name(code, select_locale()) if code in PLACES else code)


@bp.post("/alerts/<int:alert_id>/decision")
@login_required
def decide(alert_id):
    decision, centre = request.form.get("decision", ""), g.user.centre.code
    return perform(lambda session: review.decide(session, g.user, alert_id, base_version(),
                                                 request.form.get("content_hash"), decision,
                                                 request.form.get("reason", "")),
                   _("Approved for %(centre)s.", centre=centre) if decision == "approve"
                   else _("Rejected for %(centre)s; the alert is back in draft.", centre=centre),
                   url_for("pages.review_page", alert_id=alert_id))


@bp.route("/alerts/<int:alert_id>/release", methods=["GET", "POST"])
@login_required
def release_page(alert_id):
    dbs = db_session()
    alert, version, content = current_alert(dbs, alert_id)
    channels = _configured_channels(alert)
    fits = _channel_fits(alert, content)
    status = 200
    if request.method == "POST":
        chosen = {code: [n for n in request.form.getlist(f"channel-{code}") if n in names]
                  for code, names in channels.items()}
        chosen = {code: names for code, names in chosen.items() if names}
        try:
            with operation():
                at = None if request.form.get("when") != "at" else parse_local(request.form.get("at", ""), "at")
                if request.form.get("when") == "at" and at is None:
                    raise DomainError(_("Enter the local time of the release, or choose to release now."))
                planned = release.schedule_release(dbs, g.user, alert_id, base_version(),
                                                   request.form.get("content_hash"), chosen, at, release_options())
        except DomainError as error:
            show_refusal(error)
            status = error.status
        else:
            flash(_("Release scheduled for %(at)s.", at=local_time(planned.scheduled_for)), "ok")
            return redirect(url_for("pages.deliveries", alert_id=alert_id))
    confirmation = release.confirmation(dbs, alert, content, channels, utcnow(), release_options(), g.user)
    default_at = (utcnow() + timedelta(minutes=5)).astimezone(user_timezone()).strftime("%Y-%m-%dT%H:%M:%S")
    return render_template("pages/release.html", alert=alert, version=version, content=content, channels=channels,
                           fits=fits, confirmation=confirmation, default_at=default_at,
                           timezone=g.user.centre.timezone), status


@bp.post("/alerts/<int:alert_id>/release/consents")
@login_required
def confirm(alert_id):
    """A spokesperson confirms their centre's channels and the moment of the plan shown."""
    return perform(lambda session: release.confirm_release(session, g.user, alert_id, request.form.get("plan"),
                                                           release_options()),
                   _("Confirmed: %(centre)s's channels go out at the planned moment.", centre=g.user.centre.code),
                   url_for("pages.deliveries", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/release/withdraw")
@login_required
def withdraw(alert_id):
    """Stop a scheduled release before T; the alert is approved again, to reschedule or to edit."""
    return perform(lambda session: release.withdraw_release(session, g.user, alert_id, base_version(),
                                                            request.form.get("reason", ""), release_options()),
                   _("Release withdrawn: nothing of it will be sent. Reschedule it or edit the alert."),
                   url_for("pages.detail", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/derive")
@login_required
def derive(alert_id):
    """Start a Cancel or an Update of a released alert (a live alert has its Cancel prepared already)."""
    dbs = db_session()
    msg_type = request.form.get("msg_type", "")
    try:
        with operation():
            source = authoring.get_alert(dbs, g.user, alert_id, "edit", lock=True)
            derived = updates.derive_alert(dbs, g.user, source, msg_type, release_options().cap_sender_domain)
    except DomainError as error:
        if "cancel_id" in error.extra:  # one of this type exists already: the page leads to it
            return redirect(url_for("pages.review_page", alert_id=error.extra["cancel_id"]))
        if "update_id" in error.extra:
            flash(_("An Update of this alert is already in the works: continue it here."), "info")
            return redirect(url_for("pages.detail", alert_id=error.extra["update_id"]))
        show_refusal(error)
        return redirect(url_for("pages.detail", alert_id=alert_id))
    flash(_("Cancel prepared: check it and submit it for approval.") if msg_type == "Cancel"
          else _("Update prepared: check it and submit it for approval."), "ok")
    return redirect(url_for("pages.detail", alert_id=derived.id))
