"""Who the area being composed concerns, for the compose page's live panel: the form's gazetteer places and drawn
shapes (web/pages/map_areas.py) as one geometry (alerts.geo.area_geometry), then the countries it touches with their
share and the centres touched or within the border band (alerts.jurisdictions.of_geometry). A shape that is not an
area is a message in the panel, never an error of the page."""
from __future__ import annotations

from alerts import geo, jurisdictions
from alerts.errors import InvalidInput
from alerts.i18n import _
from alerts.models import Centre
from web import for_page
from web.pages import map_areas


def compose_reach(centres: list[Centre], lead: Centre, participants: list[str], places: list[str], shapes: str,
                  band_km: float) -> dict:
    """For the panel: `reach` (of_geometry's answer, None while there is no area), `problem` (why the shapes are not
    an area, in the page's language) and `invitable` (the centres it names that the form offers but are not ticked)."""
    try:
        drawn = map_areas.parse_shapes(shapes)
        areas = [{"place": code} for code in places] + ([map_areas.as_area(drawn)] if drawn else [])
        geometry = geo.area_geometry(areas)
    except InvalidInput as error:
        return {"reach": None, "problem": for_page(error.detail), "invitable": set()}
    except geo.NotAnArea as error:
        return {"reach": None, "invitable": set(),
                "problem": for_page(_("An area's polygon is not valid: %(reason)s.", reason=error.args[0]))}
    if geometry.is_empty:
        return {"reach": None, "problem": None, "invitable": set()}
    taking_part = {lead.code, *participants}
    reach = jurisdictions.of_geometry(geometry, [c for c in centres if c.active], taking_part, band_km)
    offered = {c.code for c in centres if c.code != lead.code}
    return {"reach": reach, "problem": None,
            "invitable": {row["centre"] for row in reach["centres"] if row["centre"] in offered - taking_part}}
