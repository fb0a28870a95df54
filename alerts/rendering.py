"""What each channel sends of a version, per language, measured against the channel's limits.

The texts are the version's own (content["texts"], see alerts.content); the layout of each channel is a
template in templates/messages/ (sms.txt, cell_broadcast.txt, x.txt, mastodon.txt); CAP carries the three
fields as they are. Exercise and Test messages say so in every language, before the headline. A rendering
over its channel's limit, or built from a missing or stale text, is returned with its problems, never cut
short: the caller refuses it and shows the problems, each named by language and channel.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alerts.phrasebook import EXTRA_LANGUAGES, LANGUAGES, missing_msgids, render_message, translations_for
from channels.textfit import Fit, cap_field_fit, cell_broadcast_fit, mastodon_fit, sms_fit, x_fit

CHANNELS = ("sms", "cell_broadcast", "x", "mastodon", "cap")
CHANNEL_LABELS = {"sms": "SMS", "cell_broadcast": "Cell broadcast", "x": "X", "mastodon": "Mastodon", "cap": "CAP"}
FIELDS = ("headline", "description", "instruction")
CHANNEL_FIELDS = {
    "sms": ("headline", "instruction"),
    "cell_broadcast": FIELDS,
    "x": ("headline", "instruction"),
    "mastodon": FIELDS,
    "cap": FIELDS,
}
STATUSES = ("Actual", "Exercise", "Test")
# The msgids of the templates' `{% trans %}` markers; CAP has no template and translates them here.
STATUS_MARKERS = {"Exercise": "EXERCISE", "Test": "TEST"}
MARKER_SEPARATOR = " - "  # GSM-7, unlike an en dash, which would switch an SMS to UCS-2
FALLBACK_LANGUAGE = "en"
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
    content: dict[str, Any],
    *,
    max_sms_segments: int = 1,
    mastodon_limit: int = 500,
    languages: list[str] | None = None,
) -> list[Rendering]:
    """One rendering per (language, channel): languages in phrasebook order, channels in CHANNELS order.

    A language asked for but absent from the version is rendered empty, with its texts reported missing.
    """
    chosen = languages if languages is not None else ordered_languages(content["texts"])
    return [
        render_channel(content, language, channel, max_sms_segments=max_sms_segments, mastodon_limit=mastodon_limit)
        for language in chosen
        for channel in CHANNELS
    ]


def ordered_languages(languages: Iterable[str]) -> list[str]:
    order = {language: index for index, language in enumerate(LANGUAGES + EXTRA_LANGUAGES)}
    return sorted(languages, key=lambda language: (order.get(language, len(order)), language))


def render_channel(
    content: dict[str, Any], language: str, channel: str, *, max_sms_segments: int = 1, mastodon_limit: int = 500
) -> Rendering:
    """The `channel` rendering of the version's `language` texts, with its fits and problems."""
    status = content["status"]
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}, expected one of {', '.join(STATUSES)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}, expected one of {', '.join(CHANNELS)}")
    texts = content["texts"].get(language, {})
    bodies = {field: (texts.get(field) or {}).get("body") or "" for field in FIELDS}
    problems = [problem for field in CHANNEL_FIELDS[channel] if (problem := text_problem(field, texts.get(field)))]

    if channel == "cap":
        marker, missing = _cap_marker(status, language)
        parts = [_nfc(part) for part in (marker + bodies["headline"], bodies["description"], bodies["instruction"])]
        text = "\n\n".join(parts)
        fits = tuple(cap_field_fit(part, field) for part, field in zip(parts, FIELDS, strict=True))
    else:
        web = content.get("web") or ""
        text, missing = render_message(f"{channel}.txt", language, status=status, web=web, **bodies)
        text = _nfc(text)
        fits = (_measure(channel, text, max_sms_segments, mastodon_limit),)

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


def _measure(channel: str, text: str, max_sms_segments: int, mastodon_limit: int) -> Fit:
    if channel == "sms":
        return sms_fit(text, max_sms_segments)
    if channel == "cell_broadcast":
        return cell_broadcast_fit(text)
    if channel == "x":
        return x_fit(text)
    return mastodon_fit(text, limit=mastodon_limit)


# --- one rendering per language for many recipients ----------------------------------------------

@dataclass(frozen=True)
class LanguageBatches:
    """A channel's recipients grouped by the language they are sent, each language rendered once."""

    renderings: dict[str, Rendering]  # by the language sent
    recipients: Counter[str]  # recipients per language sent
    sent_as: dict[str, str]  # a recipient's language -> the language sent to them (itself, or the fallback)
    undeliverable: Counter[str]  # recipients per language with no text to send them

    @property
    def ok(self) -> bool:
        return not self.undeliverable and all(rendering.ok for rendering in self.renderings.values())


def render_once_per_language(
    content: dict[str, Any],
    channel: str,
    recipient_languages: Iterable[str],
    *,
    max_sms_segments: int = 1,
    mastodon_limit: int = 500,
) -> LanguageBatches:
    """Render `channel` once per language among the recipients, not once per recipient.

    A recipient whose language the version lacks gets the English text, but only if the English texts this
    channel carries are all usable; otherwise the recipient is counted as undeliverable, never sent an empty
    or half text. Languages are read as primary subtags: "nl-BE" and "NL" are "nl".
    """
    requested: Counter[str] = Counter()
    for language, count in Counter(recipient_languages).items():  # normalise the few distinct codes only
        requested[primary_language(language)] += count

    available = content["texts"]
    fallback_ok = FALLBACK_LANGUAGE in available and not any(
        text_problem(field, available[FALLBACK_LANGUAGE].get(field)) for field in CHANNEL_FIELDS[channel]
    )
    sent_as: dict[str, str] = {}
    recipients: Counter[str] = Counter()
    undeliverable: Counter[str] = Counter()
    for language, count in requested.items():
        if language in available:
            sent_as[language] = language
        elif fallback_ok:
            sent_as[language] = FALLBACK_LANGUAGE
        else:
            undeliverable[language] += count
            continue
        recipients[sent_as[language]] += count

    renderings = {
        language: render_channel(
            content, language, channel, max_sms_segments=max_sms_segments, mastodon_limit=mastodon_limit
        )
        for language in ordered_languages(recipients)
    }
    return LanguageBatches(renderings, recipients, sent_as, undeliverable)


def primary_language(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()
