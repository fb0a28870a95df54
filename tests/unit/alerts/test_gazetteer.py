"""The gazetteer as a native reader reads it: namesakes told apart in words, today's exonyms, the added places."""
from __future__ import annotations

import re

import pytest

from alerts.gazetteer import (
    KIND_WORDS,
    KINDS,
    LANGUAGES,
    PLACES,
    Place,
    area_description,
    area_label,
    distinct_place_names,
    place_name,
    with_kind,
)

# --- Namesakes in a warning's list of places -------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", ["provincie Luik", "stad Luik"]),
    ("fr", ["province de Liège", "ville de Liège"]),
    ("de", ["Provinz Lüttich", "Stadt Lüttich"]),
    ("en", ["province of Liège", "city of Liège"]),
    ("lb", ["Provënz Lüttich", "Stad Lüttich"]),  # Luxembourgish uses the German name
])
def test_namesakes_of_another_kind_get_their_kind(language, expected):
    assert distinct_place_names(["be-lie", "be-liege"], language) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", ["kanton Luxemburg", "stad Luxemburg", "provincie Luxemburg", "Luxemburg"]),
    ("fr", ["canton de Luxembourg", "ville de Luxembourg", "province de Luxembourg", "Luxembourg"]),
    ("de", ["Kanton Luxemburg", "Stadt Luxemburg", "Provinz Luxemburg", "Luxemburg"]),
    ("en", ["canton of Luxembourg", "city of Luxembourg", "province of Luxembourg", "Luxembourg"]),
    ("lb", ["Kanton Lëtzebuerg", "Stad Lëtzebuerg", "Provënz Lëtzebuerg", "Lëtzebuerg"]),
])
def test_the_four_luxembourgs_the_country_stays_bare(language, expected):
    assert distinct_place_names(["lu-luxembourg", "lu-luxembourg-ville", "be-lux", "lu"], language) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", ["Limburg (België)", "Limburg (Nederland)"]),
    ("fr", ["Limbourg (Belgique)", "Limbourg (Pays-Bas)"]),
    ("de", ["Limburg (Belgien)", "Limburg (Niederlande)"]),
    ("en", ["Limburg (Belgium)", "Limburg (Netherlands)"]),
    ("lb", ["Limburg (Belsch)", "Limburg (Holland)"]),
])
def test_namesakes_of_the_same_kind_get_their_country_in_words(language, expected):
    assert distinct_place_names(["be-lim", "nl-li"], language) == expected


@pytest.mark.parametrize(("codes", "expected"), [
    (["be-ant", "be-antwerpen"], ["province d'Anvers", "ville d'Anvers"]),
    (["lu-esch", "lu-esch-sur-alzette"], ["canton d'Esch-sur-Alzette", "ville d'Esch-sur-Alzette"]),
    (["nl-ut", "nl-utrecht"], ["province d'Utrecht", "ville d'Utrecht"]),
    (["nl-gr", "nl-groningen"], ["province de Groningue", "ville de Groningue"]),
    (["be-nam", "be-namur"], ["province de Namur", "ville de Namur"]),
])
def test_french_elides_de_before_a_vowel(codes, expected):
    assert distinct_place_names(codes, "fr") == expected


def test_an_h_is_aspirated_in_french():
    assert with_kind("be-huy", "fr") == "ville de Huy"
    assert with_kind("be-hai", "fr") == "province de Hainaut"


def test_places_without_a_namesake_in_the_list_stay_bare_and_each_place_is_listed_once():
    assert distinct_place_names(["be-lim", "be-lie"], "nl") == ["Limburg", "Luik"]
    assert distinct_place_names(["be-lie", "be-lie", "nl-li"], "de") == ["Lüttich", "Limburg"]
    assert distinct_place_names([], "en") == []


