"""What the communication tests showed: per test, each centre's copy (reached or not), its acknowledgement and latency,
overdue copies (alerts.ack_deadlines), reminders sent, and the contact points of the centres that did not answer; the
history of every test; per centre, its latency quarter by quarter (the page's chart). Every test is sent to the whole
network, so its staff and administrators read them all."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import comm_test_schedule
from alerts.access import require_network_role
from alerts.ack_deadlines import partner_copies, reminders_of
from alerts.contact_point_model import ContactPoint
from alerts.errors import NotFound
from alerts.i18n import _
from alerts.models import Alert, Centre, Release, User, utcnow
from alerts.network_setting_model import ScheduledTestRun

MARK = "-test-"  # in the identifier of a communication test's alert (alerts.drills); a channel test has "-probe-"
CONTACT_FIELDS = ("duty-desk", "crisis-communication")  # who to call when a centre did not answer
MAX_TESTS = 200


def require_reader(actor: User | str) -> None:
    """Staff and administrators of any centre; a name (the CLI at the server) reads everything."""
    if isinstance(actor, str):
        return
    require_network_role(actor, "read-communication-tests", _(
        "The communication tests are for the centres' communicators, spokespersons and administrators."))


def _contacts(session: Session, codes: list[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    if not codes:
        return found
    query = (select(ContactPoint).join(ContactPoint.centre).where(Centre.code.in_(codes),
                                                                  ContactPoint.field.in_(CONTACT_FIELDS))
             .order_by(ContactPoint.field.desc(), ContactPoint.id))  # duty desk first
    for point in session.scalars(query):
        found.setdefault(point.centre.code, []).append(
            {"field": point.field, "name": point.name, "function": point.function, "phone": point.phone,
             "email": point.email, "hours": point.hours})
    return found


def _report(session: Session, alert: Alert, release: Release | None, scheduled: str | None, now: datetime) -> dict:
    copies = partner_copies(session, release, now) if release else []
    reminders = reminders_of(session, release.id) if release else {}
    silent = [c.centre for c in copies if c.ack_at is None]
    contacts = _contacts(session, silent)
    partners = []
    for copy in copies:
        seconds = None
        if copy.ack_at is not None and release.fired_at is not None:
            seconds = round((copy.ack_at - release.fired_at).total_seconds(), 1)
        partners.append({"centre": copy.centre, "delivery": copy.delivery, "acknowledged": copy.ack_at is not None,
                         "at": copy.ack_at, "seconds": seconds, "deadline_minutes": copy.deadline_minutes,
                         "due_at": copy.due_at, "status": copy.status, "reminder": reminders.get(copy.centre),
                         "contacts": contacts.get(copy.centre, [])})
    answered = [p["seconds"] for p in partners if p["seconds"] is not None]
    author = session.get(User, alert.created_by_id)
    return {"alert_id": alert.id, "identifier": alert.identifier, "lead_centre": alert.lead_centre.code,
            "started_by": None if scheduled else author.username, "scheduled": scheduled,
            "created_at": alert.created_at, "state": release.state if release else None,
            "sent_at": release.fired_at if release else None, "partners": partners,
            "acknowledged": len(answered), "of": len(partners),
            "overdue": sum(p["status"] == "overdue" for p in partners),
            "slowest_seconds": max(answered) if answered else None}


def _scheduled(session: Session, alert_ids: list[int]) -> dict[int, str]:
    if not alert_ids:
        return {}
    return dict(session.execute(select(ScheduledTestRun.alert_id, ScheduledTestRun.quarter)
                                .where(ScheduledTestRun.alert_id.in_(alert_ids))).all())


def communication_test_report(session: Session, actor: User, alert_id: int) -> dict:
    require_reader(actor)
    alert = session.get(Alert, alert_id)
    if alert is None or MARK not in alert.identifier:
        raise NotFound(_("No communication test %(id)s.", id=alert_id))
    release = session.scalar(select(Release).where(Release.alert_id == alert.id))
    return _report(session, alert, release, _scheduled(session, [alert.id]).get(alert.id), utcnow())


def history(session: Session, actor: User | str, limit: int = 40) -> list[dict]:
    """Every communication test of the network, newest first (at most `limit`, up to MAX_TESTS)."""
    require_reader(actor)
    limit = max(1, min(limit, MAX_TESTS))
    alerts = session.scalars(select(Alert).where(Alert.identifier.contains(MARK))
                             .order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)).all()
    releases = {r.alert_id: r for r in session.scalars(select(Release).where(
        Release.alert_id.in_([a.id for a in alerts])))} if alerts else {}
    scheduled = _scheduled(session, [a.id for a in alerts])
    now = utcnow()
    return [_report(session, alert, releases.get(alert.id), scheduled.get(alert.id), now) for alert in alerts]


def chart(session: Session, reports: list[dict]) -> dict:
    """Per centre, its answer to each quarter's test: the scheduled test of the quarter, else its first test. Quarters
    in the schedule's time zone, oldest first."""
    schedule = comm_test_schedule.read(session)
    zone = ZoneInfo(schedule.timezone)
    per_quarter: dict[str, dict] = {}
    for report in sorted(reports, key=lambda r: r["created_at"]):
        moment = (report["sent_at"] or report["created_at"]).astimezone(zone)
        label = comm_test_schedule.quarter_label(moment.year, (moment.month - 1) // 3 + 1)
        if label not in per_quarter or (report["scheduled"] and not per_quarter[label]["scheduled"]):
            per_quarter[label] = report
    quarters = sorted(per_quarter)
    centres = sorted({p["centre"] for r in per_quarter.values() for p in r["partners"]})
    rows = []
    for code in centres:
        cells = []
        for label in quarters:
            answer = next((p for p in per_quarter[label]["partners"] if p["centre"] == code), None)
            cells.append({"quarter": label, "seconds": answer["seconds"] if answer else None,
                          "status": answer["status"] if answer else "not-sent"})
        rows.append({"centre": code, "cells": cells})
    longest = max((c["seconds"] for r in rows for c in r["cells"] if c["seconds"] is not None), default=None)
    return {"quarters": quarters, "centres": rows, "longest_seconds": longest}


def schedule_view(session: Session, now: datetime | None = None) -> dict:
    schedule = comm_test_schedule.read(session)
    return {**asdict(schedule), "next_at": schedule.next_moment(now or utcnow()),
            "runs": [{"quarter": r.quarter, "at": r.at, "alert_id": r.alert_id, "outcome": r.outcome}
                     for r in comm_test_schedule.runs(session)]}
