"""Bad input gets a clear problem+json 4xx, never a 500, and nothing is half-written."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from alerts.models import Alert, AuditEvent
from devtools.world import flood_alert


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_malformed_json(api_as):
    be = api_as("BE", "communicator")
    response = be.client.post("/api/v1/alerts", data="{not json", content_type="application/json",
                              headers={"Authorization": f"Bearer {be.token}"})
    body = assert_problem(response, 400)
    assert "Invalid JSON" in json.dumps(body)


def test_wrong_types_and_unknown_fields(api_as):
    be = api_as("BE", "communicator")
    body = assert_problem(be.post("/alerts", json=flood_alert(severity=5, areas="Limburg")), 422)
    assert set(body["errors"]) == {"severity", "areas"}
    assert "hacked" in assert_problem(be.post("/alerts", json=flood_alert(hacked=True)), 422)["errors"]
    assert_problem(be.post("/alerts", json=flood_alert(onset="tomorrow")), 422)
    assert_problem(be.post("/alerts", json=flood_alert(onset="2030-01-01T10:00:00")), 422)  # no time zone
    assert_problem(be.post("/alerts", json=[1, 2]), 422)


def test_domain_rules(api_as):
    be = api_as("BE", "communicator")
    assert "Unknown centre: XX" in assert_problem(be.post("/alerts", json=flood_alert(participants=["XX"])),
                                                  422)["detail"]
    assert "hazard" in assert_problem(be.post("/alerts", json=flood_alert(hazard="volcano")), 422)["errors"]
    assert "after onset" in assert_problem(
        be.post("/alerts", json=flood_alert(onset="2030-01-02T10:00:00Z", expires="2030-01-01T10:00:00Z")),
        422)["detail"]
    assert "past" in assert_problem(be.post("/alerts", json=flood_alert(expires="2020-01-01T10:00:00Z",
                                                                         onset=None)), 422)["detail"]
    bad_polygon = [{"description": "x", "polygons": ["50,5 51,5 51,6"]}]
    assert "polygon" in assert_problem(be.post("/alerts", json=flood_alert(areas=bad_polygon)), 422)["detail"]
    assert_problem(be.post("/alerts", json=flood_alert(texts={"xx": {"headline": "?"}})), 422)


def test_body_over_one_mebibyte(api_as):
    be = api_as("BE", "communicator")
    huge = flood_alert(texts={"nl": {"description": "x" * (1024 * 1024 + 10)}})
    assert_problem(be.post("/alerts", json=huge), 413)


def test_bad_if_match_and_unknown_alert(api_as):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    assert_problem(be.patch(f"/alerts/{alert_id}", json={}, headers={"If-Match": "*"}), 422)
    assert_problem(be.patch("/alerts/999999", json={}, headers={"If-Match": '"v1"'}), 404)
    assert_problem(be.get("/alerts/999999"), 404)
    assert_problem(be.get("/nothing-here"), 404)
    assert_problem(be.client.put("/api/v1/alerts", headers={"Authorization": f"Bearer {be.token}"}), 405)


def test_failed_operation_leaves_nothing_behind(api_as, db):
    be = api_as("BE", "communicator")
    with db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    assert_problem(be.post("/alerts", json=flood_alert(participants=["NL", "XX"])), 422)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=15,
)
FIELDS = st.sampled_from(["hazard", "participants", "status", "urgency", "severity", "certainty", "onset",
                          "expires", "web", "areas", "texts", "lead", "summary"])


def test_random_bodies_never_cause_a_server_error(api_as):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=st.dictionaries(FIELDS, JSONISH, max_size=6) | JSONISH)
    def check(body):
        for response in (be.post("/alerts", json=body),
                         be.patch(f"/alerts/{alert_id}", json=body, headers={"If-Match": '"v1"'})):
            assert response.status_code < 500, response.get_data(as_text=True)

    check()


def test_json_nested_beyond_the_parsers_depth_is_a_400_on_every_json_route(api_as):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    body = "[" * 100_000 + "]" * 100_000
    routes = (("post", "/alerts"), ("patch", f"/alerts/{alert_id}"), ("post", f"/alerts/{alert_id}/comments"))
    for method, path in routes:
        response = getattr(be.client, method)("/api/v1" + path, data=body, content_type="application/json",
                                              headers={"Authorization": f"Bearer {be.token}", "If-Match": '"v1"'})
        assert response.status_code == 400, (path, response.status_code)
        assert response.mimetype == "application/problem+json" and "nested too deeply" in response.get_json()["detail"]


def test_a_write_the_database_refuses_as_a_duplicate_is_a_409_and_other_refusals_stay_500(make_app):
    """Two people doing the same thing at the same moment end in a unique violation for the second: a 409
    saying so, nothing written. Any other constraint the database enforces is a bug: still a 500."""
    from sqlalchemy import text

    from web import db_session

    app = make_app()
    app.config["WTF_CSRF_ENABLED"] = False  # these two routes stand in for any verb; CSRF is tested elsewhere

    @app.post("/api/v1/_duplicate")
    def duplicate():
        db_session().execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
        return {}

    @app.post("/api/v1/_missing")
    def missing():
        db_session().execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, NULL)"))
        return {}

    client = app.test_client()
    answer = client.post("/api/v1/_duplicate")
    assert answer.status_code == 409 and answer.content_type == "application/problem+json"
    assert "at the same moment" in answer.get_json()["detail"]
    page = client.post("/api/v1/_duplicate", headers={"Accept": "text/html"})
    assert page.status_code == 409
    assert client.post("/api/v1/_missing").status_code == 500


def test_text_values_that_are_not_strings_are_refused(api_as, db):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    for value in (5, ["x"], True, {"body": 5}, {"body": "Hoog water", "reviewed": "yes"}):
        detail = assert_problem(be.patch(f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": value}}},
                                         headers={"If-Match": '"v1"'}), 422)["detail"]
        assert "A text is a string" in detail
        assert_problem(be.post("/alerts", json=flood_alert(texts={"nl": {"headline": value}})), 422)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        assert session.get(Alert, alert["id"]).current_version == 1


def test_times_far_from_now_are_refused_not_a_server_error(api_as):
    be = api_as("BE", "communicator")
    for body in (flood_alert(onset="0001-01-01T00:00:00+14:00"), flood_alert(expires="9999-12-31T23:00:00-05:00"),
                 flood_alert(onset="1999-12-31T23:59:59+00:00")):
        assert "between the years 2000 and 2099" in assert_problem(be.post("/alerts", json=body), 422)["detail"]


def test_a_nul_character_is_refused_everywhere_with_a_400(api_as, client):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    assert "NUL character" in assert_problem(be.patch(
        f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": "Hoog\u0000water"}}},
        headers={"If-Match": '"v1"'}), 400)["detail"]
    assert_problem(be.post(f"/alerts/{alert['id']}/comments", json={"body": "a\u0000b"}), 400)
    for page in (client.get("/cap/%00.xml"), client.post("/login", data={"username": "be\x00x", "password": "x"})):
        assert page.status_code == 400 and "NUL character" in page.get_data(as_text=True)
    # a literal backslash followed by "u0000" is text like any other
    escaped = be.post(f"/alerts/{alert['id']}/comments", json={"body": "see \\u0000 in the log"})
    assert escaped.status_code == 201, escaped.get_json()


def test_a_confirmation_for_a_centre_not_taking_part_is_refused(api_as):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    answer = api_as("NL", "partner").post(f"/alerts/{alert['id']}/release/confirmation",
                                          json={"content_hash": "a" * 64, "channels": {"XX": ["sms"]}})
    assert answer.status_code in (404, 422)  # a partner does not see a draft; staff get the 422 below
    answer = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release/confirmation",
                                               json={"content_hash": "a" * 64, "channels": {"XX": ["sms"]}})
    assert "do not take part" in assert_problem(answer, 422)["detail"]


def test_an_unpaired_surrogate_is_refused_with_a_400_and_nothing_is_written(api_as, db):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    raw = '{"texts": {"nl": {"headline": "Hoog water \\ud800"}}}'
    answer = be.client.patch(f"/api/v1/alerts/{alert['id']}", data=raw, content_type="application/json",
                             headers={"Authorization": f"Bearer {be.token}", "If-Match": '"v1"'})
    assert "unpaired UTF-16 surrogate" in assert_problem(answer, 400)["detail"]
    assert_problem(be.client.post("/api/v1/alerts", data=raw.replace("}}}", '}}, "hazard": "flood"}'),
                                  content_type="application/json",
                                  headers={"Authorization": f"Bearer {be.token}"}), 400)
    paired = be.patch(f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": "Hoog water \U0001F30A"}}},
                      headers={"If-Match": '"v1"'})
    assert paired.status_code == 200, paired.get_json()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
