"""The plan of a coordinated release before and after T: the ledger staged at scheduling in lanes, withdrawal,
each centre's consent to its public channels, the heads-up to partner centres, one SMS per number, the
prepared Cancel that the releasing spokesperson may approve, and an Update or Cancel ending what it refers to."""
from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from alerts import firing
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Alert, AuditEvent, Centre, Delivery, Release, Subscriber
from channels import build_channels
from devtools.demo import ensure_centres
from devtools.world import Api, add_subscribers, approved_alert, channels_config, start_fakes, wire_centres
from tests.unit.alerts.test_release import OPTIONS, confirm, schedule

V1 = {"If-Match": '"v1"'}
# BE alone: an area within Belgium (one reaching into NL would need the lead's confirmation at submission)
BRUSSELS = [{"description": "Brussel", "polygons": ["50.85,4.35 50.9,4.45 50.8,4.5 50.85,4.35"]}]


@pytest.fixture
def world(make_app):
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        app = make_app()
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
        wire_centres(db, fakes)
        yield db, fakes, build_channels(channels_config(fakes))


def fire(db, now=None):
    with db.transaction() as session:
        return firing.release_due(session, OPTIONS, "w1", now=now)


def drain(db, channels, lanes=("main", "sms")):
    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=4, lanes=lanes))
    while dispatcher.run_once():
        pass


def rows(db, **where):
    with db.transaction() as session:
        query = select(Delivery.channel, Delivery.centre_code, Delivery.state)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return session.execute(query).all()


def test_the_ledger_is_staged_at_scheduling_and_nothing_is_written_at_t(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 12)
    alert = approved_alert(api_as)
    later = datetime.now(UTC) + timedelta(minutes=30)
    assert schedule(api_as, alert, {"BE": ["sms", "national", "partners"]}, at=later).status_code == 201
    staged = rows(db)
    # 12 SMS, BE's national system, LU's partner copy at T, and LU's heads-up now
    assert sorted(channel for channel, _, _ in staged) == ["national"] + ["partners"] * 2 + ["sms"] * 12
    drain(db, channels)  # before T only the heads-up is due
    assert [d.payload["type"] for d in fakes.partners[0].deliveries] == ["alert.heads_up"]
    heads_up = fakes.partners[0].deliveries[0].payload
    assert "<scope>Restricted</scope>" in heads_up["data"]["cap"] and "<restriction>" in heads_up["data"]["cap"]
    assert heads_up["data"]["summary"]["planned"]
    assert fakes.twilio.per_to == {} and fakes.cap.messages == []
    with db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(Delivery))
    assert fire(db, now=later + timedelta(milliseconds=5))
    assert len(rows(db)) == count  # firing is a state flip: no row written at T


def test_the_main_lane_is_claimed_before_the_sms_fan_out(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 30)
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["sms", "national", "partners"]}).status_code == 201
    first = Dispatcher(db, channels, "both", DispatchOptions(lanes=("main", "sms"))).claim(3)
    assert [row.channel for row in first][:2] == ["national", "partners"] and first[2].channel == "sms"
    sms_only = Dispatcher(db, channels, "sms", DispatchOptions(lanes=("sms",))).claim(100)
    assert {row.channel for row in sms_only} == {"sms"} and len(sms_only) == 29


def test_one_sms_per_number_whatever_the_centres_it_subscribed_with(world, api_as):
    db, fakes, channels = world
    phones = add_subscribers(db, "BE", 6)
    add_subscribers(db, "NL", 6, place="be-lim", languages=("nl",))  # the same numbers, with NL too
    add_subscribers(db, "NL", 2, place="be-lim", start=500)
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["sms"], "NL": ["sms"]}).status_code == 201
    confirm(api_as, alert["id"], "NL")
    fire(db)
    drain(db, channels)
    assert sorted(fakes.twilio.per_to) == sorted(phones + ["+32470000500", "+32470000501"])
    assert all(fakes.twilio.count(phone) == 1 for phone in fakes.twilio.per_to)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 14


