"""Texts of a version per language: phrasebook templates, human edits, and their status.

Statuses: `template` (rendered from the vetted phrasebook), `human` (written by a person), `missing`
(nothing usable: empty, or the phrasebook lacks a translation), `stale` (its source changed after it
was written). A language's phrasebook gap is never papered over with English.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from alerts.errors import InvalidInput
from alerts.hazards import HAZARDS, INSTRUCTIONS
from alerts.i18n import _
from alerts.models import TEXT_FIELDS, VersionText
from alerts.phrasebook import render_cancel_texts, render_texts
from alerts.vocabulary import LANGUAGES

Key = tuple[str, str]  # (language, field)


@dataclass(frozen=True)
class TemplateInput:
    """What the phrasebook texts depend on; when any of it changes, template texts are rendered again."""

    hazard: str
    places: tuple[str, ...]
    onset: datetime | None
    expires: datetime | None
    web: str
    timezone: str
    country: str


def template_texts(params: TemplateInput, languages: list[str]) -> dict[Key, str | None]:
    """Phrasebook texts per (language, field); None where the language's catalog lacks a msgid."""
    return _template_texts(params, tuple(languages))


@lru_cache(maxsize=1024)
def _template_texts(params: TemplateInput, languages: tuple[str, ...]) -> dict[Key, str | None]:
    hazard = HAZARDS[params.hazard]
    per_field = {
        "headline": {hazard.headline, hazard.event},
        "instruction": {INSTRUCTIONS[code] for code in hazard.instructions},
        "short": {INSTRUCTIONS[code] for code in hazard.short_instructions},
        "short_x": {INSTRUCTIONS[code] for code in hazard.x_instructions},
    }
    result: dict[Key, str | None] = {}
    for language in languages:
        if language not in LANGUAGES:
            result.update({(language, field): None for field in TEXT_FIELDS})
            continue
        rendered = render_texts(params.hazard, language, places=list(params.places), onset=params.onset,
                                expires=params.expires, timezone=params.timezone, country=params.country,
                                web=params.web)
        missing = set(rendered.missing)
        for field in TEXT_FIELDS:
            lacks = missing & per_field[field] if field in per_field else missing - set().union(*per_field.values())
            result[(language, field)] = None if lacks else getattr(rendered, field)
    return result


def cancel_texts(params: TemplateInput, languages: list[str]) -> dict[Key, str | None]:
    """The phrasebook texts of the Cancel that lifts the warning of `params` (its hazard and places)."""
    result: dict[Key, str | None] = {}
    for language in languages:
        rendered = None
        if language in LANGUAGES:
            rendered = render_cancel_texts(params.hazard, language, places=list(params.places),
                                           country=params.country)
        for field in TEXT_FIELDS:
            result[(language, field)] = getattr(rendered, field) if rendered and not rendered.missing else None
    return result


def _text_update(value: Any) -> tuple[str, bool]:
    """A text change is a string, or {"body": ..., "reviewed": true} to confirm a stale translation."""
    reviewed = False
    if isinstance(value, dict):
        value, reviewed = value.get("body"), value.get("reviewed", False)
    if not isinstance(value, str | None) or not isinstance(reviewed, bool):
        raise InvalidInput('A text is a string, or {"body": "...", "reviewed": true} to confirm a translation.',
                           field="texts")
    return (value or "").strip(), reviewed


def merge_texts(
    base: dict[Key, tuple[str, str]],
    changes: dict[str, dict[str, Any]],
    languages: list[str],
    templates: dict[Key, str | None],
) -> list[VersionText]:
    """The texts of a new version: human changes over the base, templates where no person wrote.

    A person rewriting a person's text in one language makes that field stale in the other languages
    (unless rewritten in the same change); emptying a text gives it back to the phrasebook.
    """
    unknown = sorted(set(changes) - set(LANGUAGES))
    if unknown:
        raise InvalidInput(_("Unsupported language: %(languages)s.", languages=", ".join(unknown)), field="texts")
    result = dict(base)
    edited: set[Key] = set()
    rewritten_fields: set[str] = set()
    for language, fields in changes.items():
        if not isinstance(fields, dict):
            raise InvalidInput(_("The texts in %(language)s must be an object of fields.", language=language),
                               field="texts")
        for field, value in fields.items():
            if field not in TEXT_FIELDS:
                raise InvalidInput(_("Unknown text field “%(field)s”.", field=field), field=f"texts.{language}")
            body, reviewed = _text_update(value)
            old_body, old_status = base.get((language, field), ("", "missing"))
            if body == old_body and not (reviewed and old_status == "stale"):
                continue
            edited.add((language, field))
            result[(language, field)] = (body, "human" if body else "missing")
            if old_status == "human" and body and body != old_body:
                rewritten_fields.add(field)  # the translations of a person's text follow it
    for key, (body, status) in list(result.items()):
        if key[1] in rewritten_fields and key not in edited and status == "human":
            result[key] = (body, "stale")
    for language in languages:
        for field in TEXT_FIELDS:
            key = (language, field)
            body, status = result.get(key, ("", "missing"))
            if status in ("template", "missing") and key not in edited or (key in edited and not body):
                rendered = templates.get(key)
                result[key] = (rendered, "template") if rendered else ("", "missing")
    return [VersionText(language=lang, field=field, body=body, status=status)
            for (lang, field), (body, status) in sorted(result.items())]
