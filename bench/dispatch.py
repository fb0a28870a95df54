"""Dispatch: ledger-backed sending against the bare provider client, measured in the same run on PostgreSQL.

Phases (each bounded in time; the provider fakes of devtools/fakes run in a child process, as a provider is
not in our process: in-process fakes would take the dispatcher's GIL and measure themselves):
  1. throughput: an SMS release to --sms subscribers (20,000) through the real `twilio` client to the local
     FakeTwilio (no latency): release_due + Dispatcher.run (--threads 16, the worker's default) from the
     release to the last `sent_at`, against a bare sequential `client.messages.create` loop (same client, same
     fake) over --bare messages (5,000: 20,000 would take as long again), half run before and half after the
     ledger run, as the machine is shared and its load drifts. Target: ledger >= 85% of bare.
  2. provider latency: the same with FakeTwilio(latency=0.1) and --slow-threads (96) dispatcher threads, over
     --slow-sms subscribers, against a sequential loop over 30 messages. Target: >= 40x sequential.
  3. skew: --releases (20) coordinated three-centre releases (BE, NL, LU: national system, X, SMS to a few
     subscribers each, plus 26 partner webhook endpoints: 53 rows) scheduled at T a moment ahead, picked up by a
     running worker.Worker (tick --tick, --skew-threads 64 >= rows per release); T -> first_attempt_at of
     every delivery, split into the fire delay, release_due's own time, the dispatcher's pickup and the spread
     within a release. Target: p99 <= 250 ms. The worker's scheduler leadership is a database-wide PostgreSQL
     advisory lock: the bench replaces it with an always-leader stub, so it neither waits for nor blocks
     workers of other schemas.
  4. ledger write: release_due for an SMS release to 1,223,699 subscribers in the alert's area (subscribers
     inserted set-based beforehand); only release_due's transaction is timed. Target: <= 30 s. Then: what a
     claim costs with 1.2 million rows due, and (unless --no-diagnose) the same INSERT ... SELECTs into a copy
     of the ledger table without its foreign keys.
Loopback only; a private schema per run, dropped at the end. Results: a table and bench/results/dispatch.json.
Usage: .venv/bin/python bench/dispatch.py [--phases 1,2,3,4] [--sms 20000] [--bare 5000] ...
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench.api import percentile  # noqa: E402
from bench.dispatch_world import PG, SENDER, Fakes, World  # noqa: E402

NATIONAL_SCALE = 1_223_699


def release_options():
    from alerts.release import ReleaseOptions
    from channels.specs import TextLimits

    return ReleaseOptions(limits=TextLimits(sms_max_segments=3))


def fire(world: World) -> tuple[list[int], float]:
    from alerts.firing import release_due

    started = time.perf_counter()
    with world.db.transaction() as session:
        fired = release_due(session, release_options(), "bench")
    return fired, time.perf_counter() - started


def wait_until(predicate, timeout: float, every: float = 0.1) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def bare_loop(client, count: int, prefix: str, body: str) -> tuple[float, float]:
    """Sequential `client.messages.create` calls; returns (messages per second, CPU ms per message here)."""
    started, cpu = time.perf_counter(), time.process_time()
    for index in range(count):
        client.messages.create(to=f"{prefix}{index:07d}", from_=SENDER, body=body)
    return count / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / count


def ledger_run(world: World, channels: dict, release_id: int, expected: int, threads: int, timeout: float,
               fake: str) -> dict:
    """Fire the release, run one Dispatcher until the ledger is drained; rate from the fire to the last sent_at.
    `fake` names the fake whose message count must grow by exactly the rows sent (nothing sent twice)."""
    from alerts.dispatch import Dispatcher, DispatchOptions
    from alerts.models import Delivery

    dispatcher = Dispatcher(world.db, channels, f"bench-{release_id}", DispatchOptions(threads=threads))
    received = world.fakes.counts()[fake]
    cpu, fake_cpu = time.process_time(), world.fakes.cpu_seconds()
    began = datetime.now(UTC)
    fired, write_s = fire(world)
    assert fired == [release_id], fired
    runner = threading.Thread(target=dispatcher.run, daemon=True)
    runner.start()
    drained = wait_until(lambda: world.open_rows(release_id) == 0, timeout, every=0.25)
    dispatcher.stop()
    runner.join(timeout=30)
    cpu, fake_cpu = time.process_time() - cpu, world.fakes.cpu_seconds() - fake_cpu
    received = world.fakes.counts()[fake] - received
    with world.db.transaction() as session:
        last = session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.release_id == release_id))
    states = world.states(release_id)
    elapsed = (last - began).total_seconds()
    return {"rows": sum(states.values()), "sent": states.get("sent", 0), "states": states, "drained": drained,
            "provider_received": received, "sent_once": received == states.get("sent", 0) == expected,
            "ledger_write_s": round(write_s, 3), "elapsed_s": round(elapsed, 3),
            "rate": round(states.get("sent", 0) / elapsed, 1), "expected": expected,
            "cpu_ms_per_message": round(cpu * 1000 / max(1, expected), 3),
            "fake_cpu_ms_per_message": round(fake_cpu * 1000 / max(1, expected), 3)}


# ---- phases ------------------------------------------------------------------------------------------------
def phase_throughput(world: World, args) -> dict:
    """The bare loop runs half before and half after the ledger run, so drift in the machine's load (it is
    shared) weighs on both sides alike."""
    from channels import build_channels

    channels = build_channels(world.fakes.channels_config())
    client = channels["sms"].client
    body = "Flooding in Limburg. Move to a higher floor. Call 112 if in danger."
    bare_loop(client, 200, "+3240", body)  # warm-up: connections, imports, the fake's threads
    world.add_subscribers("BE", "be-ant", args.sms, "+3246")
    alert = world.approved_alert(["be-ant"], ["NL"], "#throughput")
    release_id = world.schedule(alert, {"BE": ["sms"]})
    first = args.bare // 2
    before, cpu_before = bare_loop(client, first, "+3241", body)
    ledger = ledger_run(world, channels, release_id, args.sms, args.threads, timeout=120, fake="twilio")
    after, cpu_after = bare_loop(client, args.bare - first, "+3242", body)
    bare = args.bare / (first / before + (args.bare - first) / after)
    ratio = ledger["rate"] / bare
    return {"phase": "1 throughput, no latency", "ledger": ledger, "ledger_rate": ledger["rate"],
            "baseline": f"bare sequential client.messages.create x{args.bare} (half before, half after)",
            "baseline_rate": round(bare, 1), "baseline_before_after": [round(before, 1), round(after, 1)],
            "baseline_cpu_ms_per_message": round((cpu_before * first + cpu_after * (args.bare - first)) / args.bare, 3),
            "ratio": round(ratio, 3), "target": ">= 0.85", "met": ratio >= 0.85 and ledger["sent_once"],
            "threads": args.threads}


def phase_latency(world: World, args) -> dict:
    from channels import build_channels

    channels = build_channels(world.fakes.channels_config(world.fakes.info["twilio_slow"]))
    body = "Flooding in Limburg. Move to a higher floor. Call 112 if in danger."
    bare_loop(channels["sms"].client, 3, "+3243", body)
    sequential, _ = bare_loop(channels["sms"].client, 30, "+3244", body)
    world.add_subscribers("BE", "be-ovl", args.slow_sms, "+3245")
    alert = world.approved_alert(["be-ovl"], ["NL"], "#latency")
    release_id = world.schedule(alert, {"BE": ["sms"]})
    ledger = ledger_run(world, channels, release_id, args.slow_sms, args.slow_threads, timeout=60,
                        fake="twilio_slow")
    ratio = ledger["rate"] / sequential
    return {"phase": "2 provider latency 100 ms", "ledger": ledger, "ledger_rate": ledger["rate"],
            "baseline": "sequential client.messages.create x30", "baseline_rate": round(sequential, 2),
            "ratio": round(ratio, 1), "target": ">= 40", "met": ratio >= 40 and ledger["sent_once"],
            "threads": args.slow_threads}


class AlwaysLeader:
    """The worker's leadership is a database-wide advisory lock; the bench must not contend with other schemas."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        pass


def ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def finished(states: dict[str, int]) -> bool:
    return bool(states) and not set(states) & {"pending", "claimed", "sending"}




def phase_skew(world: World, args) -> dict:
    import worker as worker_module
    from alerts.dispatch import DispatchOptions
    from alerts.models import Delivery, Release
    from channels import build_channels
    from worker import Worker

    places = {"BE": "be-lim", "NL": "nl-li", "LU": "lu-esch"}
    for index, (code, place) in enumerate(places.items()):
        world.add_subscribers(code, place, args.skew_sms, f"+3248{index}")
    world.partners(True)
    channels = build_channels(world.fakes.channels_config())
    worker = Worker(world.db, channels, release_options(), DispatchOptions(threads=args.skew_threads),
                    tick=args.tick, name="bench-worker")
    worker.leadership = AlwaysLeader()
    fired_at: dict[int, tuple[datetime, datetime]] = {}  # release -> release_due's start and end (instrumentation)
    real_release_due = worker_module.release_due

    def timed_release_due(*a, **kw):
        began = datetime.now(UTC)
        fired = real_release_due(*a, **kw)
        for release_id in fired:
            fired_at[release_id] = (began, datetime.now(UTC))
        return fired

    worker_module.release_due = timed_release_due
    delays: list[float] = []
    by_channel: dict[str, list[float]] = {}  # T -> first attempt, per channel
    send_ms: dict[str, list[float]] = {}  # first attempt -> sent, per channel
    write_ms: list[float] = []  # release_due's duration (the ledger write) per release
    pickup_ms: list[float] = []  # end of release_due -> the release's earliest first attempt
    per_release = []
    worker.start()
    try:
        for number in range(args.releases):
            alert = world.approved_alert(list(places.values()), ["NL", "LU"], f"#{number + 1}")
            at = datetime.now(UTC) + timedelta(seconds=args.lead)
            release_id = world.schedule(alert, {code: ["national", "sms", "x", "partners"] for code in places}, at)
            time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))
            wait_until(lambda rid=release_id: finished(world.states(rid)), 30, every=0.05)
            with world.db.transaction() as session:
                scheduled, late_ms = session.execute(select(Release.scheduled_for, Release.late_ms).where(
                    Release.id == release_id)).one()
                rows = session.execute(select(Delivery.channel, Delivery.first_attempt_at, Delivery.sent_at).where(
                    Delivery.release_id == release_id)).all()
            mine = [ms(first - scheduled) if first else float("inf") for _, first, _ in rows]
            delays += mine
            for channel, first, sent in rows:
                by_channel.setdefault(channel, []).append(ms(first - scheduled) if first else float("inf"))
                if first and sent:
                    send_ms.setdefault(channel, []).append(ms(sent - first))
            began, ended = fired_at.get(release_id, (scheduled, scheduled))
            write_ms.append(ms(ended - began))
            pickup_ms.append(min(mine) - ms(ended - scheduled))
            per_release.append({"release": release_id, "rows": len(mine), "late_ms": late_ms,
                                "release_due_ms": round(ms(ended - began), 1),
                                "pickup_ms": round(min(mine) - ms(ended - scheduled), 1),
                                "spread_ms": round(max(mine) - min(mine), 1),
                                "start_commits": len({first for _, first, _ in rows}),
                                "max_ms": round(max(mine), 1), "states": world.states(release_id),
                                "slowest_channel": max(zip(mine, [c for c, _, _ in rows], strict=True))[1]})
    finally:
        worker.stop()
        worker_module.release_due = real_release_due
        world.partners(False)
    p99 = percentile(delays, 99)
    return {"phase": "3 coordinated-release skew", "releases": args.releases, "deliveries": len(delays),
            "rows_per_release": per_release[0]["rows"] if per_release else 0,
            "p50_ms": round(percentile(delays, 50), 1), "p99_ms": round(p99, 1), "max_ms": round(max(delays), 1),
            "late_ms_p50": percentile([r["late_ms"] or 0 for r in per_release], 50),
            "late_ms_max": max(r["late_ms"] or 0 for r in per_release),
            "release_due_ms_p50": round(percentile(write_ms, 50), 1), "release_due_ms_max": round(max(write_ms), 1),
            "pickup_ms_p50": round(percentile(pickup_ms, 50), 1), "pickup_ms_max": round(max(pickup_ms), 1),
            "spread_ms_p50": percentile([r["spread_ms"] for r in per_release], 50),
            "spread_ms_max": max(r["spread_ms"] for r in per_release),
            "first_attempt_p99_ms_by_channel": {c: round(percentile(v, 99), 1) for c, v in sorted(by_channel.items())},
            "send_p50_ms_by_channel": {c: round(percentile(v, 50), 1) for c, v in sorted(send_ms.items())},
            "per_release": per_release,
            "tick_s": args.tick, "threads": args.skew_threads, "target": "p99 <= 250 ms", "met": p99 <= 250}


