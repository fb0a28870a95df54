"""Reconciliation of unknown outcomes (alerts.outcomes.reconcile_unknown) with the real adapters and the local
fakes: a provider message is a row's only if it was created at or after the row's first attempt and its id is on
no other row, and no two rows take the same message in one run; otherwise the row is sent again (provably absent),
failed (X would refuse it as a duplicate) or left unknown (the lookup failed), never `sent` on another's evidence."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from alerts import firing, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Delivery
from alerts.models import Payload as StoredPayload
from alerts.outcomes import reconcile_unknown
from channels import build_channels
from channels.base import Payload, Target
from channels.social import DUPLICATE_ERROR, DUPLICATE_OF_ANOTHER
from channels.specs import TextLimits
from devtools.world import add_subscribers, approved_alert, wired_app

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3), sandbox={"sms": "+32470000099", "x": "SANDBOX",
                                                                                 "national": ""})
NOW = timedelta(0)


@pytest.fixture
def world(make_app, tmp_path):
    with wired_app(make_app, tmp_path) as (app, db, fakes, config):
        yield db, fakes, build_channels(config)


def release_now(db, api_as, channels, status="Actual") -> int:
    """An approved alert (the devtools sample texts: two such alerts have the same texts) released now."""
    alert = approved_alert(api_as, status=status)
    response = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"], "channels": channels})
    assert response.status_code == 201, response.get_json()
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    return response.get_json()["id"]


def drain(db, channels) -> None:
    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=4))
    for _ in range(20):
        if not dispatcher.run_once():
            break


def make_unknown(db, release_id, first_attempt: datetime, target: str | None = None) -> None:
    """The release's rows as a dispatcher killed while sending them leaves them."""
    where = [Delivery.release_id == release_id] + ([Delivery.target == target] if target else [])
    with db.transaction() as session:
        session.execute(update(Delivery).where(*where).values(
            state="unknown", first_attempt_at=first_attempt, attempts=1, error="dispatcher stopped while sending"))


def rows(db, release_id) -> list[Delivery]:
    with db.transaction() as session:
        return session.scalars(select(Delivery).where(Delivery.release_id == release_id).order_by(Delivery.id)).all()


def age_messages(fakes, seconds: float) -> None:
    for message in fakes.twilio.messages.values():
        message["created"] -= timedelta(seconds=seconds)


def test_a_second_release_of_the_same_text_is_never_sent_on_the_first_ones_messages(world, api_as):
    db, fakes, channels = world
    phones = add_subscribers(db, "BE", 3)
    first = release_now(db, api_as, {"BE": ["sms"]})
    second = release_now(db, api_as, {"BE": ["sms"]})
    # the second release's rows were marked sending before the first release's messages went out, and waited on
    # the rate limiter when their dispatcher was killed: not one of them reached Twilio
    make_unknown(db, second, datetime.now(UTC) - timedelta(minutes=2))
    drain(db, channels)
    assert sum(fakes.twilio.per_to.values()) == 3 and {row.state for row in rows(db, first)} == {"sent"}
    assert [row_payload(db, row).body for row in rows(db, first)] == [row_payload(db, row).body
                                                                     for row in rows(db, second)]  # the same texts

    assert reconcile_unknown(db, channels, grace=NOW) == {"sent": 0, "requeued": 3, "failed": 0, "unknown": 0}
    drain(db, channels)
    assert all(fakes.twilio.count(phone) == 2 for phone in phones)  # each release once
    ledger = rows(db, first) + rows(db, second)
    assert {row.state for row in ledger} == {"sent"}
    assert len({row.provider_id for row in ledger}) == 6
    assert all(fakes.twilio.messages[row.provider_id]["to"] == row.target for row in ledger)


def test_a_message_older_than_the_rows_first_attempt_is_not_the_rows(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 2)
    first = release_now(db, api_as, {"BE": ["sms"]})
    drain(db, channels)
    with db.transaction() as session:  # the first release's ids were lost (as a crash can lose them)
        session.execute(update(Delivery).where(Delivery.release_id == first).values(provider_id=None))
    age_messages(fakes, 60)
    second = release_now(db, api_as, {"BE": ["sms"]})
    make_unknown(db, second, datetime.now(UTC) - timedelta(seconds=5))

    assert reconcile_unknown(db, channels, grace=NOW)["requeued"] == 2
    assert {row.state for row in rows(db, second)} == {"pending"}


