"""Regressions of what an outside attack found in the domain's rules (issue #17, items 4, 6, 8, 11, 12, 14, 17):
each test failed on the code before its fix, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerts import exchange, firing, release
from alerts.cap import build_cap, parse_cap
from alerts.models import Ack, Alert, Centre
from alerts.vocabulary import MAX_AREAS, is_web_address
from devtools.samples import SENDER, WINTER, flood_content
from devtools.world import SHORT_TEXTS, Api, add_subscribers, approved_alert, flood_alert
from tests.unit.alerts.test_exchange import OPTIONS, cap_ack, post_cap, reference_to, release_alert, world  # noqa: F401
from tests.unit.web.test_pages import form_fields, login

JAVASCRIPT = "javascript:alert(document.domain)"


def released(api_as, db, **fields) -> dict:
    """A live BE+NL alert, approved, released to the partners' webhooks and fired."""
    alert = approved_alert(api_as, status="Actual", **fields)
    scheduled = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"], "channels": {"BE": ["partners"]}})
    assert scheduled.status_code == 201, scheduled.get_json()
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions())
    return alert


def refused_field(problem: dict) -> str | None:
    """The field a 422 names: the domain's `field`, or the schema's only key in `errors`."""
    errors = problem.get("errors") or {}
    return problem.get("field") or (next(iter(errors)) if len(errors) == 1 else None)


def in_parallel(calls: int, call) -> list[int]:
    """`call()` from `calls` threads at once; their status codes."""
    barrier, statuses = threading.Barrier(calls), []

    def run():
        barrier.wait()
        statuses.append(call())

    threads = [threading.Thread(target=run) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


# --- 12. one Update in the works at a time -------------------------------------------------------------------

def test_a_second_update_of_a_live_alert_is_refused_and_names_the_first(api_as, db, app, make_user):
    alert = released(api_as, db)
    be = api_as("BE", "communicator")
    first = be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Update"})
    assert first.status_code == 201, first.get_json()
    second = be.post(f"/alerts/{alert['id']}/derive", json={"msg_type": "Update"})
    assert second.status_code == 409 and second.get_json()["update_id"] == first.get_json()["id"]
    name, _ = make_user("BE", "communicator")
    page = login(app, name)
    token = form_fields(page.get(f"/alerts/{alert['id']}").get_data(as_text=True))["csrf_token"]
    answer = page.post(f"/alerts/{alert['id']}/derive", data={"msg_type": "Update", "csrf_token": token})
    assert answer.status_code == 302 and answer.location.endswith(f"/alerts/{first.get_json()['id']}")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(Alert.source_alert_id == alert["id"],
                                                         Alert.msg_type == "Update")) == 1


def test_derives_sent_together_make_one_update(api_as, db, app, make_user):
    alert = released(api_as, db)
    _, token = make_user("BE", "communicator")

    def derive():
        return Api(app.test_client(), token).post(f"/alerts/{alert['id']}/derive",
                                                  json={"msg_type": "Update"}).status_code

    statuses = in_parallel(6, derive)
    assert sorted(statuses) == [201] + [409] * 5, statuses
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(Alert.source_alert_id == alert["id"],
                                                         Alert.msg_type == "Update")) == 1


# --- 11. communication tests are throttled per centre ---------------------------------------------------------

def test_a_centre_starts_one_communication_test_per_interval(api_as, db):
    spokes = api_as("BE", "spokesperson")
    first = spokes.post("/communication-tests")
    assert first.status_code == 201, first.get_json()
    again = api_as("BE", "admin").post("/communication-tests")
    assert again.status_code == 429 and again.mimetype == "application/problem+json"
    assert 0 < again.get_json()["retry_after_s"] <= 15 * 60 + 1
    assert api_as("NL", "spokesperson").post("/communication-tests").status_code == 201  # another centre's own
    with db.transaction() as session:
        started = session.get(Alert, first.get_json()["alert_id"])
        started.created_at -= timedelta(minutes=16)
    assert spokes.post("/communication-tests").status_code == 201


def test_communication_tests_started_together_send_one(api_as, db, app, make_user):
    _, token = make_user("BE", "spokesperson")
    statuses = in_parallel(5, lambda: Api(app.test_client(), token).post("/communication-tests").status_code)
    assert sorted(statuses) == [201] + [429] * 4, statuses


# --- 8 and 17. the same rules on the pages as in the API: at most 50 areas, only http(s) web addresses --------

