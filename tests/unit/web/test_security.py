"""Security properties checked end to end: login throttling shared by real gunicorn workers through Redis
(and refused, not skipped, when Redis is down), production settings, CSRF on every form route, cookie
flags, security headers on every kind of response, and no secret in any log line."""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import redis
import requests
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from alerts import accounts
from alerts.models import AuditEvent, UserSession
from devtools.demo import ensure_centres
from devtools.world import Api, flood_alert
from settings import SettingsError, load_settings
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[3]
REDIS_DB = 13  # this file's Redis database; only the keys a test made are deleted afterwards
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
PER_USER = 5
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- login throttling across gunicorn workers ----------------------------------------------------------

class Gunicorn:
    """`gunicorn -w 3 app:create_app()` on a loopback port; its access log names the pid of every request."""

    def __init__(self, tmp_path: Path, env: dict[str, str], workers: int = 3):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = tmp_path / f"access-{self.port}.log"
        self.error_log = tmp_path / f"error-{self.port}.log"
        with self.error_log.open("w") as errors:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                 "--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %({x-request-id}o)s %(s)s",
                 "-c", str(ROOT / "gunicorn.conf.py"), "app:create_app()"],
                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=subprocess.DEVNULL,
                stderr=errors, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:  # ready once a worker answers, not merely once the port is bound
            try:
                if requests.get(self.url + "/healthz", timeout=10, headers={"Connection": "close"}).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"gunicorn did not start: {self.error_log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def pids(self) -> dict[str, str]:
        """request id -> pid of the worker that served it (read once the server has stopped)."""
        rows = (line.split() for line in self.access_log.read_text().splitlines())
        return {row[1]: row[0] for row in rows if len(row) == 3}


def http(method: str, url: str, cookie: str | None = None, **kw) -> requests.Response:
    """One request on a fresh connection (gunicorn's sync workers serve one connection each)."""
    headers = {"Connection": "close", **kw.pop("headers", {})}
    if cookie:  # sent by hand: the session cookie is Secure and this is plain http on loopback
        headers["Cookie"] = f"benelert_session={cookie}"
    return requests.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kw)


def login_form(base: str) -> tuple[str, str]:
    """A fresh anonymous session: (cookie, CSRF token)."""
    page = http("GET", base + "/login")
    return page.cookies["benelert_session"], CSRF.search(page.text).group(1)


@pytest.fixture
def redis_keys():
    """Deletes, after the test, the throttle keys that mention any of the names the test registers."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # Redis must be running: no skipping
    names: list[str] = []
    yield names
    for name in names:
        for key in client.scan_iter(match=f"*{name}*"):
            client.delete(key)
    client.close()


def own_ip_limit(redis_keys: list[str]) -> str:
    """A per-address limit of the test's own: the limit is part of the key, so the key is the test's own too."""
    amount = 1000 + uuid.uuid4().int % 9000
    redis_keys.append(f"/{amount}/15/minute")
    return f"{amount} per 15 minutes"


def failed_logins_across_workers(tmp_path, database_url, username, storage, env_name, per_ip, attempts=12):
    """`attempts` wrong passwords at once (each on its own connection), then the right one. Returns the
    statuses of the wrong ones, the response to the right one and the pids that served the wrong ones."""
    server = Gunicorn(tmp_path, {
        "BENELERT_ENV": env_name, "BENELERT_SECRET_KEY": "g" * 48, "BENELERT_DATABASE_URL": database_url,
        "BENELERT_PUBLIC_URL": "http://127.0.0.1",
        "BENELERT_RATELIMIT_STORAGE": storage, "BENELERT_LOGIN_ATTEMPTS_PER_USER": f"{PER_USER} per 15 minutes",
        "BENELERT_LOGIN_ATTEMPTS_PER_IP": per_ip, "BENELERT_LOG_LEVEL": "WARNING"})
    try:
        forms = [login_form(server.url) for _ in range(attempts + 1)]
        start = threading.Barrier(attempts)
        ids = [f"attempt-{uuid.uuid4().hex[:12]}" for _ in range(attempts)]

        def wrong(index: int) -> int:
            cookie, token = forms[index]
            start.wait()
            return http("POST", server.url + "/login", cookie, headers={"X-Request-ID": ids[index]},
                        data={"username": username, "password": "not the password", "csrf_token": token}).status_code

        with ThreadPoolExecutor(attempts) as pool:
            statuses = list(pool.map(wrong, range(attempts)))
        cookie, token = forms[-1]
        right = http("POST", server.url + "/login", cookie,
                     data={"username": username, "password": PASSWORD, "csrf_token": token})
    finally:
        server.stop()
    served = server.pids()
    return statuses, right, {served[i] for i in ids}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_login_limit_holds_across_gunicorn_workers_with_redis(tmp_path, database_url, make_user, redis_keys):
    username, _ = make_user("BE", "communicator", name=f"throttled-{uuid.uuid4().hex[:12]}")
    redis_keys.append(username)
    statuses, right, pids = failed_logins_across_workers(tmp_path, database_url, username, REDIS_URL, "production",
                                                         own_ip_limit(redis_keys))
    assert len(pids) >= 2, f"all attempts were served by one worker ({pids}): nothing was shared"
    # exactly PER_USER wrong passwords were checked, over all workers together, even when sent at once
    assert Counter(statuses) == {403: PER_USER, 429: len(statuses) - PER_USER}, statuses
    assert right.status_code == 429 and "Too many failed logins" in right.text


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_per_process_memory_storage_does_not_hold_across_workers(tmp_path, database_url, make_user):
    """The contrast: memory:// counts per worker, so the same attempts get more than PER_USER checks."""
    username, _ = make_user("BE", "communicator")
    statuses, _, pids = failed_logins_across_workers(tmp_path, database_url, username, "memory://", "test",
                                                     f"{PER_USER * 100} per 15 minutes")
    assert len(pids) >= 2, pids
    assert Counter(statuses)[403] > PER_USER, statuses  # each worker let through its own PER_USER