def test_a_scheduled_release_is_withdrawn_before_t_and_can_be_edited_or_rescheduled(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 5)
    alert = approved_alert(api_as)
    later = datetime.now(UTC) + timedelta(hours=2)
    assert schedule(api_as, alert, {"BE": ["sms", "national", "partners"]}, at=later).status_code == 201
    url = f"/alerts/{alert['id']}/release/withdraw"
    assert api_as("BE", "communicator").post(url, headers=V1, json={"reason": "x"}).status_code == 403
    assert api_as("LU", "spokesperson").post(url, headers=V1, json={"reason": "x"}).status_code in (403, 404)
    assert api_as("NL", "spokesperson").post(url, json={"reason": "x"}).status_code == 428
    assert api_as("NL", "spokesperson").post(url, headers=V1, json={"reason": " "}).status_code == 422
    answer = api_as("NL", "spokesperson").post(url, headers=V1, json={"reason": "the river peaks later"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["state"] == "withdrawn"
    assert rows(db) == []  # nothing of it is left to send, nor the heads-up that no dispatcher had sent yet
    be = api_as("BE", "communicator")
    assert be.get(f"/alerts/{alert['id']}").get_json()["state"] == "approved"
    with db.transaction() as session:
        reason = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "release.withdraw")).one()
    assert reason["reason"] == "the river peaks later" and reason["rows_removed"] == 5 + 1 + 1 + 1
    # rescheduled now: a new plan, sent once
    assert schedule(api_as, alert, {"BE": ["sms", "national"]}).status_code == 201
    fire(db)
    drain(db, channels)
    assert len(fakes.twilio.per_to) == 5 and all(fakes.twilio.count(p) == 1 for p in fakes.twilio.per_to)
    assert len(fakes.cap.messages) == 1
    # after T it cannot be withdrawn any more: it is going out, or gone
    assert api_as("BE", "spokesperson").post(url, headers=V1, json={"reason": "late"}).status_code == 409


def test_a_withdrawn_release_can_be_edited_again(world, api_as):
    db, _, _ = world
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["national"]}, at=datetime.now(UTC) + timedelta(hours=1)).status_code == 201
    be = api_as("BE", "communicator")
    assert be.patch(f"/alerts/{alert['id']}", json={"web": "https://x.be"}, headers=V1).status_code == 409
    assert api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release/withdraw", headers=V1,
                                             json={"reason": "wrong web page"}).status_code == 200
    assert be.patch(f"/alerts/{alert['id']}", json={"web": "https://x.be"}, headers=V1).status_code == 200
    assert rows(db) == []


def test_each_centre_confirms_its_own_public_channels_and_the_moment(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 4)
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(hours=8)
    # NL's spokesperson plans BE's public channels: BE has approved the content, not its channels nor the moment
    nl = api_as("NL", "spokesperson")
    planned = nl.post(f"/alerts/{alert['id']}/release", headers=V1, json={
        "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["sms", "national", "x"]},
        "at": at.isoformat()})
    assert planned.status_code == 201, planned.get_json()
    assert planned.get_json()["awaiting"] == ["BE"] and rows(db, centre_code="BE") == []
    be = api_as("BE", "spokesperson")
    url = f"/alerts/{alert['id']}/release/consents"
    assert be.post(url, json={"plan": "0" * 64}).status_code == 409  # not the plan it saw
    assert api_as("BE", "communicator").post(url, json={"plan": planned.get_json()["plan"]}).status_code == 403
    assert nl.post(url, json={"plan": planned.get_json()["plan"]}).status_code == 409  # NL has nothing to confirm
    confirmed = be.post(url, json={"plan": planned.get_json()["plan"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["awaiting"] == [] and set(confirmed.get_json()["consents"]) == {"NL", "BE"}
    assert len(rows(db, centre_code="BE", channel="sms")) == 4
    assert be.post(url, json={"plan": planned.get_json()["plan"]}).status_code == 409  # once


def test_a_centre_that_did_not_confirm_gets_nothing_on_its_channels_and_the_release_says_so(world, api_as, caplog):
    db, fakes, channels = world
    add_subscribers(db, "BE", 3)
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["sms"], "NL": ["national", "x"]}).status_code == 201
    fire(db)
    drain(db, channels)
    assert len(fakes.twilio.per_to) == 3 and fakes.cap.messages == [] and fakes.x.posts == []
    assert "without the consent of NL" in caplog.text
    status = api_as("NL", "spokesperson").get(f"/alerts/{alert['id']}/release").get_json()
    assert status["awaiting"] == ["NL"]
    with db.transaction() as session:
        fired = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "release.fire")).one()
    assert fired["unconfirmed"] == ["NL"]
    confirm(api_as, alert["id"], "NL")  # late: its channels go out now, marked late in the audit
    drain(db, channels)
    assert len(fakes.cap.messages) == 1 and len(fakes.x.posts) == 2


