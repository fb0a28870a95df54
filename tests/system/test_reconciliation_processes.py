"""Fault test with real worker processes (`flask --app app worker`): two releases of the same SMS text to the same
numbers, SMS rate-limited; the worker is killed with SIGKILL while rows of the second release wait on the rate
limiter (marked `sending`, never sent). A new worker recovers them as `unknown` and reconciles them with Twilio:
none may be taken for sent on the first release's messages. In the end every recipient has each release exactly
once, and every ledger row is sent with a provider id of its own that Twilio has for its number."""
from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.models import Delivery
from alerts.models import Payload as StoredPayload
from devtools.world import (
    add_subscribers,
    approved_alert,
    wire_centres,
)
from tests.system.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIBERS = 20
THREADS = 16
SMS_RATE = 5  # per second: 16 sending threads wait on it
LEASE = 8  # seconds; a send waits at most half of it for a slot (16 / 5 = 3.2 s here)


@pytest.fixture
def spawn_limited(spawn):
    """Workers whose SMS account is limited to SMS_RATE per second, reconciling every second after 1 s."""
    def start(name: str):
        return spawn(name, "--threads", str(THREADS), "--lease", str(LEASE), env={
            "BENELERT_DISPATCH_RATES": json.dumps({"sms": f"{SMS_RATE} per second"}),
            "BENELERT_RECONCILE_GRACE_SECONDS": "1", "BENELERT_RECONCILE_EVERY_SECONDS": "1"})
    return start


def schedule_at(api_as, alert, at) -> int:
    response = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"], "channels": {"BE": ["sms"]}, "at": at.isoformat()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def count(db, release_id, *states) -> int:
    with db.transaction() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.release_id == release_id)
        return session.scalar(query.where(Delivery.state.in_(states)) if states else query)


def test_killed_while_waiting_on_the_rate_limiter_nothing_is_taken_for_sent_on_another_releases_messages(
        db, api_as, fakes, spawn_limited, tmp_path):
    wire_centres(db, fakes)
    phones = add_subscribers(db, "BE", SUBSCRIBERS)
    first_alert, second_alert = approved_alert(api_as), approved_alert(api_as)  # the same texts
    at = datetime.now(UTC) + timedelta(seconds=3)
    first = schedule_at(api_as, first_alert, at)
    second = schedule_at(api_as, second_alert, at + timedelta(seconds=1))
    victim = spawn_limited("victim")
    # the second release's rows are marked sending and wait for a sending slot of the rate limiter
    assert wait_for(lambda: count(db, second, "sending") >= THREADS // 2, timeout=60), \
        tmp_path.joinpath("victim.log").read_text()[-3000:]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    at_twilio = sum(fakes.twilio.per_to.values())
    stranded = count(db, second, "sending")
    assert stranded >= THREADS // 2 and at_twilio <= 2 * SUBSCRIBERS - stranded + THREADS // 4
    with db.transaction() as session:  # the same text, to the same numbers: only the time tells them apart
        bodies = session.execute(select(Delivery.release_id, Delivery.target, StoredPayload.body)
                                 .join(StoredPayload, StoredPayload.id == Delivery.payload_id)).all()
    by_number = {(release, target): body for release, target, body in bodies}
    assert all(by_number[first, phone] == by_number[second, phone] for phone in phones)

    spawn_limited("rescuer")
    assert wait_for(lambda: count(db, first, "sent", "delivered") + count(db, second, "sent", "delivered")
                    == 2 * SUBSCRIBERS, timeout=120, every=0.5), tmp_path.joinpath("rescuer.log").read_text()[-3000:]

    assert [phone for phone in phones if fakes.twilio.count(phone) != 2] == []  # each release exactly once
    with db.transaction() as session:
        ledger = session.execute(select(Delivery.target, Delivery.provider_id, Delivery.state)
                                 .where(Delivery.release_id.in_((first, second)))).all()
    assert len(ledger) == 2 * SUBSCRIBERS and {state for _, _, state in ledger} <= {"sent", "delivered"}
    assert len({provider_id for _, provider_id, _ in ledger}) == 2 * SUBSCRIBERS  # each row its own message
    assert all(fakes.twilio.messages[provider_id]["to"] == target for target, provider_id, _ in ledger)
    assert any(method == "GET" for method, _ in fakes.twilio.requests)  # the rescuer did ask Twilio
