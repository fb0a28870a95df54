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


def test_a_worker_sends_the_lanes_it_is_given(db):
    from alerts.dispatch import DispatchOptions
    from alerts.release import ReleaseOptions
    from worker import Worker

    both = Worker(db, {}, ReleaseOptions(), DispatchOptions(), dispatchers=2, name="w")
    assert sorted(d.options.lanes for d in both.dispatchers) == [("main",), ("main",), ("sms",), ("sms",)]
    sms = Worker(db, {}, ReleaseOptions(), DispatchOptions(), name="w", lanes=("sms",))
    assert [d.options.lanes for d in sms.dispatchers] == [("sms",)]


def test_the_worker_command_refuses_an_unknown_lane(app):
    result = app.test_cli_runner().invoke(args=["worker", "--lanes", "fax"])
    assert result.exit_code == 2 and "lanes are among main, sms" in result.output


def test_a_worker_imports_a_queued_subscriber_list(api_as, db):
    from alerts.dispatch import DispatchOptions
    from alerts.release import ReleaseOptions
    from worker import Worker

    be = api_as("BE", "communicator")
    answer = be.client.post("/api/v1/subscribers/import", data="phone,language,areas\n+32470123456,nl,be-lim\n",
                            content_type="text/csv", headers={"Authorization": f"Bearer {be.token}"})
    assert answer.status_code == 202
    worker = Worker(db, {}, ReleaseOptions(), DispatchOptions(), name="w")
    assert worker.import_next() == "done"
    assert worker.import_next() is None
    assert be.get("/subscribers/count").get_json()["total"] == 1