def test_an_exercise_needs_no_consent_it_reaches_sandbox_targets_only(world, api_as):
    db, _, _ = world
    alert = approved_alert(api_as, status="Exercise")
    planned = schedule(api_as, alert, {"BE": ["sms"], "NL": ["x"]}).get_json()
    assert planned["awaiting"] == []
    with db.transaction() as session:
        assert set(session.scalars(select(Delivery.target))) == {"+32470000099", "SANDBOX"}


def test_the_releasing_spokesperson_may_approve_the_prepared_cancel_until_a_person_edits_it(world, api_as, client,
                                                                                            make_user):
    db, _, _ = world
    alert = approved_alert(api_as, participants=(), areas=BRUSSELS)
    releaser = Api(client, make_user("BE", "spokesperson")[1])
    planned = releaser.post(f"/alerts/{alert['id']}/release", headers=V1, json={
        "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["national"]}})
    assert planned.status_code == 201, planned.get_json()
    fire(db)
    cancel = releaser.get(f"/alerts/{alert['id']}/cancel").get_json()
    assert cancel["version"]["author"].startswith("system:")
    approved = releaser.post(f"/alerts/{cancel['id']}/approvals", headers=V1,
                             json={"decision": "approve", "content_hash": cancel["version"]["content_hash"]})
    assert approved.status_code == 200, approved.get_json()  # BE was the only centre: approved
    assert releaser.get(f"/alerts/{cancel['id']}").get_json()["state"] == "approved"
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.submit",
                                                          AuditEvent.object_id == str(cancel["id"]))).all()
    assert [(e.actor, e.detail["prepared_by"]) for e in events] == [("worker", "system")]


def test_four_eyes_applies_again_once_a_person_edits_the_prepared_cancel(world, api_as, client, make_user):
    db, _, _ = world
    alert = approved_alert(api_as, participants=(), areas=BRUSSELS)
    assert schedule(api_as, alert, {"BE": ["national"]}).status_code == 201
    fire(db)
    editor = Api(client, make_user("BE", "communicator", "spokesperson")[1])
    cancel = editor.get(f"/alerts/{alert['id']}/cancel").get_json()
    assert editor.patch(f"/alerts/{cancel['id']}", json={"severity": "Moderate"}, headers=V1).status_code == 200
    assert editor.post(f"/alerts/{cancel['id']}/submit", headers={"If-Match": '"v2"'}).status_code == 200
    current = editor.get(f"/alerts/{cancel['id']}").get_json()["version"]
    refused = editor.post(f"/alerts/{cancel['id']}/approvals", headers={"If-Match": '"v2"'},
                          json={"decision": "approve", "content_hash": current["content_hash"]})
    assert refused.status_code == 403 and "Four-eyes" in refused.get_json()["detail"]


