"""Exchange with partners, subscribers and the public: acks (JSON and CAP Ack), the CAP feed, subscriber
imports and STOP opt-outs, on top of a real release through the local fakes."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from alerts import firing, geo, import_jobs, release
from alerts.cap import CAP_NS, parse_cap
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Ack, AuditEvent, Delivery, Subscriber, SubscriberArea
from channels import build_channels
from channels.specs import TextLimits
from devtools.world import add_subscribers, approved_alert, wired_app

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3), sandbox={"sms": "+32470000099", "x": "SANDBOX",
                                                             "national": ""})
ATOM = "{http://www.w3.org/2005/Atom}"
INBOUND = "http://localhost/hooks/twilio/inbound"  # the test client's URL, which Twilio would have signed


@pytest.fixture
def world(make_app, tmp_path):
    with wired_app(make_app, tmp_path) as (app, db, fakes, config):  # BE, NL publish; LU receives copies
        yield app, db, fakes, build_channels(config)


def release_alert(world, api_as, status="Actual", channels=None, at=None) -> dict:
    """An approved BE+NL flood alert, scheduled (now unless `at`), fired and dispatched."""
    app, db, fakes, built = world
    alert = approved_alert(api_as, status=status)
    body = {"content_hash": alert["version"]["content_hash"], "channels": channels or {"BE": ["national", "partners"]}}
    if at:
        body["at"] = at.isoformat()
    planned = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release", json=body,
                                                headers={"If-Match": '"v1"'})
    assert planned.status_code == 201, planned.get_json()
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    dispatcher = Dispatcher(db, built, "d1", DispatchOptions(threads=2))
    while dispatcher.run_once():
        pass
    return alert


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def cap_ack(references: str, *, status="Actual", msg_type="Ack", note: str | None = None) -> bytes:
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    fields = [("identifier", "lu-ack-1"), ("sender", "ops@cgdis.lu"),
              ("sent", datetime.now(UTC).replace(microsecond=0).isoformat()), ("status", status),
              ("msgType", msg_type), ("scope", "Public"), ("note", note), ("references", references)]
    for tag, text in fields:
        if text is not None:
            etree.SubElement(root, f"{{{CAP_NS}}}{tag}").text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def reference_to(sent_xml: bytes) -> str:
    sent = parse_cap(sent_xml)
    return f"{sent['sender']},{sent['identifier']},{sent['sent']}"


def post_cap(api, body: bytes, query: str = "", content_type="application/cap+xml"):
    return api.client.post("/api/v1/acks" + query, data=body, content_type=content_type,
                           headers={"Authorization": f"Bearer {api.token}"})


# --- Acks ----------------------------------------------------------------------------------------------

def test_json_ack_is_idempotent_and_read_implies_received(world, api_as):
    app, db, fakes, _ = world
    alert = release_alert(world, api_as)
    lu = api_as("LU", "partner")  # LU does not take part: it got the partner copy
    first = lu.post("/acks", json={"identifier": alert["identifier"], "kind": "received"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["created"] == 1
    again = lu.post("/acks", json={"identifier": alert["identifier"], "kind": "received"})
    assert again.status_code == 200 and again.get_json()["created"] == 0
    assert again.get_json()["acks"] == first.get_json()["acks"]
    read = api_as("LU", "spokesperson").post("/acks", json={"identifier": alert["identifier"], "kind": "read"})
    assert read.status_code == 201
    assert [(a["kind"], a["centre"]) for a in read.get_json()["acks"]] == [("received", "LU"), ("read", "LU")]
    assert count(db, Ack) == 2
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("ack.%"))) == 2

    nl_read = api_as("NL", "communicator").post("/acks", json={"identifier": alert["identifier"], "kind": "read"})
    assert nl_read.status_code == 201 and nl_read.get_json()["created"] == 2  # read brings received along
    report = api_as("BE", "communicator").get(f"/alerts/{alert['id']}/acks")
    assert report.status_code == 200
    body = report.get_json()
    assert len(body["acks"]) == 4 and {a["via"] for a in body["acks"]} == {"api"}
    centres = {row["centre"]: row for row in body["centres"]}
    assert set(centres) == {"NL", "LU"}
    assert centres["LU"]["received_after_s"] >= 0 and centres["LU"]["read_after_s"] >= 0
    assert lu.get(f"/alerts/{alert['id']}/acks").status_code == 404  # LU does not take part in the alert


def test_cap_ack_names_the_alert_by_its_references(world, api_as):
    app, db, fakes, _ = world
    release_alert(world, api_as)
    sent = fakes.cap.messages[0]
    lu = api_as("LU", "partner")
    response = post_cap(lu, cap_ack(reference_to(sent)))
    assert response.status_code == 201, response.get_json()
    assert [(a["kind"], a["via"]) for a in response.get_json()["acks"]] == [("received", "cap")]
    assert post_cap(lu, cap_ack(reference_to(sent)), content_type="application/xml").status_code == 200
    read = post_cap(lu, cap_ack(reference_to(sent)), "?kind=read")
    assert read.status_code == 201 and read.get_json()["created"] == 1
    assert count(db, Ack) == 2


def test_cap_acks_that_do_not_acknowledge_are_refused(world, api_as):
    app, db, fakes, _ = world
    release_alert(world, api_as)
    sent = fakes.cap.messages[0]
    lu = api_as("LU", "partner")
    not_ack = post_cap(lu, sent)  # the alert itself, not an Ack
    assert not_ack.status_code == 422 and "only msgType Ack" in not_ack.get_json()["detail"]
    test_ack = post_cap(lu, cap_ack(reference_to(sent), status="Test"))
    assert test_ack.status_code == 422 and "status Test" in test_ack.get_json()["detail"]
    sender, identifier, moment = reference_to(sent).split(",")
    wrong_sender = post_cap(lu, cap_ack(f"someone@else.eu,{identifier},{moment}"))
    assert wrong_sender.status_code == 422 and "does not match" in wrong_sender.get_json()["detail"]
    unknown = post_cap(lu, cap_ack(f"{sender},benelert-be-unknown,{moment}"))
    assert unknown.status_code == 404
    assert count(db, Ack) == 0


def test_unknown_identifiers_and_centres_are_refused_and_nothing_is_stored(world, api_as):
    app, db, fakes, _ = world
    alert = release_alert(world, api_as)
    body = {"identifier": alert["identifier"], "kind": "received"}
    unknown = api_as("LU", "partner").post("/acks", json={**body, "identifier": "benelert-be-nope"})
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    foreign = api_as("DE-NW", "partner").post("/acks", json=body)  # neither takes part nor got a copy
    assert foreign.status_code == 404 and "has been released to your centre (DE-NW)" in foreign.get_json()["detail"]
    other_centre = api_as("LU", "partner").post("/acks", json={**body, "centre": "XX"})
    assert other_centre.status_code == 403 and "you cannot acknowledge for 'XX'" in other_centre.get_json()["detail"]
    assert api_as("LU", "admin").post("/acks", json=body).status_code == 403
    assert api_as("LU", "partner").post("/acks", json={**body, "kind": "seen"}).status_code == 422
    assert api_as("LU", "partner").post("/acks", data="x", content_type="text/plain").status_code == 415
    unreleased = approved_alert(api_as)
    assert api_as("NL", "partner").post("/acks", json={**body, "identifier": unreleased["identifier"]}
                                        ).status_code == 404
    assert count(db, Ack) == 0


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><note>&xxe;</note></alert>')


def test_malformed_oversized_and_entity_laden_cap_acks_are_400(world, api_as):
    app, db, fakes, _ = world
    release_alert(world, api_as)
    lu = api_as("LU", "partner")
    reference = reference_to(fakes.cap.messages[0])
    cases = {
        "malformed": b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>",
        "oversized": cap_ack(reference, note="x" * 70_000),
        "billion laughs": BILLION_LAUGHS,
        "external entity": EXTERNAL,
        "not CAP": b"<ack><references>x</references></ack>",
    }
    for name, body in cases.items():
        response = post_cap(lu, body)
        assert response.status_code == 400, (name, response.get_json())
        assert response.get_json()["type"] == "urn:benelert:problem:invalid-cap", name
    assert "too large" in post_cap(lu, cases["oversized"]).get_json()["detail"]
    assert post_cap(lu, cap_ack(reference, note="x" * 1_100_000)).status_code == 413  # the app-wide 1 MiB limit
    assert count(db, Ack) == 0


# --- The CAP feed ------------------------------------------------------------------------------------------

def test_feed_lists_only_live_released_alerts_and_serves_the_bytes_sent(world, api_as):
    app, db, fakes, _ = world
    live = release_alert(world, api_as)
    exercise = release_alert(world, api_as, status="Exercise")
    later = release_alert(world, api_as, at=datetime.now(UTC) + timedelta(hours=1))  # scheduled, not fired
    client = app.test_client()
    feed = client.get("/cap/feed.atom")
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    root = etree.fromstring(feed.data)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None, tag
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    for tag in ("id", "title", "updated", "summary"):
        assert entry.findtext(f"{ATOM}{tag}"), tag
    assert entry.findtext(f"{ATOM}title") == "Flooding in Limburg"
    link = entry.find(f"{ATOM}link").get("href")
    assert link == f"http://localhost/cap/{live['identifier']}.xml"

    message = client.get(link)
    assert message.status_code == 200 and message.mimetype == "application/cap+xml"
    assert len(fakes.cap.messages) == 1  # BE's national system; the exercise had no sandbox national target
    # the feed and the partners carry the whole area; BE's national system got Belgium's part of it (alerts.geo)
    national = etree.fromstring(fakes.cap.messages[0])
    whole = etree.fromstring(message.data)
    assert national.findtext(f"{{{CAP_NS}}}identifier") == whole.findtext(f"{{{CAP_NS}}}identifier")
    belgium = geo.boundaries().by_code["BE"].geometry.buffer(0.03)
    sent = [geo.parse_polygon(p.text) for p in national.iter(f"{{{CAP_NS}}}polygon")]
    assert sent and all(belgium.contains(polygon) for polygon in sent)
    drawn = [geo.parse_polygon(p.text) for p in whole.iter(f"{{{CAP_NS}}}polygon")]
    assert not all(belgium.contains(polygon) for polygon in drawn)  # the drawn area reaches into the Netherlands
    partner_copies = [d.payload["data"]["cap"].encode("utf-8") for d in fakes.partners[0].deliveries
                      if d.payload["type"] == "alert.published"]
    assert message.data in partner_copies and len(partner_copies) == 2  # live and exercise copies
    [heads_up] = [d.payload for d in fakes.partners[0].deliveries if d.payload["type"] == "alert.heads_up"]
    assert later["identifier"] in heads_up["data"]["cap"] and "<scope>Restricted</scope>" in heads_up["data"]["cap"]
    assert heads_up["data"]["cap"].encode() not in [client.get(f"/cap/{later['identifier']}.xml").data]
    again = client.get(link, headers={"If-None-Match": message.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/cap/feed.atom", headers={"If-None-Match": feed.headers["ETag"]}).status_code == 304

    for identifier in (exercise["identifier"], later["identifier"], "benelert-be-unknown"):
        missing = client.get(f"/cap/{identifier}.xml")
        assert missing.status_code == 404 and missing.mimetype == "application/problem+json", identifier


def test_empty_feed_is_valid_atom(app):
    feed = app.test_client().get("/cap/feed.atom")
    root = etree.fromstring(feed.data)
    assert feed.status_code == 200 and root.findall(f"{ATOM}entry") == []
    assert root.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00Z"


# --- Subscribers import ----------------------------------------------------------------------------------

def import_csv(api, text: str | bytes, content_type="text/csv"):
    return api.client.post("/api/v1/subscribers/import", data=text, content_type=content_type,
                           headers={"Authorization": f"Bearer {api.token}"})


def imported(api, db, text: str | bytes, content_type="text/csv") -> dict:
    """Submit the list (202 and its job's address), let a worker run the job, and read the job as the API shows it."""
    submitted = import_csv(api, text, content_type)
    assert submitted.status_code == 202, submitted.get_json()
    assert submitted.get_json()["state"] == "queued"
    assert import_jobs.run_next(db, "test-worker") in ("done", "failed")
    job = api.client.get(submitted.headers["Location"], headers={"Authorization": f"Bearer {api.token}"})
    assert job.status_code == 200
    return job.get_json()


def test_import_reports_every_bad_line_and_stores_nothing(api_as, db):
    be = api_as("BE", "communicator")
    job = imported(be, db, "phone,language,areas\n0470 12 34 56,nl,be-lim\nnot a number,nl,be-lim\n"
                           "0470 12 34 57,xx,be-lim\n0470 12 34 58,fr,atlantis\n")
    assert job["state"] == "failed" and job["result"] is None
    assert [error["line"] for error in job["errors"]] == [3, 4, 5]
    assert "invalid number" in job["errors"][0]["error"] and "atlantis" in job["errors"][2]["error"]
    assert count(db, Subscriber) == 0 and count(db, SubscriberArea) == 0
    assert imported(be, db, "telephone\n+32470123456\n")["errors"][0]["line"] == 1


def test_import_upserts_by_number_and_counts_per_area(api_as, db):
    be = api_as("BE", "communicator")
    first = imported(be, db, "phone,language,areas\n0470 12 34 56,nl,be-lim\n+32 470 12 34 57,fr,be-lim;be-lie\n")
    assert first["state"] == "done", first
    assert first["result"] == {"imported": 2, "updated": 0, "opted_out": 0} and first["errors"] == []
    assert first["rows_done"] == first["rows_total"] == 2
    second = imported(api_as("BE", "admin"), db, "phone,language,areas\n+32470123457,de,be-ant\n0470123458,en,be-lim\n")
    assert second["result"] == {"imported": 1, "updated": 1, "opted_out": 0}
    with db.transaction() as session:
        moved = session.scalar(select(Subscriber).where(Subscriber.phone == "+32470123457"))
        assert moved.language == "de"
        assert session.scalars(select(SubscriberArea.place).where(
            SubscriberArea.subscriber_id == moved.id)).all() == ["be-ant"]
    counts = be.get("/subscribers/count").get_json()
    assert counts == {"centre": "BE", "total": 3, "opted_out": 0, "areas": {"be-ant": 1, "be-lim": 2}}
    assert api_as("NL", "communicator").get("/subscribers/count").get_json()["total"] == 0  # per centre


def test_import_rules_for_roles_types_and_sizes(api_as, db):
    assert import_csv(api_as("BE", "partner"), "phone,language,areas\n").status_code == 403
    assert import_csv(api_as("BE", "spokesperson"), "phone,language,areas\n").status_code == 403
    be = api_as("BE", "communicator")
    assert import_csv(be, "phone,language,areas\n", content_type="application/json").status_code == 415
    # above the app's 1 MiB but within this route's 5 MiB (extra columns are ignored)
    big = "phone,language,areas,note\n" + "".join(f"04701234{i:02d},nl,be-lim,{'x' * 120_000}\n" for i in range(10))
    assert 1024 * 1024 < len(big) < 5 * 1024 * 1024
    assert imported(be, db, big)["result"]["imported"] == 10
    too_big = import_csv(be, "phone,language,areas\n" + "x" * (5 * 1024 * 1024))
    assert too_big.status_code == 413 and "5 MiB" in too_big.get_json()["detail"]
    latin1 = imported(be, db, "phone,language,areas\n0470123499,fr,be-liège\n".encode("latin-1"),
                      content_type="text/csv; charset=latin-1")
    assert "be-liège" in latin1["errors"][0]["error"]  # decoded as latin-1, then refused as unknown
    assert import_csv(be, b"phone,language,areas\n\xff\xfe,nl,be-lim\n").status_code == 422
    assert count(db, Subscriber) == 10


# --- STOP ----------------------------------------------------------------------------------------------------

def inbound(app, params: dict, signature: str | None = None):
    token = app.extensions["benelert"].channels_config["sms"]["auth_token"]
    signature = signature or RequestValidator(token).compute_signature(INBOUND, params)
    return app.test_client().post("/hooks/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})


def test_stop_opts_out_only_when_signed_and_the_next_release_skips_the_number(world, api_as):
    app, db, fakes, _ = world
    phones = add_subscribers(db, "BE", 3)
    stop = {"From": phones[0], "To": "+3225551234", "Body": " stop ", "MessageSid": "SM" + "1" * 32}
    forged = inbound(app, stop, signature="forged")
    assert forged.status_code == 403 and forged.mimetype == "application/problem+json"
    chatter = inbound(app, {**stop, "Body": "stop sending me floods please"})
    assert chatter.status_code == 200
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber).where(
            Subscriber.opted_out_at.is_not(None))) == 0
    signed = inbound(app, stop)
    assert signed.status_code == 200 and signed.mimetype == "text/xml" and b"<Response/>" in signed.data
    with db.transaction() as session:
        opted = session.scalars(select(Subscriber.phone).where(Subscriber.opted_out_at.is_not(None))).all()
    assert opted == [phones[0]]
    be = api_as("BE", "communicator")
    assert be.get("/subscribers/count").get_json()["opted_out"] == 1
    reimport = imported(be, db, f"phone,language,areas\n{phones[0]},nl,be-lim\n")
    assert reimport["result"]["opted_out"] == 1  # an import never undoes an opt-out

    release_alert(world, api_as, channels={"BE": ["sms"]})
    with db.transaction() as session:
        targets = set(session.scalars(select(Delivery.target).where(Delivery.channel == "sms")))
    assert targets == set(phones[1:])
    assert phones[0] not in fakes.twilio.per_to


