"""The map editor's area on the compose and edit forms: the `shapes` field (CAP polygons and circles, one per line,
written by the map in static/map.js or typed by hand) and `shapes_name` (the area's description).

A line of two parts, "lat,lon radius_km", is a circle; any other line is a polygon "lat,lon lat,lon …" whose first
point is its last. Every line is checked (alerts.geo: no self-intersection, in Europe) and refused with a message
naming the line. A circle stays a circle (a CAP <circle>). All the shapes become one area, the drawn area."""
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
    text = f"{centre} {radius}"
    try:
        geo.parse_circle(text)  # the one circle rule: radius, and in Europe
    except geo.NotAnArea as problem:
        raise ShapeProblem(problem.args[0]) from None
    return text


def is_circle(text: str) -> bool:
    parts = text.split()
    return len(parts) == 2 and "," not in parts[1]


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def parse_shapes(text: str) -> list[str]:
    """The field's lines as CAP polygons and circles; InvalidInput naming the first wrong line."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    if sum(1 for line in lines if line) > MAX_SHAPES:
        raise InvalidInput(_("At most %(max)d polygons and circles.", max=MAX_SHAPES), field="areas")
    rings = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        parts = line.split(" ")
        try:
            rings.append(_circle(*parts) if is_circle(line) else _polygon(parts))
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


def as_area(shapes: list[str]) -> dict:
    """The checked shapes (parse_shapes) as an area's polygons and circles."""
    return {"polygons": [text for text in shapes if not is_circle(text)],
            "circles": [text for text in shapes if is_circle(text)]}


def form_fields(areas: list[dict]) -> dict[str, str]:
    """A version's areas (canonical content) as the two fields: every polygon and circle, and the description of the
    first area that has some."""
    drawn = [area for area in areas if area["polygons"] or area.get("circles")]
    return {"shapes": "\n".join(text for area in drawn for text in [*area["polygons"], *area.get("circles", [])]),
            "shapes_name": drawn[0]["description"] if drawn else ""}


def with_drawn_area(areas: list[dict], shapes: list[str], name: str,
                    drawn_before: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """`areas` with the drawn area in place of the ones that held shapes before (`drawn_before`, by description).
    An area already named `name` receives the shapes; a gazetteer place that had shapes keeps its place. No shapes:
    the drawn area is gone."""
    drawn, none = as_area(shapes), {"polygons": [], "circles": []}
    kept, placed = [], not shapes
    for area in areas:
        description = area["description"]
        if description == name and not placed:
            kept.append({**area, **drawn})
            placed = True
        elif description in drawn_before or description == name:
            if area.get("place"):
                kept.append({**area, **none})
            elif not placed:
                kept.append({"description": name, "place": None, **drawn, "geocodes": []})
                placed = True
        else:
            kept.append(area)
    if not placed:
        kept.append({"description": name, "place": None, **drawn, "geocodes": []})
    return kept
