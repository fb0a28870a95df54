"""What became of sent messages: provider delivery reports (an inbox the worker applies in batches, forward only),
reconciliation of unknown outcomes with the provider, recovery of a stopped dispatcher's leased rows, and the
ledger's counts per state."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from alerts.models import Delivery, Payload, ProviderReport, Release, utcnow
from channels.base import Channel, Outcome, Target
from channels.base import Payload as SendPayload
from db import Database

log = logging.getLogger("benelert.dispatch")

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


class _Taken:
    """The provider ids a reconciled row may not take: ids on any other ledger row (the provider_id index answers),
    and ids given to another row earlier in the same reconciliation run."""

    def __init__(self, db: Database, given: set[tuple[str, str]], channel: str, row_id: int):
        self.db, self.given, self.channel, self.row_id = db, given, channel, row_id

    def __contains__(self, provider_id: object) -> bool:
        if (self.channel, provider_id) in self.given:
            return True
        with self.db.transaction() as session:
            return _on_another_row(session, provider_id, self.row_id)


def _on_another_row(session, provider_id, row_id: int) -> bool:
    return session.scalar(select(Delivery.id).where(Delivery.provider_id == provider_id, Delivery.id != row_id)
                          .limit(1)) is not None


def _verdict(receipt, now: datetime) -> dict | None:
    """The row's new values for a reconciliation receipt, or None to leave it unknown."""
    if receipt.outcome is Outcome.SENT:
        values = {"state": "sent", "provider_id": receipt.provider_id, "provider_status": receipt.provider_status,
                  "sent_at": now, "error": "reconciled: the provider had it"}
        if receipt.provider_status == "delivered":
            values.update(state="delivered", delivered_at=now)
        elif receipt.provider_status in ("undelivered", "failed"):
            values.update(state="failed", error=f"reconciled: the provider reported {receipt.provider_status}")
        return values
    if receipt.outcome is Outcome.RETRY:
        return {"state": "pending", "next_attempt_at": now, "error": "reconciled: not sent, sending again"}
    if receipt.outcome is Outcome.FAILED:
        return {"state": "failed", "error": f"reconciled: {receipt.error}"}
    return None


def _target(row) -> Target:
    """The target the dispatcher sent to: a sandbox target (Exercise, Test) names its own account, never the
    centre's public one (as in alerts.dispatch)."""
    sandbox = row.mode != "Actual"
    return Target(address=row.target, account="" if sandbox else row.centre_code, sandbox=sandbox)


_COUNTED = {Outcome.SENT: "sent", Outcome.RETRY: "requeued", Outcome.FAILED: "failed"}


def reconcile_unknown(db: Database, channels: Mapping[str, Channel], grace: timedelta = timedelta(seconds=60),
                      limit: int = 200) -> dict[str, int]:
    """Ask the provider about rows whose outcome is unknown (channels that can look a message up):
    found → `sent`; provably absent → `pending` again; refused for good → `failed`; lookup failed → still
    `unknown`. Never a blind resend, and never another row's evidence: a provider message is this row's only if
    it was created at or after this row's first attempt and its id is on no other row, nor given to another row
    in this run (the adapter's `reconcile(payload, target, since, taken)` applies the first two).

    Rows are asked about latest first attempt first, and each takes the oldest message that qualifies: a message
    created after several rows' first attempts goes to the latest of them, which cannot have any older one.

    The provider is asked outside any transaction (on SQLite a transaction holds the one write lock, and 200
    lookups take seconds); each verdict is then written only if the row is still unknown and, for a message
    found, its id is still on no other row."""
    now = utcnow()
    counts = {"sent": 0, "requeued": 0, "failed": 0, "unknown": 0}
    able = [name for name, channel in channels.items() if hasattr(channel, "reconcile")]
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.channel, Delivery.idempotency_key, Delivery.language, Delivery.target,
                   Delivery.centre_code, Delivery.first_attempt_at, Payload.body, Release.mode)
            .join(Payload, Payload.id == Delivery.payload_id).join(Release, Release.id == Delivery.release_id)
            .where(Delivery.state == "unknown", Delivery.channel.in_(able), Delivery.first_attempt_at <= now - grace)
            .order_by(Delivery.id).limit(limit)).all()
    given: set[tuple[str, str]] = set()
    for row in sorted(rows, key=lambda row: (row.first_attempt_at, row.id), reverse=True):
        receipt = channels[row.channel].reconcile(
            SendPayload(body=row.body, idempotency_key=row.idempotency_key, language=row.language),
            _target(row), row.first_attempt_at, taken=_Taken(db, given, row.channel, row.id))
        values = _verdict(receipt, now)
        if values is None:
            counts["unknown"] += 1
            continue
        with db.transaction() as session:
            if values.get("provider_id") and _on_another_row(session, values["provider_id"], row.id):
                counts["unknown"] += 1  # a dispatcher wrote it on another row meanwhile: ask again next time
                continue
            changed = session.execute(update(Delivery).where(Delivery.id == row.id, Delivery.state == "unknown")
                                      .values(**values).execution_options(synchronize_session=False)).rowcount
        if changed and values.get("provider_id"):
            given.add((row.channel, values["provider_id"]))
        counts[_COUNTED[receipt.outcome]] += changed
    return counts


