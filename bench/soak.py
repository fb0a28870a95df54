"""Soak: 200 users drafting and reading for 5 minutes while a 100,000-recipient SMS release runs.

Topology, all on loopback: gunicorn (2 workers, gthread) serving the app on PostgreSQL, two worker
processes (`flask --app app worker`: scheduler leadership + dispatchers) sending through the real
`twilio` client to the FakeTwilio of devtools/fakes in a child process, and one asyncio process playing
--users people. Each person edits one of --alerts shared drafts (four people per draft, so conflicts
happen and are answered with 412, re-read and applied again, as a client should), reads it, lists
alerts and comments, with a think time around --think seconds. The release is approved through the
API and scheduled --lead seconds after the soak starts. Everything shares this machine's cores, the
provider fakes included (a real provider's CPU is not ours): the workers, the /hooks pool and the fakes run at a
lower priority (--worker-nice: their niceness and their sessions' scheduling groups', see lower_priority), as
DEPLOYMENT.md advises for workers sharing a machine with the web.

As Twilio does, the fake posts two signed status callbacks per message (sent, then delivered) to the app's
/hooks/twilio/status, which the release's channels config names, served by a gunicorn pool of their own (--hooks-pool).
--import-at seconds after the start, a communicator of BE submits a subscriber list of --import-rows rows (the
documented maximum, 200,000, by default) and follows its job until it is done.

Checked at the end: no 5xx, no connection error, no unexpected status; every delivery row sent (then delivered, as
the callbacks report) and the provider received exactly one message per recipient (nothing lost, nothing twice);
every callback answered 2xx; the import done with every row. Figures: latency p50/p99 per request kind,
throughput, delivery rate, callbacks (count, answers, latency), the import's duration, in a table and
bench/results/soak.json.
Usage: .venv/bin/python bench/soak.py [--seconds 300] [--users 200] [--recipients 100000] [--import-rows 200000]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import free_port, percentile  # noqa: E402
from bench.dispatch_world import PG, SECRET_KEY, Fakes, World  # noqa: E402

CENTRES = ("BE", "NL", "LU", "DE-NW")


def start(command: list[str], env: dict, log: Path, nice: int = 0) -> subprocess.Popen:
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    if nice:
        lower_priority(process.pid, nice)
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def lower_priority(pid: int, nice: int) -> None:
    """Run `pid`'s whole session at `nice`. With Linux's autogroup scheduling (the default on desktop and VM
    kernels) each session is a scheduling group of its own, and a process's niceness weighs only against the
    processes of its own group: `nice -n 10` alone leaves a worker an equal share of the cores beside the web.
    The group's niceness (/proc/<pid>/autogroup) weighs it against the other groups, as systemd's CPUWeight=
    weighs services (DEPLOYMENT.md)."""
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    autogroup = Path(f"/proc/{pid}/autogroup")
    if autogroup.exists():
        autogroup.write_text(str(nice))


def wait_for(url: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def scrape(base: str) -> str:
    """GET /metrics (open to loopback): the operators' view of the same moment."""
    import urllib.request

    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        return response.read().decode()


class Tally:
    def __init__(self):
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []

    def add(self, kind: str, status: int, seconds: float, expected: tuple[int, ...]) -> None:
        self.latency[kind].append(seconds)
        self.statuses[kind][status] += 1
        if status not in expected:
            self.errors.append(f"{kind}: HTTP {status}")


