"""The phrasebook's content, its rendering (golden texts read by native readers) and the gazetteer."""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from io import BytesIO

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from alerts import phrasebook
from alerts.gazetteer import KINDS, PLACES, place_name
from alerts.hazards import COMMON_INSTRUCTIONS, HAZARDS, INSTRUCTIONS
from alerts.phrasebook import (
    PARTIAL_CATALOGS,
    locale_for,
    missing_msgids,
    render_texts,
    translations_for,
)

# the languages whose catalogs are complete (BENELERT_LANGUAGES, less the partial catalogs)
LANGUAGES = tuple(language for language in phrasebook.LANGUAGES if language not in PARTIAL_CATALOGS)
REQUIRED_HAZARDS = {
    "flood", "storm", "heat", "cold", "fire_smoke", "chemical", "explosion", "transport_accident", "nuclear",
    "drinking_water", "power_outage", "telecom_outage", "terrorism", "crowd", "epidemic", "evacuation",
}
CAP_CATEGORIES = {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                  "CBRNE", "Other"}


# --- content -------------------------------------------------------------------------------------

def test_all_required_hazards_are_defined_under_their_own_code():
    assert REQUIRED_HAZARDS <= HAZARDS.keys()
    assert len(HAZARDS) >= 15
    assert all(hazard.code == code for code, hazard in HAZARDS.items())


