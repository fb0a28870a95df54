"""The interface language (user setting -> cookie -> Accept-Language), Babel for the pages, and the labels and
|local filter the templates use."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from flask import g, request
from flask_babel import Babel, Domain
from flask_babel import gettext as _

from alerts.hazards import HAZARDS
from alerts.phrasebook import PARTIAL_CATALOGS, translations_for
from alerts.vocabulary import COMMON_LANGUAGE, LANGUAGES

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


def init_app(app) -> Babel:
    """The pages' language: Babel with the project's catalogs, the |local filter and the templates' labels."""
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = CatalogDomain()
    app.add_template_filter(local_time, "local")
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


def page_globals():
    return {"ui_language": select_locale(), "ui_languages": UI_LANGUAGE_NAMES,
            "state_label": state_label, "channel_name": channel_name, "hazard_name": hazard_name}


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
