"""The map editor's area on the compose and edit forms: the `shapes` field (CAP polygons and circles, one per line,
written by the map in static/map.js or typed by hand) and `shapes_name` (the area's description).

A line of two parts, "lat,lon radius_km", is a circle; any other line is a polygon "lat,lon lat,lon …" whose first
point is its last. Every line is checked (alerts.geo: no self-intersection) and refused with a message naming the
line. The domain's areas hold polygons only: a circle is stored as the 64-sided polygon that encloses it
(alerts.geo.parse_circle, then enclosing). All the shapes become one area, the drawn area."""
from __future__ import annotations

from alerts import geo, vocabulary
from alerts.errors import InvalidInput
from alerts.i18n import _
from alerts.phrasebook import translations_for

MAX_SHAPES = 50
DRAWN_AREA = _("Area drawn on the map")  # the drawn area's description when the form names none


class ShapeProblem(ValueError):
    pass


def _polygon(parts: list[str]) -> str:
    text = " ".join(parts)
    try:
        geo.parse_polygon(text)  # the one polygon rule: syntax (alerts.vocabulary), closed, not crossing itself
    except geo.NotAnArea as problem:
        raise ShapeProblem(problem.args[0]) from None
    return text


def _circle(centre: str, radius: str) -> str:
    try:
        vocabulary.parse_point(centre)
    except ValueError as problem:
        raise ShapeProblem(problem.args[0]) from None
    try:
        kilometres = float(radius)
    except ValueError:
        raise ShapeProblem(_("“%(radius)s” is not a radius in kilometres", radius=radius)) from None
    if not 0 < kilometres <= 1000:
        raise ShapeProblem(_("a circle's radius is more than 0 and at most 1000 km"))
    text = geo.cap_polygon(geo.enclosing(geo.parse_circle(f"{centre} {kilometres}")))
    try:
        geo.parse_polygon(text)
    except geo.NotAnArea:  # a radius of a few centimetres: nothing left at six decimals
        raise ShapeProblem(_("the circle is too small to be an area")) from None
    return text


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def parse_shapes(text: str) -> list[str]:
    """The field's lines as CAP polygons (circles converted); InvalidInput naming the first wrong line."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    if sum(1 for line in lines if line) > MAX_SHAPES:
        raise InvalidInput(_("At most %(max)d polygons and circles.", max=MAX_SHAPES), field="areas")
    rings = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        parts = line.split(" ")
        try:
            is_circle = len(parts) == 2 and "," not in parts[1]
            rings.append(_circle(*parts) if is_circle else _polygon(parts))
        except ShapeProblem as problem:
            raise InvalidInput(_("Polygons and circles, line %(number)d (“%(shape)s”): %(problem)s.",
                                 number=number, shape=_shorten(line), problem=problem.args[0]),
                               field="areas") from None
    return rings


def drawn_name(name: str | None, language: str) -> str:
    """The drawn area's description: the one typed, else "Area drawn on the map" in `language`."""
    name = " ".join((name or "").split())
    if name:
        return name
    return DRAWN_AREA.localized(translations_for(language if language in ("en", "nl", "fr", "de") else "en"))


def form_fields(areas: list[dict]) -> dict[str, str]:
    """A version's areas (canonical content) as the two fields: every polygon, and the description of the first
    area that has some."""
    drawn = [area for area in areas if area["polygons"]]
    return {"shapes": "\n".join(ring for area in drawn for ring in area["polygons"]),
            "shapes_name": drawn[0]["description"] if drawn else ""}


def with_drawn_area(areas: list[dict], polygons: list[str], name: str,
                    drawn_before: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """`areas` with the drawn area in place of the ones that held polygons before (`drawn_before`, by description).
    An area already named `name` receives the polygons; a gazetteer place that had polygons keeps its place. No
    polygons: the drawn area is gone."""
    kept, placed = [], not polygons
    for area in areas:
        description = area["description"]
        if description == name and not placed:
            kept.append({**area, "polygons": polygons})
            placed = True
        elif description in drawn_before or description == name:
            if area.get("place"):
                kept.append({**area, "polygons": []})
            elif not placed:
                kept.append({"description": name, "place": None, "polygons": polygons, "geocodes": []})
                placed = True
        else:
            kept.append(area)
    if not placed:
        kept.append({"description": name, "place": None, "polygons": polygons, "geocodes": []})
    return kept