def test_a_cancel_of_an_update_ends_the_original_and_the_update_and_closes_their_cancels(world, api_as):
    db, fakes, channels = world
    original = approved_alert(api_as)
    assert schedule(api_as, original, {"BE": ["national"]}).status_code == 201
    fire(db)
    be = api_as("BE", "communicator")
    original_cancel = be.get(f"/alerts/{original['id']}/cancel").get_json()
    update = be.post(f"/alerts/{original['id']}/derive", json={"msg_type": "Update"}).get_json()
    assert be.post(f"/alerts/{update['id']}/submit", headers=V1).status_code == 200
    for centre in ("BE", "NL"):
        assert api_as(centre, "spokesperson").post(f"/alerts/{update['id']}/approvals", headers=V1, json={
            "decision": "approve", "content_hash": update["version"]["content_hash"]}).status_code == 200
    assert schedule(api_as, update, {"BE": ["national"]}).status_code == 201
    fire(db)
    assert be.get(f"/alerts/{original['id']}").get_json()["state"] == "superseded"
    assert be.get(f"/alerts/{original_cancel['id']}").get_json()["state"] == "closed"
    # the Update's own Cancel refers to both: released, it ends the chain
    cancel = be.get(f"/alerts/{update['id']}/cancel").get_json()
    assert len(cancel["references"]) == 2
    for centre in ("BE", "NL"):
        assert api_as(centre, "spokesperson").post(f"/alerts/{cancel['id']}/approvals", headers=V1, json={
            "decision": "approve", "content_hash": cancel["version"]["content_hash"]}).status_code == 200
    assert schedule(api_as, cancel, {"BE": ["national"]}).status_code == 201
    fire(db)
    states = {a: be.get(f"/alerts/{a}").get_json()["state"] for a in (original["id"], update["id"], cancel["id"])}
    assert states == {original["id"]: "superseded", update["id"]: "cancelled", cancel["id"]: "released"}
    with db.transaction() as session:  # nothing of the chain is left in review for ever
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.state == "in_review")) == 0


def test_a_release_refused_at_t_leaves_no_row_to_send(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 3)
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["sms"]}).status_code == 201
    with db.transaction() as session:  # as if the content had changed under the release (cannot, through verbs)
        session.execute(update(Release).values(content_hash="0" * 64))
    assert fire(db) == []
    assert rows(db) == []


def test_an_exercise_confirmation_counts_exactly_the_targets_that_will_receive(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 17)
    with db.transaction() as session:  # BE has a test endpoint of its national system; NL has none
        be = session.scalar(select(Centre).where(Centre.code == "BE"))
        be.channels = {**be.channels, "national": {**be.channels["national"], "test_target": fakes.cap.url}}
    alert = approved_alert(api_as, status="Exercise")
    plan = {"BE": ["sms", "national", "x", "partners"], "NL": ["national", "x"]}
    asked = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release/confirmation",
                                              json={"content_hash": alert["version"]["content_hash"], "channels": plan})
    confirmation = asked.get_json()
    assert confirmation["recipients"] == {"BE": {"sms": 1, "national": 1, "x": 1}, "NL": {"sms": 0, "national": 0,
                                                                                        "x": 1}}
    assert list(confirmation["not_sent"]) == ["NL"] and "test endpoint" in confirmation["not_sent"]["NL"]["national"]
    assert confirmation["partner_endpoints"] == 1
    assert schedule(api_as, alert, plan).status_code == 201
    fire(db)
    drain(db, channels)
    assert list(fakes.twilio.per_to) == ["+32470000099"]  # the sandbox number, never the 17 subscribers
    [cap] = fakes.cap.messages  # BE's test endpoint, an Exercise
    assert b"<status>Exercise</status>" in cap
    # BE's and NL's identical posts to the one sandbox account are one post each: none refused as a duplicate
    assert len(fakes.x.posts) == len({post["text"] for post in fakes.x.posts})
    with db.transaction() as session:
        assert set(session.scalars(select(Delivery.state))) == {"sent"} or set(
            session.scalars(select(Delivery.state))) <= {"sent", "delivered"}


