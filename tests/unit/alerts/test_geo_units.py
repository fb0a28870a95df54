"""The units centres warn by (data/boundaries.geojson: BE arrondissements, NRW Kreise and cities, the city of Aachen)
in the domain: a place picked from the gazetteer has its outline, covers the places it lies in and holds, and a
national part names them by their codes (alerts/geo.py). Outlines drawn at other scales than Natural Earth's never
make a unit cover its neighbour."""
from __future__ import annotations

import pytest
from shapely.ops import unary_union
from sqlalchemy import select

from alerts import geo, jurisdictions
from alerts.audience import reach_of, stage_reached
from alerts.cap import validate_cap
from alerts.models import Centre, Subscriber
from alerts.subscribers import subscriber_filter
from devtools.samples import flood_content, sample_cap
from devtools.world import add_subscribers
from tests.unit.alerts.test_geo import NETWORK

EUPEN = "50.62,6.02 50.64,6.02 50.64,6.05 50.62,6.05 50.62,6.02"  # the German-speaking Community, 7 km from Aachen
KLEVE, AACHEN, LIEGE, EUPEN_POINT = (51.788, 6.138), (50.7747, 6.0839), (50.6326, 5.5797), (50.628, 6.036)


def picked(place: str) -> dict:
    return {"areas": [{"description": place, "place": place, "polygons": [], "geocodes": []}]}


def codes(content: dict, centre: str) -> list[tuple[str, str]]:
    (area,) = geo.national_part(content, centre)["areas"]
    return [(g["name"], g["value"]) for g in area["geocodes"]]


@pytest.mark.parametrize("place,covered", [
    # its arrondissements, not Luxembourg province, not the Städteregion next door
    ("be-lie", {"be", "be-lie", "be-arr-huy", "be-arr-liege", "be-arr-waremme", "be-arr-verviers-francophone",
                "be-ostbelgien"}),
    ("be-arr-hasselt", {"be", "be-lim", "be-arr-hasselt"}),
    ("be-arr-arlon", {"be", "be-lux", "be-arr-arlon"}),  # GISCO's Arlon reaches 62 km² into NE's Luxembourg
    ("be-ostbelgien", {"be", "be-lie", "be-ostbelgien"}),  # GISCO's outline reaches 112 km² into NE's Germany
    ("de-nw-aachen", {"de", "de-nw", "de-nw-rb-koeln", "de-nw-staedteregion-aachen", "de-nw-aachen"}),
    # BKG's outline reaches 29 km² into NE's NL
    ("de-nw-kreis-kleve", {"de", "de-nw", "de-nw-rb-duesseldorf", "de-nw-kreis-kleve"}),
    ("de-nw-koeln", {"de", "de-nw", "de-nw-rb-koeln", "de-nw-koeln"}),
    ("de-nw-rb-detmold", {"de", "de-nw", "de-nw-rb-detmold", "de-nw-bielefeld", "de-nw-kreis-guetersloh",
                          "de-nw-kreis-herford", "de-nw-kreis-hoexter", "de-nw-kreis-lippe",
                          "de-nw-kreis-minden-luebbecke", "de-nw-kreis-paderborn"}),
])
def test_a_picked_unit_covers_what_it_lies_in_and_holds_and_no_neighbour(place, covered):
    assert geo.covered_places(geo.area_geometry(picked(place)["areas"])) == covered


def test_a_drawn_area_covers_the_units_it_reaches_into():
    assert geo.covered_places(geo.parse_polygon(EUPEN)) == {"be", "be-lie", "be-ostbelgien"}
    across = "50.76,5.95 50.79,5.95 50.79,6.10 50.76,6.10 50.76,5.95"  # Vaals (NL) to the centre of Aachen
    assert {"de-nw-aachen", "de-nw-staedteregion-aachen", "de-nw-rb-koeln", "de-nw", "de", "nl",
            "nl-li"} == geo.covered_places(
        geo.parse_polygon(across))


