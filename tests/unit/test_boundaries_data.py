"""The shipped boundaries (data/boundaries.geojson, data/BOUNDARIES.md): valid, complete for the network, in the
right places (districts in their region), tied to the gazetteer; and the pure parts of geo/build_boundaries.py.
The rebuild itself (`geo/build_boundaries.py --check`) needs npm and is not run here."""
from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from alerts.gazetteer import PLACES

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data" / "boundaries.geojson"


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_boundaries", ROOT / "geo" / "build_boundaries.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_script()


@cache
def features() -> dict[str, dict]:
    return {f["properties"]["code"]: f for f in json.loads(SHIPPED.read_text(encoding="utf-8"))["features"]}


@cache
def geometry(code: str):
    return shape(features()[code]["geometry"])


def containing(lat: float, lon: float) -> set[str]:
    point = Point(lon, lat)
    return {code for code in features() if geometry(code).contains(point)}


def test_every_geometry_is_a_valid_polygon_or_multipolygon():
    bad = {code: shapely.is_valid_reason(geometry(code)) for code in features()
           if not geometry(code).is_valid or geometry(code).geom_type not in ("Polygon", "MultiPolygon")}
    assert not bad


def test_codes_are_unique_and_the_network_is_there():
    codes = [f["properties"]["code"] for f in json.loads(SHIPPED.read_text(encoding="utf-8"))["features"]]
    assert len(codes) == len(set(codes))
    assert {"BE", "NL", "LU", "DE", "FR", "DE-NW", "BE-BRU"} <= set(codes)
    by_level = {level: {c for c, f in features().items() if f["properties"]["level"] == level}
                for level in ("country", "region")}
    assert by_level["country"] >= {"AT", "CH", "CZ", "DK", "GB", "IS", "LI", "NO", "PL", "IE", "IT", "ES", "PT", "SE"}
    regions = {country: len([c for c in by_level["region"] if features()[c]["properties"]["country"] == country])
               for country in ("BE", "NL", "LU", "DE")}
    assert regions == {"BE": 11, "NL": 12, "LU": 3, "DE": 16}


@pytest.mark.parametrize("where,lat,lon,inside,outside", [
    ("Brussels", 50.85, 4.35, {"BE", "BE-BRU"}, {"BE-VBR"}),
    ("Aachen", 50.776, 6.084, {"DE", "DE-NW"}, {"BE", "NL"}),
    ("Maastricht", 50.851, 5.69, {"NL", "NL-LI"}, {"BE", "BE-VLI"}),
    ("Liège", 50.63, 5.57, {"BE", "BE-WLG"}, {"NL"}),
    ("Luxembourg city", 49.61, 6.13, {"LU"}, {"BE", "DE", "FR"}),
    ("Münster", 51.96, 7.63, {"DE", "DE-NW"}, {"NL"}),
    ("Hamburg", 53.55, 9.99, {"DE"}, {"DE-NW"}),
    ("Lille", 50.63, 3.06, {"FR"}, {"BE"}),
])
def test_a_point_is_in_its_country_and_region(where, lat, lon, inside, outside):
    found = containing(lat, lon)
    assert inside <= found, where
    assert not outside & found, where


def test_the_province_of_liege_is_the_gazetteers_be_lie():
    (code,) = {c for c in containing(50.63, 5.57) if features()[c]["properties"]["level"] == "region"}
    assert features()[code]["properties"]["place"] == "be-lie"


def test_every_place_is_a_gazetteer_place_of_the_same_country():
    places = {f["properties"]["place"]: f["properties"]["country"] for f in features().values()
              if f["properties"]["place"]}
    assert len(places) == len([f for f in features().values() if f["properties"]["place"]])  # no place twice
    assert {place: PLACES[place].country if place in PLACES else None for place in places} == places


def test_every_gazetteer_country_and_province_has_its_boundary():
    wanted = {code for code, place in PLACES.items() if place.kind in ("country", "province")} | {"be-bru", "de-nw"}
    shipped = {f["properties"]["place"] for f in features().values()}
    assert wanted - shipped == set()


