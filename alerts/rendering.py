"""What each channel sends of a version, per language, measured against the channel's limits.

The texts are the version's own (content["texts"], see alerts.content); the layout of each channel is a
template in templates/messages/ (sms.txt, cell_broadcast.txt, x.txt, mastodon.txt); CAP carries the three
fields as they are. Exercise and Test messages say so in every language, before the headline. A rendering
over its channel's limit, or built from a missing or stale text, is returned with its problems, never cut
short: the caller refuses it and shows the problems, each named by language and channel.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alerts.phrasebook import missing_msgids, render_message, translations_for
from alerts.vocabulary import LANGUAGES, STATUSES
from channels.specs import CHANNELS as CHANNEL_SPECS
from channels.specs import FIELDS, FORMATS, TextLimits
from channels.textfit import Fit, cap_field_fit

CHANNELS = tuple(FORMATS)  # the rendered formats: sms, cell_broadcast, x, mastodon, cap
CHANNEL_LABELS = {name: text_format.label for name, text_format in FORMATS.items()}
# The msgids of the templates' `{% trans %}` markers; CAP has no template and translates them here.
STATUS_MARKERS = {"Exercise": "EXERCISE", "Test": "TEST"}
MARKER_SEPARATOR = " - "  # GSM-7, unlike an en dash, which would switch an SMS to UCS-2
USABLE_STATUSES = ("template", "human")


@dataclass(frozen=True)
class Rendering:
    language: str
    channel: str
    text: str  # CAP: headline, description and instruction separated by a blank line
    fits: tuple[Fit, ...]  # one per measured part; CAP: headline, description, instruction
    problems: tuple[str, ...]  # each starts with "<language> / <channel>: "

    @property
    def ok(self) -> bool:
        return not self.problems


def render_version(
    content: dict[str, Any], limits: TextLimits = TextLimits(), *, languages: list[str] | None = None
) -> list[Rendering]:
    """One rendering per (language, channel): languages in phrasebook order, channels in CHANNELS order.

    A language asked for but absent from the version is rendered empty, with its texts reported missing.
    """
    chosen = languages if languages is not None else ordered_languages(content["texts"])
    return [
        render_channel(content, language, channel, limits)
        for language in chosen
        for channel in CHANNELS
    ]


def ordered_languages(languages: Iterable[str]) -> list[str]:
    order = {language: index for index, language in enumerate(LANGUAGES)}
    return sorted(languages, key=lambda language: (order.get(language, len(order)), language))


def render_channel(
    content: dict[str, Any], language: str, channel: str, limits: TextLimits = TextLimits()
) -> Rendering:
    """The `channel` rendering of the version's `language` texts, with its fits and problems."""
    status = content["status"]
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}, expected one of {', '.join(STATUSES)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}, expected one of {', '.join(CHANNELS)}")
    texts = content["texts"].get(language, {})
    bodies = {field: (texts.get(field) or {}).get("body") or "" for field in FIELDS}
    problems = [problem for field in FORMATS[channel].fields if (problem := text_problem(field, texts.get(field)))]

    if channel == "cap":
        marker, missing = _cap_marker(status, language)
        parts = [_nfc(part) for part in (marker + bodies["headline"], bodies["description"], bodies["instruction"])]
        text = "\n\n".join(parts)
        fits = tuple(cap_field_fit(part, field) for part, field in zip(parts, FIELDS, strict=True))
    else:
        web = content.get("web") or ""
        text, missing = render_message(f"{channel}.txt", language, status=status, web=web, **bodies)
        text = _nfc(text)
        fits = (FORMATS[channel].measure(text, limits),)

    problems += [f"the {language} catalog has no translation of {msgid!r}" for msgid in missing]
    problems += [problem for fit in fits for problem in fit.problems]
    prefix = f"{language} / {CHANNEL_LABELS[channel]}: "
    return Rendering(language, channel, text, fits, tuple(prefix + problem for problem in problems))


def text_problem(field: str, text: dict[str, str] | None) -> str | None:
    """Why a version's text field cannot be sent as is, or None."""
    if text is None or text.get("status") == "missing" or not text.get("body"):
        return f"the {field} is missing"
    if text.get("status") == "stale":
        return f"the {field} is stale (its source text changed)"
    if text.get("status") not in USABLE_STATUSES:
        return f"the {field} has an unknown status {text.get('status')!r}"
    return None


def _nfc(text: str) -> str:
    # textfit measures text as given: a decomposed "é" (e + U+0301) would force UCS-2 where "é" needs none.
    return unicodedata.normalize("NFC", text)


def _cap_marker(status: str, language: str) -> tuple[str, tuple[str, ...]]:
    msgid = STATUS_MARKERS.get(status)
    if msgid is None:
        return "", ()
    missing = (msgid,) if msgid in missing_msgids(language) else ()
    return translations_for(language).gettext(msgid) + MARKER_SEPARATOR, missing


def channel_problems(content: dict[str, Any], languages: Iterable[str], channels: Iterable[str],
                     limits: TextLimits = TextLimits()) -> dict[str, list[str]]:
    """The one readiness rule for texts: why the texts that will be sent do not fit the channels they go out on,
    by channel name ("cap" for the CAP document every release builds). `languages` are the languages sent: the
    required languages of the centres taking part that the version has (a text in another language is never
    sent, so it does not block). Release refuses a non-empty answer; the pages show it before anyone asks."""
    languages = list(languages)
    problems: dict[str, list[str]] = {}
    formats = {name: CHANNEL_SPECS[name].text for name in sorted(set(channels)) if CHANNEL_SPECS[name].text}
    for name, text_format in [*formats.items(), ("cap", "cap")]:
        problems[name] = [problem for language in languages
                          for problem in render_channel(content, language, text_format, limits).problems]
    return problems
