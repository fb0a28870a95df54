"""A centre's users through the API, the pages and the CLI: permissions, invitations and resets by one-time link,
tokens, the last administrator, and refusals that write nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from alerts.models import ApiToken, AuditEvent, User
from alerts.password_link_model import PasswordLink
from devtools.world import Api
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(?:https?://[^/\s\"]+)?(/set-password/[A-Za-z0-9_-]+)")


def count(db, model, *where) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def logged_in(app, username: str, password: str = PASSWORD):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf(client, "/login")})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def choose_password(app, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post(path, data={"password": password, "confirm": password if confirm is None else confirm,
                                   "csrf_token": token})


# ---- API ---------------------------------------------------------------------------------------------------------

def test_an_admin_lists_their_centre_and_nobody_else_does(api_as, make_user):
    admin = api_as("BE", "admin")
    desk, _ = make_user("BE", "communicator")
    answer = admin.get("/centres/BE/users")
    assert answer.status_code == 200
    users = {u["username"]: u for u in answer.json}
    assert users[desk]["roles"] == ["communicator"] and users[desk]["tokens"] == 1 and users[desk]["active"]
    assert users[desk]["last_login"] is None and users[desk]["has_password"] is True and users[desk]["centre"] == "BE"
    for refused, status in ((admin.get("/centres/NL/users"), 403), (admin.get("/centres/XX/users"), 404),
                            (api_as("BE", "communicator").get("/centres/BE/users"), 403),
                            (api_as("NL", "admin").get(f"/users/{desk}"), 404)):
        assert refused.status_code == status
        assert refused.headers["Content-Type"] == "application/problem+json" and refused.json["detail"]
    network = api_as("LU", "network-admin")
    assert desk in {u["username"] for u in network.get("/centres/BE/users").json}
    assert network.get(f"/users/{desk}").json["username"] == desk


def test_create_with_a_password_or_invite_with_a_link_used_once(app, api_as, db):
    admin = api_as("NL", "admin")
    created = admin.post("/centres/NL/users", json={"username": "nl.robot", "roles": ["partner"],
                                                    "password": "a long enough password"})
    assert created.status_code == 201, created.json
    assert created.json["password_link"] is None and created.json["display_name"] == "nl.robot"
    invited = admin.post("/centres/NL/users", json={"username": "nl.desk", "display_name": "Desk NL",
                                                    "roles": ["communicator", "spokesperson"]})
    assert invited.status_code == 201, invited.json
    link = invited.json["password_link"]
    assert link["purpose"] == "invite" and invited.json["has_password"] is False
    path = LINK.search(link["url"]).group(1)
    with db.transaction() as session:
        events = [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "user.invite"))]
    assert len(events) == 1 and path.rsplit("/", 1)[1] not in str(events)
    assert choose_password(app, path, confirm="something else entirely").status_code == 400  # differs: not set
    done = choose_password(app, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    logged_in(app, "nl.desk", NEW_PASSWORD)
    again = app.test_client().get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    unknown = app.test_client().get("/set-password/nothing-we-ever-made")
    assert unknown.status_code == 404 and "not known" in unknown.get_data(as_text=True)
    assert admin.get("/users/nl.desk").json["has_password"] is True


@pytest.mark.parametrize("body,status,needle", [
    ({"username": "be.new", "roles": ["chief"]}, 422, "roles"),
    ({"username": "be.new", "roles": []}, 422, "roles"),
    ({"username": "Be New", "roles": ["partner"]}, 422, "username"),
    ({"username": "be.new", "roles": ["partner"], "password": "short"}, 422, "password"),
    ({"username": "taken", "roles": ["partner"]}, 409, "taken"),
    ({"username": "be.new", "roles": ["network-admin"]}, 403, "network administrator"),
])
def test_bad_input_is_a_clear_4xx_and_nothing_is_written(api_as, db, make_user, body, status, needle):
    make_user("BE", "partner", name="taken")
    admin = api_as("BE", "admin")
    before = count(db, User), count(db, AuditEvent), count(db, PasswordLink)
    answer = admin.post("/centres/BE/users", json=body)
    assert answer.status_code == status, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert needle in str(answer.json)
    assert (count(db, User), count(db, AuditEvent), count(db, PasswordLink)) == before


def test_roles_only_a_network_admin_grants_network_admin_and_the_last_admin_stays(api_as, make_user, db):
    admin = api_as("BE", "admin")
    me = admin.get("/me").json["username"]
    desk, _ = make_user("BE", "communicator")
    refused = admin.patch(f"/users/{desk}", json={"roles": ["communicator", "network-admin"]})
    assert refused.status_code == 403
    network = api_as("NL", "network-admin")
    granted = network.patch(f"/users/{desk}", json={"roles": ["communicator", "network-admin"]})
    assert granted.status_code == 200 and granted.json["roles"] == ["communicator", "network-admin"]
    own = admin.patch(f"/users/{me}", json={"roles": ["communicator"]})
    assert own.status_code == 409 and "own administrator role" in own.json["detail"]
    self_off = admin.patch(f"/users/{me}", json={"active": False})
    assert self_off.status_code == 409 and "deactivate yourself" in self_off.json["detail"]
    last = network.patch(f"/users/{me}", json={"active": False})
    assert last.status_code == 409 and "last active administrator of BE" in last.json["detail"]
    assert admin.get(f"/users/{me}").json["active"] is True
    renamed = admin.patch(f"/users/{me}", json={"display_name": "Admin BE"})
    assert renamed.status_code == 200 and renamed.json["display_name"] == "Admin BE"
    assert admin.patch(f"/users/{me}", json={"roles": ["admin", "chief"]}).status_code == 422


def test_a_reset_link_ends_the_old_password_and_the_sessions(app, api_as, make_user):
    admin = api_as("DE-NW", "admin")
    desk, _ = make_user("DE-NW", "spokesperson")
    browser = logged_in(app, desk)
    assert browser.get("/alerts").status_code == 200
    answer = admin.post(f"/users/{desk}/password-link")
    assert answer.status_code == 201 and answer.json["purpose"] == "reset"
    assert answer.headers["Cache-Control"] == "no-store" and set(answer.json) == {"url", "purpose", "expires_at"}
    assert browser.get("/alerts").status_code == 302  # back to the login page
    login = app.test_client()
    refused = login.post("/login", data={"username": desk, "password": PASSWORD, "csrf_token": csrf(login, "/login")})
    assert refused.status_code == 403
    assert choose_password(app, LINK.search(answer.json["url"]).group(1)).status_code == 302
    logged_in(app, desk, NEW_PASSWORD)
    assert api_as("BE", "admin").post(f"/users/{desk}/password-link").status_code == 404


def test_tokens_are_listed_without_secrets_and_a_revoked_one_is_refused(app, api_as, make_user, db):
    admin = api_as("BE", "admin")
    desk, secret = make_user("BE", "communicator")
    answer = admin.get(f"/users/{desk}/tokens")
    assert answer.status_code == 200
    assert [set(t) for t in answer.json] == [{"id", "name", "prefix", "created_at", "expires_at", "revoked_at"}]
    assert secret not in answer.get_data(as_text=True) and secret.startswith(answer.json[0]["prefix"])
    token_id = answer.json[0]["id"]
    assert Api(app.test_client(), secret).get("/me").status_code == 200
    other, _ = make_user("BE", "partner")
    assert admin.delete(f"/users/{other}/tokens/{token_id}").status_code == 404  # not that user's token
    assert api_as("NL", "admin").delete(f"/users/{desk}/tokens/{token_id}").status_code == 404
    assert admin.delete(f"/users/{desk}/tokens/{token_id}").status_code == 204
    assert Api(app.test_client(), secret).get("/me").status_code == 401
    assert admin.get(f"/users/{desk}/tokens").json[0]["revoked_at"] is not None
    assert count(db, AuditEvent, AuditEvent.action == "token.revoke") == 1


def test_deactivate_and_reactivate_through_the_api(app, api_as, make_user, db):
    admin = api_as("LU", "admin")
    desk, secret = make_user("LU", "communicator")
    browser = logged_in(app, desk)
    off = admin.patch(f"/users/{desk}", json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False and off.json["tokens"] == 0
    assert browser.get("/alerts").status_code == 302
    assert Api(app.test_client(), secret).get("/me").status_code == 401
    assert admin.post(f"/users/{desk}/password-link").status_code == 409
    on = admin.patch(f"/users/{desk}", json={"active": True})
    assert on.status_code == 200 and on.json["active"] is True
    logged_in(app, desk)
    assert Api(app.test_client(), secret).get("/me").status_code == 401  # tokens stay revoked
    assert count(db, User, User.username == desk) == 1


def test_the_existing_account_routes_still_work(app, api_as):
    admin = api_as("BE", "admin")
    assert admin.get("/me").status_code == 200 and admin.get("/tokens").status_code == 200
    assert "/api/v1/users/{username}/tokens/{token_id}" in app.test_client().get("/api/v1/openapi.json").json["paths"]


# ---- pages -------------------------------------------------------------------------------------------------------

def test_the_users_page_invites_and_shows_the_link_once(app, make_user, db):
    admin, _ = make_user("BE", "admin")
    browser = logged_in(app, admin)
    page = browser.get("/users")
    assert page.status_code == 200 and admin in page.get_data(as_text=True)
    assert 'href="/users"' in browser.get("/alerts").get_data(as_text=True)  # in the navigation
    answer = browser.post("/users", data={"centre": "BE", "username": "be.desk", "display_name": "Desk BE",
                                          "roles": ["communicator", "spokesperson"],
                                          "csrf_token": csrf(browser, "/users")})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    path = LINK.search(answer.get_data(as_text=True)).group(1)
    assert path not in browser.get("/users/be.desk").get_data(as_text=True)  # shown once
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == "be.desk"))
        assert user.roles == {"communicator", "spokesperson"} and user.password_hash is None
    assert choose_password(app, path).status_code == 302
    logged_in(app, "be.desk", NEW_PASSWORD)
    refused = browser.post("/users", data={"centre": "BE", "username": "be.desk", "roles": ["partner"],
                                           "csrf_token": csrf(browser, "/users")}, follow_redirects=True)
    assert refused.status_code == 200 and "is taken" in refused.get_data(as_text=True)
    assert browser.post("/users", data={"centre": "BE", "username": "be.x", "roles": ["partner"]}).status_code == 400
    elsewhere = browser.post("/users", data={"centre": "NL", "username": "be.x", "roles": ["partner"],
                                             "csrf_token": csrf(browser, "/users")}, follow_redirects=True)
    assert elsewhere.status_code == 200 and "Only an administrator of this centre" in elsewhere.get_data(as_text=True)
    assert count(db, User, User.username == "be.x") == 0
    assert 'value="network-admin"' not in page.get_data(as_text=True)  # not offered to a centre's admin


def test_pages_for_roles_deactivation_reset_and_tokens(app, make_user, db):
    admin, _ = make_user("BE", "admin")
    desk, secret = make_user("BE", "communicator")
    browser = logged_in(app, admin)
    detail = f"/users/{desk}"
    token = csrf(browser, detail)
    saved = browser.post(detail, data={"display_name": "Desk", "roles": ["communicator", "spokesperson"],
                                       "csrf_token": token}, follow_redirects=True)
    assert saved.status_code == 200 and "saved" in saved.get_data(as_text=True)
    with db.transaction() as session:
        token_id = session.scalar(select(ApiToken.id).join(User).where(User.username == desk))
        assert session.scalar(select(User).where(User.username == desk)).roles == {"communicator", "spokesperson"}
    assert browser.post(f"{detail}/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 302
    assert Api(app.test_client(), secret).get("/me").status_code == 401
    reset = browser.post(f"{detail}/password-link", data={"csrf_token": token})
    assert reset.status_code == 200 and LINK.search(reset.get_data(as_text=True))
    off = browser.post(f"{detail}/active", data={"active": "0", "csrf_token": token}, follow_redirects=True)
    assert "is deactivated" in off.get_data(as_text=True)
    self_off = browser.post(f"/users/{admin}/active", data={"active": "0", "csrf_token": token},
                            follow_redirects=True)
    assert "deactivate yourself" in self_off.get_data(as_text=True)
    browser.post(f"{detail}/active", data={"active": "1", "csrf_token": token})
    with db.transaction() as session:
        states = dict(session.execute(select(User.username, User.active).where(User.username.in_((admin, desk)))).all())
    assert states == {admin: True, desk: True}


def test_pages_refuse_other_centres_and_other_roles(app, make_user):
    nl_desk, _ = make_user("NL", "communicator")
    be_admin = logged_in(app, make_user("BE", "admin")[0])
    assert be_admin.get(f"/users/{nl_desk}").status_code == 404
    assert be_admin.get("/users?centre=NL").status_code == 403
    communicator = logged_in(app, make_user("BE", "communicator")[0])
    assert communicator.get("/users").status_code == 403
    assert 'href="/users"' not in communicator.get("/alerts").get_data(as_text=True)


def test_an_expired_link_is_a_readable_410(app, api_as, db):
    admin = api_as("BE", "admin")
    path = LINK.search(admin.post("/centres/BE/users", json={"username": "be.slow", "roles": ["partner"]})
                       .json["password_link"]["url"]).group(1)
    with db.transaction() as session:
        link = session.scalar(select(PasswordLink))
        link.expires_at = link.created_at
    answer = app.test_client().get(path, headers={"Accept-Language": "nl"})
    assert answer.status_code == 410 and 'lang="nl"' in answer.get_data(as_text=True)
    client = app.test_client()
    sent = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                   "csrf_token": csrf(client, "/login")})
    assert sent.status_code == 410 and "expired" in sent.get_data(as_text=True)
    with db.transaction() as session:
        assert session.scalar(select(User.password_hash).where(User.username == "be.slow")) is None
    forged = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert forged.status_code == 400  # no CSRF token: refused before the link is even looked at


# ---- CLI ---------------------------------------------------------------------------------------------------------

def test_cli_invites_resets_changes_roles_and_reactivates(app, db):
    runner = app.test_cli_runner()
    invited = runner.invoke(args=["users", "invite", "be.first", "--centre", "BE", "--role", "admin"])
    assert invited.exit_code == 0, invited.output
    assert choose_password(app, LINK.search(invited.output).group(1)).status_code == 302
    logged_in(app, "be.first", NEW_PASSWORD)
    network = runner.invoke(args=["users", "create", "eu.network", "--centre", "BE", "--role", "network-admin",
                                  "--password-stdin"], input="a network admin password\n")
    assert network.exit_code == 0, network.output
    roles = runner.invoke(args=["users", "roles", "be.first", "--role", "admin", "--role", "spokesperson"])
    assert roles.exit_code == 0 and "admin, spokesperson" in roles.output
    reset = runner.invoke(args=["users", "reset-password", "be.first"])
    assert reset.exit_code == 0 and "reset link" in reset.output
    assert choose_password(app, LINK.search(reset.output).group(1), "another new passphrase").status_code == 302
    off = runner.invoke(args=["users", "deactivate", "be.first"])
    assert off.exit_code == 0 and "no active administrator" in off.output
    assert runner.invoke(args=["users", "reactivate", "be.first"]).exit_code == 0
    logged_in(app, "be.first", "another new passphrase")
    listed = runner.invoke(args=["users", "list", "--centre", "BE"])
    assert "be.first\tBE\tadmin,spokesperson" in listed.output
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")
                                       .order_by(AuditEvent.seq)))
    assert actions == ["user.create", "user.invite", "user.create", "user.roles", "user.reset", "user.deactivate",
                       "user.reactivate"]


@pytest.mark.parametrize("args,needle", [
    (["users", "invite", "be.x", "--centre", "XX", "--role", "admin"], "Unknown centre"),
    (["users", "invite", "be.x", "--centre", "BE", "--role", "chief"], "Invalid value"),
    (["users", "invite", "taken", "--centre", "BE", "--role", "admin"], "is taken"),
    (["users", "roles", "nobody", "--role", "admin"], "No user"),
    (["users", "reset-password", "nobody"], "No user"),
    (["users", "reactivate", "nobody"], "No user"),
])
def test_cli_refusals_exit_2_and_write_nothing(app, db, make_user, args, needle):
    make_user("BE", "partner", name="taken")
    before = count(db, User), count(db, AuditEvent)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2 and needle in result.output
    assert (count(db, User), count(db, AuditEvent)) == before
