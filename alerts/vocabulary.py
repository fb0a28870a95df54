"""CAP 1.2 value sets and the languages Benelert publishes in (the BENELERT_LANGUAGES setting)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from alerts.i18n import _
from settings import COMMON_LANGUAGE, LANGUAGES

STATUSES = ("Actual", "Exercise", "Test")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
# An alert's areas (CAP <area> blocks): a warning names at most this many; every caller (API, pages) is held to it
MAX_AREAS = 50
MAX_POLYGON_POINTS = 10_000
MAX_WEB = 300
# CAP <web> is a hyperlink people follow from a warning: only a web page address (OpenAPI says so with this pattern)
# no white space and no control character anywhere (the OpenAPI document states it, so clients know before sending)
WEB_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*$"
__all__ = ["CERTAINTIES", "COMMON_LANGUAGE", "LANGUAGES", "MAX_AREAS", "MAX_POLYGON_POINTS", "MAX_WEB", "SEVERITIES",
           "STATUSES", "URGENCIES", "WEB_PATTERN", "is_web_address", "parse_point", "parse_polygon"]


def is_web_address(value: str) -> bool:
    """An absolute http(s) address with a host, nothing that runs a script (javascript:, data:) or opens a file."""
    if not re.fullmatch(WEB_PATTERN, value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced [ in the host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_NUMBER = r"-?\d+(?:\.\d+)?"
_PAIR = re.compile(rf"({_NUMBER}),({_NUMBER})")  # decimal degrees: no exponent, no sign but minus, no nan


def parse_point(pair: str) -> tuple[float, float]:
    """A CAP 'lat,lon' pair (WGS84), checked for range."""
    match = _PAIR.fullmatch(pair)
    if not match:
        raise ValueError(_("“%(pair)s” is not a “latitude,longitude” pair", pair=pair))
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(_("“%(pair)s” is outside the valid latitude and longitude range", pair=pair))
    return lat, lon


def parse_polygon(ring: str) -> list[tuple[float, float]]:
    """A CAP polygon: at least four and at most MAX_POLYGON_POINTS 'lat,lon' pairs separated by spaces, first equal
    to last."""
    pairs = ring.split()
    if len(pairs) > MAX_POLYGON_POINTS:
        raise ValueError(_("a polygon has at most %(max)d points; this one has %(count)d", max=MAX_POLYGON_POINTS,
                           count=len(pairs)))
    points = [parse_point(pair) for pair in pairs]
    if len(points) < 4:
        raise ValueError(_("a polygon needs at least four points"))
    if points[0] != points[-1]:
        raise ValueError(_("a polygon must end at its first point"))
    return points
