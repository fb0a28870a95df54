"""Updates and Cancels of a released alert: new alerts that refer to it as CAP demands; once released, they end
what they refer to."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.authoring import get_version, scalar_values
from alerts.cap import cap_datetime
from alerts.errors import Conflict, InvalidInput
from alerts.factory import new_alert
from alerts.i18n import _
from alerts.ledger import cap_sender, withdraw
from alerts.models import (
    Alert,
    Area,
    Release,
    User,
    VersionText,
    utcnow,
)
from alerts.texts import TemplateInput, cancel_texts

if TYPE_CHECKING:
    from alerts.release import ReleaseOptions


def prepared_cancel(session: Session, source: Alert) -> Alert | None:
    """The Cancel of `source`, if one was prepared (there is at most one)."""
    return session.scalar(select(Alert).where(Alert.source_alert_id == source.id, Alert.msg_type == "Cancel")
                          .order_by(Alert.id.desc()).limit(1))


def update_in_the_works(session: Session, source: Alert) -> Alert | None:
    """The Update of `source` not yet released nor closed, if any: there is at most one at a time, which the
    centres co-author (a second one started meanwhile would silently compete with it)."""
    return session.scalar(select(Alert).where(Alert.source_alert_id == source.id, Alert.msg_type == "Update",
                                              Alert.state.in_(workflow.FROM_STATES["close"]))
                          .order_by(Alert.id.desc()).limit(1))


def _existing_derived(session: Session, source: Alert, msg_type: str) -> Alert | None:
    """The Cancel, or the Update in the works, that a new derive of this type would duplicate."""
    return prepared_cancel(session, source) if msg_type == "Cancel" else update_in_the_works(session, source)


def derive_alert(session: Session, author: User, source: Alert, msg_type: str, domain: str) -> Alert:
    """A new alert that updates or cancels a released one, referring to it as CAP demands.

    An Update starts as a copy to edit; a Cancel is pre-filled from the phrasebook in every language.
    Either goes through the same submission and approval path as any alert. One of each at a time: the caller
    holds the source's row (get_alert(..., lock=True)), so derives sent together see each other's result.
    """
    if msg_type not in ("Update", "Cancel"):
        raise InvalidInput(_("The message type (msg_type) must be Update or Cancel."), field="msg_type")
    fired = session.scalar(select(Release).where(Release.alert_id == source.id, Release.state == "released"))
    if fired is None or source.state != "released":
        raise Conflict(_("Only a released alert can be updated or cancelled."))
    existing = _existing_derived(session, source, msg_type)
    if existing is not None and msg_type == "Cancel":
        raise Conflict(_("A Cancel of this alert is already prepared (alert %(id)s): approve and release that one.",
                         id=existing.id), cancel_id=existing.id)
    if existing is not None:
        raise Conflict(_("An Update of this alert is already in the works (alert %(id)s): continue that one.",
                         id=existing.id), update_id=existing.id)
    base = get_version(session, source, fired.version_number)
    lead = source.lead_centre
    reference = f"{cap_sender(lead, domain)},{source.identifier},{cap_datetime(fired.scheduled_for, lead.timezone)}"
    values = scalar_values(base)
    if msg_type == "Cancel":
        values.update(urgency="Past", severity="Minor", certainty="Observed", onset=None)
        params = TemplateInput(hazard=base.hazard, places=tuple(a.place for a in base.areas if a.place), onset=None,
                               expires=base.expires, web=base.web or "", timezone=lead.timezone,
                               country=lead.code.split("-")[0])
        templates = cancel_texts(params, sorted({t.language for t in base.texts}))
        texts = [VersionText(language=lang, field=field, body=body or "", status="template" if body else "missing")
                 for (lang, field), body in sorted(templates.items())]
    else:
        texts = [VersionText(language=t.language, field=t.field, body=t.body, status=t.status) for t in base.texts]
    areas = [Area(position=a.position, description=a.description, place=a.place, polygons=a.polygons,
                  circles=a.circles or [], geocodes=a.geocodes) for a in base.areas]
    by_code = {row.centre.code: row.centre for row in source.centre_rows}
    centres = [by_code[code] for code in base.participants]  # the lead first, as in every version
    alert, version = new_alert(session, author, centres, values, texts, areas, msg_type=msg_type,
                               summary=f"{msg_type.lower()} of {source.identifier}",
                               references=[*source.references, reference], source=source)
    audit.record(session, author, f"alert.{msg_type.lower()}.prepare", "alert", alert.id,
                 content_hash=version.content_hash, detail={"source": source.id, "references": alert.references})
    return alert


def end_referenced(session: Session, alert: Alert, mode: str, actor, options: ReleaseOptions) -> None:
    """`alert`, a released Update or Cancel, ends every alert it refers to (its source, the source's source...)
    that reached the same audience (a Cancel cancels, an Update supersedes them), and closes the other Updates
    and Cancels of those alerts still in the works, such as their prepared Cancels. The caller holds the rows
    of `alert` and its sources."""
    action = "cancel" if alert.msg_type == "Cancel" else "supersede"
    source_id = alert.source_alert_id
    while source_id is not None:
        source = session.get(Alert, source_id)
        source_mode = session.scalar(select(Release.mode).where(Release.alert_id == source.id,
                                                                Release.state == "released"))
        if workflow.allowed(source.state, action) and source_mode == mode:  # an expired alert stays expired
            workflow.advance(source, action, actor)
            audit.record(session, actor, f"alert.{workflow.PAST[action]}", "alert", source.id,
                         detail={"by": alert.id})
        in_the_works = workflow.FROM_STATES["close"]  # Updates and Cancels not released yet
        for other in session.scalars(select(Alert).where(Alert.source_alert_id == source.id, Alert.id != alert.id,
                                                         Alert.state.in_(in_the_works))
                                     .order_by(Alert.id).with_for_update(of=Alert)).all():
            _close(session, other, alert, actor, options)
        source_id = source.source_alert_id


def _close(session: Session, other: Alert, by: Alert, actor, options: ReleaseOptions) -> None:
    reason = f"{by.msg_type} {by.identifier} ended what it referred to"
    if other.state == "scheduled":  # its staged ledger goes with it
        planned = session.scalar(select(Release).where(Release.alert_id == other.id, Release.state == "scheduled"))
        if planned is not None:
            withdraw(session, planned, other, get_version(session, other, planned.version_number), options,
                     utcnow(), reason)
    workflow.advance(other, "close", actor)
    audit.record(session, actor, "alert.close", "alert", other.id, detail={"by": by.id, "reason": reason})
