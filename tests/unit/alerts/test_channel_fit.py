"""Issue #14 item 1: the default rendering of every hazard, in every language, status (Actual, Exercise, Test) and
message type (Alert, Update, Cancel) fits every channel with the longest place name of the gazetteer, and so does
each country's cell-broadcast message (channels.cell_broadcast)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from alerts.gazetteer import PLACES, place_name
from alerts.hazards import HAZARDS
from alerts.rendering import CHANNELS, cell_broadcasts, render_channel
from alerts.texts import TemplateInput, cancel_texts, template_texts
from alerts.vocabulary import STATUSES
from channels import cell_broadcast
from channels.specs import TextLimits

LANGUAGES = ("nl", "fr", "de", "en", "lb")
MSG_TYPES = ("Alert", "Update", "Cancel")
WEB = "https://crisiscentrum.be"
ONSET = datetime(2026, 12, 1, 7, 5, tzinfo=UTC)
LIMITS = TextLimits()  # the deployment's defaults: 4 SMS segments, 500 Mastodon characters


def longest_place(language: str) -> str:
    return max(sorted(PLACES), key=lambda code: len(place_name(code, language)))


@cache
def default_texts(hazard: str, msg_type: str, places: tuple[str, ...], languages: tuple[str, ...],
                  country: str = "BE") -> dict:
    params = TemplateInput(hazard, places, ONSET, ONSET + timedelta(hours=5), WEB, "Europe/Brussels", country)
    rendered = (cancel_texts if msg_type == "Cancel" else template_texts)(params, list(languages))
    return {language: {field: {"body": body or "", "status": "template" if body else "missing"}
                       for (lang, field), body in rendered.items() if lang == language} for language in languages}


def content(hazard: str, status: str, msg_type: str, texts: dict) -> dict:
    chosen = HAZARDS[hazard]
    return {"status": status, "msg_type": msg_type, "web": WEB, "texts": texts, "severity": chosen.severity,
            "urgency": chosen.urgency, "certainty": chosen.certainty}


@pytest.mark.parametrize(("language", "country"), [(language, "BE") for language in LANGUAGES] + [("nl", "NL")])
@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_every_default_rendering_fits_every_channel(hazard, language, country):
    place = longest_place(language)
    failures = []
    for msg_type in MSG_TYPES:
        texts = default_texts(hazard, msg_type, (place,), (language,), country)
        for status in STATUSES:
            for channel in CHANNELS:
                result = render_channel(content(hazard, status, msg_type, texts), language, channel, LIMITS)
                if not result.ok:
                    failures.append(f"{msg_type}/{status}: {'; '.join(result.problems)}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("country", sorted(cell_broadcast.DEFAULT_POLICIES))
@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_each_countrys_cell_broadcast_fits_with_its_longest_place(hazard, country):
    languages = tuple(dict.fromkeys(lang for message in cell_broadcast.DEFAULT_POLICIES[country] for lang in message))
    place = max((code for code in sorted(PLACES) if PLACES[code].country == country),
                key=lambda code: max(len(place_name(code, lang)) for lang in languages))
    failures = []
    for msg_type in MSG_TYPES:
        texts = default_texts(hazard, msg_type, (place,), languages, country)
        for status in STATUSES:
            for message in cell_broadcasts(content(hazard, status, msg_type, texts), country, None, LIMITS):
                if message.problems:
                    failures.append(f"{msg_type}/{status} {message.languages}: {'; '.join(message.problems)}")
    assert not failures, "\n".join(failures)


def test_the_message_identifiers_follow_eu_alert():
    assert cell_broadcast.message_identifier("Actual", "Extreme", "Immediate", "Observed") == 4370
    assert cell_broadcast.message_identifier("Actual", "Extreme", "Immediate", "Observed", additional=True) == 4383
    assert cell_broadcast.message_identifier("Actual", "Extreme", "Immediate", "Likely") == 4371
    assert cell_broadcast.message_identifier("Actual", "Severe", "Expected", "Likely", additional=True) == 4391
    assert cell_broadcast.message_identifier("Exercise", "Extreme", "Immediate", "Observed") == 4381
    assert cell_broadcast.message_identifier("Test", "Minor", "Past", "Observed", additional=True) == 4393
    germany = cell_broadcast.broadcasts("DE-NW", "Actual", "Extreme", "Immediate", "Observed")
    assert [(b.languages, b.identifier) for b in germany] == [(("de",), 4370), (("en",), 4383)]
    assert [b.languages for b in cell_broadcast.broadcasts("NL", "Actual", "Severe", "Immediate", "Observed")] == [
        ("nl", "en")]


def test_an_nl_alert_carries_dutch_and_english_in_one_message_separated_by_stars():
    texts = default_texts("flood", "Alert", ("nl-li",), ("nl", "en"))
    [message] = cell_broadcasts(content("flood", "Actual", "Alert", texts), "NL")
    dutch, english = message.text.split("\n***\n")
    assert dutch.startswith("Overstroming") and english.startswith("Flooding") and message.identifier == 4376
    assert message.fit.parts <= 15 and not message.problems
