"""Issue #18 in a real browser (Playwright for Python driving Debian's Chromium, headless, as test_browser.py): a
centre's administrator walks the admin pages, clicking and typing, in Dutch (the BE administrator, whose browser
asks for Dutch) and in French (the LU administrator, who picks Français in the language menu):

1. the centre: the Network directory, the own centre's settings form (a new acknowledgement deadline saved; an
   unknown time zone refused in the reader's language, nothing changed);
2. a partner endpoint: added (its secret shown once), its secret rotated (both fingerprints, the new secret shown
   once), the old secret removed, and a ping that a local receiver verifies with the Standard Webhooks reference
   library and the current secret;
3. a contact point: a 24/7 duty desk added (a rejected phone number first), marked as verified, the CSV export;
4. the communication-test history (test_communication_test_history_walk).

Every expected text is the catalog's translation, and must be one (`say` fails on an untranslated message). The
deployment is a development one: only there may a partner endpoint be a plain http:// address on 127.0.0.1.
Screenshots go to test-output/screenshots/admin/. Chromium is required: without /usr/bin/chromium this test fails.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from alerts import accounts, contact_points
from alerts.contact_points_export import CSV_COLUMNS
from alerts.models import Centre, ContactPoint, PartnerEndpoint, User
from alerts.partner_endpoints import fingerprint, new_secret
from alerts.phrasebook import po_path
from devtools.demo import ensure_centres
from devtools.world import ServedApp, write_channels_file
from tests.conftest import PASSWORD
from tests.system.test_browser import SHOTS, TIMEOUT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@dataclass(frozen=True)
class Walker:
    """An administrator, the way they get their language, and what they type."""

    language: str
    centre: str
    username: str
    display_name: str
    browser_locale: str  # the browser's Accept-Language
    picks_language: bool  # chooses the language in the page's menu rather than by the browser's
    deadline: int  # the acknowledgement deadline (minutes) they set
    function: str  # of the duty desk they add
    bad_phone: str
    phone: str
    phone_e164: str


WALKERS = [
    Walker("nl", "BE", "be-admin", "Beheerder BE", "nl-BE", False, 45, "Dienstdoende officier",
           "+32 12", "+32 2 506 47 11", "+3225064711"),
    Walker("fr", "LU", "lu-admin", "Administratrice LU", "en-GB", True, 30, "Officier de permanence",
           "+352 12", "+352 2478 4747", "+35224784747"),
]
OTHER = {"BE": "LU", "LU": "BE"}  # the partner centre in each walk's communication test
PARTNER_DESK, PARTNER_DESK_E164 = "+352 2478 4747", "+35224784747"


@lru_cache(maxsize=4)
def _catalog(language: str):
    with po_path(language).open("rb") as po:
        return read_po(po)


class Say:
    """The catalog's translation of a message, as the page shows it; fails when the catalog has none."""

    def __init__(self, language: str):
        self.language = language

    def template(self, msgid: str) -> str:
        message = _catalog(self.language).get(msgid)
        assert message is not None and message.string and not message.fuzzy, \
            f"no {self.language} translation of {msgid!r}"
        return message.string

    def __call__(self, msgid: str, **values) -> str:
        text = self.template(msgid)
        return text % values if values else text

    def pattern(self, msgid: str, **values) -> re.Pattern:
        """The translation with `values` filled in, any other placeholder as a number (%d) or some text (%s)."""
        text, parts, at = self.template(msgid), [], 0
        for match in PLACEHOLDER.finditer(text):
            parts.append(re.escape(text[at:match.start()]))
            name = match.group(1)
            parts.append(re.escape(str(values[name])) if name in values
                         else r"\d+" if match.group(0).endswith("d") else ".+")
            at = match.end()
        parts.append(re.escape(text[at:]))
        return re.compile("".join(parts))


