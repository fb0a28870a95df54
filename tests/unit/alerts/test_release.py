"""Coordinated release end to end: the ledger is written once at T, the dispatcher sends through the
real client libraries to local fakes, provider callbacks update the ledger; exercises stay private."""
from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from alerts import firing, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Delivery, ProviderReport, Release
from alerts.outcomes import apply_held_reports, ledger_counts, record_status_report, recover_expired_leases
from channels import build_channels
from channels.base import Outcome, Receipt
from channels.specs import TextLimits
from devtools.demo import ensure_centres
from devtools.world import (
    SHORT_TEXTS,
    Api,
    ServedApp,
    add_subscribers,
    approved_alert,
    channels_config,
    start_fakes,
    wire_centres,
    write_channels_file,
)
from worker import Worker

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3), sandbox={"sms": "+32470000099", "x": "SANDBOX",
                                                             "national": ""})


@pytest.fixture
def world(make_app, tmp_path):
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        path = write_channels_file(tmp_path, channels_config(fakes))
        app = make_app(channels_file=path, sms_max_segments=3,
                       sandbox_targets={"sms": "+32470000099", "x": "SANDBOX"})
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
        served = ServedApp(app)
        stack.callback(served.stop)
        config = channels_config(fakes, callback_url=served.url + "/hooks/twilio/status")
        path = write_channels_file(tmp_path, config)
        app.extensions["benelert"].channels_config = config
        wire_centres(db, fakes)
        yield app, db, fakes, build_channels(config)


def schedule(api_as, alert, channels, at=None):
    spokes = api_as("BE", "spokesperson")
    body = {"content_hash": alert["version"]["content_hash"], "channels": channels}
    if at:
        body["at"] = at.isoformat()
    return spokes.post(f"/alerts/{alert['id']}/release", json=body, headers={"If-Match": '"v1"'})


def confirm(api_as, alert_id, centre):
    """`centre`'s spokesperson confirms its channels and the moment of the plan it sees."""
    spokes = api_as(centre, "spokesperson")
    plan = spokes.get(f"/alerts/{alert_id}/release").get_json()["plan"]
    answer = spokes.post(f"/alerts/{alert_id}/release/consents", json={"plan": plan})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def fire_sms_release(db, api_as, subscribers: int) -> None:
    """An approved alert released now by SMS to `subscribers` BE numbers: its ledger rows are written."""
    add_subscribers(db, "BE", subscribers)
    schedule(api_as, approved_alert(api_as), {"BE": ["sms"]})
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")


def drain(db, channels, name="d1", rounds=50):
    dispatcher = Dispatcher(db, channels, name, DispatchOptions(threads=4))
    for _ in range(rounds):
        if not dispatcher.run_once():
            break


def test_live_release_writes_the_ledger_once_and_everything_arrives_once(world, api_as, make_user):
    app, db, fakes, channels = world
    phones = add_subscribers(db, "BE", 40)
    add_subscribers(db, "BE", 5, place="be-ant", start=1000)  # outside the area: never messaged
    alert = approved_alert(api_as)
    planned = schedule(api_as, alert, {"BE": ["sms", "x", "national", "partners"], "NL": ["x", "national"]})
    assert planned.status_code == 201, planned.get_json()
    body = planned.get_json()
    assert body["confirmation"]["mode"] == "Actual" and "PUBLIC" in body["confirmation"]["headline"]
    assert body["confirmation"]["recipients"]["BE"]["sms"] == 40
    assert body["awaiting"] == ["NL"] and list(body["consents"]) == ["BE"]  # BE's spokesperson scheduled it
    assert set(body["deliveries"]) == {"BE", "LU"}  # nothing of NL's before its spokesperson confirms
    assert confirm(api_as, alert["id"], "NL")["awaiting"] == []
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1") != []
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w2") == []  # the second trigger creates nothing
        rows = session.scalar(select(func.count()).select_from(Delivery))
    # 40 SMS + X (BE: nl fr de en, NL: nl en) + 2 national + 1 partner
    assert rows == 40 + 6 + 2 + 1
    drain(db, channels)
    assert sorted(fakes.twilio.per_to) == sorted(phones)
    assert all(fakes.twilio.count(phone) == 1 for phone in phones)
    assert len({(post["account"], post["text"]) for post in fakes.x.posts}) == len(fakes.x.posts) == 6
    assert len(fakes.cap.messages) == 2  # each valid against the CAP 1.2 XSD at the receiver
    assert len(fakes.partners[0].deliveries) == 1
    assert "<cap" not in fakes.partners[0].deliveries[0].payload["data"]["cap"][:5]
    counts = ledger_counts(db, body["id"])
    assert counts == {"sent": rows} or set(counts) <= {"sent", "delivered"}
    # Twilio's signed status callbacks reach /hooks/twilio/status and mark rows delivered

    deadline = time.time() + 10
    while time.time() < deadline and ledger_counts(db, body["id"]).get("delivered", 0) < 40:
        apply_held_reports(db)  # reports that overtook the commit of their id (the worker does this every 2 s)
        time.sleep(0.1)
    assert ledger_counts(db, body["id"]).get("delivered") == 40
    status = api_as("BE", "communicator").get(f"/alerts/{alert['id']}/release").get_json()
    assert status["state"] == "released" and status["late_ms"] >= 0
    assert status["deliveries"]["BE"]["sms"] == {"delivered": 40}


