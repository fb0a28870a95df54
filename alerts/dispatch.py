"""The dispatcher: claims ledger rows and sends them through the channel adapters.

A row is marked `sending` (committed) before its request leaves, so a dispatcher killed mid-send leaves
at most its in-flight rows in `sending` (at most one per sending thread); when their lease runs out they
become `unknown`, to be reconciled, never resent blindly. Rows merely claimed go back to `pending`. Any
number of dispatchers share the ledger (FOR UPDATE SKIP LOCKED on PostgreSQL; BEGIN IMMEDIATE serialises
SQLite).

Cost per message, which is what bounds throughput (the sending threads share one interpreter lock): a claim
fetches a batch of rows with their payload, mode and expiry in one query; in `run`, the sending threads'
ledger writes are committed together by one writer (`LedgerWriter`) instead of two transactions per message;
statements are built once, at import.
"""
from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, Row, and_, bindparam, func, select, update

from alerts.models import Delivery, PartnerEndpoint, Payload, Release, Version, utcnow
from channels.base import Channel, Outcome, Receipt, Target
from channels.base import Payload as SendPayload
from db import Database

log = logging.getLogger("benelert.dispatch")
MAX_ATTEMPTS = 8
_LEDGER = Delivery.__table__
_PAYLOADS, _RELEASES, _VERSIONS = Payload.__table__, Release.__table__, Version.__table__
# A claimed row with everything needed to send it: its payload's bytes, its release's mode, its version's expiry.
_CLAIMED = (_LEDGER.c.id, _LEDGER.c.channel, _LEDGER.c.centre_code, _LEDGER.c.language, _LEDGER.c.target,
            _LEDGER.c.idempotency_key, _PAYLOADS.c.body, _PAYLOADS.c.content_type, _PAYLOADS.c.meta,
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
_SENT = update(_LEDGER).where(_LEDGER.c.id == bindparam("b_id")).values(
    state="sent", provider_id=bindparam("b_provider_id"), sent_at=_NOW,
    provider_status=bindparam("b_provider_status"), error=bindparam("b_error"))
_ENDPOINTS = select(PartnerEndpoint.url, PartnerEndpoint.secrets).where(
    PartnerEndpoint.url.in_(bindparam("b_urls", expanding=True)), PartnerEndpoint.active).order_by(PartnerEndpoint.id)


# The ledger's lanes, in the order a dispatcher serving several claims them: "main" (national systems, partner
# copies, social posts) before "sms" (the subscriber fan-out), so that a million SMS never hold up the others.
LANES = ("main", "sms")


@dataclass(frozen=True)
class DispatchOptions:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 64
    threads: int = 16
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
    """Claims batches of rows and sends them from a thread pool. Every start and outcome goes through one ledger
    writer (LedgerWriter), in `run` as in `run_once`. The partner endpoint is read at each start, as it can be
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
        now = utcnow()
        if receipt.outcome is Outcome.SENT:  # the common case: one statement
            with self.db.engine.begin() as connection:
                connection.execute(_SENT, _sent_params(delivery_id, receipt, now))
            return
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

    def _send(self, delivery_id: int, work, finish: Callable[[int, Receipt], None]) -> None:
        if work is None:
            return
        channel_name, account, payload, target = work
        channel = self.channels.get(channel_name)
        if channel is None:
            finish(delivery_id, Receipt(Outcome.FAILED, error=f"channel {channel_name} is not configured"))
            return
        # The row is marked sending and leased: a wait longer than half the lease would let the leader take
        # it for a dead dispatcher's (unknown, reconciled, perhaps sent again) while this thread still holds it.
        try:
            slot = self.rates.wait(channel_name, account, within=self.options.lease.total_seconds() / 2)
        except Exception as error:  # the limits' store (Redis) is down: nothing was sent, so try again later
            log.exception("rate limiter unavailable for %s", channel_name)
            finish(delivery_id, Receipt(Outcome.RETRY, error=f"rate limiter unavailable: {type(error).__name__}"))
            return
        if not slot:
            finish(delivery_id, Receipt(Outcome.RETRY, error="no sending slot within half the lease: not sent"))
            return
        try:
            receipt = channel.send(payload, target)
        except Exception as error:  # an adapter bug must not lose the row: mark it for reconciliation
            log.exception("adapter %s raised", channel_name)
            receipt = Receipt(Outcome.UNKNOWN, error=f"adapter error: {type(error).__name__}")
        finish(delivery_id, receipt)

    # ---- loops -----------------------------------------------------------------------------------
    def run_once(self, pool: ThreadPoolExecutor | None = None) -> int:
        """Claim one batch and send it, through the same ledger writer as `run` (the group commit); returns how
        many rows were claimed. For callers that step the dispatcher (tests, the browser test's worker)."""
        rows = self.claim(self.options.batch)
        ledger = LedgerWriter(self)
        try:
            if pool is None:
                for row in rows:
                    self._deliver_grouped(ledger, row)
            else:
                list(pool.map(lambda row: self._deliver_grouped(ledger, row), rows))
        finally:
            ledger.close()
        return len(rows)

    def run(self, idle_sleep: float = 0.02) -> None:
        """Keeps every sending thread busy: claims the next batch while the pool still has a thread's worth of
        rows queued, instead of waiting for a whole batch (and its slowest send) to finish; the threads' ledger
        writes go through one group commit (see LedgerWriter). A batch that fits the idle threads starts in one
        commit (_start_together)."""
        threads, batch = self.options.threads, self.options.batch
        ready = threading.Condition()
        in_flight = 0
        failures: list[BaseException] = []

        def finished(future: Future) -> None:
            nonlocal in_flight
            with ready:
                in_flight -= 1
                if future.exception() is not None:
                    failures.append(future.exception())
                if in_flight == threads or failures:
                    ready.notify()

        ledger = LedgerWriter(self)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="send") as pool:
                _start_threads(pool, threads)
                next_claim = 0.0
                while not self._stop.is_set() and not failures:
                    with ready:
                        if in_flight > threads:  # enough queued: wait for a thread to free up
                            ready.wait(idle_sleep)
                            continue
                    pause = next_claim - time.monotonic()
                    if pause > 0:  # nothing was due at the last look
                        self._stop.wait(pause)
                        continue
                    rows = self.claim(batch)
                    with ready:
                        idle = threads - in_flight
                        in_flight += len(rows)
                    if 0 < len(rows) <= idle:  # a thread free for each row: all start in one commit, now
                        for row, work in zip(rows, self._start_together(rows), strict=True):
                            pool.submit(self._send, row.id, work, ledger.finish).add_done_callback(finished)
                        continue
                    for row in rows:
                        pool.submit(self._deliver_grouped, ledger, row).add_done_callback(finished)
                    if len(rows) < batch:  # nothing more is due now: look again after idle_sleep
                        next_claim = time.monotonic() + idle_sleep
            # leaving the pool waited for every claimed row to be sent, as a batch was before
        finally:
            ledger.close()
        if failures:  # e.g. the database is gone: the loop stops, as before
            raise failures[0]

    def _start_together(self, rows: list[Row]) -> list[tuple | None]:
        """Mark claimed rows `sending` in one commit, for as many sending threads as rows: a release's national
        systems, partners and posts then start at the same moment instead of trickling out over several group
        commits while the threads compete for the interpreter lock (with the SMS lane, say). Still at most one
        row in flight per sending thread."""
        with self.db.engine.begin() as connection:
            return self._start_rows(connection, rows)

    def _deliver_grouped(self, ledger: LedgerWriter, row: Row) -> None:
        self._send(row.id, ledger.start(row), ledger.finish)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> threading.Event:
        return self._stop


def _start_threads(pool: ThreadPoolExecutor, threads: int) -> None:
    """Start every sending thread now: made on demand, the first release's rows would wait for their making."""
    gate = threading.Barrier(threads + 1)
    for _ in range(threads):
        pool.submit(gate.wait, 10)
    try:
        gate.wait(10)
    except threading.BrokenBarrierError:  # a slow start only costs that first release some time
        pass


def _sent_params(delivery_id: int, receipt: Receipt, now: datetime) -> dict:
    return {"b_id": delivery_id, "b_provider_id": receipt.provider_id, "b_now": now,
            "b_provider_status": receipt.provider_status, "b_error": receipt.error}


class _StartRequest:
    __slots__ = ("row", "done", "work", "error")

    def __init__(self, row: Row):
        self.row, self.done, self.work, self.error = row, threading.Event(), None, None


_GATHER_GAP = 0.001  # the group commit writes once no request arrived for this long (seconds) ...
_GATHER_MAX = 0.005  # ... or this long after the first one


class LedgerWriter:
    """One writer for the ledger writes of a dispatcher's sending threads: whatever they asked for meanwhile is
    written in one transaction, so a commit is shared by many messages instead of two commits per message.

    A thread that starts a row waits until the row is committed `sending`, then sends. A thread that got a
    receipt for a sent row queues it and moves on: the queue is written in order, so that receipt is committed
    in the same transaction as that thread's next start, or an earlier one. A dispatcher killed at any moment
    therefore leaves, per sending thread, at most one row in `sending` whose outcome is not recorded. Other
    outcomes (retry, unknown, failed) are rare and written by the thread itself, before it moves on.

    The writer gathers requests until none arrived for _GATHER_GAP (at most _GATHER_MAX): the rows of one
    release, claimed together, are then marked `sending` in one commit rather than trickling out over several
    commits while the first ones' sends hold the interpreter lock."""

    def __init__(self, dispatcher: Dispatcher):
        self._dispatcher = dispatcher
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._write_loop, name=f"{dispatcher.name}/ledger", daemon=True)
        self._thread.start()

    def start(self, row: Row):
        request = _StartRequest(row)
        self._requests.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.work

    def finish(self, delivery_id: int, receipt: Receipt) -> None:
        if receipt.outcome is not Outcome.SENT:
            self._dispatcher._finish(delivery_id, receipt)
            return
        if self._failure is not None:
            raise self._failure
        self._requests.put((delivery_id, receipt, utcnow()))

    def close(self) -> None:
        """Write what is queued, then stop; raises what a write raised, if any."""
        self._requests.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _write_loop(self) -> None:
        closing = False
        while not closing:
            batch = [self._requests.get()]
            gather_until = time.monotonic() + _GATHER_MAX
            while batch[-1] is not None:  # what else arrives meanwhile (say, the rest of a release's rows)
                try:
                    batch.append(self._requests.get(timeout=_GATHER_GAP))
                except queue.Empty:
                    break
                if time.monotonic() >= gather_until:
                    break
            closing = batch[-1] is None
            starts = [item for item in batch if isinstance(item, _StartRequest)]
            sent = [_sent_params(*item) for item in batch if isinstance(item, tuple)]
            if not starts and not sent:
                continue
            try:
                with self._dispatcher.db.engine.begin() as connection:
                    if sent:
                        connection.execute(_SENT, sent)
                    works = self._dispatcher._start_rows(connection, [request.row for request in starts])
                for request, work in zip(starts, works, strict=True):
                    request.work = work
            except BaseException as error:  # the waiting threads raise it; queued receipts are lost (-> unknown)
                log.exception("ledger write failed")
                self._failure = error
                for request in starts:
                    request.error = error
            for request in starts:
                request.done.set()


