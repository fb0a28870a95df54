"""Who a warning's area reaches among the SMS subscribers: one rule, read by the release's ledger (who gets an SMS)
and by its confirmation (how many, per country, before a spokesperson approves).

A subscriber is reached when a place it subscribed to is among the warning's places or shares area with the warning's
area (a province's subscribers get every warning that reaches into the province: alerts.geo.covered_places), or when
its location lies inside the area (on the outline counts as inside). The point test is shapely's, vectorised, on the
subscribers whose location lies within the area's bounding box (an index range): the database has no geometry type
on SQLite, and PostGIS is not a dependency."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Column, Integer, MetaData, Table, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from alerts.geo import NotAnArea, area_geometry, covered_places
from alerts.models import Subscriber, SubscriberArea

FETCH = 50_000  # located subscribers per round trip
STAGE_CHUNK = 5_000
_TEMPORARY = MetaData()  # the ledger's transaction-scoped list of located subscribers inside: no migration
_inside = Table("area_subscribers", _TEMPORARY, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"],
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
    located: Table | None = None  # staged: the located subscribers inside (stage_inside)

    def clause(self, subscriber=Subscriber):
        """A condition on `subscriber` (the Subscriber entity or an alias): it is reached."""
        in_place = exists().where(SubscriberArea.subscriber_id == subscriber.id, SubscriberArea.place.in_(self.places))
        if self.located is None:
            return in_place
        return or_(in_place, subscriber.id.in_(select(self.located.c.id)))


def reach_of(content: dict) -> Reach:
    geometry = geometry_of(content)
    places = sorted(set(places_of(content)) | covered_places(geometry))
    return Reach(places, geometry)


def _located(session: Session, geometry: BaseGeometry, centre_ids: Iterable[int], *only) -> Iterator[numpy.ndarray]:
    """Per round trip, the rows (id, latitude, longitude, reached by place) of the centres' located subscribers, not
    opted out, whose location lies in the geometry's bounding box."""
    west, south, east, north = geometry.bounds
    query = select(Subscriber.id, Subscriber.latitude, Subscriber.longitude).where(
        Subscriber.centre_id.in_(list(centre_ids)), Subscriber.opted_out_at.is_(None),
        Subscriber.latitude.between(south, north), Subscriber.longitude.between(west, east), *only)
    result = session.connection().execute(query, execution_options={"stream_results": True, "yield_per": FETCH})
    for rows in result.partitions():
        yield numpy.array(rows, dtype=float).reshape(-1, 3)


def inside_ids(session: Session, geometry: BaseGeometry, centre_ids: Iterable[int], *only) -> Iterator[numpy.ndarray]:
    """The ids of the centres' located subscribers inside `geometry`, a chunk at a time."""
    if geometry.is_empty:
        return
    shapely.prepare(geometry)
    for rows in _located(session, geometry, centre_ids, *only):
        inside = shapely.intersects_xy(geometry, rows[:, 2], rows[:, 1])
        yield rows[inside, 0].astype(numpy.int64)


def stage_inside(session: Session, reach: Reach, centre_ids: Iterable[int], *only) -> Reach:
    """`reach` with its located subscribers (of these centres, matching `only`) staged in a temporary table of the
    caller's transaction, so that the ledger selects them in SQL. Rows of an earlier staging are replaced."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    _inside.create(connection, checkfirst=True)  # PostgreSQL: dropped at commit or rollback
    connection.execute(delete(_inside))
    for ids in inside_ids(session, reach.geometry, centre_ids, *only):
        if postgresql:
            with connection.connection.driver_connection.cursor() as cursor:
                with cursor.copy("COPY area_subscribers (id) FROM STDIN") as copy:
                    for value in ids.tolist():
                        copy.write_row((value,))
        else:
            for start in range(0, len(ids), STAGE_CHUNK):
                chunk = ids[start:start + STAGE_CHUNK].tolist()
                connection.execute(insert(_inside), [{"id": value} for value in chunk])
    return Reach(reach.places, reach.geometry, _inside)


def count_reached(session: Session, reach: Reach, centre_id: int) -> int:
    """How many of the centre's subscribers (not opted out) the warning reaches, without writing anything: those
    reached by a place, plus those whose location is inside and who no place reaches already."""
    active = (Subscriber.centre_id == centre_id, Subscriber.opted_out_at.is_(None))
    by_place = session.scalar(select(func.count()).select_from(Subscriber).where(*active, reach.clause())) or 0
    if reach.geometry.is_empty:
        return by_place
    not_by_place = ~Reach(reach.places, reach.geometry).clause()
    return by_place + sum(len(ids) for ids in inside_ids(session, reach.geometry, [centre_id], not_by_place))
