"""The vetted phrasebook rendered: the gettext catalogs and the texts of a hazard's warning (content in
alerts/hazards.py).

Nothing is machine-translated. Every sentence is an English msgid (marked with `N_` here, or a
`{% trans %}` block in templates/messages/) with human translations in translations/<lang>/.
Rendering goes through the Jinja2 templates templates/messages/{headline,description,instruction}.txt.

Texts are plain, single-paragraph strings: sentences are separated by one space (the instruction
field too), which suits CAP, SMS and cell broadcast alike.

A msgid without a translation in the requested language falls back to its English text and is listed
in `RenderedTexts.missing`; callers must treat such a text as missing, not as translated.

Catalogs: the source of truth is the .po file. A compiled .mo next to it is used when it is at least
as new as the .po; otherwise the .po is compiled in memory. Commands (run from the repo root):

    pybabel extract -F babel.cfg -o translations/messages.pot --no-location --sort-output \
        --no-wrap -c TRANSLATORS: --project=Benelert --version=1 --copyright-holder=Benelert .
    pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete
    pybabel compile -d translations
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alerts.gazetteer import distinct_place_names
from alerts.hazards import HAZARDS, INSTRUCTIONS, N_
from alerts.vocabulary import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
MESSAGE_TEMPLATES = ROOT / "templates" / "messages"

# Regional variants: a catalog per locale holding only the msgids that locale words differently (nl_NL: "stoep",
# "politiebureau", "identiteitsbewijs", "je"), over its language's catalog. Outside translations/<lang>/ so that
# `pybabel update` leaves them alone; read from the .po in memory.
VARIANTS = TRANSLATIONS / "variants"

# Catalogs that translate the phrasebook (every public message) but not the interface: the pages do not offer them.
PARTIAL_CATALOGS = ("lb",)
SOURCE_LANGUAGE = "en"


# --- Instructions --------------------------------------------------------------------------------


# --- Hazards -------------------------------------------------------------------------------------


# --- Locales and catalogs ------------------------------------------------------------------------

# Dutch in LU follows Belgium and in DE the Netherlands (the neighbours); French outside BE/LU follows
# Belgium; English is British English (24-hour clock) everywhere.
_LOCALES = {
    "nl": {"BE": "nl_BE", "NL": "nl_NL", "LU": "nl_BE", "DE": "nl_NL"},
    "fr": {"BE": "fr_BE", "NL": "fr_BE", "LU": "fr_LU", "DE": "fr_BE"},
    "de": {"BE": "de_BE", "NL": "de_DE", "LU": "de_LU", "DE": "de_DE"},
    "en": {"BE": "en_GB", "NL": "en_GB", "LU": "en_GB", "DE": "en_GB"},
    "lb": {"BE": "lb_LU", "NL": "lb_LU", "LU": "lb_LU", "DE": "lb_LU"},
}


def locale_for(language: str, country: str) -> str:
    """The Babel locale for `language` read in `country` (BE, NL, LU, DE; "DE-NW" is taken as DE)."""
    country = country.upper().split("-")[0]
    try:
        return _LOCALES[language][country]
    except KeyError:
        raise ValueError(f"no locale for language {language!r} in country {country!r}") from None


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


@cache
def _po_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as fileobj:
        return read_po(fileobj, locale=language)


def is_translated(message: Message) -> bool:
    """A catalog entry counts as translated when every msgstr is filled in and it is not fuzzy."""
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return bool(message.id) and not message.fuzzy and all(strings)


@cache
def _translated_msgids(language: str) -> frozenset[str]:
    return frozenset(
        message.id if isinstance(message.id, str) else message.id[0]
        for message in _po_catalog(language)
        if is_translated(message)
    )


@cache
def translations_for(language: str) -> NullTranslations:
    """The gettext translations of `language`; English is the source language and needs none."""
    _check_language(language)
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    po = po_path(language)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fileobj:
            return Translations(fileobj)
    return _compiled(_po_catalog(language))


def _compiled(catalog: Catalog) -> Translations:
    """A .po catalog compiled in memory."""
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@cache
def variant_catalog(locale: str) -> Catalog | None:
    """The variant catalog of `locale` (nl_NL, say), or None when the locale words everything as its language."""
    path = VARIANTS / f"{locale}.po"
    if not path.exists():
        return None
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


@cache
def phrasebook_translations(language: str, country: str | None = None) -> NullTranslations:
    """The translations a warning for readers in `country` is written with: the language's catalog, under the
    locale's variant where there is one."""
    base = translations_for(language)
    variant = variant_catalog(locale_for(language, country)) if country else None
    if variant is None:
        return base
    translations = _compiled(variant)
    translations.add_fallback(base)
    return translations


# --- Rendering -----------------------------------------------------------------------------------