def test_two_unknown_rows_never_take_the_same_message(world, api_as):
    db, fakes, channels = world
    [phone] = add_subscribers(db, "BE", 1)
    first, second = release_now(db, api_as, {"BE": ["sms"]}), release_now(db, api_as, {"BE": ["sms"]})
    make_unknown(db, first, datetime.now(UTC) - timedelta(seconds=60))
    make_unknown(db, second, datetime.now(UTC) - timedelta(seconds=30))
    [row] = rows(db, second)
    message = channels["sms"].send(row_payload(db, row), target_of(row))  # one of the two reached Twilio

    assert reconcile_unknown(db, channels, grace=NOW) == {"sent": 1, "requeued": 1, "failed": 0, "unknown": 0}
    [one], [two] = rows(db, first), rows(db, second)
    # created after both first attempts: the later row's, which cannot have an earlier message; the other goes again
    assert (two.state, two.provider_id) == ("sent", message.provider_id)
    assert (one.state, one.provider_id) == ("pending", None)
    drain(db, channels)
    [one] = rows(db, first)
    assert one.state == "sent" and one.provider_id != message.provider_id and fakes.twilio.count(phone) == 2


def test_two_unknown_rows_with_a_message_each_get_one_each(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 1)
    first, second = release_now(db, api_as, {"BE": ["sms"]}), release_now(db, api_as, {"BE": ["sms"]})
    make_unknown(db, first, datetime.now(UTC) - timedelta(seconds=60))
    make_unknown(db, second, datetime.now(UTC) - timedelta(seconds=30))
    [row] = rows(db, first)
    older = channels["sms"].send(row_payload(db, row), target_of(row))
    fakes.twilio.messages[older.provider_id]["created"] -= timedelta(seconds=45)  # between the two attempts
    newer = channels["sms"].send(row_payload(db, row), target_of(row))

    assert reconcile_unknown(db, channels, grace=NOW)["sent"] == 2
    [one], [two] = rows(db, first), rows(db, second)
    assert (one.provider_id, two.provider_id) == (older.provider_id, newer.provider_id)


def test_a_failed_lookup_leaves_the_row_unknown_for_a_person(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 2)
    second = release_now(db, api_as, {"BE": ["sms"]})
    make_unknown(db, second, datetime.now(UTC) - timedelta(seconds=30))
    fakes.twilio.stop()

    assert reconcile_unknown(db, channels, grace=NOW) == {"sent": 0, "requeued": 0, "failed": 0, "unknown": 2}
    assert {row.state for row in rows(db, second)} == {"unknown"}


def test_rows_within_the_grace_period_are_not_asked_about_yet(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 1)
    second = release_now(db, api_as, {"BE": ["sms"]})
    make_unknown(db, second, datetime.now(UTC) - timedelta(seconds=5))

    assert reconcile_unknown(db, channels, grace=timedelta(seconds=60)) == {"sent": 0, "requeued": 0, "failed": 0,
                                                                          "unknown": 0}
    assert [method for method, _ in fakes.twilio.requests] == []


def test_an_exercise_post_refused_as_a_duplicate_of_another_rows_post_fails(world, api_as):
    db, fakes, channels = world
    # two exercises with the same texts post to one sandbox account (within one release the ledger has one row
    # per text and target): X refuses the second exercise's posts as duplicates of the first's
    first = release_now(db, api_as, {"BE": ["x"]}, status="Exercise")
    drain(db, channels)
    second = release_now(db, api_as, {"NL": ["x"]}, status="Exercise")
    drain(db, channels)

    def sandbox_rows():
        return [row for row in rows(db, first) + rows(db, second) if row.target == "SANDBOX"]

    ledger = sandbox_rows()
    refused = [row for row in ledger if row.state == "unknown"]
    assert refused and all(row.error == DUPLICATE_ERROR for row in refused)
    posted = {row.provider_id for row in ledger if row.state == "sent"}
    assert len(posted) == len(fakes.x.posts) == len(ledger) - len(refused)

    counts = reconcile_unknown(db, channels, grace=NOW)
    assert counts == {"sent": 0, "requeued": 0, "failed": len(refused), "unknown": 0}
    after = sandbox_rows()
    sent = [row.provider_id for row in after if row.state == "sent"]
    assert sorted(sent) == sorted(posted)  # each post on one row only
    assert {row.error for row in after if row.state == "failed"} == {f"reconciled: {DUPLICATE_OF_ANOTHER}"}
    assert not [row for row in after if row.state == "unknown"] and len(fakes.x.posts) == len(posted)


def row_payload(db, row) -> Payload:
    with db.transaction() as session:
        body = session.scalar(select(StoredPayload.body).where(StoredPayload.id == row.payload_id))
    return Payload(body=body, idempotency_key=row.idempotency_key, language=row.language)


def target_of(row) -> Target:
    return Target(address=row.target, account=row.centre_code)
