"""Fixtures of the system tests: the provider stand-ins, `spawn(name, *args)` that starts `flask --app app worker`
against the test's database (stopped with SIGTERM at the end), and the browser of the browser tests: Debian's
Chromium, required (a test that needs it fails without it)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from devtools.world import channels_config, start_fakes, write_channels_file

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Browser:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (`make test` does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def fakes():
    with ExitStack() as stack:
        yield start_fakes(stack)


@pytest.fixture
def spawn(database_url, fakes, tmp_path):
    processes: list[subprocess.Popen] = []
    path = write_channels_file(tmp_path, channels_config(fakes))

    def start(name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """A worker named `name` with these command-line `args` and extra environment `env`."""
        env = {**os.environ, "BENELERT_ENV": "test", "BENELERT_SECRET_KEY": "w" * 40,
               "BENELERT_DATABASE_URL": database_url, "BENELERT_CHANNELS_FILE": path,
               "BENELERT_SMS_MAX_SEGMENTS": "3", "BENELERT_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
               **(env or {})}
        with tmp_path.joinpath(f"{name}.log").open("w") as log:  # the child keeps its own descriptor
            process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--name", name,
                                        *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
