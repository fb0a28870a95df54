"""What became of sent messages: provider delivery reports (applied, or held until their row is committed),
reconciliation of unknown outcomes with the provider, recovery of a stopped dispatcher's leased rows, and the
ledger's counts per state."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

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


def _apply_report(row: Delivery, status: str, now: datetime) -> None:
    row.provider_status = status
    if status == "delivered":
        row.state, row.delivered_at = "delivered", now
    elif status in ("undelivered", "failed") and row.state != "delivered":
        row.state, row.error = "failed", f"provider reported {status}"


def apply_status_callback(db: Database, provider_id: str, status: str) -> bool:
    """A provider's delivery report (queued, sent, delivered, undelivered, failed) for a ledger row.
    A report for an id no row carries yet is held (ProviderReport) for apply_held_reports; False then."""
    now = utcnow()
    with db.transaction() as session:
        row = session.scalar(select(Delivery).where(Delivery.provider_id == provider_id))
        if row is None:
            session.add(ProviderReport(provider_id=provider_id, status=status, received_at=now))
            return False
        _apply_report(row, status, now)
    return True


def apply_held_reports(db: Database, keep: timedelta = timedelta(days=2), limit: int = 1000) -> dict[str, int]:
    """Apply held reports, in the order received, to the rows that now carry their ids; drop the ones
    older than `keep` that never matched (not ours, or a row lost to a crash: the metrics count them)."""
    now = utcnow()
    with db.transaction() as session:
        pairs = session.execute(select(ProviderReport, Delivery)
                                .join(Delivery, Delivery.provider_id == ProviderReport.provider_id)
                                .order_by(ProviderReport.id).limit(limit)).all()
        for report, row in pairs:
            _apply_report(row, report.status, report.received_at)
            session.delete(report)
        expired = session.execute(delete(ProviderReport).where(ProviderReport.received_at < now - keep)
                                  .execution_options(synchronize_session=False)).rowcount
    return {"applied": len(pairs), "expired": expired}


def ledger_counts(db: Database, release_id: int) -> dict[str, int]:
    with db.transaction() as session:
        return dict(session.execute(select(Delivery.state, func.count()).where(Delivery.release_id == release_id)
                                    .group_by(Delivery.state)).all())
