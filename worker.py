"""The worker process (`flask --app app worker`): APScheduler fires due releases and recovers leases,
dispatcher threads send the ledger. Never run inside web workers.

Leadership: on PostgreSQL the scheduler's jobs run only while this process holds an advisory lock on a
dedicated connection; a standby keeps trying and takes over within a second when the leader dies (its
connection closes, the lock goes with it). `release_due` is idempotent besides, so even two leaders
could not fire a release twice. Dispatchers run in every worker: per lane (main: national systems, partner
copies, social posts; sms: the subscriber fan-out) `--dispatchers` of them, each with `--threads` senders.
Every worker also imports subscriber lists (alerts.import_jobs), one job at a time, in a thread of its own; the
leader applies the inbox of provider status reports every second.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import replace
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from alerts import comm_test_schedule, import_jobs
from alerts.ack_deadlines import remind_overdue
from alerts.dispatch import LANES, Dispatcher, DispatchOptions
from alerts.firing import LEADER_LOCK, expire_due, release_due
from alerts.outcomes import apply_held_reports, reconcile_unknown, recover_expired_leases
from alerts.release import ReleaseOptions
from db import Database

log = logging.getLogger("benelert.worker")
REPORTS_EVERY = 1.0  # seconds between two applications of the provider reports' inbox
NETWORK_DUTIES_EVERY = 20.0  # seconds: the scheduled communication test, reminders of overdue acknowledgements
IMPORTS_EVERY = 1.0  # seconds between two looks for a queued subscriber import


class Leadership:
    """Holds the PostgreSQL advisory lock while leader; SQLite has one worker by construction."""

    def __init__(self, db: Database):
        self.db = db
        self._connection = None
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        if self.db.dialect != "postgresql":
            return True
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    return True
                except Exception:  # connection lost: so is the lock
                    self._connection.invalidate()
                    self._connection = None
            connection = self.db.engine.connect()
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar()
            connection.commit()
            if got:
                self._connection = connection
                log.info("became scheduler leader")
                return True
            connection.close()
            return False

    def release(self) -> None:
        """Give the lock up now. The connection is discarded, not pooled: a session-level advisory lock
        lives as long as the server session, so a pooled connection would keep holding it."""
        with self._lock:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection = None


class Worker:
    def __init__(self, db: Database, channels, release_options: ReleaseOptions, dispatch_options: DispatchOptions,
                 dispatchers: int = 1, tick: float = 0.1, name: str | None = None,
                 lanes: tuple[str, ...] = LANES, reconcile_grace: timedelta = timedelta(seconds=60),
                 reconcile_every: float = 30.0):
        self.db, self.release_options, self.channels = db, release_options, channels
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.leadership = Leadership(db)
        self.reconcile_grace, self.reconcile_every = reconcile_grace, reconcile_every
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.tick = tick
        # each lane its own dispatchers and sending threads: the SMS fan-out never holds up the main lane
        self.dispatchers = [Dispatcher(db, channels, f"{self.name}/{lane}{i}", replace(dispatch_options, lanes=(lane,)))
                            for i in range(dispatchers) for lane in lanes]
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()
        self._importing_stopped = threading.Event()

    def fire_due(self) -> None:
        if not self.leadership.is_leader():
            return
        with self.db.transaction() as session:
            fired = release_due(session, self.release_options, self.name)
        if fired:
            log.info("fired releases", extra={"releases": fired})

    def expire(self) -> None:
        if not self.leadership.is_leader():
            return
        with self.db.transaction() as session:
            expired = expire_due(session)
        if expired:
            log.info("expired alerts", extra={"alerts": expired})

    def network_duties(self) -> None:
        """The quarter's communication test when its moment has come; reminder SMS for overdue partner copies."""
        if not self.leadership.is_leader():
            return
        with self.db.transaction() as session:
            run = comm_test_schedule.run_due(session, self.release_options)
            reminded = remind_overdue(session) if comm_test_schedule.read(session).reminder_sms else []
        if run is not None:
            log.info("scheduled communication test", extra={"quarter": run.quarter, "outcome": run.outcome})
        if reminded:
            log.warning("reminded duty desks of overdue acknowledgements", extra={"copies": reminded})

    def recover(self) -> None:
        if self.leadership.is_leader():
            result = recover_expired_leases(self.db)
            if any(result.values()):
                log.warning("recovered deliveries of a stopped dispatcher", extra=result)

    def apply_reports(self) -> None:
        if self.leadership.is_leader():
            result = apply_held_reports(self.db)
            if any(result.values()):
                log.info("applied held provider reports", extra=result)

    def reconcile(self) -> None:
        if self.leadership.is_leader():
            result = reconcile_unknown(self.db, self.channels, grace=self.reconcile_grace)
            if any(result.values()):
                log.info("reconciled unknown outcomes", extra=result)

    def start(self) -> None:
        try:
            self.fire_due()  # a release missed while no worker ran fires now, marked late
        except Exception:  # e.g. the database is not reachable yet: the scheduled job below tries again
            log.exception("firing due releases at start failed")
        self.scheduler.add_job(self.fire_due, "interval", seconds=self.tick, id="release_due", max_instances=1,
                               coalesce=True)
        self.scheduler.add_job(self.expire, "interval", seconds=30, id="expire", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.network_duties, "interval", seconds=NETWORK_DUTIES_EVERY, id="network_duties",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self.recover, "interval", seconds=5, id="recover", max_instances=1, coalesce=True)
        self.scheduler.add_job(self.apply_reports, "interval", seconds=REPORTS_EVERY, id="reports",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self.reconcile, "interval", seconds=self.reconcile_every, id="reconcile",
                               max_instances=1, coalesce=True)
        self.scheduler.start()
        for dispatcher in self.dispatchers:
            thread = threading.Thread(target=self._keep_dispatching, args=(dispatcher,), name=dispatcher.name,
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        importer = threading.Thread(target=self._keep_importing, name=f"{self.name}/imports", daemon=True)
        importer.start()
        self._threads.append(importer)

    def import_next(self) -> str | None:
        """Run one queued subscriber import (or one whose worker died), if any: its final state, or None."""
        return import_jobs.run_next(self.db, self.name)

    def _keep_importing(self) -> None:
        """Subscriber imports, one at a time: a failure (the database restarting) ends only the current one, whose
        lease then runs out and which is taken again."""
        while not self._importing_stopped.is_set():
            try:
                if self.import_next() is not None:
                    continue
            except Exception:
                log.exception("subscriber import failed; its lease runs out and it is taken again")
            self._importing_stopped.wait(IMPORTS_EVERY)

    def _keep_dispatching(self, dispatcher: Dispatcher) -> None:
        """Run the dispatcher until the worker stops. A failure (the database restarting, a failover) stops
        only the current loop: the rows it had claimed come back through the expired-lease recovery, and
        the loop starts again after a pause that grows up to 30 s, instead of the process living on with
        no one sending."""
        pause = 1.0
        while not self._stopped.is_set():
            started = time.monotonic()
            try:
                dispatcher.run()
                return  # stopped on purpose
            except Exception:
                log.exception("dispatcher %s failed; starting it again in %.0f s", dispatcher.name, pause)
            if time.monotonic() - started > 60:
                pause = 1.0  # it had been running well: start again soon
            if dispatcher.stopping.wait(pause):
                return
            pause = min(pause * 2, 30.0)

    def stop(self) -> None:
        self._importing_stopped.set()  # an import under way finishes (or its lease brings it back)
        self.scheduler.shutdown(wait=True)
        for dispatcher in self.dispatchers:
            dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=30)
        self.leadership.release()
        self._stopped.set()

    def run_forever(self) -> None:
        self.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stopped.set())
        log.info("worker started", extra={"worker": self.name, "dispatchers": len(self.dispatchers)})
        self._stopped.wait()
        self.stop()
