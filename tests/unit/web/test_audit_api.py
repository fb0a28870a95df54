"""GET /api/v1/audit and /api/v1/audit.csv: who reads which events (a network administrator all, a centre's
administrator their centre's, anyone else 403), each filter narrowing to exactly what it names, keyset paging without
gaps or repeats, the CSV read back with the csv module (formulas neutralised), and every bad filter a 422 problem naming
its field. On SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from alerts import audit, audit_browse, centres, subscribers
from alerts.models import AuditEvent, Centre, Subscriber
from devtools.world import Api, flood_alert


@dataclass
class World:
    network: Api
    be_admin: Api
    nl_admin: Api
    be_comm: Api
    shared: int  # an alert of BE and NL
    nl_only: int  # an alert of NL alone
    be_user: str
    nl_user: str


def ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_json()
    return response.get_json()


def record(db, actor, action, object_type, object_id, **detail):
    with db.transaction() as session:
        audit.record(session, actor, action, object_type, object_id, detail=detail)


@pytest.fixture
def world(api_as, make_user, client, db) -> World:
    """Events of BE alone, of NL alone and of both: alerts, comments, centre settings, contact points, users and
    tokens, subscribers, a failed login, and the worker's and the command line's work."""
    be_user, be_token = make_user("BE", "communicator")
    nl_user, nl_token = make_user("NL", "communicator")
    be_comm, nl_comm = Api(client, be_token), Api(client, nl_token)
    be_admin, nl_admin = api_as("BE", "admin"), api_as("NL", "admin")
    network = api_as("DE-NW", "network-admin")
    shared = ok(be_comm.post("/alerts", json=flood_alert(participants=["NL"])))["id"]
    nl_only = ok(nl_comm.post("/alerts", json=flood_alert(participants=[])))["id"]
    ok(nl_comm.post(f"/alerts/{shared}/comments", json={"body": "NL looked at it"}))
    ok(nl_comm.post(f"/alerts/{nl_only}/comments", json={"body": "NL only"}))
    for admin, code in ((be_admin, "BE"), (nl_admin, "NL")):
        ok(admin.post("/contact-points", json={"centre": code, "field": "duty-desk", "function": f"Desk {code}",
                                               "phone": "+3225064711", "languages": ["nl"]}))
        ok(admin.patch(f"/centres/{code}", json={"ack_deadline_minutes": 30}))
    record(db, "worker", "alert.expire", "alert", shared, version=1)
    record(db, "worker", "alert.expire", "alert", nl_only, version=1)
    record(db, be_user, "login.failed", "user", be_user, address="192.0.2.1", known_device=False)
    record(db, "someone-else", "login.failed", "user", "someone-else", address="192.0.2.2", known_device=False)
    with db.transaction() as session:
        centres.update(session, "cli", "LU", {"ack_deadline_minutes": 45})
        ids = {code: session.scalar(select(Centre.id).where(Centre.code == code)) for code in ("BE", "NL")}
        session.add_all([Subscriber(centre_id=ids["BE"], phone="+32470000001", language="nl"),
                         Subscriber(centre_id=ids["NL"], phone="+31610000001", language="nl")])
    for phone in ("+32470000001", "+31610000001"):
        with db.transaction() as session:
            assert subscribers.opt_out(session, phone) == 1
    return World(network, be_admin, nl_admin, be_comm, shared, nl_only, be_user, nl_user)


def everything(api: Api, query: str = "") -> list[dict]:
    """Every event the caller reads with `query`, page by page (500 a page)."""
    items, before = [], None
    while True:
        page = ok(api.get(f"/audit?limit=500{query}" + (f"&before_seq={before}" if before else "")), (200,))
        items += page["items"]
        before = page["next_before_seq"]
        if before is None:
            return items


def all_events(db) -> list[AuditEvent]:
    with db.transaction() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())))
        session.expunge_all()
        return events


def key(item) -> tuple:
    return (item["actor"], item["action"], item["object_type"], item["object_id"])


def test_a_network_admin_reads_every_event_newest_first(world, db):
    items = everything(world.network)
    assert [item["seq"] for item in items] == [event.seq for event in all_events(db)]
    first = items[-1]
    assert first["seq"] == 1 and set(first) == {"seq", "at", "actor", "action", "object_type", "object_id",
                                                "alert_id", "content_hash", "detail", "prev_hash", "hash"}
    assert first["prev_hash"] == "0" * 64 and datetime.fromisoformat(first["at"]).tzinfo is not None


def test_a_centre_admin_reads_the_events_of_their_centre_only(world, db):
    seen = {key(item) for item in everything(world.be_admin)}
    shared, nl_only = str(world.shared), str(world.nl_only)
    wanted = {
        (world.be_user, "alert.create", "alert", shared),  # their user's alert, also NL's
        (world.nl_user, "comment.add", "alert", shared),  # an NL user on an alert BE takes part in
        ("worker", "alert.expire", "alert", shared),  # the worker on it
        (world.be_user, "login.failed", "user", world.be_user),  # a failed login as one of their users
    }
    assert wanted <= seen
    not_theirs = {
        (world.nl_user, "alert.create", "alert", nl_only), (world.nl_user, "comment.add", "alert", nl_only),
        ("worker", "alert.expire", "alert", nl_only), ("cli", "centre.update", "centre", "LU"),
        ("someone-else", "login.failed", "user", "someone-else"),
    }
    assert not (not_theirs & seen)
    # their centre's settings, contact points, subscribers, users and tokens; none of NL's or LU's
    assert {item["object_id"] for item in everything(world.be_admin, "&object_type=centre")} == {"BE"}
    assert {item["detail"]["centre"] for item in everything(world.be_admin) if item["object_type"] ==
            "contact_point"} == {"BE"}
    with db.transaction() as session:
        be_subscriber = session.scalar(select(Subscriber.id).where(Subscriber.phone == "+32470000001"))
    assert [item["object_id"] for item in everything(world.be_admin, "&object_type=subscriber")] == [
        str(be_subscriber)]
    users = {item["detail"].get("centre") for item in everything(world.be_admin, "&action=user.create")}
    assert users == {"BE"}
    tokens = everything(world.be_admin, "&object_type=token")
    assert tokens and all(item["detail"]["user"].startswith("be-") for item in tokens)
    nl_view = {key(item) for item in everything(world.nl_admin)}
    assert (world.nl_user, "alert.create", "alert", nl_only) in nl_view
    assert (world.be_user, "login.failed", "user", world.be_user) not in nl_view


def test_the_centre_filter_is_the_centres_view_and_narrows_a_centre_admins_view(world):
    be_view = {item["seq"] for item in everything(world.be_admin)}
    nl_view = {item["seq"] for item in everything(world.nl_admin)}
    assert {item["seq"] for item in everything(world.network, "&centre=BE")} == be_view
    both = {item["seq"] for item in everything(world.be_admin, "&centre=NL")}
    assert both == be_view & nl_view and both  # the events of the shared alert


@pytest.mark.parametrize("who", ["communicator", "spokesperson", "partner"])
def test_anyone_but_an_administrator_is_refused(api_as, who):
    api = api_as("BE", who)
    for path in ("/audit", "/audit.csv"):
        answer = api.get(path)
        assert answer.status_code == 403 and answer.mimetype == "application/problem+json"
        assert answer.get_json()["detail"] == "Only an administrator of a centre or of the network may read the " \
                                              "audit trail."


def test_each_filter_narrows_to_exactly_what_it_names(world, db):
    events = everything(world.network)
    middle = datetime.fromisoformat(events[len(events) // 2]["at"])
    since, until = (middle - timedelta(microseconds=1)).isoformat(), middle.isoformat()
    record(db, "system", "partnerxendpoint.create", "network", "x")  # `_` is a LIKE wildcard: not here
    events = everything(world.network)
    cases = {
        f"&actor={world.be_user}": lambda e: e["actor"] == world.be_user,
        "&action=alert.create": lambda e: e["action"] == "alert.create",
        "&action=alert.": lambda e: e["action"].startswith("alert."),
        "&action=login.": lambda e: e["action"] == "login.failed",
        "&object_type=centre": lambda e: e["object_type"] == "centre",
        f"&alert_id={world.shared}": lambda e: e["alert_id"] == world.shared,
        f"&since={since.replace('+', '%2B')}": lambda e: datetime.fromisoformat(e["at"]) >= middle,
        f"&until={until.replace('+', '%2B')}": lambda e: datetime.fromisoformat(e["at"]) < middle,
        f"&actor=worker&alert_id={world.nl_only}": lambda e: e["actor"] == "worker" and e["alert_id"] == world.nl_only,
    }
    for query, wanted in cases.items():
        got = [item["seq"] for item in everything(world.network, query)]
        expected = [item["seq"] for item in events if wanted(item)]
        assert got == expected and 0 < len(got) < len(events), query
    assert everything(world.network, "&action=partner_endpoint.") == []
    assert [item["action"] for item in everything(world.network, "&action=partnerxendpoint.")] == [
        "partnerxendpoint.create"]
    assert everything(world.network, "&actor=nobody") == []
    assert everything(world.network, "&action=login") == []  # exact: not login.failed


def test_paging_has_no_gaps_and_no_repeats(world, db):
    for api, query in ((world.network, ""), (world.be_admin, ""), (world.network, "&action=alert.")):
        whole = [item["seq"] for item in everything(api, query)]
        pages, before = [], None
        while True:
            page = ok(api.get(f"/audit?limit=2{query}" + (f"&before_seq={before}" if before else "")), (200,))
            assert len(page["items"]) <= 2
            pages.append([item["seq"] for item in page["items"]])
            if len(pages) == 1:
                record(db, "system", "alert.expire", "alert", world.shared)  # a new event while paging
            before = page["next_before_seq"]
            if before is None:
                break
            assert before == pages[-1][-1]
        seqs = [seq for page in pages for seq in page]
        assert seqs == whole and len(set(seqs)) == len(seqs) and len(pages) > 2, query
    assert ok(world.network.get("/audit"), (200,))["next_before_seq"] is None  # fewer than 100: one page


def test_the_default_page_is_100_events(world, db):
    with db.transaction() as session:
        for number in range(120):
            audit.record(session, "system", "alert.expire", "alert", world.shared, detail={"n": number})
    page = ok(world.network.get("/audit"), (200,))
    assert len(page["items"]) == 100 and page["next_before_seq"] == page["items"][-1]["seq"]


def test_the_csv_reads_back_with_formulas_neutralised(world, db, monkeypatch):
    record(db, "=HYPERLINK(\"http://evil.example\")", "login.failed", "user", "+cmd|' /C calc'!A0", address="x")
    monkeypatch.setattr(audit_browse, "EXPORT_BATCH", 4)  # several batches, as a long export reads them
    answer = world.network.get("/audit.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv" and answer.mimetype_params["charset"] == "utf-8"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8"))))
    assert tuple(rows[0]) == audit_browse.CSV_COLUMNS
    events = everything(world.network)
    assert [int(row["seq"]) for row in rows] == [item["seq"] for item in events]
    for row, item in zip(rows, events, strict=True):
        assert json.loads(row["detail"]) == item["detail"] and row["hash"] == item["hash"]
        assert datetime.fromisoformat(row["at"]) == datetime.fromisoformat(item["at"])
    evil = rows[0]
    assert evil["actor"] == "'=HYPERLINK(\"http://evil.example\")" and evil["object_id"] == "'+cmd|' /C calc'!A0"
    be = list(csv.DictReader(io.StringIO(world.be_admin.get("/audit.csv?action=alert.").get_data(as_text=True))))
    assert [int(row["seq"]) for row in be] == [item["seq"] for item in everything(world.be_admin, "&action=alert.")]
    assert be and all(row["action"].startswith("alert.") for row in be)


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"), ("before_seq=0", "before_seq"),
    ("before_seq=-5", "before_seq"), ("alert_id=1.5", "alert_id"), ("alert_id=99999999999", "alert_id"),
    ("action=Alert.Submit", "action"), ("action=alert..", "action"), ("action=" + "a" * 41, "action"),
    ("object_type=spaceship", "object_type"), ("centre=be", "centre"), ("centre=XX", "centre"),
    ("since=yesterday", "since"), ("since=2025-03-01T08:00:00", "since"), ("until=2025-02-30T08:00:00Z", "until"),
    ("since=2025-03-02T00:00:00Z&until=2025-03-01T00:00:00Z", "until"), ("actor=", "actor"), ("actor=" + "a" * 81,
                                                                                             "actor"),
])
def test_a_bad_filter_is_a_422_problem_naming_its_field(api_as, query, field):
    network = api_as("DE-NW", "network-admin")
    for path in ("/audit",) if field == "limit" else ("/audit", "/audit.csv"):  # an export has no pages
        answer = network.get(f"{path}?{query}", headers={"Accept-Language": "nl"})
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json", (path, query)
        body = answer.get_json()
        assert body["field"] == field and body["type"] == "urn:benelert:problem:invalid-input" and body["detail"]


def test_the_api_document_describes_both_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    listing, export = spec["paths"]["/api/v1/audit"]["get"], spec["paths"]["/api/v1/audit.csv"]["get"]
    names = {parameter["name"] for parameter in listing["parameters"]}
    assert names == {"actor", "action", "object_type", "alert_id", "centre", "since", "until", "before_seq", "limit"}
    assert {parameter["name"] for parameter in export["parameters"]} == names - {"limit"}
    assert {"200", "401", "403", "422"} <= set(listing["responses"]) & set(export["responses"])
    assert "text/csv" in export["responses"]["200"]["content"]


def test_a_page_is_a_fixed_number_of_statements_whatever_it_holds(world, db):
    """The rule and the filters are SQL: reading a page of 100 events takes as many statements as a page of 2 (no
    query per event, no reading of the whole chain to filter it in Python)."""
    with db.transaction() as session:
        for number in range(150):
            audit.record(session, "system", "alert.expire", "alert", world.shared, detail={"n": number})
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        small = ok(world.be_admin.get("/audit?limit=2"), (200,))
        few = len(statements)
        statements.clear()
        large = ok(world.be_admin.get("/audit?limit=100"), (200,))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert (len(small["items"]), len(large["items"])) == (2, 100)
    assert len(statements) == few
    assert sum("audit_events" in statement for statement in statements) == 1
