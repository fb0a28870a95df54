"""Issue #18, done when: a deployment set up from an empty database through the CLI and the API only, as README
"Setting up a real deployment" describes it. The operator migrates the database and adds the first centre and the
network administrator (CLI); the network administrator adds the other 25 centres and invites an admin for each
(one-time link, set-password page); each admin adds a desk user, the centre's channels, a partner endpoint pointed at
a local receiver and contact points. Then BE's spokesperson starts a communication test; the worker side (in this
process, as worker.py runs it) sends it; every receiver verifies every copy with the `standardwebhooks` reference
library; 24 centres acknowledge through the API and 2 stay silent; the report says so. On SQLite and PostgreSQL."""
from __future__ import annotations

import re
import time
from collections import defaultdict
from urllib.parse import urlsplit

import phonenumbers
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.wrappers import Request, Response

from alerts import firing
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.outcomes import apply_held_reports
from alerts.release import ReleaseOptions
from channels import build_channels
from devtools.demo import CENTRES, PARTNER_CENTRES
from devtools.fakes.server import FakeServer, json_response
from devtools.world import Api, write_channels_file

OPERATOR_PASSWORD = "network operations passphrase"
ADMIN_PASSWORD = "a centre administrator passphrase"
DESK_PASSWORD = "a duty desk passphrase for tests"
LINK = re.compile(r"(?:https?://[^/\s\"]+)?(/set-password/[A-Za-z0-9_-]+)")
TOKEN = re.compile(r"token \d+ for (\S+): (bnl_\S+)")
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
STARTER = "BE"
SILENT = ("IS", "PT")  # the two centres that do not acknowledge
DEADLINE_S = 30  # how long the worker side may take to send every copy

# The 14 centres of the network's founding meeting (the demo's), and 12 more European crisis centres
EXTRA_CENTRES = [
    {"code": "PL", "timezone": "Europe/Warsaw", "languages": ["en"],
     "names": {"en": "Government Centre for Security (Poland)", "de": "Regierungszentrum für Sicherheit (Polen)"}},
    {"code": "CZ", "timezone": "Europe/Prague", "languages": ["en"],
     "names": {"en": "General Directorate of the Fire Rescue Service (Czech Republic)"}},
    {"code": "SK", "timezone": "Europe/Bratislava", "languages": ["en"],
     "names": {"en": "Ministry of Interior, Crisis Management Section (Slovakia)"}},
    {"code": "SI", "timezone": "Europe/Ljubljana", "languages": ["en"],
     "names": {"en": "Administration for Civil Protection and Disaster Relief (Slovenia)"}},
    {"code": "HR", "timezone": "Europe/Zagreb", "languages": ["en"],
     "names": {"en": "Civil Protection Directorate (Croatia)"}},
    {"code": "EE", "timezone": "Europe/Tallinn", "languages": ["en"], "names": {"en": "Estonian Rescue Board"}},
    {"code": "LV", "timezone": "Europe/Riga", "languages": ["en"],
     "names": {"en": "State Fire and Rescue Service (Latvia)"}},
    {"code": "LT", "timezone": "Europe/Vilnius", "languages": ["en"],
     "names": {"en": "Fire and Rescue Department (Lithuania)"}},
    {"code": "IE", "timezone": "Europe/Dublin", "languages": ["en"],
     "names": {"en": "National Emergency Coordination Centre (Ireland)"}},
    {"code": "PT", "timezone": "Europe/Lisbon", "languages": ["en"],
     "names": {"en": "National Emergency and Civil Protection Authority (Portugal)",
               "fr": "Autorité nationale des urgences et de la protection civile (Portugal)"}},
    {"code": "ES", "timezone": "Europe/Madrid", "languages": ["en"],
     "names": {"en": "Directorate-General for Civil Protection and Emergencies (Spain)",
               "fr": "Direction générale de la protection civile et des urgences (Espagne)"}},
    {"code": "CH", "timezone": "Europe/Zurich", "languages": ["de", "fr", "en"],
     "names": {"en": "Federal Office for Civil Protection (Switzerland)", "de": "Bundesamt für Bevölkerungsschutz",
               "fr": "Office fédéral de la protection de la population"}},
]
NETWORK = ([dict(c) for c in CENTRES] + [{**c, "languages": ["en"]} for c in PARTNER_CENTRES] + EXTRA_CENTRES)