def test_a_drawn_area_smaller_than_the_slivers_rule_still_lies_somewhere():
    yard = "50.85100,5.69100 50.85106,5.69100 50.85106,5.69108 50.85100,5.69108 50.85100,5.69100"  # Maastricht, 37 m²
    geometry = geo.parse_polygon(yard)
    assert geo.metres(geometry).area < geo.MIN_SHARED_M2
    assert geo.covered_places(geometry) == {"nl", "nl-li"}
    found = jurisdictions.of_geometry(geometry, NETWORK, {"NL"})
    assert [row["code"] for row in found["countries"]] == ["NL"]
    assert {row["centre"]: row["touched"] for row in found["centres"]}["NL"] is True
    content = {"areas": [{"description": "Yard", "place": None, "polygons": [yard], "geocodes": []}]}
    assert codes(content, "NL") == [("ISO3166-2", "NL-LI")]


def test_a_picked_kreis_is_in_germany_only_and_its_neighbours_are_within_the_band():
    found = jurisdictions.of_geometry(geo.area_geometry(picked("de-nw-kreis-kleve")["areas"]), NETWORK, {"DE-NW"})
    assert [(row["code"], row["share"]) for row in found["countries"]] == [("DE", 1.0)]
    by_centre = {row["centre"]: row for row in found["centres"]}
    assert by_centre["DE-NW"]["touched"] and by_centre["DE-NW"]["share"] == 1.0
    assert not by_centre["NL"]["touched"] and by_centre["NL"]["within_band"]  # Kleve lies on the Dutch border


def test_national_parts_name_the_units_of_a_picked_place():
    assert codes(picked("be-lie"), "BE") == [("ISO3166-2", "BE-WLG"), ("NUTS3", "BE331"), ("NUTS3", "BE332"),
                                             ("NUTS3", "BE334"), ("NUTS3", "BE335"), ("NUTS3", "BE336")]
    assert codes(picked("be-ostbelgien"), "BE") == [("ISO3166-2", "BE-WLG"), ("NUTS3", "BE336")]
    assert codes(picked("be-arr-tournai-mouscron"), "BE") == [("ISO3166-2", "BE-WHT"), ("NUTS3", "BE328")]
    assert codes(picked("de-nw-kreis-kleve"), "DE-NW") == [("ISO3166-2", "DE-NW"), ("NUTS2", "DEA1"),
                                                           ("NUTS3", "DEA1B")]
    assert codes(picked("de-nw-aachen"), "DE-NW") == [("ISO3166-2", "DE-NW"), ("NUTS2", "DEA2"), ("NUTS3", "DEA2D"),
                                                      ("AGS", "05334002")]
    nrw = codes(picked("de-nw"), "DE-NW")
    assert [len([c for c in nrw if c[0] == name]) for name in ("ISO3166-2", "NUTS2", "NUTS3", "AGS")] == [1, 5, 53, 1]
    assert ("ISO3166-2", "DE-NW") == nrw[0]
    assert geo.national_part(picked("de-nw-kreis-kleve"), "NL")["areas"] == []  # not the Dutch system's


@pytest.mark.parametrize("place,centre", [("be-lim", "BE"), ("nl", "NL"), ("be-arr-hasselt", "BE"),
                                          ("de-nw-kreis-kleve", "DE-NW")])
def test_a_picked_place_reaches_its_national_system_as_its_outline_never_smaller(place, centre):
    (area,) = geo.national_part(picked(place), centre)["areas"]
    shapes = [geo.parse_polygon(text) for text in area["polygons"]]
    assert shapes and all(len(shape.exterior.coords) - 1 <= geo.MAX_VERTICES for shape in shapes)
    unit = geo.boundaries().by_place[place].geometry
    sent = unary_union(shapes)
    assert sent.buffer(1e-5).contains(unit)  # all of it (1e-5°: the 6 decimals' rounding, with room)
    assert geo.metres(sent).area < 1.2 * geo.metres(unit).area  # and not much more
    content = flood_content(participants=("BE", "NL"))
    content["areas"] = [{**area, "description": "Limburg"}]
    assert validate_cap(sample_cap(content)) == []


