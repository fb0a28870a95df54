"""Waiting for what worker processes do: a condition, a release's row, a release finished."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from alerts.models import Delivery, Release


def wait_for(predicate, timeout=60.0, every=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def release_row(db, release_id):
    with db.transaction() as session:
        return session.get(Release, release_id)


def finished(db, release_id):
    """Fired, and every row of its ledger done (rows are staged and sent at T, even before the leader fires)."""
    with db.transaction() as session:
        if session.get(Release, release_id).state != "released":
            return False
        open_rows = session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.release_id == release_id, Delivery.state.in_(("pending", "claimed", "sending"))))
        total = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.release_id == release_id))
    return total > 0 and open_rows == 0