def test_a_centre_that_only_received_a_copy_sees_its_own_acknowledgements(world, api_as, make_user):
    from tests.unit.web.test_pages import login

    app, db, fakes, _ = world
    alert = release_alert(world, api_as)
    nl = api_as("NL", "communicator")  # NL takes part
    assert nl.post("/acks", json={"identifier": alert["identifier"], "kind": "read"}).status_code == 201
    lu_user = make_user("LU", "partner")[0]  # LU does not take part: it got the partner copy
    assert api_as("LU", "partner").post("/acks", json={"identifier": alert["identifier"],
                                                        "kind": "received"}).status_code == 201
    lu_page = login(app, lu_user).get(f"/incoming/{alert['identifier']}").get_data(as_text=True)
    acks = lu_page.split('id="acks"', 1)[1]
    assert '<th scope="row">LU</th>' in acks and '<th scope="row">NL</th>' not in acks
    nl_user = make_user("NL", "spokesperson")[0]
    nl_page = login(app, nl_user).get(f"/incoming/{alert['identifier']}").get_data(as_text=True)
    assert '<th scope="row">LU</th>' in nl_page and '<th scope="row">NL</th>' in nl_page


def test_a_copy_sent_at_t_is_acknowledged_before_the_scheduler_flips_the_release(world, api_as):
    """The dispatchers send a release's rows when they fall due; the scheduler may mark it released a tick later (or
    much later while no worker leads). The partner that received the copy can acknowledge it at once; a release
    still ahead (only its heads-up went out) cannot be acknowledged."""
    app, db, fakes, built = world
    later = approved_alert(api_as)
    ahead = api_as("BE", "spokesperson").post(f"/alerts/{later['id']}/release", headers={"If-Match": '"v1"'}, json={
        "content_hash": later["version"]["content_hash"], "channels": {"BE": ["partners"]},
        "at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert ahead.status_code == 201, ahead.get_json()
    alert = approved_alert(api_as)
    planned = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
                                                json={"content_hash": alert["version"]["content_hash"],
                                                      "channels": {"BE": ["partners"]}})
    assert planned.status_code == 201, planned.get_json()
    dispatcher = Dispatcher(db, built, "d1", DispatchOptions(threads=2))
    while dispatcher.run_once():  # no release_due: the releases are still "scheduled"
        pass
    assert sum(len(receiver.deliveries) for receiver in fakes.partners) >= 2  # the copy and the heads-up
    lu = api_as("LU", "partner")
    answer = lu.post("/acks", json={"identifier": alert["identifier"], "kind": "received"})
    assert answer.status_code == 201, answer.get_json()
    assert lu.post("/acks", json={"identifier": later["identifier"], "kind": "received"}).status_code == 404
