"""The send loop: one dispatcher's ledger writer and its sending threads' foreman (see SendLoop)."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Row, bindparam, update

from alerts.models import Delivery, utcnow
from channels.base import Outcome, Receipt

if TYPE_CHECKING:
    from alerts.dispatch import Dispatcher

log = logging.getLogger("benelert.dispatch")
FAN_OUT_LANE = "sms"  # the subscriber fan-out's lane, whose rows a sending thread takes in chunks
_GATHER_GAP = 0.002  # seconds: see SendLoop._wait
_GATHER_MAX = 0.004
_LEDGER = Delivery.__table__
_NOW = bindparam("b_now", type_=_LEDGER.c.next_attempt_at.type)
_SENT = update(_LEDGER).where(_LEDGER.c.id == bindparam("b_id")).values(
    state="sent", provider_id=bindparam("b_provider_id"), sent_at=_NOW,
    provider_status=bindparam("b_provider_status"), error=bindparam("b_error"))


def start_threads(pool: ThreadPoolExecutor, threads: int) -> None:
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


class SendLoop:
    """The one ledger writer of a dispatcher, and its sending threads' foreman.

    Every ledger write of a send goes through this loop's thread, so that a commit is shared by many messages:
    the receipts of the rows sent since the last commit and the start (`sending`) of claimed rows for each idle
    thread are written in one transaction; only then are the started rows handed to the threads. The threads only
    send: they report the receipts of sent rows (other outcomes, which are rare, they write themselves) and take
    the next rows, with no round trip to the writer before a send. While a commit is under way, further reports
    queue up and go into the next one.

    A thread gets one row, except in the SMS fan-out while more rows are due than threads: then a chunk of up to
    `DispatchOptions.chunk` rows, started together and sent one after the other: every commit takes time under
    the interpreter lock that the sends need, and chunks are what brought the throughput within the target
    against the bare client (bench/dispatch.py phase 1). A receipt is committed with the thread's next start or
    earlier, so a dispatcher killed at any moment leaves at most one chunk per thread in `sending` without a
    recorded outcome: those rows become `unknown` when their lease runs out and are reconciled against the
    provider (sent if it has them, else sent again), never resent blindly. A release's national systems,
    partners and posts, claimed together at T, start in one commit, each on a thread of its own."""

    def __init__(self, dispatcher: Dispatcher, pool: ThreadPoolExecutor, threads: int):
        self._dispatcher, self._pool, self._threads = dispatcher, pool, threads
        self._chunk = max(1, dispatcher.options.chunk)
        self._reports: queue.SimpleQueue = queue.SimpleQueue()  # per chunk sent: its `sent` receipts, its error
        self._claimed: deque[Row] = deque()  # leased to this dispatcher, not started yet
        self._idle = threads
        self._sent: list[dict] = []  # receipts of sent rows, written with the next commit

    def run(self, stop: threading.Event, idle_sleep: float) -> None:
        """Until `stop`: keep a chunk per thread of claimed rows at hand (when nothing was due, look again after
        idle_sleep), start rows on idle threads, write receipts. Then send what is still claimed."""
        batch, next_claim = self._dispatcher.options.batch, 0.0
        try:
            while not stop.is_set():
                if len(self._claimed) < self._threads * self._chunk and time.monotonic() >= next_claim:
                    rows = self._dispatcher.claim(batch)
                    self._claimed.extend(rows)
                    if len(rows) < batch:  # nothing more is due now
                        next_claim = time.monotonic() + idle_sleep
                self._write()
                if not self._idle:
                    self._wait(idle_sleep)
                elif not self._claimed:  # idle threads, nothing claimed: wait for a report or the next look
                    self._wait(min(idle_sleep, max(0.0, next_claim - time.monotonic())))
                # else a start found rows gone (expired, endpoint disabled, lease lost): start the next ones
            self._drain()
        finally:
            self._flush()

    def drain(self, rows: list[Row]) -> None:
        """Send these claimed rows, wait for every thread, write the receipts."""
        self._claimed.extend(rows)
        try:
            self._drain()
        finally:
            self._flush()

    def _drain(self) -> None:
        while self._claimed or self._idle < self._threads:
            self._write()
            if not self._idle or not self._claimed:
                self._wait(None)

    def _write(self) -> None:
        """One transaction: the receipts reported so far and the start of claimed rows for each idle thread; then the
        started rows go to the threads."""
        chunks = self._chunks()
        starts = [row for chunk in chunks for row in chunk]
        if not starts and not self._sent:
            return
        dispatcher = self._dispatcher
        with dispatcher.db.engine.begin() as connection:
            if self._sent:
                connection.execute(_SENT, self._sent)
            works = dispatcher._start_rows(connection, starts) if starts else []
        self._sent = []
        work_of = dict(zip((row.id for row in starts), works, strict=True))
        for chunk in chunks:
            started = [(row.id, work_of[row.id]) for row in chunk if work_of[row.id] is not None]
            if started:
                self._idle -= 1
                self._pool.submit(self._send, started)

    def _chunks(self) -> list[list[Row]]:
        """What each idle thread gets: an SMS row and, while more wait than threads, the next ones (up to `chunk`);
        any other row alone."""
        per_thread = max(1, min(self._chunk, len(self._claimed) // self._threads))
        chunks = []
        while self._claimed and len(chunks) < self._idle:
            chunk = [self._claimed.popleft()]
            while (len(chunk) < per_thread and chunk[0].lane == FAN_OUT_LANE and self._claimed
                   and self._claimed[0].lane == FAN_OUT_LANE):
                chunk.append(self._claimed.popleft())
            chunks.append(chunk)
        return chunks

    def _send(self, started: list[tuple[int, tuple]]) -> None:
        """In a sending thread: send each row, then report (one report per chunk: the `sent` receipts, and the
        error that stopped the chunk, if any; rows it did not reach stay `sending`, to be reconciled). Rows still
        unsent half a lease after their start go back to `pending` unsent: past the lease, the leader would take
        them for a dead dispatcher's."""
        sent, failure = [], None
        dispatcher = self._dispatcher
        deadline = time.monotonic() + dispatcher.options.lease.total_seconds() / 2
        try:
            for delivery_id, work in started:
                within = deadline - time.monotonic()
                receipt = (dispatcher._send(delivery_id, work, within) if within > 0 else
                           Receipt(Outcome.RETRY, error="not sent within half the lease: sent later"))
                if receipt.outcome is Outcome.SENT:
                    sent.append(_sent_params(delivery_id, receipt, utcnow()))
                else:
                    dispatcher._finish(delivery_id, receipt)
        except BaseException as error:  # the database is gone, say: the loop raises it
            failure = error
        self._reports.put((sent, failure))

    def _wait(self, timeout: float | None) -> None:
        """Wait up to `timeout` (None: for ever) for a report; then gather reports until a quarter of the threads
        is idle, none came for _GATHER_GAP, or _GATHER_MAX passed: fewer commits per message, and the threads that
        wait meanwhile are few."""
        try:
            report = self._reports.get(timeout=timeout)
        except queue.Empty:
            return
        self._take(report)
        enough, until = max(1, self._threads // 4), time.monotonic() + _GATHER_MAX
        while self._idle < enough and self._claimed:
            try:
                self._take(self._reports.get(timeout=_GATHER_GAP))
            except queue.Empty:
                break
            if time.monotonic() >= until:
                break
        while True:
            try:
                self._take(self._reports.get_nowait())
            except queue.Empty:
                return

    def _take(self, report: tuple[list[dict], BaseException | None]) -> None:
        sent, failure = report
        self._idle += 1
        self._sent += sent
        if failure is not None:
            raise failure

    def _flush(self) -> None:
        """Write the receipts taken but not yet written (when the loop is left by an error, if the database still
        answers; otherwise those rows stay `sending`, become `unknown` when their lease runs out, and are
        reconciled)."""
        if self._sent:
            try:
                with self._dispatcher.db.engine.begin() as connection:
                    connection.execute(_SENT, self._sent)
            except Exception:
                log.exception("receipts of sent rows not written")
            self._sent = []
