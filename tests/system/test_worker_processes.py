"""Fault tests with real worker processes (`flask --app app worker`) against the same database:
a release missed while no worker ran fires at start-up, marked late; two workers fire it exactly once;
a dispatcher killed with SIGKILL mid-release leaves nothing sent twice."""
from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.dispatch import DispatchOptions
from alerts.models import AuditEvent, Delivery
from devtools.world import (
    add_subscribers,
    approved_alert,
    wire_centres,
)
from tests.system.waiting import finished, release_row, wait_for

ROOT = Path(__file__).resolve().parents[2]


def schedule_at(api_as, alert, at, channels):
    response = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"], "channels": channels, "at": at.isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_release_missed_while_no_worker_ran_fires_at_startup_marked_late(db, api_as, fakes, spawn):
    wire_centres(db, fakes)
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(seconds=1)
    release_id = schedule_at(api_as, alert, at, {"BE": ["x", "national"]})
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 2.0)  # T passes with no worker running
    spawn("late")
    assert wait_for(lambda: finished(db, release_id))
    row = release_row(db, release_id)
    assert row.state == "released" and row.late_ms >= 2000
    assert len(fakes.x.posts) == 4 and len(fakes.cap.messages) == 1


def test_two_workers_fire_a_release_exactly_once(db, api_as, fakes, spawn):
    wire_centres(db, fakes)
    phones = add_subscribers(db, "BE", 200)
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(seconds=3)
    release_id = schedule_at(api_as, alert, at, {"BE": ["sms", "x", "partners"]})
    spawn("one")
    spawn("two")
    assert wait_for(lambda: finished(db, release_id))
    with db.transaction() as session:
        fires = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "release.fire")).all()
    assert len(fires) == 1 and fires[0] in ("one", "two")
    assert all(fakes.twilio.count(phone) == 1 for phone in phones)
    assert len(fakes.x.posts) == 4
    # the partner centre's restricted heads-up at scheduling, then the public copy at T: each once
    assert sorted(d.payload["type"] for d in fakes.partners[0].deliveries) == ["alert.heads_up", "alert.published"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # leadership is a PostgreSQL lock
def test_standby_takes_over_when_the_leader_dies(db, api_as, fakes, spawn):
    wire_centres(db, fakes)
    leader = spawn("leader")
    time.sleep(2.0)  # the leader holds the advisory lock
    spawn("standby")
    leader.send_signal(signal.SIGKILL)
    leader.wait(timeout=10)
    alert = approved_alert(api_as)
    release_id = schedule_at(api_as, alert, datetime.now(UTC) + timedelta(seconds=1), {"BE": ["x"]})
    assert wait_for(lambda: finished(db, release_id), timeout=30)
    assert release_row(db, release_id).fired_by == "standby"


def test_killed_dispatcher_sends_nothing_twice(db, api_as, fakes, spawn):
    fakes.twilio.latency = 0.002
    wire_centres(db, fakes)
    phones = add_subscribers(db, "BE", 10_000)
    alert = approved_alert(api_as)
    release_id = schedule_at(api_as, alert, datetime.now(UTC) + timedelta(seconds=1), {"BE": ["sms"]})
    victim = spawn("victim", "--threads", "4", "--lease", "2")
    assert wait_for(lambda: sum(fakes.twilio.per_to.values()) > 1000, timeout=120)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    spawn("rescuer", "--threads", "4", "--lease", "2")
    assert wait_for(lambda: finished(db, release_id), timeout=300)
    with db.transaction() as session:
        states = dict(session.execute(select(Delivery.state, func.count()).where(
            Delivery.release_id == release_id).group_by(Delivery.state)).all())
        unknown = session.scalars(select(Delivery.target).where(Delivery.release_id == release_id,
                                                               Delivery.state == "unknown")).all()
    # at most one chunk of SMS rows in flight per sending thread of the killed dispatcher (4 threads)
    assert len(unknown) <= 4 * DispatchOptions().chunk, states
    assert all(fakes.twilio.count(phone) == 1 for phone in phones if phone not in unknown)
    assert all(fakes.twilio.count(phone) <= 1 for phone in unknown)
    assert states.get("sent", 0) + states.get("delivered", 0) + len(unknown) == 10_000
