"""The role × centre matrix for every alert endpoint of the API and the pages."""
from __future__ import annotations

from sqlalchemy import update

from alerts.models import Alert
from tests.conftest import PASSWORD, Api, flood_alert

# (method, path template, body, If-Match needed)
API_ENDPOINTS = {
    "read": ("GET", "/alerts/{id}", None),
    "versions": ("GET", "/alerts/{id}/versions", None),
    "version": ("GET", "/alerts/{id}/versions/1", None),
    "diff": ("GET", "/alerts/{id}/diff?from=1&to=1", None),
    "comments": ("GET", "/alerts/{id}/comments", None),
    "comment": ("POST", "/alerts/{id}/comments", {"body": "ok"}),
    "edit": ("PATCH", "/alerts/{id}", {"severity": "Extreme"}),
    "invite": ("POST", "/alerts/{id}/invitations", {"centre": "LU"}),
}
OK = {"GET": 200, "POST": 201, "PATCH": 200}
READ = {"read"}
HISTORY = {"versions", "version", "diff", "comments"}
# What each role of a centre taking part may do to a draft; a centre not taking part sees nothing.
ALLOWED = {
    "communicator": READ | HISTORY | {"comment", "edit", "invite"},
    "spokesperson": READ | HISTORY | {"comment"},
    "admin": READ | HISTORY,
    "partner": set(),  # drafts are not shared with partners
}
ALLOWED_SHARED_PARTNER = READ


def expected(action, role, involved, shared=False):
    if not involved:
        return 404
    allowed = ALLOWED_SHARED_PARTNER if (role == "partner" and shared) else ALLOWED[role]
    if action in allowed:
        method = API_ENDPOINTS[action][0]
        return 200 if action == "invite" else OK[method]
    if role == "partner" and not shared:
        return 404
    return 403


def call(api, action, alert_id):
    method, path, body = API_ENDPOINTS[action]
    path = path.format(id=alert_id)
    headers = {"If-Match": '"v1"'} if action in ("edit", "invite") else {}
    return getattr(api, method.lower())(path, json=body, headers=headers) if body is not None else \
        getattr(api, method.lower())(path, headers=headers)


def test_api_matrix_for_every_role_and_centre(app, client, make_user, db):
    _, lead_token = make_user("BE", "communicator")
    lead = Api(client, lead_token)
    users = {(centre, role): Api(client, make_user(centre, role)[1])
             for centre in ("BE", "NL", "LU") for role in ("communicator", "spokesperson", "partner", "admin")}
    failures = []
    for shared in (False, True):
        for (centre, role), api in users.items():
            for action in API_ENDPOINTS:
                alert_id = lead.post("/alerts", json=flood_alert()).get_json()["id"]  # BE leads, NL takes part
                if shared:
                    with db.transaction() as session:
                        session.execute(update(Alert).where(Alert.id == alert_id).values(state="approved"))
                response = call(api, action, alert_id)
                want = expected(action, role, centre in ("BE", "NL"), shared)
                if response.status_code != want:
                    failures.append((shared, centre, role, action, response.status_code, want))
                if response.status_code >= 400:
                    assert response.mimetype == "application/problem+json"
    assert failures == []


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


def test_every_api_route_is_in_the_matrix(app):
    covered = {"/api/v1/alerts", "/api/v1/me", "/api/v1/centres", "/api/v1/tokens",
               # workflow routes: their role rules are exercised in tests/test_review.py
               "/api/v1/alerts/<int:alert_id>/readiness", "/api/v1/alerts/<int:alert_id>/submit",
               "/api/v1/alerts/<int:alert_id>/approvals", "/api/v1/alerts/<int:alert_id>/preview",
               "/api/v1/alerts/<int:alert_id>/release", "/api/v1/alerts/<int:alert_id>/release/confirmation",
               "/api/v1/alerts/<int:alert_id>/derive", "/api/v1/alerts/<int:alert_id>/cancel",
               "/api/v1/communication-tests", "/api/v1/communication-tests/<int:alert_id>",
               "/api/v1/tokens/<int:token_id>", "/api/v1/openapi.json"}
    covered |= {"/api/v1" + path.split("?")[0].replace("{id}", "<int:alert_id>").replace("/1", "/<int:number>")
                for _, path, _ in API_ENDPOINTS.values()}
    covered |= {"/api/v1/acks", "/api/v1/alerts/<int:alert_id>/acks", "/api/v1/subscribers/import", "/api/v1/subscribers/count"}  # noqa: E501 -- exchange routes: role rules in tests/test_exchange.py
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert routes - covered == set(), "a new API route needs a row in the permission matrix"


def login(client, username):
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_pages_matrix(app, make_user):
    lead_name, lead_token = make_user("BE", "communicator")
    lead = Api(app.test_client(), lead_token)
    alert_id = lead.post("/alerts", json=flood_alert()).get_json()["id"]
    cases = {("BE", "communicator"): (200, 200), ("NL", "communicator"): (200, 200),
             ("NL", "spokesperson"): (200, 403), ("LU", "communicator"): (404, 404),
             ("NL", "partner"): (404, 404)}
    for (centre, role), (detail_status, edit_status) in cases.items():
        client = app.test_client()
        login(client, make_user(centre, role)[0])
        assert client.get(f"/alerts/{alert_id}").status_code == detail_status, (centre, role)
        assert client.get(f"/alerts/{alert_id}/edit").status_code == edit_status, (centre, role)
