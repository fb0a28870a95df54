"""Who a warning's area reaches (alerts/audience.py): located subscribers inside the area, and subscribers of the
places it covers; on SQLite and PostgreSQL, through the same SQL the ledger runs."""
from __future__ import annotations

import random

import pytest
import shapely
from sqlalchemy import select, update

from alerts import geo
from alerts.audience import count_reached, reach_of, stage_reached, tiles
from alerts.models import Centre, Subscriber, utcnow
from alerts.subscribers import subscribed_with, subscriber_filter
from devtools.world import add_subscribers

# along the Maas between Maaseik (BE) and Echt (NL): Belgian and Dutch Limburg, not Germany (Selfkant is at 5.866 E)
MAAS = "51.05,5.70 51.15,5.70 51.15,5.86 51.05,5.86 51.05,5.70"
MAASEIK, ECHT_SIDE, GENK, ROERMOND = (51.098, 5.787), (51.10, 5.84), (50.965, 5.50), (51.194, 5.987)
ON_THE_OUTLINE = (51.05, 5.80)


def content(*areas: dict) -> dict:
    return {"areas": list(areas)}


def ids(db, code: str) -> int:
    with db.transaction() as session:
        return session.scalar(select(Centre.id).where(Centre.code == code))


def reached_phones(db, reach, code: str, earlier: list[int] = ()) -> set[str]:
    with db.transaction() as session:
        centres = [ids(db, code), *earlier]
        staged = stage_reached(session, reach, centres)
        query = select(Subscriber.phone).where(subscriber_filter(centres[0], staged, Subscriber.id > 0))
        if earlier:
            query = query.where(~subscribed_with(list(earlier), staged))
        return set(session.scalars(query))


def test_the_places_an_area_covers_are_those_it_shares_area_with():
    assert geo.covered_places(geo.parse_polygon(MAAS)) == {"be", "be-lim", "be-arr-maaseik", "nl", "nl-li"}
    # a province picked whole covers its country and its arrondissements, not the neighbour whose outline it touches
    limburg = geo.area_geometry([{"place": "be-lim"}])
    assert geo.covered_places(limburg) == {"be", "be-lim", "be-arr-hasselt", "be-arr-maaseik", "be-arr-tongeren"}


def test_located_subscribers_inside_the_area_are_reached_and_nobody_else(db):
    inside = add_subscribers(db, "BE", 3, place=None, location=MAASEIK)
    outline = add_subscribers(db, "BE", 1, place=None, location=ON_THE_OUTLINE, start=10)
    add_subscribers(db, "BE", 4, place=None, location=GENK, start=20)  # Belgian Limburg, outside the polygon
    add_subscribers(db, "BE", 2, place=None, start=30)  # neither place nor location: never reached
    by_place = add_subscribers(db, "BE", 2, place="be-lim", location=GENK, start=40)  # the province is covered
    add_subscribers(db, "BE", 2, place="be-ant", start=50)
    country = add_subscribers(db, "BE", 1, place="be", start=60)
    stopped = add_subscribers(db, "BE", 1, place=None, location=MAASEIK, start=70)
    with db.transaction() as session:
        session.execute(update(Subscriber).where(Subscriber.phone.in_(stopped)).values(opted_out_at=utcnow()))
    reach = reach_of(content({"description": "Maas", "polygons": [MAAS]}))

    assert reached_phones(db, reach, "BE") == set(inside + outline + by_place + country)
    with db.transaction() as session:
        assert count_reached(session, reach, ids(db, "BE")) == 3 + 1 + 2 + 1


def test_a_number_with_a_place_and_a_location_inside_is_counted_once(db):
    add_subscribers(db, "BE", 5, place="be-lim", location=MAASEIK)
    reach = reach_of(content({"description": "Maas", "polygons": [MAAS]}))
    with db.transaction() as session:
        assert count_reached(session, reach, ids(db, "BE")) == 5
    assert len(reached_phones(db, reach, "BE")) == 5


def test_a_place_area_reaches_the_locations_inside_its_boundary(db):
    inside = add_subscribers(db, "BE", 2, place=None, location=GENK)
    add_subscribers(db, "BE", 2, place=None, location=ROERMOND, start=10)  # Dutch Limburg
    reach = reach_of(content({"description": "Limburg", "place": "be-lim"}))
    assert reached_phones(db, reach, "BE") == set(inside)


def test_a_number_already_reached_through_an_earlier_centre_is_not_selected_again(db):
    # the same number subscribed with NL (located inside) and with BE (by place): one SMS, through NL
    nl_id = ids(db, "NL")
    add_subscribers(db, "NL", 1, place=None, location=ECHT_SIDE, start=5)
    add_subscribers(db, "BE", 1, place="be-lim", start=5)
    only_be = add_subscribers(db, "BE", 1, place="be-lim", start=6)
    reach = reach_of(content({"description": "Maas", "polygons": [MAAS]}))
    assert reached_phones(db, reach, "BE", earlier=[nl_id]) == set(only_be)


@pytest.mark.parametrize("areas", [[], [{"description": "Somewhere, in words only"}]])
def test_an_area_without_places_or_geometry_reaches_nobody(db, areas):
    add_subscribers(db, "BE", 2, place="be-lim", location=MAASEIK)
    reach = reach_of(content(*areas))
    assert reached_phones(db, reach, "BE") == set()
    with db.transaction() as session:
        assert count_reached(session, reach, ids(db, "BE")) == 0


def test_the_ledger_and_the_count_agree_with_shapely_on_a_cloud_of_points_and_on_the_tiles_lines(db):
    """Random locations over the area's box, plus points exactly on the lines between tiles: the staged selection,
    the confirmation's count and a plain shapely test find the same subscribers, each once."""
    geometry = geo.parse_polygon(MAAS)
    west, south, east, north = geometry.bounds
    generator = random.Random(5)
    points = [(generator.uniform(south - 0.02, north + 0.02), generator.uniform(west - 0.02, east + 0.02))
              for _ in range(400)]
    whole, edge = tiles(geometry)
    assert whole and edge
    points += [(box[1], (box[0] + box[2]) / 2) for box in whole]  # on the line between two rows of tiles
    points += [((box[1] + box[3]) / 2, box[0]) for box in whole + edge if west < box[0]]  # between two columns
    expected = set()
    for i, point in enumerate(points):
        phone = add_subscribers(db, "BE", 1, place=None, location=point, start=i)[0]
        if geometry.intersects(shapely.Point(point[1], point[0])):
            expected.add(phone)
    reach = reach_of(content({"description": "Maas", "polygons": [MAAS]}))
    reach = type(reach)([], reach.geometry)  # locations only: BE's subscribers by place are not the question here
    assert reached_phones(db, reach, "BE") == expected
    with db.transaction() as session:
        assert count_reached(session, reach, ids(db, "BE")) == len(expected)
