"""What an attack on a production deployment found in the request plumbing: bodies over a limit cut instead of
refused when chunked, NUL characters slipping past the check (UTF-16/32 JSON, repeated keys, multipart), JSON the
parser cannot read as a 500, an error page that itself failed, 405s without Allow."""
from __future__ import annotations

import http.client
import io
import json
import re
import threading

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from alerts.models import Alert, AuditHead, Subscriber
from devtools.world import flood_alert
from settings import SettingsError, load_settings
from tests.conftest import PASSWORD

CSV_HEADER = b"phone,language,areas\n"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json", response.mimetype
    return response.get_json()


def chunked(client, path: str, body: bytes, content_type: str, headers: dict | None = None):
    """A POST as a server hands on a body sent with Transfer-Encoding: chunked: no Content-Length, and the server
    says it ends the input itself (wsgi.input_terminated)."""
    environ = EnvironBuilder(path=path, method="POST", input_stream=io.BytesIO(body), content_type=content_type,
                             headers={"Transfer-Encoding": "chunked", **(headers or {})}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))  # as it is: an environ dict would be rebuilt, with a Content-Length


def subscriber_rows(count: int) -> bytes:
    return b"".join(b"+3247%07d,nl,BE-BRU;BE-VLG\n" % number for number in range(count))


# ---- 1. a body over the limit is refused whole, however it is framed -------------------------------------------

def test_a_chunked_json_body_over_the_limit_is_a_413_not_a_cut_body(api_as, db):
    be = api_as("BE", "communicator")
    body = json.dumps(flood_alert(description_padding="x" * (1024 * 1024))).encode()
    answer = chunked(be.client, "/api/v1/alerts", body, "application/json", {"Authorization": f"Bearer {be.token}"})
    assert_problem(answer, 413)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    # within the limit, the same framing is read whole
    small = json.dumps(flood_alert()).encode()
    created = chunked(be.client, "/api/v1/alerts", small, "application/json", {"Authorization": f"Bearer {be.token}"})
    assert created.status_code == 201, created.get_json()


def test_a_chunked_subscriber_list_over_its_limit_is_refused_whole(api_as, db):
    """The import's own limit (5 MiB, above the app's 1 MiB): 10,439 rows chunked were cut at 5 MiB and 10,239
    imported, the last one with only its first area."""
    be = api_as("BE", "communicator")
    body = CSV_HEADER + subscriber_rows(10_439 * 20)
    assert len(body) > 5 * 1024 * 1024
    answer = chunked(be.client, "/api/v1/subscribers/import", body, "text/csv",
                     {"Authorization": f"Bearer {be.token}"})
    assert_problem(answer, 413)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_a_body_of_exactly_the_limit_is_read_whole(app, api_as):
    """The one byte read past the limit only refuses what goes on: a body of exactly the limit passes."""
    app.config["MAX_CONTENT_LENGTH"] = 4096
    be = api_as("BE", "communicator")
    base = json.dumps(flood_alert()).encode()
    body = base[:-1] + b" " * (4096 - len(base)) + b"}"
    assert len(body) == 4096
    created = chunked(be.client, "/api/v1/alerts", body, "application/json", {"Authorization": f"Bearer {be.token}"})
    assert created.status_code == 201, created.get_json()
    assert_problem(chunked(be.client, "/api/v1/alerts", body + b" ", "application/json",
                           {"Authorization": f"Bearer {be.token}"}), 413)


