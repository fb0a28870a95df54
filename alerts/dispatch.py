"""The dispatcher: claims ledger rows and sends them through the channel adapters.

A row is marked `sending` (committed) before its request leaves, so a dispatcher killed mid-send leaves
at most its in-flight rows in `sending`; when their lease runs out they become `unknown`, to be
reconciled, never resent blindly. Rows merely claimed go back to `pending`. Any number of dispatchers
share the ledger (FOR UPDATE SKIP LOCKED on PostgreSQL; BEGIN IMMEDIATE serialises SQLite).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, Row, and_, func, literal, select, update

from alerts.models import Delivery, PartnerEndpoint, Payload, Release, Version, utcnow
from channels.base import Channel, Outcome, Receipt, Target
from channels.base import Payload as SendPayload
from db import Database

log = logging.getLogger("benelert.dispatch")
MAX_ATTEMPTS = 8
_LEDGER = Delivery.__table__
_CLAIMED = (_LEDGER.c.id, _LEDGER.c.payload_id, _LEDGER.c.release_id, _LEDGER.c.channel, _LEDGER.c.centre_code,
            _LEDGER.c.language, _LEDGER.c.target, _LEDGER.c.idempotency_key)
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class DispatchOptions:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 64
    threads: int = 16
    rate_storage: str = "memory://"
    rates: Mapping[str, str] | None = None  # channel -> "100 per second", shared by every dispatcher
    base_backoff: float = 1.0
    max_backoff: float = 300.0


class RateLimits:
    """Per provider account, shared through the `limits` storage (Redis across machines)."""

    def __init__(self, storage_uri: str, rates: Mapping[str, str] | None):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._rates = {channel: parse_limit(rate) for channel, rate in (rates or {}).items()}

    def wait(self, channel: str, account: str) -> None:
        limit = self._rates.get(channel)
        if limit is None:
            return
        while not self._limiter.hit(limit, "send", channel, account):
            time.sleep(0.005)


def backoff(attempts: int, options: DispatchOptions, retry_after: float | None) -> float:
    if retry_after:
        return min(retry_after, options.max_backoff)
    delay = min(options.max_backoff, options.base_backoff * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.5, 1.5)


class Dispatcher:
    """Claims batches of rows and sends them from a thread pool. Per message: one transaction marks the row
    `sending` (committed before the request leaves), one records the outcome. The hot path uses Core statements
    on a connection, and caches what never changes once written (payload bytes, a release's mode and its
    version's expiry); the partner endpoint is read per message, as it can be disabled at any time."""

    def __init__(self, db: Database, channels: Mapping[str, Channel], name: str, options: DispatchOptions):
        self.db, self.channels, self.name, self.options = db, channels, name, options
        self.rates = RateLimits(options.rate_storage, options.rates)
        self._stop = threading.Event()
        self._payloads: dict[int, SendPayload] = {}  # payload id -> its bytes, without the per-row fields
        self._releases: dict[int, tuple[str, datetime | None]] = {}  # release id -> (mode, expires)

    # ---- claiming --------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[int]:
        return [row.id for row in self._claim_rows(limit)]

    def _claim_rows(self, limit: int) -> list[Row]:
        now = utcnow()
        with self.db.engine.begin() as connection:
            query = (select(*_CLAIMED).where(_LEDGER.c.state == "pending", _LEDGER.c.next_attempt_at <= now)
                     .order_by(_LEDGER.c.next_attempt_at, _LEDGER.c.id).limit(limit))
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = connection.execute(query).all()
            if rows:
                connection.execute(update(_LEDGER).where(_LEDGER.c.id.in_([row.id for row in rows])).values(
                    state="claimed", claimed_by=self.name, next_attempt_at=now + self.options.lease))
        return rows

    # ---- one message -----------------------------------------------------------------------------
    def _start(self, delivery_id: int):
        """Mark the row `sending` and commit, before any byte leaves. Returns what to send, or None."""
        with self.db.engine.begin() as connection:
            row = connection.execute(select(*_CLAIMED).where(_LEDGER.c.id == delivery_id)).first()
            return None if row is None else self._start_row(connection, row)

    def _start_row(self, connection: Connection, row: Row):
        now = utcnow()
        mine = and_(_LEDGER.c.id == row.id, _LEDGER.c.state == "claimed", _LEDGER.c.claimed_by == self.name)
        mode, expires = self._release(connection, row.release_id)
        if expires is not None and expires <= now:
            connection.execute(update(_LEDGER).where(mine).values(state="expired",
                                                                  error="not sent: the warning had expired"))
            return None
        secrets: tuple[str, ...] = ()
        if row.channel == "partners":
            endpoint = connection.execute(select(PartnerEndpoint.secrets).where(
                PartnerEndpoint.url == row.target, PartnerEndpoint.active)).first()
            if endpoint is None:
                connection.execute(update(_LEDGER).where(mine).values(
                    state="failed", error="partner endpoint disabled or removed"))
                return None
            secrets = tuple(endpoint.secrets)
        started = connection.execute(update(_LEDGER).where(mine).values(
            state="sending", attempts=_LEDGER.c.attempts + 1,
            first_attempt_at=func.coalesce(_LEDGER.c.first_attempt_at, literal(now, _LEDGER.c.first_attempt_at.type)),
            next_attempt_at=now + self.options.lease)).rowcount
        if started != 1:  # no longer ours (its lease ran out and it was requeued)
            return None
        body = self._payload(connection, row.payload_id)
        send = replace(body, idempotency_key=row.idempotency_key, language=row.language, expires_at=expires)
        sandbox = mode != "Actual"
        # a sandbox target names its own account (e.g. the X sandbox account), never a centre's public one
        account = "" if sandbox else row.centre_code
        return row.channel, account or row.target, send, Target(address=row.target, account=account,
                                                                secrets=secrets, sandbox=sandbox)

    def _release(self, connection: Connection, release_id: int) -> tuple[str, datetime | None]:
        """A release's mode and its version's expiry: neither changes once the release exists."""
        cached = self._releases.get(release_id)
        if cached is None:
            found = connection.execute(select(Release.mode, Version.expires).select_from(Release).outerjoin(
                Version, and_(Version.alert_id == Release.alert_id, Version.number == Release.version_number))
                .where(Release.id == release_id)).one()
            cached = (found.mode, found.expires)
            if len(self._releases) >= _CACHE_SIZE:
                self._releases.clear()
            self._releases[release_id] = cached
        return cached

    def _payload(self, connection: Connection, payload_id: int) -> SendPayload:
        """A payload's bytes: written once with the ledger, never changed."""
        cached = self._payloads.get(payload_id)
        if cached is None:
            found = connection.execute(select(Payload.body, Payload.content_type, Payload.meta)
                                       .where(Payload.id == payload_id)).one()
            cached = SendPayload(body=found.body, idempotency_key="", content_type=found.content_type,
                                 metadata=found.meta or {})
            if len(self._payloads) >= _CACHE_SIZE:
                self._payloads.clear()
            self._payloads[payload_id] = cached
        return cached

    def _finish(self, delivery_id: int, receipt) -> None:
        now = utcnow()
        if receipt.outcome is Outcome.SENT:  # the common case: one statement
            with self.db.engine.begin() as connection:
                connection.execute(update(_LEDGER).where(_LEDGER.c.id == delivery_id).values(
                    state="sent", provider_id=receipt.provider_id, sent_at=now,
                    provider_status=receipt.provider_status, error=receipt.error))
            return
        with self.db.transaction() as session:
            row = session.get(Delivery, delivery_id)
            row.provider_status = receipt.provider_status
            row.error = receipt.error
            if receipt.outcome is Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
                row.state = "pending"
                row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, self.options,
                                                                      receipt.retry_after))
            elif receipt.outcome is Outcome.UNKNOWN:
                row.state = "unknown"
            else:
                row.state = "failed"
                if receipt.provider_status == "gone" and row.channel == "partners":
                    session.execute(update(PartnerEndpoint).where(PartnerEndpoint.url == row.target).values(
                        active=False, disabled_reason="the endpoint answered 410 Gone"))

    def deliver(self, delivery_id: int) -> None:
        self._send(delivery_id, self._start(delivery_id))

    def _deliver_row(self, row: Row) -> None:
        with self.db.engine.begin() as connection:
            work = self._start_row(connection, row)
        self._send(row.id, work)

    def _send(self, delivery_id: int, work) -> None:
        if work is None:
            return
        channel_name, account, payload, target = work
        channel = self.channels.get(channel_name)
        if channel is None:
            self._finish(delivery_id, Receipt(Outcome.FAILED, error=f"channel {channel_name} is not configured"))
            return
        self.rates.wait(channel_name, account)
        try:
            receipt = channel.send(payload, target)
        except Exception as error:  # an adapter bug must not lose the row: mark it for reconciliation
            log.exception("adapter %s raised", channel_name)
            receipt = Receipt(Outcome.UNKNOWN, error=f"adapter error: {type(error).__name__}")
        self._finish(delivery_id, receipt)

    # ---- loops -----------------------------------------------------------------------------------
    def run_once(self, pool: ThreadPoolExecutor | None = None) -> int:
        rows = self._claim_rows(self.options.batch)
        if pool is None:
            for row in rows:
                self._deliver_row(row)
        else:
            list(pool.map(self._deliver_row, rows))
        return len(rows)

    def run(self, idle_sleep: float = 0.05) -> None:
        """Keeps every sending thread busy: claims the next batch while the pool still has a thread's worth of
        rows queued, instead of waiting for a whole batch (and its slowest send) to finish."""
        threads, batch = self.options.threads, self.options.batch
        with ThreadPoolExecutor(threads, thread_name_prefix="send") as pool:
            running: set[Future] = set()
            next_claim = 0.0
            while not self._stop.is_set():
                if len(running) <= threads and time.monotonic() >= next_claim:
                    rows = self._claim_rows(batch)
                    running.update(pool.submit(self._deliver_row, row) for row in rows)
                    if len(rows) < batch:  # nothing more is due now: look again after idle_sleep
                        next_claim = time.monotonic() + idle_sleep
                if not running:
                    self._stop.wait(max(0.0, next_claim - time.monotonic()))
                    continue
                done, running = wait(running, timeout=idle_sleep, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a failure here (e.g. the database is gone) stops the loop, as before
            for future in running:
                future.result()

    def stop(self) -> None:
        self._stop.set()


def recover_expired_leases(db: Database) -> dict[str, int]:
    """Claimed-but-unsent rows of a dead dispatcher go back to `pending`; in-flight ones become `unknown`."""
    now = utcnow()
    with db.transaction() as session:
        requeued = session.execute(update(Delivery).where(Delivery.state == "claimed", Delivery.next_attempt_at < now)
                                   .values(state="pending", claimed_by=None)
                                   .execution_options(synchronize_session=False)).rowcount
        unknown = session.execute(update(Delivery).where(Delivery.state == "sending", Delivery.next_attempt_at < now)
                                  .values(state="unknown", error="dispatcher stopped while sending: reconcile")
                                  .execution_options(synchronize_session=False)).rowcount
    return {"requeued": requeued, "unknown": unknown}


def apply_status_callback(db: Database, provider_id: str, status: str) -> bool:
    """A provider's delivery report (queued, sent, delivered, undelivered, failed) for a ledger row."""
    now = utcnow()
    with db.transaction() as session:
        row = session.scalar(select(Delivery).where(Delivery.provider_id == provider_id))
        if row is None:
            return False
        row.provider_status = status
        if status == "delivered":
            row.state, row.delivered_at = "delivered", now
        elif status in ("undelivered", "failed") and row.state != "delivered":
            row.state, row.error = "failed", f"provider reported {status}"
    return True


def ledger_counts(db: Database, release_id: int) -> dict[str, int]:
    with db.transaction() as session:
        return dict(session.execute(select(Delivery.state, func.count()).where(Delivery.release_id == release_id)
                                    .group_by(Delivery.state)).all())
