"""What each channel sends of a version, per language, measured against the channel's limits.

The texts are the version's own (content["texts"], see alerts.content); the layout of each channel is a
template in templates/messages/ (sms.txt, cell_broadcast.txt, x.txt, mastodon.txt); CAP carries the three
long fields. SMS, cell broadcast and X carry the short instructions (fields `short`, `short_x`); Mastodon, CAP and
the pages the full set. Exercise, Test and Update messages say so in every language before the headline, and an
Exercise or Test once more at the end. A rendering over its channel's limit, or built from a missing or stale
text, is returned with its problems, never cut short: the caller refuses it and shows the problems, each named by
language and channel, in the reader's language (alerts.i18n).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alerts.i18n import Msg, _
from alerts.phrasebook import render_message, translate
from alerts.vocabulary import LANGUAGES, STATUSES
from channels import cell_broadcast
from channels.specs import CHANNELS as CHANNEL_SPECS
from channels.specs import FORMATS, TextLimits
from channels.textfit import EncodingCost, Fit, cap_field_fit, encoding_cost, gsm_typography

CHANNELS = tuple(FORMATS)  # the rendered formats: sms, cell_broadcast, x, mastodon, cap
CHANNEL_LABELS = {"sms": _("SMS"), "cell_broadcast": _("Cell broadcast"), "x": "X", "mastodon": "Mastodon",
                  "cap": "CAP"}
FIELD_NAMES = {"headline": _("headline"), "description": _("description"), "instruction": _("instruction"),
               "short": _("short text (SMS and cell broadcast)"), "short_x": _("X text")}
LANGUAGE_NAMES = {"nl": _("Dutch"), "fr": _("French"), "de": _("German"), "en": _("English"), "lb": _("Luxembourgish")}
CAP_FIELDS = ("headline", "description", "instruction")
# The msgids of the markers in templates/messages/_marks.txt; CAP has no template and translates them here.
STATUS_MARKERS = {"Exercise": "EXERCISE", "Test": "TEST"}
UPDATE_MARKER = "UPDATE"
CLOSINGS = {"Exercise": "This is an exercise.", "Test": "This is a test. No action is needed."}
MARKER_SEPARATOR = " - "  # GSM-7, unlike an en dash, which would switch an SMS to UCS-2
USABLE_STATUSES = ("template", "human")
_GSM_CHANNELS = ("sms", "cell_broadcast")


@dataclass(frozen=True)
class Rendering:
    language: str
    channel: str
    text: str  # CAP: headline, description and instruction separated by a blank line
    fits: tuple[Fit, ...]  # one per measured part; CAP: headline, description, instruction
    problems: tuple[Msg, ...]  # each names language and channel: "nl / SMS: ..."
    coach: EncodingCost | None = None  # SMS, cell broadcast: what forces UCS-2 and what it costs

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CellBroadcast:
    """One cell-broadcast message of a centre's country: its languages' blocks, measured as one message."""

    languages: tuple[str, ...]
    identifier: int
    text: str
    fit: Fit
    problems: tuple[Msg, ...]
    coach: EncodingCost | None = None


def render_version(
    content: dict[str, Any], limits: TextLimits = TextLimits(), *, languages: list[str] | None = None
) -> list[Rendering]:
    """One rendering per (language, channel): languages in phrasebook order, channels in CHANNELS order.

    A language asked for but absent from the version is rendered empty, with its texts reported missing.
    """
    chosen = languages if languages is not None else ordered_languages(content["texts"])
    return [render_channel(content, language, channel, limits) for language in chosen for channel in CHANNELS]


def ordered_languages(languages: Iterable[str]) -> list[str]:
    order = {language: index for index, language in enumerate(LANGUAGES)}
    return sorted(languages, key=lambda language: (order.get(language, len(order)), language))


def channel_fields(channel: str, texts: dict[str, Any]) -> tuple[str, ...]:
    """The text fields `channel` carries of one language's texts. A version written before the short texts existed
    has none: its channels carry the instruction, as they did when it was approved."""
    fields = FORMATS[channel].fields
    if "instruction" in texts and "short" not in texts and "short_x" not in texts:
        fields = tuple("instruction" if field in ("short", "short_x") else field for field in fields)
    return fields


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
    fields = channel_fields(channel, texts)
    bodies = {field: (texts.get(field) or {}).get("body") or "" for field in fields}
    problems = [problem for field in fields if (problem := text_problem(field, texts.get(field)))]
    msg_type = content.get("msg_type") or "Alert"

    if channel == "cap":
        opening, closing, missing = _cap_marks(status, msg_type, language)
        parts = [_nfc(part) for part in (opening + bodies["headline"], " ".join(
            filter(None, (bodies["description"], closing))), bodies["instruction"])]
        text = "\n\n".join(parts)
        fits = tuple(cap_field_fit(part, field) for part, field in zip(parts, CAP_FIELDS, strict=True))
    else:
        web = content.get("web") or ""
        slots = {"headline": bodies.get("headline", ""), "description": bodies.get("description", ""),
                 "instruction": bodies.get("instruction", ""),
                 "short": bodies.get("short", bodies.get("instruction", "")),
                 "short_x": bodies.get("short_x", bodies.get("instruction", ""))}
        text, missing = render_message(f"{channel}.txt", language, status=status, msg_type=msg_type, web=web,
                                       **slots)
        text = _nfc(gsm_typography(text) if channel in _GSM_CHANNELS else text)
        fits = (FORMATS[channel].measure(text, limits),)

    problems += [_("the %(language)s catalog has no translation of “%(msgid)s”", language=language, msgid=msgid)
                 for msgid in missing]
    problems += [problem for fit in fits if (problem := fit_problem(fit))]
    named = tuple(_named(language, channel, problem) for problem in problems)
    coach = encoding_cost(fits[0], text) if channel in _GSM_CHANNELS else None
    return Rendering(language, channel, text, fits, named, coach)


def _named(languages: str, channel: str, problem: Msg) -> Msg:
    return _("%(language)s / %(channel)s: %(problem)s", language=languages, channel=CHANNEL_LABELS[channel],
             problem=problem)


def text_problem(field: str, text: dict[str, str] | None) -> Msg | None:
    """Why a version's text field cannot be sent as is, or None."""
    name = FIELD_NAMES.get(field, field)
    if text is None or text.get("status") == "missing" or not text.get("body"):
        return _("the %(field)s is missing", field=name)
    if text.get("status") == "stale":
        return _("the %(field)s is stale (its source text changed)", field=name)
    if text.get("status") not in USABLE_STATUSES:
        return _("the %(field)s has an unknown status “%(status)s”", field=name, status=text.get("status"))
    return None


