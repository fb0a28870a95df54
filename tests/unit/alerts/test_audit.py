"""Every change lands in the hash chain; `audit verify` notices altered, inserted and deleted events."""
from __future__ import annotations

from sqlalchemy import delete, select, update

from alerts.models import AuditEvent
from devtools.world import flood_alert


def fill_chain(api_as):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    be.patch(f"/alerts/{alert_id}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    be.post(f"/alerts/{alert_id}/comments", json={"body": "check"})
    be.post(f"/alerts/{alert_id}/invitations", json={"centre": "LU"}, headers={"If-Match": '"v2"'})
    return alert_id


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_chain_records_every_change_and_verifies(app, db, api_as):
    alert_id = fill_chain(api_as)
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        actions = [(e.action, e.object_id) for e in events if e.object_type == "alert"]
        hashes = {e.action: e.content_hash for e in events}
    assert actions == [("alert.create", str(alert_id)), ("alert.edit", str(alert_id)),
                       ("comment.add", str(alert_id)), ("alert.invite", str(alert_id))]
    assert len(hashes["alert.edit"]) == 64
    result = verify(app)
    assert result.exit_code == 0 and "intact" in result.output


def test_altered_event_is_detected(app, db, api_as):
    fill_chain(api_as)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.action == "alert.edit").values(actor="someone-else"))
    result = verify(app)
    assert result.exit_code == 1 and "was altered" in result.output


def test_deleted_event_is_detected(app, db, api_as):
    fill_chain(api_as)
    with db.transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.action == "comment.add"))
    result = verify(app)
    assert result.exit_code == 1 and "missing" in result.output


def test_deleted_last_event_is_detected(app, db, api_as):
    fill_chain(api_as)
    with db.transaction() as session:
        last = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
        session.execute(delete(AuditEvent).where(AuditEvent.seq == last))
    result = verify(app)
    assert result.exit_code == 1 and "head records" in result.output


def test_inserted_event_is_detected(app, db, api_as):
    fill_chain(api_as)
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).all()
        # shift the last event up and forge one in its place, copying a plausible prev_hash
        last = events[0]
        forged = AuditEvent(seq=last.seq + 1, at=last.at, actor="intruder", action="alert.edit",
                            object_type="alert", object_id="1", content_hash=None, detail={},
                            prev_hash=events[1].hash, hash="f" * 64)
        session.add(forged)
    result = verify(app)
    assert result.exit_code == 1 and "TAMPERED" in result.output


def test_history_rows_cannot_be_rewritten_through_the_orm(db, api_as):
    import pytest

    fill_chain(api_as)
    with pytest.raises(RuntimeError, match="immutable"):
        with db.transaction() as session:
            event = session.scalars(select(AuditEvent)).first()
            event.actor = "rewritten"


def test_verify_reads_one_moment_while_people_keep_working(app, db, api_as):
    """Events appended while the chain is walked (a login, an edit) are neither a false alarm nor held up."""
    from sqlalchemy import event

    from alerts import audit

    fill_chain(api_as)
    appended = []
    with db.snapshot() as session:
        connection = session.connection()

        @event.listens_for(connection, "after_cursor_execute")
        def someone_logs_in(*_args):  # right after verify's first statement, before it reads the head
            if not appended:
                appended.append(True)
                with db.transaction() as other:  # would wait 10 s and fail on SQLite under BEGIN IMMEDIATE
                    audit.record(other, "be.someone", "login", "user", "1")

        verdict = audit.verify(session)
    assert appended and verdict.ok, verdict.problems
    with db.snapshot() as session:
        assert audit.verify(session).events == verdict.events + 1
    assert verify(app).exit_code == 0
