"""`make topology` for real: deploy/topology.py starts PostgreSQL's database, migrations, the provider
stand-ins, the demo data, gunicorn with two web workers and two worker processes; it answers /readyz and
/metrics (with one scheduler leader among the workers), and Ctrl-C stops every process it started."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.conftest import PG_BASE

ROOT = Path(__file__).resolve().parents[2]
SERVER = PG_BASE.replace("+psycopg", "").rsplit("/", 1)[0]  # the test server, without a database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def leaders(base: str) -> float | None:
    status, body = get(f"{base}/metrics")
    if status != 200:
        return None
    for family in text_string_to_metric_families(body):
        if family.name == "benelert_scheduler_leaders":
            return family.samples[0].value
    return None


def test_topology_starts_serves_and_stops_cleanly(tmp_path):
    port, database = free_port(), f"benelert_topology_test_{uuid.uuid4().hex[:8]}"
    instance = tmp_path / "instance"
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("BENELERT_")}
    log = (tmp_path / "topology.log").open("w")
    command = [sys.executable, "deploy/topology.py", "--port", str(port), "--database", database, "--server", SERVER,
               "--instance", str(instance)]
    launcher = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    pids: dict[str, int] = {}
    try:
        output = lambda: (tmp_path / "topology.log").read_text()  # noqa: E731
        # the launcher says so once /readyz answers and the demo data is in
        up = wait_for(lambda: "topology up:" in output() or launcher.poll() is not None, timeout=35)
        assert up and launcher.poll() is None, output()
        status, body = get(f"{base}/readyz")
        assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}
        # one of the two workers holds the scheduler lock (the metric reads pg_locks of this database)
        assert wait_for(lambda: leaders(base) == 1, timeout=15), output()
        status, body = get(f"{base}/metrics")
        assert status == 200 and "benelert_deliveries{" in body

        pids = json.loads((instance / "topology.json").read_text())["pids"]
        assert set(pids) == {"fakes", "web", "worker-1", "worker-2"}
        assert all(alive(pid) for pid in pids.values())
        for name in ("worker-1", "worker-2"):
            assert b"worker" in Path(f"/proc/{pids[name]}/cmdline").read_bytes()
        web_workers = children(pids["web"])
        assert len(web_workers) == 2  # gunicorn's two web workers
        pids.update({f"web-{pid}": pid for pid in web_workers})
        assert "be.communicator" in (instance / "demo-credentials.txt").read_text()  # its own instance folder

        launcher.send_signal(signal.SIGINT)  # Ctrl-C
        assert launcher.wait(timeout=30) == 0, output()
        assert not [name for name, pid in pids.items() if alive(pid)], output()
        assert "topology stopped" in output() and not (instance / "topology.json").exists()
    finally:
        if launcher.poll() is None:  # a failed check: let the launcher stop its processes, as Ctrl-C would
            launcher.send_signal(signal.SIGTERM)
            try:
                launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
        if not pids and (instance / "topology.json").exists():
            pids = json.loads((instance / "topology.json").read_text())["pids"]
        for pid in list(pids.values()):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
