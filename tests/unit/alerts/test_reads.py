"""GET /api/v1/alerts/<id>: one statement per request and a cached answer, never a stale or leaked one."""
from __future__ import annotations

from sqlalchemy import select, text, update

from alerts import accounts
from alerts.models import Alert, ApiToken, User
from devtools.world import Api, flood_alert


def test_an_edit_is_seen_at_once_and_the_etag_follows(api_as):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    first = be.get(f"/alerts/{alert_id}")
    assert first.status_code == 200 and first.headers["ETag"] == '"v1"'
    assert be.get(f"/alerts/{alert_id}").get_json() == first.get_json()  # served from the cache
    edited = be.patch(f"/alerts/{alert_id}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    assert edited.status_code == 200
    again = be.get(f"/alerts/{alert_id}")
    assert again.headers["ETag"] == '"v2"'
    assert again.get_json()["version"]["severity"] == "Extreme"
    assert again.get_json() == edited.get_json()


def test_a_state_change_without_a_new_version_is_seen(api_as, db):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    assert be.get(f"/alerts/{alert_id}").get_json()["state"] == "draft"
    with db.transaction() as session:  # a state change that leaves updated_at alone
        session.execute(update(Alert).where(Alert.id == alert_id).values(state="in_review"))
    assert be.get(f"/alerts/{alert_id}").get_json()["state"] == "in_review"


def test_a_revoked_token_or_deactivated_user_is_refused_even_when_the_answer_is_cached(app, client, make_user, db):
    username, secret = make_user("BE", "communicator")
    be = Api(client, secret)
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    assert be.get(f"/alerts/{alert_id}").status_code == 200
    with db.transaction() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == accounts.token_hash(secret)))
        accounts.revoke_token(session, "test", token.id)
    refused = be.get(f"/alerts/{alert_id}")
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"

    other_name, other = make_user("NL", "communicator")
    nl = Api(client, other)
    assert nl.get(f"/alerts/{alert_id}").status_code == 200
    with db.transaction() as session:
        session.execute(update(User).where(User.username == other_name).values(active=False))
    assert nl.get(f"/alerts/{alert_id}").status_code == 401


def test_a_cached_answer_never_reaches_who_may_not_see_it(api_as, db):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    assert be.get(f"/alerts/{alert_id}").status_code == 200  # now cached
    assert api_as("LU", "communicator").get(f"/alerts/{alert_id}").status_code == 404  # not taking part
    partner = api_as("NL", "partner")
    assert partner.get(f"/alerts/{alert_id}").status_code == 404  # drafts are not shared
    with db.transaction() as session:
        session.execute(update(Alert).where(Alert.id == alert_id).values(state="approved"))
    assert partner.get(f"/alerts/{alert_id}").status_code == 200
    assert api_as("BE", "communicator").get("/alerts/999999").status_code == 404


def test_missing_or_malformed_tokens_get_401(client):
    for header in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer nope"},
                   {"Authorization": "Basic bnl_x"}, {"Authorization": "Bearer bnl_" + "x" * 43}):
        response = client.get("/api/v1/alerts/1", headers=header)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_read_survives_a_connection_the_server_dropped(app, api_as, db):
    be = api_as("BE", "communicator")
    alert_id = be.post("/alerts", json=flood_alert()).get_json()["id"]
    assert be.get(f"/alerts/{alert_id}").status_code == 200
    database = app.extensions["benelert"].db
    if db.dialect != "postgresql":
        assert database.reader is None  # SQLite reads through the ordinary engine
        return
    pid = database.read(lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar())
    with database.engine.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    response = be.get(f"/alerts/{alert_id}")  # the pooled connection is dead: noticed, read again
    assert response.status_code == 200 and response.headers["ETag"] == '"v1"'
    assert database.read(lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar()) != pid
