"""Exchange with partner centres and the public: which warnings a centre received, acknowledgements (JSON or
CAP Ack) and the published CAP messages.

Verb functions: the session and the acting user come in as arguments; no Flask here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import require_role
from alerts.cap import CapError, parse_cap, parse_cap_datetime
from alerts.errors import DomainError, Forbidden, InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import Ack, Alert, AlertCentre, Centre, Delivery, Payload, Release, User, utcnow

ACK_ROLES = ("partner", "spokesperson", "communicator")
ACK_KINDS = ("received", "read")
ACK_MAX_BYTES = 64 * 1024  # a CAP Ack is a few hundred bytes; anything near this is not one
# the alerts one CAP Ack may acknowledge: a centre acknowledges a message, or a handful after a network outage
ACK_MAX_REFERENCES = 20
CAP_CHANNELS = ("national", "partners")  # their payloads hold the exact CAP XML that was sent


class InvalidCap(DomainError, status=400, title=_("Invalid CAP message")):
    """An incoming CAP message we refuse to read: malformed, oversized, with a DTD or not CAP 1.2."""


# --- Acks ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AckResult:
    ack: Ack
    alert: Alert
    created: bool


def _released(session: Session, alert: Alert) -> Release | None:
    return session.scalar(select(Release).where(Release.alert_id == alert.id, Release.fired_at.is_not(None)))


def _shared_with(centre: Centre):
    """The one rule of who received a released alert, as SQL over Alert and Release: the centres taking part, and
    the centres whose partner endpoints were sent its copy. The ledger, rather than today's endpoints, says who
    was sent a copy: an endpoint added after the release got nothing to acknowledge, one disabled since did.

    Released means fired, or scheduled and due: the dispatchers send a release's rows as they fall due at T, and the
    scheduler's flip to released may come a tick later (longer while no worker leads); a partner that acknowledges
    the copy it just received is not told that nothing was released to it."""
    partner_copy = exists().where(Delivery.release_id == Release.id, Delivery.channel == "partners",
                                  Delivery.centre_code == centre.code)
    takes_part = exists().where(AlertCentre.alert_id == Alert.id, AlertCentre.centre_id == centre.id)
    due = or_(Release.fired_at.is_not(None), and_(Release.state == "scheduled", Release.scheduled_for <= utcnow()))
    return and_(Release.alert_id == Alert.id, due, or_(partner_copy, takes_part))


def incoming_for(session: Session, centre: Centre, limit: int = 200) -> list[tuple[Alert, Release]]:
    """The released alerts shared with `centre`, newest first."""
    rows = session.execute(select(Alert, Release).where(_shared_with(centre))
                           .order_by(func.coalesce(Release.fired_at, Release.scheduled_for).desc()).limit(limit))
    return [(alert, release) for alert, release in rows]


def shared_alert(session: Session, actor: User, identifier: str) -> tuple[Alert, Release]:
    """The released alert with this CAP identifier, if it was shared with the actor's centre.

    An unknown identifier and an alert not shared with the centre get the same answer: no existence leak.
    """
    row = session.execute(select(Alert, Release).where(Alert.identifier == identifier,  # NUL: refused by web/
                                                       _shared_with(actor.centre))).first()
    if row is None:
        raise NotFound(_("No alert with identifier '%(identifier)s' has been released to your centre (%(centre)s).",
                         identifier=identifier, centre=actor.centre.code))
    return row[0], row[1]


def _existing_ack(session: Session, alert: Alert, centre_id: int, kind: str) -> Ack | None:
    return session.scalar(select(Ack).where(Ack.alert_id == alert.id, Ack.centre_id == centre_id, Ack.kind == kind))


def _ensure_ack(session: Session, actor: User, alert: Alert, kind: str, via: str, detail: dict) -> AckResult:
    existing = _existing_ack(session, alert, actor.centre_id, kind)
    if existing is not None:
        return AckResult(existing, alert, False)
    ack = Ack(alert_id=alert.id, centre_id=actor.centre_id, kind=kind, via=via, user_id=actor.id, at=utcnow())
    try:
        with session.begin_nested():  # a concurrent identical ack wins the unique constraint: return that one
            session.add(ack)
            session.flush()
    except IntegrityError:
        return AckResult(_existing_ack(session, alert, actor.centre_id, kind), alert, False)
    audit.record(session, actor, f"ack.{kind}", "alert", alert.id,
                 detail={"centre": actor.centre.code, "via": via, **detail})
    return AckResult(ack, alert, True)


def _check_acting_centre(actor: User, centre: str | None) -> None:
    require_role(actor, *ACK_ROLES)
    if centre is not None and centre != actor.centre.code:
        raise Forbidden(_("You act for centre %(mine)s: you cannot acknowledge for '%(centre)s'.",
                          mine=actor.centre.code, centre=centre))


def acknowledge(session: Session, actor: User, identifier: str, kind: str, *, centre: str | None = None,
                via: str = "api", detail: dict | None = None) -> list[AckResult]:
    """Record that the actor's centre received (or read) the alert; idempotent, and `read` implies `received`."""
    _check_acting_centre(actor, centre)
    if kind not in ACK_KINDS:
        raise InvalidInput(_("The kind must be one of %(kinds)s, not '%(kind)s'.", kinds=", ".join(ACK_KINDS),
                             kind=kind), field="kind")
    alert, _release = shared_alert(session, actor, identifier)
    kinds = ("received", "read") if kind == "read" else ("received",)
    return [_ensure_ack(session, actor, alert, each, via, detail or {}) for each in kinds]


def _sent_cap(session: Session, release: Release) -> dict | None:
    body = session.scalar(select(Payload.body).where(Payload.release_id == release.id,
                                                     Payload.channel.in_(CAP_CHANNELS)).order_by(Payload.id).limit(1))
    return None if body is None else parse_cap(body.encode("utf-8"), max_bytes=len(body.encode("utf-8")))


