"""The centres of the network: who they are, the languages they publish in, and whether they take part.

A network-admin adds centres; a centre's admin (or a network-admin) changes its settings; only a network-admin
deactivates or reactivates one. A centre is never deleted: its alerts, acknowledgements and audit events keep
pointing at it. An inactive centre cannot be invited to new alerts and its users keep their history.
"""
from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import require_centre_admin, require_network_admin
from alerts.errors import Conflict, InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import Centre, User
from alerts.vocabulary import LANGUAGES

# ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision (DE-NW); "EU" for a network-level centre
CODE = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]{1,3})?$")
MAX_NAME = 200
ACK_DEADLINE_MINUTES = (1, 24 * 60)
SETTINGS = ("names", "timezone", "languages", "cell_broadcast_languages", "ack_deadline_minutes")


def get(session: Session, code: str) -> Centre:
    centre = session.scalar(select(Centre).where(Centre.code == code))
    if centre is None:
        raise NotFound(_("Unknown centre '%(centre)s'.", centre=code))
    return centre


def listing(session: Session, include_inactive: bool = True) -> list[Centre]:
    """Every centre of the network (the directory every user may read), by code."""
    query = select(Centre).order_by(Centre.code)
    if not include_inactive:
        query = query.where(Centre.active.is_(True))
    return list(session.scalars(query))


def _languages(value: Any, field: str, allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (not value and not allow_empty):
        raise InvalidInput(_("Give a list of language codes, e.g. [\"nl\", \"fr\"]."), field=field)
    unknown = [v for v in value if v not in LANGUAGES]
    if unknown:
        raise InvalidInput(_("Languages must be among %(languages)s; got %(unknown)s.",
                             languages=", ".join(LANGUAGES), unknown=", ".join(unknown)), field=field)
    if len(set(value)) != len(value):
        raise InvalidInput(_("Each language may appear only once."), field=field)
    return list(value)


def _names(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput(_("Names are given per language, e.g. {\"en\": \"National Crisis Centre\"}."),
                           field="names")
    names = {language: name.strip() for language, name in value.items()}
    _languages(list(names), "names")
    if not names.get("en"):
        raise InvalidInput(_("The centre needs at least an English name, the network's common language."),
                           field="names")
    if any(not name or len(name) > MAX_NAME for name in names.values()):
        raise InvalidInput(_("Each name has 1 to %(max)d characters.", max=MAX_NAME), field="names")
    return names


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in available_timezones():
        raise InvalidInput(_("Give a time zone of the IANA database, e.g. Europe/Brussels."), field="timezone")
    return value


def _deadline(value: Any) -> int | None:
    low, high = ACK_DEADLINE_MINUTES
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(_("The acknowledgement deadline is between %(low)d and %(high)d minutes.",
                             low=low, high=high), field="ack_deadline_minutes")
    return value


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    """The checked form of every setting given (any subset of SETTINGS)."""
    checked: dict[str, Any] = {}
    if "names" in values:
        checked["names"] = _names(values["names"])
    if "timezone" in values:
        checked["timezone"] = _timezone(values["timezone"])
    if "languages" in values:
        checked["languages"] = _languages(values["languages"], "languages")
    if "cell_broadcast_languages" in values:
        policy = values["cell_broadcast_languages"]
        checked["cell_broadcast_languages"] = (None if policy is None
                                               else _languages(policy, "cell_broadcast_languages"))
    if "ack_deadline_minutes" in values:
        checked["ack_deadline_minutes"] = _deadline(values["ack_deadline_minutes"])
    return checked


def create(session: Session, actor: User | str, values: dict[str, Any]) -> Centre:
    """Add a centre (network-admin, or an operator on the server: `actor` a string)."""
    if isinstance(actor, User):
        require_network_admin(actor)
    code = values.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        raise InvalidInput(_("A centre code is a country code, optionally with a region: BE, NL, DE-NW."),
                           field="code")
    missing = [name for name in ("names", "timezone", "languages") if name not in values]
    if missing:
        raise InvalidInput(_("Missing: %(fields)s.", fields=", ".join(missing)), field=missing[0])
    checked = _settings(values)
    if session.scalar(select(Centre.id).where(Centre.code == code)) is not None:
        raise Conflict(_("A centre with the code %(code)s exists already.", code=code))
    centre = Centre(code=code, channels={}, active=values.get("active", True) is not False, **checked)
    _check_consistent(centre)
    session.add(centre)
    session.flush()
    audit.record(session, actor, "centre.create", "centre", centre.code, detail={"settings": _shown(centre)})
    return centre


def update(session: Session, actor: User | str, code: str, values: dict[str, Any]) -> Centre:
    """Change a centre's settings (its admin or a network-admin); `active` only by a network-admin."""
    centre = get(session, code)
    if isinstance(actor, User):
        require_centre_admin(actor, centre.id)
        if "active" in values:
            require_network_admin(actor)
    unknown = sorted(set(values) - set(SETTINGS) - {"active"})
    if unknown:
        raise InvalidInput(_("Unknown setting: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
    checked = _settings(values)
    if "active" in values:
        if not isinstance(values["active"], bool):
            raise InvalidInput(_("“active” is true or false."), field="active")
        checked["active"] = values["active"]
    changed = {name: value for name, value in checked.items() if getattr(centre, name) != value}
    for name, value in changed.items():
        setattr(centre, name, value)
    _check_consistent(centre)
    if changed:
        session.flush()
        action = {True: "centre.reactivate", False: "centre.deactivate"}.get(changed.get("active"), "centre.update")
        audit.record(session, actor, action, "centre", centre.code, detail={"changed": sorted(changed)})
    return centre


def _check_consistent(centre: Centre) -> None:
    """Cell broadcasts carry the centre's publishing languages or some of them, never a language it does not
    write its warnings in."""
    extra = [v for v in centre.cell_broadcast_languages or () if v not in centre.languages]
    if extra:
        raise InvalidInput(_("Cell broadcasts can only use the centre's publishing languages (%(languages)s), "
                             "not %(extra)s.", languages=", ".join(centre.languages), extra=", ".join(extra)),
                           field="cell_broadcast_languages")


def _shown(centre: Centre) -> dict[str, Any]:
    return {"names": centre.names, "timezone": centre.timezone, "languages": centre.languages,
            "cell_broadcast_languages": centre.cell_broadcast_languages,
            "ack_deadline_minutes": centre.ack_deadline_minutes, "active": centre.active}