def phase_ledger_write(world: World, args) -> dict:
    from sqlalchemy import event

    from alerts.models import Delivery

    started = time.perf_counter()
    world.add_subscribers("BE", "be-hai", args.subscribers, "+3249")
    setup_s = time.perf_counter() - started
    alert = world.approved_alert(["be-hai"], ["NL"], "#national")
    release_id = world.schedule(alert, {"BE": ["sms"]})
    ledger_statements: list[tuple[str, dict, float]] = []  # the set-based INSERT ... SELECTs, with their times

    def before(connection, cursor, statement, parameters, context, executemany):
        connection.info["bench_started"] = time.perf_counter()

    def after(connection, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO deliveries") and " SELECT " in statement and not executemany:
            ledger_statements.append((statement, parameters, time.perf_counter() - connection.info["bench_started"]))

    event.listen(world.db.engine, "before_cursor_execute", before)
    event.listen(world.db.engine, "after_cursor_execute", after)
    try:
        fired, write_s = fire(world)
    finally:
        event.remove(world.db.engine, "before_cursor_execute", before)
        event.remove(world.db.engine, "after_cursor_execute", after)
    assert fired == [release_id], fired
    with world.db.transaction() as session:
        rows = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.release_id == release_id))
    result = {"phase": "4 ledger write, national scale", "subscribers": args.subscribers, "rows": rows,
              "subscriber_setup_s": round(setup_s, 1), "release_due_s": round(write_s, 2),
              "insert_select_s": [round(seconds, 2) for _, _, seconds in ledger_statements],
              "rows_per_s": round(rows / write_s), "target": "<= 30 s",
              "met": write_s <= 30 and rows == args.subscribers}
    result["claim_64_of_all_due_ms"] = claim_at_scale(world)
    if args.diagnose and ledger_statements:
        result["diagnosis"] = without_foreign_keys(world, ledger_statements)
    return result


