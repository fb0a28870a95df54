"""Geometry at a warning's scale: jurisdictions and clipping of a 2,000-vertex polygon, and the selection of the
located subscribers inside it among 1,223,699, each against a baseline in the same run.

  1. jurisdictions: alerts.jurisdictions.of_geometry for a 2,000-vertex polygon along the Maas across the BE-NL
     border (the 26 centres of the network, a 5 km border band), median over --runs. Target: <= 50 ms. Reported
     beside it: reading the polygon (alerts.geo.parse_polygon), each country's part for BE and NL
     (alerts.geo.national_part: clipped, made enclosing, at most 100 vertices), and the baseline, shapely's bare
     intersection of the polygon with Belgium, in the same run.
  2. subscriber selection, on PostgreSQL: --subscribers (1,223,699) subscribers of one centre, each with a location
     drawn uniformly over a box around the polygon (set-based, generate_series), none in a place. The selection is
     what a release's ledger runs (alerts.audience.stage_reached, then the INSERT ... SELECT of alerts.ledger with
     alerts.subscribers.subscriber_filter), written into a copy of the ledger table with its indexes
     (CREATE TABLE ledger_copy (LIKE deliveries INCLUDING ALL)). The baseline: a plain INSERT ... SELECT of the same
     number of rows chosen by an index range on the subscribers' primary key, into the same table. Each runs in its
     own transaction, rolled back, after a CHECKPOINT, alternately --repeats times; medians. Target: selection <=
     2x baseline.
Loopback only; a private schema per run, dropped at the end. Results: a table and bench/results/geo.json.
Usage: .venv/bin/python bench/geo.py [--runs 50] [--subscribers 1223699] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import MetaData, String, Table, cast, create_engine, insert, literal, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from alerts import geo  # noqa: E402
from alerts.audience import reach_of, stage_reached  # noqa: E402
from alerts.jurisdictions import of_geometry  # noqa: E402
from alerts.models import Base, Centre, Delivery, Subscriber, utcnow  # noqa: E402
from alerts.subscribers import subscriber_filter  # noqa: E402
from devtools.demo import ensure_centres  # noqa: E402

PG = os.environ.get("BENELERT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CENTRE = (51.10, 5.80)  # on the Maas between Maaseik (BE) and Roosteren (NL)
TARGET_JURISDICTIONS_MS = 50.0
TARGET_SELECTION_RATIO = 2.0
NETWORK = ["AT", "BE", "CH", "CY", "CZ", "DE-NW", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
           "LU", "LV", "MT", "NL", "NO", "PL", "PT", "SE", "SI"]


def maas_polygon(vertices: int = 2_000, radius_km: float = 18.0, seed: int = 7) -> str:
    """A CAP polygon of `vertices` points around CENTRE: a star-shaped, ragged ring (never crossing itself)."""
    generator = random.Random(seed)
    lat0, lon0 = CENTRE
    points = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        km = radius_km * (1 + 0.25 * math.sin(5 * angle)) * generator.uniform(0.93, 1.0)
        points.append((lat0 + km / 111.2 * math.sin(angle), lon0 + km / (111.2 * math.cos(math.radians(lat0)))
                       * math.cos(angle)))
    points.append(points[0])
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in points)


def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        function()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def jurisdictions_phase(runs: int) -> dict:
    polygon_text = maas_polygon()
    polygon = geo.parse_polygon(polygon_text)
    known = geo.boundaries()
    centres = [SimpleNamespace(code=code) for code in NETWORK]
    content = {"areas": [{"description": "Maas", "polygons": [polygon_text]}]}
    result = of_geometry(polygon, centres, {"BE"}, 5.0, known)  # warm: the territories' metric forms are cached
    belgium = known.by_code["BE"].geometry
    figures = {
        "vertices": len(polygon.exterior.coords) - 1,
        "touched": [row["centre"] for row in result["centres"] if row["touched"]],
        "within_band": [row["centre"] for row in result["centres"] if row["within_band"]],
        "jurisdictions_ms": median_ms(lambda: of_geometry(polygon, centres, {"BE"}, 5.0, known), runs),
        "parse_polygon_ms": median_ms(lambda: geo.parse_polygon(polygon_text), runs),
        "national_part_be_ms": median_ms(lambda: geo.national_part(content, "BE", known), runs),
        "national_part_nl_ms": median_ms(lambda: geo.national_part(content, "NL", known), runs),
        "baseline_bare_intersection_ms": median_ms(lambda: polygon.intersection(belgium), runs),
    }
    parts = {code: geo.national_part(content, code, known)["areas"][0]["polygons"] for code in ("BE", "NL")}
    figures["national_part_vertices"] = {code: [len(p.split()) - 1 for p in polys] for code, polys in parts.items()}
    return figures


COLUMNS = ["release_id", "payload_id", "channel", "lane", "centre_code", "language", "target", "idempotency_key",
           "state", "attempts", "next_attempt_at", "created_at"]


def _rows_from(query_filter, now):
    return select(literal(1), literal(1), literal("sms"), literal("sms"), literal("BE"), Subscriber.language,
                  Subscriber.phone, literal("r1-sms-", String) + cast(Subscriber.id, String), literal("pending"),
                  literal(0), literal(now), literal(now)).where(query_filter)


def selection_phase(count: int, repeats: int) -> dict:
    schema = f"bench_geo_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(f"{PG}?options=-csearch_path%3D{schema}")
    try:
        Base.metadata.create_all(engine)
        west, south, east, north = geo.parse_polygon(maas_polygon()).bounds
        pad = 0.15
        with Session(engine) as session:
            ensure_centres(session)
            session.commit()
        with engine.begin() as connection:
            centre_id = connection.scalar(select(Centre.id).where(Centre.code == "BE"))
            started = time.perf_counter()
            connection.execute(text(
                "INSERT INTO subscribers (centre_id, phone, language, latitude, longitude, created_at) "
                "SELECT :centre, '+3247' || lpad(g::text, 7, '0'), 'nl', :south + random() * :height, "
                ":west + random() * :width, now() FROM generate_series(1, :count) AS g"),
                {"centre": centre_id, "south": south - pad, "height": north - south + 2 * pad, "west": west - pad,
                 "width": east - west + 2 * pad, "count": count})
            connection.execute(text("CREATE TABLE ledger_copy (LIKE deliveries INCLUDING ALL)"))
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        setup_s = time.perf_counter() - started
        reach = reach_of({"areas": [{"description": "Maas", "polygons": [maas_polygon()]}]})
        now = utcnow()

        def selection() -> tuple[float, int]:
            with Session(engine) as session:
                session.execute(text("CHECKPOINT"))
                start = time.perf_counter()
                staged = stage_reached(session, reach, [centre_id])
                written = session.execute(insert(_ledger_copy()).from_select(COLUMNS, _rows_from(
                    subscriber_filter(centre_id, staged, literal(True)), now)),
                    execution_options={"preserve_rowcount": True}).rowcount
                elapsed = time.perf_counter() - start
                session.rollback()
            return elapsed, written

        def baseline(rows: int) -> tuple[float, int]:
            with Session(engine) as session:
                session.execute(text("CHECKPOINT"))
                start = time.perf_counter()
                written = session.execute(insert(_ledger_copy()).from_select(COLUMNS, _rows_from(
                    Subscriber.id <= rows, now)), execution_options={"preserve_rowcount": True}).rowcount
                elapsed = time.perf_counter() - start
                session.rollback()
            return elapsed, written

        chosen, _written = selection()  # warm: the table in the cache, the count to match
        ours, floor = [], []
        for _ in range(repeats):
            seconds, written = selection()
            ours.append(seconds)
            seconds, same = baseline(written)
            floor.append(seconds)
            assert same == written, (same, written)
        return {"subscribers": count, "inside": written, "setup_s": round(setup_s, 1),
                "selection_s": round(statistics.median(ours), 3), "baseline_s": round(statistics.median(floor), 3),
                "ratio": round(statistics.median(ours) / statistics.median(floor), 2),
                "runs": {"selection_s": [round(s, 3) for s in ours], "baseline_s": [round(s, 3) for s in floor]}}
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _ledger_copy():
    """The ledger table's columns, for the copy with its indexes that both runs write into."""
    copy = Table("ledger_copy", MetaData())
    for column in Delivery.__table__.columns:
        copy.append_column(column._copy())
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=1_223_699)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    report = {"jurisdictions": jurisdictions_phase(args.runs),
              "selection": selection_phase(args.subscribers, args.repeats)}
    j, s = report["jurisdictions"], report["selection"]
    report["targets"] = {
        "jurisdictions_ms <= 50": j["jurisdictions_ms"] <= TARGET_JURISDICTIONS_MS,
        "selection <= 2x baseline": s["ratio"] <= TARGET_SELECTION_RATIO,
    }
    rows = [
        ("jurisdictions, 2,000 vertices", f"{j['jurisdictions_ms']:.1f} ms", f"target <= {TARGET_JURISDICTIONS_MS} ms"),
        ("parse_polygon", f"{j['parse_polygon_ms']:.1f} ms", ""),
        ("national_part BE / NL", f"{j['national_part_be_ms']:.1f} / {j['national_part_nl_ms']:.1f} ms",
         f"vertices {j['national_part_vertices']}"),
        ("bare intersection with BE (baseline)", f"{j['baseline_bare_intersection_ms']:.1f} ms", "same run"),
        (f"selection: {s['inside']:,} inside of {s['subscribers']:,}", f"{s['selection_s']:.2f} s",
         f"baseline {s['baseline_s']:.2f} s, ratio {s['ratio']}x (target <= {TARGET_SELECTION_RATIO}x)"),
    ]
    for name, value, note in rows:
        print(f"{name:<44} {value:>16}  {note}")
    print("targets:", report["targets"])
    out = ROOT / "bench" / "results" / "geo.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