def e164(code: str, kind=phonenumbers.PhoneNumberType.FIXED_LINE) -> str:
    """A number of the centre's country that libphonenumber holds valid (DE-NW: Germany's)."""
    number = phonenumbers.example_number_for_type(code.split("-")[0], kind)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PartnerDesks(FakeServer):
    """The partner centres' receiving ends, one path each (/partners/<code>) on one threaded loopback server. Each
    verifies a request with its centre's secret through the reference library and records what it got; anything
    that does not verify is answered 401 and kept in `refused`."""

    def __init__(self):
        super().__init__()
        self.secrets: dict[str, str] = {}
        self.received: dict[str, list[dict]] = defaultdict(list)  # centre -> verified bodies, with their webhook-id
        self.refused: list[tuple[str, str]] = []  # (path, why)

    def endpoint(self, code: str) -> str:
        return f"{self.url}/partners/{code}"

    def copies(self, kind: str) -> dict[str, list[dict]]:
        with self.lock:
            return {code: [m for m in got if m["type"] == kind] for code, got in self.received.items()}

    def handle(self, request: Request) -> Response:
        code = request.path.removeprefix("/partners/")
        with self.lock:
            secret = self.secrets.get(code)
        try:
            if secret is None:
                raise WebhookVerificationError(f"no partner centre at {request.path}")
            body = Webhook(secret).verify(request.get_data(), dict(request.headers))
        except WebhookVerificationError as error:
            with self.lock:
                self.refused.append((request.path, str(error)))
            return json_response({"ok": False}, 401)
        with self.lock:
            self.received[code].append({"webhook_id": request.headers["webhook-id"], **body})
        return json_response({"ok": True}, 200)


@pytest.fixture
def desks():
    with PartnerDesks() as server:
        yield server


@pytest.fixture
def empty_url(database_url, tmp_path):
    """SQLite: a new file, not even migrated (`flask db upgrade` makes it); PostgreSQL: the tests' schema, migrated
    once per session and emptied for this test."""
    return f"sqlite:///{tmp_path / 'deployment.db'}" if database_url.startswith("sqlite") else database_url


@pytest.fixture
def deployment(make_app, empty_url, tmp_path):
    """A development deployment (http endpoints on loopback allowed, as `make run`) on the empty database."""
    return make_app(env="development", database_url=empty_url, channels_file=write_channels_file(
        tmp_path, {"partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"}}))


class Operator:
    """`flask --app app …` at the server."""

    def __init__(self, app):
        self.runner = app.test_cli_runner()

    def run(self, *args: str, input: str | None = None) -> str:
        result = self.runner.invoke(args=list(args), input=input)
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    def token(self, username: str) -> str:
        """A personal API token (README "Command line": the only place one is made)."""
        found = TOKEN.search(self.run("users", "token", username, "--name", "network setup"))
        assert found and found.group(1) == username
        return found.group(2)


def ok(answer, status: int = 200) -> dict | list:
    assert answer.status_code == status, (answer.status_code, answer.get_json())
    return answer.get_json()


