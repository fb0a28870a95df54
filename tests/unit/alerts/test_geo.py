"""Warning areas as geometry, on the shipped boundaries (data/boundaries.geojson): CAP polygons read strictly, the
polygon a national system gets (valid, at most 100 vertices, never smaller than drawn, 6 decimals, closed), the
part of an area in each country, and the countries and centres an area touches or lies within the border band of."""
from __future__ import annotations

import math

import pytest
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from alerts import geo, jurisdictions
from alerts.geo import NotAnArea, cap_polygon, enclosing, metres, national_part, parse_circle, parse_polygon
from alerts.models import Centre

# Around Maastricht: Belgian Limburg west and south of it, Dutch Limburg, the German border 20 km east
ACROSS_BE_NL = "50.80,5.60 50.90,5.60 50.90,5.75 50.80,5.75 50.80,5.60"
# Kerkrade and Herzogenrath: the Dutch-German border runs through the street
AT_VAALS = "50.84,6.02 50.87,6.02 50.87,6.05 50.84,6.05 50.84,6.02"
INSIDE_NL = "52.30,4.80 52.40,4.80 52.40,4.95 52.30,4.95 52.30,4.80"  # Amsterdam, far from any border


def ring(text: str) -> Polygon:
    return parse_polygon(text)


@pytest.mark.parametrize("text", [
    "50.8,5.6 50.9,5.6 50.8,5.6",  # three points
    "50.8,5.6 50.9,5.6 50.9,5.7 50.8,5.7",  # not closed
    "50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6",  # a bow tie crosses itself
    "95.0,5.6 50.9,5.6 50.9,5.7 95.0,5.6",  # latitude out of range
    "50.8;5.6 50.9,5.6 50.9,5.7 50.8;5.6",  # not lat,lon
    "40.70,-74.02 40.80,-74.02 40.80,-73.90 40.70,-74.02",  # New York: outside Europe
    "26.0,10.0 28.0,10.0 28.0,12.0 26.0,10.0",  # reaches into the Sahara, south of latitude 27
])
def test_a_polygon_that_is_not_an_area_is_refused(text):
    with pytest.raises(NotAnArea):
        parse_polygon(text)


def test_a_cap_polygon_has_six_decimals_and_its_first_point_last():
    text = cap_polygon(Polygon([(5.1234567891, 50.1), (5.2, 50.2), (5.3, 50.1)]))
    pairs = text.split()
    assert pairs[0] == pairs[-1] == "50.1,5.123457"
    assert all(len(value.partition(".")[2]) <= 6 for pair in pairs for value in pair.split(","))
    assert parse_polygon(text).is_valid


def test_a_circle_is_drawn_in_kilometres():
    circle = parse_circle("50.85,5.69 10")
    assert metres(circle).area == pytest.approx(math.pi * 10_000 ** 2, rel=0.01)
    for bad in ("50.85,5.69", "50.85,5.69 0", "50.85,5.69 -3", "50.85,5.69 ten"):
        with pytest.raises(NotAnArea):
            parse_circle(bad)


def test_a_detailed_polygon_is_cut_to_100_vertices_without_losing_any_of_it():
    jagged = Polygon([(5.7 + 0.1 * (1 + 0.05 * (i % 2)) * math.cos(2 * math.pi * i / 1000),
                       50.85 + 0.07 * (1 + 0.05 * (i % 2)) * math.sin(2 * math.pi * i / 1000)) for i in range(1000)])
    sent = parse_polygon(cap_polygon(enclosing(jagged)))  # as a national system reads it back
    assert len(sent.exterior.coords) - 1 <= 100 and sent.is_valid
    assert sent.contains(jagged)
    assert metres(sent).area < metres(jagged).area * 1.1  # enclosing, not a box around it
    small = ring(INSIDE_NL)
    assert enclosing(small) is small


def test_the_boundaries_tell_countries_and_north_rhine_westphalia_apart():
    known = geo.boundaries()
    aachen = Point(6.084, 50.776)
    assert known.by_code["DE"].geometry.contains(aachen) and known.by_code["DE-NW"].geometry.contains(aachen)
    assert not known.by_code["BE"].geometry.contains(aachen)
    assert known.by_place["be-lim"].code.startswith("BE-") and known.by_place["de-nw"].code == "DE-NW"


def centres(*codes: str) -> list[Centre]:
    return [Centre(code=code, names={"en": code}, timezone="Europe/Brussels", languages=["en"]) for code in codes]


NETWORK = centres("BE", "NL", "LU", "DE-NW", "DE", "FR", "AT")


def test_an_area_across_the_border_touches_both_countries_with_their_shares():
    found = jurisdictions.of_geometry(ring(ACROSS_BE_NL), NETWORK, {"NL"})
    shares = {row["code"]: row["share"] for row in found["countries"]}
    assert set(shares) == {"BE", "NL"} and sum(shares.values()) == pytest.approx(1.0, abs=0.01)
    assert 0.2 < shares["BE"] < 0.8
    by_centre = {row["centre"]: row for row in found["centres"]}
    assert by_centre["BE"]["touched"] and not by_centre["BE"]["taking_part"]
    assert by_centre["NL"]["touched"] and by_centre["NL"]["taking_part"]
    assert "DE-NW" not in by_centre and "LU" not in by_centre and "AT" not in by_centre  # 20 km and more away