class SigningReceiver:
    """A partner's endpoint on 127.0.0.1 (http.server in a thread): a request is accepted (200) only when the
    Standard Webhooks reference library verifies it with `secret`, the partner's current secret; else 401."""

    def __init__(self):
        self.secret: str | None = None
        self.accepted: list[tuple[dict, dict]] = []  # (payload, headers)
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = dict(self.headers.items())
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except (WebhookVerificationError, TypeError, ValueError):
                    receiver.refused += 1
                    self.send_response(401)
                else:
                    receiver.accepted.append((payload, headers))
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"ok": self.path == "/benelert"}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/benelert"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(make_app, tmp_path):
    """A development deployment (http:// partner endpoints allowed, loopback reachable) on a real port, the
    network's centres and an administrator for BE and one for LU."""
    with ExitStack() as stack:
        app = make_app(env="development", secure_cookies=False, channels_file=write_channels_file(
            tmp_path, {"partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"}}))
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
            for walker in WALKERS:
                accounts.create_user(session, "test", username=walker.username, display_name=walker.display_name,
                                     centre_code=walker.centre, roles=["admin"], password=PASSWORD)
        served = ServedApp(app)
        stack.callback(served.stop)
        receiver = SigningReceiver()
        stack.callback(receiver.stop)
        yield {"url": served.url, "db": db, "receiver": receiver}


@pytest.fixture
def shots(request):
    """Screenshots in a folder of this test's own (test_browser.py empties its folders when it starts)."""
    walk = re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")
    folder = SHOTS / "admin" / walk
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)

    return shot


def log_in(browser: Browser, url: str, walker: Walker) -> Page:
    """The login page in the browser's language; the French walker first picks Français in the language menu."""
    page = browser.new_context(base_url=url, locale=walker.browser_locale).new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto("/login")
    if walker.picks_language:
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()  # the browser asked for English
        page.get_by_label("Language").select_option(walker.language)
        page.get_by_role("button", name="Switch").click()
    expect(page.locator("html")).to_have_attribute("lang", walker.language)
    say = Say(walker.language)
    page.get_by_label(say("Username")).fill(walker.username)
    page.get_by_label(say("Password")).fill(PASSWORD)
    page.get_by_role("button", name=say("Log in")).click()
    expect(page).to_have_url(re.compile(r"/alerts$"))
    expect(page.locator("html")).to_have_attribute("lang", walker.language)
    return page


def flash_ok(page: Page) -> Locator:
    return page.locator("main .flash.ok")


def flash_error(page: Page) -> Locator:
    return page.locator("main .flash.error")


def centre_settings(db, code: str) -> tuple:
    with db.transaction() as session:
        return tuple(session.execute(select(Centre.timezone, Centre.ack_deadline_minutes)
                                     .where(Centre.code == code)).one())


