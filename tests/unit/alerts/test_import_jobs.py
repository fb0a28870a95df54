"""Subscriber imports as worker jobs: POST answers 202 with the job's address once the list is stored; a worker
claims it (one claim wins), imports it in one transaction (all rows or none) while its progress shows from short
transactions of its own; a job whose worker died is taken again when its lease runs out; only the job's own
centre reads it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from alerts import import_jobs, subscribers, subscribers_csv
from alerts.models import ImportJob, Subscriber, SubscriberArea, utcnow


def csv_of(count: int, start: int = 0) -> str:
    return "phone,language,areas\n" + "".join(f"+3247{n:07d},{('nl', 'fr', 'de', 'en')[n % 4]},be-lim;be-ant\n"
                                              for n in range(start, start + count))


def submit(api, text: str):
    return api.client.post("/api/v1/subscribers/import", data=text, content_type="text/csv",
                           headers={"Authorization": f"Bearer {api.token}"})


def job_of(api, location: str):
    return api.client.get(location, headers={"Authorization": f"Bearer {api.token}"})


def subscribers_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Subscriber))


def test_an_import_is_queued_answered_at_once_and_run_by_a_worker(api_as, db):
    be = api_as("BE", "communicator")
    answer = submit(be, csv_of(30))
    assert answer.status_code == 202
    location = answer.headers["Location"]
    job = answer.get_json()
    assert location == f"/api/v1/subscribers/imports/{job['id']}"
    assert (job["state"], job["rows_done"], job["rows_total"], job["result"]) == ("queued", 0, 30, None)
    assert subscribers_count(db) == 0  # nothing imported by the web request
    assert job_of(be, location).get_json()["state"] == "queued"
    assert import_jobs.run_next(db, "w1") == "done"
    done = job_of(api_as("BE", "spokesperson"), location).get_json()  # any staff of the centre reads it
    assert done["state"] == "done" and done["result"] == {"imported": 30, "updated": 0, "opted_out": 0}
    assert done["rows_done"] == 30 and done["finished_at"] and done["errors"] == []
    assert subscribers_count(db) == 30
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(SubscriberArea)) == 60
        assert session.get(ImportJob, job["id"]).body == ""  # the list of numbers is not kept
    assert import_jobs.run_next(db, "w1") is None  # nothing left


def test_only_the_jobs_own_centre_reads_it(api_as, db):
    answer = submit(api_as("BE", "admin"), csv_of(2))
    location = answer.headers["Location"]
    for other in (api_as("NL", "communicator"), api_as("LU", "admin")):
        refused = job_of(other, location)
        assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert job_of(api_as("BE", "partner"), location).status_code == 403
    assert job_of(api_as("BE", "communicator"), "/api/v1/subscribers/imports/999999").status_code == 404


def test_line_errors_fail_the_job_and_nothing_is_imported(api_as, db):
    be = api_as("BE", "communicator")
    answer = submit(be, csv_of(5) + "not a number,nl,be-lim\n+32470000001,xx,be-lim\n")
    assert import_jobs.run_next(db, "w1") == "failed"
    job = job_of(be, answer.headers["Location"]).get_json()
    assert job["state"] == "failed" and job["result"] is None
    assert [error["line"] for error in job["errors"]] == [7, 8]
    assert "invalid number" in job["errors"][0]["error"]
    assert subscribers_count(db) == 0


def test_one_claim_wins(api_as, db):
    submit(api_as("BE", "communicator"), csv_of(1))
    first = import_jobs.claim_next(db, "w1")
    assert first is not None
    assert import_jobs.claim_next(db, "w2") is None  # running, its lease current: not claimable


def test_progress_shows_while_the_import_runs_in_one_transaction(api_as, db, monkeypatch):
    be = api_as("BE", "communicator")
    location = submit(be, csv_of(40)).headers["Location"]
    job_id = int(location.rsplit("/", 1)[1])
    monkeypatch.setattr(subscribers_csv, "PROGRESS_EVERY", 10)
    seen = []
    write = subscribers.write_subscribers

    def observed(session, centre, rows, progress=None):
        result = write(session, centre, rows, progress)
        with db.snapshot() as other:  # another connection, while the import's transaction is open
            job = other.get(ImportJob, job_id)
            seen.append((job.state, job.phase, job.rows_done,
                         other.scalar(select(func.count()).select_from(Subscriber))))
        return result

    readings = []
    progress_call = import_jobs._Progress.__call__

    def noted(self, phase, rows, importing=True):
        progress_call(self, phase, rows, importing)
        if phase == "reading":
            with db.snapshot() as other:
                readings.append(other.get(ImportJob, job_id).rows_done)

    monkeypatch.setattr(subscribers, "write_subscribers", observed)
    monkeypatch.setattr(import_jobs._Progress, "__call__", noted)
    assert import_jobs.run_next(db, "w1") == "done"
    assert readings == [10, 20, 30, 40]
    state, phase, rows_done, visible = seen[0]
    assert (state, phase, visible) == ("running", "writing", 0)  # all rows or none: nothing visible before commit
    assert rows_done == (40 if db.dialect == "postgresql" else 0)  # SQLite: its one writer is the import
    assert subscribers_count(db) == 40


def test_a_job_whose_worker_died_is_run_again_after_its_lease_and_fails_after_three_tries(api_as, db, monkeypatch):
    be = api_as("BE", "communicator")
    location = submit(be, csv_of(20)).headers["Location"]
    job_id = int(location.rsplit("/", 1)[1])

    def dies(*args, **kwargs):
        raise RuntimeError("the worker's connection dropped mid-import")

    monkeypatch.setattr(subscribers, "record_import", dies)
    with pytest.raises(RuntimeError):
        import_jobs.run_next(db, "w1")
    assert subscribers_count(db) == 0  # rolled back whole
    assert job_of(be, location).get_json()["state"] == "running"
    assert import_jobs.run_next(db, "w2") is None  # its lease has not run out

    def lease_ends():
        with db.transaction() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id)
                            .values(lease_until=utcnow() - timedelta(seconds=1)))

    lease_ends()
    monkeypatch.undo()
    assert import_jobs.run_next(db, "w2") == "done"
    job = job_of(be, location).get_json()
    assert job["state"] == "done" and job["result"]["imported"] == 20 and subscribers_count(db) == 20

    again = submit(be, csv_of(5, start=100)).headers["Location"]
    monkeypatch.setattr(subscribers, "record_import", dies)
    for attempt in range(import_jobs.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            import_jobs.run_next(db, f"w{attempt}")
        with db.transaction() as session:
            session.execute(update(ImportJob).where(ImportJob.state == "running")
                            .values(lease_until=utcnow() - timedelta(seconds=1)))
    assert import_jobs.run_next(db, "w9") is None  # not taken a fourth time: failed
    failed = job_of(be, again).get_json()
    assert failed["state"] == "failed" and "stopped 3 times" in failed["errors"][0]["error"]
    assert subscribers_count(db) == 20


def test_a_user_who_lost_the_role_before_it_ran_imports_nothing(api_as, db):
    from alerts.models import UserRole

    be = api_as("BE", "communicator")
    location = submit(be, csv_of(3)).headers["Location"]
    with db.transaction() as session:
        job = session.get(ImportJob, int(location.rsplit("/", 1)[1]))
        session.execute(update(UserRole).where(UserRole.user_id == job.user_id).values(role="partner"))
    assert import_jobs.run_next(db, "w1") == "failed"
    assert subscribers_count(db) == 0


def test_an_import_stores_locations_and_a_later_import_replaces_them(api_as, db):
    be = api_as("BE", "communicator")
    first = ('phone,language,areas,location\n+32470000001,nl,,"51.098,5.787"\n'
             '+32470000002,fr,be-lim,"50.965,5.5"\n+32470000003,de,be-lim,\n')
    assert submit(be, first).status_code == 202
    assert import_jobs.run_next(db, "w1") == "done"
    again = 'phone,language,areas\n+32470000002,fr,be-lim\n'  # no location column: the number has none now
    assert submit(be, again).status_code == 202
    assert import_jobs.run_next(db, "w1") == "done"
    with db.transaction() as session:
        rows = session.execute(select(Subscriber.phone, Subscriber.latitude, Subscriber.longitude)
                               .order_by(Subscriber.phone)).all()
        places = session.scalars(select(SubscriberArea.place).join(Subscriber).where(
            Subscriber.phone == "+32470000001")).all()
    assert [tuple(row) for row in rows] == [("+32470000001", 51.098, 5.787), ("+32470000002", None, None),
                                           ("+32470000003", None, None)]
    assert places == []  # located only