def test_login_is_refused_readably_when_redis_is_down(make_app, caplog):
    """Fail closed: no login without the throttle, and a page that says why (never a 500)."""
    app = make_app(ratelimit_storage=f"redis://:hunter2-storage-password@127.0.0.1:{free_port()}/0")
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    caplog.set_level(logging.ERROR, logger="benelert")
    logging.getLogger("benelert").addHandler(caplog.handler)  # the app's logger does not propagate
    try:
        response = client.post("/login", data={"username": "anyone", "password": PASSWORD, "csrf_token": token})
    finally:
        logging.getLogger("benelert").removeHandler(caplog.handler)
    assert response.status_code == 503
    assert "Logins are paused" in response.get_data(as_text=True)
    assert client.get("/alerts").status_code == 302  # not logged in
    assert any(r.getMessage() == "login throttle storage unreachable" for r in caplog.records)
    assert "hunter2-storage-password" not in caplog.text


# ---- production settings ------------------------------------------------------------------------------

def test_production_requires_a_shared_ratelimit_storage():
    base = {"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "s" * 40, "BENELERT_PUBLIC_URL": "https://b.example"}
    for storage in (None, "memory://"):
        environ = base if storage is None else {**base, "BENELERT_RATELIMIT_STORAGE": storage}
        with pytest.raises(SettingsError, match="RATELIMIT_STORAGE must be shared"):
            load_settings(environ=environ)
    assert load_settings(environ={**base, "BENELERT_RATELIMIT_STORAGE": REDIS_URL}).ratelimit_storage == REDIS_URL
    assert load_settings(environ={"BENELERT_ENV": "test"}).ratelimit_storage == "memory://"  # one process


# ---- cookies and sessions ------------------------------------------------------------------------------

def csrf_of(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def cookie_flags(header: str) -> tuple[str, set[str]]:
    name, *attributes = [part.strip() for part in header.split(";")]
    return name.split("=")[0], {a.split("=")[0].lower() + ("=" + a.split("=")[1] if "=" in a else "")
                                for a in attributes}


@pytest.fixture
def production_app(make_app, redis_keys):
    app = make_app(env="production", secret_key="p" * 48, ratelimit_storage=REDIS_URL, public_url="https://localhost")
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    assert app.extensions["benelert"].settings.production and not app.testing
    return app


def test_every_cookie_is_secure_httponly_samesite_in_production(production_app, redis_keys):
    username = f"cookies-{uuid.uuid4().hex[:10]}"
    redis_keys.append(username)
    with production_app.extensions["benelert"].db.transaction() as session:
        accounts.create_user(session, "test", username=username, display_name="C", centre_code="BE",
                             roles=["communicator"], password=PASSWORD)
    client = production_app.test_client()
    responses = [client.get("/login")]
    responses.append(client.post("/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": csrf_of(client)}))
    assert responses[-1].status_code == 302
    responses.append(client.post("/language", data={"language": "nl", "csrf_token": csrf_of(client)}))
    responses.append(client.post("/logout", data={"csrf_token": csrf_of(client)}))
    seen = {}
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            name, flags = cookie_flags(header)
            seen[name] = flags
            assert {"secure", "httponly", "samesite=Lax", "path=/"} <= flags, header
    assert set(seen) == {"benelert_session", "benelert_lang", "benelert_device"}  # device: the login throttle's
    expires = next(flag for flag in seen_at_login(responses[1]) if flag.startswith("expires="))
    lifetime = parsedate_to_datetime(expires.split("=", 1)[1]) - datetime.now(UTC)
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)  # BENELERT_SESSION_HOURS