# Twilio's message statuses in the order a message moves through them (its "Outbound Message Status in Status
# Callbacks" guide): accepted/scheduled → queued → sending → sent → delivered | undelivered | failed (canceled: a
# scheduled message withdrawn), and read after delivered. A report only moves a row forward: an older or replayed
# one changes nothing. Of the final statuses, `delivered` outranks `undelivered`/`failed`: it is the carrier's
# receipt that the handset has the message, and a late delivery receipt after an undelivered one is the later,
# positive evidence (never resend then); a failure never turns a delivered row back.
STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3, "canceled": 4,
               "undelivered": 4, "failed": 4, "delivered": 5, "read": 6}
DELIVERED = ("delivered", "read")
REPORT_BATCH = 500  # reports applied per transaction
REPORT_BATCHES = 40  # at most this many transactions per call (20,000 reports); the next call goes on


def _advance(row: dict, status: str, at: datetime) -> bool:
    """Move `row` (provider_status, state, delivered_at, error) forward to `status`; False if it is not ahead."""
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(row["provider_status"], -1):
        return False
    row["provider_status"] = status
    if status in DELIVERED:
        if row["state"] != "delivered":
            row["state"], row["delivered_at"] = "delivered", at
    elif STATUS_RANK[status] == STATUS_RANK["failed"] and row["state"] != "delivered":
        row["state"], row["error"] = "failed", f"provider reported {status}"
    return True


def record_status_report(db: Database, provider_id: str, status: str) -> None:
    """A provider's delivery report, appended to the inbox (one short INSERT: no ledger row is read or locked);
    the worker applies it with apply_held_reports. On PostgreSQL on the autocommit engine (Database.reader, without
    a pre-ping): one round trip, the INSERT commits itself, where a transaction took six (ping, BEGIN, INSERT,
    COMMIT) and the server's CPU for each, thousands of times a minute during a release."""
    append = insert(ProviderReport).values(provider_id=provider_id, status=status, received_at=utcnow())
    if db.reader is not None:
        with db.reader.connect() as connection:
            connection.execute(append)
        return
    with db.engine.begin() as connection:
        connection.execute(append)


def _apply_batch(db: Database, limit: int) -> tuple[int, int]:
    """One transaction: the oldest `limit` reports whose ledger row exists, applied in the order received and
    deleted; (reports consumed, rows changed)."""
    with db.transaction() as session:
        pairs = session.execute(
            select(ProviderReport.id, ProviderReport.status, ProviderReport.received_at, Delivery.id,
                   Delivery.provider_status, Delivery.state, Delivery.delivered_at, Delivery.error)
            .join(Delivery, Delivery.provider_id == ProviderReport.provider_id)
            .order_by(ProviderReport.id).limit(limit)).all()
        rows: dict[int, dict] = {}
        changed: set[int] = set()
        for _, status, at, row_id, provider_status, state, delivered_at, error in pairs:
            row = rows.setdefault(row_id, {"id": row_id, "provider_status": provider_status, "state": state,
                                           "delivered_at": delivered_at, "error": error})
            if _advance(row, status, at):
                changed.add(row_id)
        if changed:
            session.execute(update(Delivery), [rows[row_id] for row_id in sorted(changed)])
        report_ids = [pair[0] for pair in pairs]
        if report_ids:
            session.execute(delete(ProviderReport).where(ProviderReport.id.in_(report_ids))
                            .execution_options(synchronize_session=False))
    return len(pairs), len(changed)


def apply_held_reports(db: Database, keep: timedelta = timedelta(days=2), limit: int = REPORT_BATCH,
                       batches: int = REPORT_BATCHES) -> dict[str, int]:
    """Apply the inbox of provider reports (record_status_report) to the ledger rows that carry their ids, in
    batches of `limit` per transaction, in the order received and forward only (replays and late reports change
    nothing). A report whose id no row carries yet (it overtook the dispatcher's commit) stays for a later call;
    one older than `keep` that never matched (not ours, or a row lost to a crash: the metrics count them) is
    dropped. `applied`: reports consumed; `changed`: rows they moved on."""
    counts = {"applied": 0, "changed": 0, "expired": 0}
    for _ in range(batches):
        consumed, moved = _apply_batch(db, limit)
        counts["applied"] += consumed
        counts["changed"] += moved
        if consumed < limit:
            break
    with db.transaction() as session:
        counts["expired"] = session.execute(
            delete(ProviderReport).where(ProviderReport.received_at < utcnow() - keep)
            .execution_options(synchronize_session=False)).rowcount
    return counts


def ledger_counts(db: Database, release_id: int) -> dict[str, int]:
    with db.transaction() as session:
        return dict(session.execute(select(Delivery.state, func.count()).where(Delivery.release_id == release_id)
                                    .group_by(Delivery.state)).all())
