"""A centre's partner endpoints over HTTP: the API (secrets in the creating answer only, rotation, the ping against a
local receiver and a closed port, problem+json for every refusal with nothing written, https required in production)
and the page. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from alerts.models import AuditEvent, Delivery, PartnerEndpoint, utcnow
from alerts.partner_endpoints import fingerprint
from devtools.demo import ensure_centres
from devtools.fakes.webhook_receiver import WebhookReceiver
from devtools.world import Api, write_channels_file
from tests.conftest import PASSWORD
from tests.unit.channels.messages import closed_port_url, new_secret

PUBLIC = "https://benelert.example.eu"


@pytest.fixture
def dev_app(make_app, tmp_path):
    """A development deployment whose partner channel may reach loopback receivers (as `make run`'s demo)."""
    app = make_app(env="development", channels_file=write_channels_file(
        tmp_path, {"partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"}}))
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    return app


@pytest.fixture
def production_app(make_app):
    app = make_app(env="production", secret_key="p" * 48, ratelimit_storage="redis://127.0.0.1:6379/0",
                   public_url=PUBLIC, channels_file="")
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    return app


def api(app, make_user, centre: str, *roles: str, public: bool = False) -> Api:
    client = app.test_client()
    return Api(PublicClient(client) if public else client, make_user(centre, *roles)[1])


