"""The workflow table is the truth: every row is taken by some verb, every state change goes through it, and a
released alert expires when its version says so."""
from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts import firing, release, workflow
from alerts.errors import Conflict, Forbidden
from alerts.models import Alert, AuditEvent
from devtools.world import SHORT_TEXTS, approved_alert, flood_alert

ALERTS = Path(__file__).resolve().parents[3] / "alerts"


def if_match(number: int) -> dict:
    return {"If-Match": f'"v{number}"'}


def test_no_module_sets_an_alert_state_but_the_workflow():
    offenders = []
    for path in ALERTS.glob("*.py"):
        if path.name == "workflow.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AugAssign | ast.AnnAssign) else []
            offenders += [f"{path.name}:{node.lineno}" for t in targets
                          if isinstance(t, ast.Attribute) and t.attr == "state"
                          and not (isinstance(t.value, ast.Name) and t.value.id in {"row", "delivery"})]
    assert offenders == []


def test_advance_checks_the_state_and_the_role():
    class Someone:
        roles = frozenset({"communicator"})

    alert = Alert(state="in_review")
    with pytest.raises(Forbidden, match="needs the role spokesperson"):
        workflow.advance(alert, "approve", Someone())
    with pytest.raises(Forbidden, match="needs the role spokesperson"):  # no state lets a communicator schedule
        workflow.advance(alert, "schedule", Someone())

    class Spokesperson:
        roles = frozenset({"spokesperson"})

    with pytest.raises(Conflict, match="cannot be scheduled"):
        workflow.advance(alert, "schedule", Spokesperson())
    assert alert.state == "in_review"
    workflow.advance(alert, "edit", Someone())
    assert alert.state == "draft"


def _approve(api_as, alert_id, number, content_hash, centres=("BE", "NL")):
    for centre in centres:
        answer = api_as(centre, "spokesperson").post(f"/alerts/{alert_id}/approvals", headers=if_match(number),
                                                     json={"decision": "approve", "content_hash": content_hash})
        assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _edit(api, alert_id, number, web):
    return api.patch(f"/alerts/{alert_id}", json={"web": web}, headers=if_match(number)).status_code


def _schedule(api_as, alert_id, number, content_hash, at=None):
    body = {"content_hash": content_hash, "channels": {"BE": ["partners"]}}
    if at is not None:
        body["at"] = at.isoformat()
    answer = api_as("BE", "spokesperson").post(f"/alerts/{alert_id}/release", headers=if_match(number), json=body)
    assert answer.status_code == 201, answer.get_json()


def _derive_update(api_as, source_id, state):
    """An Update of `source_id` taken to `state` (draft, in_review, approved or scheduled an hour ahead)."""
    be = api_as("BE", "communicator")
    update = be.post(f"/alerts/{source_id}/derive", json={"msg_type": "Update"}).get_json()
    if state != "draft":
        assert be.post(f"/alerts/{update['id']}/submit", headers=if_match(1)).status_code == 200
    if state in ("approved", "scheduled"):
        _approve(api_as, update["id"], 1, update["version"]["content_hash"])
    if state == "scheduled":
        _schedule(api_as, update["id"], 1, update["version"]["content_hash"], datetime.now(UTC) + timedelta(hours=1))
    assert be.get(f"/alerts/{update['id']}").get_json()["state"] == state
    return update


def _update_closed_by_its_sources_cancel(api_as, db, state):
    """A live alert whose Update, taken to `state`, is closed when the alert's prepared Cancel is released."""
    source = approved_alert(api_as, status="Actual")
    _schedule(api_as, source["id"], 1, source["version"]["content_hash"])
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions(), "w1")
    update = _derive_update(api_as, source["id"], state)
    cancel = api_as("BE", "communicator").get(f"/alerts/{source['id']}/cancel").get_json()
    _approve(api_as, cancel["id"], 1, cancel["version"]["content_hash"])
    _schedule(api_as, cancel["id"], 1, cancel["version"]["content_hash"])
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions(), "w1")
        assert session.get(Alert, update["id"]).state == "closed"


