"""A centre's users run by its admin (alerts.user_admin) and one-time password links (alerts.password_links):
who may do what, the last administrator kept, deactivation ending every way in, links used once within 72 hours."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerts import accounts, password_links, user_admin
from alerts.errors import Conflict, Forbidden, InvalidInput, NotFound
from alerts.models import ApiToken, AuditEvent, User, utcnow
from alerts.password_link_model import PasswordLink
from tests.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def actor(session, username: str) -> User:
    return accounts.find_user(session, username)


def log_in(app, username: str, password: str = PASSWORD) -> str:
    services = app.extensions["benelert"]
    with services.db.transaction() as session:
        return accounts.login(session, services.throttle, username=username, password=password, address="192.0.2.1",
                              lifetime=timedelta(hours=1)).session_token


def count(db, model, *where) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_list_shows_roles_state_last_login_and_usable_tokens(app, db, make_user):
    admin, _ = make_user("BE", "admin")
    desk, _ = make_user("BE", "communicator", "spokesperson")
    make_user("NL", "communicator")
    log_in(app, desk)
    with db.transaction() as session:
        user = actor(session, desk)
        accounts.create_token(session, "test", user, "expired", utcnow() - timedelta(minutes=1))
        revoked, _secret = accounts.create_token(session, "test", user, "revoked")
        accounts.revoke_token(session, "test", revoked.id)
        entries = {e.user.username: e for e in user_admin.centre_users(session, actor(session, admin), "BE")}
    assert set(entries) == {admin, desk}  # only BE
    assert entries[desk].tokens == 1  # the fixture's; not the expired one nor the revoked one
    assert entries[desk].last_login is not None and entries[admin].last_login is None
    assert entries[desk].user.roles == {"communicator", "spokesperson"} and entries[desk].user.active


@pytest.mark.parametrize("roles", [("communicator",), ("spokesperson",), ("partner",)])
def test_only_administrators_manage_users(db, make_user, roles):
    someone, _ = make_user("BE", *roles)
    other, _ = make_user("BE", "communicator")
    with db.transaction() as session:
        me = actor(session, someone)
        with pytest.raises(Forbidden):
            user_admin.centre_users(session, me, "BE")
        with pytest.raises(Forbidden):
            password_links.invite(session, me, centre_code="BE", username="be.new", display_name="", roles=["partner"])
        with pytest.raises(NotFound):
            user_admin.deactivate(session, me, other)
    assert count(db, User, User.username == "be.new") == 0


def test_an_admin_manages_their_own_centre_only_and_a_network_admin_every_centre(db, make_user):
    be_admin, _ = make_user("BE", "admin")
    network, _ = make_user("LU", "network-admin")
    nl_desk, _ = make_user("NL", "communicator")
    with db.transaction() as session:
        with pytest.raises(Forbidden):
            user_admin.centre_users(session, actor(session, be_admin), "NL")
        with pytest.raises(NotFound):  # another centre's user does not even exist for them
            user_admin.get_user(session, actor(session, be_admin), nl_desk)
        with pytest.raises(NotFound):
            password_links.reset(session, actor(session, be_admin), nl_desk)
        with pytest.raises(NotFound):
            user_admin.centre_users(session, actor(session, network), "XX")
        assert [e.user.username for e in user_admin.centre_users(session, actor(session, network), "NL")] == [nl_desk]
        user_admin.set_roles(session, actor(session, network), nl_desk, ["communicator", "admin"])
    with db.transaction() as session:
        assert actor(session, nl_desk).roles == {"communicator", "admin"}
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles"))
        assert event.actor == network and event.detail["to"] == ["admin", "communicator"]


def test_only_a_network_admin_grants_the_network_admin_role_or_touches_one(db, make_user):
    admin, _ = make_user("BE", "admin")
    network, _ = make_user("BE", "network-admin")
    make_user("NL", "network-admin")
    desk, _ = make_user("BE", "communicator")
    with db.transaction() as session:
        me = actor(session, admin)
        with pytest.raises(Forbidden):
            user_admin.create_user(session, me, centre_code="BE", username="be.boss", display_name="",
                                   roles=["network-admin"], password=None)
        with pytest.raises(Forbidden):
            user_admin.set_roles(session, me, desk, ["communicator", "network-admin"])
        with pytest.raises(Forbidden):  # a reset would hand the admin a network administrator's account
            password_links.reset(session, me, network)
        with pytest.raises(Forbidden):
            user_admin.deactivate(session, me, network)
    with db.transaction() as session:
        user_admin.set_roles(session, actor(session, network), desk, ["communicator", "network-admin"])
        assert actor(session, desk).has_role("network-admin")
        user_admin.set_roles(session, actor(session, network), desk, ["communicator"])
    assert count(db, User, User.username == "be.boss") == 0


def test_nobody_removes_their_own_admin_role_and_a_centre_keeps_its_last_admin(db, make_user):
    first, _ = make_user("BE", "admin")
    network, _ = make_user("NL", "network-admin")
    with db.transaction() as session:
        me = actor(session, first)
        with pytest.raises(Conflict, match="own administrator role"):
            user_admin.set_roles(session, me, first, ["communicator"])
        with pytest.raises(Conflict, match="deactivate yourself"):
            user_admin.deactivate(session, me, first)
        with pytest.raises(Conflict, match="last active administrator of BE"):
            user_admin.deactivate(session, actor(session, network), first)
        with pytest.raises(Conflict, match="last active administrator of BE"):
            user_admin.set_roles(session, actor(session, network), first, ["spokesperson"])
        with pytest.raises(Conflict, match="own administrator role"):
            user_admin.set_roles(session, actor(session, network), network, ["communicator"])
    second, _ = make_user("BE", "admin")
    with db.transaction() as session:
        user_admin.deactivate(session, actor(session, second), first)  # two admins: one may go
        assert not actor(session, first).active
        with pytest.raises(Conflict):
            user_admin.set_roles(session, actor(session, network), second, ["communicator"])
    with db.transaction() as session:
        user = actor(session, first)
        assert user.roles == {"admin"}  # nothing of the refused changes was kept


def test_deactivation_ends_sessions_tokens_and_links_and_reactivation_brings_back_the_password(app, db, make_user):
    admin, _ = make_user("BE", "admin")
    desk, secret = make_user("BE", "communicator")
    session_token = log_in(app, desk)
    with db.transaction() as session:
        pending = password_links.invite(session, actor(session, admin), centre_code="BE", username="be.pending",
                                        display_name="", roles=["partner"]).secret
    with db.transaction() as session:
        user_admin.deactivate(session, actor(session, admin), desk)
        user_admin.deactivate(session, actor(session, admin), "be.pending")
    with db.transaction() as session:
        assert accounts.user_for_session(session, session_token) is None
        assert accounts.user_for_token(session, secret) is None
        assert session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) == 1
        with pytest.raises(password_links.LinkGone):
            password_links.find(session, pending)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivate"))
        assert event.detail == {"username": desk, "sessions": 1, "tokens": 1}
        assert actor(session, desk).active is False  # the row and its history stay
    with pytest.raises(accounts.Forbidden):
        log_in(app, desk)
    with db.transaction() as session:
        user_admin.reactivate(session, actor(session, admin), desk)
    log_in(app, desk)
    with db.transaction() as session:
        assert accounts.user_for_token(session, secret) is None  # revoked tokens stay revoked
        assert [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("user.%activate")))
                ] == ["user.deactivate", "user.deactivate", "user.reactivate"]


def test_an_invitation_link_works_once(app, db, make_user):
    admin, _ = make_user("NL", "admin")
    with db.transaction() as session:
        issued = password_links.invite(session, actor(session, admin), centre_code="NL", username=" NL.Desk ",
                                       display_name="Desk NL", roles=["communicator"])
        secret = issued.secret
        assert issued.link.purpose == "invite" and issued.user.password_hash is None
        assert issued.link.expires_at - utcnow() > timedelta(hours=71)
    with pytest.raises(accounts.Forbidden):
        log_in(app, "nl.desk", "")
    with db.transaction() as session:
        with pytest.raises(InvalidInput):
            password_links.set_password(session, secret, "short")
    with db.transaction() as session:
        assert password_links.find(session, secret).user.username == "nl.desk"  # a refused password spends nothing
        password_links.set_password(session, secret, NEW_PASSWORD)
    log_in(app, "nl.desk", NEW_PASSWORD)
    with db.transaction() as session, pytest.raises(password_links.LinkGone):
        password_links.set_password(session, secret, "yet another passphrase")
    with db.transaction() as session, pytest.raises(NotFound):
        password_links.find(session, "not-a-link-we-made")
    with db.transaction() as session:
        stored = session.scalar(select(PasswordLink))
        assert stored.token_hash == accounts.token_hash(secret) and secret not in json.dumps(
            [e.detail for e in session.scalars(select(AuditEvent))])


def test_an_expired_or_replaced_link_is_gone(db, make_user):
    admin, _ = make_user("BE", "admin")
    with db.transaction() as session:
        first = password_links.invite(session, actor(session, admin), centre_code="BE", username="be.late",
                                      display_name="", roles=["partner"]).secret
    with db.transaction() as session:
        second = password_links.reset(session, actor(session, admin), "be.late")
        assert second.link.purpose == "invite"  # never had a password: a new invitation
        with pytest.raises(password_links.LinkGone, match="newer one"):
            password_links.find(session, first)
        second.link.expires_at = utcnow() - timedelta(seconds=1)
    with db.transaction() as session, pytest.raises(password_links.LinkGone, match="expired"):
        password_links.set_password(session, second.secret, NEW_PASSWORD)
    with db.transaction() as session:
        assert actor(session, "be.late").password_hash is None


def test_a_reset_ends_the_old_password_and_the_sessions_at_once(app, db, make_user):
    admin, _ = make_user("DE-NW", "admin")
    desk, token = make_user("DE-NW", "spokesperson")
    session_token = log_in(app, desk)
    with db.transaction() as session:
        issued = password_links.reset(session, actor(session, admin), desk)
        assert issued.link.purpose == "reset"
    with db.transaction() as session:
        assert accounts.user_for_session(session, session_token) is None
        assert accounts.user_for_token(session, token).username == desk  # API tokens are revoked one by one
    with pytest.raises(accounts.Forbidden):
        log_in(app, desk, PASSWORD)
    with db.transaction() as session:
        password_links.set_password(session, issued.secret, NEW_PASSWORD)
    log_in(app, desk, NEW_PASSWORD)
    with db.transaction() as session:
        details = json.dumps([e.detail for e in session.scalars(select(AuditEvent))])
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert issued.secret not in details and NEW_PASSWORD not in details and PASSWORD not in details
    assert "user.reset" in actions and "user.password_set" in actions


def test_a_deactivated_user_gets_no_link(db, make_user):
    admin, _ = make_user("BE", "admin")
    desk, _ = make_user("BE", "communicator")
    with db.transaction() as session:
        user_admin.deactivate(session, actor(session, admin), desk)
    with db.transaction() as session, pytest.raises(Conflict, match="reactivate"):
        password_links.reset(session, actor(session, admin), desk)
    assert count(db, PasswordLink) == 0


def test_tokens_are_listed_and_revoked_for_their_own_user_only(db, make_user):
    admin, _ = make_user("BE", "admin")
    desk, secret = make_user("BE", "communicator")
    other, _ = make_user("BE", "partner")
    with db.transaction() as session:
        tokens = user_admin.tokens_of(session, actor(session, admin), desk)
        assert [t.name for t in tokens] == ["tests"] and secret.startswith(tokens[0].prefix)
        with pytest.raises(NotFound):  # the token of another user, named under this one
            user_admin.revoke_token(session, actor(session, admin), other, tokens[0].id)
        user_admin.revoke_token(session, actor(session, admin), desk, tokens[0].id)
    with db.transaction() as session:
        assert accounts.user_for_token(session, secret) is None
        assert user_admin.summary(session, actor(session, desk)).tokens == 0


@pytest.mark.parametrize("change,error", [
    ({"roles": ["chief"]}, InvalidInput),
    ({"roles": []}, InvalidInput),
    ({"username": "Be Desk!"}, InvalidInput),
    ({"username": "x" * 81}, InvalidInput),
    ({"display_name": "n" * 121}, InvalidInput),
    ({"centre_code": "XX"}, NotFound),
    ({"username": "taken"}, Conflict),
])
def test_bad_users_are_refused_and_nothing_is_written(db, make_user, change, error):
    admin, _ = make_user("BE", "network-admin")
    make_user("BE", "partner", name="taken")
    values = {"centre_code": "BE", "username": "be.new", "display_name": "New", "roles": ["communicator"], **change}
    before = count(db, User), count(db, AuditEvent)
    with db.transaction() as session, pytest.raises(error):
        password_links.invite(session, actor(session, admin), **values)
    assert (count(db, User), count(db, AuditEvent)) == before
    assert count(db, PasswordLink) == 0


def test_update_user_changes_name_roles_and_state_in_one_go(db, make_user):
    admin, _ = make_user("LU", "admin")
    desk, _ = make_user("LU", "communicator")
    with db.transaction() as session:
        user_admin.update_user(session, actor(session, admin), desk, {"display_name": " Desk LU ",
                                                                      "roles": ["spokesperson"], "active": False})
    with db.transaction() as session:
        user = actor(session, desk)
        assert (user.display_name, user.roles, user.active) == ("Desk LU", {"spokesperson"}, False)
        with pytest.raises(InvalidInput):
            user_admin.update_user(session, actor(session, admin), desk, {"active": "yes"})
        with pytest.raises(InvalidInput):
            user_admin.update_user(session, actor(session, admin), desk, {"password": "x" * 20})
