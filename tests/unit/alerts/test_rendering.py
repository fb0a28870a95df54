"""Channel renderings of a version: golden texts per hazard, language and channel, limits and problems.

The golden renderings are in tests/golden/renderings.json; every text there was read line by line before it
was committed. After a deliberate change to a template, a catalog or the phrasebook, regenerate and read the
diff of the JSON file as a native reader would before committing it:

    .venv/bin/python -m tests.unit.alerts.test_rendering
"""
from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from alerts import rendering
from alerts.phrasebook import render_texts, template_msgids
from alerts.rendering import (
    CHANNELS,
    STATUS_MARKERS,
    render_channel,
    render_version,
)
from channels.specs import TextLimits
from channels.textfit import gsm_typography

GOLDEN_FILE = Path(__file__).resolve().parent / "golden" / "renderings.json"
LANGUAGES = ("nl", "fr", "de", "en")
FIELDS = ("headline", "description", "instruction", "short", "short_x")

# Flood in Limburg (BE and NL), an actual warning over two days, the web address also in the description;
# a chemical exercise in Antwerp within one summer day, the web address only in the version; a technical
# test of a storm warning in Luxembourg, no web address.
SCENARIOS = {
    "flood": dict(
        status="Actual", web="https://www.crisiscentrum.be",
        texts=dict(
            places=["be-lim", "nl-li"], onset=datetime(2026, 11, 22, 13, 30, tzinfo=UTC),
            expires=datetime(2026, 11, 23, 7, 0, tzinfo=UTC), timezone="Europe/Brussels", country="BE",
            web="https://www.crisiscentrum.be",
            instructions=["away_from_water", "move_upstairs", "call_112_emergency"],
        ),
    ),
    "chemical": dict(
        status="Exercise", web="https://www.crisiscentrum.be",
        texts=dict(
            places=["be-antwerpen"], onset=datetime(2026, 6, 15, 8, 40, tzinfo=UTC),
            expires=datetime(2026, 6, 15, 14, 0, tzinfo=UTC), timezone="Europe/Brussels", country="BE",
            instructions=["go_indoors", "close_doors_windows", "ventilation_off"],
        ),
    ),
    "storm": dict(
        status="Test", web=None,
        texts=dict(
            places=["lu-luxembourg", "lu-esch"], onset=datetime(2027, 1, 4, 21, 0, tzinfo=UTC),
            expires=datetime(2027, 1, 5, 17, 0, tzinfo=UTC), timezone="Europe/Luxembourg", country="LU",
            instructions=["stay_indoors", "away_from_trees", "avoid_travel"],
        ),
    ),
}


def scenario_content(hazard: str, *, status: str | None = None, languages=LANGUAGES) -> dict:
    """A version's canonical content (alerts.content) whose texts are the phrasebook's, status "template"."""
    scenario = SCENARIOS[hazard]
    texts = {}
    for language in languages:
        rendered = render_texts(hazard, language, **scenario["texts"])
        assert rendered.missing == ()
        texts[language] = {field: {"body": getattr(rendered, field), "status": "template"} for field in FIELDS}
    return {
        "status": status or scenario["status"], "msg_type": "Alert", "hazard": hazard, "web": scenario["web"],
        "texts": texts,
    }


def content_with(texts: dict[str, dict[str, tuple[str, str]]], status: str = "Actual", web: str | None = None):
    """Content from {language: {field: (body, status)}}."""
    return {
        "status": status, "web": web,
        "texts": {
            language: {field: {"body": body, "status": state} for field, (body, state) in fields.items()}
            for language, fields in texts.items()
        },
    }


def golden_entry(result) -> dict:
    """The rendering as stored in the golden file: its text line by line, so that it reads easily there."""
    return {
        "lines": result.text.split("\n"),
        "fits": [f"{fit.channel}: {fit.encoding or '-'}, length {fit.length}, {fit.parts} part(s)"
                 for fit in result.fits],
        "problems": list(result.problems),
    }


