"""Who may call what. ONE table (ROUTES) gives every rule of the URL map its access rule; a route
without an entry fails the test. Every route then gets the probe of its kind (anonymous, cookie
instead of token, unsigned hook, remote metrics scrape), and every route that acts for a user, on an
alert or by role, is called by each role (communicator, spokesperson, partner, admin) of the lead
centre (BE), a participating centre (NL) and an outsider (LU), and anonymously, on real alerts."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from alerts import firing, release
from alerts.models import ROLES, Alert, ApiToken
from devtools.demo import ensure_centres
from devtools.world import SHORT_TEXTS, Api, flood_alert
from tests.conftest import PASSWORD

PUBLIC, LOGIN, TOKEN, HOOK, METRICS = "public", "login", "token", "signed hook", "metrics"
EVERYONE = frozenset(ROLES)
READERS = EVERYONE  # partners only once the alert is shared (approved or later)
STAFF = frozenset({"communicator", "spokesperson", "admin"})  # versions, diffs, comments, previews
COMMENTERS = frozenset({"communicator", "spokesperson"})
COMMUNICATOR = frozenset({"communicator"})
SPOKESPERSON = frozenset({"spokesperson"})
ACKERS = frozenset({"communicator", "spokesperson", "partner"})
# a network administrator runs the network (centres, users), not its warnings: an alert is not theirs to see
# (a copy released to their centre is, as for any user of the centre)
SEES_ALERTS = STAFF | {"partner"}
TEST_READERS = STAFF | {"network-admin"}
NETWORK_ADMIN = frozenset({"network-admin"})


@dataclass(frozen=True)
class Access:
    """How a route identifies its caller and whom it serves, and how the matrix calls it.

    scope: None (no alert); "alert" (centres taking part; partners once it is shared); "released" (centres
    the release reached, any role); "lead" (the lead centre only). `on` names the world alerts the matrix
    calls it on ("-" for a route without an alert); `ok` are the statuses that mean "let through" (a 409
    or 422 comes after the access checks: the state or the body was refused, not the caller)."""

    kind: str
    roles: frozenset[str] = EVERYONE
    scope: str | None = None
    on: tuple[str, ...] = ()
    send: dict | str | None = None
    ok: frozenset[int] = frozenset({200})
    roles_first: bool = False  # the role is checked before the alert is looked up
    target_shared: bool | None = None  # the route reads another alert than the one in the URL
    anonymous: int | None = None  # public routes: what an anonymous request gets
    headers: dict = field(default_factory=dict)
    query: str = ""


def page(roles=EVERYONE, scope="alert", on=("draft", "released"), ok=(200,), **kw) -> Access:
    return Access(LOGIN, frozenset(roles), scope, on, ok=frozenset(ok), **kw)


def api(roles=EVERYONE, scope="alert", on=("draft", "released"), ok=(200,), **kw) -> Access:
    return Access(TOKEN, frozenset(roles), scope, on, ok=frozenset(ok), **kw)


def public(anonymous: int) -> Access:
    return Access(PUBLIC, anonymous=anonymous)


V1 = {"If-Match": '"v1"'}
WRONG_HASH = "0" * 64
A = "/alerts/<int:alert_id>"
API = "/api/v1"
ROUTES: dict[tuple[str, str], Access] = {
    # public: no identity
    ("GET", "/"): public(302),
    ("GET", "/login"): public(200),
    ("POST", "/login"): public(400),  # an empty form
    ("POST", "/logout"): public(302),
    ("POST", "/language"): public(302),
    ("GET", "/healthz"): public(200),
    ("GET", "/readyz"): public(200),
    ("GET", "/cap/feed.atom"): public(200),
    ("GET", "/cap/<identifier>.xml"): public(404),  # an identifier never published
    ("GET", "/static/<path:filename>"): public(200),
    ("GET", API + "/openapi.json"): public(200),
    # provider callbacks: only what carries the provider's signature is believed
    ("POST", "/hooks/twilio/status"): Access(HOOK),
    ("POST", "/hooks/twilio/inbound"): Access(HOOK),
    # Prometheus: loopback without a proxy header, or the metrics bearer token
    ("GET", "/metrics"): Access(METRICS),
    # pages (a browser session)
    ("GET", "/alerts"): page(scope=None, on=("-",)),
    ("GET", "/alerts/new"): page(scope=None, on=("-",)),
    ("POST", "/alerts/new"): page(COMMUNICATOR, scope=None, on=("-",), ok=(302,),
                                  send={"hazard": "flood", "status": "Exercise", "urgency": "", "severity": "",
                                        "certainty": "", "areas": "Limburg", "expires": "2099-01-01T12:00"}),
    ("GET", "/alerts/new/phrasebook"): page(scope=None, on=("-",), query="?hazard=flood"),
    ("POST", "/alerts/new/jurisdictions"): page(scope=None, on=("-",), send={"places": "be-lim"}),  # the live panel
    ("GET", "/geo/boundaries.geojson"): page(scope=None, on=("-",)),  # the map editor's base map
    ("GET", "/incoming"): page(scope=None, on=("-",)),
    ("GET", A): page(READERS),
    ("GET", A + "/edit"): page(COMMUNICATOR),
    ("POST", A + "/edit"): page(COMMUNICATOR, on=("draft",), ok=(302,), send={}),  # no base version: told so
    ("POST", A + "/preview"): page(STAFF, on=("draft",), send={"base_version": "1"}),
    ("GET", A + "/diff"): page(STAFF, query="?from=1&to=1"),
    ("POST", A + "/comments"): page(COMMENTERS, ok=(302,), send={"body": "Looks right.", "field": ""}),
    ("POST", A + "/invite"): page(COMMUNICATOR, on=("draft",), ok=(302,), send={"centre": "NL", "base_version": "1"}),
    ("POST", A + "/submit"): page(COMMUNICATOR, on=("draft",), ok=(302,), send={"base_version": "1"}),
    ("GET", A + "/review"): page(READERS),
    ("POST", A + "/decision"): page(SPOKESPERSON, on=("review",), ok=(302,),
                                    send={"decision": "approve", "content_hash": WRONG_HASH, "base_version": "1"}),
    ("GET", A + "/release"): page(READERS, on=("draft", "approved")),
    ("POST", A + "/release"): page(SPOKESPERSON, on=("approved",), ok=(409,),
                                   send={"content_hash": WRONG_HASH, "base_version": "1", "channel-BE": "partners"}),
    ("POST", A + "/release/consents"): page(SPOKESPERSON, on=("released",), ok=(302,), send={"plan": "0" * 64}),
    ("POST", A + "/release/withdraw"): page(SPOKESPERSON, on=("released",), ok=(302,),
                                            send={"base_version": "1", "reason": "later"}),
    ("POST", A + "/derive"): page(COMMUNICATOR, on=("released",), ok=(302,), send={"msg_type": "Update"}),
    ("GET", A + "/deliveries"): page(READERS, on=("released",)),
    ("GET", A + "/deliveries/live"): page(READERS, on=("released",)),
    ("GET", "/incoming/<identifier>"): page(scope="released", on=("released",)),
    ("POST", "/incoming/<identifier>/ack"): page(ACKERS, scope="released", on=("released",), ok=(302,),
                                                 roles_first=True, send={"kind": "received"}),
    # the JSON API (a personal bearer token)
    ("GET", API + "/me"): api(scope=None, on=("-",)),
    ("GET", API + "/centres"): api(scope=None, on=("-",)),
    ("GET", API + "/tokens"): api(scope=None, on=("-",)),
    ("DELETE", API + "/tokens/<int:token_id>"): api(scope=None, on=()),  # own token, or admin: own test below
    # admins of the user's own centre: tests/unit/web/test_login_throttle.py
    ("POST", API + "/users/<username>/unlock"): api(frozenset({"admin"}), scope=None, on=(), ok=(204,)),
    ("GET", API + "/alerts"): api(scope=None, on=("-",)),
    ("POST", API + "/alerts"): api(COMMUNICATOR, scope=None, on=("-",), ok=(201,), send=flood_alert()),
    ("GET", API + A): api(READERS),
    ("PATCH", API + A): api(COMMUNICATOR, on=("draft",), ok=(200, 412), send={"severity": "Extreme"}, headers=V1),
    ("POST", API + A + "/invitations"): api(COMMUNICATOR, on=("draft",), ok=(412, 422), send={"centre": "NL"},
                                            headers=V1),
    ("GET", API + A + "/jurisdictions"): api(READERS),
    ("GET", API + A + "/versions"): api(STAFF),
    ("GET", API + A + "/versions/<int:number>"): api(STAFF),
    ("GET", API + A + "/diff"): api(STAFF, query="?from=1&to=1"),
    ("GET", API + A + "/comments"): api(STAFF),
    ("POST", API + A + "/comments"): api(COMMENTERS, ok=(201,), send={"body": "Looks right."}),
    ("GET", API + A + "/readiness"): api(STAFF),
    ("POST", API + A + "/submit"): api(COMMUNICATOR, on=("draft",), ok=(412, 422), headers=V1),
    ("GET", API + A + "/approvals"): api(READERS),
    ("POST", API + A + "/approvals"): api(SPOKESPERSON, on=("review",), ok=(409,), headers=V1,
                                          send={"decision": "approve", "content_hash": WRONG_HASH}),
    ("GET", API + A + "/preview"): api(STAFF),
    ("POST", API + A + "/release/confirmation"): api(READERS, send={"content_hash": WRONG_HASH,
                                                                    "channels": {"BE": ["partners"]}}),
    ("POST", API + A + "/release"): api(SPOKESPERSON, on=("approved",), ok=(409,), headers=V1,
                                        send={"content_hash": WRONG_HASH, "channels": {"BE": ["partners"]}}),
    ("GET", API + A + "/release"): api(READERS, on=("released",)),
    ("POST", API + A + "/release/consents"): api(SPOKESPERSON, on=("released",), ok=(409,), send={"plan": "0" * 64}),
    ("POST", API + A + "/release/withdraw"): api(SPOKESPERSON, on=("released",), ok=(409,), headers=V1,
                                                 send={"reason": "later"}),
    ("POST", API + A + "/derive"): api(COMMUNICATOR, on=("released",), ok=(201, 409),
                                        send={"msg_type": "Update"}),  # 409: an Update is in the works already
    ("GET", API + A + "/cancel"): api(READERS, on=("released",), target_shared=False),  # the Cancel is in review
    ("GET", API + A + "/acks"): api(READERS),
    ("POST", API + "/acks"): api(ACKERS, scope="released", on=("released",), ok=(200, 201), roles_first=True,
                                 send={"identifier": "{identifier}", "kind": "received"}),
    ("POST", API + "/communication-tests"): api(frozenset({"spokesperson", "admin"}), scope=None, on=("-",),
                                                ok=(201, 429)),  # 429: the centre's last test is too recent
    # a communication test goes to the whole network: every centre's staff and network admins read them all
    ("GET", API + "/communication-tests/<int:alert_id>"): api(TEST_READERS, scope=None, on=("drill",)),
    ("GET", API + "/communication-tests"): api(TEST_READERS, scope=None, on=("-",)),
    ("GET", API + "/communication-tests/schedule"): api(TEST_READERS, scope=None, on=("-",)),
    ("PUT", API + "/communication-tests/schedule"): api(NETWORK_ADMIN, scope=None, on=("-",), send={"day": 12}),
    ("GET", "/network/communication-tests"): page(TEST_READERS, scope=None, on=("-",)),
    ("GET", "/network/communication-tests/<int:alert_id>"): page(TEST_READERS, scope=None, on=("drill",)),
    ("POST", "/network/communication-tests"): page(frozenset({"spokesperson", "admin"}), scope=None, on=("-",),
                                                   ok=(302,)),  # a second one within 15 minutes: a message
    ("POST", "/network/communication-tests/schedule"): page(NETWORK_ADMIN, scope=None, on=("-",), ok=(302,), send={
        "enabled": "on", "organiser": "BE", "month_of_quarter": "1", "day": "12", "time": "10:00",
        "timezone": "Europe/Brussels"}),
    ("POST", API + "/subscribers/import"): api(frozenset({"admin", "communicator"}), scope=None, on=("-",),
                                               send="phone,language,areas\n", ok=(202,)),
    # an import job is read by its centre's staff only (404 for others): tests/unit/alerts/test_import_jobs.py
    ("GET", API + "/subscribers/imports/<int:job_id>"): api(STAFF, scope=None, on=()),
    ("GET", API + "/subscribers/count"): api(STAFF, scope=None, on=("-",)),
    # the network: the directory every user reads; who changes what is a centre's or the network's business
    ("GET", "/network/centres"): page(scope=None, on=("-",)),
    ("GET", "/contact-points"): page(scope=None, on=("-",)),
    ("GET", "/contact-points/export.<any(csv, vcf):kind>"): page(scope=None, on=("-",)),
    ("GET", API + "/contact-points"): api(scope=None, on=("-",)),
    ("GET", API + "/contact-points.csv"): api(scope=None, on=("-",)),
    ("GET", API + "/contact-points.vcf"): api(scope=None, on=("-",)),
    # the audit trail: a centre's admins read their centre's events, network admins all (tests/unit/web/test_audit*)
    ("GET", "/network/audit"): page(frozenset({"admin", "network-admin"}), scope=None, on=("-",)),
    ("GET", "/network/audit.csv"): page(frozenset({"admin", "network-admin"}), scope=None, on=("-",)),
    ("GET", API + "/audit"): api(frozenset({"admin", "network-admin"}), scope=None, on=("-",)),
    ("GET", API + "/audit.csv"): api(frozenset({"admin", "network-admin"}), scope=None, on=("-",)),
    ("GET", "/set-password/<token>"): public(404),  # an unknown link
    ("POST", "/set-password/<token>"): public(404),
}
# Routes acting on a centre, a user or a contact point rather than an alert: the matrix does not call them; their
# own tests call each by the centre's admin, another centre's admin, a network admin and the other roles.
CENTRE_ROUTES = {
    "tests/unit/web/test_centres_api.py": [
        ("POST", API + "/centres"), ("GET", API + "/centres/<code>"), ("PATCH", API + "/centres/<code>")],
    "tests/unit/web/test_centres_pages.py": [
        ("POST", "/network/centres"), ("GET", "/network/centres/<code>"), ("POST", "/network/centres/<code>")],
    "tests/unit/web/test_centre_channels_api.py": [
        ("GET", API + "/centres/<code>/channels"), ("PUT", API + "/centres/<code>/channels/<name>"),
        ("DELETE", API + "/centres/<code>/channels/<name>"), ("POST", API + "/centres/<code>/channels/<name>/tests")],
    "tests/unit/web/test_contact_points_api.py": [
        ("POST", API + "/contact-points"), ("GET", API + "/contact-points/<int:point_id>"),
        ("PATCH", API + "/contact-points/<int:point_id>"), ("DELETE", API + "/contact-points/<int:point_id>"),
        ("POST", API + "/contact-points/<int:point_id>/verification"), ("GET", "/contact-points/new"),
        ("POST", "/contact-points/new"), ("GET", "/contact-points/<int:point_id>/edit"),
        ("POST", "/contact-points/<int:point_id>/edit"), ("POST", "/contact-points/<int:point_id>/verification"),
        ("POST", "/contact-points/<int:point_id>/delete")],
    "tests/unit/web/test_partner_endpoints_api.py": [
        ("GET", API + "/centres/<code>/partner-endpoints"), ("POST", API + "/centres/<code>/partner-endpoints"),
        ("PATCH", API + "/centres/<code>/partner-endpoints/<int:endpoint_id>"),
        ("DELETE", API + "/centres/<code>/partner-endpoints/<int:endpoint_id>"),
        ("POST", API + "/centres/<code>/partner-endpoints/<int:endpoint_id>/secrets"),
        ("DELETE", API + "/centres/<code>/partner-endpoints/<int:endpoint_id>/secrets/<fingerprint>"),
        ("POST", API + "/centres/<code>/partner-endpoints/<int:endpoint_id>/ping"),
        ("GET", "/network/partner-endpoints"), ("POST", "/network/partner-endpoints"),
        ("POST", "/network/partner-endpoints/<int:endpoint_id>/secrets"),
        ("POST", "/network/partner-endpoints/<int:endpoint_id>/secrets/<fingerprint>/remove"),
        ("POST", "/network/partner-endpoints/<int:endpoint_id>/active"),
        ("POST", "/network/partner-endpoints/<int:endpoint_id>/ping")],
    "tests/unit/web/test_users_admin.py": [
        ("GET", API + "/centres/<code>/users"), ("POST", API + "/centres/<code>/users"),
        ("GET", API + "/users/<username>"), ("PATCH", API + "/users/<username>"),
        ("POST", API + "/users/<username>/password-link"), ("GET", API + "/users/<username>/tokens"),
        ("DELETE", API + "/users/<username>/tokens/<int:token_id>"), ("GET", "/users"), ("POST", "/users"),
        ("GET", "/users/<username>"), ("POST", "/users/<username>"), ("POST", "/users/<username>/active"),
        ("POST", "/users/<username>/password-link"), ("POST", "/users/<username>/tokens/<int:token_id>/revoke")],
}
ADMIN = frozenset({"admin", "network-admin"})
for _routes in CENTRE_ROUTES.values():
    for _method, _rule in _routes:
        ROUTES[(_method, _rule)] = (page if _rule.startswith("/") and not _rule.startswith(API) else api)(
            ADMIN, scope=None, on=())
OPTIONAL = {("GET", "/metrics")}  # added by the operations work; the table must not wait for it
# Forbidden, as a page tells it after a form post (it redirects back with the reason)
REFUSED = re.compile(r"does not allow you|needs the role|Only a spokesperson|started by a spokesperson|"
                     r"Only a network administrator")
CENTRES = ("BE", "NL", "LU")


def url_map_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_of_the_url_map_has_an_access_rule(app):
    routes = url_map_routes(app)
    missing = sorted(routes - set(ROUTES))
    assert missing == [], f"routes without an access rule in tests/test_permissions.py ROUTES: {missing}"
    stale = sorted(set(ROUTES) - routes - OPTIONAL)
    assert stale == [], f"rules for routes that no longer exist: {stale}"
    unprobed = sorted(key for key, access in ROUTES.items() if access.kind in (LOGIN, TOKEN) and not access.on)
    elsewhere = [("DELETE", API + "/tokens/<int:token_id>"), ("GET", API + "/subscribers/imports/<int:job_id>"),
                 ("POST", API + "/users/<username>/unlock"), *(r for routes in CENTRE_ROUTES.values() for r in routes)]
    assert unprobed == sorted(elsewhere)


# ---- the probe of each kind, for every route ---------------------------------------------------------------

def csrf_of(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def path_of(rule: str, values: dict) -> str:
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda match: str(values[match.group(1)]), rule)


def test_each_kind_of_route_refuses_the_wrong_caller(make_app, make_user, tmp_path):
    channels = tmp_path / "channels.json"
    channels.write_text(json.dumps({"sms": {"account_sid": "AC" + "1" * 32, "auth_token": "a" * 32,
                                            "sender": "+3225551234"}}))
    app = make_app(channels_file=str(channels), metrics_token="m" * 40)
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    username, bearer = make_user("BE", "communicator")
    alert = Api(app.test_client(), bearer).post("/alerts", json=flood_alert()).get_json()
    values = {"alert_id": alert["id"], "number": 1, "token_id": 1, "identifier": alert["identifier"],
              "filename": "app.js", "job_id": 1, "username": username, "code": "BE", "name": "x", "point_id": 1,
              "token": "no-such-link", "kind": "csv", "endpoint_id": 1, "fingerprint": "0123abcd"}
    anonymous, browser = app.test_client(), app.test_client()
    browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(browser)})
    failures = []
    for (method, rule), access in sorted(ROUTES.items()):
        if (method, rule) not in url_map_routes(app):
            continue  # an OPTIONAL route not there (yet)
        path = path_of(rule, values)
        call = getattr(anonymous, method.lower())
        anonymous_csrf = csrf_of(anonymous)  # afresh: POST /logout (a public route) ends the anonymous session
        if access.kind == PUBLIC:
            response = call(path, data={"csrf_token": anonymous_csrf} if method == "POST" else None)
            got = response.status_code
            response.close()
            if got != access.anonymous:
                failures.append((method, rule, got, access.anonymous))
        elif access.kind == LOGIN:
            response = call(path, data={"csrf_token": anonymous_csrf} if method != "GET" else None)
            target = response.headers.get("Location", "")
            if response.status_code != 302 or not target.startswith("/login"):
                failures.append((method, rule, response.status_code, target))
            elif method == "GET" and "next=" not in target:
                failures.append((method, rule, "no way back", target))
        elif access.kind == TOKEN:
            for client in (anonymous, browser):  # a browser session is no API credential
                response = getattr(client, method.lower())(path, json={})
                if response.status_code != 401 or response.mimetype != "application/problem+json":
                    failures.append((method, rule, response.status_code, "want 401 problem+json"))
        elif access.kind == HOOK:
            for signature in (None, "Zm9yZ2Vk"):
                headers = {"X-Twilio-Signature": signature} if signature else {}
                response = anonymous.post(path, data={"From": "+32470000001", "Body": "STOP"}, headers=headers)
                if response.status_code != 403:
                    failures.append((method, rule, response.status_code, "want 403 unsigned"))
        elif access.kind == METRICS:
            remote = anonymous.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"})
            proxied = anonymous.get(path, headers={"X-Forwarded-For": "192.0.2.7"})
            wrong = anonymous.get(path, headers={"Authorization": "Bearer " + "w" * 40})
            local = anonymous.get(path)
            remote_with_token = anonymous.get(path, environ_base={"REMOTE_ADDR": "192.0.2.7"},
                                              headers={"Authorization": "Bearer " + "m" * 40})
            got = [r.status_code for r in (remote, proxied, wrong, local, remote_with_token)]
            if got[:3] != [401] * 3 or got[3:] != [200, 200]:
                failures.append((method, rule, got, "want 401 401 401 200 200"))
        else:
            failures.append((method, rule, "unknown kind", access.kind))
    assert failures == [], failures


def test_a_token_is_revoked_only_by_its_owner_or_an_admin_of_its_centre(app, client, make_user, db):
    _, owner = make_user("BE", "communicator")
    _, other = make_user("BE", "spokesperson")
    _, foreign_admin = make_user("LU", "admin")
    _, admin = make_user("BE", "admin")
    with db.transaction() as session:
        ids = session.scalars(select(ApiToken.id).order_by(ApiToken.id)).all()
    assert Api(client, other).delete(f"/tokens/{ids[0]}").status_code == 404  # someone else's: not even there
    assert Api(client, foreign_admin).delete(f"/tokens/{ids[0]}").status_code == 404  # another centre's user
    assert Api(client, owner).get("/me").status_code == 200
    assert Api(client, admin).delete(f"/tokens/{ids[0]}").status_code == 204
    assert Api(client, owner).get("/me").status_code == 401
    assert Api(client, other).delete(f"/tokens/{ids[1]}").status_code == 204  # its own


# ---- the role × centre matrix on real alerts -------------------------------------------------------------------

@dataclass
class WorldAlert:
    id: int
    identifier: str
    centres: frozenset[str]
    shared: bool


class Browser:
    """A logged-in (or anonymous) browser: the page forms carry the session's CSRF token."""

    def __init__(self, app, username: str | None):
        self.client = app.test_client()
        if username:
            response = self.client.post("/login", data={"username": username, "password": PASSWORD,
                                                        "csrf_token": csrf_of(self.client)})
            assert response.status_code == 302
        self.csrf = csrf_of(self.client)

    def call(self, method: str, path: str, data: dict | None):
        if method == "GET":
            response = self.client.get(path)
        else:
            response = self.client.post(path, data={**(data or {}), "csrf_token": self.csrf})
        with self.client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        return response, [message for category, message in flashes if category == "error"]


