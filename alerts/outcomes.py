"""What became of sent messages: provider delivery reports (applied, or held until their row is committed),
reconciliation of unknown outcomes with the provider, recovery of a stopped dispatcher's leased rows, and the
ledger's counts per state."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from alerts.models import Delivery, Payload, ProviderReport, utcnow
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


def reconcile_unknown(db: Database, channels: Mapping[str, Channel], grace: timedelta = timedelta(seconds=60),
                      limit: int = 200) -> dict[str, int]:
    """Ask the provider about rows whose outcome is unknown (channels that can look a message up):
    found → `sent`; provably absent → `pending` again; lookup failed → still `unknown`. Never a blind resend.

    The provider is asked outside any transaction (on SQLite a transaction holds the one write lock, and 200
    lookups take seconds); each verdict is then written only if the row is still unknown."""
    now = utcnow()
    counts = {"sent": 0, "requeued": 0, "unknown": 0}
    able = [name for name, channel in channels.items() if hasattr(channel, "reconcile")]
    with db.transaction() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.channel, Delivery.idempotency_key, Delivery.language, Delivery.target,
                   Delivery.centre_code, Delivery.first_attempt_at, Payload.body)
            .join(Payload, Payload.id == Delivery.payload_id)
            .where(Delivery.state == "unknown", Delivery.channel.in_(able), Delivery.first_attempt_at <= now - grace)
            .order_by(Delivery.id).limit(limit)).all()
    for row in rows:
        receipt = channels[row.channel].reconcile(
            SendPayload(body=row.body, idempotency_key=row.idempotency_key, language=row.language),
            Target(address=row.target, account=row.centre_code), row.first_attempt_at)
        if receipt.outcome is Outcome.SENT:
            values = {"state": "sent", "provider_id": receipt.provider_id, "provider_status": receipt.provider_status,
                      "sent_at": now, "error": "reconciled: the provider had it"}
        elif receipt.outcome is Outcome.RETRY:
            values = {"state": "pending", "next_attempt_at": now, "error": "reconciled: not sent, sending again"}
        else:
            counts["unknown"] += 1
            continue
        with db.transaction() as session:
            changed = session.execute(update(Delivery).where(Delivery.id == row.id, Delivery.state == "unknown")
                                      .values(**values).execution_options(synchronize_session=False)).rowcount
        counts["sent" if values["state"] == "sent" else "requeued"] += changed
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
