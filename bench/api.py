"""API latency and throughput under gunicorn (2 workers) on PostgreSQL, 50 concurrent clients.

Baseline, measured in the same run and the same way: a trivial Flask route under the same gunicorn
settings. Phases:
  1. baseline: GET on a trivial Flask app            (closed loop, 50 clients)
  2. reads:    GET /api/v1/alerts/<id>               (closed loop, 50 clients)
  3. edits:    PATCH /api/v1/alerts/<id> + If-Match  (50 clients, each on its own alert, paced at
               --edit-rates edits/s in total, one phase per rate: communicators do not edit in a
               tight loop, and the sweep shows up to which rate the p99 target holds)
  4. edits, saturated: the same with no pacing       (what the service can absorb)
Each closed loop starts after 2 unmeasured seconds of the same, and an unmeasured 3-second warm-up of
edits comes before phase 3; gunicorn is started with the project's gunicorn.conf.py, whose hook loads
the phrasebook and freezes the long-lived objects out of the garbage collector before a worker serves.
Phases 1-2 are driven by wrk when it is installed (Debian package `wrk`; --client aiohttp forces the
asyncio client), phases 3-4 by aiohttp (each client chains its If-Match). --threads N runs gunicorn's
gthread workers (keep-alive) instead of sync ones, for the baseline and the app alike.
Loopback only; bounded in time. Usage: .venv/bin/python bench/api.py [--seconds 10] [--threads 4]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts import accounts, authoring  # noqa: E402
from cli import upgrade_database  # noqa: E402
from db import Database  # noqa: E402
from devtools.demo import ensure_centres  # noqa: E402

PG = os.environ.get("BENELERT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLIENTS = 50
TRIVIAL_APP = '''
from flask import Flask, jsonify
app = Flask(__name__)
@app.get("/")
def index():
    return jsonify(status="ok")
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(target: str, env: dict, cwd: Path, extra: list[str], ready_path: str = "/") -> tuple[
        subprocess.Popen, str]:
    """gunicorn on a free port, returned once it answers `ready_path` with 200. The master listens before
    its workers have loaded the app (1-2 s here): a phase started on the open port alone would count
    that boot as latency."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--backlog", "256",
         *extra, target],
        cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + ready_path, timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start for {target}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def summary(name: str, latencies: list[float], errors: int, elapsed: float) -> dict:
    return {
        "phase": name, "requests": len(latencies), "errors": errors,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2), "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_loop(name, url, seconds, headers=None) -> dict:
    """The same closed loop driven by wrk (C, event loop): the load generator takes far less of the two
    cores than aiohttp does, so more of them is left to what is measured."""
    command = ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{seconds:g}s", "--latency", "--timeout", "10s"]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)\s*$", output, re.M))
    if set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")

    def seconds_of(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
        return float(number) * WRK_UNITS[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return {"phase": name, "requests": requests, "errors": errors, "throughput_rps": round(rate, 1),
            "p50_ms": round(seconds_of(percentiles["50"]) * 1000, 2),
            "p99_ms": round(seconds_of(percentiles["99"]) * 1000, 2), "mean_ms": None, "client": "wrk"}


async def closed_loop(name, url, seconds, headers=None) -> dict:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker(session):
        nonlocal errors
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - began
    return summary(name, latencies, errors, elapsed)


async def edit_loop(name, base, seconds, tokens_alerts, rate: float | None) -> dict:
    """Each client edits its own alert, chaining If-Match. The clients read their ETags first, all
    together and unmeasured, so that the measured window holds edits only (a burst of 50 reads at the
    start of a phase would queue the first edits behind it)."""
    latencies: list[float] = []
    errors = 0
    interval = CLIENTS / rate if rate else 0.0

    async def current_etag(session, token, alert_id) -> str:
        async with session.get(f"{base}/api/v1/alerts/{alert_id}",
                               headers={"Authorization": f"Bearer {token}"}) as response:
            await response.read()
            return response.headers["ETag"]

    async def worker(session, index, token, alert_id, etag, began, stop_at):
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        counter = 0
        next_at = began + (index / CLIENTS) * interval
        while time.perf_counter() < stop_at:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            counter += 1
            body = {"web": f"https://crisis.example/{index}/{counter}",
                    "texts": {"nl": {"description": f"Situatie-update {counter}"}}}
            started = time.perf_counter()
            async with session.patch(f"{base}/api/v1/alerts/{alert_id}", json=body,
                                     headers={**headers, "If-Match": etag}) as response:
                await response.read()
                if response.status == 200:
                    etag = response.headers["ETag"]
                else:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        etags = await asyncio.gather(*(current_etag(session, t, a) for t, a in tokens_alerts))
        began = time.perf_counter()
        stop_at = began + seconds
        await asyncio.gather(*(worker(session, i, t, a, etags[i], began, stop_at)
                               for i, (t, a) in enumerate(tokens_alerts)))
        elapsed = time.perf_counter() - began
    return summary(name, latencies, errors, elapsed)


def prepare(url: str) -> tuple[list[tuple[str, int]], str, int]:
    upgrade_database(url)
    database = Database.connect(url)
    soon = datetime.now(UTC)
    pairs = []
    with database.transaction() as session:
        ensure_centres(session)
        reader = accounts.create_user(session, "bench", username="bench.reader", display_name="Reader",
                                      centre_code="BE", roles=["communicator"], password=None)
        _, read_token = accounts.create_token(session, "bench", reader, "bench")
        for index in range(CLIENTS):
            centre = ("BE", "NL")[index % 2]
            user = accounts.create_user(session, "bench", username=f"bench.{index}", display_name=f"Editor {index}",
                                        centre_code=centre, roles=["communicator"], password=None)
            _, token = accounts.create_token(session, "bench", user, "bench")
            alert = authoring.create_alert(session, user, {
                "hazard": "flood", "participants": ["NL" if centre == "BE" else "BE"], "status": "Exercise",
                "onset": soon + timedelta(hours=1), "expires": soon + timedelta(days=2),
                "areas": [{"description": "Limburg"}],
                "texts": {"nl": {"headline": "Overstroming in Limburg", "description": "Het water stijgt.",
                                 "instruction": "Ga naar een hogere verdieping."},
                          "fr": {"headline": "Inondation au Limbourg"}, "de": {"headline": "Hochwasser in Limburg"},
                          "en": {"headline": "Flooding in Limburg"}},
            })
            pairs.append((token, alert.id))
    database.engine.dispose()
    return pairs, read_token, pairs[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--edit-rates", default="10,25,50,100", help="paced edits per second, all clients (comma list)")
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto",
                        help="load generator of the closed loops (auto: wrk when installed, Debian package wrk)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn gthread threads per worker (1: sync)")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))

    def loop(name, url, seconds, headers=None):
        """A measured closed loop after 2 unmeasured seconds of the same (every worker up and warm)."""
        run = wrk_loop if use_wrk else (lambda *a: asyncio.run(closed_loop(*a)))
        run("warm-up", url, 2, headers)
        return run(name, url, seconds, headers)

    workers = ["-k", "gthread", "--threads", str(args.threads)] if args.threads > 1 else []
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    results = []
    try:
        pairs, read_token, read_alert = prepare(url)
        # This process imported the whole app to prepare the data: keep its ~200,000 objects out of the
        # collector's full passes, whose pauses (25-40 ms) would be counted as the service's latency.
        gc.collect()
        gc.freeze()
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "trivial.py").write_text(TRIVIAL_APP)
            server, base = start_gunicorn("trivial:app", {}, Path(tmp), workers)
            try:
                results.append(loop("baseline: trivial Flask route", base + "/", args.seconds))
            finally:
                stop(server)
        env = {"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "b" * 48, "BENELERT_DATABASE_URL": url,
               "BENELERT_PUBLIC_URL": "http://127.0.0.1",
               "BENELERT_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0", "PYTHONPATH": str(ROOT)}
        server, base = start_gunicorn("app:create_app()", env, ROOT, ["-c", str(ROOT / "gunicorn.conf.py"), *workers],
                                      ready_path="/readyz")
        try:
            headers = {"Authorization": f"Bearer {read_token}"}
            results.append(loop("read GET /api/v1/alerts/<id>", f"{base}/api/v1/alerts/{read_alert}",
                                args.seconds, headers))
            # warm-up, not measured: each worker's first edits load the phrasebook's templates and catalogs
            asyncio.run(edit_loop("warm-up", base, 3, pairs, 25))
            for rate in (float(r) for r in args.edit_rates.split(",")):
                results.append(asyncio.run(edit_loop(f"edit PATCH, paced {rate:g}/s", base, args.seconds,
                                                     pairs, rate)))
            results.append(asyncio.run(edit_loop("edit PATCH, saturated", base, args.seconds, pairs, None)))
        finally:
            stop(server)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    baseline = results[0]["throughput_rps"]
    for row in results:
        row["ratio_to_baseline"] = round(row["throughput_rps"] / baseline, 3)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "api.json").write_text(json.dumps(results, indent=2))
    print(f"{'phase':40} {'req':>7} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
    for r in results:
        print(f"{r['phase']:40} {r['requests']:>7} {r['errors']:>4} {r['throughput_rps']:>8} {r['p50_ms']:>8} "
              f"{r['p99_ms']:>8} {r['ratio_to_baseline']:>6}")


if __name__ == "__main__":
    main()