def test_a_number_that_opts_out_after_the_release_was_staged_gets_nothing(world, api_as):
    from alerts.subscribers import opt_out

    db, fakes, channels = world
    phones = add_subscribers(db, "BE", 5)
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(minutes=10)
    assert schedule(api_as, alert, {"BE": ["sms"]}, at=at).status_code == 201
    with db.transaction() as session:
        assert opt_out(session, phones[0], actor="test") == 1
    fire(db, now=at)
    with db.transaction() as session:
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC)))  # T, for the dispatcher
    drain(db, channels)
    assert sorted(fakes.twilio.per_to) == sorted(phones[1:])


def test_partners_that_got_the_heads_up_hear_that_the_release_is_withdrawn(world, api_as):
    from alerts.cap import validate_cap

    db, fakes, channels = world
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(hours=1)
    assert schedule(api_as, alert, {"BE": ["national", "partners"]}, at=at).status_code == 201
    drain(db, channels)  # the heads-up reaches LU
    answer = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release/withdraw", headers=V1,
                                               json={"reason": "the dike holds"})
    assert answer.status_code == 200, answer.get_json()
    drain(db, channels)
    heads_up, notice = (d.payload for d in fakes.partners[0].deliveries)
    assert (heads_up["type"], notice["type"]) == ("alert.heads_up", "alert.heads_up_withdrawn")
    cap = notice["data"]["cap"].encode()
    assert validate_cap(cap) == []
    assert b"<msgType>Cancel</msgType>" in cap and b"<scope>Restricted</scope>" in cap
    assert f"{alert['identifier']}-heads-up,".encode() in cap and b"the dike holds" in cap
    assert fakes.cap.messages == []  # the national system never heard of it


def test_who_subscribes_between_scheduling_and_t_gets_the_warning_once(world, api_as):
    from alerts.subscribers import opt_out

    db, fakes, channels = world
    phones = add_subscribers(db, "BE", 4)
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(minutes=10)
    assert schedule(api_as, alert, {"BE": ["sms"], "NL": ["sms"]}, at=at).status_code == 201
    newcomers = add_subscribers(db, "BE", 3, start=100)  # after BE's rows were staged
    add_subscribers(db, "BE", 2, place="be-ant", start=200)  # outside the area: nothing
    with db.transaction() as session:
        assert opt_out(session, newcomers[2], actor="test") == 1  # signed up, then opted out: nothing
    add_subscribers(db, "NL", 2, place="be-lim", start=0)  # numbers BE staged already: not twice
    confirm(api_as, alert["id"], "NL")  # NL's rows are staged now: its subscriptions are no newcomers
    add_subscribers(db, "NL", 1, place="be-lim", start=100)  # a BE newcomer's number, with NL too: once
    add_subscribers(db, "NL", 1, place="be-lim", start=300)  # NL's own newcomer
    fire(db, now=at)
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "release.fire")).one()
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC)))  # T, for the dispatcher
    assert event.detail["late_subscribers"] == 3  # BE's two newcomers and NL's one
    drain(db, channels)
    assert sorted(fakes.twilio.per_to) == sorted(phones + newcomers[:2] + ["+32470000300"])
    assert all(fakes.twilio.count(phone) == 1 for phone in fakes.twilio.per_to)


def test_an_exercise_adds_no_subscriber_at_t(world, api_as):
    db, fakes, channels = world
    add_subscribers(db, "BE", 2)
    alert = approved_alert(api_as, status="Exercise")
    at = datetime.now(UTC) + timedelta(minutes=10)
    assert schedule(api_as, alert, {"BE": ["sms"]}, at=at).status_code == 201
    add_subscribers(db, "BE", 2, start=100)
    before = len(rows(db))
    fire(db, now=at)
    assert len(rows(db)) == before