@pytest.mark.parametrize("code", sorted(HAZARDS))
def test_hazard_has_cap_values_a_place_headline_and_known_instructions(code):
    hazard = HAZARDS[code]
    assert hazard.category in CAP_CATEGORIES
    assert hazard.severity in {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
    assert hazard.urgency in {"Immediate", "Expected", "Future", "Past", "Unknown"}
    assert hazard.certainty in {"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
    assert "%(place)s" in hazard.headline
    assert hazard.instructions and set(hazard.instructions) <= INSTRUCTIONS.keys()
    assert len(set(hazard.instructions)) == len(hazard.instructions)


def test_chemical_defaults_are_those_of_a_cbrne_incident_in_progress():
    chemical = HAZARDS["chemical"]
    assert (chemical.category, chemical.severity, chemical.urgency, chemical.certainty) == (
        "CBRNE", "Severe", "Immediate", "Observed")


def test_there_are_at_least_forty_distinct_instruction_sentences():
    assert len(set(INSTRUCTIONS.values())) == len(INSTRUCTIONS) >= 40
    assert all(text.endswith(".") and text[0].isupper() for text in INSTRUCTIONS.values())


def test_ten_distinct_common_instructions():
    assert len(COMMON_INSTRUCTIONS) == len(set(COMMON_INSTRUCTIONS)) == 10
    assert set(COMMON_INSTRUCTIONS) <= INSTRUCTIONS.keys()


# --- golden renderings ---------------------------------------------------------------------------

SCENARIOS = {
    # Belgium, two provinces, a validity over two days, a web address.
    "flood": dict(
        places=["be-lim", "be-lie"], onset=datetime(2026, 11, 22, 13, 30, tzinfo=UTC),
        expires=datetime(2026, 11, 23, 7, 0, tzinfo=UTC), timezone="Europe/Brussels", country="BE",
        web="https://www.crisiscentrum.be",
    ),
    # The Netherlands on the day summer time starts (UTC+2): a validity within one day.
    "chemical": dict(
        places=["nl-rotterdam", "nl-den-haag"], onset=datetime(2026, 3, 29, 9, 5, tzinfo=UTC),
        expires=datetime(2026, 3, 29, 18, 0, tzinfo=UTC), timezone="Europe/Amsterdam", country="NL",
    ),
    # Luxembourg, places in three countries, only an end time.
    "storm": dict(
        places=["lu-esch", "de-nw-aachen", "be-eupen"], onset=None,
        expires=datetime(2027, 1, 5, 17, 0, tzinfo=UTC), timezone="Europe/Luxembourg", country="LU",
    ),
}

GOLDEN = {
    ("flood", "nl"): (
        "Overstromingen: Limburg en Luik",
        "Rivieren en beken treden buiten hun oevers. Straten, kelders en tunnels kunnen snel onder water "
        "lopen. Betrokken gebied: Limburg en Luik. Deze waarschuwing geldt van 22 november 2026 om 14.30 "
        "uur tot 23 november 2026 om 8.00 uur. Meer informatie: https://www.crisiscentrum.be",
        "Blijf weg van rivieren, beken en dijken. Loop of rijd niet door ondergelopen straten. Ga naar "
        "een hogere verdieping. Sluit gas en elektriciteit af als er water in huis komt. Reis alleen als "
        "het echt nodig is. Bel 112 alleen in noodgevallen.",
    ),
    ("flood", "fr"): (
        "Inondations : Limbourg et Liège",
        "Des rivières et des ruisseaux sortent de leur lit. Les rues, les caves et les passages "
        "souterrains peuvent être rapidement inondés. Zone concernée : Limbourg et Liège. Cette alerte "
        "est valable du 22 novembre 2026 à 14 h 30 au 23 novembre 2026 à 8 h 00. Plus d'informations : "
        "https://www.crisiscentrum.be",
        "Éloignez-vous des rivières, des ruisseaux et des digues. Ne traversez pas les rues inondées, ni "
        "à pied ni en voiture. Montez à un étage supérieur. Coupez le gaz et l'électricité si l'eau "
        "pénètre dans votre logement. Ne vous déplacez qu'en cas de nécessité absolue. N'appelez le 112 "
        "qu'en cas d'urgence.",
    ),
    ("flood", "de"): (
        "Hochwasser: Limburg und Lüttich",
        "Flüsse und Bäche treten über die Ufer. Straßen, Keller und Unterführungen können schnell "
        "überflutet werden. Betroffenes Gebiet: Limburg und Lüttich. Diese Warnung gilt vom 22. November "
        "2026 um 14:30 Uhr bis zum 23. November 2026 um 8:00 Uhr. Weitere Informationen: "
        "https://www.crisiscentrum.be",
        "Halten Sie sich von Flüssen, Bächen und Deichen fern. Gehen oder fahren Sie nicht durch "
        "überflutete Straßen. Begeben Sie sich in ein höheres Stockwerk. Schalten Sie Gas und Strom ab, "
        "wenn Wasser ins Haus eindringt. Unternehmen Sie nur unbedingt notwendige Fahrten. Rufen Sie die "
        "112 nur im Notfall an.",
    ),
    ("flood", "en"): (
        "Flooding: Limburg and Liège",
        "Rivers and streams are overflowing their banks. Streets, cellars and underpasses may flood "
        "quickly. Affected area: Limburg and Liège. This warning applies from 22 November 2026 at 14:30 "
        "until 23 November 2026 at 08:00. More information: https://www.crisiscentrum.be",
        "Stay away from rivers, streams and dikes. Do not walk or drive through flooded streets. Move to "
        "a higher floor. Switch off gas and electricity if water enters your home. Only travel if it is "
        "absolutely necessary. Only call 112 in an emergency.",
    ),
    ("chemical", "nl"): (
        "Gevaarlijke stoffen vrijgekomen: Rotterdam en Den Haag",
        "Er zijn gevaarlijke stoffen in de lucht vrijgekomen. Die kunnen de ogen, de huid en de "
        "luchtwegen irriteren. Betrokken gebied: Rotterdam en Den Haag. Deze waarschuwing geldt op 29 "
        "maart 2026 van 11.05 uur tot 20.00 uur.",
        "Ga naar binnen. Sluit ramen en deuren. Zet ventilatie en airconditioning uit. Haal je kinderen "
        "niet op van school. De school zorgt voor ze. Vermijd het gebied. Bel 112 alleen in "
        "noodgevallen.",
    ),
    ("chemical", "fr"): (
        "Fuite de produits dangereux : Rotterdam et La Haye",
        "Des produits dangereux se sont échappés dans l'air. Ils peuvent irriter les yeux, la peau et "
        "les voies respiratoires. Zone concernée : Rotterdam et La Haye. Cette alerte est valable le 29 "
        "mars 2026 de 11 h 05 à 20 h 00.",
        "Mettez-vous à l'abri dans un bâtiment. Fermez portes et fenêtres. Coupez la ventilation et la "
        "climatisation. N'allez pas chercher vos enfants à l'école. L'école s'occupe d'eux. Évitez la "
        "zone. N'appelez le 112 qu'en cas d'urgence.",
    ),
    ("chemical", "de"): (
        "Austritt gefährlicher Stoffe: Rotterdam und Den Haag",
        "Gefährliche Stoffe sind in die Luft gelangt. Sie können Augen, Haut und Atemwege reizen. "
        "Betroffenes Gebiet: Rotterdam und Den Haag. Diese Warnung gilt am 29. März 2026 von 11:05 bis "
        "20:00 Uhr.",
        "Suchen Sie ein Gebäude auf. Schließen Sie Fenster und Türen. Schalten Sie Lüftungs- und "
        "Klimaanlagen aus. Holen Sie Ihre Kinder nicht von der Schule ab. Die Schule kümmert sich um "
        "sie. Meiden Sie das Gebiet. Rufen Sie die 112 nur im Notfall an.",
    ),
    ("chemical", "en"): (
        "Hazardous substances released: Rotterdam and The Hague",
        "Hazardous substances have been released into the air. They can irritate the eyes, skin and "
        "airways. Affected area: Rotterdam and The Hague. This warning applies on 29 March 2026 from "
        "11:05 until 20:00.",
        "Go indoors. Close doors and windows. Switch off ventilation and air conditioning. Do not pick "
        "up your children from school. The school is taking care of them. Avoid the area. Only call 112 "
        "in an emergency.",
    ),
    ("storm", "nl"): (
        "Zware storm: Esch-sur-Alzette, Aken en Eupen",
        "Er worden zeer zware windstoten verwacht. Omvallende bomen, afbrekende takken en rondvliegende "
        "voorwerpen kunnen zeer gevaarlijk zijn. Betrokken gebied: Esch-sur-Alzette, Aken en Eupen. Deze "
        "waarschuwing geldt tot 5 januari 2027 om 18.00 uur.",
        "Blijf binnen. Blijf uit de buurt van bomen en steigers. Zet losse voorwerpen in tuinen en op "
        "balkons vast of haal ze binnen. Reis alleen als het echt nodig is. Bel 112 alleen in "
        "noodgevallen.",
    ),
    ("storm", "fr"): (
        "Violente tempête : Esch-sur-Alzette, Aix-la-Chapelle et Eupen",
        "De très fortes rafales de vent sont attendues. Les chutes d'arbres et de branches ainsi que les "
        "objets emportés par le vent peuvent être très dangereux. Zone concernée : Esch-sur-Alzette, "
        "Aix-la-Chapelle et Eupen. Cette alerte est valable jusqu'au 5 janvier 2027 à 18 h 00.",
        "Restez à l'intérieur. Éloignez-vous des arbres et des échafaudages. Fixez ou rentrez les objets "
        "qui pourraient s'envoler des jardins et des balcons. Ne vous déplacez qu'en cas de nécessité "
        "absolue. N'appelez le 112 qu'en cas d'urgence.",
    ),
    ("storm", "de"): (
        "Schwerer Sturm: Esch an der Alzette, Aachen und Eupen",
        "Es werden sehr schwere Sturmböen erwartet. Umstürzende Bäume, herabfallende Äste und "
        "umherfliegende Gegenstände können sehr gefährlich sein. Betroffenes Gebiet: Esch an der "
        "Alzette, Aachen und Eupen. Diese Warnung gilt bis zum 5. Januar 2027 um 18:00 Uhr.",
        "Bleiben Sie in geschlossenen Räumen. Halten Sie sich von Bäumen und Gerüsten fern. Sichern Sie "
        "lose Gegenstände in Gärten und auf Balkonen oder bringen Sie sie ins Haus. Unternehmen Sie nur "
        "unbedingt notwendige Fahrten. Rufen Sie die 112 nur im Notfall an.",
    ),
    ("storm", "en"): (
        "Severe storm: Esch-sur-Alzette, Aachen and Eupen",
        "Very strong gusts of wind are expected. Falling trees, branches and flying objects can be very "
        "dangerous. Affected area: Esch-sur-Alzette, Aachen and Eupen. This warning applies until 5 "
        "January 2027 at 18:00.",
        "Stay indoors. Stay away from trees and scaffolding. Secure or bring in loose objects from "
        "gardens and balconies. Only travel if it is absolutely necessary. Only call 112 in an "
        "emergency.",
    ),
}


@pytest.mark.parametrize(("hazard", "language"), sorted(GOLDEN))
def test_golden_rendering(hazard, language):
    texts = render_texts(hazard, language, **SCENARIOS[hazard])
    assert (texts.headline, texts.description, texts.instruction) == GOLDEN[hazard, language]
    assert texts.missing == ()


def test_event_is_rendered_in_the_language():
    texts = render_texts("flood", "de", **SCENARIOS["flood"])
    assert texts.event == "Hochwasser"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_every_hazard_renders_completely_in_every_language(hazard, language):
    texts = render_texts(hazard, language, **SCENARIOS["flood"])
    assert texts.missing == ()
    for text in (texts.headline, texts.description, texts.instruction):
        assert text and text == text.strip()
        assert not re.search(r"%\(|\{\{|\{%|\}\}|  |\n", text), text
    assert texts.instruction.count(". ") + 1 >= len(HAZARDS[hazard].instructions)


def test_concurrent_renders_in_different_languages_do_not_mix():
    jobs = [("chemical", language) for language in LANGUAGES] * 25
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda job: render_texts(*job, **SCENARIOS["chemical"]), jobs))
    for (hazard, language), texts in zip(jobs, results, strict=True):
        assert (texts.headline, texts.description, texts.instruction) == GOLDEN[hazard, language]


