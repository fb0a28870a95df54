"""SMS subscribers: who receives a live SMS release (by centre, area and language), imports of subscriber
lists (all rows or none) and STOP opt-outs."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import and_, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from alerts import audit
from alerts.access import require_role
from alerts.errors import InvalidInput
from alerts.gazetteer import PLACES
from alerts.i18n import ngettext
from alerts.models import Centre, Delivery, Release, Subscriber, SubscriberArea, User, utcnow
from alerts.subscribers_csv import parse_subscribers_csv
from alerts.vocabulary import LANGUAGES

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
IMPORT_ROLES = ("admin", "communicator")
CHUNK = 5000  # rows per statement: below SQLite's bound-parameter limit


def country_of(centre: Centre) -> str:
    """The phone-number region of a centre: its code's country part (DE-NW -> DE)."""
    return centre.code.split("-")[0]


def _replace_areas(session: Session, areas_by_id: dict[int, list[str]]) -> None:
    ids = list(areas_by_id)
    for start in range(0, len(ids), CHUNK):
        session.execute(delete(SubscriberArea).where(SubscriberArea.subscriber_id.in_(ids[start:start + CHUNK])))
    rows = [{"subscriber_id": sid, "place": place} for sid, places in areas_by_id.items() for place in places]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(SubscriberArea), rows[start:start + CHUNK])


def import_subscribers(session: Session, actor: User, text: str) -> dict:
    """Upsert the CSV's subscribers into the actor's centre by phone number, in the caller's transaction.

    All or nothing: when any row has an error nothing is written and InvalidInput carries the per-line
    report. An opt-out is never undone by an import: such numbers are updated but stay opted out.
    """
    require_role(actor, *IMPORT_ROLES)
    centre = actor.centre
    rows, errors = parse_subscribers_csv(text, country_of(centre), frozenset(PLACES), frozenset(LANGUAGES))
    if errors:
        raise InvalidInput(ngettext("%(num)d line of the CSV cannot be imported; nothing was imported. Correct it and "
                                    "send the whole file again.",
                                    "%(num)d lines of the CSV cannot be imported; nothing was imported. Correct them "
                                    "and send the whole file again.", len(errors)),
                           imported=0, updated=0, errors=errors)
    phones = [row["phone"] for row in rows]
    existing: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(phones), CHUNK):
        existing.update((phone, (sid, opted_out is not None)) for sid, phone, opted_out in session.execute(
            select(Subscriber.id, Subscriber.phone, Subscriber.opted_out_at).where(
                Subscriber.centre_id == centre.id, Subscriber.phone.in_(phones[start:start + CHUNK]))))
    new = [row for row in rows if row["phone"] not in existing]
    old = [row for row in rows if row["phone"] in existing]
    areas_by_id: dict[int, list[str]] = {}
    for start in range(0, len(new), CHUNK):
        chunk = new[start:start + CHUNK]
        ids = session.scalars(insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True), [
            {"centre_id": centre.id, "phone": row["phone"], "language": row["language"]} for row in chunk]).all()
        areas_by_id.update(zip(ids, (row["areas"] for row in chunk), strict=True))
    ids_by_language: dict[str, list[int]] = defaultdict(list)
    for row in old:
        sid = existing[row["phone"]][0]
        ids_by_language[row["language"]].append(sid)
        areas_by_id[sid] = row["areas"]
    for language, ids in ids_by_language.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(update(Subscriber).where(Subscriber.id.in_(ids[start:start + CHUNK]))
                            .values(language=language).execution_options(synchronize_session=False))
    _replace_areas(session, areas_by_id)
    result = {"imported": len(new), "updated": len(old),
              "opted_out": sum(1 for row in old if existing[row["phone"]][1]), "errors": []}
    audit.record(session, actor, "subscribers.import", "centre", centre.code,
                 detail={key: value for key, value in result.items() if key != "errors"})
    return result


def subscriber_counts(session: Session, actor: User) -> dict:
    """Active (not opted-out) subscribers of the actor's centre, in total and per area."""
    require_role(actor, "admin", "communicator", "spokesperson")
    active = (Subscriber.centre_id == actor.centre_id, Subscriber.opted_out_at.is_(None))
    per_area = session.execute(select(SubscriberArea.place, func.count()).join(
        Subscriber, Subscriber.id == SubscriberArea.subscriber_id).where(*active)
        .group_by(SubscriberArea.place).order_by(SubscriberArea.place))
    total = session.scalar(select(func.count()).select_from(Subscriber).where(*active))
    opted_out = session.scalar(select(func.count()).select_from(Subscriber).where(
        Subscriber.centre_id == actor.centre_id, Subscriber.opted_out_at.is_not(None)))
    return {"centre": actor.centre.code, "total": total or 0, "opted_out": opted_out or 0,
            "areas": dict(per_area.all())}


def opt_out(session: Session, phone: str, actor: str = "twilio") -> int:
    """Stop all messages to this number, in every centre it subscribed to; returns how many were stopped."""
    now = utcnow()
    phone = phone.strip()
    if not E164.fullmatch(phone):  # subscribers are stored in E.164: nothing else (e.g. a NUL) can match
        return 0
    ids = session.scalars(select(Subscriber.id).where(Subscriber.phone == phone,
                                                      Subscriber.opted_out_at.is_(None))).all()
    if ids:
        session.execute(update(Subscriber).where(Subscriber.id.in_(ids)).values(opted_out_at=now)
                        .execution_options(synchronize_session=False))
        for sid in ids:
            audit.record(session, actor, "subscriber.opt_out", "subscriber", sid)
        # the SMS already staged for this number and not sent yet go too (found by their keys: no scan)
        going = session.scalars(select(Release.id).where(or_(
            Release.state == "scheduled", and_(Release.state == "released", Release.fired_at > now - timedelta(days=1))
        ))).all()
        keys = [sms_key_prefix(release_id) + str(sid) for release_id in going for sid in ids]
        for chunk in range(0, len(keys), 500):
            session.execute(delete(Delivery).where(Delivery.idempotency_key.in_(keys[chunk:chunk + 500]),
                                                   Delivery.state == "pending", Delivery.attempts == 0)
                            .execution_options(synchronize_session=False))
    return len(ids)


def sms_key_prefix(release_id: int) -> str:
    """The idempotency key of a subscriber's SMS in a release is this prefix and the subscriber's id."""
    return f"r{release_id}-sms-"


def subscriber_filter(centre_id: int, places: list[str], language_clause):
    in_area = exists().where(and_(SubscriberArea.subscriber_id == Subscriber.id, SubscriberArea.place.in_(places)))
    return and_(Subscriber.centre_id == centre_id, Subscriber.opted_out_at.is_(None), in_area, language_clause)


def subscribed_with(centre_ids: list[int], places: list[str]):
    """A condition on Subscriber: its number is subscribed, in these places and not opted out, with one of these
    centres too (so a release that stages those centres' SMS first has a row for it already). One index probe
    per number (the unique centre and phone), not a scan of the ledger."""
    other, area = aliased(Subscriber), aliased(SubscriberArea)
    return exists().where(other.centre_id.in_(centre_ids), other.phone == Subscriber.phone,
                          other.opted_out_at.is_(None),
                          exists().where(area.subscriber_id == other.id, area.place.in_(places)))


def sms_recipients(session: Session, centre: Centre, places: list[str]) -> int:
    if not places:
        return 0
    return session.scalar(select(func.count()).select_from(Subscriber).where(
        subscriber_filter(centre.id, places, literal(True)))) or 0


def places_of(content: dict) -> list[str]:
    return [area["place"] for area in content["areas"] if area.get("place")]