async def person(session, base: str, token: str, alert_id: int, index: int, stop_at: float, think: float,
                 tally: Tally) -> None:
    rng = random.Random(index)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/v1/alerts/{alert_id}"
    etag = None
    edits = 0

    async def call(kind, method, target, expected=(200,), **kw):
        started = time.perf_counter()
        try:
            async with session.request(method, target, headers={**headers, **kw.pop("headers", {})}, **kw) as r:
                body = await r.read()
                tally.add(kind, r.status, time.perf_counter() - started, expected)
                return r.status, r.headers, body
        except (TimeoutError, aiohttp.ClientError) as error:
            tally.errors.append(f"{kind}: {type(error).__name__}: {error}")
            return None, {}, b""

    await asyncio.sleep(rng.random() * think)
    while time.perf_counter() < stop_at:
        roll = rng.random()
        if etag is None or roll < 0.45:
            status, response_headers, _ = await call("read", "GET", url)
            if status == 200:
                etag = response_headers["ETag"]
        elif roll < 0.75:
            edits += 1
            body = {"texts": {"nl": {"description": f"Situatie-update {index}.{edits}: het water stijgt."}},
                    "web": f"https://crisis.example/{index}/{edits}"}
            status, response_headers, _ = await call("edit", "PATCH", url, expected=(200, 412), json=body,
                                                     headers={"If-Match": etag})
            etag = response_headers.get("ETag") if status in (200, 412) else None  # 412 names the current one
        elif roll < 0.9:
            await call("list", "GET", f"{base}/api/v1/alerts?limit=20")
        else:
            await call("comment", "POST", f"{url}/comments", expected=(201,),
                       json={"body": f"Opmerking {index}.{edits}"})
        await asyncio.sleep(rng.expovariate(1 / think))


def subscriber_list(rows: int) -> bytes:
    """A list of `rows` new BE numbers in Antwerp (not the release's area: the release's recipients stay as they
    are), in the four languages."""
    return ("phone,language,areas\n" + "".join(f"+3248{n:07d},{('nl', 'fr', 'de', 'en')[n % 4]},be-ant\n"
                                               for n in range(rows))).encode()


async def importer(session, base: str, token: str, body: bytes, at: float, tally: Tally, report: dict) -> None:
    """Submit the list at `at` (perf_counter), then read its job every 2 s until it ends (its own request kinds)."""
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    started = time.perf_counter()
    async with session.post(f"{base}/api/v1/subscribers/import", data=body,
                            headers={**headers, "Content-Type": "text/csv"}) as response:
        await response.read()
        tally.add("import", response.status, time.perf_counter() - started, (202,))
        location = response.headers.get("Location")
    report.update(bytes=len(body), submitted_s=round(time.perf_counter() - started, 3))
    while location and time.perf_counter() - started < 900:
        await asyncio.sleep(2)
        began = time.perf_counter()
        async with session.get(base + location, headers=headers) as response:
            job = await response.json()
            tally.add("import-job", response.status, time.perf_counter() - began, (200,))
        if job.get("state") in ("done", "failed"):
            report.update(state=job["state"], result=job["result"], errors=job["errors"][:3],
                          done_after_s=round(time.perf_counter() - started, 1), started_at=job["started_at"],
                          finished_at=job["finished_at"])
            return
    report.setdefault("state", "not finished")