def current_renderings() -> dict:
    golden: dict = {}
    for hazard in SCENARIOS:
        for result in render_version(scenario_content(hazard)):
            golden.setdefault(hazard, {}).setdefault(result.language, {})[result.channel] = golden_entry(result)
    return golden


# --- golden renderings ---------------------------------------------------------------------------

GOLDEN = json.loads(GOLDEN_FILE.read_text(encoding="utf-8")) if GOLDEN_FILE.exists() else {}
CASES = [(hazard, language, channel) for hazard in SCENARIOS for language in LANGUAGES for channel in CHANNELS]


@pytest.fixture(scope="module")
def rendered():
    return current_renderings()


def test_the_golden_file_covers_every_hazard_language_and_channel():
    assert sorted((h, lang, ch) for h in GOLDEN for lang in GOLDEN[h] for ch in GOLDEN[h][lang]) == sorted(CASES)


@pytest.mark.parametrize(("hazard", "language", "channel"), CASES)
def test_golden_rendering(rendered, hazard, language, channel):
    assert rendered[hazard][language][channel] == GOLDEN[hazard][language][channel]


@pytest.mark.parametrize(("hazard", "language", "channel"), CASES)
def test_golden_text_is_clean(hazard, language, channel):
    text = "\n".join(GOLDEN[hazard][language][channel]["lines"])
    assert text == unicodedata.normalize("NFC", text) == text.strip()
    assert not re.search(r"%\(|\{\{|\{%|\}\}|  | \n|\n\n\n", text), text


# Typed by hand, not generated: a regenerated golden file that changes these fails here too.
HAND_CHECKED = {
    ("flood", "nl", "sms"): "Overstromingen: Limburg (België) en Limburg (Nederland)\n"
                            "Loop of rijd niet door ondergelopen straten. Ga naar een hogere verdieping.\n"
                            "https://www.crisiscentrum.be",
    ("chemical", "fr", "sms"): "EXERCICE - Fuite de produits dangereux : Anvers\n"
                               "Rentrez, fermez portes et fenêtres et coupez la ventilation. Évitez la zone.\n"
                               "https://www.crisiscentrum.be\n"
                               "Ceci est un exercice.",
    ("chemical", "de", "mastodon"): "ÜBUNG - Austritt gefährlicher Stoffe: Antwerpen\n"
                                    "\n"
                                    "Suchen Sie ein Gebäude auf. Schließen Sie Fenster und Türen. Schalten Sie "
                                    "Lüftungs- und Klimaanlagen aus.\n"
                                    "\n"
                                    "https://www.crisiscentrum.be\n"
                                    "\n"
                                    "Dies ist eine Übung.",
    ("storm", "en", "x"): "TEST - Severe storm: Luxembourg and Esch-sur-Alzette\n"
                          "\n"
                          "Stay indoors. Stay away from trees and scaffolding.\n"
                          "\n"
                          "This is a test. No action is needed.",
    ("storm", "fr", "cap"): "TEST - Violente tempête\u00a0: Luxembourg et Esch-sur-Alzette\n"
                            "\n"
                            "De très fortes rafales de vent sont attendues. Les chutes d'arbres et de "
                            "branches ainsi que les objets emportés par le vent peuvent être très dangereux. "
                            "Zone concernée\u00a0: Luxembourg et Esch-sur-Alzette. Cette alerte est valable du 4 "
                            "janvier 2027 à 22\u00a0h\u00a000 au 5 janvier 2027 à 18\u00a0h\u00a000. "
                            "Ceci est un test\u00a0: aucune action requise.\n"
                            "\n"
                            "Restez à l'intérieur. Éloignez-vous des arbres et des échafaudages. Ne vous "
                            "déplacez qu'en cas de nécessité absolue.",
}


