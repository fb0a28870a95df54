"""Fault tests of the coordinated release with real worker processes (`flask --app app worker`), on SQLite and
PostgreSQL: a Cancel of an Update ends the whole chain across a worker killed with SIGKILL; one SMS per number
for a number subscribed with two centres, across a killed dispatcher; a centre's channels go out only once
its spokesperson confirmed them, even when that confirmation comes after T and after a worker died."""
from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from alerts.dispatch import DispatchOptions
from alerts.models import Alert, Delivery
from devtools.world import add_subscribers, approved_alert, wire_centres
from tests.system.waiting import finished, wait_for

V1 = {"If-Match": '"v1"'}


def schedule(api, alert, channels, at, version=1):
    response = api.post(f"/alerts/{alert['id']}/release", headers={"If-Match": f'"v{version}"'},
                        json={"content_hash": alert["version"]["content_hash"], "channels": channels,
                              "at": at.isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def approve(api_as, alert, centres=("BE", "NL")):
    for centre in centres:
        answer = api_as(centre, "spokesperson").post(f"/alerts/{alert['id']}/approvals", headers=V1, json={
            "decision": "approve", "content_hash": alert["version"]["content_hash"]})
        assert answer.status_code == 200, answer.get_json()


def state_of(db, alert_id):
    with db.transaction() as session:
        return session.get(Alert, alert_id).state


def kill(process):
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def test_a_cancel_of_an_update_ends_the_chain_across_a_killed_worker(db, api_as, fakes, spawn):
    wire_centres(db, fakes)
    spokes = api_as("BE", "spokesperson")  # schedules every release, and approves the prepared Cancel
    original = approved_alert(api_as)
    planned = schedule(spokes, original, {"BE": ["national"]}, datetime.now(UTC) + timedelta(seconds=1))
    first = spawn("first")
    assert wait_for(lambda: finished(db, planned["id"]))
    be = api_as("BE", "communicator")
    update = be.post(f"/alerts/{original['id']}/derive", json={"msg_type": "Update"}).get_json()
    assert be.post(f"/alerts/{update['id']}/submit", headers=V1).status_code == 200
    approve(api_as, update)
    at = datetime.now(UTC) + timedelta(seconds=3)
    updated = schedule(spokes, update, {"BE": ["national"]}, at)
    kill(first)  # before T: the Update is staged, nobody runs
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))
    second = spawn("second")
    assert wait_for(lambda: finished(db, updated["id"]))
    assert wait_for(lambda: state_of(db, original["id"]) == "superseded")
    original_cancel = be.get(f"/alerts/{original['id']}/cancel").get_json()
    assert state_of(db, original_cancel["id"]) == "closed"
    cancel = be.get(f"/alerts/{update['id']}/cancel").get_json()
    assert cancel["state"] == "in_review" and cancel["version"]["author"].startswith("system:")
    answer = spokes.post(f"/alerts/{cancel['id']}/approvals", headers=V1, json={
        "decision": "approve", "content_hash": cancel["version"]["content_hash"]})  # the releaser may approve it
    assert answer.status_code == 200, answer.get_json()
    approve(api_as, cancel, centres=("NL",))
    cancelled = schedule(spokes, cancel, {"BE": ["national"]}, datetime.now(UTC) + timedelta(seconds=1))
    kill(second)
    spawn("third")
    assert wait_for(lambda: finished(db, cancelled["id"]))
    assert wait_for(lambda: state_of(db, update["id"]) == "cancelled")
    assert state_of(db, original["id"]) == "superseded"
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.state == "in_review")) == 0
    kinds = [next(kind for kind in (b"Alert", b"Update", b"Cancel") if b"<msgType>" + kind in message)
             for message in fakes.cap.messages]
    assert kinds == [b"Alert", b"Update", b"Cancel"]  # each once, in order


def test_one_sms_per_number_subscribed_with_two_centres_across_a_killed_dispatcher(db, api_as, fakes, spawn):
    fakes.twilio.latency = 0.002
    wire_centres(db, fakes)
    phones = add_subscribers(db, "BE", 3000)
    add_subscribers(db, "NL", 3000, place="be-lim", languages=("nl", "en"))  # the same numbers, with NL
    alert = approved_alert(api_as)
    planned = schedule(api_as("BE", "spokesperson"), alert, {"BE": ["sms"], "NL": ["sms"]},
                       datetime.now(UTC) + timedelta(seconds=2))
    nl = api_as("NL", "spokesperson")
    assert nl.post(f"/alerts/{alert['id']}/release/consents", json={"plan": planned["plan"]}).status_code == 200
    victim = spawn("victim", "--threads", "4", "--lease", "2")
    assert wait_for(lambda: sum(fakes.twilio.per_to.values()) > 500, timeout=120)
    kill(victim)
    spawn("rescuer", "--threads", "4", "--lease", "2")
    assert wait_for(lambda: finished(db, planned["id"]), timeout=300)
    with db.transaction() as session:
        rows = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.release_id == planned["id"]))
        unknown = set(session.scalars(select(Delivery.target).where(Delivery.release_id == planned["id"],
                                                                    Delivery.state == "unknown")))
    assert rows == 3000  # one row per number, not one per subscription
    # at most one chunk of SMS rows in flight per sending thread of the killed dispatcher (4 threads)
    assert len(unknown) <= 4 * DispatchOptions().chunk
    assert all(fakes.twilio.count(phone) == 1 for phone in phones if phone not in unknown)
    assert all(fakes.twilio.count(phone) <= 1 for phone in unknown)


def test_a_centres_channels_wait_for_its_confirmation_even_after_t_and_a_dead_worker(db, api_as, fakes, spawn):
    wire_centres(db, fakes)
    phones = add_subscribers(db, "BE", 20)
    alert = approved_alert(api_as)
    # NL's spokesperson plans BE's SMS and national system with NL's own national system
    planned = schedule(api_as("NL", "spokesperson"), alert, {"BE": ["sms", "national"], "NL": ["national"]},
                       datetime.now(UTC) + timedelta(seconds=1))
    assert planned["awaiting"] == ["BE"]
    first = spawn("first")
    assert wait_for(lambda: finished(db, planned["id"]))
    assert len(fakes.cap.messages) == 1 and fakes.twilio.per_to == {}  # NL's national system only
    kill(first)
    be = api_as("BE", "spokesperson")
    confirmed = be.post(f"/alerts/{alert['id']}/release/consents", json={"plan": planned["plan"]})
    assert confirmed.status_code == 200, confirmed.get_json()  # late: BE's channels go out now
    spawn("second")
    assert wait_for(lambda: finished(db, planned["id"]) and len(fakes.cap.messages) == 2)
    assert sorted(fakes.twilio.per_to) == sorted(phones)
    assert all(fakes.twilio.count(phone) == 1 for phone in phones)
    assert be.post(f"/alerts/{alert['id']}/release/consents", json={"plan": planned["plan"]}).status_code == 409
