"""The interface language (user setting -> cookie -> Accept-Language), Babel for the pages, the labels and
|local filter the templates use, and the domain's messages (alerts.i18n.Msg) in the reader's language: the page's
language on pages, the request's Accept-Language in the API's answers (nl, fr or de when asked for, else English)."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal
from flask import g, request
from flask_babel import Babel, Domain, get_translations, pgettext
from flask_babel import gettext as _

from alerts.authoring import FIELD_LABELS, summary_message
from alerts.hazards import HAZARDS
from alerts.i18n import localized
from alerts.phrasebook import PARTIAL_CATALOGS, translations_for
from alerts.rendering import FIELD_NAMES, coach_advice
from alerts.vocabulary import COMMON_LANGUAGE, LANGUAGES
from alerts.workflow import ROLE_NAMES

# the pages speak the languages whose catalogs are complete, English first (it answers a browser that asks for none)
UI_LANGUAGES = (COMMON_LANGUAGE, *(code for code in LANGUAGES
                                   if code != COMMON_LANGUAGE and code not in PARTIAL_CATALOGS))
# each language named in itself, for the language menu ("Nederlands", "Français", "Deutsch", "English")
UI_LANGUAGE_NAMES = {code: Locale.parse(code).get_display_name(code).capitalize() for code in UI_LANGUAGES}
LANGUAGE_COOKIE = "benelert_lang"


def select_locale() -> str:
    user = g.get("user")
    chosen = getattr(user, "language", None)  # no such user setting yet: accounts owns the User model
    if chosen in UI_LANGUAGES:
        return chosen
    if request.cookies.get(LANGUAGE_COOKIE) in UI_LANGUAGES:
        return request.cookies[LANGUAGE_COOKIE]
    return request.accept_languages.best_match(UI_LANGUAGES) or "en"


@lru_cache(maxsize=8)
def _catalog(language: str):
    return translations_for(language)  # compiles the .po in memory when its .mo is missing or older


class CatalogDomain(Domain):
    """Flask-Babel's domain over the project's catalogs, read the way the phrasebook reads them."""

    def get_translations(self):
        try:
            language = str(select_locale())
        except RuntimeError:  # outside a request
            language = "en"
        return _catalog(language if language in UI_LANGUAGES else "en")


def is_api_request() -> bool:
    """The API and the provider hooks answer problem+json in the Accept-Language; everything else is a page."""
    return request.path.startswith(("/api/", "/hooks/"))


def api_language() -> str:
    """The language of an API answer: nl, fr or de when the request's Accept-Language asks for one, else English."""
    return request.accept_languages.best_match(UI_LANGUAGES) or COMMON_LANGUAGE


def api_translations():
    return _catalog(api_language())


def reader_translations():
    """The translations of whoever reads this answer: the API's caller or the page's reader."""
    return api_translations() if is_api_request() else get_translations()


def for_reader(value: Any) -> Any:
    """`value` (a Msg, or lists and dicts holding some) in the reader's language; anything else as it is."""
    return localized(value, reader_translations())


def init_app(app) -> Babel:
    """The pages' language: Babel with the project's catalogs, the |local filter and the templates' labels."""
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = CatalogDomain()
    app.add_template_filter(local_time, "local")
    app.add_template_filter(for_reader, "msg")
    app.context_processor(page_globals)
    return babel


def _babel_locale() -> Locale:
    language = select_locale()
    user = g.get("user")
    country = user.centre.code.split("-")[0] if user else ""
    try:
        return Locale.parse(f"{language}_{country}") if country else Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


def local_time(value: datetime | str | None, pattern: str = "medium") -> str:
    """A UTC moment in the user's centre time zone and interface locale."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    zone = ZoneInfo(g.user.centre.timezone) if g.get("user") else ZoneInfo("UTC")
    return format_datetime(value, pattern, tzinfo=zone, locale=_babel_locale())


def decimal(value: float | None, digits: int = 1) -> str:
    """A number with `digits` decimals in the interface locale ("1,5" in nl, fr, de)."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "0" * digits, locale=_babel_locale())