def form_post(app, path: str, fields: dict):
    """A browser filling in a page's form: GET it for its CSRF token, POST it."""
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return browser.post(path, data={**fields, "csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)})


def start_deployment(app, operator: Operator) -> Api:
    """Step 1: the database, the first centre and the network administrator, from the command line."""
    operator.run("db", "upgrade")
    assert operator.run("centres", "list") == "" and operator.run("users", "list") == ""  # nothing, no seed-demo
    be = next(c for c in NETWORK if c["code"] == "BE")
    added = operator.run("centres", "add", "BE", *[f"--name={lang}={name}" for lang, name in be["names"].items()],
                         "--timezone", be["timezone"], "--languages", ",".join(be["languages"]),
                         "--ack-deadline", "30")
    assert added.startswith("added ") and '"code": "BE"' in added
    created = operator.run("users", "create", "ops.network", "--centre", "BE", "--role", "network-admin",
                           "--name", "Network operations", input=f"{OPERATOR_PASSWORD}\n{OPERATOR_PASSWORD}\n")
    assert "created ops.network (BE: network-admin)" in created
    return Api(app.test_client(), operator.token("ops.network"))


def add_admin(app, network: Api, operator: Operator, code: str) -> Api:
    """The network administrator invites the centre's admin; the admin chooses a password with the one-time link;
    the operator gives them an API token."""
    username = f"{code.lower()}.admin"
    invited = ok(network.post(f"/centres/{code}/users", json={"username": username, "display_name": f"Admin {code}",
                                                              "roles": ["admin"]}), 201)
    assert (invited["centre"], invited["has_password"], invited["password_link"]["purpose"]) == (code, False, "invite")
    path = LINK.search(invited["password_link"]["url"]).group(1)
    chosen = form_post(app, path, {"password": ADMIN_PASSWORD, "confirm": ADMIN_PASSWORD})
    assert chosen.status_code == 302 and urlsplit(chosen.headers["Location"]).path == "/login"
    assert app.test_client().get(path).status_code == 410  # the link worked once
    return Api(app.test_client(), operator.token(username))


def equip_centre(admin: Api, operator: Operator, desks: PartnerDesks, centre: dict) -> Api:
    """As the centre's admin: its desk user, its channels, its partner endpoint and its contact points. Returns the
    desk user's API client."""
    code, slug = centre["code"], centre["code"].lower()
    desk = ok(admin.post(f"/centres/{code}/users", json={
        "username": f"{slug}.desk", "display_name": f"Duty desk {code}", "roles": ["communicator", "spokesperson"],
        "password": DESK_PASSWORD}), 201)
    assert desk["has_password"] is True and desk["password_link"] is None
    national = ok(admin.put(f"/centres/{code}/channels/national", json={
        "target": f"https://cap.{slug}.example.eu/benelert", "test_target": f"{desks.url}/national-test/{code}"}))
    assert national["configured"] and national["test_target"].startswith("http://127.0.0.1")  # development allows it
    sms = ok(admin.put(f"/centres/{code}/channels/sms", json={"test_target": e164(code, phonenumbers.PhoneNumberType
                                                                                   .MOBILE)}))
    assert sms["test_target"] == e164(code, phonenumbers.PhoneNumberType.MOBILE)

    endpoint = ok(admin.post(f"/centres/{code}/partner-endpoints", json={"url": desks.endpoint(code)}), 201)
    assert endpoint["secret"].startswith("whsec_") and endpoint["active"]
    with desks.lock:
        desks.secrets[code] = endpoint["secret"]  # passed on to the partner centre, never shown again
    ping = ok(admin.post(f"/centres/{code}/partner-endpoints/{endpoint['id']}/ping"))
    assert (ping["ok"], ping["status_code"]) == (True, 200), ping

    language = "en" if "en" in centre["languages"] else centre["languages"][0]
    ok(admin.post("/contact-points", json={
        "centre": code, "field": "duty-desk", "function": "24/7 duty officer", "phone": e164(code),
        "languages": sorted({"en", language}), "hours": "24/7", "verified": True}), 201)
    ok(admin.post("/contact-points", json={
        "centre": code, "field": "crisis-communication", "name": f"Crisis communication {code}",
        "email": f"crisis-communication@{slug}.example.eu", "languages": ["en"], "hours": "office hours",
        "verified": True}), 201)
    return Api(admin.client, operator.token(f"{slug}.desk"))


def send_until_every_copy_is_out(app, desks: PartnerDesks, expected: int) -> None:
    """The worker side, as worker.py runs it: fire due releases, send the ledger through the real partner channel,
    apply held provider reports; until every receiver got its copy (or a copy failed to verify)."""
    services = app.extensions["benelert"]
    options = ReleaseOptions.from_settings(services.settings)
    dispatcher = Dispatcher(services.db, build_channels(services.channels_config), "network-e2e",
                            DispatchOptions(threads=1, base_backoff=0.2))
    deadline = time.monotonic() + DEADLINE_S
    while True:
        with services.db.transaction() as session:
            firing.release_due(session, options, "network-e2e")
        while dispatcher.run_once():
            pass
        apply_held_reports(services.db)
        got = sum(len(copies) for copies in desks.copies("alert.published").values())
        if got >= expected or desks.refused or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert desks.refused == []  # every copy verified with its centre's secret
    assert got == expected, f"{got} of {expected} copies arrived within {DEADLINE_S} s"


def test_a_network_of_26_centres_from_an_empty_database_runs_a_communication_test(deployment, desks):
    operator = Operator(deployment)
    network = start_deployment(deployment, operator)
    assert ok(network.get("/me"))["roles"] == ["network-admin"]

    # step 2: the other centres, by the network administrator
    for centre in NETWORK:
        if centre["code"] != "BE":
            created = ok(network.post("/centres", json={**centre, "ack_deadline_minutes": 30}), 201)
            assert created["names"]["en"] == centre["names"]["en"] and created["active"]
    codes = sorted(c["code"] for c in NETWORK)
    assert len(codes) == 26 and [c["code"] for c in ok(network.get("/centres"))] == codes

    # their admins, and what each admin sets up for the centre
    staff: dict[str, Api] = {}
    for centre in NETWORK:
        admin = add_admin(deployment, network, operator, centre["code"])
        staff[centre["code"]] = equip_centre(admin, operator, desks, centre)
    assert {code: len(pings) for code, pings in desks.copies("benelert.ping").items()} == dict.fromkeys(codes, 1)
    # an admin logs in with the password chosen through the link (one login for all: argon2 is slow on purpose)
    login = form_post(deployment, "/login", {"username": "pt.admin", "password": ADMIN_PASSWORD})
    assert login.status_code == 302, login.get_data(as_text=True)
    reader = staff["NL"]
    duty_desks = ok(reader.get("/contact-points?field=duty-desk"))
    assert sorted(p["centre"] for p in duty_desks) == codes and all(p["phone"] and not p["stale"] for p in duty_desks)
    active_endpoints = [e for code in codes
                        for e in ok(network.get(f"/centres/{code}/partner-endpoints")) if e["active"]]
    users = operator.run("users", "list").splitlines()
    assert len(users) == 1 + 2 * 26 and not any("no password yet" in line for line in users)

    # step 4: BE's spokesperson starts a communication test; its copy goes to every active partner endpoint (BE's too)
    started = ok(staff[STARTER].post("/communication-tests"), 201)
    test_id, identifier = started["alert_id"], started["identifier"]
    assert (started["lead_centre"], started["started_by"], started["scheduled"]) == (STARTER, "be.desk", None)
    assert started["of"] == len(active_endpoints) == 26
    assert [p["centre"] for p in started["partners"]] == codes
    assert {(p["delivery"], p["status"]) for p in started["partners"]} == {("pending", "waiting")}

    send_until_every_copy_is_out(deployment, desks, expected=len(active_endpoints))
    copies = desks.copies("alert.published")
    assert {code: len(got) for code, got in copies.items()} == dict.fromkeys(codes, 1)  # once each, all verified
    for code, (copy,) in copies.items():
        summary = copy["data"]["summary"]
        assert (summary["identifier"], summary["mode"], summary["lead"]) == (identifier, "Test", STARTER), code
        assert f"<identifier>{identifier}</identifier>" in copy["data"]["cap"]
        assert "<status>Test</status>" in copy["data"]["cap"]

    # each receiving centre acknowledges as its desk user, except the silent two
    for code in codes:
        if code not in SILENT:
            acked = ok(staff[code].post("/acks", json={"identifier": identifier, "kind": "received", "centre": code}),
                       201)
            assert acked["created"] == 1 and acked["acks"][0]["user"] == f"{code.lower()}.desk"

    # step 5: the report
    report = ok(reader.get(f"/communication-tests/{test_id}"))
    assert (report["state"], report["of"], report["acknowledged"], report["overdue"]) == ("released", 26, 24, 0)
    assert report["sent_at"] is not None
    partners = {p["centre"]: p for p in report["partners"]}
    assert sorted(partners) == codes and {p["delivery"] for p in partners.values()} == {"sent"}
    answered = []
    for code, partner in partners.items():
        assert partner["deadline_minutes"] == 30 and partner["due_at"] is not None
        if code in SILENT:
            assert (partner["acknowledged"], partner["at"], partner["seconds"], partner["status"]) == (
                False, None, None, "waiting")
            contacts = {c["field"]: c for c in partner["contacts"]}
            assert contacts["duty-desk"]["phone"] == e164(code) and contacts["duty-desk"]["hours"] == "24/7"
            assert contacts["crisis-communication"]["email"] == f"crisis-communication@{code.lower()}.example.eu"
        else:
            assert partner["acknowledged"] and partner["status"] == "acknowledged" and partner["contacts"] == []
            assert partner["at"] is not None and partner["seconds"] is not None and partner["seconds"] >= 0
            answered.append(partner["seconds"])
    assert len(answered) == 24 and report["slowest_seconds"] == max(answered)

    history = ok(reader.get("/communication-tests"))
    assert history[0] == report  # the newest first: this one, as the report shows it

    assert operator.run("audit", "verify").startswith("audit chain intact: ")  # every step above, audited