def test_a_namesake_of_both_another_kind_and_another_country_gets_both(monkeypatch):
    monkeypatch.setitem(PLACES, "nl-limburg", Place("nl-limburg", "city", "NL", {
        "nl": "Limburg", "fr": "Limbourg", "de": "Limburg", "en": "Limburg"}))
    assert distinct_place_names(["be-lim", "nl-li", "nl-limburg"], "nl") == [
        "provincie Limburg (België)", "provincie Limburg (Nederland)", "stad Limburg"]


def test_kind_words_name_every_kind_in_every_language():
    assert set(KIND_WORDS) == set(LANGUAGES)
    for language, words in KIND_WORDS.items():
        assert set(words) == set(KINDS), language
        assert all(pattern.count("{name}") == 1 for pattern in words.values()), language
        assert words["country"] == "{name}"


def test_the_words_always_suffice_no_two_places_share_name_kind_and_country():
    for language in LANGUAGES:
        seen: dict[tuple[str, str, str], str] = {}
        for code, place in PLACES.items():
            key = (place_name(code, language), place.kind, place.country)
            assert key not in seen, f"{code} and {seen[key]} are both {key} in {language}"
            seen[key] = code
        assert len(set(distinct_place_names(list(PLACES), language))) == len(PLACES), language


# --- A place standing alone (a CAP <areaDesc>) -----------------------------------------------------------------


@pytest.mark.parametrize(("code", "nl", "fr", "de", "en"), [
    ("be-lie", "Provincie Luik (België)", "Province de Liège (Belgique)", "Provinz Lüttich (Belgien)",
     "Province of Liège (Belgium)"),
    ("be-liege", "Stad Luik (België)", "Ville de Liège (Belgique)", "Stadt Lüttich (Belgien)",
     "City of Liège (Belgium)"),
    ("nl-li", "Limburg (Nederland)", "Limbourg (Pays-Bas)", "Limburg (Niederlande)", "Limburg (Netherlands)"),
    ("lu-luxembourg", "Kanton Luxemburg", "Canton de Luxembourg", "Kanton Luxemburg", "Canton of Luxembourg"),
    ("lu-luxembourg-ville", "Stad Luxemburg", "Ville de Luxembourg", "Stadt Luxemburg", "City of Luxembourg"),
    ("be-lux", "Provincie Luxemburg (België)", "Province de Luxembourg (Belgique)", "Provinz Luxemburg (Belgien)",
     "Province of Luxembourg (Belgium)"),
    ("lu", "Luxemburg", "Luxembourg", "Luxemburg", "Luxembourg"),
    ("de-nw-kreis-wesel", "Kreis Wesel (Duitsland)", "Arrondissement de Wesel (Allemagne)",
     "Kreis Wesel (Deutschland)", "District of Wesel (Germany)"),
    ("lu-esch", "Kanton Esch-sur-Alzette (Luxemburg)", "Canton d'Esch-sur-Alzette (Luxembourg)",
     "Kanton Esch an der Alzette (Luxemburg)", "Canton of Esch-sur-Alzette (Luxembourg)"),
])
def test_a_place_standing_alone_can_mean_no_other(code, nl, fr, de, en):
    assert [area_description(code, language) for language in ("nl", "fr", "de", "en")] == [nl, fr, de, en]


def test_a_place_standing_alone_in_luxembourgish():
    assert area_description("lu-esch-sur-alzette", "lb") == "Stad Esch-Uelzecht (Lëtzebuerg)"
    assert area_description("lu-luxembourg-ville", "lb") == "Stad Lëtzebuerg"
    assert area_description("be-ostbelgien", "lb") == "Ostbelgien (Belsch)"


def test_every_place_standing_alone_is_unique_in_every_language():
    for language in LANGUAGES:
        labels = [area_description(code, language) for code in PLACES]
        assert len(set(labels)) == len(labels), language
        assert all(label[0].isupper() for label in labels), language


# --- Names as a native official writes them today -----------------------------------------------------------