class PublicClient:
    """A test client speaking to the deployment's public address (production serves no other Host)."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, method):
        return lambda path, **kw: getattr(self.client, method)(path, base_url=PUBLIC, **kw)


def written(db) -> tuple:
    with db.transaction() as session:
        endpoints = session.execute(select(PartnerEndpoint.id, PartnerEndpoint.url, PartnerEndpoint.secrets,
                                           PartnerEndpoint.active).order_by(PartnerEndpoint.id)).all()
        events = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.object_type == "partner_endpoint"))
    return [tuple(row) for row in endpoints], events


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def created(admin: Api, url: str, centre: str = "LU", **body) -> dict:
    answer = admin.post(f"/centres/{centre}/partner-endpoints", json={"url": url, **body})
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()


def test_an_admin_adds_rotates_pings_and_removes_the_old_secret(dev_app, db, make_user):
    admin = api(dev_app, make_user, "LU", "admin")
    with WebhookReceiver([]) as partner:
        endpoint = created(admin, partner.url)
        old = endpoint["secret"]
        assert old.startswith("whsec_") and endpoint["fingerprint"] == fingerprint(old)
        assert (endpoint["secret_fingerprints"], endpoint["active"], endpoint["rotating"]) == (
            [fingerprint(old)], True, False)
        partner.secrets = [old]  # passed on to the partner
        base = f"/centres/LU/partner-endpoints/{endpoint['id']}"
        listed = admin.get("/centres/LU/partner-endpoints")
        assert listed.status_code == 200 and old not in listed.get_data(as_text=True)
        assert [e["secret_fingerprints"] for e in listed.get_json()] == [[fingerprint(old)]]

        rotated = admin.post(f"{base}/secrets")
        assert rotated.status_code == 201 and rotated.headers["Cache-Control"] == "no-store"
        new = rotated.get_json()["secret"]
        assert rotated.get_json()["secret_fingerprints"] == [fingerprint(new), fingerprint(old)]
        assert rotated.get_json()["rotating"] is True
        for holds in ([old], [new]):  # the partner before and after it switched: both verify the ping
            partner.secrets = holds
            ping = admin.post(f"{base}/ping")
            assert ping.status_code == 200, ping.get_json()
            assert ping.get_json()["ok"] is True and ping.get_json()["status_code"] == 200
            assert isinstance(ping.get_json()["latency_ms"], int) and ping.get_json()["error"] is None
        assert [attempt.verified_by for attempt in partner.attempts] == [[0], [0]]

        removed = admin.delete(f"{base}/secrets/{fingerprint(old)}")
        assert removed.status_code == 200 and removed.get_json()["secret_fingerprints"] == [fingerprint(new)]
        partner.secrets = [old]  # a partner that never switched no longer verifies: the ping reports it
        stale = admin.post(f"{base}/ping").get_json()
        assert (stale["ok"], stale["status_code"]) == (False, 401) and stale["error"].startswith("HTTP 401")
    assert_problem(admin.delete(f"{base}/secrets/{fingerprint(new)}"), 409)  # the only secret stays
    with db.transaction() as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.detail)
                                 .where(AuditEvent.object_type == "partner_endpoint").order_by(AuditEvent.seq)).all()
    assert [action for action, _ in events] == [
        "partner_endpoint.create", "partner_endpoint.secret_add", "partner_endpoint.ping", "partner_endpoint.ping",
        "partner_endpoint.secret_remove", "partner_endpoint.ping"]
    audited = json.dumps([detail for _, detail in events])
    assert old not in audited and new not in audited and fingerprint(new) in audited


def test_a_ping_to_a_closed_port_is_an_answer_reporting_the_failure(dev_app, db, make_user):
    admin = api(dev_app, make_user, "LU", "admin")
    endpoint = created(admin, closed_port_url() + "/hooks")
    answer = admin.post(f"/centres/LU/partner-endpoints/{endpoint['id']}/ping")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["ok"], body["status_code"]) == (False, None) and body["error"].startswith("connection failed")
    assert body["latency_ms"] is not None and written(db)[1] == 2  # created, pinged


def test_production_requires_https_and_refuses_bad_input_with_nothing_written(production_app, db, make_user):
    admin = api(production_app, make_user, "LU", "admin", public=True)
    endpoint = created(admin, "https://partners.lu.example/benelert")
    before = written(db)
    for body, field in (({"url": "http://partners.lu.example/hook"}, "url"),
                        ({"url": "https://user:pw@partners.lu.example/hook"}, "url"),
                        ({"url": "https://partners.lu.example/new", "secret": "whsec_tooshort"}, "secret"),
                        ({"url": "https://partners.lu.example/new", "secret": "secret-without-prefix"}, "secret")):
        problem = assert_problem(admin.post("/centres/LU/partner-endpoints", json=body), 422)
        assert problem["field"] == field
    problem = assert_problem(admin.post(f"/centres/LU/partner-endpoints/{endpoint['id']}/secrets",
                                        json={"secret": "whsec_@@@"}), 422)
    assert problem["field"] == "secret" and "whsec_" in problem["detail"]
    problem = assert_problem(admin.patch(f"/centres/LU/partner-endpoints/{endpoint['id']}",
                                         json={"url": "http://partners.lu.example/hook"}), 422)
    assert problem["field"] == "url"
    assert_problem(admin.post("/centres/XX/partner-endpoints", json={"url": "https://a.example/h"}), 404)
    assert_problem(admin.get("/centres/XX/partner-endpoints"), 404)
    assert_problem(admin.post("/centres/LU/partner-endpoints", json={"secret": new_secret()}), 422)  # no url
    assert written(db) == before
    ping = admin.post(f"/centres/LU/partner-endpoints/{endpoint['id']}/ping").get_json()
    assert ping["ok"] is False and ping["status_code"] is None  # partners.lu.example does not resolve: reported


def test_another_centres_admin_and_other_roles_are_refused(dev_app, db, make_user):
    endpoint = created(api(dev_app, make_user, "LU", "admin"), "https://partners.lu.example/benelert")
    base = f"/centres/LU/partner-endpoints/{endpoint['id']}"
    others = [api(dev_app, make_user, "NL", "admin"), api(dev_app, make_user, "LU", "communicator"),
              api(dev_app, make_user, "LU", "partner")]
    before = written(db)
    for other in others:
        assert_problem(other.get("/centres/LU/partner-endpoints"), 403)
        assert_problem(other.post("/centres/LU/partner-endpoints", json={"url": "https://x.example/h"}), 403)
        assert_problem(other.patch(base, json={"active": False}), 403)
        assert_problem(other.delete(base), 403)
        assert_problem(other.post(f"{base}/secrets"), 403)
        assert_problem(other.delete(f"{base}/secrets/{endpoint['fingerprint']}"), 403)
        assert_problem(other.post(f"{base}/ping"), 403)
    nl_admin = others[0]
    assert_problem(nl_admin.patch(f"/centres/NL/partner-endpoints/{endpoint['id']}", json={"active": False}), 404)
    assert written(db) == before
    network = api(dev_app, make_user, "BE", "network-admin")
    assert [e["id"] for e in network.get("/centres/LU/partner-endpoints").get_json()] == [endpoint["id"]]


def test_conflicts_and_unknown_secrets(dev_app, db, make_user):
    admin = api(dev_app, make_user, "LU", "admin")
    endpoint = created(admin, "https://partners.lu.example/benelert")
    base = f"/centres/LU/partner-endpoints/{endpoint['id']}"
    assert admin.post(f"{base}/secrets", json={"secret": new_secret()}).status_code == 201
    before = written(db)
    assert_problem(admin.post(f"{base}/secrets"), 409)  # at most two at once
    assert_problem(admin.post("/centres/LU/partner-endpoints", json={"url": endpoint["url"]}), 409)
    for unknown in ("00000000", "ZZZZZZZZ", "abc"):
        assert_problem(admin.delete(f"{base}/secrets/{unknown}"), 404)
    assert_problem(admin.post("/centres/LU/partner-endpoints/999999/ping"), 404)
    assert_problem(admin.patch(base, json={"active": "maybe"}), 422)
    assert written(db) == before


def test_delete_removes_an_unused_endpoint_and_deactivates_one_copies_went_to(dev_app, db, make_user):
    admin = api(dev_app, make_user, "LU", "admin")
    unused = created(admin, "https://partners.lu.example/unused")
    used = created(admin, "https://partners.lu.example/used")
    with db.transaction() as session:
        session.add(Delivery(release_id=1, payload_id=1, channel="partners", centre_code="LU", target=used["url"],
                             idempotency_key="k-used", state="sent", next_attempt_at=utcnow()))
    gone = admin.delete(f"/centres/LU/partner-endpoints/{unused['id']}")
    assert gone.status_code == 204 and gone.get_data() == b""
    kept = admin.delete(f"/centres/LU/partner-endpoints/{used['id']}")
    assert kept.status_code == 200 and kept.get_json()["active"] is False
    assert "delivery history" in kept.get_json()["disabled_reason"]
    assert [(e["id"], e["active"]) for e in admin.get("/centres/LU/partner-endpoints").get_json()] == [
        (used["id"], False)]
    again = admin.patch(f"/centres/LU/partner-endpoints/{used['id']}", json={"active": True})
    assert again.status_code == 200 and (again.get_json()["active"], again.get_json()["disabled_reason"]) == (True,
                                                                                                           None)


# ---- the page -------------------------------------------------------------------------------------------------

def login(app, username: str, language: str = "en"):
    client = app.test_client()
    client.set_cookie("benelert_lang", language)
    html = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": csrf(html)}).status_code == 302
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_the_page_adds_rotates_pings_and_deactivates(dev_app, db, make_user):
    admin, _ = make_user("LU", "admin")
    client = login(dev_app, admin, "fr")
    page = client.get("/network/partner-endpoints")
    assert page.status_code == 200 and "/network/partner-endpoints" in page.get_data(as_text=True)
    token = csrf(page.get_data(as_text=True))
    refused = client.post("/network/partner-endpoints", data={"csrf_token": token, "centre": "LU", "url": "ftp://x"},
                          follow_redirects=True)
    assert "flash error" in refused.get_data(as_text=True) and written(db)[0] == []
    with WebhookReceiver([]) as partner:
        added = client.post("/network/partner-endpoints", data={"csrf_token": token, "centre": "LU",
                                                                "url": partner.url})
        assert added.status_code == 200 and added.headers["Cache-Control"] == "no-store"
        [(endpoint_id, _, [secret], _)] = written(db)[0]
        assert secret in added.get_data(as_text=True)  # shown once, now
        partner.secrets = [secret]
        later = client.get("/network/partner-endpoints").get_data(as_text=True)
        assert secret not in later and fingerprint(secret) in later
        rotated = client.post(f"/network/partner-endpoints/{endpoint_id}/secrets",
                              data={"csrf_token": token, "centre": "LU"})
        new = written(db)[0][0][2][0]
        assert rotated.status_code == 200 and new in rotated.get_data(as_text=True) and new != secret
        pinged = client.post(f"/network/partner-endpoints/{endpoint_id}/ping", data={"csrf_token": token,
                                                                                     "centre": "LU"},
                             follow_redirects=True)
        assert re.search(r'class="flash ok"[^>]*>[^<]*200[^<]*ms', pinged.get_data(as_text=True))
    removed = client.post(f"/network/partner-endpoints/{endpoint_id}/secrets/{fingerprint(secret)}/remove",
                          data={"csrf_token": token, "centre": "LU"})
    assert removed.status_code == 302 and written(db)[0][0][2] == [new]
    off = client.post(f"/network/partner-endpoints/{endpoint_id}/active",
                      data={"csrf_token": token, "centre": "LU", "active": "0"})
    assert off.status_code == 302 and written(db)[0][0][3] is False
    assert client.post(f"/network/partner-endpoints/{endpoint_id}/active",
                       data={"centre": "LU", "active": "1"}).status_code == 400  # no CSRF token
    assert written(db)[0][0][3] is False


def test_the_page_is_for_the_centres_admins_and_network_admins(dev_app, make_user):
    lu_admin, token = make_user("LU", "admin")
    created(Api(dev_app.test_client(), token), "https://partners.lu.example/benelert")
    communicator, _ = make_user("LU", "communicator")
    assert login(dev_app, communicator).get("/network/partner-endpoints").status_code == 403
    nl_admin, _ = make_user("NL", "admin")
    assert login(dev_app, nl_admin).get("/network/partner-endpoints?centre=LU").status_code == 403
    network, _ = make_user("BE", "network-admin")
    page = login(dev_app, network, "nl").get("/network/partner-endpoints?centre=LU")
    assert page.status_code == 200 and "https://partners.lu.example/benelert" in page.get_data(as_text=True)
    assert login(dev_app, network).get("/network/partner-endpoints?centre=XX").status_code == 404
