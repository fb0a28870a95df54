"""Password login, sessions, CSRF, throttling and personal API tokens."""
from __future__ import annotations

import re

from sqlalchemy import select

from alerts.models import ApiToken, User, UserSession
from devtools.world import Api, flood_alert
from tests.conftest import PASSWORD


def csrf_token(client, path="/login"):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def session_cookie(client):
    cookie = client.get_cookie("benelert_session")
    return cookie.value if cookie else None


def test_login_rotates_the_session_and_sets_safe_cookie_flags(app, client, make_user):
    username, _ = make_user("BE", "communicator")
    token = csrf_token(client)
    before = session_cookie(client)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    after = session_cookie(client)
    assert after and after != before
    # the pre-login CSRF token belonged to the old session: a fresh one is issued
    assert csrf_token(client, "/alerts/new") != token
    assert client.get("/alerts").status_code == 200


def test_session_fixation_a_planted_cookie_does_not_survive_login(app, make_user):
    username, _ = make_user("BE", "communicator")
    attacker = app.test_client()
    csrf_token(attacker)
    planted = session_cookie(attacker)
    victim = app.test_client()
    victim.set_cookie("benelert_session", planted)
    token = csrf_token(victim)
    victim.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert session_cookie(victim) != planted
    attacker.set_cookie("benelert_session", planted)
    assert attacker.get("/alerts").status_code == 302  # still logged out


def test_wrong_password_is_refused_and_audited(app, client, db, make_user):
    username, _ = make_user("NL", "communicator")
    response = client.post("/login", data={"username": username, "password": "wrong password!",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 403
    assert "Unknown username or wrong password" in response.get_data(as_text=True)
    with db.transaction() as session:
        from alerts.models import AuditEvent

        actions = session.scalars(select(AuditEvent.action)).all()
    assert "login.failed" in actions


def test_form_post_without_csrf_token_is_refused(app, client, make_user):
    username, _ = make_user("BE", "communicator")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert client.post("/alerts/new", data={"hazard": "flood"}).status_code == 400
    assert client.post("/logout").status_code == 400


def test_login_is_throttled_after_repeated_failures(app, client, make_user):
    username, _ = make_user("LU", "communicator")
    for _ in range(5):
        token = csrf_token(client)
        assert client.post("/login", data={"username": username, "password": "nope nope nope",
                                           "csrf_token": token}).status_code == 403
    token = csrf_token(client)
    blocked = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.get_data(as_text=True)


def test_logout_ends_the_server_side_session(app, client, db, make_user):
    username, _ = make_user("BE", "communicator")
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    stolen = session_cookie(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/alerts/new")})
    replay = app.test_client()
    replay.set_cookie("benelert_session", stolen)
    assert replay.get("/alerts").status_code == 302
    with db.transaction() as session:
        assert session.scalars(select(UserSession.revoked_at)).one() is not None


def test_tokens_are_stored_hashed_and_revocable(app, client, db, make_user):
    username, secret = make_user("BE", "communicator")
    api = Api(client, secret)
    assert api.get("/me").get_json()["username"] == username
    with db.transaction() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert secret not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
        token_id = stored.id
    assert [t["id"] for t in api.get("/tokens").get_json()] == [token_id]
    assert api.delete(f"/tokens/{token_id}").status_code == 204
    response = api.get("/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_api_refuses_session_cookies_and_bad_tokens(app, client, make_user):
    username, _ = make_user("BE", "communicator")
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert client.post("/api/v1/alerts", json=flood_alert()).status_code == 401  # cookie is not enough
    assert Api(client, "bnl_not-a-real-token").get("/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401


def test_cli_creates_users_and_tokens(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "nl.desk", "--centre", "NL", "--role", "communicator",
                                 "--role", "spokesperson"], input="a very long password\na very long password\n")
    assert result.exit_code == 0, result.output
    assert "a very long password" not in result.output  # asked for twice, never echoed
    # never on the command line, where ps and shell histories would keep it
    given = runner.invoke(args=["users", "create", "x", "--centre", "NL", "--role", "admin", "--password", "p" * 12])
    assert given.exit_code == 2 and "No such option" in given.output
    result = runner.invoke(args=["users", "token", "nl.desk", "--name", "robot"])
    assert result.exit_code == 0
    secret = result.output.strip().split(": ")[1]
    assert Api(app.test_client(), secret).get("/me").get_json()["roles"] == ["communicator", "spokesperson"]
    token_id = result.output.split()[1]
    assert runner.invoke(args=["users", "revoke-token", token_id]).exit_code == 0
    assert Api(app.test_client(), secret).get("/me").status_code == 401
    bad = runner.invoke(args=["users", "create", "x", "--centre", "XX", "--role", "admin", "--password-stdin"],
                        input="p" * 12 + "\n")
    assert bad.exit_code == 2 and "Unknown centre" in bad.output
    scripted = runner.invoke(args=["users", "create", "nl.robot", "--centre", "NL", "--role", "partner",
                                   "--password-stdin"], input="another long password\n")
    assert scripted.exit_code == 0, scripted.output
    with db.transaction() as session:
        assert session.scalar(select(User).where(User.username == "nl.desk")).password_hash.startswith("$argon2")


def failed_login(client, username, address):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": "nope nope nope", "csrf_token": token},
                       headers={"X-Forwarded-For": address}).status_code


def test_behind_a_proxy_the_address_limit_counts_each_client_address(make_app, make_user):
    proxied = make_app(proxy_hops=1, login_attempts_per_ip="3 per 15 minutes").test_client()
    names = [make_user("BE", "communicator")[0] for _ in range(5)]
    assert [failed_login(proxied, name, "203.0.113.7") for name in names[:3]] == [403, 403, 403]
    assert failed_login(proxied, names[3], "203.0.113.7") == 429  # that address is spent
    assert failed_login(proxied, names[4], "198.51.100.2") == 403  # another client is not locked out


def test_without_proxy_hops_a_forwarded_address_is_not_believed(make_app, make_user):
    direct = make_app(login_attempts_per_ip="3 per 15 minutes").test_client()
    names = [make_user("BE", "communicator")[0] for _ in range(4)]
    statuses = [failed_login(direct, name, f"203.0.113.{index}") for index, name in enumerate(names)]
    assert statuses == [403, 403, 403, 429]  # a client cannot dodge the limit by inventing addresses
