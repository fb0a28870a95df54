"""Browsing the audit chain: who did what to which object and when, filtered, newest first, a page at a time.

Who reads which events is one rule (`readable_centre`): a network administrator every event; a centre's administrator
the events of their centre (`of_centre`); anyone else nothing. Filters and rule are SQL, so that a chain of millions
of events is read a page at a time: pages are cut by sequence number (keyset), not by offset. Filter values arrive
as text (query strings, forms); `parse_filter` checks them and names the field it refuses.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, Select, String, and_, case, cast, exists, or_, select
from sqlalchemy.orm import Session

from alerts.access import NETWORK_RULES
from alerts.centres import CODE
from alerts.contact_points_export import neutralised
from alerts.errors import Forbidden, InvalidInput
from alerts.i18n import _
from alerts.models import AlertCentre, ApiToken, AuditEvent, Centre, Subscriber, User

OBJECT_TYPES = {
    "alert": _("Alert"),
    "centre": _("Centre"),
    "user": _("User"),
    "token": _("API token"),
    "contact_point": _("Contact point"),
    "partner_endpoint": _("Partner endpoint"),
    "subscriber": _("Subscriber"),
    "network": _("Network"),
}
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
MAX_NUMBER = 2**31 - 1  # PostgreSQL INTEGER
MAX_ACTOR, MAX_ACTION = 80, 40  # the columns' lengths
# a whole action (alert.submit) or the start of one up to a dot (release.)
ACTION = re.compile(r"^[a-z][a-z_]*(\.[a-z_]+)*\.?$")
NUMBER = re.compile(r"[0-9]{1,10}")
# RFC 3339 (what OpenAPI's date-time means): a full date and time with its offset
MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")
EXPORT_BATCH = 1000
CSV_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "content_hash", "detail", "prev_hash",
               "hash")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # exact: a username, or cli, worker, system
    action: str | None = None  # exact, or a prefix ending in "." (release.)
    object_type: str | None = None
    alert_id: int | None = None
    centre: str | None = None  # a centre code: that centre's events (of_centre)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_seq: int | None = None  # the page below this event (the previous page's next_before_seq)
    limit: int = DEFAULT_LIMIT


@dataclass
class AuditPage:
    events: list[AuditEvent]
    next_before_seq: int | None  # None: this is the oldest page


START, END = _("start of the period"), _("end of the period")


def _number(raw: str, field: str, message, top: int) -> int:
    if not NUMBER.fullmatch(raw) or not 1 <= int(raw) <= top:
        raise InvalidInput(message, field=field)
    return int(raw)


def _moment(raw: str, field: str, label) -> datetime:
    problem = InvalidInput(_("The %(field)s must be a date and time with a time zone.", field=label), field=field)
    if not MOMENT.fullmatch(raw):
        raise problem
    try:
        return datetime.fromisoformat(raw.upper()).astimezone(UTC)
    except ValueError:
        raise problem from None


def parse_filter(raw: Mapping[str, str], paged: bool = True) -> AuditFilter:
    """The filter from query or form values (text; absent keys are no filter, other keys are ignored). A value that
    is there must be valid, empty included: InvalidInput naming the field."""
    values: dict[str, Any] = {}
    if (actor := raw.get("actor")) is not None:
        if not 1 <= len(actor) <= MAX_ACTOR:
            raise InvalidInput(_("The username must have 1 to %(max)d characters.", max=MAX_ACTOR), field="actor")
        values["actor"] = actor
    if (action := raw.get("action")) is not None:
        if len(action) > MAX_ACTION or not ACTION.fullmatch(action):
            raise InvalidInput(_("The action is a code such as alert.submit, or its beginning up to a dot such as "
                                 "release."), field="action")
        values["action"] = action
    if (object_type := raw.get("object_type")) is not None:
        if object_type not in OBJECT_TYPES:
            raise InvalidInput(_("The object type must be one of %(allowed)s.", allowed=", ".join(OBJECT_TYPES)),
                               field="object_type")
        values["object_type"] = object_type
    if (alert_id := raw.get("alert_id")) is not None:
        values["alert_id"] = _number(alert_id, "alert_id", _(
            "The alert number must be a whole number from 1 to %(max)d.", max=MAX_NUMBER), MAX_NUMBER)
    if (centre := raw.get("centre")) is not None:
        if not CODE.fullmatch(centre):
            raise InvalidInput(_("Unknown centre '%(centre)s'.", centre=centre), field="centre")
        values["centre"] = centre
    for field, label in (("since", START), ("until", END)):
        if (moment := raw.get(field)) is not None:
            values[field] = _moment(moment, field, label)
    if values.get("since") and values.get("until") and values["until"] <= values["since"]:
        raise InvalidInput(_("The end of the period must be after its start."), field="until")
    if (before := raw.get("before_seq")) is not None:
        values["before_seq"] = _number(before, "before_seq", _(
            "The event number to continue from must be a whole number from 1 to %(max)d.", max=MAX_NUMBER),
            MAX_NUMBER)
    if paged and (limit := raw.get("limit")) is not None:
        values["limit"] = _number(limit, "limit", _(
            "The number of events per page must be a whole number from 1 to %(max)d.", max=MAX_LIMIT), MAX_LIMIT)
    return AuditFilter(**values)


# ---- who reads what ------------------------------------------------------------------------------------------

def readable_centre(user: User) -> Centre | None:
    """THE rule: whose events `user` may read. None: every event (a network administrator); a centre: the events
    of that centre (its administrator: who manages a centre reads its trail). Anyone else is refused."""
    if user.roles & NETWORK_RULES["manage-any-centre"]:
        return None
    if user.roles & NETWORK_RULES["manage-own-centre"]:
        return user.centre
    raise Forbidden(_("Only an administrator of a centre or of the network may read the audit trail."))


def _ids(column) -> Select:
    return select(cast(column, String))


def of_centre(centre: Centre):
    """The events of `centre`, as one SQL condition: done by its users (whatever the object), or on an alert it
    takes part in, on itself, on its users and their API tokens, its subscribers, and its contact points and partner
    endpoints (by the centre their events record: a deleted one keeps its history). The work of the worker, the
    command line and the system on its alerts is found through the alerts."""
    event = AuditEvent
    its_users = select(User.id).where(User.centre_id == centre.id)
    return or_(
        event.actor.in_(select(User.username).where(User.centre_id == centre.id)),
        and_(event.object_type == "centre", event.object_id == centre.code),
        and_(event.object_type == "alert",
             event.object_id.in_(_ids(AlertCentre.alert_id).where(AlertCentre.centre_id == centre.id))),
        and_(event.object_type == "user", event.object_id.in_(_ids(User.id).where(User.centre_id == centre.id))),
        and_(event.object_type == "token",
             event.object_id.in_(_ids(ApiToken.id).where(ApiToken.user_id.in_(its_users)))),
        and_(event.object_type.in_(("contact_point", "partner_endpoint")),
             event.detail["centre"].as_string() == centre.code),
        # a centre may have millions of subscribers: looked up by key, one event at a time, rather than listed
        and_(event.object_type == "subscriber", exists().where(
            Subscriber.centre_id == centre.id,
            Subscriber.id == case((event.object_type == "subscriber", cast(event.object_id, Integer))))),
    )


def _centre(session: Session, code: str) -> Centre:
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        raise InvalidInput(_("Unknown centre '%(centre)s'.", centre=code), field="centre")
    return centre


def _selection(session: Session, user: User, query: AuditFilter) -> Select:
    """The events `user` may read that the filter selects, newest first (without paging)."""
    event = AuditEvent
    conditions = []
    if (own := readable_centre(user)) is not None:
        conditions.append(of_centre(own))
    if query.centre is not None:
        conditions.append(of_centre(_centre(session, query.centre)))
    if query.actor is not None:
        conditions.append(event.actor == query.actor)
    if query.action is not None:
        conditions.append(event.action.startswith(query.action, autoescape=True) if query.action.endswith(".")
                          else event.action == query.action)
    if query.object_type is not None:
        conditions.append(event.object_type == query.object_type)
    if query.alert_id is not None:
        conditions += [event.object_type == "alert", event.object_id == str(query.alert_id)]
    if query.since is not None:
        conditions.append(event.at >= query.since)
    if query.until is not None:
        conditions.append(event.at < query.until)
    return select(event).where(*conditions).order_by(event.seq.desc())


def _page(session: Session, selection: Select, before_seq: int | None, limit: int) -> AuditPage:
    if before_seq is not None:
        selection = selection.where(AuditEvent.seq < before_seq)
    events = list(session.scalars(selection.limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    return AuditPage(events, events[-1].seq if more else None)


def browse(session: Session, user: User, query: AuditFilter) -> AuditPage:
    """One page of the events `user` may read that `query` selects, newest first."""
    return _page(session, _selection(session, user, query), query.before_seq, query.limit)


def export(session: Session, user: User, query: AuditFilter) -> Callable[[Session], Iterator[AuditEvent]]:
    """Every event `user` may read that `query` selects (its limit aside), newest first. The rule and the filter
    are checked now, in `session`; the events are read later, a batch at a time, from the session given to the
    function returned (a snapshot: a long export sees one moment and holds up no one)."""
    selection = _selection(session, user, query)

    def events(reader: Session) -> Iterator[AuditEvent]:
        before = query.before_seq
        while True:
            page = _page(reader, selection, before, EXPORT_BATCH)
            yield from page.events
            if page.next_before_seq is None:
                return
            reader.expunge_all()  # a batch written is a batch forgotten: memory stays flat over a long export
            before = page.next_before_seq

    return events


# ---- how an event is shown ----------------------------------------------------------------------------------

def describe(event: AuditEvent) -> dict:
    return {"seq": event.seq, "at": event.at, "actor": event.actor, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id,
            "alert_id": int(event.object_id) if event.object_type == "alert" and event.object_id.isdigit() else None,
            "content_hash": event.content_hash, "detail": event.detail, "prev_hash": event.prev_hash,
            "hash": event.hash}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def detail_summary(detail: dict | None) -> list[tuple[str, Any]]:
    """The detail as (key, value) pairs to show: text and numbers as they are, a list of texts joined by commas,
    anything else as compact JSON; booleans and None are left for the page to say in its language."""
    shown = []
    for key, value in (detail or {}).items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = ", ".join(value)
        elif isinstance(value, dict | list):
            value = _compact(value)
        shown.append((str(key), value))
    return shown


def _row(event: AuditEvent) -> list[str]:
    at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    values = (event.seq, at, event.actor, event.action, event.object_type, event.object_id, event.content_hash or "",
              _compact(event.detail or {}), event.prev_hash, event.hash)
    return [neutralised(str(value)) for value in values]


def csv_chunks(events: Iterator[AuditEvent]) -> Iterator[str]:
    """UTF-8 CSV text, header first, a chunk per batch of events; every cell a spreadsheet would run as a formula
    is neutralised (the actor of a failed login is whatever was typed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for count, event in enumerate(events, 1):
        writer.writerow(_row(event))
        if count % EXPORT_BATCH == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
