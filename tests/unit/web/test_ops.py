"""Health and readiness, request ids, structured logs without secrets, settings, OpenAPI."""
from __future__ import annotations

import json
import logging
import os

import pytest

from app import create_app
from devtools.world import Api
from settings import SettingsError, load_settings
from tests.conftest import PASSWORD


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_readyz_reports_an_unreachable_database(tmp_path):
    app = create_app({"env": "test", "secret_key": "k" * 40,
                      "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_request_id_is_echoed_or_made(client):
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc12345-trace"}).headers["X-Request-ID"]
    assert echoed == "abc12345-trace"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert made != "bad id <script>" and len(made) == 16


def test_logs_are_json_with_request_id_and_never_hold_secrets(capfd, app, client, make_user):
    username, token = make_user("BE", "communicator")
    html = client.get("/login").get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    Api(client, token).get("/me", headers={"X-Request-ID": "trace-me-123"})
    Api(client, token + "x").get("/me")
    logging.getLogger("benelert").handlers[0].flush()
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "trace-me-123" and line.get("path") == "/api/v1/me" for line in lines)
    assert all({"time", "level", "message", "request_id"} <= set(line) for line in lines)
    text = json.dumps(lines)
    assert PASSWORD not in text and token not in text and "csrf" not in text.lower()


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_to_start_without_a_strong_secret():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environ={"BENELERT_ENV": "production"})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environ={"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "dev"})
    with pytest.raises(SettingsError, match="SECURE_COOKIES"):
        load_settings(environ={"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "s" * 40,
                               "BENELERT_SECURE_COOKIES": "false"})
    settings = load_settings(environ={"BENELERT_ENV": "production", "BENELERT_SECRET_KEY": "s" * 40,
                                      "BENELERT_DATABASE_URL": "postgresql://db/benelert",
                                      "BENELERT_PUBLIC_URL": "https://benelert.example.eu",
                                      "BENELERT_RATELIMIT_STORAGE": "redis://127.0.0.1:6379/0"})
    assert settings.production and settings.secure_cookies and settings.database_url.startswith("postgresql")


def test_settings_are_parsed_by_type_not_guessed():
    with pytest.raises(SettingsError, match="true or false"):
        load_settings(environ={"BENELERT_LOG_JSON": "maybe"})
    with pytest.raises(SettingsError, match="integer"):
        load_settings(environ={"BENELERT_SESSION_HOURS": "twelve"})
    assert load_settings(environ={"BENELERT_SESSION_HOURS": "8"}).session_hours == 8
    assert load_settings(environ={}).database_url.startswith("sqlite:///")


def test_openapi_document_is_generated_and_complete(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"/api/v1/alerts", "/api/v1/alerts/{alert_id}", "/api/v1/alerts/{alert_id}/diff",
            "/api/v1/alerts/{alert_id}/comments", "/api/v1/alerts/{alert_id}/invitations"} <= set(paths)
    patch = paths["/api/v1/alerts/{alert_id}"]["patch"]
    assert "412" in patch["responses"] and "application/problem+json" in patch["responses"]["412"]["content"]
    assert "AlertCreate" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_languages_setting_is_validated():
    from settings import parse_languages

    assert parse_languages("nl, fr,en") == ("nl", "fr", "en")
    with pytest.raises(SettingsError, match="must include 'en'"):
        parse_languages("nl,fr")
    with pytest.raises(SettingsError, match="twice"):
        parse_languages("nl,en,nl")
    with pytest.raises(SettingsError, match="no catalog .* for xx"):
        parse_languages("en,xx")


def test_one_language_list_is_read_everywhere():
    """The API's schema, the phrasebook, subscriber imports and the pages read BENELERT_LANGUAGES, not lists
    of their own: a process started with fewer languages refuses the others everywhere."""
    import subprocess
    import sys

    probe = ("from alerts import phrasebook, vocabulary, subscribers_csv, rendering; from web import i18n; "
             "import inspect; "
             "print(vocabulary.LANGUAGES, phrasebook.LANGUAGES, i18n.UI_LANGUAGES, "
             "rendering.ordered_languages(['en', 'lb', 'fr', 'nl']), "
             "inspect.signature(subscribers_csv.parse_subscribers_csv).parameters['languages'].default == "
             "frozenset(vocabulary.LANGUAGES))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "BENELERT_LANGUAGES": "fr,en,nl"}).stdout.split("\n")[0]
    assert out == "('fr', 'en', 'nl') ('fr', 'en', 'nl') ('en', 'fr', 'nl') ['fr', 'en', 'nl', 'lb'] True"