def test_a_report_that_overtakes_the_commit_of_its_id_is_held_then_applied(world, api_as):
    app, db, fakes, channels = world
    add_subscribers(db, "BE", 3)
    alert = approved_alert(api_as)
    assert schedule(api_as, alert, {"BE": ["sms"]}).status_code == 201
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    deadline = time.time() + 10  # let the fake's own callbacks for the three messages land first
    while time.time() < deadline and ledger_counts(db, planned_release(db)).get("delivered", 0) < 3:
        apply_held_reports(db)
        time.sleep(0.1)
    assert ledger_counts(db, planned_release(db)) == {"delivered": 3}
    with db.transaction() as session:  # as if the dispatcher had not committed this row's id yet
        row = session.scalars(select(Delivery).where(Delivery.channel == "sms")).first()
        row_id, provider_id = row.id, row.provider_id
        row.provider_id, row.state, row.provider_status = None, "sent", "queued"
    record_status_report(db, provider_id, "sent")
    record_status_report(db, provider_id, "delivered")
    assert apply_held_reports(db) == {"applied": 0, "changed": 0, "expired": 0}  # still no row with that id: kept
    with db.transaction() as session:
        session.get(Delivery, row_id).provider_id = provider_id  # the dispatcher's commit lands
    assert apply_held_reports(db) == {"applied": 2, "changed": 1, "expired": 0}
    with db.transaction() as session:
        row = session.get(Delivery, row_id)
        assert (row.state, row.provider_status) == ("delivered", "delivered")
        assert session.scalar(select(func.count()).select_from(ProviderReport)) == 0
    record_status_report(db, "SM" + "f" * 32, "delivered")  # never ours
    assert apply_held_reports(db, keep=timedelta(0)) == {"applied": 0, "changed": 0, "expired": 1}


def test_exercise_never_reaches_subscribers_or_public_accounts(world, api_as):
    app, db, fakes, channels = world
    add_subscribers(db, "BE", 20)
    alert = approved_alert(api_as, status="Exercise")
    planned = schedule(api_as, alert, {"BE": ["sms", "x", "national", "partners"], "NL": ["x"]})
    assert planned.status_code == 201, planned.get_json()
    assert "never the public" in planned.get_json()["confirmation"]["headline"]
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    assert set(fakes.twilio.per_to) == {"+32470000099"}  # the sandbox number only
    assert all(text.startswith(("OEFENING", "EXERCICE", "ÜBUNG", "EXERCISE")) for text in fakes.x.texts())
    assert {post["account"] for post in fakes.x.posts} == {"sandbox-token"}
    assert fakes.cap.messages == []  # no sandbox national endpoint configured: not sent at all
    assert len(fakes.partners[0].deliveries) == 1


