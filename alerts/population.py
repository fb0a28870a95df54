"""An estimate of how many people live inside a warning's area, per country, so that a spokesperson sees the size of
what they approve: the inhabitants of the towns and villages (GeoNames, at least 1,000 inhabitants) whose point lies
inside the area (data/populated_places.json, rebuilt by geo/build_population.py; data/POPULATION.md).

It is a floor, not a census: hamlets under 1,000 inhabitants are not counted, and a town counts whole or not at all,
by where its point lies. The caller says so next to the figure."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy
import shapely
from shapely.geometry.base import BaseGeometry

PLACES = Path(__file__).resolve().parents[1] / "data" / "populated_places.json"


@cache
def _places(path: Path = PLACES) -> dict[str, numpy.ndarray]:
    """Per country, an array of rows (latitude, longitude, population)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {country: numpy.array(rows, dtype=float).reshape(-1, 3) for country, rows in data["countries"].items()}


def estimate(geometry: BaseGeometry, path: Path = PLACES) -> dict[str, int]:
    """Per country (ISO 3166-1 alpha-2) with a counted place inside, the estimate of people living in the area."""
    if geometry.is_empty:
        return {}
    west, south, east, north = geometry.bounds
    shapely.prepare(geometry)
    found = {}
    for country, rows in _places(path).items():
        near = rows[(rows[:, 0] >= south) & (rows[:, 0] <= north) & (rows[:, 1] >= west) & (rows[:, 1] <= east)]
        if len(near):
            inside = near[shapely.intersects_xy(geometry, near[:, 1], near[:, 0])]
            if len(inside):
                found[country] = int(inside[:, 2].sum())
    return found