def claim_at_scale(world: World) -> list[float]:
    """What a dispatcher's claim costs right after the national-scale write (1.2 million rows due, statistics
    not yet refreshed by autoanalyze): three claims of 64 rows, in ms. The rows stay claimed; nothing is sent."""
    from alerts.dispatch import Dispatcher, DispatchOptions

    dispatcher = Dispatcher(world.db, {}, "bench-claim", DispatchOptions())
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        claimed = dispatcher.claim(64)
        timings.append(round((time.perf_counter() - started) * 1000, 1))
        assert len(claimed) == 64, claimed
    return timings


def without_foreign_keys(world: World, statements: list[tuple[str, dict, float]]) -> dict:
    """The same INSERT ... SELECTs into a copy of the ledger table with its indexes but without its foreign keys
    (CREATE TABLE ... LIKE copies no foreign key): how much of the write the row-by-row foreign key checks take."""
    with world.db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE ledger_probe (LIKE deliveries INCLUDING ALL)"))
    try:
        started = time.perf_counter()
        with world.db.engine.begin() as connection:
            for statement, parameters, _ in statements:
                connection.exec_driver_sql(statement.replace("INSERT INTO deliveries ", "INSERT INTO ledger_probe ", 1),
                                           parameters)
        seconds = time.perf_counter() - started
    finally:
        with world.db.engine.begin() as connection:
            connection.execute(text("DROP TABLE ledger_probe"))
    return {"same_inserts_without_foreign_keys_s": round(seconds, 2),
            "same_inserts_with_foreign_keys_s": round(sum(s for _, _, s in statements), 2),
            "note": "deliveries.release_id and deliveries.payload_id are foreign keys: PostgreSQL checks each "
                    "inserted row against releases and payloads with a trigger, per row"}


