"""The dispatcher: claims ledger rows and sends them through the channel adapters.

A row is marked `sending` (committed) before its request leaves, so a dispatcher killed mid-send leaves at most
its in-flight rows in `sending` (one row, or in the SMS fan-out one chunk, per sending thread); when their lease
runs out they become `unknown`, to be reconciled, never resent blindly. Rows merely claimed go back to `pending`.
Any number of dispatchers share the ledger (FOR UPDATE SKIP LOCKED on PostgreSQL; BEGIN IMMEDIATE serialises
SQLite).

Cost per message, which is what bounds throughput (the sending threads share one interpreter lock): a claim
fetches a batch of rows with their payload, mode and expiry in one query; the ledger writes of all sending
threads are committed together by one writer (`SendLoop`), which also hands the threads their rows, instead of two
transactions and two thread hand-offs per message; statements are built once, at import.
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
from sqlalchemy import Connection, Row, and_, bindparam, func, select, update

from alerts.models import Delivery, PartnerEndpoint, Payload, Release, Version, utcnow
from alerts.send_loop import FAN_OUT_LANE, SendLoop, start_threads
from channels.base import Channel, Outcome, Receipt, Target
from channels.base import Payload as SendPayload
from db import Database

log = logging.getLogger("benelert.dispatch")
MAX_ATTEMPTS = 8
_LEDGER = Delivery.__table__
_PAYLOADS, _RELEASES, _VERSIONS = Payload.__table__, Release.__table__, Version.__table__
# A claimed row with everything needed to send it: its payload's bytes, its release's mode, its version's expiry.
_CLAIMED = (_LEDGER.c.id, _LEDGER.c.lane, _LEDGER.c.channel, _LEDGER.c.centre_code, _LEDGER.c.language,
            _LEDGER.c.target, _LEDGER.c.idempotency_key, _PAYLOADS.c.body, _PAYLOADS.c.content_type, _PAYLOADS.c.meta,
            _RELEASES.c.mode, _VERSIONS.c.expires)
_CLAIMED_FROM = _LEDGER.join(_PAYLOADS, _PAYLOADS.c.id == _LEDGER.c.payload_id).join(
    _RELEASES, _RELEASES.c.id == _LEDGER.c.release_id).outerjoin(
    _VERSIONS, and_(_VERSIONS.c.alert_id == _RELEASES.c.alert_id, _VERSIONS.c.number == _RELEASES.c.version_number))
# The hot path's statements are built once (building one costs more CPU than executing it).
_NOW = bindparam("b_now", type_=_LEDGER.c.next_attempt_at.type)
_UNTIL = bindparam("b_until", type_=_LEDGER.c.next_attempt_at.type)
# Ordered by next_attempt_at alone, which the (lane, state, next_attempt_at) index yields (equal times come in index
# order, i.e. as written): a tie-break on id would sort every due row at each claim (0.2 s per 300,000 due rows).
_DUE = (select(*_CLAIMED).select_from(_CLAIMED_FROM)
        .where(_LEDGER.c.lane == bindparam("b_lane"), _LEDGER.c.state == "pending", _LEDGER.c.next_attempt_at <= _NOW)
        .order_by(_LEDGER.c.next_attempt_at).limit(bindparam("b_limit")))
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True, of=_LEDGER)
_CLAIM = update(_LEDGER).where(_LEDGER.c.id.in_(bindparam("b_ids", expanding=True))).values(
    state="claimed", claimed_by=bindparam("b_name"), next_attempt_at=_UNTIL)
_SENDING = update(_LEDGER).where(
    _LEDGER.c.id.in_(bindparam("b_ids", expanding=True)), _LEDGER.c.state == "claimed",
    _LEDGER.c.claimed_by == bindparam("b_name"),
).values(state="sending", attempts=_LEDGER.c.attempts + 1, next_attempt_at=_UNTIL,
         first_attempt_at=func.coalesce(_LEDGER.c.first_attempt_at, _NOW)).returning(_LEDGER.c.id)
_NOT_SENT = update(_LEDGER).where(
    _LEDGER.c.id == bindparam("b_id"), _LEDGER.c.state == "claimed", _LEDGER.c.claimed_by == bindparam("b_name"),
).values(state=bindparam("b_state"), error=bindparam("b_error"))
_ENDPOINTS = select(PartnerEndpoint.url, PartnerEndpoint.secrets).where(
    PartnerEndpoint.url.in_(bindparam("b_urls", expanding=True)), PartnerEndpoint.active).order_by(PartnerEndpoint.id)


# The ledger's lanes, in the order a dispatcher serving several claims them: "main" (national systems, partner
# copies, social posts) before "sms" (the subscriber fan-out), so that a million SMS never hold up the others.
LANES = ("main", FAN_OUT_LANE)


@dataclass(frozen=True)
class DispatchOptions:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 64
    threads: int = 16
    # SMS rows a sending thread takes at a time when more are due than threads (the subscriber fan-out): one commit
    # then starts many messages (see SendLoop). The main lane's rows go one per thread, all at T.
    chunk: int = 16
    rate_storage: str = "memory://"
    rates: Mapping[str, str] | None = None  # channel -> "100 per second", shared by every dispatcher
    base_backoff: float = 1.0
    max_backoff: float = 300.0
    # the lanes this dispatcher claims (the worker runs one dispatcher per lane, each with its own threads)
    lanes: tuple[str, ...] = LANES


class RateLimits:
    """Per provider account, shared through the `limits` storage (Redis across machines)."""

    def __init__(self, storage_uri: str, rates: Mapping[str, str] | None):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._rates = {channel: parse_limit(rate) for channel, rate in (rates or {}).items()}

    def wait(self, channel: str, account: str, within: float) -> bool:
        """Take a sending slot of the account, waiting up to `within` seconds; False if none came."""
        limit = self._rates.get(channel)
        if limit is None:
            return True
        deadline = time.monotonic() + within
        while not self._limiter.hit(limit, "send", channel, account):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


def backoff(attempts: int, options: DispatchOptions, retry_after: float | None) -> float:
    if retry_after:
        return min(retry_after, options.max_backoff)
    delay = min(options.max_backoff, options.base_backoff * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.5, 1.5)


class Dispatcher:
    """Claims batches of rows and sends them from a thread pool. Every start and `sent` receipt goes through one
    ledger writer (SendLoop), in `run` as in `run_once`. The partner endpoint is read at each start, as it can be
    disabled at any time."""

    def __init__(self, db: Database, channels: Mapping[str, Channel], name: str, options: DispatchOptions):
        self.db, self.channels, self.name, self.options = db, channels, name, options
        self.rates = RateLimits(options.rate_storage, options.rates)
        self._stop = threading.Event()

    # ---- claiming --------------------------------------------------------------------------------
    def claim(self, limit: int) -> list[Row]:
        """Lease up to `limit` due rows to this dispatcher (committed); the rows as the sending loop reads them."""
        now = utcnow()
        postgresql = self.db.dialect == "postgresql"
        with self.db.engine.begin() as connection:
            if postgresql:  # walk the due index in order, even while the table's statistics lag behind a large
                # ledger write (autoanalyze comes up to a minute later): else each claim sorts every due row
                connection.exec_driver_sql("SET LOCAL enable_sort = off")
            rows = []
            for lane in self.options.lanes:
                if len(rows) < limit:
                    rows += connection.execute(_DUE_SKIP_LOCKED if postgresql else _DUE,
                                               {"b_now": now, "b_limit": limit - len(rows), "b_lane": lane}).all()
            if rows:
                connection.execute(_CLAIM, {"b_ids": [row.id for row in rows], "b_name": self.name,
                                            "b_until": now + self.options.lease})
        return rows

    # ---- one message -----------------------------------------------------------------------------
    def _start_rows(self, connection: Connection, rows: list[Row]) -> list[tuple | None]:
        """Mark claimed rows `sending` in the caller's transaction (not yet committed); what to send for each,
        or None: expired, partner endpoint gone (both recorded), or no longer ours (its lease ran out)."""
        now = utcnow()
        ready: dict[int, tuple] = {}
        refused = []
        endpoints: dict[str, tuple[str, ...]] = {}  # active partner endpoint URL -> its secrets, read now
        urls = list({row.target for row in rows if row.channel == "partners"})
        if urls:
            for url, secrets in connection.execute(_ENDPOINTS, {"b_urls": urls}):
                endpoints.setdefault(url, tuple(secrets))
        for row in rows:
            if row.expires is not None and row.expires <= now:
                refused.append({"b_id": row.id, "b_name": self.name, "b_state": "expired",
                                "b_error": "not sent: the warning had expired"})
                continue
            secrets: tuple[str, ...] = ()
            if row.channel == "partners":
                if row.target not in endpoints:
                    refused.append({"b_id": row.id, "b_name": self.name, "b_state": "failed",
                                    "b_error": "partner endpoint disabled or removed"})
                    continue
                secrets = endpoints[row.target]
            send = SendPayload(body=row.body, idempotency_key=row.idempotency_key, content_type=row.content_type,
                               language=row.language, expires_at=row.expires, metadata=row.meta or {})
            sandbox = row.mode != "Actual"
            # a sandbox target names its own account (e.g. the X sandbox account), never a centre's public one
            account = "" if sandbox else row.centre_code
            ready[row.id] = (row.channel, account or row.target, send,
                             Target(address=row.target, account=account, secrets=secrets, sandbox=sandbox))
        if refused:
            connection.execute(_NOT_SENT, refused)
        started: set[int] = set()
        if ready:
            started = set(connection.execute(_SENDING, {"b_ids": list(ready), "b_name": self.name, "b_now": now,
                                                        "b_until": now + self.options.lease}).scalars())
        works = []
        for row in rows:  # a row queued twice (requeued after its lease, claimed again) is sent once
            works.append(ready[row.id] if row.id in started else None)
            started.discard(row.id)
        return works

    def _finish(self, delivery_id: int, receipt) -> None:
        """Record an outcome other than `sent` (the send loop writes those, together)."""
        now = utcnow()
        with self.db.transaction() as session:
            row = session.get(Delivery, delivery_id)
            if row.state != "sending" or row.claimed_by != self.name:
                # Its lease ran out and the leader took it over (unknown, then reconciled, maybe sent since): a late
                # retry or failure must not undo that. A late SENT above is still written: it is the truth.
                log.warning("late outcome %s of delivery %s not written: the row is %s", receipt.outcome.value,
                            delivery_id, row.state)
                return
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

    def _send(self, delivery_id: int, work: tuple, within: float) -> Receipt:
        """Send one started row (in a sending thread), waiting at most `within` seconds for a sending slot; the
        receipt, which the caller records."""
        channel_name, account, payload, target = work
        channel = self.channels.get(channel_name)
        if channel is None:
            return Receipt(Outcome.FAILED, error=f"channel {channel_name} is not configured")
        # The row is marked sending and leased: a wait beyond half the lease (`within`) would let the leader take
        # it for a dead dispatcher's (unknown, reconciled, perhaps sent again) while this thread still holds it.
        try:
            slot = self.rates.wait(channel_name, account, within=within)
        except Exception as error:  # the limits' store (Redis) is down: nothing was sent, so try again later
            log.exception("rate limiter unavailable for %s", channel_name)
            return Receipt(Outcome.RETRY, error=f"rate limiter unavailable: {type(error).__name__}")
        if not slot:
            return Receipt(Outcome.RETRY, error="no sending slot within half the lease: not sent")
        try:
            return channel.send(payload, target)
        except Exception as error:  # an adapter bug must not lose the row: mark it for reconciliation
            log.exception("adapter %s raised", channel_name)
            return Receipt(Outcome.UNKNOWN, error=f"adapter error: {type(error).__name__}")

    # ---- loops -----------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch and send it, one row at a time, through the same send loop as `run`; returns how many
        rows were claimed. For callers that step the dispatcher (tests, the browser test's worker)."""
        rows = self.claim(self.options.batch)
        if rows:
            with ThreadPoolExecutor(1, thread_name_prefix="send") as pool:
                SendLoop(self, pool, 1).drain(rows)
        return len(rows)

    def run(self, idle_sleep: float = 0.02) -> None:
        """Send until stopped: claims batches as the sending threads need them (see SendLoop)."""
        threads = self.options.threads
        with ThreadPoolExecutor(threads, thread_name_prefix="send") as pool:
            start_threads(pool, threads)
            SendLoop(self, pool, threads).run(self._stop, idle_sleep)

    def start(self, rows: list[Row]) -> list[tuple | None]:
        """Mark claimed rows `sending` in one commit; what to send for each (see _start_rows)."""
        with self.db.engine.begin() as connection:
            return self._start_rows(connection, rows)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> threading.Event:
        return self._stop