def test_a_drawn_area_names_the_districts_it_reaches_into():
    content = {"areas": [{"description": "Eupen", "place": None, "polygons": [EUPEN], "geocodes": []}]}
    assert codes(content, "BE") == [("ISO3166-2", "BE-WLG"), ("NUTS3", "BE336")]
    maaseik = "51.08,5.75 51.11,5.75 51.11,5.79 51.08,5.79 51.08,5.75"
    content = {"areas": [{"description": "Maaseik", "place": None, "polygons": [maaseik], "geocodes": []}]}
    assert codes(content, "BE") == [("ISO3166-2", "BE-VLI"), ("NUTS3", "BE225")]


def test_the_units_nest_in_their_region_and_share_no_area_with_another():
    known = geo.boundaries()
    nested = [unit for unit in known.units if unit.level in ("district", "municipality")]
    assert len(nested) == 98
    for unit in nested:
        area = known.in_metres(unit).area
        holders = [other.code for other in known.near(unit.geometry, "country", "region")
                   if known.shares_area(other, unit.geometry, area)]
        assert len(holders) == 2 and unit.country in holders, (unit.code, holders)
        if unit.country == "DE":  # and in one Regierungsbezirk, the one its NUTS 3 code begins with
            subregions = [other.code for other in known.near(unit.geometry, "subregion")
                          if known.shares_area(other, unit.geometry, area)]
            assert subregions == [unit.code[:4] if unit.level == "district" else "DEA2"], (unit.code, subregions)


def test_no_two_countries_share_area():
    """Natural Earth's admin-0 (France) and admin-1 (Belgium's provinces) outlines overlap by km² along borders;
    geo/build_boundaries.py leaves the regions' land out of the other countries."""
    known = geo.boundaries()
    countries = [unit for unit in known.units if unit.level == "country"]
    for unit in countries:
        area = known.in_metres(unit).area
        sharing = [other.code for other in known.near(unit.geometry, "country")
                   if other.code != unit.code and known.shares_area(other, unit.geometry, area)]
        assert sharing == [], (unit.code, sharing)
    hainaut = geo.area_geometry(picked("be-hai")["areas"])
    assert [row["code"] for row in jurisdictions.of_geometry(hainaut, NETWORK, {"BE"})["countries"]] == ["BE"]


def test_subscribers_of_a_picked_unit_and_of_the_units_it_lies_in_are_reached_and_no_neighbours(db):
    ostbelgien = add_subscribers(db, "BE", 2, place="be-ostbelgien")
    province = add_subscribers(db, "BE", 1, place="be-lie", start=10)
    located = add_subscribers(db, "BE", 1, place=None, location=EUPEN_POINT, start=20)
    add_subscribers(db, "BE", 1, place=None, location=LIEGE, start=30)  # the province, not the Community
    add_subscribers(db, "BE", 1, place="be-lux", start=40)
    add_subscribers(db, "BE", 1, place="de-nw-staedteregion-aachen", location=AACHEN, start=50)
    with db.transaction() as session:
        centre = session.scalar(select(Centre.id).where(Centre.code == "BE"))
        staged = stage_reached(session, reach_of(picked("be-ostbelgien")), [centre])
        reached = set(session.scalars(select(Subscriber.phone).where(subscriber_filter(centre, staged,
                                                                                        Subscriber.id > 0))))
    assert reached == set(ostbelgien + province + located)


def test_a_picked_kreis_reaches_the_subscribers_located_in_it(db):
    inside = add_subscribers(db, "DE-NW", 2, place=None, location=KLEVE)
    add_subscribers(db, "DE-NW", 2, place=None, location=AACHEN, start=10)
    with db.transaction() as session:
        centre = session.scalar(select(Centre.id).where(Centre.code == "DE-NW"))
        staged = stage_reached(session, reach_of(picked("de-nw-kreis-kleve")), [centre])
        reached = set(session.scalars(select(Subscriber.phone).where(subscriber_filter(centre, staged,
                                                                                        Subscriber.id > 0))))
    assert reached == set(inside)
