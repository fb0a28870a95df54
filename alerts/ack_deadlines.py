"""Acknowledgement deadlines of partner copies: the one rule that says whether a centre's copy is acknowledged, late,
overdue or still awaited, and the reminder SMS to the 24/7 duty desk of a centre whose copy is overdue.

A copy's deadline runs from the moment it reached the centre's endpoint (its ledger row's `sent_at`), for the
minutes its centre set (centres.ack_deadline_minutes; none: no deadline). A reminder is an outgoing message like any
other: a ledger row of the same release, written before it is sent, once per release, centre and number (its
idempotency key), on the main lane so that a large SMS fan-out does not hold it up."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from alerts.contact_point_model import ContactPoint
from alerts.ledger import HEADS_UP
from alerts.models import Ack, Alert, Centre, Delivery, Payload, Release, utcnow

REMINDER = "ack-reminder"  # the payload type (meta) of a reminder SMS
LOOK_BACK = timedelta(days=2)  # releases older than this get no reminders (the longest deadline is a day)
REACHED = ("sent", "delivered")
# inlined, not bound: PostgreSQL then uses the partial index of the main lane's rows (ix_deliveries_main_lane)
MAIN_LANE = Delivery.lane == literal_column("'main'")
SHORT = {"Test": "communication test", "Exercise": "exercise", "Actual": "warning copy"}


@dataclass(frozen=True)
class CopyStatus:
    centre: str
    delivery: str  # the copy's ledger state: pending … sent, delivered, failed
    sent_at: datetime | None
    ack_at: datetime | None
    deadline_minutes: int | None
    status: str  # acknowledged | late | overdue | waiting | not-reached

    @property
    def due_at(self) -> datetime | None:
        return due_at(self.sent_at, self.deadline_minutes)


def due_at(sent_at: datetime | None, deadline: int | None) -> datetime | None:
    """When a copy's acknowledgement is due: its deadline from the moment it reached the endpoint (none: never)."""
    return None if sent_at is None or deadline is None else sent_at + timedelta(minutes=deadline)


def status_of(delivery: str, sent_at: datetime | None, ack_at: datetime | None, deadline: int | None,
              now: datetime) -> str:
    due = due_at(sent_at, deadline)
    if ack_at is not None:
        return "late" if due is not None and ack_at > due else "acknowledged"
    if delivery not in REACHED:
        return "not-reached" if delivery in ("failed", "expired", "unknown") else "waiting"
    return "overdue" if due is not None and now >= due else "waiting"


def partner_copies(session: Session, release: Release, now: datetime | None = None) -> list[CopyStatus]:
    """Per centre that was sent this release's public partner copy (not a heads-up), its copy's status."""
    now = now or utcnow()
    payloads = {p.id for p in session.scalars(select(Payload).where(Payload.release_id == release.id,
                                                                    Payload.channel == "partners"))
                if (p.meta or {}).get("type") != HEADS_UP}
    copies: dict[str, tuple[str, datetime | None]] = {}
    rank = {"delivered": 6, "sent": 5, "sending": 4, "claimed": 3, "pending": 2, "unknown": 1}
    for row in session.scalars(select(Delivery).where(Delivery.release_id == release.id, MAIN_LANE,
                                                      Delivery.channel == "partners")):
        if row.payload_id not in payloads:
            continue
        best = copies.get(row.centre_code)
        if best is None or rank.get(row.state, 0) > rank.get(best[0], 0):
            copies[row.centre_code] = (row.state, row.sent_at)
    acks: dict[str, datetime] = {}
    for ack in session.scalars(select(Ack).where(Ack.alert_id == release.alert_id).order_by(Ack.at)):
        acks.setdefault(ack.centre.code, ack.at)
    deadlines = dict(session.execute(select(Centre.code, Centre.ack_deadline_minutes)
                                     .where(Centre.code.in_(list(copies)))).all()) if copies else {}
    return [CopyStatus(code, state, sent_at, acks.get(code), deadlines.get(code),
                       status_of(state, sent_at, acks.get(code), deadlines.get(code), now))
            for code, (state, sent_at) in sorted(copies.items())]


def duty_desk_phones(session: Session, centre_codes: list[str]) -> dict[str, list[str]]:
    """Per centre, the phone numbers of its 24/7 duty desk entries in the contact-point directory."""
    rows = session.execute(select(Centre.code, ContactPoint.phone).join(ContactPoint.centre)
                           .where(Centre.code.in_(centre_codes), ContactPoint.field == "duty-desk",
                                  ContactPoint.phone.is_not(None)).order_by(ContactPoint.id)).all()
    phones: dict[str, list[str]] = {}
    for code, phone in rows:
        phones.setdefault(code, []).append(phone)
    return phones


def reminder_text(release: Release, alert: Alert, centre: str) -> str:
    kind = SHORT["Test"] if "-test-" in alert.identifier else SHORT.get(release.mode, "copy")
    sent = release.fired_at.strftime("%d %b %H:%M") if release.fired_at else "?"
    return (f"Benelert: the {kind} of {alert.lead_centre.code} sent {sent} UTC is not acknowledged by {centre} "
            f"within its deadline. Please acknowledge it in Benelert.")


def _key(release_id: int, centre: str, phone: str) -> str:
    return REMINDER + ":" + hashlib.sha256(f"{release_id}|{centre}|{phone}".encode()).hexdigest()[:28]


def reminders_of(session: Session, release_id: int) -> dict[str, str]:
    """Per centre reminded for this release, the state of its reminder SMS (the best of its rows)."""
    payloads = {p.id for p in session.scalars(select(Payload).where(Payload.release_id == release_id,
                                                                    Payload.channel == "sms"))
                if (p.meta or {}).get("type") == REMINDER}
    states: dict[str, str] = {}
    if payloads:
        for code, state in session.execute(select(Delivery.centre_code, Delivery.state).where(
                Delivery.release_id == release_id, MAIN_LANE, Delivery.payload_id.in_(payloads))):
            if states.get(code) not in REACHED:  # a number that got it counts for the centre
                states[code] = state
    return states


def remind_overdue(session: Session, now: datetime | None = None) -> list[tuple[int, str]]:
    """Stage a reminder SMS for each overdue copy of the last LOOK_BACK whose centre has a duty desk number and no
    reminder yet; (release id, centre code) of each reminded copy. The caller checks that reminders are on."""
    now = now or utcnow()
    reminded = []
    releases = session.scalars(select(Release).where(Release.state == "released", Release.fired_at >= now - LOOK_BACK)
                               .order_by(Release.id)).all()
    for release in releases:
        overdue = [c.centre for c in partner_copies(session, release, now) if c.status == "overdue"]
        if not overdue:
            continue
        done = reminders_of(session, release.id)
        phones = duty_desk_phones(session, [code for code in overdue if code not in done])
        if not phones:
            continue
        alert = session.get(Alert, release.alert_id)
        for code, numbers in phones.items():
            body = reminder_text(release, alert, code)
            payload = Payload(release_id=release.id, channel="sms", centre_code=code, language="en", body=body,
                              sha256=hashlib.sha256(body.encode()).hexdigest(), meta={"type": REMINDER})
            session.add(payload)
            session.flush()
            for phone in numbers:
                session.add(Delivery(release_id=release.id, payload_id=payload.id, channel="sms", lane="main",
                                     centre_code=code, language="en", target=phone,
                                     idempotency_key=_key(release.id, code, phone), next_attempt_at=now))
            reminded.append((release.id, code))
    session.flush()
    return reminded