class _RenderGettext:
    """gettext for one render: translates and remembers which msgids the catalog lacks."""

    def __init__(self, language: str, country: str | None = None):
        self.translations = phrasebook_translations(language, country)
        self.translated = None if language == SOURCE_LANGUAGE else _translated_msgids(language)
        self.missing: list[str] = []

    def _note(self, msgid: str) -> None:
        if self.translated is not None and msgid not in self.translated and msgid not in self.missing:
            self.missing.append(msgid)

    def gettext(self, message: str) -> str:
        self._note(message)
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        self._note(singular)
        return self.translations.ngettext(singular, plural, n)


_CURRENT_RENDER: ContextVar[_RenderGettext] = ContextVar("phrasebook_render")


class _CurrentRenderTranslations:
    """Installed once in the shared environment; forwards to the render in progress (thread-safe)."""

    def gettext(self, message: str) -> str:
        return _CURRENT_RENDER.get().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _CURRENT_RENDER.get().ngettext(singular, plural, n)


_ENV = Environment(
    loader=FileSystemLoader(MESSAGE_TEMPLATES),
    extensions=["jinja2.ext.i18n"],
    undefined=StrictUndefined,
    autoescape=False,
)
_ENV.install_gettext_translations(_CurrentRenderTranslations(), newstyle=True)


@dataclass
class RenderedTexts:
    headline: str
    description: str
    instruction: str
    missing: tuple[str, ...]  # msgids without a translation in the language; shown in English
    event: str = ""  # the hazard's CAP <event> text
    short: str = ""  # the short instruction set, for SMS and cell broadcast
    short_x: str = ""  # the X post's instructions


def _moment(value: datetime | None, zone: ZoneInfo, locale: str) -> tuple[str | None, str | None]:
    """(date, time of day) in the reader's locale and the centre's time zone."""
    if value is None:
        return None, None
    if value.tzinfo is None:
        raise ValueError("naive datetime given; pass aware datetimes")
    local = value.astimezone(zone)
    language = locale.split("_")[0]
    date = format_date(local, "long", locale=locale)
    if language == "fr" and local.day == 1:
        date = "1er" + date[1:]  # "1er décembre 2026"
    return date, format_time(local, _TIME_PATTERNS.get(language, "short"), locale=locale)


# Times of day as each language's official texts write them: "om 8.05 uur", "à 8 h 05", "um 8:05 Uhr".
_TIME_PATTERNS = {"nl": "H.mm 'uur'", "fr": "H\u00a0'h'\u00a0mm", "de": "H:mm", "lb": "H.mm 'Auer'",
                  "en": "HH:mm"}


_KEEPS_N = "aeiouäéëöüdhntz"


def _join_places(names: list[str], locale: str) -> str:
    joined = format_list(names, locale=locale) if names else ""
    if locale.startswith("lb"):
        # CLDR writes Luxembourgish "and" as "a(n)"; the n-rule keeps the n before a vowel or d, h, n, t, z.
        joined = re.sub(r" a\(n\) (?=(.))", lambda m: " an " if m[1].lower() in _KEEPS_N else " a ", joined)
    return joined


_LAYOUT_SPACE = re.compile(r"[ \t\r\n]+")


def _render(template: str, **context) -> str:
    # Templates are laid out on several lines for reading; the text itself is one paragraph.
    # (only ASCII whitespace: a no-break space, as French writes before ":", is part of the text)
    return _LAYOUT_SPACE.sub(" ", _ENV.get_template(template).render(**context)).strip(" ")


def render_texts(
    hazard: str,
    language: str,
    *,
    places: list[str],
    onset: datetime | None,
    expires: datetime | None,
    timezone: str,
    country: str,
    instructions: list[str] | None = None,
    web: str = "",
) -> RenderedTexts:
    """Headline, description and instruction of `hazard` in `language`, from the vetted catalogs.

    `places` are gazetteer codes; `timezone` (IANA) and `country` are the issuing centre's; `web` is an
    optional "more information" address. Without places the headline is the event name alone.
    """
    _check_language(language)
    chosen = HAZARDS[hazard]
    locale = locale_for(language, country)
    zone = ZoneInfo(timezone)
    codes = chosen.instructions if instructions is None else tuple(instructions)
    instruction_msgids = [INSTRUCTIONS[code] for code in codes]
    short_msgids = [INSTRUCTIONS[code] for code in chosen.short_instructions]
    x_msgids = [INSTRUCTIONS[code] for code in chosen.x_instructions]
    place = _join_places(distinct_place_names(places, language), locale)
    start_date, start_time = _moment(onset, zone, locale)
    end_date, end_time = _moment(expires, zone, locale)

    gettext = _RenderGettext(language, country)
    token = _CURRENT_RENDER.set(gettext)
    try:
        headline = _render("headline.txt", hazard=chosen, place=place)
        description = _render(
            "description.txt", hazard=chosen, place=place, web=web,
            start_date=start_date, start_time=start_time, end_date=end_date, end_time=end_time,
        )
        instruction = _render("instruction.txt", instructions=instruction_msgids)
        short = _render("instruction.txt", instructions=short_msgids)
        short_x = _render("instruction.txt", instructions=x_msgids)
        event = gettext.gettext(chosen.event)
    finally:
        _CURRENT_RENDER.reset(token)
    return RenderedTexts(headline, description, instruction, tuple(gettext.missing), event, short, short_x)