@pytest.mark.parametrize(("hazard", "language", "channel"), sorted(HAND_CHECKED))
def test_hand_checked_renderings(rendered, hazard, language, channel):
    assert "\n".join(rendered[hazard][language][channel]["lines"]) == HAND_CHECKED[hazard, language, channel]


def test_version_renders_in_phrasebook_order_whatever_the_order_of_its_texts():
    content = scenario_content("storm", languages=("en", "de", "nl", "fr"))
    order = [(result.language, result.channel) for result in render_version(content)]
    assert order == [(language, channel) for language in LANGUAGES for channel in CHANNELS]
    subset = render_version(content, languages=["fr"])
    assert [result.channel for result in subset] == list(CHANNELS)
    assert {result.language for result in subset} == {"fr"}


# --- exercise and test -----------------------------------------------------------------------------

MARKERS = {
    "Exercise": {"nl": "OEFENING - ", "fr": "EXERCICE - ", "de": "ÜBUNG - ", "en": "EXERCISE - "},
    "Test": {"nl": "TEST - ", "fr": "TEST - ", "de": "TEST - ", "en": "TEST - "},
}


@pytest.mark.parametrize("status", ["Exercise", "Test"])
@pytest.mark.parametrize("hazard", sorted(SCENARIOS))
def test_exercise_and_test_messages_say_so_in_every_language_and_channel(hazard, status):
    content = scenario_content(hazard, status=status)
    results = render_version(content)
    assert len(results) == len(LANGUAGES) * len(CHANNELS)
    for result in results:
        headline, closing = content["texts"][result.language]["headline"]["body"], CLOSINGS[status][result.language]
        if result.channel in ("sms", "cell_broadcast"):  # their typography in GSM-7 form
            headline, closing = gsm_typography(headline), gsm_typography(closing)
        assert result.text.startswith(MARKERS[status][result.language] + headline), (result.language, result.channel)
        assert result.text.endswith(closing) or result.channel == "cap"
        assert not any("translation" in problem for problem in result.problems)
        if result.channel == "cap":  # the marker counts towards the CAP headline's limit
            assert result.fits[0].length == len(MARKERS[status][result.language] + headline)


CLOSINGS = {
    "Exercise": {"nl": "Dit is een oefening.", "fr": "Ceci est un exercice.", "de": "Dies ist eine Übung.",
                 "en": "This is an exercise."},
    "Test": {"nl": "Dit is een test. Er hoeft niets te gebeuren.",
             "fr": "Ceci est un test\u00a0: aucune action requise.",
             "de": "Dies ist ein Test. Sie müssen nichts tun.", "en": "This is a test. No action is needed."},
}


def test_an_actual_message_has_no_marker():
    for result in render_version(scenario_content("chemical", status="Actual")):
        assert not result.text.startswith(tuple(MARKERS["Exercise"].values()) + ("TEST",))


def test_the_marker_separator_keeps_sms_in_gsm7():
    results = render_version(scenario_content("chemical"), languages=["en"])
    sms = next(result for result in results if result.channel == "sms")
    assert sms.text.startswith("EXERCISE - ") and sms.fits[0].encoding == "GSM-7"


def test_cap_markers_are_the_templates_msgids():
    assert set(STATUS_MARKERS.values()) <= set(template_msgids())


def test_a_marker_without_translation_is_a_problem_not_english_in_disguise(monkeypatch):
    from alerts import phrasebook

    translated = phrasebook._translated_msgids("lb")
    monkeypatch.setattr(phrasebook, "_translated_msgids", lambda language: translated - {"EXERCISE"})
    lb = render_texts("chemical", "lb", **SCENARIOS["chemical"]["texts"])
    content = content_with(
        {"lb": {field: (getattr(lb, field), "human") for field in FIELDS}}, status="Exercise",
    )
    for result in render_version(content):
        assert f"lb / {rendering.CHANNEL_LABELS[result.channel]}: the lb catalog has no translation of “EXERCISE”" in (
            result.problems), result.channel
        assert not result.ok


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="unknown status"):
        render_version(scenario_content("storm", status="Draft"))


