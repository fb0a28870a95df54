"""A gunicorn web worker started with the project's gunicorn.conf.py loads the phrasebook and freezes its
long-lived objects before it serves (app.prepare_worker): full garbage collections do not walk the
~200,000 objects of the loaded app (their time is measured by bench/api.py, not here)."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.system.test_topology import free_port

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
from app import create_app, prepare_worker
from alerts import phrasebook
create_app({"env": "test", "database_url": sys.argv[1], "secret_key": "t" * 48, "ratelimit_storage": "memory://"})
assert phrasebook.translations_for.cache_info().currsize == 0, "nothing rendered yet"
prepare_worker()
loaded = phrasebook.translations_for.cache_info().currsize
frozen = gc.get_freeze_count()
print(loaded, frozen, len(gc.get_objects()))  # get_objects(): what a full collection still walks
"""


def test_prepare_worker_loads_the_phrasebook_and_freezes_the_app(tmp_path):
    # in a child process: freezing this test process would keep every later test's garbage forever
    out = subprocess.run([sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'probe.db'}"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    loaded, frozen, walked = int(out[0]), int(out[1]), int(out[2])
    assert loaded == 5  # nl, fr, de, en, lb catalogs
    assert frozen > 100_000  # modules, mappers, catalogs, templates
    assert walked < frozen // 20  # a full collection walks a few thousand objects, not the loaded app


def test_gunicorn_runs_the_hook_in_every_worker(tmp_path, database_url):
    from cli import upgrade_database

    upgrade_database(database_url)
    port = free_port()
    errors = tmp_path / "gunicorn.log"
    env = {"PYTHONPATH": str(ROOT), "BENELERT_DATABASE_URL": database_url, "BENELERT_LOG_JSON": "false",
           "PATH": "/usr/bin:/bin"}
    with errors.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "-c",
             str(ROOT / "gunicorn.conf.py"), "app:create_app()"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        ready: set[int] = set()
        while time.monotonic() < deadline and len(ready) < 2:
            ready = {int(pid) for pid, count in re.findall(r"web worker (\d+) ready: phrasebook loaded, (\d+) long",
                                                           errors.read_text()) if int(count) > 100_000}
            time.sleep(0.2)
        assert len(ready) == 2, errors.read_text()[-3000:]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