def duration(seconds: float | None) -> str:
    """A span of time, short and rounded, in the interface locale ("42 s", "3 min", "2 h")."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="short", locale=_babel_locale())


def page_globals():
    return {"ui_language": select_locale(), "ui_languages": UI_LANGUAGE_NAMES, "coach_advice": coach_advice,
            "state_label": state_label, "channel_name": channel_name, "hazard_name": hazard_name,
            "cap_label": cap_label, "field_label": field_label, "text_status_label": text_status_label,
            "approval_label": approval_label, "decision_label": decision_label, "ack_label": ack_label,
            "delivery_state_label": delivery_state_label, "role_label": role_label, "place_kind": place_kind,
            "author_name": author_name, "summary_label": summary_label, "field_value": field_value,
            "decimal": decimal, "duration": duration, "country_name": country_name}


def country_name(code: str) -> str:
    """An ISO 3166-1 country in the interface language (CLDR, through Babel): "Belgique", "Nederland"."""
    return _babel_locale().territories.get(code.upper(), code)


def hazard_name(code: str) -> str:
    """The hazard's name in the interface language (the phrasebook's own msgid)."""
    return _(HAZARDS[code].event) if code in HAZARDS else code


def state_label(state: str) -> str:
    return {"draft": _("draft"), "in_review": _("in review"), "approved": _("approved"),
            "scheduled": _("scheduled"), "releasing": _("releasing"), "released": _("released"),
            "expired": _("expired"), "cancelled": _("cancelled"), "superseded": _("superseded by an update"),
            "closed": _("closed: not needed any more"), "failed": _("failed: not sent"),
            "withdrawn": _("withdrawn before it was sent")}.get(state, state)


def channel_name(name: str) -> str:
    return {"sms": _("SMS"), "x": "X", "mastodon": "Mastodon", "national": _("National alert system (CAP)"),
            "partners": _("Partner centres (CAP webhooks)"), "cell_broadcast": _("Cell broadcast"),
            "cap": "CAP"}.get(name, name)


# --- CAP values, text statuses, decisions, acknowledgements, deliveries, roles: translated, the code beside ---------

def _cap_labels() -> dict[str, dict[str, str]]:
    return {
        "status": {"Actual": pgettext("mode", "Live"), "Exercise": pgettext("mode", "Exercise"),
                   "Test": pgettext("mode", "Test")},
        "msg_type": {"Alert": pgettext("message type", "Warning"), "Update": pgettext("message type", "Update"),
                     "Cancel": pgettext("message type", "Cancel")},
        "urgency": {"Immediate": pgettext("urgency", "Immediate"), "Expected": pgettext("urgency", "Expected"),
                    "Future": pgettext("urgency", "Future"), "Past": pgettext("urgency", "Past"),
                    "Unknown": pgettext("urgency", "Unknown")},
        "severity": {"Extreme": pgettext("severity", "Extreme"), "Severe": pgettext("severity", "Severe"),
                     "Moderate": pgettext("severity", "Moderate"), "Minor": pgettext("severity", "Minor"),
                     "Unknown": pgettext("severity", "Unknown")},
        "certainty": {"Observed": pgettext("certainty", "Observed"), "Likely": pgettext("certainty", "Likely"),
                      "Possible": pgettext("certainty", "Possible"), "Unlikely": pgettext("certainty", "Unlikely"),
                      "Unknown": pgettext("certainty", "Unknown")},
    }


def cap_label(kind: str, code: str | None) -> str:
    """A CAP value (status, msg_type, urgency, severity, certainty) in the interface language with its CAP code
    beside it, "Ernstig (Severe)"; the code alone where the language writes it the same way."""
    if not code:
        return "—"
    label = _cap_labels().get(kind, {}).get(code)
    if label is None:
        return code
    return label if label.casefold() == code.casefold() else f"{label} ({code})"


def cap_choices(kind: str, empty: bool = False) -> dict[str, str]:
    """The drop-down of a CAP field: code -> label with the code beside it."""
    choices = {"": "—"} if empty else {}
    return choices | {code: cap_label(kind, code) for code in _cap_labels()[kind]}


def field_label(path: str) -> str:
    """A field of a version as people read it: "severity", "headline (fr)" for texts.fr.headline."""
    parts = path.split(".")
    if parts[0] == "texts" and len(parts) >= 3:
        field = localized(FIELD_NAMES.get(parts[2], parts[2]), get_translations())
        if len(parts) == 4 and parts[3] == "status":
            return _("status of the %(field)s (%(language)s)", field=field, language=parts[1])
        return _("%(field)s (%(language)s)", field=field, language=parts[1])
    if path == "msg_type":
        return _("message type")
    if path in FIELD_NAMES:
        return localized(FIELD_NAMES[path], get_translations())
    return localized(FIELD_LABELS.get(path, path), get_translations())


CAP_FIELDS = ("status", "msg_type", "urgency", "severity", "certainty")


def field_value(path: str, value) -> str:
    """A field's value as a diff shows it: CAP values and text statuses translated, areas by their descriptions."""
    if value is None or value == "" or value == []:
        return "—"
    if path in CAP_FIELDS:
        return cap_label(path, value)
    if path == "hazard":
        return hazard_name(value)
    if path in ("onset", "expires") and isinstance(value, str):
        return local_time(value)
    if path.startswith("texts.") and path.endswith(".status"):
        return text_status_label(value)
    if path == "areas" and isinstance(value, list):
        return "; ".join(area.get("description", "") if isinstance(area, dict) else str(area) for area in value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def text_status_label(status: str) -> str:
    return {"template": pgettext("text status", "template"), "human": pgettext("text status", "human"),
            "missing": pgettext("text status", "missing"), "stale": pgettext("text status", "stale")}.get(status,
                                                                                                        status)


def approval_label(state: str) -> str:
    return {"approved": pgettext("approval", "approved"), "rejected": pgettext("approval", "rejected"),
            "pending": pgettext("approval", "pending")}.get(state, state)


def decision_label(decision: str) -> str:
    return {"approve": pgettext("decision", "approved"), "reject": pgettext("decision", "rejected")}.get(decision,
                                                                                                         decision)


def ack_label(value: str) -> str:
    """An acknowledgement's kind (received, read) or the way it came (api, cap, page)."""
    return {"received": pgettext("acknowledgement", "received"), "read": pgettext("acknowledgement", "read"),
            "api": _("through the API"), "cap": _("as a CAP Ack message"), "page": _("on the page")}.get(value, value)


def delivery_state_label(state: str) -> str:
    return {"pending": pgettext("delivery", "pending"), "sending": pgettext("delivery", "sending"),
            "sent": pgettext("delivery", "sent"), "delivered": pgettext("delivery", "delivered"),
            "failed": pgettext("delivery", "failed"), "unknown": pgettext("delivery", "unknown")}.get(state, state)


def role_label(role: str) -> str:
    return localized(ROLE_NAMES.get(role, role), get_translations())


def place_kind(kind: str) -> str:
    return {"country": pgettext("place", "country"), "region": pgettext("place", "region"),
            "province": pgettext("place", "province"), "arrondissement": pgettext("place", "arrondissement"),
            "district": pgettext("place", "district"),
            "canton": pgettext("place", "canton"), "city": pgettext("place", "city"),
            "municipality": pgettext("place", "municipality")}.get(kind, kind)


def author_name(user) -> str:
    """Who wrote a version: a person's name, or the system for what it prepared (a prepared Cancel)."""
    if user.username.startswith("system:"):
        return _("Benelert (prepared for %(centre)s)", centre=user.centre.code)
    return user.display_name


def summary_label(summary: str | None) -> str:
    """A version's summary: what a person wrote, or what the system wrote (translated)."""
    return localized(summary_message(summary or ""), get_translations())