# --- limits ----------------------------------------------------------------------------------------

FRENCH_STORM = {
    "headline": ("Violente tempête : Luxembourg", "human"),
    "description": ("De très fortes rafales de vent sont attendues.", "human"),
    "instruction": ("Restez à l'intérieur. Ne vous déplacez qu'en cas de nécessité absolue. Ce message reçu, "
                    "prévenez vos voisins.", "human"),
}


def test_an_over_long_french_sms_names_language_channel_segments_and_encoding():
    result = render_channel(content_with({"fr": FRENCH_STORM}), "fr", "sms", TextLimits(sms_max_segments=1))
    fit = result.fits[0]
    assert (fit.encoding, fit.parts, fit.length) == ("UCS-2", 3, 139)
    assert {"ê", "ç"} <= set(fit.non_gsm_chars)
    assert result.problems == ("fr / SMS: it needs 3 SMS segments (UCS-2, 139 characters), at most 1 allowed",)
    assert result.coach.parts_in_gsm7 == 1 and ("ê", ("tempête",)) in result.coach.chars
    assert not result.ok


def test_max_sms_segments_is_respected():
    content = content_with({"fr": FRENCH_STORM})
    assert not render_channel(content, "fr", "sms", TextLimits(sms_max_segments=2)).ok
    three = render_channel(content, "fr", "sms", TextLimits(sms_max_segments=3))
    assert three.ok and three.fits[0].max_parts == 3
    by_channel = {result.channel: result for result in render_version(content, TextLimits(sms_max_segments=3))}
    assert by_channel["sms"].ok


def test_mastodon_limit_is_respected():
    content = scenario_content("flood", languages=["fr"])
    by_channel = {result.channel: result for result in render_version(content, TextLimits(mastodon_chars=200))}
    assert by_channel["mastodon"].problems == (
        "fr / Mastodon: the Mastodon post has 206 characters, at most 200 allowed",)
    assert by_channel["x"].ok and by_channel["cap"].ok


def test_x_over_280_is_refused_with_its_weighted_length():
    long = "Follow official updates on the website of the authorities and on local radio. " * 4
    content = content_with({"en": {"headline": ("Flooding: Limburg", "human"), "short_x": (long, "human"),
                                    "description": ("Rivers overflow.", "human")}})
    result = render_channel(content, "en", "x")
    assert result.problems == ("en / X: the X post weighs 331 characters, at most 280 allowed",)


def test_cap_measures_each_field():
    content = content_with({"en": {"headline": ("H" * 171, "human"), "description": ("D", "human"),
                                   "instruction": ("I", "human")}})
    result = render_channel(content, "en", "cap")
    assert [fit.channel for fit in result.fits] == ["cap_headline", "cap_description", "cap_instruction"]
    assert result.text == "H" * 171 + "\n\nD\n\nI"
    assert result.problems == ("en / CAP: the CAP headline has 171 characters, at most 160 allowed",)


def test_french_typography_stays_in_cap_and_takes_its_gsm7_form_in_sms():
    content = scenario_content("storm", languages=["fr"])
    cap, sms = render_channel(content, "fr", "cap"), render_channel(content, "fr", "sms")
    assert "tempête\u00a0: " in cap.text  # a no-break space before the colon, as French typesets it
    assert "\u00a0" not in sms.text and "tempête : " in sms.text
    assert "\u00a0" not in sms.fits[0].non_gsm_chars


def test_text_is_measured_in_nfc():
    decomposed = unicodedata.normalize("NFD", "Fermez portes et fenêtres. Zone concernée : Liège.")
    content = content_with({"fr": {"headline": ("Inondation : Liège", "human"),
                                   "instruction": (decomposed, "human"), "description": ("x", "human")}})
    result = render_channel(content, "fr", "sms")
    assert result.text == unicodedata.normalize("NFC", result.text)
    assert result.fits[0].length == len("Inondation : Liège\nFermez portes et fenêtres. Zone concernée : Liège.")