def seen_at_login(response) -> set[str]:
    session = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("benelert_session="))
    return cookie_flags(session)[1]


def test_a_session_cookie_is_only_as_good_as_its_server_side_session(app, db, make_user):
    username, _ = make_user("BE", "communicator")
    client = app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert client.get("/alerts").status_code == 200
    cookie = client.get_cookie("benelert_session").value
    serializer = app.session_interface.get_signing_serializer(app)
    sid = serializer.loads(cookie)["sid"]
    # the same session re-signed with a guessed key is not believed
    forged = URLSafeTimedSerializer("guessed" * 8, salt=serializer.salt, serializer=serializer.serializer,
                                    signer_kwargs=serializer.signer_kwargs).dumps({"sid": sid})
    stranger = app.test_client()
    stranger.set_cookie("benelert_session", forged)
    assert stranger.get("/alerts").status_code == 302
    # and a session past its expiry ends, whatever the cookie says
    with db.transaction() as session:
        session.execute(update(UserSession).values(expires_at=UserSession.created_at))
    response = client.get("/alerts")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ---- CSRF: every form route -------------------------------------------------------------------------------

def form_routes(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules() if "POST" in rule.methods
                   and not rule.rule.startswith(("/api/", "/hooks/"))), key=lambda rule: rule.rule)


def test_every_form_post_route_refuses_a_missing_or_foreign_csrf_token(app, db, make_user):
    username, token = make_user("BE", "communicator")
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert()).get_json()
    client, attacker = app.test_client(), app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)})
    foreign = csrf_of(attacker)  # valid, but for another session
    adapter = app.url_map.bind("localhost")
    routes = form_routes(app)
    assert len(routes) >= 12 and {"/logout", "/login", "/alerts/<int:alert_id>/edit"} <= {r.rule for r in routes}

    def url(rule):
        values = {"alert_id": alert["id"], "identifier": alert["identifier"], "point_id": 1, "token_id": 1,
                  "endpoint_id": 1}
        return adapter.build(rule.endpoint, {name: values.get(name, "x") for name in rule.arguments})

    with db.transaction() as session:
        audited = session.scalar(select(func.count()).select_from(AuditEvent))
    refused = []
    for rule in routes:
        for token_value in (None, foreign, "garbage"):
            data = {"body": "hello", "centre": "LU", "decision": "approve", "language": "nl", "msg_type": "Update"}
            if token_value:
                data["csrf_token"] = token_value
            response = client.post(url(rule), data=data)
            if response.status_code == 400 and "form expired" in response.get_data(as_text=True):
                refused.append((rule.rule, token_value))
    assert len(refused) == 3 * len(routes), sorted({r for r, _ in refused} ^ {r.rule for r in routes})
    with db.transaction() as session:  # nothing happened, and the user is still logged in
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audited
    assert client.get("/alerts").status_code == 200
    # the control: the same posts with the session's own token get past the CSRF check
    for rule in sorted(routes, key=lambda rule: rule.rule == "/logout"):
        response = client.post(url(rule), data={"csrf_token": csrf_of(client)})
        assert "form expired" not in response.get_data(as_text=True), rule.rule


# ---- security headers on every kind of response -------------------------------------------------------------