@pytest.fixture
def served(app):
    """The app behind werkzeug's own HTTP server (it decodes chunked bodies and sets wsgi.input_terminated, as
    gunicorn does)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


def test_a_chunked_body_over_the_limit_is_a_413_through_a_real_server(served, make_user):
    _, token = make_user("BE", "communicator")
    body = json.dumps(flood_alert(description_padding="x" * (1200 * 1024))).encode()

    def send(payload: bytes) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", served, timeout=30)
        try:
            connection.request("POST", "/api/v1/alerts", body=(payload[i:i + 65536]
                                                                for i in range(0, len(payload), 65536)),
                               headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                               encode_chunked=True)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    status, answer = send(body)
    assert status == 413 and answer["status"] == 413, answer
    status, answer = send(json.dumps(flood_alert()).encode())
    assert status == 201, answer


def test_a_chunked_body_over_the_limit_is_a_413_through_gunicorn(tmp_path, database_url, make_user):
    """gunicorn, as deployed, decodes chunked bodies and sets wsgi.input_terminated on every request."""
    from tests.unit.web.test_security import Gunicorn

    _, token = make_user("BE", "communicator")
    server = Gunicorn(tmp_path, {"BENELERT_ENV": "test", "BENELERT_DATABASE_URL": database_url,
                                 "BENELERT_LOG_LEVEL": "WARNING"}, workers=1)
    try:
        body = json.dumps(flood_alert(description_padding="x" * (1200 * 1024))).encode()
        chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))  # a generator: sent chunked
        answer = requests.post(server.url + "/api/v1/alerts", data=chunks, timeout=30,
                               headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                                        "Connection": "close"})
        assert answer.status_code == 413 and answer.json()["status"] == 413, answer.text[:300]
        assert "chunked" in answer.request.headers.get("Transfer-Encoding", "")
        small = json.dumps(flood_alert()).encode()
        created = requests.post(server.url + "/api/v1/alerts", data=iter([small]), timeout=30,
                                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                                         "Connection": "close"})
        assert created.status_code == 201, created.text[:300]
    finally:
        server.stop()


# ---- 5. NUL characters, wherever they hide ---------------------------------------------------------------------

def login(app, username: str):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client, token


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-32-be"])
def test_a_nul_in_json_of_any_encoding_is_a_400(api_as, encoding):
    be = api_as("BE", "partner")
    body = json.dumps({"identifier": "benelert-x\u0000", "kind": "received"}).encode(encoding)
    answer = be.client.post("/api/v1/acks", data=body, content_type="application/json",
                            headers={"Authorization": f"Bearer {be.token}"})
    assert "NUL character" in assert_problem(answer, 400)["detail"]
    keyed = json.dumps({"identifier\u0000": "benelert-x", "kind": "received"}).encode(encoding)
    assert_problem(be.client.post("/api/v1/acks", data=keyed, content_type="application/json",
                                  headers={"Authorization": f"Bearer {be.token}"}), 400)


def test_a_nul_in_any_value_of_a_repeated_key_is_a_400(app, make_user):
    username, _ = make_user("BE", "communicator")
    client, token = login(app, username)
    form = client.post("/alerts/new", data="participants=NL&participants=LU%00&csrf_token=" + token,
                       content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400 and "NUL character" in form.get_data(as_text=True)
    query = client.get("/alerts/new?participants=NL&participants=LU%00")
    assert query.status_code == 400 and "NUL character" in query.get_data(as_text=True)
    assert client.get("/alerts/new?participants=NL&participants=LU").status_code == 200


def test_a_nul_in_a_multipart_form_is_a_400(app, client, make_user):
    username, _ = make_user("BE", "communicator")
    login_page = client.post("/login", data={"username": username + "\x00", "password": PASSWORD},
                             content_type="multipart/form-data")
    assert login_page.status_code == 400 and "NUL character" in login_page.get_data(as_text=True)
    signed_in, token = login(app, username)
    for data in ({"csrf_token": token, "participants": ["NL", "LU\x00"]},
                 {"csrf_token": token, "upload": (io.BytesIO(b"x"), "list\x00.csv")},
                 {"csrf_token": token, "key\x00": "x"}):
        page = signed_in.post("/alerts/new", data=data, content_type="multipart/form-data")
        assert page.status_code == 400 and "NUL character" in page.get_data(as_text=True), data


# ---- 16. JSON the parser cannot read -----------------------------------------------------------------------------

def test_an_integer_beyond_the_parsers_digits_is_a_400_on_every_json_route(api_as):
    be = api_as("BE", "communicator", "spokesperson")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    huge = "9" * 5000
    headers = {"Authorization": f"Bearer {be.token}", "If-Match": '"v1"'}
    for method, path in (("POST", "/alerts"), ("PATCH", f"/alerts/{alert['id']}"),
                         ("POST", f"/alerts/{alert['id']}/comments"),
                         ("POST", f"/alerts/{alert['id']}/release/confirmation"),
                         ("POST", f"/alerts/{alert['id']}/approvals"), ("POST", "/acks")):
        answer = be.client.open("/api/v1" + path, method=method, data=f'{{"severity": {huge}}}',
                                content_type="application/json", headers=headers)
        assert_problem(answer, 400)
    assert be.get(f"/alerts/{alert['id']}").get_json()["current_version"] == 1


# ---- 7. the error page after a failed flush ---------------------------------------------------------------------

def test_the_error_page_after_a_failed_flush_is_the_page_with_its_headers(make_app, make_user, caplog):
    from web import db_session
    from web.auth import login_required

    app = make_app()

    @app.get("/_flush-fails")
    @login_required
    def flush_fails():
        session = db_session()
        session.add(AuditHead(id=2, seq=0, hash=None))  # NOT NULL: the flush fails, the session needs a rollback
        session.flush()
        return "unreachable"

    from devtools.demo import ensure_centres
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    username, _ = make_user("BE", "communicator")
    client, _ = login(app, username)
    page = client.get("/_flush-fails", headers={"X-Request-ID": "broken-flush-1"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "broken-flush-1" in html and username.title() in html  # the page, with the user's header
    assert page.headers["X-Request-ID"] == "broken-flush-1"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_when_the_error_page_itself_fails_the_answer_is_plain_with_its_headers(app, monkeypatch):
    import web

    def broken(*_args, **_kwargs):
        raise RuntimeError("the template is broken")

    monkeypatch.setattr(web, "render_template", broken)
    page = app.test_client().get("/nowhere", headers={"X-Request-ID": "broken-page-1"})
    assert page.status_code == 404 and page.mimetype == "text/plain"
    assert "Not found" in page.get_data(as_text=True)
    assert page.headers["X-Request-ID"] == "broken-page-1"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


# ---- 13. 405 names what is allowed --------------------------------------------------------------------------------

def test_a_405_names_the_allowed_methods(api_as, client):
    be = api_as("BE", "communicator")
    answer = be.client.put("/api/v1/acks", headers={"Authorization": f"Bearer {be.token}"})
    assert_problem(answer, 405)
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"POST", "OPTIONS"}
    page = client.put("/login")
    assert page.status_code == 405 and {"GET", "POST"} <= set(page.headers["Allow"].replace(" ", "").split(","))


def test_an_ack_kind_outside_its_enum_is_a_422(api_as):
    partner = api_as("NL", "partner")
    answer = partner.post("/acks?kind=bogus", json={"identifier": "benelert-x", "kind": "received"})
    assert "kind" in json.dumps(assert_problem(answer, 422))


# ---- 9. the Host header is not trusted -----------------------------------------------------------------------------

PRODUCTION = {"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "s" * 40,
              "BENELERT_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0"}


def test_production_requires_an_http_public_url():
    with pytest.raises(SettingsError, match="PUBLIC_URL must be set in production"):
        load_settings(environ=PRODUCTION)
    for wrong in ("benelert.example.eu", "ftp://benelert.example.eu", "https://", "https://a.example/?x=1",
                  "https://user:pw@a.example", "https://a.example:port", "javascript:alert(1)"):
        with pytest.raises(SettingsError, match="PUBLIC_URL must be an http"):
            load_settings(environ={**PRODUCTION, "BENELERT_PUBLIC_URL": wrong})
        with pytest.raises(SettingsError, match="PUBLIC_URL must be an http"):
            load_settings(environ={"BENELERT_ENV": "test", "BENELERT_PUBLIC_URL": wrong})
    settings = load_settings(environ={**PRODUCTION, "BENELERT_PUBLIC_URL": "https://benelert.example.eu/"})
    assert settings.public_url == "https://benelert.example.eu/"


def test_production_serves_only_the_public_urls_host(make_app):
    app = make_app(env="production", secret_key="p" * 48, ratelimit_storage="redis://127.0.0.1:6379/0",
                   public_url="https://benelert.example.eu", channels_file="")
    client = app.test_client()
    feed = client.get("/cap/feed.atom", headers={"Host": "benelert.example.eu"})
    assert feed.status_code == 200 and b"https://benelert.example.eu/cap/feed.atom" in feed.data
    for path in ("/cap/feed.atom", "/hooks/twilio/status", "/api/v1/me", "/login"):
        forged = client.open(path, method="POST" if "hooks" in path else "GET", headers={"Host": "evil.example"})
        assert forged.status_code == 400, path
        assert b"evil.example" not in forged.data
        assert forged.headers["X-Request-ID"] and "frame-ancestors" in forged.headers["Content-Security-Policy"]
    assert client.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200  # checks on the machine


def test_feed_links_come_from_the_public_url_and_host_derived_ones_are_never_shared(make_app):
    public = make_app(public_url="https://benelert.example.eu").test_client()
    feed = public.get("/cap/feed.atom", headers={"Host": "evil.example"})
    assert feed.status_code == 200 and b"evil.example" not in feed.data
    assert b'href="https://benelert.example.eu/cap/feed.atom"' in feed.data and feed.cache_control.public
    local = make_app().test_client().get("/cap/feed.atom", headers={"Host": "evil.example"})
    assert local.status_code == 200 and b"http://evil.example/cap/feed.atom" in local.data  # development only
    assert local.cache_control.private and not local.cache_control.public


def test_the_spec_documents_the_refusals_of_every_operation(client, api_as):
    """A NUL in any parameter is a 400 before the route runs, so every operation documents 400; every operation on
    one alert documents 403 (a role may see an alert it may not read, as GET /communication-tests/{id} answers)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = [(path, method, operation) for path, item in spec["paths"].items()
                  for method, operation in item.items() if isinstance(operation, dict) and "responses" in operation]
    assert len(operations) >= 30
    for path, method, operation in operations:
        assert "400" in operation["responses"], (method, path)
        if "{alert_id}" in path:
            assert "403" in operation["responses"], (method, path)
    kind = next(p for p in spec["paths"]["/api/v1/acks"]["post"]["parameters"] if p["name"] == "kind")
    assert kind["schema"]["enum"] == ["received", "read"]
    be = api_as("BE", "communicator")
    assert_problem(be.get("/alerts?state=draft%00"), 400)
    assert_problem(be.get("/me?x=%00"), 400)


def test_a_text_value_is_what_the_spec_says(api_as):
    """texts.<language>.<field>: a string, null, or {"body": string, "reviewed": boolean} and nothing else (the spec
    says additionalProperties false, and the API refuses what the spec refuses)."""
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert()).get_json()
    for wrong in ({"body": "x", "other": 1}, {"reviewed": True}, {"body": 3}, 7, ["x"]):
        answer = be.patch(f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": wrong}}},
                          headers={"If-Match": '"v1"'})
        assert "texts" in json.dumps(assert_problem(answer, 422)), wrong
    confirmed = {"texts": {"nl": {"headline": {"body": "Hoog water", "reviewed": True}}}}
    ok = be.patch(f"/alerts/{alert['id']}", json=confirmed, headers={"If-Match": '"v1"'})
    assert ok.status_code == 200, ok.get_json()