def build_world(app, db, make_user) -> dict[str, WorldAlert]:
    _, lead_token = make_user("BE", "communicator", name="world-lead")
    lead = Api(app.test_client(), lead_token)
    deciders = [Api(app.test_client(), make_user(code, "spokesperson", name=f"world-{code.lower()}-sp")[1])
                for code in ("BE", "NL")]

    def made(step: str) -> dict:
        body = flood_alert(status="Actual", texts=SHORT_TEXTS) if step != "draft" else flood_alert()
        alert = lead.post("/alerts", json=body).get_json()
        if step == "draft":
            return alert
        assert lead.post(f"/alerts/{alert['id']}/submit", headers=V1).status_code == 200
        if step == "review":
            return alert
        for decider in deciders:
            response = decider.post(f"/alerts/{alert['id']}/approvals", headers=V1,
                                    json={"decision": "approve", "content_hash": alert["version"]["content_hash"]})
            assert response.status_code == 200, response.get_json()
        if step == "approved":
            return alert
        response = deciders[0].post(f"/alerts/{alert['id']}/release", headers=V1, json={
            "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["partners"]}})
        assert response.status_code == 201, response.get_json()
        with db.transaction() as session:
            assert firing.release_due(session, release.ReleaseOptions(), "w1")
        return alert

    world = {}
    for step, shared in (("draft", False), ("review", False), ("approved", True), ("released", True)):
        alert = made(step)
        world[step] = WorldAlert(alert["id"], alert["identifier"], frozenset({"BE", "NL"}), shared)
    with db.transaction() as session:
        assert session.get(Alert, world["released"].id).state == "released"
        assert session.scalar(select(Alert.state).where(Alert.source_alert_id == world["released"].id)) == "in_review"
    drill = deciders[0].post("/communication-tests").get_json()
    world["drill"] = WorldAlert(drill["alert_id"], drill["identifier"], frozenset({"BE"}), True)
    world["-"] = WorldAlert(0, "", frozenset(), False)
    return world


def expected(access: Access, role: str | None, centre: str, alert: WorldAlert) -> str:
    if role is None:
        return "to login" if access.kind == LOGIN else "401"
    if access.roles_first and role not in access.roles:
        return "forbidden"
    if access.scope == "alert" and role not in SEES_ALERTS:
        return "not found"
    if access.scope is not None:
        shared = alert.shared if access.target_shared is None else access.target_shared
        if centre not in alert.centres or (access.scope == "alert" and role == "partner" and not shared):
            return "not found"
    return "ok" if role in access.roles else "forbidden"


def outcome(access: Access, response, refusals: list[str]) -> str:
    status = response.status_code
    if status == 302 and response.headers["Location"].startswith("/login"):
        return "to login"
    if status in (401, 403, 404):
        return {401: "401", 403: "forbidden", 404: "not found"}[status]
    if status == 302 and any(REFUSED.search(message) for message in refusals):
        return "forbidden"
    return "ok" if status in access.ok else f"unexpected {status} {refusals}"


def test_role_by_centre_matrix_on_every_alert_route_of_pages_and_api(app, db, make_user):
    world = build_world(app, db, make_user)
    users = {(centre, role): make_user(centre, role) for centre in CENTRES for role in ROLES}
    browsers = {key: Browser(app, username) for key, (username, _) in users.items()}
    browsers[("-", None)] = Browser(app, None)
    tokens = {key: token for key, (_, token) in users.items()} | {("-", None): None}
    failures, calls = [], 0
    for (method, rule), access in ROUTES.items():
        for name in access.on:
            alert = world[name]
            values = {"alert_id": alert.id, "number": 1, "identifier": alert.identifier, "kind": "csv"}
            path = path_of(rule, values) + access.query
            for (centre, role), browser in browsers.items():
                if access.kind == LOGIN:
                    response, refusals = browser.call(method, path, access.send)
                else:
                    response, refusals = call_api(browser.client, tokens[(centre, role)], method, path, access,
                                                  alert), []
                calls += 1
                got, want = outcome(access, response, refusals), expected(access, role, centre, alert)
                if got != want:
                    failures.append(f"{method} {rule} on {name} as {centre} {role}: {got} ({response.status_code}),"
                                    f" want {want}")
    assert failures == [], "\n".join(failures)
    assert calls == len(browsers) * sum(len(access.on) for access in ROUTES.values()) > 800


def call_api(client, token, method, path, access, alert):
    headers = {**access.headers, **({"Authorization": f"Bearer {token}"} if token else {})}
    if isinstance(access.send, str):
        return client.open(path, method=method, data=access.send, content_type="text/csv", headers=headers)
    body = access.send
    if isinstance(body, dict) and body.get("identifier") == "{identifier}":
        body = {**body, "identifier": alert.identifier}
    return client.open(path, method=method, json=body, headers=headers) if body is not None else \
        client.open(path, method=method, headers=headers)


# ---- what the matrix does not reach: creation and lists ----------------------------------------------------

def test_create_needs_communicator_of_the_lead_centre(api_as):
    for role in ("spokesperson", "partner", "admin"):
        assert api_as("BE", role).post("/alerts", json=flood_alert()).status_code == 403
    nl = api_as("NL", "communicator")
    response = nl.post("/alerts", json=flood_alert(lead="BE"))
    assert response.status_code == 422 and "own centre" in response.get_json()["detail"]
    assert nl.post("/alerts", json=flood_alert(participants=["BE"])).status_code == 201


def test_lists_show_only_alerts_of_the_users_centre(api_as):
    be = api_as("BE", "communicator")
    be.post("/alerts", json=flood_alert())  # BE + NL
    be.post("/alerts", json=flood_alert(participants=[]))  # BE only
    assert be.get("/alerts").get_json()["total"] == 2
    assert api_as("NL", "communicator").get("/alerts").get_json()["total"] == 1
    assert api_as("LU", "communicator").get("/alerts").get_json()["total"] == 0
    assert api_as("BE", "partner").get("/alerts").get_json()["total"] == 0  # nothing shared yet
