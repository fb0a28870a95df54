"""Warning areas as geometry (shapely, pyproj): CAP polygons and circles read and written, the shipped boundaries
(data/boundaries.geojson, data/BOUNDARIES.md), areas in metres in the ETRS89 equal-area projection of Europe
(EPSG:3035), and the polygon a national system is sent: valid, at most MAX_VERTICES vertices, never smaller than what
was drawn (buffered out, then simplified by less than the buffer), WGS84 with at most 6 decimals, closed."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import shapely
from pyproj import Transformer
from shapely import make_valid
from shapely.geometry import MultiPolygon, Point, Polygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.strtree import STRtree

from alerts import vocabulary
from alerts.gazetteer import PLACES
from alerts.i18n import _

BOUNDARIES = Path(__file__).resolve().parents[1] / "data" / "boundaries.geojson"
MAX_VERTICES = 100  # per polygon sent to a national system
DECIMALS = 6
# the shipped units' levels, each nested in the one before (subregions: NRW's Regierungsbezirke)
LEVELS = ("country", "region", "subregion", "district", "municipality")
# the CAP <valueName> of each level's unit codes: ISO 3166-2, NUTS 2 and 3, Germany's Amtlicher Gemeindeschlüssel
GEOCODE_NAMES = {"region": "ISO3166-2", "subregion": "NUTS2", "district": "NUTS3", "municipality": "AGS"}
MIN_SHARED_M2 = 100.0  # less shared area than this is an outline touching, not an overlap
# nor is less than this share of the smaller of the two: a district cut to its region in the file's 1 m grid
# (geo/build_boundaries.py) still shares up to a few thousand m² with the neighbouring region, a millionth of either
MIN_SHARED_SHARE = 1e-4
EUROPE = box(-32.0, 27.0, 45.0, 82.0)  # the boundaries' extent (geo/build_boundaries.py): Azores to Svalbard
_TO_METRES = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True).transform
_TO_DEGREES = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True).transform


class NotAnArea(ValueError):
    """A CAP polygon or circle that is not an area (too few points, out of range, self-intersecting)."""


def overlaps(shared_m2: float, one_m2: float, other_m2: float) -> bool:
    """Two areas of one_m2 and other_m2 that share shared_m2 overlap: more than outlines that touch along a line, or
    that were drawn at different scales, do (MIN_SHARED_M2, MIN_SHARED_SHARE); or half of the smaller lies in the
    other (a drawn area smaller than MIN_SHARED_M2 still lies somewhere)."""
    smaller = min(one_m2, other_m2)
    return shared_m2 > max(MIN_SHARED_M2, MIN_SHARED_SHARE * smaller) or 0 < smaller <= 2 * shared_m2


def metres(geometry: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geometry, _TO_METRES, interleaved=False)


def degrees(geometry: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geometry, _TO_DEGREES, interleaved=False)


def _point(text: str) -> tuple[float, float]:
    try:
        lat, lon = vocabulary.parse_point(text.strip())
    except ValueError as error:
        raise NotAnArea(error.args[0]) from None
    return lon, lat


def parse_polygon(text: str) -> Polygon:
    """A CAP <polygon> ("lat,lon lat,lon …", first point = last: alerts.vocabulary) as a shapely Polygon in lon/lat,
    refused when it crosses itself or encloses nothing."""
    try:
        points = vocabulary.parse_polygon(text)
    except ValueError as error:
        raise NotAnArea(error.args[0]) from None
    polygon = Polygon([(lon, lat) for lat, lon in points])
    if not polygon.is_valid or polygon.area == 0:
        raise NotAnArea(_("the polygon crosses itself or encloses nothing"))
    return _in_europe(polygon)


def _in_europe(area: Polygon) -> Polygon:
    if not EUROPE.contains(area):
        raise NotAnArea(_("the area lies (partly) outside Europe (latitude 27 to 82, longitude -32 to 45), where the "
                          "network's boundaries end"))
    return area


def parse_circle(text: str) -> Polygon:
    """A CAP <circle> ("lat,lon radius_km") as a polygon in lon/lat (a 64-gon, drawn in metres)."""
    centre, _space, radius = text.strip().rpartition(" ")
    try:
        kilometres = float(radius)
    except ValueError:
        raise NotAnArea(_("“%(text)s” is not “latitude,longitude radius-in-km”", text=text[:60])) from None
    if not 0 < kilometres <= 1000:
        raise NotAnArea(_("a circle's radius is more than 0 and at most 1000 km"))
    lon, lat = _point(centre)
    return _in_europe(degrees(metres(Point(lon, lat)).buffer(kilometres * 1000, quad_segs=16)))


def cap_polygon(polygon: Polygon) -> str:
    """A polygon as CAP text: lat,lon pairs with at most DECIMALS decimals, the first point repeated last."""
    points = list(polygon.exterior.coords)
    if points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{_decimal(lat)},{_decimal(lon)}" for lon, lat in points)


def _decimal(value: float) -> str:
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _vertices(polygon: Polygon) -> int:
    return len(polygon.exterior.coords) - 1


def enclosing(polygon: Polygon, max_vertices: int = MAX_VERTICES) -> Polygon:
    """A polygon with at most `max_vertices` vertices and no holes that contains `polygon` (what was drawn is never
    cut off): buffered out by d metres, then simplified with a tolerance below d, so that its boundary stays
    outside. d starts at 25 m and doubles until it fits. Rounding to DECIMALS (about 0.1 m) cannot reach inside."""
    if _vertices(polygon) <= max_vertices and not polygon.interiors:
        return polygon
    drawn = metres(Polygon(polygon.exterior))
    distance = 25.0
    while True:
        candidate = drawn.buffer(distance, quad_segs=2).simplify(distance * 0.8, preserve_topology=True)
        candidate = Polygon(candidate.exterior) if isinstance(candidate, Polygon) else candidate.convex_hull
        if _vertices(candidate) <= max_vertices and candidate.contains(drawn):
            return degrees(candidate)
        distance *= 2


def polygons(geometry: BaseGeometry) -> list[Polygon]:
    """The polygons of a geometry (a GeometryCollection's lines and points are no area)."""
    if geometry.is_empty:
        return []
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    return [part for item in getattr(geometry, "geoms", []) for part in polygons(item)]


@dataclass(frozen=True)
class Unit:
    """A country, first-level region, district or municipality of the shipped boundaries."""

    code: str  # ISO 3166-1 alpha-2, ISO 3166-2, NUTS 3 or AGS
    level: str  # LEVELS
    country: str
    name: str
    place: str | None  # the gazetteer's code of it
    geometry: BaseGeometry


class Boundaries:
    def __init__(self, units: list[Unit]):
        self.units = units
        self.by_code = {unit.code: unit for unit in units}
        self.by_place = {unit.place: unit for unit in units if unit.place}
        self._tree = STRtree([unit.geometry for unit in units])
        self._metric: dict[str, BaseGeometry] = {}
        self._outlines: dict[str, list[str]] = {}

    def near(self, geometry: BaseGeometry, *levels: str) -> list[Unit]:
        """The units (of the levels given; of all without) whose bounding box meets the geometry's."""
        return [self.units[i] for i in self._tree.query(geometry) if not levels or self.units[i].level in levels]

    def in_metres(self, unit: Unit) -> BaseGeometry:
        if unit.code not in self._metric:
            self._metric[unit.code] = metres(unit.geometry)
        return self._metric[unit.code]

    def outline(self, unit: Unit) -> list[str]:
        """The unit as the CAP polygons a national system can broadcast to: each of its parts made enclosing
        (`enclosing`: at most MAX_VERTICES vertices, never smaller)."""
        if unit.code not in self._outlines:
            self._outlines[unit.code] = [cap_polygon(enclosing(part)) for part in polygons(unit.geometry)
                                         if metres(part).area > 1.0]
        return self._outlines[unit.code]

    def shares_area(self, unit: Unit, geometry: BaseGeometry, geometry_m2: float) -> bool:
        """The unit and the geometry (of `geometry_m2` m²) overlap (`overlaps`)."""
        return overlaps(metres(unit.geometry.intersection(geometry)).area, self.in_metres(unit).area, geometry_m2)

    def territory(self, centre_code: str) -> Unit | None:
        """A centre's territory: its region (DE-NW) or its country (BE)."""
        return self.by_code.get(centre_code)


@cache
def boundaries(path: Path = BOUNDARIES) -> Boundaries:
    """The shipped units. A country whose regions the file has is their union: Natural Earth's countries and regions
    differ by up to a few km² along borders, and a country must never overlap its neighbour's regions."""
    data = json.loads(path.read_text(encoding="utf-8"))
    units = []
    for feature in data["features"]:
        props = feature["properties"]
        geometry = shape(feature["geometry"])
        units.append(Unit(props["code"], props["level"], props.get("country") or props["code"], props["name"],
                          props.get("place"), geometry if geometry.is_valid else make_valid(geometry)))
    regions: dict[str, list[BaseGeometry]] = {}
    for unit in units:
        if unit.level == "region":
            regions.setdefault(unit.country, []).append(unit.geometry)
    return Boundaries([replace(unit, geometry=unary_union(regions[unit.code]))
                       if unit.level == "country" and unit.code in regions else unit for unit in units])


def area_geometry(areas: list[dict], known: Boundaries | None = None) -> BaseGeometry:
    """The union of a version's areas: their polygons and circles, and the boundaries of places picked from the
    gazetteer that the shipped data has (countries, provinces and first-level regions, Belgium's arrondissements
    and the German-speaking Community, NRW's Regierungsbezirke, Kreise and cities)."""
    known = known or boundaries()
    parts: list[BaseGeometry] = []
    for area in areas:
        parts += [parse_polygon(text) for text in area.get("polygons") or []]
        parts += [parse_circle(text) for text in area.get("circles") or []]
        unit = known.by_place.get(area.get("place") or "")
        if unit is not None and not (area.get("polygons") or area.get("circles")):
            parts.append(unit.geometry)
    return unary_union(parts) if parts else Polygon()


def covered_places(geometry: BaseGeometry, known: Boundaries | None = None) -> set[str]:
    """The gazetteer places whose shipped boundary shares area with `geometry` (a subscriber of a province or a
    Kreis is in every warning whose area reaches into it; touching along a border line is not sharing)."""
    known = known or boundaries()
    if geometry.is_empty:
        return set()
    whole = metres(geometry).area
    return {unit.place for unit in known.near(geometry) if unit.place and known.shares_area(unit, geometry, whole)}


def unit_geocodes(geometry: BaseGeometry, country: str, known: Boundaries | None = None) -> list[dict]:
    """CAP geocodes of the country's units (GEOCODE_NAMES) that share area with `geometry`, so that a national
    system can also route the warning by the units it knows."""
    known = known or boundaries()
    if geometry.is_empty:
        return []
    whole = metres(geometry).area
    units = sorted(known.near(geometry, *GEOCODE_NAMES), key=lambda u: (LEVELS.index(u.level), u.code))
    return [{"name": GEOCODE_NAMES[unit.level], "value": unit.code}
            for unit in units if unit.country == country and known.shares_area(unit, geometry, whole)]


def _with_geocodes(area: dict, codes: list[dict]) -> dict:
    own = list(area.get("geocodes") or [])
    return {**area, "geocodes": own + [code for code in codes if code not in own]}


def national_part(content: dict, centre_code: str, known: Boundaries | None = None) -> dict:
    """The content a centre's national alert system is sent: each area cut to the centre's country (its drawn
    polygons clipped, made enclosing and simplified: `enclosing`); an area picked from the gazetteer kept only when
    the place is in that country, with the place's outline as polygons when the boundaries have it
    (`Boundaries.outline`: a unit lies in its country); an area left with nothing in the country dropped; each kept
    area with the geocodes of the country's units it covers (`unit_geocodes`). Partners get the whole area."""
    known = known or boundaries()
    country = centre_code.split("-")[0]
    land = known.by_code.get(country)
    kept = []
    for area in content.get("areas", []):
        if area.get("polygons") or area.get("circles"):
            try:
                shapes = [parse_polygon(text) for text in area.get("polygons") or []]
                circles = [(text, parse_circle(text)) for text in area.get("circles") or []]
            except NotAnArea:  # stored before polygons were checked: sent as approved, whole
                kept.append(area)
                continue
            # a circle wholly in the country stays a <circle>; one across the border is cut like a polygon
            whole = [(text, circle) for text, circle in circles if land is None or land.geometry.contains(circle)]
            cut = unary_union(shapes + [circle for text, circle in circles if (text, circle) not in whole])
            inside = cut.intersection(land.geometry) if land is not None else cut
            parts = [part for part in polygons(inside) if metres(part).area > 1.0]
            if parts or whole:
                own = {**area, "polygons": [cap_polygon(enclosing(part)) for part in parts]}
                if area.get("circles"):
                    own["circles"] = [text for text, _circle in whole]
                covered = unary_union(parts + [circle for _text, circle in whole])
                kept.append(_with_geocodes(own, unit_geocodes(covered, country, known)))
        elif area.get("place") in PLACES and PLACES[area["place"]].country == country:
            unit = known.by_place.get(area["place"])
            kept.append(_with_geocodes({**area, "polygons": known.outline(unit)},
                                       unit_geocodes(unit.geometry, country, known)) if unit else area)
        elif not area.get("place"):
            kept.append(area)  # described in words only: nothing to cut
    return {**content, "areas": kept}
