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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select, update

from alerts.models import Delivery, PartnerEndpoint, Payload, Release, Version, utcnow
from channels.base import Channel, Outcome, Receipt, Target
from channels.base import Payload as SendPayload
from db import Database

log = logging.getLogger("benelert.dispatch")
MAX_ATTEMPTS = 8


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
    def __init__(self, db: Database, channels: Mapping[str, Channel], name: str, options: DispatchOptions):
        self.db, self.channels, self.name, self.options = db, channels, name, options
        self.rates = RateLimits(options.rate_storage, options.rates)
        self._stop = threading.Event()

    # ---- claiming --------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[int]:
        now = utcnow()
        with self.db.transaction() as session:
            query = (select(Delivery.id).where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
                     .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if ids:
                session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
                    state="claimed", claimed_by=self.name, next_attempt_at=now + self.options.lease)
                    .execution_options(synchronize_session=False))
        return ids

    # ---- one message -----------------------------------------------------------------------------
    def _start(self, delivery_id: int):
        """Mark the row `sending` and commit, before any byte leaves. Returns what to send, or None."""
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(Delivery, delivery_id)
            if row is None or row.state != "claimed" or row.claimed_by != self.name:
                return None
            payload = session.get(Payload, row.payload_id)
            release = session.get(Release, row.release_id)
            expires = _expiry(session, release)
            if expires is not None and expires <= now:
                row.state, row.error = "expired", "not sent: the warning had expired"
                return None
            secrets: tuple[str, ...] = ()
            if row.channel == "partners":
                endpoint = session.scalar(select(PartnerEndpoint).where(PartnerEndpoint.url == row.target,
                                                                        PartnerEndpoint.active))
                if endpoint is None:
                    row.state, row.error = "failed", "partner endpoint disabled or removed"
                    return None
                secrets = tuple(endpoint.secrets)
            row.state, row.attempts = "sending", row.attempts + 1
            row.first_attempt_at = row.first_attempt_at or now
            row.next_attempt_at = now + self.options.lease
            send = SendPayload(body=payload.body, idempotency_key=row.idempotency_key,
                               content_type=payload.content_type, language=row.language, expires_at=expires,
                               metadata=payload.meta or {})
            sandbox = release.mode != "Actual"
            # a sandbox target names its own account (e.g. the X sandbox account), never a centre's public one
            account = "" if sandbox else row.centre_code
            return row.channel, account or row.target, send, Target(address=row.target, account=account,
                                                                    secrets=secrets, sandbox=sandbox)

    def _finish(self, delivery_id: int, receipt) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(Delivery, delivery_id)
            row.provider_status = receipt.provider_status
            row.error = receipt.error
            if receipt.outcome is Outcome.SENT:
                row.state, row.provider_id, row.sent_at = "sent", receipt.provider_id, now
            elif receipt.outcome is Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
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
        work = self._start(delivery_id)
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
        ids = self.claim(self.options.batch)
        if pool is None:
            for delivery_id in ids:
                self.deliver(delivery_id)
        else:
            list(pool.map(self.deliver, ids))
        return len(ids)

    def run(self, idle_sleep: float = 0.05) -> None:
        with ThreadPoolExecutor(self.options.threads, thread_name_prefix="send") as pool:
            while not self._stop.is_set():
                if not self.run_once(pool):
                    self._stop.wait(idle_sleep)

    def stop(self) -> None:
        self._stop.set()


def _expiry(session, release: Release):
    return session.scalar(select(Version.expires).where(Version.alert_id == release.alert_id,
                                                        Version.number == release.version_number))


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