# --- missing and stale texts -------------------------------------------------------------------------

def test_missing_and_stale_texts_are_problems_on_the_channels_that_carry_them():
    content = scenario_content("storm", status="Actual")
    content["texts"]["de"]["headline"] = {"body": "", "status": "missing"}
    content["texts"]["fr"]["description"]["status"] = "stale"
    by_key = {(result.language, result.channel): result for result in render_version(content)}
    assert by_key["de", "x"].problems[0] == "de / X: the headline is missing"
    assert by_key["de", "cap"].problems[0] == "de / CAP: the headline is missing"
    assert by_key["fr", "cap"].problems == ("fr / CAP: the description is stale (its source text changed)",)
    assert by_key["fr", "mastodon"].ok and by_key["fr", "x"].ok  # they carry no description
    assert all(result.ok or result.channel == "sms" for (language, _), result in by_key.items() if language == "en")


def test_a_language_asked_for_but_absent_is_missing_not_empty():
    results = render_version(scenario_content("storm"), languages=["de", "lb"])
    lb_sms = next(result for result in results if result.language == "lb" and result.channel == "sms")
    assert lb_sms.problems[:2] == ("lb / SMS: the headline is missing",
                                   "lb / SMS: the short text (SMS and cell broadcast) is missing")


def test_a_human_text_with_an_unknown_status_is_a_problem():
    content = content_with({"en": {field: ("Text.", "draft") for field in FIELDS}})
    assert "en / X: the headline has an unknown status “draft”" in render_channel(content, "en", "x").problems


# --- the readiness rule -------------------------------------------------------------------------

def test_channel_problems_check_the_sent_languages_on_the_chosen_channels_and_cap():
    content = scenario_content("flood")
    content["texts"]["lb"] = {"headline": {"body": "", "status": "missing"}}  # asked by nobody: never sent
    found = rendering.channel_problems(content, ["nl", "fr"], {"sms", "national", "partners"},
                                       TextLimits(sms_max_segments=1))
    assert set(found) == {"sms", "national", "cap"}  # partner copies carry the CAP document: checked as "cap"
    assert found["sms"] and all(p.startswith(("nl / SMS:", "fr / SMS:")) for p in found["sms"])
    assert not any("lb /" in p for problems in found.values() for p in problems)
    roomy = rendering.channel_problems(content, ["nl", "fr"], {"sms"}, TextLimits(sms_max_segments=10))
    assert roomy == {"sms": [], "cap": []}


def write_golden() -> None:
    GOLDEN_FILE.parent.mkdir(exist_ok=True)
    text = json.dumps(current_renderings(), ensure_ascii=False, indent=1)
    GOLDEN_FILE.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN_FILE}: read the diff before committing it")


if __name__ == "__main__":
    write_golden()


def test_the_encoding_coach_names_the_character_its_words_and_what_it_costs():
    content = content_with({"nl": {"headline": ("Overstroming: Limburg", "human"),
                                   "short": ("Volg de officiële berichten. " * 4, "human")}})
    sms = render_channel(content, "nl", "sms")
    assert sms.coach.chars == (("ë", ("officiële",)),) and sms.coach.parts > sms.coach.parts_in_gsm7
    [advice] = rendering.coach_advice("sms", sms.coach)
    assert advice == (f"“ë” in officiële switches to UCS-2: {sms.coach.parts} SMS segments where GSM-7 would need "
                      f"{sms.coach.parts_in_gsm7}")
    assert rendering.coach_advice("sms", render_channel(content_with(
        {"nl": {"headline": ("Storm", "human"), "short": ("Blijf binnen.", "human")}}), "nl", "sms").coach) == []