def assert_security_headers(response, hsts: bool, what: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY" and "frame-ancestors 'none'" in csp, what
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"), what
    assert headers.get("X-Request-ID"), what
    if hsts:
        assert int(re.search(r"max-age=(\d+)", headers.get("Strict-Transport-Security", "")).group(1)) >= 15552000
    else:
        assert "Strict-Transport-Security" not in headers, what


def test_security_headers_on_pages_api_and_errors_in_production(production_app):
    client = production_app.test_client()
    secret = token_for(production_app)
    bearer = {"Authorization": f"Bearer {secret}"}
    checks = {
        "page": (client.get("/login"), 200),
        "redirect": (client.get("/"), 302),
        "login redirect": (client.get("/alerts"), 302),
        "page 404": (client.get("/no/such/page"), 404),
        "page 405": (client.get("/logout"), 405),
        "csrf 400": (client.post("/logout"), 400),
        "static": (client.get("/static/app.js"), 200),
        "health": (client.get("/healthz"), 200),
        "feed": (client.get("/cap/feed.atom"), 200),
        "feed 404": (client.get("/cap/nothing.xml"), 404),
        "openapi": (client.get("/api/v1/openapi.json"), 200),
        "api": (client.get("/api/v1/me", headers=bearer), 200),
        "api 401": (client.get("/api/v1/me"), 401),
        "api 404": (client.get("/api/v1/alerts/999999", headers=bearer), 404),
        "api 422": (client.post("/api/v1/alerts", json={"hazard": 1}, headers=bearer), 422),
        "api 413": (client.post("/api/v1/alerts", data=b"x" * (2 * 1024 * 1024), headers=bearer,
                                content_type="application/json"), 413),
        "hook 404": (client.post("/hooks/twilio/status", data={"MessageSid": "x"}), 404),
    }
    for what, (response, status) in checks.items():
        response.close()  # a static file is streamed from an open file
        assert response.status_code == status, (what, response.status_code)
        assert_security_headers(response, hsts=True, what=what)
    assert checks["api 401"][0].mimetype == "application/problem+json"


def token_for(app) -> str:
    """The API token of a new BE communicator."""
    with app.extensions["benelert"].db.transaction() as session:
        user = accounts.create_user(session, "test", username=f"u-{uuid.uuid4().hex[:10]}", display_name="U",
                                    centre_code="BE", roles=["communicator"], password=None)
        return accounts.create_token(session, "test", user, "tests")[1]


def test_security_headers_on_internal_errors_and_without_https(make_app, redis_keys):
    """A 500 (the database is unreachable) keeps the headers; without HTTPS there is no HSTS."""
    nowhere = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"
    broken = make_app(env="production", secret_key="p" * 48, ratelimit_storage=REDIS_URL, database_url=nowhere,
                      public_url="https://localhost")
    client = broken.test_client()
    username = f"nobody-{uuid.uuid4().hex[:10]}"
    redis_keys.append(username)
    page = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)})
    api = client.get("/api/v1/me", headers={"Authorization": "Bearer bnl_" + "x" * 43})
    for what, response in (("page 500", page), ("api 500", api)):
        assert response.status_code == 500, what
        assert_security_headers(response, hsts=True, what=what)
    assert api.mimetype == "application/problem+json"
    plain = make_app(secure_cookies=False).test_client()
    for path in ("/login", "/api/v1/me", "/nowhere"):
        assert_security_headers(plain.get(path), hsts=False, what=path)


# ---- secrets never reach the logs ----------------------------------------------------------------------------