def translate(language: str, msgids: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """`msgids` in `language`, and those of them the catalog lacks (shown in English, to be treated as missing)."""
    _check_language(language)
    gettext = _RenderGettext(language)
    return [gettext.gettext(msgid) for msgid in msgids], tuple(gettext.missing)


# Channel templates (sms.txt, x.txt, ...) lay out lines exactly, so block tags must not leave whitespace.
_CHANNEL_ENV = _ENV.overlay(trim_blocks=True, lstrip_blocks=True)


def render_message(template: str, language: str, **context) -> tuple[str, tuple[str, ...]]:
    """A channel template rendered as laid out, with `language`'s gettext installed.

    Returns the text and the msgids the catalog lacks (shown in English, to be treated as missing).
    """
    _check_language(language)
    gettext = _RenderGettext(language)
    token = _CURRENT_RENDER.set(gettext)
    try:
        text = _CHANNEL_ENV.get_template(template).render(**context)
    finally:
        _CURRENT_RENDER.reset(token)
    return text, tuple(gettext.missing)


# --- Cancel ------------------------------------------------------------------------------------------

CANCEL_TEXTS = {
    "description": N_("This message cancels the earlier warning. The danger is over."),
    "instruction": N_("You can resume your normal activities. Keep following official information."),
    "short": N_("The danger is over: you can resume your normal activities."),
}


def render_cancel_texts(hazard: str, language: str, *, places: list[str], country: str) -> RenderedTexts:
    """The pre-filled texts of the Cancel that lifts a `hazard` warning on `places` (gazetteer codes), from the
    vetted catalogs (a gap is reported, never filled in English)."""
    _check_language(language)
    chosen = HAZARDS[hazard]
    place = _join_places(distinct_place_names(places, language), locale_for(language, country))
    gettext = _RenderGettext(language, country)
    texts = {field: gettext.gettext(msgid) for field, msgid in CANCEL_TEXTS.items()}
    lifted = gettext.gettext(chosen.lifted_headline)
    # without places: "Flood warning lifted" (the sentence up to its colon, as translated)
    headline = lifted % {"place": place} if place else lifted.split(":")[0].strip()
    return RenderedTexts(headline, texts["description"], texts["instruction"], tuple(gettext.missing),
                         gettext.gettext(chosen.event), texts["short"], texts["short"])


# --- Catalog coverage ----------------------------------------------------------------------------

@cache
def template_msgids() -> tuple[str, ...]:
    """The msgids of the `{% trans %}` blocks in the message templates."""
    msgids: list[str] = []
    for template in sorted(MESSAGE_TEMPLATES.glob("*.txt")):
        for _lineno, _function, message in _ENV.extract_translations(template.read_text(encoding="utf-8")):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and msgid not in msgids:  # None: gettext() of a variable, i.e. a Python msgid
                msgids.append(msgid)
    return tuple(msgids)


def phrasebook_msgids() -> list[str]:
    """Every msgid the phrasebook can render: hazards, instructions and the composing sentences."""
    msgids = [text for h in HAZARDS.values() for text in (h.event, h.headline, h.description)]
    msgids += INSTRUCTIONS.values()
    msgids += [h.lifted_headline for h in HAZARDS.values()]
    msgids += CANCEL_TEXTS.values()
    msgids += template_msgids()
    return list(dict.fromkeys(msgids))


def missing_msgids(language: str) -> list[str]:
    """Phrasebook msgids with no (non-fuzzy) translation in `language`; always empty for English."""
    _check_language(language)
    if language == SOURCE_LANGUAGE:
        return []
    translated = _translated_msgids(language)
    return [msgid for msgid in phrasebook_msgids() if msgid not in translated]


def warm_up() -> None:
    """Load every catalog, locale and template a render needs, so that no person's request pays for it.

    A worker's first edit otherwise costs about 70 ms more than the next ones (Babel locale data,
    catalogs and Jinja2 compilation); web workers call this before they take requests.
    """
    now = datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    for language in LANGUAGES:
        for country in ("BE", "NL", "LU", "DE"):
            render_texts("flood", language, places=[], onset=now, expires=now, timezone="Europe/Brussels",
                         country=country)
    for template in _CHANNEL_ENV.list_templates():
        _CHANNEL_ENV.get_template(template)