def test_regions_have_their_names_in_every_language():
    for code, f in features().items():
        if f["properties"]["level"] == "region":
            names = f["properties"]["names"]
            assert set(names) == {"nl", "fr", "de", "en"} and all(names.values()), code
            assert names["en"] == f["properties"]["name"]
    assert features()["BE-VAN"]["properties"]["names"] == {"nl": "Antwerpen", "fr": "Anvers", "de": "Antwerpen",
                                                           "en": "Antwerp"}


def test_regions_lie_within_their_country():
    for code, f in features().items():
        if f["properties"]["level"] == "region":
            region, country = geometry(code), geometry(f["properties"]["country"])
            assert region.difference(country).area < 0.01 * region.area, code


def of_level(level: str) -> dict[str, dict]:
    return {code: f["properties"] for code, f in features().items() if f["properties"]["level"] == level}


def test_the_districts_are_nrws_kreise_and_belgiums_arrondissements():
    assert {f["properties"]["level"] for f in features().values()} == {"country", "region", "subregion", "district",
                                                                       "municipality"}
    districts = of_level("district")
    by_country = {country: {c for c, p in districts.items() if p["country"] == country} for country in ("BE", "DE")}
    assert {country: len(codes) for country, codes in by_country.items()} == {"BE": 44, "DE": 53}
    assert len(districts) == 97
    for code in by_country["DE"]:  # NUTS 3 of Nordrhein-Westfalen (DEA) and the Land as their region
        assert re.fullmatch(r"DEA[1-5][0-9A-F]", code) and districts[code]["region"] == "DE-NW", code
    regions = of_level("region")
    for code in by_country["BE"]:
        assert re.fullmatch(r"BE[1-3][0-5][0-9A-D]", code), code
        assert regions[districts[code]["region"]]["country"] == "BE", code
    assert {"BE335", "BE336", "BE332", "BE100", "DEA2D", "DEA23"} <= set(districts)  # Verviers is two NUTS units
    assert of_level("municipality") == {"05334002": features()["05334002"]["properties"]}
    assert features()["05334002"]["properties"]["place"] == "de-nw-aachen"


def test_districts_have_their_names_in_every_language():
    for code, p in {**of_level("district"), **of_level("municipality")}.items():
        assert set(p["names"]) == {"nl", "fr", "de", "en"} and all(p["names"].values()) and p["name"], code
    names = {code: features()[code]["properties"]["names"] for code in ("DEA23", "DEA34", "BE332", "BE100", "BE336")}
    assert names["DEA23"] == {"nl": "Keulen", "fr": "Cologne", "de": "Köln", "en": "Cologne"}
    assert names["DEA34"] == {"nl": "Borken", "fr": "Borken", "de": "Borken", "en": "Borken"}
    assert names["BE332"] == {"nl": "Luik", "fr": "Liège", "de": "Lüttich", "en": "Liège"}
    assert names["BE100"]["nl"] == "Brussel-Hoofdstad" and names["BE100"]["fr"] == "Bruxelles-Capitale"
    assert names["BE336"] == PLACES["be-ostbelgien"].names
    assert features()["05334002"]["properties"]["names"]["fr"] == "Aix-la-Chapelle"


def test_nrws_districts_have_their_population():
    districts = of_level("district")
    german = [p["population"] for p in districts.values() if p["country"] == "DE"]
    assert all(isinstance(people, int) and people > 30_000 for people in german)
    assert sum(german) == pytest.approx(17_900_000, abs=100_000)  # NRW on 31 Dec 2018: 17,932,651
    assert features()["DEA23"]["properties"]["population"] > 1_000_000  # Köln
    assert all("population" not in p for p in districts.values() if p["country"] == "BE")  # none packaged


def test_every_nrw_kreis_and_city_of_the_gazetteer_has_exactly_one_feature():
    wanted = {code for code, place in PLACES.items()
              if code.startswith("de-nw-") and place.kind in ("district", "city")}
    assert len(wanted) == 54  # 31 Kreise (with the Städteregion Aachen), 23 cities (with Aachen)
    shipped = [f["properties"]["place"] for f in features().values()
               if (f["properties"]["place"] or "").startswith("de-nw-") and f["properties"]["level"] != "subregion"]
    assert sorted(shipped) == sorted(wanted)  # each exactly once
    german = [p for p in of_level("district").values() if p["country"] == "DE"]
    assert all(PLACES[p["place"]].kind in ("district", "city") for p in german)
    kinds = {p["type"]: {PLACES[x["place"]].kind for x in german if x["type"] == p["type"]} for p in german}
    assert kinds == {"Kreis": {"district"}, "Kreisfreie Stadt": {"city"}}
    assert features()["DEA2D"]["properties"]["place"] == "de-nw-staedteregion-aachen"


