"""Verbs on one alert at the same moment, on both databases, with real concurrent transactions: each verb
holds the alert's row (SQLite: the write lock), so the second waits for the first and sees what it
committed. Before, on PostgreSQL, two last approvals each counted the other as pending (the alert stayed in
review for good), and an approval committed after an edit set the edited, unapproved version to approved.
Also: one due release that cannot go out does not hold up the others, and a Cancel is prepared once."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alerts import authoring, firing, release, review
from alerts.errors import Conflict
from alerts.models import Alert, Approval, AuditEvent, Centre, Delivery, Release, User
from channels.specs import TextLimits
from devtools.world import SHORT_TEXTS, approved_alert, flood_alert
from tests.unit.web.test_pages import login

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3), sandbox={})


def submitted_alert(api_as) -> dict:
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert(texts=SHORT_TEXTS)).get_json()
    assert be.post(f"/alerts/{alert['id']}/submit", headers={"If-Match": '"v1"'}).status_code == 200
    return alert


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def in_second_transaction(db, work) -> tuple[threading.Thread, dict]:
    """Run work(session) in another thread and transaction, committed at the end; returns (thread, outcome)."""
    outcome: dict = {}

    def run():
        try:
            with db.transaction() as session:
                outcome["value"] = work(session)
        except Exception as error:  # reported to the test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_two_last_approvals_at_once_leave_the_alert_approved(db, api_as, make_user):
    alert = submitted_alert(api_as)
    be_spokes, nl_spokes = make_user("BE", "spokesperson")[0], make_user("NL", "spokesperson")[0]
    digest = alert["version"]["content_hash"]
    first = db.sessions()
    try:
        review.decide(first, user(first, be_spokes), alert["id"], 1, digest, "approve")  # not committed yet
        thread, outcome = in_second_transaction(db, lambda s: review.decide(
            s, user(s, nl_spokes), alert["id"], 1, digest, "approve").state)
        thread.join(0.7)
        assert thread.is_alive(), "the second approval did not wait for the first"
        first.commit()
    finally:
        first.close()
    thread.join(15)
    assert "error" not in outcome, outcome
    assert outcome["value"] == "approved"
    with db.transaction() as session:
        assert session.get(Alert, alert["id"]).state == "approved"


def test_the_last_approval_racing_an_edit_does_not_approve_the_edited_version(db, api_as, make_user):
    alert = submitted_alert(api_as)
    be_spokes, nl_spokes = make_user("BE", "spokesperson")[0], make_user("NL", "spokesperson")[0]
    writer = make_user("NL", "communicator")[0]
    digest = alert["version"]["content_hash"]
    with db.transaction() as session:
        review.decide(session, user(session, be_spokes), alert["id"], 1, digest, "approve")
    edit = db.sessions()
    try:
        authoring.edit_alert(edit, user(edit, writer), alert["id"], 1, {"severity": "Extreme"})  # not committed
        thread, outcome = in_second_transaction(db, lambda s: review.decide(
            s, user(s, nl_spokes), alert["id"], 1, digest, "approve").state)  # NL reviewed version 1
        thread.join(0.7)
        assert thread.is_alive(), "the approval did not wait for the edit"
        edit.commit()
    finally:
        edit.close()
    thread.join(15)
    # the approval named version 1's content; version 2 is what stands now: refused, nothing approved
    assert isinstance(outcome.get("error"), Conflict), outcome
    with db.transaction() as session:
        current = session.get(Alert, alert["id"])
        assert (current.state, current.current_version) == ("draft", 2)
        assert review.approval_state(session, current, authoring.get_version(session, current)) == {
            "BE": "pending", "NL": "pending"}


def test_a_due_release_that_cannot_go_out_is_failed_alone_and_loudly(app, db, api_as, make_user, caplog):
    broken, fine = approved_alert(api_as), approved_alert(api_as)
    spokes = api_as("BE", "spokesperson")
    for alert in (broken, fine):
        planned = spokes.post(f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'}, json={
            "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["partners"]}})
        assert planned.status_code == 201, planned.get_json()
    with db.transaction() as session:  # what a race past the verbs would leave: the alert back in draft
        session.get(Alert, broken["id"]).state = "draft"
    with db.transaction() as session:
        fired = firing.release_due(session, OPTIONS, "w1", now=datetime.now(UTC) + timedelta(seconds=1))
    with db.transaction() as session:
        by_alert = {r.alert_id: r for r in session.scalars(select(Release))}
        assert fired == [by_alert[fine["id"]].id]
        assert by_alert[broken["id"]].state == "failed" and by_alert[fine["id"]].state == "released"
        assert session.scalar(select(Delivery.id).where(Delivery.release_id == by_alert[broken["id"]].id)) is None
        failure = session.scalar(select(AuditEvent).where(AuditEvent.action == "release.failed"))
        assert failure.detail["reason"] == "the alert is draft, not scheduled"
        assert session.get(Alert, broken["id"]).state == "draft"
    assert any("failed: the alert is draft" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    metrics = api_as("BE", "communicator").client.get("/metrics").get_data(as_text=True)
    assert 'benelert_releases{mode="Actual",state="failed"} 1.0' in metrics
    pages = login(app, make_user("BE", "communicator")[0])
    for path in (f"/alerts/{broken['id']}", f"/alerts/{broken['id']}/deliveries"):
        page = pages.get(path, headers={"Accept-Language": "nl-BE"})
        assert page.status_code == 200
    assert "mislukt: niet verzonden" in page.get_data(as_text=True)
    with db.transaction() as session:  # a failed release is not tried again on the next tick
        assert firing.release_due(session, OPTIONS, "w1", now=datetime.now(UTC) + timedelta(seconds=2)) == []


def test_a_live_alert_is_cancelled_through_its_one_prepared_cancel(db, api_as):
    alert = approved_alert(api_as)
    spokes = api_as("BE", "spokesperson")
    planned = spokes.post(f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'}, json={
        "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["partners"]}})
    assert planned.status_code == 201, planned.get_json()
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1", now=datetime.now(UTC) + timedelta(seconds=1))
    be = api_as("BE", "communicator")
    prepared = be.get(f"/alerts/{alert['id']}/cancel").get_json()
    second = be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Cancel"})
    assert second.status_code == 409
    assert second.get_json()["cancel_id"] == prepared["id"]
    assert "already prepared" in second.get_json()["detail"]
    assert be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Update"}).status_code == 201


def test_an_alert_marked_approved_without_every_approval_is_not_scheduled(db, api_as):
    alert = approved_alert(api_as)
    with db.transaction() as session:  # what a race past the verbs would leave: NL's approval missing
        nl = session.scalar(select(Approval).join(Centre, Centre.id == Approval.centre_id).where(
            Approval.alert_id == alert["id"], Centre.code == "NL"))
        session.delete(nl)
    refused = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
                                                json={"content_hash": alert["version"]["content_hash"],
                                                      "channels": {"BE": ["partners"]}})
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == "This content is not approved by NL: it cannot be released."
    with db.transaction() as session:
        assert session.scalar(select(Release.id)) is None
