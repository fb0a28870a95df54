"""Which countries and centres a warning's area touches, and which lie within a border band of it: phones near a
border are often served by masts across it (NL-Alert misses phones on Belgian or German masts), so a warning that
stops at the border line misses people. Measured in metres in ETRS89-LAEA (alerts.geo)."""
from __future__ import annotations

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import authoring
from alerts.content import canonical_content
from alerts.errors import InvalidInput
from alerts.geo import Boundaries, NotAnArea, area_geometry, boundaries, metres, overlaps
from alerts.i18n import _
from alerts.models import Centre, User

BORDER_BAND_KM = 5.0


def _share(part, whole_m2: float) -> float:
    return round(metres(part).area / whole_m2, 4) if whole_m2 else 0.0


def of_geometry(geometry, centres: list[Centre], taking_part: set[str], band_km: float = BORDER_BAND_KM,
                known: Boundaries | None = None) -> dict:
    """Countries the area touches with their share of it; per centre of the network whose territory the shipped
    boundaries know: touched (with its share), within the band, and whether it takes part. Touching is sharing
    area (geo.overlaps): a Kreis cut to its Land's outline does not touch the Netherlands by a metre's rounding,
    but the Netherlands is within its band."""
    known = known or boundaries()
    if geometry.is_empty:
        return {"area_km2": 0.0, "border_band_km": band_km, "countries": [], "centres": [], "unlocated": []}
    drawn = metres(geometry)
    whole = drawn.area
    countries = []
    for unit in sorted(known.near(geometry, "country"), key=lambda u: u.code):
        if known.shares_area(unit, geometry, whole):
            countries.append({"code": unit.code, "name": unit.name,
                              "share": _share(unit.geometry.intersection(geometry), whole)})
    shapely.prepare(drawn)
    rows, unlocated = [], []
    for centre in sorted(centres, key=lambda c: c.code):
        territory = known.territory(centre.code)
        if territory is None:
            unlocated.append(centre.code)
            continue
        land = known.in_metres(territory)
        if not shapely.dwithin(drawn, land, band_km * 1000):  # not buffering: a buffer of a ragged outline is slow
            continue
        part = land.intersection(drawn)
        touched = overlaps(part.area, land.area, whole)
        share = round(part.area / whole, 4) if touched else 0.0
        rows.append({"centre": centre.code, "touched": touched, "share": share, "within_band": not touched,
                     "distance_km": round(land.distance(drawn) / 1000, 2),
                     "taking_part": centre.code in taking_part})
    return {"area_km2": round(whole / 1e6, 2), "border_band_km": band_km, "countries": countries, "centres": rows,
            "unlocated": unlocated}


def outside_participants(session: Session, alert, content: dict) -> list[str]:
    """The active centres whose territory the area covers but which do not take part (raises geo.NotAnArea)."""
    geometry = area_geometry(content["areas"])
    if geometry.is_empty:
        return []
    centres = list(session.scalars(select(Centre).where(Centre.active)))
    found = of_geometry(geometry, centres, set(content["participants"]), band_km=0)
    return [row["centre"] for row in found["centres"] if row["touched"] and not row["taking_part"]]


def of_alert(session: Session, actor: User, alert_id: int, band_km: float = BORDER_BAND_KM) -> dict:
    """The jurisdictions of the alert's current version (whoever may read the alert)."""
    alert = authoring.get_alert(session, actor, alert_id, "read")
    content = canonical_content(authoring.get_version(session, alert))
    centres = list(session.scalars(select(Centre).where(Centre.active)))
    try:
        geometry = area_geometry(content["areas"])
    except NotAnArea as error:  # stored before polygons were checked for crossing themselves
        raise InvalidInput(_("An area's polygon is not valid: %(reason)s.", reason=error.args[0]),
                           field="areas") from None
    result = of_geometry(geometry, centres, set(content["participants"]), band_km)
    missing = [row["centre"] for row in result["centres"] if row["touched"] and not row["taking_part"]]
    return {"alert_id": alert.id, "version": alert.current_version, **result, "touched_not_taking_part": missing}