def test_release_is_refused_unless_approved_and_confirmed(world, api_as):
    app, db, fakes, channels = world
    be = api_as("BE", "communicator")
    from devtools.world import SHORT_TEXTS, flood_alert

    draft = be.post("/alerts", json=flood_alert(texts=SHORT_TEXTS)).get_json()
    assert schedule(api_as, draft, {"BE": ["x"]}).status_code == 409
    alert = approved_alert(api_as)
    wrong = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", json={"content_hash": "0" * 64, "channels": {"BE": ["x"]}},
        headers={"If-Match": '"v1"'})
    assert wrong.status_code == 409
    assert schedule(api_as, alert, {"LU": ["x"]}).status_code == 422
    assert schedule(api_as, alert, {"BE": ["fax"]}).status_code == 422
    assert schedule(api_as, alert, {"BE": ["x"]}, at=datetime.now(UTC) - timedelta(hours=1)).status_code == 422
    communicator = be.post(f"/alerts/{alert['id']}/release", json={
        "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["x"]}}, headers={"If-Match": '"v1"'})
    assert communicator.status_code == 403


def test_a_missed_moment_fires_late_and_says_so(world, api_as):
    app, db, fakes, channels = world
    alert = approved_alert(api_as)
    at = datetime.now(UTC) + timedelta(seconds=30)
    assert schedule(api_as, alert, {"BE": ["x"]}, at=at).status_code == 201
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1") == []  # not yet
    with db.transaction() as session:
        fired = firing.release_due(session, OPTIONS, "w1", now=at + timedelta(minutes=5))
        late = session.scalar(select(Release.late_ms).where(Release.id == fired[0]))
    assert late == 5 * 60 * 1000


def test_a_dispatcher_that_dies_leaves_rows_to_requeue_or_reconcile(world, api_as):
    app, db, fakes, channels = world
    fire_sms_release(db, api_as, 10)
    dead = Dispatcher(db, channels, "dead", DispatchOptions(lease=timedelta(seconds=-1)))
    rows = dead.claim(10)
    claimed = [row.id for row in rows]
    dead.start(rows[:1])  # marked sending, as before a send; then the process "dies" before the provider answers
    assert recover_expired_leases(db) == {"requeued": 9, "unknown": 1}
    drain(db, channels, "d2")
    with db.transaction() as session:
        states = dict(session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
    assert states.get("unknown") == 1 and states.get("sent", 0) + states.get("delivered", 0) == 9
    assert sum(fakes.twilio.per_to.values()) == 9  # never resent blindly
    # the "dead" dispatcher was only slow: its late answer (provably not sent) must not requeue the row the leader
    # took over, which the reconciliation owns now
    dead._finish(claimed[0], Receipt(Outcome.RETRY, error="HTTP 429"))
    with db.transaction() as session:
        assert session.get(Delivery, claimed[0]).state == "unknown"


def test_a_chunk_still_unsent_half_a_lease_after_its_start_goes_back_unsent(world, api_as):
    """A sending thread takes SMS rows in chunks, all marked `sending` at once: a row it has not reached half a
    lease later goes back to `pending`, unsent, before the leader could take it for a dead dispatcher's."""
    app, db, fakes, channels = world
    fire_sms_release(db, api_as, 3)
    fakes.twilio.latency = 0.3  # the first send outlasts half the lease (0.2 s)
    dispatcher = Dispatcher(db, channels, "slow", DispatchOptions(threads=1, chunk=3, lease=timedelta(seconds=0.4)))
    assert dispatcher.run_once() == 3
    with db.transaction() as session:
        rows = session.execute(select(Delivery.state, Delivery.error).order_by(Delivery.id)).all()
    assert [state for state, _ in rows] == ["sent", "pending", "pending"]
    assert all("not sent within half the lease" in error for _, error in rows[1:])
    assert sum(fakes.twilio.per_to.values()) == 1


def test_a_rate_limiter_outage_sends_nothing_and_the_row_waits_to_retry(world, api_as):
    app, db, fakes, channels = world
    fire_sms_release(db, api_as, 3)
    # the limits' shared store (Redis) refuses connections: nothing may be sent unthrottled
    limited = Dispatcher(db, channels, "limited", DispatchOptions(rate_storage="redis://127.0.0.1:1",
                                                                  rates={"sms": "10 per second"}))
    assert limited.run_once() == 3
    with db.transaction() as session:
        rows = session.execute(select(Delivery.state, Delivery.error, Delivery.next_attempt_at)).all()
    assert [state for state, _, _ in rows] == ["pending"] * 3
    assert all("rate limiter unavailable" in error for _, error, _ in rows)
    assert sum(fakes.twilio.per_to.values()) == 0
    with db.transaction() as session:  # retried once the wait is over, through a working limiter
        session.execute(update(Delivery).values(next_attempt_at=datetime.now(UTC)))
    drain(db, channels, "d2")
    assert sum(fakes.twilio.per_to.values()) == 3 and len(fakes.twilio.per_to) == 3


def test_a_send_that_would_wait_past_half_its_lease_is_put_back_unsent(world, api_as):
    app, db, fakes, channels = world
    fire_sms_release(db, api_as, 2)
    slow = Dispatcher(db, channels, "slow", DispatchOptions(lease=timedelta(seconds=2), rates={"sms": "1 per minute"}))
    assert slow.run_once() == 2  # one slot a minute: the first row takes it, the second waits 1 s, then gives up
    with db.transaction() as session:
        rows = dict(session.execute(select(Delivery.state, Delivery.error)).all())
    assert set(rows) in ({"pending", "sent"}, {"pending", "delivered"})  # the fake reports delivery at once
    assert "no sending slot within half the lease" in rows["pending"]
    assert sum(fakes.twilio.per_to.values()) == 1


def test_a_dispatcher_loop_that_fails_on_the_database_is_started_again_and_sends(world, api_as, caplog):
    app, db, fakes, channels = world
    fire_sms_release(db, api_as, 4)
    with db.transaction() as session:  # the ledger is gone for a moment, as in a failover: every claim fails
        session.execute(text("ALTER TABLE deliveries RENAME TO deliveries_away"))
    worker = Worker(db, channels, OPTIONS, DispatchOptions(threads=2), dispatchers=0, name="supervised")
    dispatcher = Dispatcher(db, channels, "supervised/0", DispatchOptions(threads=2))
    thread = threading.Thread(target=worker._keep_dispatching, args=(dispatcher,))
    thread.start()

    def logged_failure() -> bool:
        return any("dispatcher supervised/0 failed; starting it again" in r.getMessage() for r in caplog.records)

    try:
        deadline = time.monotonic() + 20
        while not logged_failure() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert logged_failure() and thread.is_alive()
        with db.transaction() as session:  # the database is back
            session.execute(text("ALTER TABLE deliveries_away RENAME TO deliveries"))
        while sum(fakes.twilio.per_to.values()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        dispatcher.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert sum(fakes.twilio.per_to.values()) == 4 and len(fakes.twilio.per_to) == 4


def test_status_callbacks_must_be_signed(world):
    app, db, fakes, channels = world
    response = app.test_client().post("/hooks/twilio/status", headers={"X-Twilio-Signature": "forged"},
                                      data={"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"})
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_api_route_with_token_sees_release_status(world, api_as, make_user):
    app, db, fakes, channels = world
    alert = approved_alert(api_as)
    schedule(api_as, alert, {"BE": ["x"]})
    lu = Api(app.test_client(), make_user("LU", "communicator")[1])
    assert lu.get(f"/alerts/{alert['id']}/release").status_code == 404


def test_a_live_alert_gets_a_ready_cancel_which_ends_it_through_the_same_approvals(world, api_as, make_user):
    app, db, fakes, channels = world
    alert = approved_alert(api_as)
    schedule(api_as, alert, {"BE": ["x", "national"], "NL": ["national"]})
    confirm(api_as, alert["id"], "NL")
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    be = api_as("BE", "communicator")
    cancel = be.get(f"/alerts/{alert['id']}/cancel").get_json()
    assert cancel["msg_type"] == "Cancel" and cancel["state"] == "in_review"
    assert cancel["source_alert_id"] == alert["id"]
    sender, identifier, sent = cancel["references"][0].split(",")
    assert sender == "be@benelert.eu" and identifier == alert["identifier"] and sent.endswith(("+01:00", "+02:00"))
    texts = cancel["version"]["texts"]
    assert texts["nl"]["headline"]["body"] == "Einde waarschuwing overstroming: Limburg"
    assert texts["fr"]["headline"]["body"] == "Fin de l'alerte inondation\u00a0: Limbourg"
    assert texts["de"]["headline"]["body"] == "Entwarnung Hochwasser: Limburg"
    # editing a Cancel keeps its texts lifting the warning (they are never re-rendered as the warning)
    edited = be.patch(f"/alerts/{cancel['id']}", json={"severity": "Moderate"}, headers={"If-Match": '"v1"'})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["version"]["texts"]["en"]["headline"]["body"] == "Flood warning lifted: Limburg"
    assert be.post(f"/alerts/{cancel['id']}/submit", headers={"If-Match": '"v2"'}).status_code == 200
    cancel = be.get(f"/alerts/{cancel['id']}").get_json()
    # edited by a communicator: that person is the author now, and every centre approves again
    for centre in ("BE", "NL"):
        response = api_as(centre, "spokesperson").post(
            f"/alerts/{cancel['id']}/approvals", headers={"If-Match": '"v2"'},
            json={"decision": "approve", "content_hash": cancel["version"]["content_hash"]})
        assert response.status_code == 200, response.get_json()
    spokes = api_as("BE", "spokesperson")
    planned = spokes.post(f"/alerts/{cancel['id']}/release", headers={"If-Match": '"v2"'}, json={
        "content_hash": cancel["version"]["content_hash"], "channels": {"BE": ["x", "national"], "NL": ["national"]}})
    assert planned.status_code == 201, planned.get_json()
    confirm(api_as, cancel["id"], "NL")
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    assert be.get(f"/alerts/{alert['id']}").get_json()["state"] == "cancelled"
    cancels = [m for m in fakes.cap.messages if b"<msgType>Cancel</msgType>" in m]
    assert len(cancels) == 2 and alert["identifier"].encode() in cancels[0]
    # a released Cancel prepares no Cancel of its own
    assert be.get(f"/alerts/{cancel['id']}/cancel").status_code == 404


def test_an_update_starts_as_an_editable_copy_referring_to_the_alert(world, api_as):
    app, db, fakes, channels = world
    alert = approved_alert(api_as)
    be = api_as("BE", "communicator")
    assert be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Update"}).status_code == 409  # not released
    schedule(api_as, alert, {"BE": ["x"]})
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    update = be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Update"})
    assert update.status_code == 201, update.get_json()
    body = update.get_json()
    assert body["msg_type"] == "Update" and body["state"] == "draft"
    assert body["version"]["texts"]["nl"]["headline"]["body"] == "Overstroming in Limburg"
    assert alert["identifier"] in body["references"][0]
    assert be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Alert"}).status_code == 422
    # an Update or Cancel reaches the audience of the message it refers to: its status stays that message's
    refused = be.patch(f"/alerts/{body['id']}", json={"status": "Exercise"}, headers={"If-Match": '"v1"'})
    assert refused.status_code == 422 and "keeps the status" in refused.get_json()["detail"]
    cancel = be.get(f"/alerts/{alert['id']}/cancel").get_json()
    assert be.patch(f"/alerts/{cancel['id']}", json={"status": "Test"}, headers={"If-Match": '"v1"'}).status_code == 422
    assert be.patch(f"/alerts/{body['id']}", json={"status": "Actual", "severity": "Extreme"},
                    headers={"If-Match": '"v1"'}).status_code == 200


def test_a_language_no_centre_asked_for_does_not_block_the_release(world, api_as):
    app, db, fakes, channels = world
    extra = {**SHORT_TEXTS, "lb": {"headline": "Iwwerschwemmung am Limbourg"}}  # BE and NL need no lb
    alert = approved_alert(api_as, texts=extra)
    assert alert["version"]["texts"]["lb"]["headline"]["body"] == "Iwwerschwemmung am Limbourg"
    planned = schedule(api_as, alert, {"BE": ["x", "national"]})
    assert planned.status_code == 201, planned.get_json()
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    assert fakes.cap.messages and all(b"lb-" not in message for message in fakes.cap.messages)


def test_communication_test_reaches_every_partner_and_reports_acknowledgements(world, api_as, make_user):
    app, db, fakes, channels = world
    from alerts.models import Centre, PartnerEndpoint
    from devtools.fakes.webhook_receiver import WebhookReceiver
    from devtools.world import new_secret

    receiver = WebhookReceiver([new_secret()]).start()
    try:
        with db.transaction() as session:
            nl = session.scalar(select(Centre).where(Centre.code == "NL"))
            session.add(PartnerEndpoint(centre_id=nl.id, url=receiver.url, secrets=list(receiver.secrets)))
        check_communication_test(db, fakes, channels, receiver, api_as)
    finally:
        receiver.stop()


def check_communication_test(db, fakes, channels, receiver, api_as):
    spokes = api_as("BE", "spokesperson")
    started = spokes.post("/communication-tests")
    assert started.status_code == 201, started.get_json()
    report = started.get_json()
    assert report["of"] == 2 and report["acknowledged"] == 0
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    assert len(fakes.partners[0].deliveries) == 1 and len(receiver.deliveries) == 1
    assert fakes.twilio.per_to == {} and fakes.x.posts == [] and fakes.cap.messages == []  # never public
    identifier = report["identifier"]
    assert api_as("LU", "partner").post("/acks", json={"identifier": identifier, "kind": "received"}).status_code \
        in (200, 201)
    report = spokes.get(f"/communication-tests/{report['alert_id']}").get_json()
    assert report["acknowledged"] == 1
    lu = next(p for p in report["partners"] if p["centre"] == "LU")
    assert lu["acknowledged"] and lu["seconds"] >= 0
    assert not next(p for p in report["partners"] if p["centre"] == "NL")["acknowledged"]
    assert api_as("BE", "communicator").post("/communication-tests").status_code == 403


def test_cap_is_signed_when_a_key_is_configured(world, make_app, make_user, tmp_path):
    from alerts.cap import verify_cap_signature
    from devtools.samples import make_key_and_cert
    from settings import load_settings

    _, db, fakes, channels = world
    key, cert = make_key_and_cert()
    (tmp_path / "key.pem").write_bytes(key)
    (tmp_path / "cert.pem").write_bytes(cert)
    # the ledger is staged, signed, when the release is scheduled: by an app of a deployment with a key
    signing = make_app(cap_sign_key_file=str(tmp_path / "key.pem"), cap_sign_cert_file=str(tmp_path / "cert.pem"))
    alert = approved_alert(lambda centre, *roles: Api(signing.test_client(), make_user(centre, *roles)[1]))
    schedule(lambda centre, *roles: Api(signing.test_client(), make_user(centre, *roles)[1]), alert,
             {"BE": ["national"]})
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    [received] = fakes.cap.messages  # the receiver validated it against the CAP 1.2 XSD
    assert alert["identifier"].encode() in verify_cap_signature(received, cert)
    with pytest.raises(Exception, match="go together"):
        load_settings({"env": "test", "cap_sign_key_file": "k.pem"})


def test_a_provider_failing_a_fifth_of_requests_still_delivers_everything_once_within_the_rate(world, api_as):

    from alerts.outcomes import reconcile_unknown

    app, db, fakes, channels = world
    fakes.twilio.failure_rate, fakes.twilio.failure_statuses = 0.2, (429, 500)
    fakes.twilio.max_rate = 40  # the provider account's limit; ours is set a margin below it
    phones = add_subscribers(db, "BE", 150)
    alert = approved_alert(api_as)
    schedule(api_as, alert, {"BE": ["sms"]})
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=4, base_backoff=0.05, max_backoff=0.2,
                                                                rates={"sms": "36 per second"}))
    deadline = time.time() + 60
    while time.time() < deadline:
        dispatcher.run_once()
        reconcile_unknown(db, channels, grace=timedelta(0))  # a 500 may or may not have been acted upon: ask
        counts = ledger_counts(db, planned_release(db))
        if set(counts) <= {"sent", "delivered"}:
            break
        time.sleep(0.05)
    assert set(ledger_counts(db, planned_release(db))) <= {"sent", "delivered"}
    assert all(fakes.twilio.count(phone) == 1 for phone in phones)  # every recipient exactly once
    statuses = [path for method, path in fakes.twilio.requests if method == "POST"]
    assert len(statuses) > 150  # failures happened and were retried
    assert fakes.twilio.max_observed_rate <= 40  # the provider's rate limit was never exceeded


def planned_release(db):
    with db.transaction() as session:
        return session.scalar(select(Release.id).order_by(Release.id.desc()).limit(1))
