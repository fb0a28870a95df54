"""Subscriber imports as jobs of the worker process: the web stores the uploaded list (submit) and answers at once;
a worker claims the oldest queued job (claim_next), imports it in one transaction of its own, all rows or none
(run), and writes its progress in short transactions beside it, so that GET …/imports/{id} shows it while the
import runs (job_for).

A claim is a lease (LEASE): a worker that dies mid-import leaves its job `running` with a lease that runs out,
and the next claim takes it again (its transaction was rolled back: nothing was written); after MAX_ATTEMPTS the
job fails instead of being retried for ever. A worker imports one job at a time."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from alerts import subscribers
from alerts.access import require_role
from alerts.errors import DomainError, NotFound
from alerts.i18n import _, from_json, to_json
from alerts.models import ImportJob, User, utcnow
from db import Database

log = logging.getLogger("benelert.imports")

LEASE = timedelta(minutes=5)  # renewed at each progress write; a 200,000-row import takes well under a minute
MAX_ATTEMPTS = 3
READERS = ("admin", "communicator", "spokesperson")


def submit(session: Session, actor: User, text: str) -> ImportJob:
    """Queue the CSV `text` for import into the actor's centre (checked when it runs as well)."""
    require_role(actor, *subscribers.IMPORT_ROLES)
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    job = ImportJob(centre_id=actor.centre_id, user_id=actor.id, body=text, state="queued", rows_done=0,
                    rows_total=max(0, lines - 1), attempts=0, created_at=utcnow())
    session.add(job)
    session.flush()
    return job


def job_for(session: Session, actor: User, job_id: int) -> ImportJob:
    """The job, for a staff member of its own centre only (404 for anyone else: not even its existence)."""
    require_role(actor, *READERS)
    job = session.get(ImportJob, job_id)
    if job is None or job.centre_id != actor.centre_id:
        raise NotFound(_("No subscriber import %(id)s for your centre.", id=job_id))
    return job


def describe(job: ImportJob) -> dict:
    """What the API shows of a job: state, progress, and the result (done) or the line errors (failed)."""
    return {"id": job.id, "state": job.state, "phase": job.phase, "rows_done": job.rows_done,
            "rows_total": job.rows_total, "result": job.result, "errors": [
                {"line": error["line"], "error": from_json(error["error"])} for error in job.errors or []],
            "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at}


def _claimable(now):
    return or_(ImportJob.state == "queued", and_(ImportJob.state == "running", ImportJob.lease_until < now))


def claim_next(db: Database, worker: str) -> int | None:
    """Take the oldest queued job, or a running one whose worker's lease ran out; its id, or None. PostgreSQL:
    FOR UPDATE SKIP LOCKED (workers never wait on each other's claim); SQLite: a conditional update, whose row count
    says who won. A job claimed MAX_ATTEMPTS times already fails instead."""
    now = utcnow()
    with db.transaction() as session:
        query = select(ImportJob.id, ImportJob.attempts).where(_claimable(now)).order_by(ImportJob.id).limit(1)
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        found = session.execute(query).first()
        if found is None:
            return None
        job_id, attempts = found
        if attempts >= MAX_ATTEMPTS:
            values = {"state": "failed", "body": "", "finished_at": now, "lease_until": None, "errors": [
                {"line": 0, "error": to_json(_("The import stopped %(num)d times without finishing; nothing was "
                                                 "imported. Send the list again, or split it.", num=attempts))}]}
        else:
            values = {"state": "running", "phase": "reading", "rows_done": 0, "attempts": attempts + 1,
                      "claimed_by": worker, "lease_until": now + LEASE, "started_at": now}
        claimed = session.execute(update(ImportJob).where(ImportJob.id == job_id, _claimable(now))
                                  .values(**values).execution_options(synchronize_session=False)).rowcount
    if not claimed or attempts >= MAX_ATTEMPTS:
        return None
    return job_id


class _Progress:
    """Writes (phase, rows done) in a short transaction of its own, renewing the lease. On SQLite, whose one writer
    is the import's transaction while it writes, only the reading phase is shown."""

    def __init__(self, db: Database, job_id: int, worker: str):
        self.db, self.job_id, self.worker = db, job_id, worker

    def __call__(self, phase: str, rows: int, importing: bool = True) -> None:
        if importing and phase == "writing" and self.db.dialect != "postgresql":
            return
        with self.db.transaction() as session:
            session.execute(update(ImportJob).where(ImportJob.id == self.job_id, ImportJob.claimed_by == self.worker)
                            .values(phase=phase, rows_done=rows, lease_until=utcnow() + LEASE)
                            .execution_options(synchronize_session=False))


def run(db: Database, job_id: int, worker: str) -> str:
    """Import the claimed job: all rows and `done` with the result in one transaction, or `failed` with the line
    errors and nothing imported. Its final state ('' when another worker took it over meanwhile)."""
    with db.transaction() as session:
        job = session.get(ImportJob, job_id)
        text, user_id = job.body, job.user_id
        centre = session.get(User, user_id).centre
    progress = _Progress(db, job_id, worker)
    rows, errors = subscribers.parse_for(centre, text, progress)
    if not errors:
        progress("writing", 0, importing=False)
        try:
            with db.transaction() as session:
                actor = session.get(User, user_id)
                require_role(actor, *subscribers.IMPORT_ROLES)  # still allowed when it runs
                result = subscribers.write_subscribers(session, actor.centre, rows, progress)
                subscribers.record_import(session, actor, result)
                if _finish(session, job_id, worker, "done", result=result, rows=len(rows)):
                    return "done"
                session.rollback()  # not ours any more: the worker that took it over imports it
                return ""
        except DomainError as error:
            errors = [{"line": 0, "error": error.detail}]
    with db.transaction() as session:
        ended = _finish(session, job_id, worker, "failed", errors=errors, rows=len(rows))
    return "failed" if ended else ""


def _finish(session: Session, job_id: int, worker: str, state: str, result: dict | None = None,
            errors: list[dict] | None = None, rows: int = 0) -> bool:
    """End the job if this worker still holds it; the body goes (a list of numbers is kept no longer than needed)."""
    values = {"state": state, "body": "", "phase": None, "lease_until": None, "finished_at": utcnow(),
              "result": result, "errors": [{"line": e["line"], "error": to_json(e["error"])} for e in errors or []]}
    if state == "done":
        values["rows_done"] = values["rows_total"] = rows
    return bool(session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.claimed_by == worker,
                                                        ImportJob.state == "running")
                                .values(**values).execution_options(synchronize_session=False)).rowcount)


def run_next(db: Database, worker: str) -> str | None:
    """Claim and run one job: its final state, or None when there was none to claim."""
    job_id = claim_next(db, worker)
    if job_id is None:
        return None
    log.info("importing subscribers", extra={"job": job_id})
    state = run(db, job_id, worker)
    log.info("subscriber import ended", extra={"job": job_id, "state": state})
    return state