def test_an_area_at_the_border_names_the_neighbours_within_the_band():
    found = jurisdictions.of_geometry(ring(AT_VAALS).buffer(-0.004), NETWORK, {"NL"}, band_km=5)
    by_centre = {row["centre"]: row for row in found["centres"]}
    touched = {code for code, row in by_centre.items() if row["touched"]}
    assert "NL" in touched
    for neighbour in ("DE-NW", "DE"):
        assert neighbour in by_centre, by_centre
        assert by_centre[neighbour]["touched"] or by_centre[neighbour]["distance_km"] <= 5
    far = jurisdictions.of_geometry(ring(INSIDE_NL), NETWORK, {"NL"}, band_km=5)
    assert [row["centre"] for row in far["centres"]] == ["NL"]


def test_each_national_system_gets_its_own_part_and_partners_the_whole():
    content = {"areas": [{"description": "Maasvallei", "place": None, "polygons": [ACROSS_BE_NL], "geocodes": []},
                         {"description": "Limburg", "place": "nl-li", "polygons": [], "geocodes": []}]}
    known = geo.boundaries()
    drawn = ring(ACROSS_BE_NL)
    for country in ("BE", "NL"):
        part = national_part(content, country)
        polygons = [parse_polygon(text) for area in part["areas"] for text in area["polygons"]]
        assert polygons, country
        land = metres(known.by_code[country].geometry)
        for polygon in polygons:
            assert len(polygon.exterior.coords) - 1 <= 100
            assert metres(polygon).difference(land.buffer(2_000)).area == pytest.approx(0, abs=1)  # its own part
        ours = drawn.intersection(known.by_code[country].geometry)  # in degrees, as the national system reads it
        assert unary_union(polygons).buffer(1e-5).contains(ours)  # nothing of its part is lost (1e-5°: about 1 m)
    assert [a["place"] for a in national_part(content, "NL")["areas"]] == [None, "nl-li"]
    assert [a["place"] for a in national_part(content, "BE")["areas"]] == [None]  # Dutch Limburg is not Belgium's
    assert national_part(content, "LU")["areas"] == []


def test_a_national_part_carries_the_geocodes_of_the_units_it_covers():
    content = {"areas": [{"description": "Maasvallei", "place": None, "polygons": [ACROSS_BE_NL],
                          "geocodes": [{"name": "custom", "value": "x"}]},
                         {"description": "Limburg", "place": "nl-li", "polygons": [], "geocodes": []}]}
    be, nl = national_part(content, "BE"), national_part(content, "NL")
    regions = [{"name": "ISO3166-2", "value": code} for code in ("BE-VLI", "BE-WLG")]
    assert [g for g in be["areas"][0]["geocodes"] if g["name"] != "NUTS3"] == [{"name": "custom", "value": "x"},
                                                                                *regions]
    assert {"name": "ISO3166-2", "value": "NL-LI"} in nl["areas"][0]["geocodes"]
    assert not any(g["value"].startswith("BE") for g in nl["areas"][0]["geocodes"])
    assert nl["areas"][1]["geocodes"][0] == {"name": "ISO3166-2", "value": "NL-LI"}
    assert content["areas"][0]["geocodes"] == [{"name": "custom", "value": "x"}]  # the approved content is untouched


def test_a_polygon_of_more_than_10000_points_is_refused_and_one_of_10000_is_read():
    from bench.geo import maas_polygon

    largest = maas_polygon(vertices=9_999)  # 9,999 corners and the first repeated: 10,000 points
    assert len(parse_polygon(largest).exterior.coords) == 10_000
    with pytest.raises(NotAnArea, match="at most 10000 points; this one has 10001"):
        parse_polygon(maas_polygon(vertices=10_000))


def test_a_circle_outside_europe_is_refused():
    with pytest.raises(NotAnArea, match="outside Europe"):
        parse_circle("40.7,-74.0 10")
    assert parse_circle("50.85,4.35 10").area > 0


def test_a_circle_in_one_country_stays_a_circle_and_one_across_the_border_is_cut():
    brussels, maas = "50.85,4.35 5", "51.1,5.8 5"  # wholly Belgian; across the Maas into the Netherlands
    content = {"areas": [{"description": "Brussel", "place": None, "polygons": [], "geocodes": [],
                          "circles": [brussels]},
                         {"description": "Maas", "place": None, "polygons": [], "geocodes": [], "circles": [maas]}]}
    be, nl = national_part(content, "BE"), national_part(content, "NL")
    assert be["areas"][0]["circles"] == [brussels] and be["areas"][0]["polygons"] == []
    assert be["areas"][1]["circles"] == [] and be["areas"][1]["polygons"]  # Belgium's part, as polygons
    assert [area["description"] for area in nl["areas"]] == ["Maas"]  # Brussels is not the Netherlands' to warn
    netherlands = geo.boundaries().by_code["NL"].geometry
    circle = parse_circle(maas)
    sent = unary_union([parse_polygon(text) for text in nl["areas"][0]["polygons"]])
    assert sent.buffer(1e-5).contains(circle.intersection(netherlands))  # all of its part, nothing lost
    assert metres(sent.difference(netherlands.buffer(0.02))).area == pytest.approx(0, abs=1)
