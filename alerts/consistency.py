"""Cross-language consistency: every language must state the same times, numbers, phone numbers and URLs.

A mismatch blocks submission and shows the values per language; the same text claimed as two
languages is flagged (it is usually an untranslated copy).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import phonenumbers

from alerts.i18n import Msg, _
from alerts.rendering import FIELD_NAMES

URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
TIME = re.compile(r"\b([01]?\d|2[0-3])\s?(?::|h|\.)\s?([0-5]\d)\b(?!\s?%)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
TRAILING = ".,;:!?)»”’'"
MIN_WORDS_FOR_COPY_CHECK = 4
# what each kind of fact differs in, as a whole sentence (%(values)s: per language, the values found)
MISMATCH = {
    "URLs": _("The %(field)s states different web addresses per language (%(values)s)."),
    "phone numbers": _("The %(field)s states different phone numbers per language (%(values)s)."),
    "times": _("The %(field)s states different times per language (%(values)s)."),
    "numbers": _("The %(field)s states different numbers per language (%(values)s)."),
}


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" blocks submission; "warning" is shown
    code: str
    message: Msg | str
    field: str | None = None
    languages: tuple[str, ...] = ()
    values: dict = dataclasses.field(default_factory=dict, compare=False)


def _urls(text: str) -> tuple[set[str], str]:
    found = {m.group(0).rstrip(TRAILING) for m in URL.finditer(text)}
    return found, URL.sub(" ", text)


def _phones(text: str, region: str) -> tuple[set[str], str]:
    found: set[str] = set()
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        found.add(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
        text = text.replace(match.raw_string, " ")
    return found, text


def _times(text: str) -> tuple[set[str], str]:
    found = {f"{int(m.group(1)):02d}:{m.group(2)}" for m in TIME.finditer(text)}
    return found, TIME.sub(" ", text)


def facts(text: str, region: str) -> dict[str, set[str]]:
    """The checkable facts of a text: URLs, phone numbers (E.164), times of day, other numbers."""
    urls, rest = _urls(text)
    phones, rest = _phones(rest, region)
    times, rest = _times(rest)
    numbers = {m.group(0).replace(",", ".") for m in NUMBER.finditer(rest)}
    return {"URLs": urls, "phone numbers": phones, "times": times, "numbers": numbers}


def check_texts(texts: dict[str, dict[str, str]], region: str) -> list[Problem]:
    """`texts` is {language: {field: body}}; empty bodies are skipped (completeness is checked elsewhere)."""
    problems: list[Problem] = []
    fields = sorted({f for per_language in texts.values() for f in per_language})
    for name in fields:
        bodies = {lang: texts[lang][name] for lang in sorted(texts) if texts[lang].get(name)}
        extracted = {lang: facts(body, region) for lang, body in bodies.items()}
        for kind, message in MISMATCH.items():
            values = {lang: sorted(found[kind]) for lang, found in extracted.items()}
            if len({tuple(v) for v in values.values()}) > 1:
                shown = "; ".join(f"{lang}: {', '.join(v) or '—'}" for lang, v in values.items())
                problems.append(Problem("error", "mismatch", Msg(message.msgid, field=FIELD_NAMES.get(name, name),
                                                                 values=shown), name, tuple(values), values))
        seen: dict[str, str] = {}
        for lang, body in bodies.items():
            normalised = " ".join(body.lower().split())
            if len(normalised.split()) < MIN_WORDS_FOR_COPY_CHECK:
                continue
            if normalised in seen:
                problems.append(Problem("warning", "identical", _(
                    "The %(field)s in %(first)s and %(second)s is identical: is one of them untranslated?",
                    field=FIELD_NAMES.get(name, name), first=seen[normalised], second=lang), name,
                    (seen[normalised], lang)))
            else:
                seen[normalised] = lang
    return problems
