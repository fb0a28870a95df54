"""The network's contact-point directory: per centre, whom to reach for each field of work.

Every user of the network reads the whole directory (any role, partners included: in a cross-border crisis the
partner centres are the ones who call). A centre's admin, or a network-admin, adds, edits, verifies and deletes the
entries of that centre (access.can_manage_centre). An entry not verified for a quarter is stale (is_stale: the one
rule) and is flagged to its centre's admins. Every write is audited; the audit keeps which fields changed, not the
names, numbers and addresses themselves (the chain is immutable, a person's number is not forever).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import phonenumbers
from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import can_manage_centre, require_centre_admin, require_role
from alerts.contact_point_model import ContactPoint
from alerts.errors import InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import ROLES, Centre, User, utcnow
from alerts.vocabulary import LANGUAGES

# The functions a centre needs to reach at another centre during a cross-border warning: the desk that answers any
# hour, the people who write, approve and announce warnings, those who run the channels they go out on, and the
# sector experts a warning's content depends on. "other" keeps the list closed without leaving anyone out.
FIELDS = {
    "duty-desk": _("24/7 duty desk"),
    "crisis-communication": _("Crisis communication"),
    "spokesperson": _("Spokesperson"),
    "public-warning": _("Public warning systems (alert channels)"),
    "technical-support": _("Technical support (Benelert, connections)"),
    "civil-protection": _("Civil protection and fire services"),
    "police": _("Police and public order"),
    "public-health": _("Public health"),
    "cbrn": _("CBRN (chemical, biological, radiological, nuclear)"),
    "critical-infrastructure": _("Critical infrastructure"),
    "cyber": _("Cyber security"),
    "meteorology": _("Meteorology and hydrology"),
    "other": _("Other"),
}
# A quarter: three calendar months, not 92 days (relativedelta: 30 November less three months is 30 August)
STALE_AFTER = relativedelta(months=3)
MAX_NAME = 200
MAX_HOURS = 200
MAX_NOTES = 2000
MAX_EMAIL = 254
MAX_PHONE_INPUT = 40
EDITABLE = ("field", "name", "function", "phone", "email", "languages", "hours", "notes")
# Conservative: ASCII addresses with a dotted domain and a letter top-level domain (email-validator is not installed)
EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
EMAIL_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_BUT_LINES = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def is_stale(point: ContactPoint, now: datetime | None = None) -> bool:
    """Not verified for a quarter: never verified, or last verified more than three calendar months before `now`."""
    return point.last_verified_at is None or point.last_verified_at < (now or utcnow()) - STALE_AFTER


# ---- reading --------------------------------------------------------------------------------------------------

def get(session: Session, point_id: int) -> ContactPoint:
    point = session.get(ContactPoint, point_id)
    if point is None:
        raise NotFound(_("Contact point %(id)s not found.", id=point_id))
    return point


def centre_by_code(session: Session, code: Any, field: str = "centre") -> Centre:
    centre = session.scalar(select(Centre).where(Centre.code == code)) if isinstance(code, str) else None
    if centre is None:
        raise InvalidInput(_("Unknown centre '%(centre)s'.", centre=str(code)), field=field)
    return centre


def listing(session: Session, actor: User, centre: str | None = None, field: str | None = None,
            stale: bool | None = None, now: datetime | None = None) -> list[ContactPoint]:
    """The directory, by centre code, then field of work (in FIELDS' order), then name or function; any user of the
    network reads every centre's entries."""
    require_role(actor, *ROLES)
    query = select(ContactPoint)
    if centre is not None:
        query = query.where(ContactPoint.centre_id == centre_by_code(session, centre).id)
    if field is not None:
        query = query.where(ContactPoint.field == _field(field))
    points = list(session.scalars(query))
    if stale is not None:
        now = now or utcnow()
        points = [point for point in points if is_stale(point, now) == stale]
    order = list(FIELDS)
    return sorted(points, key=lambda p: (p.centre.code, order.index(p.field) if p.field in order else len(order),
                                         (p.name or p.function or "").casefold(), p.id))


def stale_count(session: Session, centre_id: int, now: datetime | None = None) -> int:
    """How many entries of the centre are not verified for a quarter (what its admins are told)."""
    now = now or utcnow()
    return sum(is_stale(point, now) for point in session.scalars(
        select(ContactPoint).where(ContactPoint.centre_id == centre_id)))


def describe(point: ContactPoint, actor: User, now: datetime | None = None) -> dict[str, Any]:
    """An entry as the API and the exports show it; `manageable`: whether `actor` may change it."""
    verifier = point.last_verified_by
    return {"id": point.id, "centre": point.centre.code, "centre_names": point.centre.names, "field": point.field,
            "field_label": FIELDS.get(point.field, point.field), "name": point.name, "function": point.function,
            "phone": point.phone, "email": point.email, "languages": list(point.languages), "hours": point.hours,
            "notes": point.notes, "last_verified_at": point.last_verified_at,
            "last_verified_by": verifier.display_name if verifier else None, "stale": is_stale(point, now),
            "created_at": point.created_at, "updated_at": point.updated_at,
            "updated_by": point.updated_by.display_name, "manageable": can_manage_centre(actor, point.centre_id)}


# ---- checking input -------------------------------------------------------------------------------------------

def _field(value: Any) -> str:
    if not isinstance(value, str) or value not in FIELDS:
        raise InvalidInput(_("The field of work must be one of %(fields)s.", fields=", ".join(FIELDS)), field="field")
    return value


def _line(value: Any, field: str, maximum: int) -> str | None:
    """One line of free text (name, function, hours): stripped; empty is None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("Give this as text."), field=field)
    value = value.strip()
    if CONTROL.search(value):
        raise InvalidInput(_("Use one line of text without control characters."), field=field)
    if len(value) > maximum:
        raise InvalidInput(_("At most %(max)d characters.", max=maximum), field=field)
    return value or None


def _notes(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("Give this as text."), field="notes")
    value = value.strip().replace("\r\n", "\n")
    if CONTROL_BUT_LINES.search(value):
        raise InvalidInput(_("Use text without control characters."), field="notes")
    if len(value) > MAX_NOTES:
        raise InvalidInput(_("At most %(max)d characters.", max=MAX_NOTES), field="notes")
    return value


def normalise_phone(value: Any, centre: Centre) -> str | None:
    """The number in E.164 (+3225064711), when the phonenumbers library finds it valid; a number without a country
    code is read as one of the centre's country (a BE entry may be given as 02 506 47 11)."""
    text = _line(value, "phone", MAX_PHONE_INPUT)
    if text is None:
        return None
    region = centre.code.split("-")[0]
    try:
        number = phonenumbers.parse(text, region if region in phonenumbers.SUPPORTED_REGIONS else None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(_("“%(phone)s” is not a phone number. Give it in international form, e.g. "
                             "+32 2 506 47 11.", phone=text), field="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(_("“%(phone)s” is not a valid phone number in the numbering plan of its country.",
                             phone=text), field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: Any) -> str | None:
    """A plain ASCII address, its domain in lower case; anything unusual is refused rather than guessed at."""
    text = _line(value, "email", MAX_EMAIL)
    if text is None:
        return None
    local, at, domain = text.rpartition("@")
    labels = domain.split(".")
    if (not at or len(local) > 64 or not EMAIL_LOCAL.match(local) or len(labels) < 2
            or not all(EMAIL_LABEL.match(label) for label in labels) or not labels[-1].isalpha()
            or len(labels[-1]) < 2):
        raise InvalidInput(_("“%(email)s” is not an e-mail address such as desk@crisis.example.", email=text),
                           field="email")
    return f"{local}@{domain.lower()}"


def _languages(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value) or not value:
        raise InvalidInput(_("Give the languages the contact point speaks, among %(languages)s.",
                             languages=", ".join(LANGUAGES)), field="languages")
    unknown = [v for v in value if v not in LANGUAGES]
    if unknown:
        raise InvalidInput(_("Languages must be among %(languages)s; got %(unknown)s.",
                             languages=", ".join(LANGUAGES), unknown=", ".join(unknown)), field="languages")
    return list(dict.fromkeys(value))  # each once, in the order given


def _checked(values: dict[str, Any], centre: Centre) -> dict[str, Any]:
    """The checked form of each editable field given."""
    unknown = sorted(set(values) - set(EDITABLE) - {"centre", "verified"})
    if unknown:
        raise InvalidInput(_("Unknown field: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
    checkers = {"field": _field, "name": lambda v: _line(v, "name", MAX_NAME),
                "function": lambda v: _line(v, "function", MAX_NAME),
                "phone": lambda v: normalise_phone(v, centre), "email": normalise_email, "languages": _languages,
                "hours": lambda v: _line(v, "hours", MAX_HOURS) or "", "notes": _notes}
    return {name: checkers[name](values[name]) for name in EDITABLE if name in values}


def _check_complete(point: ContactPoint) -> None:
    """What makes an entry useful: someone to ask for, and a way to reach them."""
    if not (point.name or point.function):
        raise InvalidInput(_("Give a name or a function (or both)."), field="name")
    if not (point.phone or point.email):
        raise InvalidInput(_("Give a phone number or an e-mail address (or both)."), field="phone")


def _verified_flag(values: dict[str, Any]) -> bool:
    flag = values.get("verified", False)
    if not isinstance(flag, bool):
        raise InvalidInput(_("“verified” is true or false."), field="verified")
    return flag


# ---- writing --------------------------------------------------------------------------------------------------

def create(session: Session, actor: User, values: dict[str, Any]) -> ContactPoint:
    """Add an entry to a centre's directory (its admins, network-admins). `verified: true` confirms it at once."""
    centre = centre_by_code(session, values.get("centre"))
    require_centre_admin(actor, centre.id)
    missing = [name for name in ("field", "languages") if name not in values]
    if missing:
        raise InvalidInput(_("Missing: %(fields)s.", fields=", ".join(missing)), field=missing[0])
    checked = _checked(values, centre)
    verified = _verified_flag(values)
    now = utcnow()
    point = ContactPoint(centre_id=centre.id, centre=centre, created_at=now, created_by_id=actor.id, updated_at=now,
                         updated_by=actor, **({"hours": "", "notes": ""} | checked))
    _check_complete(point)
    if verified:
        point.last_verified_at, point.last_verified_by = now, actor
    session.add(point)
    session.flush()
    audit.record(session, actor, "contact_point.create", "contact_point", point.id,
                 detail={"centre": centre.code, "field": point.field, "verified": verified})
    return point


def update(session: Session, actor: User, point_id: int, values: dict[str, Any]) -> ContactPoint:
    """Change some fields of an entry (its centre's admins, network-admins); the centre cannot change."""
    point = get(session, point_id)
    require_centre_admin(actor, point.centre_id)
    if "centre" in values and values["centre"] != point.centre.code:
        raise InvalidInput(_("A contact point stays with its centre: add it to the other centre and delete this "
                             "one."), field="centre")
    checked = _checked(values, point.centre)
    verified = _verified_flag(values)
    changed = sorted(name for name, value in checked.items() if getattr(point, name) != value)
    for name in changed:
        setattr(point, name, checked[name])
    _check_complete(point)
    if not changed and not verified:
        return point
    now = utcnow()
    if changed:
        point.updated_at, point.updated_by = now, actor
    if verified:
        point.last_verified_at, point.last_verified_by = now, actor
    session.flush()
    audit.record(session, actor, "contact_point.update", "contact_point", point.id,
                 detail={"centre": point.centre.code, "field": point.field, "changed": changed, "verified": verified})
    return point


def verify(session: Session, actor: User, point_id: int) -> ContactPoint:
    """Confirm that the entry is right as it stands: it is not stale for another quarter."""
    point = get(session, point_id)
    require_centre_admin(actor, point.centre_id)
    point.last_verified_at, point.last_verified_by = utcnow(), actor
    session.flush()
    audit.record(session, actor, "contact_point.verify", "contact_point", point.id,
                 detail={"centre": point.centre.code, "field": point.field})
    return point


def delete(session: Session, actor: User, point_id: int) -> None:
    point = get(session, point_id)
    require_centre_admin(actor, point.centre_id)
    detail = {"centre": point.centre.code, "field": point.field}
    session.delete(point)
    session.flush()
    audit.record(session, actor, "contact_point.delete", "contact_point", point_id, detail=detail)
