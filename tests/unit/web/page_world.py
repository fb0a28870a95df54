"""A world with an alert in every state, and every page of it to render: what test_translated_pages reads.

`build_world(app)` creates users and alerts through the API (draft with a second version and comments, in review,
approved as an exercise and live, scheduled with a centre still to confirm, released with its prepared Cancel and an
Update, cancelled), and lists the pages (`Page`) each audience sees, with the refusals and error pages people meet.
`data_strings(world)` are the texts on those pages that are data, not interface: what people and the phrasebook wrote,
names, places, identifiers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from babel import Locale
from sqlalchemy import select

from alerts import accounts, firing, release
from alerts.audit_browse import detail_summary
from alerts.content import canonical_content
from alerts.gazetteer import PLACES, place_name
from alerts.hazards import HAZARDS
from alerts.models import (
    Alert,
    ApiToken,
    Approval,
    Area,
    AuditEvent,
    Centre,
    Comment,
    ContactPoint,
    PartnerEndpoint,
    User,
    Version,
    VersionText,
)
from alerts.phrasebook import render_texts
from alerts.rendering import render_version
from alerts.vocabulary import LANGUAGES
from channels.specs import TextLimits
from devtools.demo import ensure_centres
from devtools.world import SHORT_TEXTS, Api, flood_alert
from web.i18n import UI_LANGUAGE_NAMES

PASSWORD = "correct horse battery staple"
OPTIONS = release.ReleaseOptions(sandbox={"sms": "+32470000099", "x": "SANDBOX"})
TYPED_INSTRUCTION = "Ga naar boven."
LONG_SHORT = {"en": {"headline": "Flooding in Limburg", "short": "Stay home. " * 80}}


@dataclass
class Page:
    """One page as a user sees it: GET `path`, or POST `form` to it (a refusal, shown where it leads)."""

    name: str
    user: str | None
    path: str
    form: dict | None = None  # POST these fields (csrf_token is added from `csrf_from`)
    csrf_from: str | None = None  # the page whose form is sent ("/login" when None)
    status: int = 200
    follow: bool = True


@dataclass
class World:
    app: object
    users: dict[str, str] = field(default_factory=dict)  # role name -> username
    tokens: dict[str, str] = field(default_factory=dict)  # role name -> API token
    alerts: dict[str, int] = field(default_factory=dict)  # state name -> alert id
    pages: list[Page] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)  # what the pages' forms send that pages show back
    contact_point: int = 0
    audit_before: int = 0  # the audit pages show the events recorded while the world was built
    drill: int = 0


def _user(db, centre: str, *roles: str, name: str) -> str:
    with db.transaction() as session:
        user = accounts.create_user(session, "test", username=name, display_name=f"Person {name}", centre_code=centre,
                                    roles=list(roles), password=PASSWORD)
        _, secret = accounts.create_token(session, "test", user, "tests")
    return secret


def _ok(response, status=(200, 201)):
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_json()
    return response.get_json()


def _wire(db) -> None:
    with db.transaction() as session:
        for centre in session.scalars(select(Centre).where(Centre.code.in_(["BE", "NL"]))):
            centre.channels = {"sms": {}, "x": {"target": centre.code}}


def _approved(apis, status="Actual", texts=None, participants=("NL",)) -> dict:
    alert = _ok(apis["be_comm"].post("/alerts", json=flood_alert(status=status, texts=texts or SHORT_TEXTS,
                                                                  participants=list(participants))))
    _ok(apis["be_comm"].post(f"/alerts/{alert['id']}/submit", headers={"If-Match": '"v1"'}))
    for who in ["be_spoke", *(f"{code.lower()}_spoke" for code in participants)]:
        _ok(apis[who].post(f"/alerts/{alert['id']}/approvals", headers={"If-Match": '"v1"'}, json={
            "decision": "approve", "content_hash": alert["version"]["content_hash"]}))
    return alert


def _schedule(api, alert: dict, channels: dict, at: datetime | None = None) -> None:
    body = {"content_hash": alert["version"]["content_hash"], "channels": channels}
    if at:
        body["at"] = at.isoformat()
    _ok(api.post(f"/alerts/{alert['id']}/release", json=body, headers={"If-Match": '"v1"'}))


def _fire(db) -> None:
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1")


def build_world(app) -> World:
    db = app.extensions["benelert"].db
    with db.transaction() as session:
        ensure_centres(session)
    world = World(app)
    roles = {"be_comm": ("BE", "communicator"), "be_spoke": ("BE", "spokesperson"),
             "be_both": ("BE", "communicator", "spokesperson"), "nl_spoke": ("NL", "spokesperson"),
             "nl_partner": ("NL", "partner"), "be_admin": ("BE", "admin"), "de_network": ("DE-NW", "network-admin")}
    client = app.test_client()
    apis = {}
    for key, (centre, *names) in roles.items():
        world.users[key] = key.replace("_", "-")
        world.tokens[key] = _user(db, centre, *names, name=world.users[key])
        apis[key] = Api(client, world.tokens[key])
    be, alerts = apis["be_comm"], world.alerts

    # a draft with a second version: its translations stale, a number that differs per language, two comments
    draft = _ok(be.post("/alerts", json=flood_alert(participants=["NL"])))
    alerts["draft"] = draft["id"]
    texts = {"nl": {"description": "Het water stijgt tot 2 meter."},
             "fr": {"description": "L'eau monte jusqu'à 3 mètres."}}
    _ok(be.patch(f"/alerts/{draft['id']}", headers={"If-Match": '"v1"'}, json={"severity": "Extreme", "texts": texts}))
    _ok(be.post(f"/alerts/{draft['id']}/comments", json={"body": "Klopt de hoogte?", "field": "texts.fr.headline"}))
    _ok(be.post(f"/alerts/{draft['id']}/comments", json={"body": "Graag nog een blik van NL."}))
    alerts["in_review"] = _ok(be.post("/alerts", json=flood_alert(texts=SHORT_TEXTS)))["id"]
    _ok(be.post(f"/alerts/{alerts['in_review']}/submit", headers={"If-Match": '"v1"'}))
    own = _ok(apis["be_both"].post("/alerts", json=flood_alert(participants=[], texts=SHORT_TEXTS)))
    alerts["own"] = own["id"]
    _ok(apis["be_both"].post(f"/alerts/{own['id']}/submit", headers={"If-Match": '"v1"'},
                             json={"confirm_outside": ["NL"]}))  # its area reaches into NL, which is not invited
    # a draft of BE alone whose area reaches into NL: the alert page asks to confirm before submitting
    alerts["outside"] = _ok(be.post("/alerts", json=flood_alert(participants=[], texts=SHORT_TEXTS)))["id"]
    alerts["approved_exercise"] = _approved(apis, status="Exercise")["id"]
    alerts["too_long"] = _approved(apis, texts=LONG_SHORT)["id"]  # approved before BE had an SMS account
    _wire(db)
    alerts["approved"] = _approved(apis)["id"]
    scheduled = _approved(apis)
    alerts["scheduled"] = scheduled["id"]
    _schedule(apis["be_spoke"], scheduled, {"BE": ["partners"], "NL": ["x"]}, datetime.now(UTC) + timedelta(hours=3))
    released = _approved(apis)
    alerts["released"] = released["id"]
    _schedule(apis["be_spoke"], released, {"BE": ["x", "partners"]})
    _fire(db)
    alerts["update"] = _ok(be.post(f"/alerts/{released['id']}/derive", json={"msg_type": "Update"}))["id"]
    alerts["cancel"] = _ok(apis["be_spoke"].get(f"/alerts/{released['id']}/cancel"))["id"]
    cancelled = _approved(apis)
    alerts["cancelled"] = cancelled["id"]
    _schedule(apis["be_spoke"], cancelled, {"BE": ["partners"]})
    _fire(db)
    cancel = _ok(apis["be_spoke"].get(f"/alerts/{cancelled['id']}/cancel"))
    for who in ("be_spoke", "nl_spoke"):
        _ok(apis[who].post(f"/alerts/{cancel['id']}/approvals", headers={"If-Match": '"v1"'}, json={
            "decision": "approve", "content_hash": cancel["version"]["content_hash"]}))
    _schedule(apis["be_spoke"], _ok(apis["be_spoke"].get(f"/alerts/{cancel['id']}")), {"BE": ["partners"]})
    _fire(db)
    alerts["released_cancel"] = cancel["id"]
    with db.transaction() as session:
        assert session.get(Alert, alerts["cancelled"]).state == "cancelled"
        identifier = session.get(Alert, alerts["released"]).identifier
    # the network's directory: a verified duty desk and a stale spokesperson entry of BE
    admin = Api(client, world.tokens["be_admin"])
    _ok(admin.post("/contact-points", json={"centre": "BE", "field": "duty-desk", "function": "Permanentie NCCN",
                                             "phone": "+3225064711", "languages": ["nl", "fr", "en"], "hours": "24/7",
                                             "verified": True}))
    world.contact_point = _ok(admin.post("/contact-points", json={
        "centre": "BE", "field": "spokesperson", "name": "Woordvoerder van dienst", "email": "press@crisis.example",
        "languages": ["nl", "fr"], "hours": "08:00-20:00"}))["id"]
    # the communication tests: a quarterly schedule, and a test BE's own endpoint has not acknowledged (who to call)
    _ok(admin.post("/centres/BE/partner-endpoints", json={"url": "https://partners.crisis.example/benelert"}))
    _ok(Api(client, world.tokens["de_network"]).put("/communication-tests/schedule", json={
        "enabled": True, "organiser": "BE", "month_of_quarter": 1, "day": 15, "time": "10:00",
        "timezone": "Europe/Brussels", "reminder_sms": True}))
    world.drill = _ok(apis["be_spoke"].post("/communication-tests"))["alert_id"]
    with db.transaction() as session:
        world.audit_before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) + 1
    world.pages = _pages(world, identifier)
    return world


def _pages(world: World, identifier: str) -> list[Page]:
    a, u = world.alerts, world.users
    draft, review = f"/alerts/{a['draft']}", f"/alerts/{a['in_review']}"
    world.typed = [TYPED_INSTRUCTION, "XX", "https://", "AT", "Federal Ministry of the Interior (Austria)", "BMI",
                   "Europe/Vienna"]
    pages = [
        Page("login", None, "/login"),
        Page("login refused", None, "/login", form={"username": "nobody", "password": "wrong password!"},
             status=403),
        Page("login form incomplete", None, "/login", form={"username": "", "password": ""}, status=400),
        Page("dashboard", u["be_comm"], "/alerts"),
        Page("dashboard filtered", u["be_comm"], "/alerts?state=draft"),
        Page("new alert", u["be_comm"], "/alerts/new"),
        Page("new alert refused", u["be_comm"], "/alerts/new", csrf_from="/alerts/new", status=400,
             form={"hazard": "volcano", "status": "Actual", "urgency": "Now", "web": "w" * 301, "expires": ""}),
        Page("new alert invalid date", u["be_comm"], "/alerts/new", csrf_from="/alerts/new", status=400,
             form={"hazard": "flood", "status": "Exercise", "expires": "tomorrow", "participants": "NL"}),
        Page("phrasebook panel", u["be_comm"], "/alerts/new/phrasebook?hazard=flood&participants=NL&places=be-lim"),
        Page("draft", u["be_comm"], draft),
        Page("draft edit", u["be_comm"], f"{draft}/edit"),
        Page("draft edit conflict", u["be_comm"], f"{draft}/edit", csrf_from=f"{draft}/edit", status=409,
             form={"base_version": "1", "text-nl-instruction": TYPED_INSTRUCTION}),
        Page("draft preview", u["be_comm"], f"{draft}/preview", csrf_from=f"{draft}/edit", form={"base_version": "2"}),
        Page("draft diff", u["be_comm"], f"{draft}/diff?from=1&to=2"),
        Page("draft diff missing", u["be_comm"], f"{draft}/diff?from=x&to=2"),
        Page("comment refused", u["be_comm"], f"{draft}/comments", csrf_from=draft, form={"body": "x" * 4001}),
        Page("invite refused", u["be_comm"], f"{draft}/invite", csrf_from=draft,
             form={"centre": "XX", "base_version": "2"}),
        Page("submit refused", u["be_comm"], f"{draft}/submit", csrf_from=draft, form={"base_version": "2"}),
        Page("draft concerning a centre outside", u["be_comm"], f"/alerts/{a['outside']}"),
        Page("submit not confirmed", u["be_comm"], f"/alerts/{a['outside']}/submit",
             csrf_from=f"/alerts/{a['outside']}", form={"base_version": "1", "outside_participants": "NL"}),
        Page("who the area concerns", u["be_comm"], "/alerts/new/jurisdictions", csrf_from="/alerts/new",
             form={"places": "be-lim", "shapes": "51.05,5.70 51.15,5.70 51.15,5.85 51.05,5.85 51.05,5.70"}),
        Page("who the area concerns, no area", u["be_comm"], "/alerts/new/jurisdictions", csrf_from="/alerts/new",
             form={"shapes": ""}),
        Page("who the area concerns, a knot", u["be_comm"], "/alerts/new/jurisdictions", csrf_from="/alerts/new",
             form={"shapes": "50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6"}),
        Page("in review", u["be_comm"], review),
        Page("review", u["be_spoke"], f"{review}/review"),
        Page("reject without reason", u["be_spoke"], f"{review}/decision", csrf_from=f"{review}/review",
             form={"decision": "reject", "reason": "", "base_version": "1"}),
        Page("four eyes", u["be_both"], f"/alerts/{a['own']}/decision", csrf_from=f"/alerts/{a['own']}/review",
             form={"decision": "approve", "base_version": "1"}),
        Page("release exercise", u["be_spoke"], f"/alerts/{a['approved_exercise']}/release"),
        Page("release live", u["be_spoke"], f"/alerts/{a['approved']}/release"),
        Page("release too long", u["be_spoke"], f"/alerts/{a['too_long']}/release"),
        Page("release refused", u["be_spoke"], f"/alerts/{a['approved']}/release", status=422,
             csrf_from=f"/alerts/{a['approved']}/release", form={"when": "now", "base_version": "1"}),
        Page("release at a bad time", u["be_spoke"], f"/alerts/{a['approved']}/release", status=400,
             csrf_from=f"/alerts/{a['approved']}/release", form={"when": "at", "at": "soon", "base_version": "1"}),
        Page("approved", u["be_comm"], f"/alerts/{a['approved']}"),
        Page("scheduled review", u["be_spoke"], f"/alerts/{a['scheduled']}/review"),
        Page("scheduled review awaiting", u["nl_spoke"], f"/alerts/{a['scheduled']}/review"),
        Page("scheduled deliveries", u["be_spoke"], f"/alerts/{a['scheduled']}/deliveries"),
        Page("withdraw without reason", u["be_spoke"], f"/alerts/{a['scheduled']}/release/withdraw",
             csrf_from=f"/alerts/{a['scheduled']}/deliveries", form={"reason": " ", "base_version": "1"}),
        Page("confirm refused", u["be_spoke"], f"/alerts/{a['scheduled']}/release/consents",
             csrf_from=f"/alerts/{a['scheduled']}/deliveries", form={"plan": "stale"}),
        Page("released", u["be_comm"], f"/alerts/{a['released']}"),
        Page("released deliveries", u["be_spoke"], f"/alerts/{a['released']}/deliveries"),
        Page("released deliveries live", u["be_spoke"], f"/alerts/{a['released']}/deliveries/live"),
        Page("released cancel prepared", u["be_spoke"], f"/alerts/{a['cancel']}/review"),
        Page("prepared cancel", u["be_comm"], f"/alerts/{a['cancel']}"),
        Page("prepared cancel edit", u["be_comm"], f"/alerts/{a['cancel']}/edit"),
        Page("update edit", u["be_comm"], f"/alerts/{a['update']}/edit"),
        Page("update", u["be_comm"], f"/alerts/{a['update']}"),
        Page("derive refused", u["be_comm"], f"/alerts/{a['approved']}/derive", csrf_from=f"/alerts/{a['approved']}",
             form={"msg_type": "Update"}),
        Page("cancelled", u["be_comm"], f"/alerts/{a['cancelled']}"),
        Page("released Cancel", u["be_comm"], f"/alerts/{a['released_cancel']}"),
        Page("incoming", u["nl_partner"], "/incoming"),
        Page("incoming alert", u["nl_partner"], f"/incoming/{identifier}"),
        Page("acknowledged", u["nl_partner"], f"/incoming/{identifier}/ack", csrf_from=f"/incoming/{identifier}",
             form={"kind": "read"}),
        Page("centres", u["be_comm"], "/network/centres"),
        Page("centres for a network admin", u["de_network"], "/network/centres"),
        Page("centre settings", u["be_admin"], "/network/centres/BE"),
        Page("centre settings refused", u["be_admin"], "/network/centres/BE", csrf_from="/network/centres/BE",
             form={"name-en": "National Crisis Center (Belgium)", "timezone": "Europe/Nowhere", "languages": "nl"}),
        Page("another centre", u["be_admin"], "/network/centres/NL"),
        Page("centre added", u["de_network"], "/network/centres", csrf_from="/network/centres",
             form={"code": "AT", "name-en": "Federal Ministry of the Interior (Austria)", "name-de": "BMI",
                   "timezone": "Europe/Vienna", "languages": "de", "ack_deadline_minutes": "30", "active": "on"}),
        Page("contact points", u["nl_partner"], "/contact-points"),
        Page("contact points of the admin's centre", u["be_admin"], "/contact-points"),
        Page("new contact point", u["be_admin"], "/contact-points/new"),
        Page("contact point edit", u["be_admin"], f"/contact-points/{world.contact_point}/edit"),
        Page("contact point refused", u["be_admin"], "/contact-points/new", csrf_from="/contact-points/new",
             form={"centre": "BE", "field": "cbrn", "phone": "+32 2 123", "languages": "nl"}, status=422),
        Page("partner endpoints", u["be_admin"], "/network/partner-endpoints"),
        Page("audit trail", u["de_network"], f"/network/audit?before_seq={world.audit_before}"),
        Page("audit trail verified", u["de_network"], f"/network/audit?before_seq={world.audit_before}&verify=1"),
        Page("audit trail of a centre", u["be_admin"],
             f"/network/audit?before_seq={world.audit_before}&action=alert."),
        Page("audit trail, bad filter", u["be_admin"], "/network/audit?since=yesterday", status=422),
        Page("communication tests", u["be_spoke"], "/network/communication-tests"),
        Page("communication tests for a network admin", u["de_network"], "/network/communication-tests"),
        Page("communication test", u["be_comm"], f"/network/communication-tests/{world.drill}"),
        Page("communication test refused", u["be_comm"], "/network/communication-tests",
             csrf_from="/network/communication-tests", form={}),
        Page("schedule refused", u["de_network"], "/network/communication-tests/schedule",
             csrf_from="/network/communication-tests", form={"enabled": "on", "organiser": "BE", "day": "30",
                                                             "month_of_quarter": "1", "time": "10:00",
                                                             "timezone": "Europe/Brussels"}),
        Page("users", u["be_admin"], "/users"),
        Page("user", u["be_admin"], f"/users/{u['be_comm']}"),
        Page("set password, unknown link", None, "/set-password/no-such-link", status=404),
        Page("not found", u["be_comm"], "/alerts/999999", status=404),
        Page("forbidden", u["nl_partner"], f"/alerts/{a['released']}/edit", status=403),
        Page("no such address", u["be_comm"], "/nothing-here", status=404),
        Page("method not allowed", u["be_comm"], "/logout", status=405),
        Page("form expired", u["be_comm"], "/logout", form={}, csrf_from="", status=400),
        Page("internal error", u["be_comm"], "/test-boom", status=500),
    ]
    return pages


def data_strings(world: World) -> list[str]:
    """What the pages show that is data, longest first: texts (people's and the phrasebook's, also as rendered for
    each channel), areas and places, comments and reasons, people, centres and identifiers."""
    db = world.app.extensions["benelert"].db
    found: set[str] = set(world.typed)
    found |= set(UI_LANGUAGE_NAMES.values())  # the language menu names each language in itself ("English")
    # the centre forms name the publishing languages in the interface language, as Babel's CLDR data spells them
    found |= {Locale.parse(code).get_display_name(ui) for code in LANGUAGES for ui in (*UI_LANGUAGE_NAMES, "en")}
    with db.transaction() as session:
        found |= set(session.scalars(select(VersionText.body)))
        found |= set(session.scalars(select(Area.description)))
        found |= set(session.scalars(select(Comment.body)))
        found |= set(session.scalars(select(Approval.reason)))
        found |= {name for user in session.scalars(select(User)) for name in (user.username, user.display_name)}
        found |= set(session.scalars(select(Alert.identifier)))
        found |= {value for point in session.scalars(select(ContactPoint))
                  for value in (point.name, point.function, point.email, point.phone, point.hours, point.notes)}
        found |= {value for token in session.scalars(select(ApiToken)) for value in (token.name, token.prefix)}
        found |= {value for endpoint in session.scalars(select(PartnerEndpoint))
                  for value in (endpoint.url, endpoint.disabled_reason)}
        for event in session.scalars(select(AuditEvent)):  # the audit trail's records: who, what, on what, details
            # as the page shows them (numbers need not be data: the checks skip words without letters, and a bare
            # "3" taken as data would cut "GSM-7" or "version 3" out of every other page's text)
            found |= {text for text in (event.actor, event.action, event.object_id) if re.search(r"[^\W\d_]", text)}
            found |= {key if value is None or isinstance(value, bool) else f"{key}: {value}"
                      for key, value in detail_summary(event.detail)}
        for centre in session.scalars(select(Centre)):
            found |= {centre.code, centre.timezone} | {centre.name(language) for language in LANGUAGES}
        limits = TextLimits.from_settings(world.app.extensions["benelert"].settings)
        for version in session.scalars(select(Version)):
            content = canonical_content(version)
            renderings = render_version(content, limits)
            found |= {rendering.text for rendering in renderings}
            # the encoding coach quotes characters and the words they are in
            found |= {item for rendering in renderings if rendering.coach
                      for char, words in rendering.coach.chars for item in (char, *words)}
            if "nl" in content["texts"]:  # the preview of the conflict page: the draft with the change kept
                content["texts"]["nl"]["instruction"] = {"body": TYPED_INSTRUCTION, "status": "human"}
                found |= {rendering.text for rendering in render_version(content, limits)}
    for hazard in ("flood", next(iter(HAZARDS))):
        for places in ([], ["be-lim"]):
            for language in LANGUAGES:
                for country in ("BE", "NL"):
                    texts = render_texts(hazard, language, places=places, onset=None, expires=None,
                                         timezone="Europe/Brussels", country=country)
                    found |= {texts.headline, texts.description, texts.instruction}
    for code in PLACES:
        found |= {place_name(code, language) for language in LANGUAGES}
    found = {" ".join(text.split()) for text in found if text}  # as a page shows it: white space collapsed
    return sorted((text for text in found if re.search(r"\w", text)), key=len, reverse=True)
