"""CAP 1.2 value sets and the languages Benelert publishes in (the BENELERT_LANGUAGES setting)."""
from __future__ import annotations

from alerts.i18n import _
from settings import COMMON_LANGUAGE, LANGUAGES

STATUSES = ("Actual", "Exercise", "Test")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
__all__ = ["CERTAINTIES", "COMMON_LANGUAGE", "LANGUAGES", "SEVERITIES", "STATUSES", "URGENCIES",
           "parse_polygon"]


def parse_polygon(ring: str) -> list[tuple[float, float]]:
    """A CAP polygon: at least four 'lat,lon' pairs separated by spaces, first equal to last."""
    points: list[tuple[float, float]] = []
    for pair in ring.split():
        try:
            lat_text, lon_text = pair.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise ValueError(_("“%(pair)s” is not a “latitude,longitude” pair", pair=pair)) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(_("“%(pair)s” is outside the valid latitude and longitude range", pair=pair))
        points.append((lat, lon))
    if len(points) < 4:
        raise ValueError(_("a polygon needs at least four points"))
    if points[0] != points[-1]:
        raise ValueError(_("a polygon must end at its first point"))
    return points