def test_instructions_can_be_chosen_and_are_joined_by_one_space():
    chosen = ["close_doors_windows", "go_indoors"]
    texts = render_texts("other", "nl", **SCENARIOS["flood"], instructions=chosen)
    assert texts.instruction == "Sluit ramen en deuren. Ga naar binnen."
    assert render_texts("other", "nl", **SCENARIOS["flood"], instructions=[]).instruction == ""


def test_without_places_the_headline_is_the_event_and_no_area_is_named():
    scenario = SCENARIOS["flood"] | {"places": []}
    texts = render_texts("flood", "fr", **scenario)
    assert texts.headline == "Inondation"
    assert "Zone concernée" not in texts.description


def test_luxembourgish_renders_every_public_message():
    texts = render_texts("chemical", "lb", **SCENARIOS["chemical"])
    assert "Maacht Dieren a Fënsteren zou." in texts.instruction
    assert "Bleift dobannen." not in texts.instruction  # not one of chemical's instructions
    assert texts.missing == ()
    assert HAZARDS["chemical"].headline.split(":")[0] not in texts.headline  # translated, not English
    assert texts.headline.endswith(": Rotterdam an Den Haag")  # lb "and" before D keeps its n


def test_unknown_language_hazard_or_naive_time_is_refused():
    with pytest.raises(ValueError):
        render_texts("flood", "es", **SCENARIOS["flood"])
    with pytest.raises(KeyError):
        render_texts("tsunami", "nl", **SCENARIOS["flood"])
    with pytest.raises(ValueError):
        render_texts("flood", "nl", **(SCENARIOS["flood"] | {"onset": datetime(2026, 11, 22, 14, 30)}))