@pytest.mark.parametrize("walker", WALKERS, ids=lambda walker: f"{walker.language}-{walker.centre}-admin")
def test_an_administrator_walks_the_admin_pages(world, browser, shots, walker):
    say, db, code = Say(walker.language), world["db"], walker.centre
    page = log_in(browser, world["url"], walker)
    zone_before, _ = centre_settings(db, code)

    # 1. The centre: the Network directory, then the own centre's settings.
    page.get_by_role("link", name=say("Network"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Centres of the network"))
    page.get_by_role("link", name=code, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{code} · ")
    deadline = page.get_by_label(say("Acknowledgement deadline in minutes (empty: none)"))
    deadline.fill(str(walker.deadline))
    page.get_by_role("button", name=say("Save the settings")).click()
    expect(flash_ok(page)).to_have_text(say("Settings of %(code)s saved.", code=code))
    expect(deadline).to_have_value(str(walker.deadline))
    shots(page, "centre-settings-saved")
    page.get_by_role("link", name=say("Centres of the network")).click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=code, exact=True))
    expect(row).to_contain_text(say("%(minutes)d min", minutes=walker.deadline))
    expect(row).to_contain_text(zone_before)
    assert centre_settings(db, code) == (zone_before, walker.deadline)

    # an unknown time zone: the reason in the reader's language, and nothing of the form saved
    page.get_by_role("link", name=code, exact=True).click()
    page.get_by_label(say("Time zone")).fill("Europe/Atlantis")
    deadline.fill(str(walker.deadline + 1))
    page.get_by_role("button", name=say("Save the settings")).click()
    expect(flash_error(page)).to_have_text(say("Give a time zone of the IANA database, e.g. Europe/Brussels."))
    expect(flash_ok(page)).to_have_count(0)
    expect(page.get_by_label(say("Time zone"))).to_have_value(zone_before)
    expect(deadline).to_have_value(str(walker.deadline))
    shots(page, "centre-unknown-time-zone-refused")
    assert centre_settings(db, code) == (zone_before, walker.deadline)

    # 2. A partner endpoint: added, its secret rotated, the old secret removed, pinged.
    receiver = world["receiver"]
    page.get_by_role("link", name=say("Partner endpoints"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(say("Partner endpoints of %(centre)s", centre=code))
    expect(page.get_by_text(say("This centre has no partner endpoints yet."))).to_be_visible()
    expect(page.locator("#url-help")).to_have_text(  # a development deployment: http:// allowed
        say("An http:// or https:// URL (http:// only in development), without a user name or password."))
    page.get_by_label(say("Address")).fill(receiver.url)
    page.get_by_role("button", name=say("Add"), exact=True).click()
    expect(flash_ok(page)).to_have_text(say("Partner endpoint added."))
    first = shown_secret(page, say)
    endpoint = page.get_by_role("row").filter(has_text=receiver.url)
    expect(endpoint).to_contain_text(fingerprint(first))
    expect(endpoint).to_contain_text(say("active"))
    shots(page, "partner-endpoint-added-secret-shown-once")
    page.get_by_role("link", name=say("Partner endpoints"), exact=True).click()  # shown once: not again
    expect(page.get_by_role("region", name=say("New signing secret"))).to_have_count(0)
    expect(endpoint).to_contain_text(fingerprint(first))
    assert first not in page.content()

    endpoint.get_by_role("button", name=say("Rotate the secret")).click()
    expect(flash_ok(page)).to_have_text(say("New secret added: copies are now signed with both secrets."))
    second = shown_secret(page, say)
    assert second != first and first not in page.content()
    new_print, old_print = fingerprint(second), fingerprint(first)
    expect(endpoint.get_by_role("listitem").filter(has_text=new_print)).to_contain_text(f"({say('new')})")
    expect(endpoint.get_by_role("listitem").filter(has_text=old_print)).to_contain_text(f"({say('old')})")
    expect(endpoint).to_contain_text(
        say("Both secrets sign every copy. Remove the old one once the partner verifies with the new one."))
    expect(endpoint.get_by_role("button", name=say("Rotate the secret"))).to_have_count(0)  # one rotation at a time
    shots(page, "partner-endpoint-rotating-both-fingerprints")

    endpoint.get_by_role("listitem").filter(has_text=old_print).get_by_role(
        "button", name=say("Remove this secret")).click()
    expect(flash_ok(page)).to_have_text(say("Secret %(fingerprint)s removed: it no longer signs copies.",
                                            fingerprint=old_print))
    expect(endpoint).to_contain_text(new_print)
    expect(endpoint).not_to_contain_text(old_print)
    expect(endpoint.get_by_role("button", name=say("Remove this secret"))).to_have_count(0)
    expect(page.get_by_role("region", name=say("New signing secret"))).to_have_count(0)
    with db.transaction() as session:
        assert session.scalars(select(PartnerEndpoint.secrets)).all() == [[second]]

    receiver.secret = second  # the partner now holds the new secret only
    endpoint.get_by_role("button", name=say("Ping")).click()
    expect(flash_ok(page)).to_have_text(say.pattern("The endpoint answered %(status)d in %(ms)d ms.", status=200))
    shots(page, "partner-endpoint-pinged")
    assert receiver.refused == 0 and len(receiver.accepted) == 1
    payload, headers = receiver.accepted[0]
    assert payload["type"] == "benelert.ping" and payload["data"]["centre"] == code
    assert headers["webhook-signature"].count("v1,") == 1  # signed with the current secret only

    # 3. A contact point: the 24/7 duty desk, a rejected phone number first.
    page.get_by_role("link", name=say("Contact points"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Contact points of the network"))
    own = page.get_by_role("region", name=re.compile(rf"^{code} · "))
    expect(own).to_contain_text(say("No contact points yet."))
    own.get_by_role("link", name=say("Add a contact point")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say("New contact point"))
    page.get_by_label(say("Field of work")).select_option(label=say("24/7 duty desk"))
    page.get_by_label(say("Function")).fill(walker.function)
    page.get_by_label(say("Phone")).fill(walker.bad_phone)
    page.get_by_label(say("Hours")).fill("24/7")
    page.get_by_role("button", name=say("Save"), exact=True).click()
    expect(flash_error(page)).to_have_text(say(
        "%(label)s: %(value)s", label=say("Phone"),
        value=say("“%(phone)s” is not a valid phone number in the numbering plan of its country.",
                  phone=walker.bad_phone)))
    expect(page.get_by_label(say("Function"))).to_have_value(walker.function)  # what was typed is kept
    shots(page, "contact-point-phone-refused")
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ContactPoint)) == 0

    page.get_by_label(say("Phone")).fill(walker.phone)
    page.get_by_role("button", name=say("Save"), exact=True).click()
    expect(flash_ok(page)).to_have_text(say("Contact point saved."))
    desk = own.get_by_role("row").filter(has_text=walker.function)
    expect(desk).to_contain_text(say("24/7 duty desk"))
    expect(desk).to_contain_text(walker.phone_e164)
    expect(desk).to_contain_text(say("never"))
    desk.get_by_role("button", name=say("Mark as verified")).click()
    expect(flash_ok(page)).to_have_text(
        say("Marked as verified: the entry is not stale for another three months."))
    expect(desk).to_contain_text(walker.display_name)
    expect(desk).not_to_contain_text(say("never"))
    expect(desk).not_to_have_class(re.compile("stale"))
    shots(page, "contact-point-verified")

    export = page.get_by_role("link", name=say("Download as CSV"))
    with page.expect_download() as downloading:
        export.click()
    download = downloading.value
    assert download.suggested_filename == "benelert-contact-points.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [row["phone"] for row in rows] == [walker.phone_e164]
    assert rows[0]["centre"] == code and rows[0]["field"] == "duty-desk"
    assert rows[0]["field_label"] == say("24/7 duty desk")  # in the reader's language
    assert rows[0]["stale"] == "false" and rows[0]["last_verified_at"]
    answer = page.request.get(export.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    assert answer.text().splitlines()[0] == ",".join(CSV_COLUMNS)


def shown_secret(page: Page, say: Say) -> str:
    """The new secret on the page, with the warning that it is shown only now; returned."""
    shown = page.get_by_role("region", name=say("New signing secret"))
    expect(shown.get_by_role("alert")).to_have_text(say(
        "This secret is shown only now. Pass it to the partner centre now, by phone or secure mail: once you "
        "leave this page, nobody can read it again."))
    secret = shown.get_by_label(say("Secret")).input_value()
    assert secret.startswith("whsec_")
    expect(shown).to_contain_text(say("Fingerprint: %(fingerprint)s", fingerprint=fingerprint(secret)))
    return secret


@pytest.mark.parametrize("walker", WALKERS, ids=lambda walker: f"{walker.language}-{walker.centre}-admin")
def test_communication_test_history_walk(world, browser, shots, walker):
    """The communication tests, in the administrator's language: one started from the history page, listed with the
    partner centre that has not acknowledged it yet, and its report naming whom to call there."""
    db, partner = world["db"], OTHER[walker.centre]
    with db.transaction() as session:  # the partner centre: an endpoint to send the test to, and a duty desk
        centre_id = session.scalar(select(Centre.id).where(Centre.code == partner))
        session.add(PartnerEndpoint(centre_id=centre_id, url=f"https://{partner.lower()}.partner.example/hooks",
                                    secrets=[new_secret()]))
        partner_admin = session.scalar(select(User).where(
            User.username == next(other.username for other in WALKERS if other.centre == partner)))
        contact_points.create(session, partner_admin, {"centre": partner, "field": "duty-desk", "function": "CGO",
                                                       "phone": PARTNER_DESK, "languages": ["fr", "de"]})
    say = Say(walker.language)
    page = log_in(browser, world["url"], walker)

    page.get_by_role("link", name=say("Communication tests"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/network/communication-tests$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(say("Communication tests"))
    expect(page.get_by_text(say("No communication test yet."))).to_be_visible()
    page.get_by_role("button", name=say("Start a communication test now")).click()
    expect(flash_ok(page)).to_have_text(say("The communication test is on its way to every partner centre."))
    started = page.get_by_role("row").filter(has_text=f"{walker.username} · {walker.centre}")
    expect(started).to_contain_text(say("Acknowledged by %(done)d of %(total)d centres", done=0, total=1))
    expect(started.get_by_role("cell").last).to_have_text(partner)  # no answer from the partner yet
    shots(page, "communication-test-started")

    started.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(say.pattern("Communication test of %(when)s"))
    report = page.locator("main")
    expect(report).to_contain_text(say("Started by %(user)s (%(centre)s).", user=walker.username,
                                       centre=walker.centre))
    expect(report).to_contain_text(say("Acknowledged by %(done)d of %(total)d centres.", done=0, total=1))
    expect(page.get_by_role("heading", name=say("Who to call"))).to_be_visible()
    expect(report.get_by_role("link", name=PARTNER_DESK_E164)).to_be_visible()
    shots(page, "communication-test-report-who-to-call")