def fit_problem(fit: Fit) -> Msg | None:
    """Why a measured text does not fit its channel, with the figures, or None."""
    if fit.ok:
        return None
    figures = {"length": fit.length, "parts": fit.parts, "max": fit.max_parts, "limit": fit.limit,
               "encoding": fit.encoding or ""}
    if fit.channel == "sms":
        return _("it needs %(parts)d SMS segments (%(encoding)s, %(length)d characters), at most %(max)d allowed",
                 **figures)
    if fit.channel == "cell_broadcast":
        return _("it needs %(parts)d cell-broadcast pages (%(encoding)s, %(length)d characters), at most %(max)d "
                 "allowed", **figures)
    if fit.channel == "x":
        return _("the X post weighs %(length)d characters, at most %(limit)d allowed", **figures)
    if fit.channel == "mastodon":
        return _("the Mastodon post has %(length)d characters, at most %(limit)d allowed", **figures)
    field = FIELD_NAMES.get(fit.channel.removeprefix("cap_"), fit.channel)
    return _("the CAP %(field)s has %(length)d characters, at most %(limit)d allowed", field=field, **figures)


def coach_advice(channel: str, cost: EncodingCost | None) -> list[Msg]:
    """What the encoding coach says of an SMS or cell-broadcast text in UCS-2: each character that forces it, in
    which words, and what it costs ("ê in fenêtres: UCS-2, 3 SMS segments where GSM-7 would need 2")."""
    if cost is None:
        return []
    unit = "segments" if channel == "sms" else "pages"
    advice = []
    for char, words in cost.chars:
        shown = ", ".join(words[:3]) if char.strip() else repr(char)
        if unit == "segments":
            advice.append(_("“%(char)s” in %(words)s switches to UCS-2: %(parts)d SMS segments where GSM-7 would need "
                            "%(gsm)d", char=char, words=shown, parts=cost.parts, gsm=cost.parts_in_gsm7))
        else:
            advice.append(_("“%(char)s” in %(words)s switches to UCS-2: %(parts)d cell-broadcast pages where GSM-7 "
                            "would need %(gsm)d", char=char, words=shown, parts=cost.parts, gsm=cost.parts_in_gsm7))
    return advice