@pytest.mark.parametrize(("language", "country", "expected"), [
    ("nl", "BE", "nl_BE"), ("nl", "NL", "nl_NL"), ("fr", "BE", "fr_BE"), ("fr", "LU", "fr_LU"),
    ("de", "BE", "de_BE"), ("de", "DE", "de_DE"), ("de", "LU", "de_LU"), ("en", "NL", "en_GB"),
    ("lb", "LU", "lb_LU"), ("nl", "LU", "nl_BE"), ("de", "de-nw", "de_DE"),
])
def test_locale_for(language, country, expected):
    assert locale_for(language, country) == expected


def test_locale_for_refuses_unknown_language_or_country():
    with pytest.raises(ValueError):
        locale_for("es", "BE")
    with pytest.raises(ValueError):
        locale_for("nl", "FR")


def test_missing_msgids():
    assert missing_msgids("en") == []
    for language in ("nl", "fr", "de"):
        assert missing_msgids(language) == []
    assert missing_msgids("lb") == []  # Luxembourgish covers every public message (its interface is English)
    assert PARTIAL_CATALOGS == ("lb",)


# --- catalog loading -----------------------------------------------------------------------------

@pytest.fixture
def private_translations(tmp_path, monkeypatch):
    """translations_for reading a throwaway catalog directory, with its caches emptied around the test."""
    monkeypatch.setattr(phrasebook, "TRANSLATIONS", tmp_path)
    for cached in (phrasebook.translations_for, phrasebook._po_catalog, phrasebook._translated_msgids):
        cached.cache_clear()
    yield tmp_path
    for cached in (phrasebook.translations_for, phrasebook._po_catalog, phrasebook._translated_msgids):
        cached.cache_clear()


