"""Who a warning's area reaches among the SMS subscribers: one rule, read by the release's ledger (who gets an SMS)
and by its confirmation (how many, per country, before a spokesperson approves).

A subscriber is reached when a place it subscribed to is among the warning's places or shares area with the warning's
area (a province's subscribers get every warning that reaches into the province: alerts.geo.covered_places), or when
its location lies inside the area (on the outline counts as inside).

The database has no geometry type on SQLite, and PostGIS is not a dependency, so locations are two indexed columns.
The area's bounding box is cut into GRID x GRID tiles: the subscribers of tiles wholly inside are taken in SQL (index
ranges), those of tiles the outline crosses are fetched and tested with shapely, vectorised; tiles outside are never
read."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Column, Integer, MetaData, Table, and_, delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from alerts import population
from alerts.gazetteer import PLACES
from alerts.geo import NotAnArea, area_geometry, covered_places
from alerts.models import Subscriber, SubscriberArea

GRID = 32  # tiles per side of an area's bounding box
EDGE = 1e-7  # degrees (about a centimetre)
FETCH = 50_000  # located subscribers per round trip
STAGE_CHUNK = 5_000
_TEMPORARY = MetaData()  # the ledger's transaction-scoped list of reached subscribers: no migration
# no key: a number reached by a place and by its location is in it twice, and the ledger's semi-join (IN) takes it once
_reached = Table("area_subscribers", _TEMPORARY, Column("id", Integer, nullable=False), prefixes=["TEMPORARY"],
                 postgresql_on_commit="DROP")


def places_of(content: dict) -> list[str]:
    return [area["place"] for area in content["areas"] if area.get("place")]


def geometry_of(content: dict) -> BaseGeometry:
    """The area as geometry; a polygon stored before polygons were checked counts as no geometry (its places still
    reach their subscribers; readiness refuses such a version)."""
    try:
        return area_geometry(content["areas"])
    except NotAnArea:
        return shapely.Polygon()


@dataclass(frozen=True)
class Reach:
    """The places and the area of a warning, for selecting its subscribers."""

    places: list[str]
    geometry: BaseGeometry
    staged: Table | None = None  # every reached subscriber of the staged centres (stage_reached)

    def clause(self, subscriber=Subscriber):
        """A condition on `subscriber` (the Subscriber entity or an alias): it is reached. Staged, it is a
        semi-join on the staged ids; otherwise only the places are known in SQL."""
        if self.staged is not None:
            return subscriber.id.in_(select(self.staged.c.id))
        return exists().where(SubscriberArea.subscriber_id == subscriber.id, SubscriberArea.place.in_(self.places))


def reach_of(content: dict) -> Reach:
    geometry = geometry_of(content)
    places = sorted(set(places_of(content)) | covered_places(geometry))
    return Reach(places, geometry)


Box = tuple[float, float, float, float]  # west, south, east, north


def tiles(geometry: BaseGeometry, grid: int = GRID) -> tuple[list[Box], list[Box]]:
    """The geometry's bounding box cut into grid x grid tiles: (runs of tiles wholly inside, runs of tiles its
    outline crosses), each run the tiles side by side in one row, merged into one box."""
    if geometry.is_empty:
        return [], []
    west, south, east, north = geometry.bounds
    # half-open tiles ([west, east) x [south, north)): the last ones reach just past the box, so nothing on a line
    # between two tiles is taken twice, and nothing on the box's far edges is missed
    xs, ys = numpy.linspace(west, east + EDGE, grid + 1), numpy.linspace(south, north + EDGE, grid + 1)
    columns, rows = numpy.meshgrid(numpy.arange(grid), numpy.arange(grid))
    boxes = shapely.box(xs[columns], ys[rows], xs[columns + 1], ys[rows + 1])
    shapely.prepare(geometry)
    inside = shapely.contains(geometry, boxes)
    edge = shapely.intersects(geometry, boxes) & ~inside
    return _runs(inside, xs, ys), _runs(edge, xs, ys)


def _runs(chosen: numpy.ndarray, xs: numpy.ndarray, ys: numpy.ndarray) -> list[Box]:
    runs = []
    for row, flags in enumerate(chosen):
        column = 0
        while column < len(flags):
            if flags[column]:
                end = column
                while end + 1 < len(flags) and flags[end + 1]:
                    end += 1
                runs.append((float(xs[column]), float(ys[row]), float(xs[end + 1]), float(ys[row + 1])))
                column = end
            column += 1
    return runs


def _located_in(box: Box, centre_ids: list[int], *only):
    west, south, east, north = box
    return (Subscriber.centre_id.in_(centre_ids), Subscriber.opted_out_at.is_(None), Subscriber.latitude >= south,
            Subscriber.latitude < north, Subscriber.longitude >= west, Subscriber.longitude < east, *only)


def _in_any(boxes: list[Box], centre_ids: list[int]):
    """One condition for the located subscribers of several boxes (one statement, not one per box)."""
    return or_(*(and_(*_located_in(box, centre_ids)) for box in boxes))


def inside_ids(session: Session, geometry: BaseGeometry, boxes: list[Box], centre_ids: list[int],
               *only) -> Iterator[numpy.ndarray]:
    """The ids of the centres' located subscribers (not opted out) in these boxes and inside `geometry`, a chunk at a
    time."""
    shapely.prepare(geometry)
    for box in boxes:
        query = select(Subscriber.id, Subscriber.latitude, Subscriber.longitude).where(
            *_located_in(box, centre_ids, *only))
        for rows in session.connection().execute(query).partitions(FETCH):  # a run of edge tiles is a strip
            found = numpy.array([tuple(row) for row in rows], dtype=float).reshape(-1, 3)
            yield found[shapely.intersects_xy(geometry, found[:, 2], found[:, 1]), 0].astype(numpy.int64)


def stage_reached(session: Session, reach: Reach, centre_ids: Iterable[int], *only) -> Reach:
    """`reach` with every subscriber it reaches among these centres' (matching `only`, not opted out) staged in a
    temporary table of the caller's transaction, for the ledger's INSERT ... SELECT. Replaces an earlier staging."""
    centre_ids = list(centre_ids)
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    _reached.create(connection, checkfirst=True)  # PostgreSQL: dropped at commit or rollback
    connection.execute(delete(_reached))
    whole, edge = tiles(reach.geometry)
    ids = numpy.concatenate([numpy.empty(0, dtype=numpy.int64),
                             *inside_ids(session, reach.geometry, edge, centre_ids, *only)])
    if postgresql:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy("COPY area_subscribers (id) FROM STDIN") as copy:
                for value in ids.tolist():
                    copy.write_row((value,))
    else:
        for start in range(0, len(ids), STAGE_CHUNK):
            connection.execute(insert(_reached), [{"id": value} for value in ids[start:start + STAGE_CHUNK].tolist()])
    if whole:
        connection.execute(insert(_reached).from_select(["id"], select(Subscriber.id).where(
            _in_any(whole, centre_ids), *only)))
    if reach.places:
        connection.execute(insert(_reached).from_select(["id"], select(SubscriberArea.subscriber_id).join(
            Subscriber, Subscriber.id == SubscriberArea.subscriber_id).where(
            SubscriberArea.place.in_(reach.places), Subscriber.centre_id.in_(centre_ids),
            Subscriber.opted_out_at.is_(None), *only)))
    if postgresql:
        connection.execute(text("ANALYZE area_subscribers"))  # temporary tables are never analysed on their own
        # the ledger's semi-join hashes these ids: in memory (a national list is a few MB), not in batches on disk
        connection.execute(text("SET LOCAL work_mem = '64MB'"))
    return Reach(reach.places, reach.geometry, _reached)


def count_reached(session: Session, reach: Reach, centre_id: int) -> int:
    """How many of the centre's subscribers (not opted out) the warning reaches, without writing anything: those
    reached by a place, plus those whose location is inside and who no place reaches already."""
    active = (Subscriber.centre_id == centre_id, Subscriber.opted_out_at.is_(None))
    by_place = session.scalar(select(func.count()).select_from(Subscriber).where(*active, reach.clause())) or 0
    whole, edge = tiles(reach.geometry)
    not_by_place = ~reach.clause()
    located = (session.scalar(select(func.count()).select_from(Subscriber).where(
        _in_any(whole, [centre_id]), not_by_place)) or 0) if whole else 0
    return by_place + located + sum(len(ids) for ids in inside_ids(session, reach.geometry, edge, [centre_id],
                                                                     not_by_place))


def by_country(reach: Reach, reached: dict[str, int]) -> list[dict]:
    """Per country the warning concerns (its places, its area, its subscribers): how many subscribers it reaches
    among the centres counted (`reached`: centre code -> count_reached; DE-NW counts for DE) and the estimate of the
    people living in the area (alerts.population: a floor)."""
    people = population.estimate(reach.geometry)
    subscribers: Counter[str] = Counter()
    for code, count in reached.items():
        subscribers[code.split("-")[0]] += count
    countries = ({PLACES[place].country for place in reach.places if place in PLACES} | set(people)
                 | {country for country, count in subscribers.items() if count})
    return [{"country": country, "subscribers": subscribers[country], "population": people.get(country, 0)}
            for country in sorted(countries)]