async def drive(base: str, people: list[tuple[str, int]], seconds: float, think: float,
                upload: tuple[str, bytes, float] | None = None) -> tuple[Tally, float, dict]:
    tally = Tally()
    imported: dict = {}
    stop_at = time.perf_counter() + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    # idle connections are dropped before gunicorn's 2 s keep-alive ends them: else a request sent on a
    # connection the server is closing meets a reset (a client-side race, which browsers and proxies avoid too)
    connector = aiohttp.TCPConnector(limit=len(people), keepalive_timeout=1.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        jobs = [person(session, base, token, alert_id, i, stop_at, think, tally)
                for i, (token, alert_id) in enumerate(people)]
        if upload:
            token, body, after = upload
            jobs.append(importer(session, base, token, body, began + after, tally, imported))
        await asyncio.gather(*jobs)
        return tally, time.perf_counter() - began, imported


def drafts(world: World, users: int, alerts: int) -> list[tuple[str, int]]:
    from alerts import accounts, authoring

    soon = datetime.now(UTC)
    people, alert_ids = [], []
    with world.db.transaction() as session:
        for index in range(alerts):
            lead = CENTRES[index % len(CENTRES)]
            user = accounts.create_user(session, "soak", username=f"soak.lead.{index}", display_name=f"Lead {index}",
                                        centre_code=lead, roles=["communicator"], password=None)
            alert = authoring.create_alert(session, user, {
                "hazard": "flood", "participants": [c for c in CENTRES if c != lead], "status": "Exercise",
                "onset": soon + timedelta(hours=1), "expires": soon + timedelta(days=2),
                "areas": [{"description": "Limburg", "place": "be-lim"}],
                "texts": {"nl": {"headline": "Overstroming in Limburg"}, "fr": {"headline": "Inondation au Limbourg"},
                          "de": {"headline": "Hochwasser in Limburg"}, "en": {"headline": "Flooding in Limburg"}},
            })
            alert_ids.append(alert.id)
        for index in range(users):
            user = accounts.create_user(session, "soak", username=f"soak.{index}", display_name=f"Person {index}",
                                        centre_code=CENTRES[index % len(CENTRES)], roles=["communicator"],
                                        password=None)
            _, token = accounts.create_token(session, "soak", user, "soak")
            people.append((token, alert_ids[index % alerts]))
    return people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--think", type=float, default=5.0,
                        help="mean think time between a person's requests (1: every person acts every second, "
                             "more than two web workers on two cores can serve)")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--lead", type=float, default=20, help="seconds from the soak's start to the release")
    parser.add_argument("--worker-nice", type=int, default=10,
                        help="niceness of the worker processes, the /hooks pool and the provider fakes, and of their "
                             "sessions' scheduling groups: on one shared machine the people at their screens come "
                             "first (0: no priority)")
    parser.add_argument("--drain-timeout", type=float, default=900)
    parser.add_argument("--hooks-pool", action=argparse.BooleanOptionalAction, default=True,
                        help="serve /hooks from gunicorn workers of their own at the workers' niceness, as "
                             "DEPLOYMENT.md advises (the reverse proxy sends /hooks/ there): the providers' callbacks "
                             "never take the people's web workers (--no-hooks-pool: one pool for everything)")
    parser.add_argument("--import-rows", type=int, default=200_000,
                        help="rows of the subscriber list submitted during the soak (0: none)")
    parser.add_argument("--import-at", type=float, default=None,
                        help="seconds from the soak's start to the import (default: 15 s after the release)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "soak.json"))
    args = parser.parse_args()
    schema = f"soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    fakes = Fakes(own_session=True)
    lower_priority(fakes.process.pid, args.worker_nice)  # the provider's CPU is not ours
    processes: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            world = World(url, fakes, tmp)
            world.wire()
            world.add_subscribers("BE", "be-lim", args.recipients, "+32470")
            people = drafts(world, args.users, args.alerts)
            upload = None
            if args.import_rows:
                from alerts import accounts

                with world.db.transaction() as session:
                    user = accounts.create_user(session, "soak", username="soak.importer", display_name="Importer",
                                                centre_code="BE", roles=["communicator"], password=None)
                    _, import_token = accounts.create_token(session, "soak", user, "soak")
                import_at = args.import_at if args.import_at is not None else args.lead + 15
                upload = (import_token, subscriber_list(args.import_rows), import_at)
            release_alert = world.approved_alert(["be-lim"], ["NL"], "soak")
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            hooks_port = free_port() if args.hooks_pool else port
            hooks_base = f"http://127.0.0.1:{hooks_port}"
            channels_file = tmp / "channels.json"
            callback_url = hooks_base + "/hooks/twilio/status"
            channels_file.write_text(json.dumps(fakes.channels_config(callback_url=callback_url)))
            env = {"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": SECRET_KEY, "BENELERT_DATABASE_URL": url,
                   "BENELERT_PUBLIC_URL": base,
                   "BENELERT_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/14", "BENELERT_LOG_LEVEL": "WARNING",
                   "BENELERT_CHANNELS_FILE": str(channels_file), "BENELERT_SMS_MAX_SEGMENTS": "3",
                   "PYTHONPATH": str(ROOT)}
            processes.append(start([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
                                    "-b", f"127.0.0.1:{port}", "--backlog", "512", "-c", str(ROOT / "gunicorn.conf.py"),
                                    "app:create_app()"], env,
                                   tmp / "web.log"))
            if args.hooks_pool:  # behind one reverse proxy both would have the one public URL Twilio signs
                processes.append(start([sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
                                        "-b", f"127.0.0.1:{hooks_port}", "--backlog", "2048", "-c",
                                        str(ROOT / "gunicorn.conf.py"), "app:create_app()"],
                                       {**env, "BENELERT_PUBLIC_URL": hooks_base}, tmp / "hooks.log",
                                       nice=args.worker_nice))
            for number in (1, 2):
                processes.append(start([sys.executable, "-m", "flask", "--app", "app", "worker", "--threads", "16",
                                        "--name", f"soak-{number}"], env, tmp / f"worker{number}.log",
                                       nice=args.worker_nice))
            wait_for(base + "/readyz")
            wait_for(hooks_base + "/readyz")
            fire_at = datetime.now(UTC) + timedelta(seconds=args.lead)
            release_id = world.schedule(release_alert, {"BE": ["sms"]}, at=fire_at)
            tally, elapsed, imported = asyncio.run(drive(base, people, args.seconds, args.think, upload))
            during = world.states(release_id)
            metrics_during = scrape(base)
            deadline = time.time() + args.drain_timeout
            while time.time() < deadline and world.open_rows(release_id):
                time.sleep(1)
            drained_at = time.time()  # then the last callbacks land and the worker applies them
            while time.time() < deadline and (
                    world.states(release_id).get("delivered", 0) < args.recipients or world.inbox()):
                time.sleep(1)
            applied_s = round(time.time() - drained_at, 1)
            from alerts.models import Delivery, Release

            with world.db.transaction() as session:
                fired_at = session.scalar(select(Release.fired_at).where(Release.id == release_id))
                last = session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.release_id == release_id))
            states = world.states(release_id)
            counts = fakes.counts()
            metrics_after = scrape(base)
            for process in processes:
                stop(process)
            worker_lines = [line for n in (1, 2) for line in (tmp / f"worker{n}.log").read_text().splitlines()]
            worker_errors = [line for line in worker_lines if "Traceback" in line or '"ERROR"' in line]
            web_errors = [line for name in ("web", "hooks") if (tmp / f"{name}.log").exists()
                          for line in (tmp / f"{name}.log").read_text().splitlines() if "Traceback" in line]
            world.db.dispose()
    finally:
        for process in processes:
            stop(process)
        fakes.stop()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    requests = sum(len(v) for v in tally.latency.values())
    kinds = {kind: {"requests": len(values), "p50_ms": round(percentile(values, 50) * 1000, 1),
                    "p99_ms": round(percentile(values, 99) * 1000, 1), "max_ms": round(max(values) * 1000, 1),
                    "statuses": dict(tally.statuses[kind])}
             for kind, values in sorted(tally.latency.items())}
    sent = states.get("sent", 0) + states.get("delivered", 0)  # a delivered row was sent
    delivery_s = (last - fired_at).total_seconds() if last and fired_at else None
    callbacks = counts["callbacks"]
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(), "args": vars(args),
        "requests": requests, "throughput_rps": round(requests / elapsed, 1), "kinds": kinds,
        "errors": len(tally.errors), "error_samples": tally.errors[:20],
        "release": {"recipients": args.recipients, "states_at_soak_end": during, "states": states,
                    "provider_received": counts["twilio"], "provider_recipients": counts["twilio_recipients"],
                    "delivery_s": delivery_s, "rate_per_s": round(sent / delivery_s, 1) if delivery_s else None,
                    "delivered": states.get("delivered", 0), "callbacks_applied_s_after_drain": applied_s},
        "callbacks": callbacks, "import": imported,
        "worker_error_lines": worker_errors[:10], "web_tracebacks": len(web_errors),
        "metrics_at_soak_end": metrics_during, "metrics_after_drain": metrics_after,
    }
    callbacks_ok = set(callbacks["answers"]) <= {"204"} and callbacks["posted"] == 2 * args.recipients
    import_ok = not args.import_rows or (imported.get("state") == "done"
                                         and imported["result"]["imported"] == args.import_rows)
    ok = (not tally.errors and not web_errors and sent == args.recipients == counts["twilio"]
          == counts["twilio_recipients"] and set(states) <= {"sent", "delivered"} and callbacks_ok and import_ok)
    result["ok"] = ok
    out = Path(args.output)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"{'kind':10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    for kind, row in kinds.items():
        print(f"{kind:10} {row['requests']:>9} {row['p50_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}  "
              f"{row['statuses']}")
    print(f"{requests} requests in {elapsed:.0f} s ({result['throughput_rps']} req/s), errors: {len(tally.errors)}")
    print(f"release: {json.dumps(result['release'])}")
    print(f"callbacks: {json.dumps(callbacks)}")
    print(f"import: {json.dumps(imported)}")
    print("OK" if ok else "NOT OK: see " + str(out))


if __name__ == "__main__":
    main()