def test_nrws_regierungsbezirke_are_the_unions_of_their_districts():
    subregions = of_level("subregion")
    assert sorted(subregions) == ["DEA1", "DEA2", "DEA3", "DEA4", "DEA5"]
    assert {p["place"] for p in subregions.values()} == {code for code in PLACES if code.startswith("de-nw-rb-")}
    districts = of_level("district")
    for code, p in subregions.items():
        own = [d for d in districts if d.startswith(code)]
        union = shapely.union_all([geometry(d) for d in own])
        assert geometry(code).symmetric_difference(union).area < 1e-6 * union.area, code
        assert p["population"] == sum(districts[d]["population"] for d in own) and p["region"] == "DE-NW"
    assert subregions["DEA2"]["names"] == {"nl": "Keulen", "fr": "Cologne", "de": "Köln", "en": "Cologne"}
    assert sum(p["population"] for p in subregions.values()) == 17_932_651


def test_every_belgian_arrondissement_of_the_gazetteer_has_exactly_one_feature():
    wanted = {code for code, place in PLACES.items() if place.kind == "arrondissement"}
    belgian = {code: p for code, p in of_level("district").items() if p["country"] == "BE"}
    assert sorted(p["place"] for p in belgian.values() if p["place"] and p["place"] in wanted) == sorted(wanted)
    assert {code: p["place"] for code, p in belgian.items() if p["place"] not in wanted} == {
        "BE100": None, "BE336": "be-ostbelgien"}  # Brussels-Capital is the region be-bru
    assert belgian["BE242"]["place"] == "be-arr-leuven" and belgian["BE328"]["place"] == "be-arr-tournai-mouscron"
    assert build.arrondissement_place("BE332") == "be-arr-liege" and build.arrondissement_place("BE100") is None


@pytest.mark.parametrize("where,lat,lon,district,extra", [
    ("Maaseik", 51.098, 5.787, "BE225", set()),
    ("Köln cathedral", 50.9413, 6.9583, "DEA23", set()),
    ("Aachen cathedral", 50.7747, 6.0839, "DEA2D", {"05334002"}),  # the city is in the Städteregion
    ("Eupen", 50.628, 6.036, "BE336", set()),
    ("Grand-Place, Brussels", 50.8467, 4.3525, "BE100", set()),
    ("Liège", 50.6326, 5.5797, "BE332", set()),
    ("Tournai", 50.6056, 3.3878, "BE328", set()),
    ("Münster", 51.96, 7.63, "DEA33", set()),
    ("Borken", 51.8436, 6.8581, "DEA34", set()),
    ("Bonn", 50.7374, 7.0982, "DEA22", set()),
])
def test_a_point_is_in_its_district(where, lat, lon, district, extra):
    found = {code for code in containing(lat, lon) if features()[code]["properties"]["level"] in ("district",
                                                                                                   "municipality")}
    assert found == {district} | extra, where


def test_districts_lie_within_their_region_and_do_not_overlap():
    """Natural Earth's regions are drawn at 1:10 million, the districts at 1:250,000 (BKG) or 1:3 million (GISCO);
    each district is cut to its region's outline in the file's 1 m grid (data/BOUNDARIES.md): what the grid leaves
    outside is less than alerts.geo.MIN_SHARED_SHARE of it."""
    units = {**of_level("district"), **of_level("municipality")}
    for code, p in units.items():
        district, region = geometry(code), geometry(p["region"])
        assert district.representative_point().within(region), code
        assert district.difference(region).area < 1e-4 * district.area, code
    for country in ("BE", "DE"):
        codes = sorted(code for code, p in of_level("district").items() if p["country"] == country)
        tree = shapely.STRtree([geometry(code) for code in codes])
        for code in codes:
            for other in tree.query(geometry(code)):
                if codes[other] != code:
                    assert geometry(code).intersection(geometry(codes[other])).area < 1e-7, (code, codes[other])
    nrw = shapely.union_all([geometry(code) for code, p in of_level("district").items() if p["country"] == "DE"])
    assert nrw.symmetric_difference(geometry("DE-NW")).area < 0.03 * geometry("DE-NW").area