@pytest.mark.parametrize(("code", "de"), [
    ("be-nam", "Namur"), ("be-namur", "Namur"), ("be-mons", "Mons"), ("be-mechelen", "Mechelen"),
    ("be-arlon", "Arlon"), ("nl-arnhem", "Arnhem"), ("be-liege", "Lüttich"), ("be-leuven", "Löwen"),
    ("nl-nijmegen", "Nimwegen"), ("de-nw-koeln", "Köln"),
])
def test_german_names_of_today(code, de):
    assert place_name(code, "de") == de


def test_dated_german_exonyms_are_gone():
    german = {place.names["de"] for place in PLACES.values()}
    assert not german & {"Namür", "Bergen", "Mecheln", "Arel", "Arnheim"}


@pytest.mark.parametrize(("code", "fr"), [
    ("de-nw-kreis-wesel", "arrondissement de Wesel"),
    ("de-nw-kreis-unna", "arrondissement d'Unna"),
    ("de-nw-staedteregion-aachen", "région urbaine d'Aix-la-Chapelle"),
    ("de-nw-rb-duesseldorf", "district de Düsseldorf"),
    ("de-nw-rb-arnsberg", "district d'Arnsberg"),
    ("be-bru", "Région de Bruxelles-Capitale"),  # the Region's own name, not a generic term
])
def test_french_generic_terms_are_lower_case_in_running_text(code, fr):
    assert place_name(code, "fr") == fr


def test_no_french_or_english_name_starts_with_a_capitalised_generic_term():
    generic = re.compile(r"^(Arrondissement|District|Région urbaine|Province|Canton|Ville|Commune) |"
                         r"^(District|City region|Government region|Province|Canton|City|Municipality) of ")
    for code, place in PLACES.items():
        for language in ("fr", "en"):
            assert not generic.match(place.names[language]), (code, language, place.names[language])


@pytest.mark.parametrize(("code", "en"), [
    ("de-nw-kreis-kleve", "district of Kleve"),
    ("de-nw-rb-koeln", "government region of Cologne"),
    ("de-nw-staedteregion-aachen", "city region of Aachen"),
])
def test_english_generic_terms_follow_the_kind_words(code, en):
    assert place_name(code, "en") == en


# --- The added places ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind", "country", "nl", "fr", "de", "en"), [
    ("be-huy", "city", "BE", "Hoei", "Huy", "Huy", "Huy"),
    ("be-beveren-kruibeke-zwijndrecht", "municipality", "BE", "Beveren-Kruibeke-Zwijndrecht",
     "Beveren-Kruibeke-Zwijndrecht", "Beveren-Kruibeke-Zwijndrecht", "Beveren-Kruibeke-Zwijndrecht"),
    ("nl-borssele", "municipality", "NL", "Borssele", "Borssele", "Borssele", "Borssele"),
    ("be-ostbelgien", "region", "BE", "Duitstalige Gemeenschap", "Communauté germanophone", "Ostbelgien",
     "German-speaking Community"),
])
def test_added_places(code, kind, country, nl, fr, de, en):
    place = PLACES[code]
    assert (place.kind, place.country) == (kind, country)
    assert [place_name(code, language) for language in ("nl", "fr", "de", "en")] == [nl, fr, de, en]


def test_added_places_in_a_warning():
    assert distinct_place_names(["be-huy", "nl-borssele", "be-ostbelgien"], "de") == [
        "Huy", "Borssele", "Ostbelgien"]
    assert with_kind("nl-borssele", "nl") == "gemeente Borssele"
    assert with_kind("be-beveren-kruibeke-zwijndrecht", "fr") == "commune de Beveren-Kruibeke-Zwijndrecht"