def _check_reference(reference: dict, sent: dict | None) -> None:
    """A reference names the message we sent (`sent`, parsed): same sender and the same moment (offsets may
    differ)."""
    if sent is None:
        return  # this release sent no CAP (e.g. only social media): the identifier is all there is to match
    try:
        same_moment = parse_cap_datetime(reference["sent"]) == sent["sent_at"]
    except ValueError:
        same_moment = False
    if reference["sender"] != sent["sender"] or not same_moment:
        named = ",".join(str(reference[key]) for key in ("sender", "identifier", "sent"))
        ours = ",".join(str(sent[key]) for key in ("sender", "identifier", "sent"))
        raise InvalidInput(_("The reference %(reference)s does not match the message sent (%(sent)s).",
                             reference=named, sent=ours), field="references")


def acknowledge_cap(session: Session, actor: User, data: bytes, kind: str = "received") -> list[AckResult]:
    """Acknowledge every alert a CAP 1.2 Ack message references; all of them or, on any problem, none."""
    _check_acting_centre(actor, None)
    try:
        message = parse_cap(data, max_bytes=ACK_MAX_BYTES)
    except CapError as error:
        raise InvalidCap(_("The CAP message cannot be read: %(reason)s", reason=str(error))) from None
    if message["msgType"] != "Ack":
        raise InvalidInput(_("This is a CAP %(type)s message; only msgType Ack acknowledges an alert.",
                             type=message["msgType"]), field="msgType")
    # the work per request is bounded: a reference repeated counts once, and one Ack names few alerts
    references = list({(ref["sender"], ref["identifier"], ref["sent"]): ref for ref in message["references"]}.values())
    if len(references) > ACK_MAX_REFERENCES:
        raise InvalidInput(_("A CAP Ack may acknowledge at most %(max)d alerts; this one references %(count)d. Send "
                             "several Acks.", max=ACK_MAX_REFERENCES, count=len(references)), field="references")
    results, sent_caps = [], {}
    for reference in references:
        alert, release = shared_alert(session, actor, reference["identifier"])
        if message["status"] != release.mode:
            raise InvalidInput(_("A CAP Ack with status %(status)s cannot acknowledge an alert released as %(mode)s.",
                                 status=message["status"], mode=release.mode), field="status")
        if release.id not in sent_caps:
            sent_caps[release.id] = _sent_cap(session, release)
        _check_reference(reference, sent_caps[release.id])
        detail = {"cap_identifier": message["identifier"], "cap_sender": message["sender"]}
        results += acknowledge(session, actor, reference["identifier"], kind, via="cap", detail=detail)
    return results


def ack_report(session: Session, alert: Alert, only_centre: str | None = None) -> dict:
    """Every ack of the alert, and per receiving centre how long after the release it was received and read.
    `only_centre`: that centre's own rows only (for a centre that received a copy but does not take part)."""
    release = _released(session, alert)
    acks = session.scalars(select(Ack).where(Ack.alert_id == alert.id).order_by(Ack.at, Ack.id)).all()
    if only_centre is not None:
        acks = [ack for ack in acks if ack.centre.code == only_centre]
    users = dict(session.execute(select(User.id, User.username).where(
        User.id.in_({ack.user_id for ack in acks if ack.user_id}))).all())
    listed = [{"centre": ack.centre.code, "kind": ack.kind, "via": ack.via, "at": ack.at,
               "user": users.get(ack.user_id)} for ack in acks]
    centres = [row.centre.code for row in alert.centre_rows if row.role != "lead"]
    if release is not None:
        centres += session.scalars(select(Delivery.centre_code).distinct().where(
            Delivery.release_id == release.id, Delivery.channel == "partners").order_by(Delivery.centre_code))
    centres += [ack.centre.code for ack in acks]
    if only_centre is not None:
        centres = [code for code in centres if code == only_centre]
    summary = []
    for code in dict.fromkeys(centres):
        row = {"centre": code}
        for kind in ACK_KINDS:
            at = next((ack.at for ack in acks if ack.centre.code == code and ack.kind == kind), None)
            row[f"{kind}_at"] = at
            row[f"{kind}_after_s"] = (round((at - release.fired_at).total_seconds(), 3)
                                      if at is not None and release is not None else None)
        summary.append(row)
    return {"identifier": alert.identifier, "released_at": release.fired_at if release else None,
            "acks": listed, "centres": summary}


# --- Published CAP messages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    identifier: str
    released_at: datetime
    body: str
    sha256: str


def _published_query():
    # the first CAP payload is the public one (alerts/ledger.py writes a heads-up's payload after it)
    first_cap = (select(func.min(Payload.id)).where(Payload.release_id == Release.id,
                                                    Payload.channel.in_(CAP_CHANNELS))
                 .correlate(Release).scalar_subquery())
    return (select(Alert.identifier, Release.fired_at, Payload.body, Payload.sha256)
            .join(Release, Release.alert_id == Alert.id).join(Payload, Payload.id == first_cap)
            .where(Release.mode == "Actual", Release.state == "released"))


def published_messages(session: Session, limit: int = 100) -> list[Published]:
    """The CAP messages of live releases, newest first; exercises and tests are never published."""
    rows = session.execute(_published_query().order_by(Release.fired_at.desc(), Release.id.desc()).limit(limit))
    return [Published(*row) for row in rows]


def published_message(session: Session, identifier: str) -> Published | None:
    row = session.execute(_published_query().where(Alert.identifier == identifier)).first()
    return None if row is None else Published(*row)


# --- Subscribers -------------------------------------------------------------------------------------------


