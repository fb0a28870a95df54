"""The scheduler's leadership: one PostgreSQL advisory lock, given up at once when released."""
from __future__ import annotations

from worker import Leadership


def test_one_leader_and_the_lock_is_given_up_at_once(db):
    first, second = Leadership(db), Leadership(db)
    try:
        assert first.is_leader() and first.is_leader()  # keeps it
        if db.dialect != "postgresql":
            assert second.is_leader()  # SQLite: one worker process by construction
            return
        assert not second.is_leader()
        first.release()
        assert second.is_leader()  # not held on by a pooled connection
        assert not first.is_leader()
    finally:
        first.release()
        second.release()
