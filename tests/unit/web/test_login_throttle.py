"""The login throttle is no lockout anyone can trigger (#2, OWASP ASVS 2.2.1): a browser that logged in before (its
signed device cookie) is counted on its own, so failures from elsewhere never lock the person out of it; untrusted
clients are limited per username and address, per address and per username; the waits grow with the attempts and
lift; an admin of the user's centre unlocks (audited); the user is told of failed attempts since their last login."""
from __future__ import annotations

import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import limits.storage.memory
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

import alerts.login_throttle
from alerts.login_throttle import LoginThrottle
from alerts.models import AuditEvent
from devtools.world import Api
from tests.conftest import PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
USER_ADDRESS = "192.0.2.10"
ATTACKER = "198.51.100.66"
WRONG = "not the password at all"


def login(client, username: str, password: str = PASSWORD, address: str = USER_ADDRESS):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def known_device(app, username: str):
    """A browser that logged in as `username` (it keeps its device cookie), logged out again."""
    browser = app.test_client()
    response = login(browser, username)
    assert response.status_code == 302
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("benelert_device="))
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header and "Max-Age=" in header
    token = CSRF.search(browser.get("/alerts/new").get_data(as_text=True)).group(1)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert browser.get("/alerts").status_code == 302  # logged out: only the device cookie is left
    return browser


def text(response) -> str:
    return response.get_data(as_text=True)


def test_failures_from_elsewhere_never_lock_the_user_out_of_their_known_device(app, make_user):
    username, _ = make_user("NL", "spokesperson")
    device = known_device(app, username)
    attacker = app.test_client()
    # from one address (also the user's own: a shared office network), then from many (a botnet)
    statuses = [login(attacker, username, WRONG, USER_ADDRESS).status_code for _ in range(8)]
    statuses += [login(attacker, username, WRONG, f"203.0.113.{n}").status_code for n in range(1, 31)]
    # every untrusted limit was reached: 20 attempts per username (the user's first login on the device was one)
    assert statuses.count(403) == 19 and set(statuses) == {403, 429}
    new_browser = login(app.test_client(), username, address="192.0.2.99")
    assert new_browser.status_code == 429  # untrusted clients are shut out of this account for now ...
    assert login(device, username, address=USER_ADDRESS).status_code == 302  # ... the user's own device is not
    assert device.get("/alerts").status_code == 200


def test_the_same_address_without_the_device_cookie_is_throttled(app, make_user):
    username, _ = make_user("BE", "spokesperson")
    device = known_device(app, username)
    attacker_name, _ = make_user("BE", "communicator")
    attacker = known_device(app, attacker_name)  # a device cookie of the attacker's own account is no help
    statuses = [login(attacker, username, WRONG, USER_ADDRESS).status_code for _ in range(3)]
    forged = URLSafeTimedSerializer("not the app's secret key", salt="benelert-device").dumps({username: "x" * 22})
    attacker.set_cookie("benelert_device", forged, domain="localhost")  # nor is one signed with another key
    statuses += [login(attacker, username, WRONG, USER_ADDRESS).status_code for _ in range(4)]
    assert statuses == [403] * 5 + [429] * 2
    refused = login(attacker, username, PASSWORD, USER_ADDRESS)  # even the right password, from that client
    assert refused.status_code == 429
    page = text(refused)
    assert "Too many failed logins for this account" in page and "device you usually log in with" in page
    assert "unlock your account" in page and 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert login(device, username, address=USER_ADDRESS).status_code == 302


def test_failures_on_the_known_device_count_against_that_device_only(app, make_user):
    username, _ = make_user("LU", "spokesperson")
    device = known_device(app, username)
    statuses = [login(device, username, WRONG).status_code for _ in range(6)]
    assert statuses == [403] * 5 + [429]
    assert "Too many failed logins on this device" in text(login(device, username))
    assert login(app.test_client(), username, address="192.0.2.200").status_code == 302  # another browser is not


def test_the_per_address_limit_still_holds(make_app, make_user):
    app = make_app(login_attempts_per_ip="3 per 15 minutes")
    names = [make_user("BE", "communicator")[0] for _ in range(5)]
    device = known_device(app, names[4])
    attacker = app.test_client()
    assert [login(attacker, name, WRONG, ATTACKER).status_code for name in names[:3]] == [403] * 3
    spent = login(attacker, names[3], PASSWORD, ATTACKER)
    assert spent.status_code == 429 and "Too many failed logins from your network address" in text(spent)
    assert login(app.test_client(), names[3], PASSWORD, "192.0.2.77").status_code == 302  # another address
    assert login(device, names[4], PASSWORD, ATTACKER).status_code == 302  # a known device, from that address


class Clock:
    def __init__(self):
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch):
    """The throttle's time (memory:// storage and the waits it tells), moved forward by the test."""
    fake = Clock()
    monkeypatch.setattr(limits.storage.memory, "time", SimpleNamespace(time=fake.time))
    monkeypatch.setattr(alerts.login_throttle, "time", SimpleNamespace(time=fake.time))
    return fake