def test_every_row_of_the_table_is_taken_by_a_verb(api_as, db, monkeypatch):
    taken: set[tuple[str, str]] = set()
    check = workflow.check

    def recording(alert, action, actor):
        step = check(alert, action, actor)
        taken.add((alert.state, action))
        return step

    monkeypatch.setattr(workflow, "check", recording)
    be = api_as("BE", "communicator")
    created = be.post("/alerts", json=flood_alert(status="Actual", texts=SHORT_TEXTS)).get_json()
    alert_id = created["id"]
    assert _edit(be, alert_id, 1, "https://crisiscentrum.be/a") == 200
    assert be.post(f"/alerts/{alert_id}/submit", headers=if_match(2)).status_code == 200
    current = be.get(f"/alerts/{alert_id}").get_json()["version"]
    rejected = api_as("NL", "spokesperson").post(f"/alerts/{alert_id}/approvals", headers=if_match(2), json={
        "decision": "reject", "reason": "check the times", "content_hash": current["content_hash"]})
    assert rejected.status_code == 200, rejected.get_json()
    assert be.post(f"/alerts/{alert_id}/submit", headers=if_match(2)).status_code == 200
    _approve(api_as, alert_id, 2, current["content_hash"], centres=("BE",))  # in_review, approve
    assert _edit(be, alert_id, 2, "https://crisiscentrum.be/b") == 200
    assert be.post(f"/alerts/{alert_id}/submit", headers=if_match(3)).status_code == 200
    current = be.get(f"/alerts/{alert_id}").get_json()["version"]
    _approve(api_as, alert_id, 3, current["content_hash"])
    assert be.get(f"/alerts/{alert_id}").get_json()["state"] == "approved"
    assert _edit(be, alert_id, 3, "https://crisiscentrum.be/c") == 200
    assert be.post(f"/alerts/{alert_id}/submit", headers=if_match(4)).status_code == 200
    current = be.get(f"/alerts/{alert_id}").get_json()["version"]
    _approve(api_as, alert_id, 4, current["content_hash"])
    _schedule(api_as, alert_id, 4, current["content_hash"], datetime.now(UTC) + timedelta(hours=1))
    withdrawn = api_as("NL", "spokesperson").post(f"/alerts/{alert_id}/release/withdraw", headers=if_match(4),
                                                  json={"reason": "the river peaks later"})  # scheduled, withdraw
    assert withdrawn.status_code == 200, withdrawn.get_json()
    _schedule(api_as, alert_id, 4, current["content_hash"])
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions(), "w1")  # scheduled, release; the Cancel: submit
    for state in ("draft", "approved", "scheduled"):  # one Update in the works per alert: each of another alert
        _update_closed_by_its_sources_cancel(api_as, db, state)
    prepared = be.get(f"/alerts/{alert_id}/cancel").get_json()
    update = _derive_update(api_as, alert_id, "approved")
    _schedule(api_as, update["id"], 1, update["version"]["content_hash"])
    with db.transaction() as session:  # released, supersede; the prepared Cancel: close
        assert firing.release_due(session, release.ReleaseOptions(), "w1")
        assert session.get(Alert, alert_id).state == "superseded"
        assert session.get(Alert, prepared["id"]).state == "closed"
        cancel = session.scalar(select(Alert).where(Alert.source_alert_id == update["id"]))
        cancel_id = cancel.id
    cancel_json = be.get(f"/alerts/{cancel_id}").get_json()
    assert cancel_json["state"] == "in_review"
    _approve(api_as, cancel_id, 1, cancel_json["version"]["content_hash"])
    _schedule(api_as, cancel_id, 1, cancel_json["version"]["content_hash"])
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions(), "w1")  # released, cancel
        assert session.get(Alert, update["id"]).state == "cancelled"

    exercise = approved_alert(api_as, status="Exercise")  # an exercise: no Cancel is prepared for it
    _schedule(api_as, exercise["id"], 1, exercise["version"]["content_hash"])
    with db.transaction() as session:
        firing.release_due(session, release.ReleaseOptions(), "w1")
        assert exercise["id"] in firing.expire_due(session, datetime.now(UTC) + timedelta(days=2))  # expire
    assert api_as("BE", "spokesperson").post("/communication-tests").status_code == 201  # draft, start_test
    assert taken == set(workflow.TRANSITIONS), set(workflow.TRANSITIONS) ^ taken


def test_expire_due_ends_released_alerts_past_their_expiry_once(api_as, db):
    alert = approved_alert(api_as, status="Exercise")
    _schedule(api_as, alert["id"], 1, alert["version"]["content_hash"])
    with db.transaction() as session:
        firing.release_due(session, release.ReleaseOptions(), "w1")
    later = datetime.now(UTC) + timedelta(days=2)
    with db.transaction() as session:
        assert firing.expire_due(session, datetime.now(UTC)) == []  # not yet: the sample expires in 12 hours
        assert firing.expire_due(session, later) == [alert["id"]]
    with db.transaction() as session:
        assert firing.expire_due(session, later) == []  # once
        assert session.get(Alert, alert["id"]).state == "expired"
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(alert["id"]))).all()
    assert events.count("alert.expire") == 1