def test_the_edit_page_keeps_the_area_limit_and_saves_nothing(app, make_user):
    name, token = make_user("BE", "communicator")
    alert_id = Api(app.test_client(), token).post("/alerts", json=flood_alert()).get_json()["id"]
    client = login(app, name)
    form = form_fields(client.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    form["areas"] = "\n".join(f"Area {n}" for n in range(MAX_AREAS + 1))
    answer = client.post(f"/alerts/{alert_id}/edit", data=form)
    assert answer.status_code == 422
    assert f"at most {MAX_AREAS} areas" in answer.get_data(as_text=True)
    form["areas"] = "\n".join(f"Area {n}" for n in range(MAX_AREAS))
    assert client.post(f"/alerts/{alert_id}/edit", data=form).status_code == 302  # the limit itself is allowed
    api = Api(app.test_client(), token)
    assert len(api.get(f"/alerts/{alert_id}").get_json()["version"]["areas"]) == MAX_AREAS


@pytest.mark.parametrize("web", [JAVASCRIPT, "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
                                 "//evil.example/x", "https://"])
def test_a_web_address_that_is_not_http_is_refused_by_api_and_pages(app, make_user, web):
    name, token = make_user("BE", "communicator")
    api = Api(app.test_client(), token)
    created = api.post("/alerts", json=flood_alert(web=web))
    assert created.status_code == 422 and refused_field(created.get_json()) == "web", created.get_json()
    alert_id = api.post("/alerts", json=flood_alert(web="https://crisiscenter.be/flood")).get_json()["id"]
    edited = api.patch(f"/alerts/{alert_id}", json={"web": web}, headers={"If-Match": '"v1"'})
    assert edited.status_code == 422, edited.get_json()
    client = login(app, name)
    form = form_fields(client.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    form["web"] = web
    assert client.post(f"/alerts/{alert_id}/edit", data=form).status_code == 422
    assert api.get(f"/alerts/{alert_id}").get_json()["version"]["web"] == "https://crisiscenter.be/flood"


def test_cap_never_carries_a_web_address_stored_before_the_rule():
    content = {**flood_content(), "web": JAVASCRIPT}
    xml = build_cap({"identifier": "BE-1"}, content, sender=SENDER, sent=WINTER, timezone="Europe/Brussels",
                    languages=["nl", "fr"])
    assert b"<web>" not in xml and b"javascript" not in xml
    xml = build_cap({"identifier": "BE-1"}, {**content, "web": "https://crisiscenter.be"}, sender=SENDER,
                    sent=WINTER, timezone="Europe/Brussels", languages=["nl", "fr"])
    assert b"<web>https://crisiscenter.be</web>" in xml


@pytest.mark.parametrize("value, expected", [
    ("https://crisiscenter.be", True), ("HTTP://RIVM.NL/hitte?x=1#a", True), (JAVASCRIPT, False),
    ("JaVaScRiPt:alert(1)", False), ("https:// evil", False), ("https://ok.lu/\n", False), ("ftp://x.de", False),
    ("https://[::1", False), ("mailto:a@b.be", False)])
def test_web_addresses(value, expected):
    assert is_web_address(value) is expected


# --- 4. one CAP Ack does bounded work -------------------------------------------------------------------------

def test_a_cap_ack_repeating_a_reference_is_read_once(world, api_as, monkeypatch):  # noqa: F811
    app, db, fakes, _ = world
    alert = release_alert(world, api_as)
    reference = reference_to(fakes.cap.messages[0])
    parsed = []

    def counting(data, max_bytes=None):
        parsed.append(len(data))
        return parse_cap(data, max_bytes=max_bytes)

    monkeypatch.setattr(exchange, "parse_cap", counting)
    answer = post_cap(api_as("LU", "partner"), cap_ack(" ".join([reference] * 860)))
    assert answer.status_code == 201, answer.get_json()
    assert len(parsed) == 2  # the Ack, and the message it acknowledges: once, not 860 times
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Ack).where(Ack.alert_id == alert["id"])) == 1


def test_a_cap_ack_naming_too_many_alerts_is_refused_whole(world, api_as):  # noqa: F811
    app, db, fakes, _ = world
    release_alert(world, api_as)
    reference = reference_to(fakes.cap.messages[0])
    sender, identifier, _sent = reference.split(",")
    others = [f"{sender},{identifier}-{n},{_sent}" for n in range(exchange.ACK_MAX_REFERENCES)]
    answer = post_cap(api_as("LU", "partner"), cap_ack(" ".join([reference, *others])))
    assert answer.status_code == 422 and answer.get_json()["field"] == "references", answer.get_json()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Ack)) == 0


# --- 6. the partner's page shows what was sent, whatever else the version holds --------------------------------

def test_the_incoming_page_shows_the_languages_sent_when_another_has_a_gap(api_as, db, app, make_user):
    texts = {**SHORT_TEXTS, "lb": {"headline": "Iwwerschwemmung am Limbuerg"}}  # no description: never sent
    alert = released(api_as, db, texts=texts)
    assert api_as("NL", "partner").get(f"/alerts/{alert['id']}").status_code == 200
    name, _ = make_user("NL", "partner")
    page = login(app, name).get(f"/incoming/{alert['identifier']}")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    html = page.get_data(as_text=True)
    assert 'lang="nl"' in html and 'lang="lb"' not in html and "Iwwerschwemmung" not in html


# --- 14. a centre's subscriber counts are its own ---------------------------------------------------------------

def test_a_partner_sees_only_its_own_centres_recipients(api_as, db, app, make_user):
    alert = approved_alert(api_as, status="Actual")
    add_subscribers(db, "BE", 7, place="be-lim")
    with db.transaction() as session:  # BE sends SMS: its review page counts them
        session.scalar(select(Centre).where(Centre.code == "BE")).channels = {"sms": {}}
    channels = {"BE": ["sms"], "NL": ["sms"]}
    body = {"channels": channels, "content_hash": alert["version"]["content_hash"]}
    staff = api_as("NL", "spokesperson").post(f"/alerts/{alert['id']}/release/confirmation", json=body).get_json()
    assert staff["recipients"]["BE"]["sms"] == 7 and "NL" in staff["recipients"]
    partner = api_as("NL", "partner").post(f"/alerts/{alert['id']}/release/confirmation", json=body)
    assert partner.status_code == 200, partner.get_json()
    assert set(partner.get_json()["recipients"]) == {"NL"}
    name, _ = make_user("NL", "partner")
    html = login(app, name).get(f"/alerts/{alert['id']}/review").get_data(as_text=True)
    assert "NL: 0 SMS subscribers" in html and not re.search(r"BE: \d+ SMS", html)
    name, _ = make_user("NL", "spokesperson")
    assert "BE: 7 SMS subscribers" in login(app, name).get(f"/alerts/{alert['id']}/review").get_data(as_text=True)