def test_no_secret_reaches_any_log(make_app, tmp_path, caplog, capfd):
    secret_key = "k" + uuid.uuid4().hex * 2
    twilio_token = uuid.uuid4().hex
    channels = tmp_path / "channels.json"
    channels.write_text(json.dumps({"sms": {"account_sid": "AC" + "1" * 32, "auth_token": twilio_token,
                                            "sender": "+3225551234"}}))
    app = make_app(secret_key=secret_key, channels_file=str(channels), log_level="DEBUG", log_json=True)
    benelert = logging.getLogger("benelert")
    for name in (None, "sqlalchemy", "twilio", "urllib3", "werkzeug"):  # sqlalchemy sets itself to WARNING
        caplog.set_level(logging.DEBUG, logger=name)
    benelert.addHandler(caplog.handler)  # the app's logger does not propagate to the root
    wrong = "wrong-" + uuid.uuid4().hex
    try:
        with app.extensions["benelert"].db.transaction() as session:
            ensure_centres(session)
            accounts.create_user(session, "test", username="desk", display_name="Desk", centre_code="BE",
                                 roles=["communicator"], password=PASSWORD)
        client = app.test_client()
        csrf = csrf_of(client)
        assert client.post("/login", data={"username": "desk", "password": wrong, "csrf_token": csrf}
                           ).status_code == 403
        assert client.post("/login", data={"username": "desk", "password": PASSWORD, "csrf_token": csrf_of(client)}
                           ).status_code == 302
        cookie = client.get_cookie("benelert_session").value
        sid = app.session_interface.get_signing_serializer(app).loads(cookie)["sid"]
        csrf = csrf_of(client, "/alerts/new")
        created = app.test_cli_runner().invoke(args=["users", "token", "desk", "--name", "robot"])
        token = created.output.strip().split(": ")[1]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/me", headers=bearer).status_code == 200
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        params = {"From": "+32470000001", "Body": "STOP", "MessageSid": "SM" + "2" * 32}
        signature = RequestValidator(twilio_token).compute_signature("http://localhost/hooks/twilio/inbound", params)
        assert client.post("/hooks/twilio/inbound", data=params,
                           headers={"X-Twilio-Signature": signature}).status_code == 200
        assert client.post("/hooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature}
                           ).status_code == 403
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
        benelert.handlers[0].flush()
    finally:
        benelert.removeHandler(caplog.handler)
    structured = capfd.readouterr().err  # what the JSON handler wrote
    records = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    everything = "\n".join((caplog.text, records, structured))
    # the capture works: DEBUG records and the JSON request lines of what was driven are there
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    lines = [json.loads(line) for line in structured.splitlines() if line.startswith("{")]
    paths = {(line.get("path"), line.get("status")) for line in lines}
    assert {("/login", 403), ("/login", 302), ("/api/v1/me", 401), ("/hooks/twilio/inbound", 200)} <= paths
    secrets = {"password": PASSWORD, "wrong password": wrong, "api token": token, "session cookie": cookie,
               "session id": sid, "csrf token": csrf, "twilio auth token": twilio_token, "SECRET_KEY": secret_key}
    leaked = [name for name, value in secrets.items() if value in everything]
    assert leaked == []


# ---- redirects stay on this site ----------------------------------------------------------------------------

def where_a_browser_goes(location: str) -> str:
    """The host a browser reaches from a Location header (WHATWG URL parsing: tabs and newlines are dropped,
    leading control characters and spaces stripped, a backslash is a slash)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).lstrip("".join(map(chr, range(33)))).replace("\\", "/")
    return urlsplit(urljoin("https://benelert.example/login", cleaned)).netloc


def test_login_and_language_redirects_never_leave_the_site(app, make_user):
    username, _ = make_user("BE", "communicator")
    evil = ["https://evil.example/", "//evil.example/", "/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example",
            "/\\evil.example/", "/\\/evil.example/", "\t//evil.example/", "/%2F/evil.example/", "///evil.example/"]
    escaped = []
    for target in evil + ["/alerts/7?state=draft"]:
        client = app.test_client()
        switched = client.post("/language", data={"language": "nl", "next": target, "csrf_token": csrf_of(client)})
        logged_in = client.post("/login?" + urlencode({"next": target}),
                                data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)})
        for response in (switched, logged_in):
            assert response.status_code == 302
            if where_a_browser_goes(response.headers["Location"]) != "benelert.example":
                escaped.append((target, response.request.path, response.headers["Location"]))
        if target.startswith("/alerts/"):
            assert logged_in.headers["Location"] == switched.headers["Location"] == target  # a local one is kept
    assert escaped == []


def test_secret_files_are_private_from_their_first_byte(tmp_path):
    from settings import write_private

    fresh, existing = tmp_path / "secret_key", tmp_path / "demo-credentials.txt"
    existing.write_text("old")
    existing.chmod(0o644)
    for path in (fresh, existing):
        write_private(path, "s3cret")
        assert path.read_text() == "s3cret" and path.stat().st_mode & 0o777 == 0o600
