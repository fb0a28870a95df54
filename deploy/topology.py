"""`make topology`: the production topology on this machine (docs/DEPLOYMENT.md), with the demo data.

PostgreSQL (the local server; database benelert_topology, created if absent) -> migrations, while the local
provider stand-ins start (devtools/fakes/run.py, as `make run`) -> seed-demo -> gunicorn with 2 web workers on
127.0.0.1:8000 -> 2 worker processes (`flask --app app worker`: one becomes scheduler leader, both dispatch),
as two machines would run them. Redis holds the login throttle and the dispatch rate limits. Ctrl-C (or
SIGTERM) stops everything; if any process dies, the others are stopped too and the exit status is 1.

    .venv/bin/python deploy/topology.py [--port 8000] [--database benelert_topology] [--workers 2]

Local state (development secret key, demo credentials, provider wiring, topology.json with the process ids)
goes to --instance (default instance/topology), never to the `make run` instance folder.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432"
SANDBOX = '{"sms": "+32470000000", "x": "SANDBOX", "mastodon": "SANDBOX"}'


def ensure_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", flush=True)


class Topology:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.instance = args.instance.resolve()
        self.url = f"http://127.0.0.1:{args.port}"
        self.env = {
            **os.environ,
            "BENELERT_ENV": "development",  # seed-demo refuses production; cookies stay plain-http usable
            "BENELERT_DATABASE_URL": f"{args.server}/{args.database}",
            "BENELERT_INSTANCE_PATH": str(self.instance),
            "BENELERT_RATELIMIT_STORAGE": args.redis,
            "BENELERT_LOG_JSON": "false",
            # as `make run` (the Makefile's DEMO_ENV)
            "BENELERT_CHANNELS_FILE": str(self.instance / "demo-channels.json"),
            "BENELERT_SMS_MAX_SEGMENTS": "4",
            "BENELERT_SANDBOX_TARGETS": SANDBOX,
            "PYTHONPATH": str(ROOT),
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def flask(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flask", "--app", "app", *args]

    def run(self, *command: str, env: dict | None = None) -> None:
        subprocess.run(command, cwd=ROOT, env=env or self.env, check=True)

    def start(self, name: str, command: list[str]) -> None:
        # a session of its own: Ctrl-C reaches only this launcher, which stops the processes in order
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True)

    def control_socket(self) -> list[str]:
        """gunicorn 27 opens a control socket, by default one per user: each topology gets its own."""
        import gunicorn

        return ["--control-socket", str(self.instance / "gunicorn.ctl")] if gunicorn.version_info >= (27,) else []

    def up(self) -> None:
        self.instance.mkdir(parents=True, exist_ok=True)
        ensure_database(self.args.server, self.args.database)
        wiring = self.instance / "demo-wiring.json"
        wiring.unlink(missing_ok=True)
        self.start("fakes", [sys.executable, "-m", "devtools.fakes.run", str(self.instance),
                             "--callback", f"{self.url}/hooks/twilio/status"])
        # meanwhile, the migrations (without the channels file, which the stand-ins are writing)
        self.run(*self.flask("db", "upgrade"), env={k: v for k, v in self.env.items() if k != "BENELERT_CHANNELS_FILE"})
        deadline = time.monotonic() + 20
        while not wiring.exists():
            if time.monotonic() > deadline or self.processes["fakes"].poll() is not None:
                raise RuntimeError("the provider stand-ins did not start")
            time.sleep(0.1)
        self.start("web", [sys.executable, "-m", "gunicorn", "--workers", str(self.args.web_workers),
                           "--bind", f"127.0.0.1:{self.args.port}", "--graceful-timeout", "10",
                           "--access-logfile", "-", "-c", str(ROOT / "gunicorn.conf.py"), *self.control_socket(),
                           "app:create_app()"])
        for number in range(1, self.args.workers + 1):
            self.start(f"worker-{number}", self.flask("worker", "--name", f"topology-{number}"))
        (self.instance / "topology.json").write_text(json.dumps(
            {"url": self.url, "database": self.args.database,
             "pids": {name: process.pid for name, process in self.processes.items()}}, indent=2))
        self.run(*self.flask("seed-demo"))  # while those start: they need no demo data to start

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.stopping.wait(0.2):
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.processes["web"].poll() is not None:
                raise RuntimeError(f"{self.url}/readyz did not answer")

    def watch(self) -> int:
        """Until a signal (0) or until a process dies (1)."""
        while not self.stopping.wait(0.5):
            for name, process in self.processes.items():
                if process.poll() is not None:
                    print(f"topology: {name} exited with status {process.returncode}; stopping", flush=True)
                    return 1
        return 0

    def down(self) -> None:
        """Workers first (they finish their sends), then the web, then the providers."""
        order = sorted(self.processes, key=lambda name: (not name.startswith("worker"), name == "fakes"))
        for name in order:
            if self.processes[name].poll() is None:
                self.processes[name].send_signal(signal.SIGTERM)
        for name in order:
            try:
                self.processes[name].wait(timeout=30)
            except subprocess.TimeoutExpired:
                print(f"topology: {name} did not stop in 30 s; killed", flush=True)
                self.processes[name].kill()
                self.processes[name].wait()
        (self.instance / "topology.json").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL, without a database")
    parser.add_argument("--database", default="benelert_topology")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (one per machine in production)")
    parser.add_argument("--instance", type=Path, default=ROOT / "instance" / "topology")
    topology = Topology(parser.parse_args())
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: topology.stopping.set())
    status = 1
    try:
        topology.up()
        topology.wait_ready()
        if not topology.stopping.is_set():
            print(f"topology up: {topology.url} (metrics at {topology.url}/metrics); "
                  f"credentials in {topology.instance / 'demo-credentials.txt'}; Ctrl-C stops", flush=True)
        status = topology.watch()
    except (RuntimeError, subprocess.CalledProcessError, psycopg.Error) as error:
        print(f"topology: {error}", file=sys.stderr, flush=True)
    finally:
        topology.down()
    print("topology stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
