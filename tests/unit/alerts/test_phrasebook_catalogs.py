"""The gettext catalogs: complete in nl/fr/de, in step with the sources, placeholders intact."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from alerts.hazards import COMMON_INSTRUCTIONS, INSTRUCTIONS
from alerts.phrasebook import is_translated, phrasebook_msgids

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
COMPLETE = ("nl", "fr", "de")
ALL = COMPLETE + ("lb",)
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifr%])")


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


def po(language: str) -> Catalog:
    return load(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)


def msgids(catalog: Catalog) -> set[str]:
    return {message.id if isinstance(message.id, str) else message.id[0] for message in catalog if message.id}


def placeholders(text: str) -> list[tuple[str, str]]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", COMPLETE)
def test_every_msgid_is_translated(language):
    catalog = po(language)
    untranslated = sorted(message.id for message in catalog if message.id and not is_translated(message))
    assert untranslated == [], f"{language}: untranslated or fuzzy msgids"
    assert msgids(load(POT)) <= msgids(catalog)


def test_a_fuzzy_translation_counts_as_missing():
    catalog = Catalog(locale="nl")
    fuzzy = catalog.add("Stay indoors.", "Blijf binnen.", flags=["fuzzy"])
    empty = catalog.add("Go indoors.", "")
    done = catalog.add("Avoid the area.", "Vermijd het gebied.")
    assert [is_translated(message) for message in (fuzzy, empty, done)] == [False, False, True]


def test_extraction_from_the_sources_matches_the_template_and_every_catalog(tmp_path):
    fresh = tmp_path / "messages.pot"
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-o", str(fresh), "--no-location", "--sort-output", "--no-wrap", "-c", "TRANSLATORS:", "."],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    extracted = msgids(load(fresh))
    assert set(phrasebook_msgids()) <= extracted
    assert msgids(load(POT)) == extracted, "run pybabel extract and update (see alerts/phrasebook.py)"
    for language in ALL:
        assert msgids(po(language)) == extracted, f"{language} catalog out of date: run pybabel update"


def test_every_msgid_with_a_placeholder_is_flagged_python_format():
    for message in load(POT):
        if message.id and "%(" in message.id:
            assert "python-format" in message.flags, message.id


@pytest.mark.parametrize("language", ALL)
def test_placeholders_are_identical_in_msgid_and_msgstr(language):
    catalog = po(language)
    assert [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()] == []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in filter(None, strings):  # a plural form has the placeholders of its msgid too
            assert sorted(placeholders(string)) == sorted(placeholders(ids[0])), (language, message.id)


def test_catalog_headers_name_their_language():
    for language in ALL:
        catalog = po(language)
        assert str(catalog.locale) == language
        assert catalog.charset == "utf-8"
        assert not catalog.fuzzy


def test_luxembourgish_has_the_common_instructions_and_nothing_made_up():
    catalog = po("lb")
    translated = {message.id: message.string for message in catalog if message.id and is_translated(message)}
    common = {INSTRUCTIONS[code] for code in COMMON_INSTRUCTIONS}
    assert common <= translated.keys()
    assert translated[INSTRUCTIONS["close_doors_windows"]] == "Maacht Dieren a Fënsteren zou."
    same_word = {"TEST"}  # Luxembourgish writes it as English does
    assert all(text != msgid for msgid, text in translated.items() if msgid not in same_word)  # no English copies
    assert set(phrasebook_msgids()) <= translated.keys()  # every public message
    assert len(translated) < len(msgids(catalog))  # the interface strings are not translated in lb


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "Geef minstens één gebied op."),
    ("fr", "Éloignez-vous des fenêtres."),
    ("de", "Schließen Sie Fenster und Türen."),
    ("lb", "Maacht Dieren a Fënsteren zou."),
])
def test_translations_keep_their_diacritics(language, expected):
    strings = [message.string for message in po(language) if message.id]
    assert expected in strings
    assert not [text for text in strings if "Ã" in text or "\ufffd" in text]  # no mojibake


def test_the_netherlands_variant_overrides_only_phrasebook_msgids_and_keeps_their_placeholders():
    from alerts.phrasebook import phrasebook_msgids, variant_catalog

    variant = variant_catalog("nl_NL")
    entries = [message for message in variant if message.id]
    assert entries and {message.id for message in entries} <= set(phrasebook_msgids())
    for message in entries:
        assert message.string and not message.fuzzy, message.id
        assert sorted(placeholders(message.string)) == sorted(placeholders(message.id)), message.id


def test_dutch_for_the_netherlands_uses_its_own_words_and_belgian_dutch_its_own():
    from alerts.phrasebook import render_texts

    def instruction(country):
        return render_texts("evacuation", "nl", places=["nl-li"], onset=None, expires=None,
                            timezone="Europe/Amsterdam", country=country).instruction

    assert "identiteitsbewijs" in instruction("NL") and "opvanglocatie" in instruction("NL")
    assert "opvangcentrum" in instruction("BE") and "opvanglocatie" not in instruction("BE")