def _nfc(text: str) -> str:
    # textfit measures text as given: a decomposed "é" (e + U+0301) would force UCS-2 where "é" needs none.
    return unicodedata.normalize("NFC", text)


def _cap_marks(status: str, msg_type: str, language: str) -> tuple[str, str, tuple[str, ...]]:
    """The marker before a CAP headline, the sentence after its description, and the msgids the catalog lacks."""
    markers = [STATUS_MARKERS[status]] if status in STATUS_MARKERS else []
    markers += [UPDATE_MARKER] if msg_type == "Update" else []
    closing = [CLOSINGS[status]] if status in CLOSINGS else []
    texts, missing = translate(language, markers + closing)
    opening = "".join(text + MARKER_SEPARATOR for text in texts[:len(markers)])
    return opening, "".join(texts[len(markers):]), missing


def cell_broadcasts(content: dict[str, Any], country: str, configured: list[list[str]] | None = None,
                    limits: TextLimits = TextLimits()) -> list[CellBroadcast]:
    """The cell-broadcast messages of one centre's country (channels.cell_broadcast: which languages go together,
    on which channel), each measured as the one message it is."""
    result = []
    for broadcast in cell_broadcast.broadcasts(country, content["status"], content["severity"], content["urgency"],
                                               content["certainty"], configured):
        # several languages in one message give the web address once, at the end
        shared = len(broadcast.languages) > 1 and content.get("web")
        blocks = [render_channel({**content, "web": ""} if shared else content, language, "cell_broadcast", limits)
                  for language in broadcast.languages]
        text = cell_broadcast.SEPARATOR.join(block.text for block in blocks) + (f"\n{content['web']}" if shared else "")
        fit = FORMATS["cell_broadcast"].measure(text, limits)
        alone = {_named(block.language, "cell_broadcast", found) for block in blocks
                 if (found := fit_problem(block.fits[0]))}  # a block's own size: only the whole message counts
        problems = [problem for block in blocks for problem in block.problems if problem not in alone]
        if (problem := fit_problem(fit)) is not None:
            problems.append(_named("+".join(broadcast.languages), "cell_broadcast", problem))
        result.append(CellBroadcast(broadcast.languages, broadcast.identifier, text, fit, tuple(problems),
                                    encoding_cost(fit, text)))
    return result


def channel_problems(content: dict[str, Any], languages: Iterable[str], channels: Iterable[str],
                     limits: TextLimits = TextLimits(),
                     cell_broadcast_policies: dict[str, list[list[str]] | None] | None = None) -> dict[str, list[Msg]]:
    """The one readiness rule for texts: why the texts that will be sent do not fit the channels they go out on,
    by channel name ("cap" for the CAP document every release builds). `languages` are the languages sent: the
    required languages of the centres taking part that the version has (a text in another language is never
    sent, so it does not block). `cell_broadcast_policies` maps the country of each centre sending on its national
    system to its cell-broadcast setting (None: the country's default); without it, each language's block is
    measured alone. Submission and release refuse a non-empty answer; the pages show it before anyone asks."""
    languages = list(languages)
    problems: dict[str, list[Msg]] = {}
    formats = {name: CHANNEL_SPECS[name].text for name in sorted(set(channels)) if CHANNEL_SPECS[name].text}
    for name, text_format in [*formats.items(), ("cap", "cap")]:
        if text_format == "cell_broadcast" and cell_broadcast_policies:
            problems[name] = list(dict.fromkeys(
                problem for country, configured in sorted(cell_broadcast_policies.items())
                for message in cell_broadcasts(content, country, configured, limits) for problem in message.problems))
            continue
        problems[name] = [problem for language in languages
                          for problem in render_channel(content, language, text_format, limits).problems]
    return problems