# ---- main --------------------------------------------------------------------------------------------------
def print_table(results: list[dict]) -> None:
    print(f"\n{'phase':32} {'ledger':>24} {'baseline':>24} {'ratio':>8} {'target':>14} {'met':>4}")
    for r in results:
        if "ledger_rate" in r:
            ledger, base = f"{r['ledger_rate']}/s ({r['ledger']['sent']})", f"{r['baseline_rate']}/s"
            ratio = r["ratio"]
        elif "p99_ms" in r:
            ledger = f"p99 {r['p99_ms']} ms (max {r['max_ms']})"
            base, ratio = f"p50 {r['p50_ms']} ms, {r['deliveries']} dl", "-"
        else:
            ledger = f"{r['release_due_s']} s ({r['rows']} rows)"
            base, ratio = f"{r['rows_per_s']} rows/s", "-"
        met = "yes" if r["met"] else "NO"
        print(f"{r['phase']:32} {ledger:>24} {base:>24} {ratio!s:>8} {r['target']:>14} {met:>4}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="1,2,3,4")
    parser.add_argument("--sms", type=int, default=20_000)
    parser.add_argument("--bare", type=int, default=5_000,
                        help="messages in the bare loop of phase 1 (20,000 would take as long again as the ledger run)")
    parser.add_argument("--threads", type=int, default=16, help="dispatcher threads, phase 1")
    parser.add_argument("--slow-sms", type=int, default=6_000)
    parser.add_argument("--slow-threads", type=int, default=96, help="dispatcher threads, phase 2")
    parser.add_argument("--releases", type=int, default=20)
    parser.add_argument("--skew-sms", type=int, default=5, help="subscribers per centre, phase 3")
    parser.add_argument("--skew-threads", type=int, default=64, help="dispatcher threads, phase 3 (>= rows/release)")
    parser.add_argument("--tick", type=float, default=0.05, help="worker tick (release_due interval), phase 3")
    parser.add_argument("--lead", type=float, default=1.0, help="seconds from scheduling to T, phase 3")
    parser.add_argument("--subscribers", type=int, default=NATIONAL_SCALE)
    parser.add_argument("--no-diagnose", dest="diagnose", action="store_false",
                        help="phase 4: skip re-running the ledger inserts without foreign keys")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "dispatch.json"))
    args = parser.parse_args()
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum number of running instances"
    phases = {int(p) for p in args.phases.split(",")}
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    results: list[dict] = []
    fakes = Fakes()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            world = World(url, fakes, Path(tmp))
            world.wire()
            runs = [(1, phase_throughput), (2, phase_latency), (3, phase_skew), (4, phase_ledger_write)]
            for number, phase in runs:
                if number in phases:
                    began = time.perf_counter()
                    result = phase(world, args)
                    result["phase_s"] = round(time.perf_counter() - began, 1)
                    results.append(result)
                    print(json.dumps({k: v for k, v in result.items() if k != "per_release"}), flush=True)
            counts = fakes.counts()
            world.db.engine.dispose()
    finally:
        fakes.stop()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    out = Path(args.output)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
                               "fakes": counts, "results": results, "args": vars(args)}, indent=2, default=str))
    print_table(results)
    print(f"fakes received: {counts}")
    if any(not r["met"] for r in results):
        print("below target:", ", ".join(r["phase"] for r in results if not r["met"]))


if __name__ == "__main__":
    main()
