"""SMS subscribers: who receives a live SMS release (by centre, area and language), imports of subscriber
lists (all rows or none) and STOP opt-outs."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from alerts import audit
from alerts.access import require_role
from alerts.audience import Reach
from alerts.errors import InvalidInput
from alerts.gazetteer import PLACES
from alerts.i18n import ngettext
from alerts.models import Centre, Delivery, Release, Subscriber, SubscriberArea, User, UTCDateTime, utcnow
from alerts.subscribers_csv import parse_subscribers_csv
from alerts.vocabulary import LANGUAGES

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
IMPORT_ROLES = ("admin", "communicator")
CHUNK = 5000  # rows per statement (SQLite) or per COPY (PostgreSQL)


def country_of(centre: Centre) -> str:
    """The phone-number region of a centre: its code's country part (DE-NW -> DE)."""
    return centre.code.split("-")[0]


STAGE = MetaData()  # the import's temporary tables: not in the application's schema (no migration)
_stage_rows = Table("import_stage", STAGE, Column("phone", String(20), primary_key=True),
                    Column("language", String(8), nullable=False), Column("latitude", Float),
                    Column("longitude", Float), prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
_stage_areas = Table("import_stage_areas", STAGE, Column("phone", String(20), nullable=False),
                     Column("place", String(64), nullable=False), prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
Progress = Callable[[str, int], None]  # (phase, rows done)


def parse_for(centre: Centre, text: str, progress: Progress | None = None) -> tuple[list[dict], list[dict]]:
    """The CSV's rows for this centre (numbers in its region, gazetteer places, the phrasebook's languages), and
    one error per bad line."""
    tick = (lambda count: progress("reading", count)) if progress else None
    return parse_subscribers_csv(text, country_of(centre), frozenset(PLACES), frozenset(LANGUAGES), progress=tick)


def refusal(errors: list[dict]) -> InvalidInput:
    """The answer to a list with bad lines: nothing is imported."""
    return InvalidInput(ngettext("%(num)d line of the CSV cannot be imported; nothing was imported. Correct it and "
                                 "send the whole file again.",
                                 "%(num)d lines of the CSV cannot be imported; nothing was imported. Correct them "
                                 "and send the whole file again.", len(errors)),
                        imported=0, updated=0, errors=errors)


def _stage(session: Session, rows: list[dict], progress: Progress | None) -> None:
    """The rows into the transaction's temporary tables: COPY on PostgreSQL, executemany on SQLite."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    for table in (_stage_rows, _stage_areas):
        table.create(connection, checkfirst=not postgresql)  # PostgreSQL: dropped at commit or rollback
        if not postgresql:
            connection.execute(delete(table))
    for start in range(0, len(rows), CHUNK * 4):
        chunk = rows[start:start + CHUNK * 4]
        if postgresql:
            with connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy("COPY import_stage (phone, language, latitude, longitude) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row((row["phone"], row["language"], *(row.get("location") or (None, None))))
                with cursor.copy("COPY import_stage_areas (phone, place) FROM STDIN") as copy:
                    for row in chunk:
                        for place in row["areas"]:
                            copy.write_row((row["phone"], place))
        else:
            for part in range(0, len(chunk), CHUNK):
                connection.execute(insert(_stage_rows), [_staged(row) for row in chunk[part:part + CHUNK]])
                connection.execute(insert(_stage_areas), [{"phone": row["phone"], "place": place}
                                                          for row in chunk[part:part + CHUNK]
                                                          for place in row["areas"]])
        if progress:
            progress("writing", start + len(chunk))


def _staged(row: dict) -> dict:
    latitude, longitude = row.get("location") or (None, None)
    return {"phone": row["phone"], "language": row["language"], "latitude": latitude, "longitude": longitude}


def write_subscribers(session: Session, centre: Centre, rows: list[dict], progress: Progress | None = None) -> dict:
    """Upsert valid rows into the centre's subscribers by phone number, in the caller's transaction, set-based:
    the rows are staged in temporary tables, then one INSERT … ON CONFLICT DO UPDATE (language, location), one
    DELETE and one INSERT … SELECT of their areas. An opt-out is never undone: such numbers are updated but stay
    opted out."""
    _stage(session, rows, progress)
    mine = and_(Subscriber.centre_id == centre.id, Subscriber.phone == _stage_rows.c.phone)
    updated, opted_out = session.execute(select(func.count(), func.count(Subscriber.opted_out_at))
                                         .select_from(Subscriber).join(_stage_rows, mine)).one()
    dialect = session.connection().dialect.name
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(Subscriber).from_select(
        ["centre_id", "phone", "language", "latitude", "longitude", "created_at"],
        select(literal(centre.id, Integer), _stage_rows.c.phone, _stage_rows.c.language, _stage_rows.c.latitude,
               _stage_rows.c.longitude, literal(utcnow(), UTCDateTime))
        .where(true()))  # SQLite: INSERT … SELECT … ON CONFLICT needs a WHERE
    session.execute(upsert.on_conflict_do_update(index_elements=["centre_id", "phone"], set_={
        "language": upsert.excluded.language, "latitude": upsert.excluded.latitude,
        "longitude": upsert.excluded.longitude}))
    ids = select(Subscriber.id).join(_stage_rows, mine)
    session.execute(delete(SubscriberArea).where(SubscriberArea.subscriber_id.in_(ids))
                    .execution_options(synchronize_session=False))
    session.execute(insert(SubscriberArea).from_select(["subscriber_id", "place"], select(
        Subscriber.id, _stage_areas.c.place).join(_stage_areas, and_(
            Subscriber.centre_id == centre.id, Subscriber.phone == _stage_areas.c.phone))))
    if dialect != "postgresql":
        for table in (_stage_rows, _stage_areas):
            table.drop(session.connection())
    return {"imported": len(rows) - updated, "updated": updated, "opted_out": opted_out}


def record_import(session: Session, actor: User, result: dict) -> None:
    audit.record(session, actor, "subscribers.import", "centre", actor.centre.code,
                 detail={key: value for key, value in result.items() if key != "errors"})


def import_subscribers(session: Session, actor: User, text: str) -> dict:
    """Upsert the CSV's subscribers into the actor's centre by phone number, in the caller's transaction (the
    worker's import job runs it: alerts.import_jobs).

    All or nothing: when any row has an error nothing is written and InvalidInput carries the per-line
    report. An opt-out is never undone by an import: such numbers are updated but stay opted out.
    """
    require_role(actor, *IMPORT_ROLES)
    rows, errors = parse_for(actor.centre, text)
    if errors:
        raise refusal(errors)
    result = {**write_subscribers(session, actor.centre, rows), "errors": []}
    record_import(session, actor, result)
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


def subscriber_filter(centre_id: int, reach: Reach, language_clause):
    return and_(Subscriber.centre_id == centre_id, Subscriber.opted_out_at.is_(None), reach.clause(), language_clause)


def subscribed_with(centre_ids: list[int], reach: Reach):
    """A condition on Subscriber: its number is subscribed with one of these centres too, reached and not opted out
    (so a release that stages those centres' SMS first has a row for it already). One index probe per number (the
    unique centre and phone), not a scan of the ledger."""
    other = aliased(Subscriber)
    return exists().where(other.centre_id.in_(centre_ids), other.phone == Subscriber.phone,
                          other.opted_out_at.is_(None), reach.clause(other))