# --- Luxembourgish ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "lb"), [
    ("lu", "Lëtzebuerg"), ("lu-luxembourg", "Lëtzebuerg"), ("lu-luxembourg-ville", "Lëtzebuerg"),
    ("be-lux", "Lëtzebuerg"), ("lu-esch", "Esch-Uelzecht"), ("lu-esch-sur-alzette", "Esch-Uelzecht"),
    ("lu-diekirch", "Dikrech"), ("lu-echternach", "Iechternach"), ("lu-remich", "Réimech"), ("lu-wiltz", "Wolz"),
    ("lu-grevenmacher", "Gréiwemaacher"), ("lu-clervaux", "Klierf"), ("lu-mersch", "Miersch"),
    ("lu-vianden", "Veianen"), ("lu-capellen", "Capellen"), ("lu-redange", "Réiden"),
    ("lu-differdange", "Déifferdeng"), ("lu-dudelange", "Diddeleng"), ("lu-ettelbruck", "Ettelbréck"),
    ("be-arlon", "Arel"), ("be-brussel", "Bréissel"), ("de-nw-aachen", "Oochen"), ("be", "Belsch"),
    ("nl", "Holland"), ("de", "Däitschland"),
])
def test_luxembourgish_names(code, lb):
    assert place_name(code, "lb") == lb


@pytest.mark.parametrize(("code", "german"), [
    ("be-lie", "Lüttich"), ("de-nw-koeln", "Köln"), ("nl-nijmegen", "Nimwegen"), ("be-ostbelgien", "Ostbelgien"),
    ("be-huy", "Huy"),
])
def test_luxembourgish_falls_back_to_the_german_name(code, german):
    assert "lb" not in PLACES[code].names
    assert place_name(code, "lb") == german


# --- Belgium's arrondissements ---------------------------------------------------------------------------------


def test_every_belgian_arrondissement_is_a_place_but_verviers_is_two_and_brussels_is_the_region():
    arrondissements = [code for code, place in PLACES.items() if place.kind == "arrondissement"]
    assert len(arrondissements) == 42  # 43, less Brussels-Capital (be-bru); Verviers's German part is be-ostbelgien
    assert all(code.startswith("be-arr-") and PLACES[code].country == "BE" for code in arrondissements)


@pytest.mark.parametrize(("code", "nl", "fr", "de", "en"), [
    ("be-arr-hasselt", "Arrondissement Hasselt (België)", "Arrondissement de Hasselt (Belgique)",
     "Arrondissement Hasselt (Belgien)", "Arrondissement of Hasselt (Belgium)"),  # the city is Hasselt too
    ("be-arr-liege", "Arrondissement Luik (België)", "Arrondissement de Liège (Belgique)",
     "Arrondissement Lüttich (Belgien)", "Arrondissement of Liège (Belgium)"),
    ("be-arr-ath", "Aat (België)", "Ath (Belgique)", "Ath (Belgien)", "Ath (Belgium)"),  # no namesake: bare
])
def test_an_arrondissement_standing_alone_is_told_from_its_seat(code, nl, fr, de, en):
    assert [area_description(code, language) for language in ("nl", "fr", "de", "en")] == [nl, fr, de, en]


def test_arrondissements_in_a_warning():
    assert distinct_place_names(["be-arr-ath", "be-arr-arlon", "be-arlon"], "fr") == [
        "Ath", "arrondissement d'Arlon", "ville d'Arlon"]
    assert distinct_place_names(["be-arr-arlon", "be-arlon"], "lb") == ["Arrondissement Arel", "Stad Arel"]
    assert with_kind("be-arr-bastogne", "lb") == "Arrondissement Baaschtnech"
    assert with_kind("be-arr-mons", "nl") == "arrondissement Bergen"


def test_a_picked_place_is_labelled_uniquely_for_the_compose_page():
    for language in LANGUAGES:
        labels = [area_label(code, language) for code in PLACES]
        assert len(set(labels)) == len(labels), language
    assert area_label("be-lim", "nl") == "Limburg (BE)" and area_label("nl-li", "nl") == "Limburg (NL)"
    assert [area_label(code, "nl") for code in ("be-lie", "be-arr-liege", "be-liege")] == [
        "Provincie Luik (BE)", "Arrondissement Luik (BE)", "Stad Luik (BE)"]
    assert area_label("be-arr-ath", "fr") == "Ath (BE)" and area_label("be", "fr") == "Belgique"
