"""The estimate of people living in a warning's area (alerts/population.py, data/populated_places.json)."""
from __future__ import annotations

import json

from shapely.geometry import Polygon

from alerts import geo, population

MAAS = "51.05,5.70 51.15,5.70 51.15,5.86 51.05,5.86 51.05,5.70"


def test_the_shipped_places_name_their_source_and_hold_the_networks_countries():
    data = json.loads(population.PLACES.read_text(encoding="utf-8"))
    assert "GeoNames" in data["source"] and "Creative Commons Attribution 4.0" in data["licence"]
    assert {"BE", "NL", "LU", "DE", "FR"} <= set(data["countries"])
    totals = {country: sum(row[2] for row in data["countries"][country]) for country in ("BE", "NL", "LU")}
    # a floor: hamlets under 1,000 inhabitants and GeoNames' sections of a town (PPLX) are not counted
    assert 9.5e6 < totals["BE"] < 11.9e6 and 14e6 < totals["NL"] < 18e6 and 0.3e6 < totals["LU"] < 0.7e6


def test_an_area_across_the_maas_counts_people_on_both_sides():
    found = population.estimate(geo.parse_polygon(MAAS))
    assert set(found) == {"BE", "NL"}
    assert found["BE"] > 20_000  # Maaseik and Dilsen-Stokkem
    assert found["NL"] > 1_000


def test_a_province_counts_its_towns_and_nothing_abroad():
    found = population.estimate(geo.area_geometry([{"place": "be-lim"}]))
    assert set(found) == {"BE"}
    assert 500_000 < found["BE"] < 900_000  # Belgian Limburg: 880,000 people (2023)


def test_nothing_lives_in_no_area_or_at_sea():
    assert population.estimate(Polygon()) == {}
    north_sea = Polygon([(3.0, 52.0), (3.3, 52.0), (3.3, 52.2), (3.0, 52.2)])
    assert population.estimate(north_sea) == {}
