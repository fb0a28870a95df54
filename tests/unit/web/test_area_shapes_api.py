"""Areas through the API: circles kept as CAP circles, and polygons refused with a clear 422 problem when they are not
areas the network can warn (open, crossing themselves, more than 10,000 points, outside Europe); nothing is written."""
from __future__ import annotations

import pytest

from bench.geo import maas_polygon
from devtools.world import flood_alert


def area(**shape) -> list[dict]:
    return [{"description": "Maas", **shape}]


def test_a_circle_is_stored_shown_and_published_as_a_cap_circle(api_as, app):
    be = api_as("BE", "communicator")
    created = be.post("/alerts", json=flood_alert(areas=area(circles=["51.098,5.787   7.5"])))
    assert created.status_code == 201, created.get_json()
    [stored] = created.get_json()["version"]["areas"]
    assert stored["circles"] == ["51.098,5.787 7.5"] and stored["polygons"] == []
    big = be.post("/alerts", json=flood_alert(areas=area(polygons=[maas_polygon(vertices=9_999)])))
    assert big.status_code == 201, big.get_json()  # 10,000 points: the most a polygon may have


@pytest.mark.parametrize(("shape", "says"), [
    ({"polygons": [maas_polygon(vertices=10_000)]}, "at most 10000 points; this one has 10001"),
    ({"polygons": ["40.70,-74.02 40.80,-74.02 40.80,-73.90 40.70,-74.02"]}, "outside Europe"),
    ({"polygons": ["50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6"]}, "crosses itself"),
    ({"polygons": ["50.8,5.6 50.9,5.6 50.9,5.7 50.8,5.7"]}, "must end at its first point"),
    ({"circles": ["40.7,-74.0 10"]}, "outside Europe"),
    ({"circles": ["51.1,5.8 0"]}, "more than 0 and at most 1000 km"),
    ({"circles": ["51.1;5.8 3"]}, "latitude,longitude"),
])
def test_a_shape_that_is_no_area_of_the_network_is_refused_and_nothing_is_written(api_as, shape, says):
    be = api_as("BE", "communicator")
    answer = be.post("/alerts", json=flood_alert(areas=area(**shape)))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert says in answer.get_json()["detail"]
    assert be.get("/alerts").get_json()["total"] == 0