def test_the_wait_grows_with_the_failures_and_lifts(app, make_user, clock):
    username, _ = make_user("NL", "communicator")
    browser = app.test_client()
    assert [login(browser, username, WRONG).status_code for _ in range(6)] == [403] * 5 + [429]
    first = login(browser, username)
    assert first.status_code == 429 and 14 * 60 < int(first.headers["Retry-After"]) <= 15 * 60
    assert "Wait 15 minutes" in text(first) or "wait 15 minutes" in text(first)
    clock.advance(15.5)  # the first lockout lifted
    assert [login(browser, username, WRONG).status_code for _ in range(6)] == [403] * 5 + [429]
    clock.advance(15.5)  # 15 minutes later again: 10 failures within 2 hours, so the wait is longer now
    longer = login(browser, username)
    assert longer.status_code == 429 and int(longer.headers["Retry-After"]) > 60 * 60
    clock.advance(90)  # past 2 hours since the first failure
    assert login(browser, username).status_code == 302


def test_an_admin_of_the_users_centre_unlocks_the_account_and_it_is_audited(app, db, make_user):
    username, _ = make_user("BE", "spokesperson")
    device = known_device(app, username)
    assert [login(device, username, WRONG).status_code for _ in range(6)] == [403] * 5 + [429]  # own device, too
    for n in range(25):  # and every untrusted client, from many addresses
        login(app.test_client(), username, WRONG, f"203.0.113.{n}")
    assert login(app.test_client(), username, address="192.0.2.50").status_code == 429
    client = app.test_client()
    path = f"/users/{username}/unlock"
    refused = {role_centre: Api(client, make_user(*role_centre)[1]).post(path).status_code
               for role_centre in (("BE", "communicator"), ("BE", "spokesperson"), ("LU", "admin"), ("NL", "admin"))}
    assert refused == {("BE", "communicator"): 403, ("BE", "spokesperson"): 403, ("LU", "admin"): 404,
                       ("NL", "admin"): 404}
    answer = Api(client, make_user("LU", "admin")[1]).post(path)
    assert answer.mimetype == "application/problem+json" and answer.get_json()["status"] == 404
    assert login(device, username).status_code == 429  # nothing was unlocked
    _, admin = make_user("BE", "admin")
    assert Api(client, admin).post("/users/nobody-at-all/unlock").status_code == 404
    assert Api(client, admin).post(path).status_code == 204
    assert login(app.test_client(), username, address="192.0.2.50").status_code == 302
    assert login(device, username).status_code == 302
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.unlock")).all()
        assert [(event.actor.startswith("be-admin"), event.detail["username"]) for event in events] == [
            (True, username)]


def test_an_operator_unlocks_from_the_command_line_and_it_is_audited(app, db, make_user):
    username, _ = make_user("DE-NW", "spokesperson")
    for n in range(25):
        login(app.test_client(), username, WRONG, f"203.0.113.{n}")
    assert login(app.test_client(), username, address="192.0.2.50").status_code == 429
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "unlock", "nobody-at-all"])
    assert unknown.exit_code != 0 and "nobody-at-all" in unknown.output
    done = runner.invoke(args=["users", "unlock", username.upper()])
    assert done.exit_code == 0 and f"unlocked {username.upper()}" in done.output, done.output
    assert login(app.test_client(), username, address="192.0.2.50").status_code == 302
    with db.transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.unlock")).all()
        assert [(event.actor, event.detail["username"]) for event in events] == [("cli", username)]


def test_unlock_is_refused_readably_when_the_throttle_cannot_be_reached(make_app, make_user):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(ratelimit_storage=f"redis://127.0.0.1:{port}/0")  # the same database as make_user's
    username, _ = make_user("BE", "communicator")
    _, admin = make_user("BE", "admin")
    answer = Api(app.test_client(), admin).post(f"/users/{username}/unlock")
    assert answer.status_code == 503 and answer.mimetype == "application/problem+json"


def test_the_user_is_told_of_failed_attempts_since_their_last_login(app, make_user):
    username, _ = make_user("NL", "spokesperson")
    quiet, _ = make_user("NL", "spokesperson")
    first = app.test_client()
    assert login(first, quiet).status_code == 302
    assert "failed login attempt" not in text(first.get("/alerts"))  # none: no notice
    attacker = app.test_client()
    for n in range(3):
        login(attacker, username, WRONG, f"203.0.113.{n}")
    browser = app.test_client()
    assert login(browser, username, address="192.0.2.31").status_code == 302
    page = text(browser.get("/alerts"))
    assert "3 failed login attempts on your account since your last login" in page and "role=\"status\"" in page
    assert "failed login attempt" not in text(browser.get("/alerts"))  # told once
    again = app.test_client()
    assert login(again, username, address="192.0.2.32").status_code == 302
    assert "failed login attempt" not in text(again.get("/alerts"))  # none since that login
    login(attacker, username, WRONG, ATTACKER)
    once = app.test_client()
    assert login(once, username, address="192.0.2.33").status_code == 302
    assert "1 failed login attempt on your account since your last login" in text(once.get("/alerts"))


@pytest.mark.parametrize("device", [None, "d" * 22])
def test_attempts_sent_together_cannot_all_pass_one_check(device):
    throttle = LoginThrottle("memory://", "5 per 15 minutes; 10 per 2 hours", "1000 per 15 minutes",
                             "20 per 15 minutes")
    start = threading.Barrier(16)

    def attempt(_):
        start.wait()
        return throttle.attempt("de-nw.spokesperson", ATTACKER, device)

    with ThreadPoolExecutor(16) as pool:
        passed = list(pool.map(attempt, range(16)))
    assert passed.count(True) == 5