def _catalog(text: str) -> Catalog:
    catalog = Catalog(locale="nl")
    catalog.add("Stay indoors.", text)
    return catalog


def test_a_fresh_mo_is_used_and_a_stale_one_is_compiled_over_from_the_po(private_translations):
    po = private_translations / "nl" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as fileobj:
        write_po(fileobj, _catalog("uit de po"))
    compiled = BytesIO()
    write_mo(compiled, _catalog("uit de mo"))
    mo = po.with_suffix(".mo")
    mo.write_bytes(compiled.getvalue())
    os.utime(po, (1_000_000_000, 1_000_000_000))
    os.utime(mo, (2_000_000_000, 2_000_000_000))
    assert translations_for("nl").gettext("Stay indoors.") == "uit de mo"

    translations_for.cache_clear()
    os.utime(po, (3_000_000_000, 3_000_000_000))
    assert translations_for("nl").gettext("Stay indoors.") == "uit de po"


def test_without_any_mo_the_real_catalogs_translate():
    assert translations_for("fr").gettext(INSTRUCTIONS["close_doors_windows"]) == "Fermez portes et fenêtres."
    assert translations_for("en").gettext(INSTRUCTIONS["close_doors_windows"]) == "Close doors and windows."


# --- gazetteer -----------------------------------------------------------------------------------

def _codes(country: str, kind: str, prefix: str = "") -> set[str]:
    return {
        code for code, place in PLACES.items()
        if place.country == country and place.kind == kind and code.startswith(prefix)
    }


def test_belgian_provinces_and_brussels():
    assert _codes("BE", "province") == {
        "be-ant", "be-lim", "be-ovl", "be-vbr", "be-wvl", "be-wbr", "be-hai", "be-lie", "be-lux", "be-nam"}
    assert PLACES["be-bru"].names["fr"] == "Région de Bruxelles-Capitale"


def test_dutch_provinces():
    iso_suffixes = ("dr", "fl", "fr", "ge", "gr", "li", "nb", "nh", "ov", "ut", "ze", "zh")
    assert _codes("NL", "province") == {f"nl-{suffix}" for suffix in iso_suffixes}


def test_luxembourg_cantons():
    assert _codes("LU", "canton") == {f"lu-{name}" for name in (
        "capellen", "clervaux", "diekirch", "echternach", "esch", "grevenmacher", "luxembourg", "mersch",
        "redange", "remich", "vianden", "wiltz")}


def test_north_rhine_westphalia():
    assert len(_codes("DE", "region", "de-nw-rb-")) == 5
    assert len(_codes("DE", "district", "de-nw-")) == 31
    assert len(_codes("DE", "city", "de-nw-") - {"de-nw-aachen"}) == 22  # Aachen is in the Städteregion


def test_codes_follow_the_scheme_and_every_place_has_four_names():
    for code, place in PLACES.items():
        assert re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)*", code), code
        assert code.split("-")[0] == place.country.lower()
        assert place.kind in KINDS
        assert all(place.names.get(language, "").strip() for language in ("nl", "fr", "de", "en")), code


@pytest.mark.parametrize(("code", "nl", "fr", "de", "en"), [
    ("be-liege", "Luik", "Liège", "Lüttich", "Liège"),
    ("be-lie", "Luik", "Liège", "Lüttich", "Liège"),
    ("de-nw-aachen", "Aken", "Aix-la-Chapelle", "Aachen", "Aachen"),
    ("de-nw-koeln", "Keulen", "Cologne", "Köln", "Cologne"),
    ("be-brussel", "Brussel", "Bruxelles", "Brüssel", "Brussels"),
    ("be-antwerpen", "Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
    ("be-mons", "Bergen", "Mons", "Mons", "Mons"),
    ("be-leuven", "Leuven", "Louvain", "Löwen", "Leuven"),
    ("nl-den-haag", "Den Haag", "La Haye", "Den Haag", "The Hague"),
    ("lu-luxembourg-ville", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg"),
])
def test_exonyms(code, nl, fr, de, en):
    assert [place_name(code, language) for language in ("nl", "fr", "de", "en")] == [nl, fr, de, en]


def test_luxembourgish_names_fall_back_to_german():
    assert place_name("lu-esch", "lb") == "Esch-Uelzecht"
    assert place_name("be-lie", "lb") == "Lüttich"
    with pytest.raises(KeyError):
        place_name("be-lie", "es")