def test_only_europe_is_shipped_and_the_file_stays_small():
    for code in features():
        west, south, east, north = geometry(code).bounds
        assert west >= -32 and east <= 45 and south >= 27 and north <= 82, code
    assert SHIPPED.stat().st_size < build.MAX_BYTES


def test_the_shipped_file_is_in_the_builds_canonical_form():
    """Coordinates with at most 5 decimals, features sorted, keys sorted: writing it again gives the same bytes."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert build.to_json(list(reversed(json.loads(text)["features"]))) == text


def test_rounded_keeps_five_decimals_and_no_negative_zero():
    assert build.rounded([[1.234564, -0.000001], (2.0, 3.1234567)]) == [[1.23456, 0.0], [2.0, 3.12346]]
    assert str(build.rounded(-0.000001)) == "0.0"


def test_clean_makes_a_bow_tie_valid_and_snaps_to_the_grid():
    bow_tie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    assert not bow_tie.is_valid
    cleaned = build.clean(bow_tie)
    assert cleaned.is_valid and cleaned.geom_type == "MultiPolygon"
    assert cleaned.area == pytest.approx(0.5)
    fine = build.clean(Polygon([(0.1234567, 0), (1, 0), (1, 1.0000049), (0, 1)]))
    assert {round(x, 5) == x for xy in fine.exterior.coords for x in xy} == {True}
    assert shapely.is_ccw(fine.exterior)


def test_clean_simplifies_only_when_asked():
    wiggly = Polygon([(x / 100, 0.0001 * (x % 2)) for x in range(101)] + [(1, 1), (0, 1)])
    assert len(build.clean(wiggly).exterior.coords) > 100
    assert len(build.clean(wiggly, 0.001).exterior.coords) < 10


def test_european_part_drops_overseas_parts_whole():
    mainland = Polygon([(2, 46), (3, 46), (3, 47), (2, 47)])
    guiana = Polygon([(-53, 4), (-52, 4), (-52, 5), (-53, 5)])
    straddling = Polygon([(43, 50), (46, 50), (46, 51), (43, 51)])  # its representative point is in Europe
    kept = build.european_part(MultiPolygon([mainland, guiana, straddling]))
    assert kept.equals(MultiPolygon([mainland, straddling]))
    assert build.european_part(guiana).is_empty


def test_gazetteer_slugs_of_kreise_and_cities():
    assert build.slug("Mülheim an der Ruhr") == "muelheim-an-der-ruhr"
    assert build.slug("Städteregion Aachen") == "staedteregion-aachen"
    assert build.slug("Neufchâteau") == "neufchateau"
    assert build.kreis_place("Borken", "Kreis") == "de-nw-kreis-borken"
    assert build.kreis_place("Rhein-Sieg-Kreis", "Kreis") == "de-nw-rhein-sieg-kreis"
    assert build.kreis_place("Hochsauerlandkreis", "Kreis") == "de-nw-hochsauerlandkreis"
    assert build.kreis_place("Städteregion Aachen", "Kreis") == "de-nw-staedteregion-aachen"
    assert build.kreis_place("Köln", "Kreisfreie Stadt") == "de-nw-koeln"


def test_to_json_is_the_same_for_any_order_of_features():
    def f(level, code):
        return {"type": "Feature", "id": code, "properties": {"level": level, "code": code, "place": None},
                "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}}
    features_ = [f("district", "BE100"), f("region", "BE-VLI"), f("municipality", "05334002"), f("country", "NL"),
                 f("district", "DEA23"), f("region", "BE-BRU"), f("country", "BE")]
    text = build.to_json(features_)
    assert text == build.to_json(list(reversed(features_)))
    assert [x["id"] for x in json.loads(text)["features"]] == ["BE", "NL", "BE-BRU", "BE-VLI", "BE100", "DEA23",
                                                               "05334002"]
    assert '{"geometry":{"coordinates":[1.0,2.0],"type":"Point"},"id":"BE","properties"' in text
