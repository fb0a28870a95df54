"""The whole journey in a real browser: Playwright for Python driving Debian's Chromium, headless.

An NL communicator drafts a cross-border flood warning for Limburg (NL and BE); a BE communicator completes
French and German while the NL communicator's stale edit meets the conflict dialog; the NL and BE
spokespersons approve; the NL spokesperson schedules it a few seconds ahead with BE's channels, which the BE
spokesperson confirms; the worker side (release_due and the real dispatcher with the real adapters against
local fakes) runs in a thread of this process, and the deliveries appear on the live dashboard; the LU
partner acknowledges; the Cancel the system prepared is approved by the spokesperson who released, and by BE,
released, and BE confirms its channels late. Screenshots of each step go to test-output/screenshots/.

Chromium is required, not optional: without /usr/bin/chromium this test fails (`make test` installs it).
"""
from __future__ import annotations

import re
import shutil
import threading
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from alerts import accounts, firing, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Alert
from alerts.outcomes import apply_held_reports
from channels import build_channels
from channels.specs import TextLimits
from devtools.demo import ensure_centres
from devtools.world import ServedApp, add_subscribers, channels_config, start_fakes, wire_centres, write_channels_file
from tests.conftest import PASSWORD

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
SANDBOX = {"sms": "+32470000099", "x": "SANDBOX"}
SMS_SEGMENTS = 4  # the deployment default (settings.py)
TIMEOUT = 20_000  # ms


class WorkerThread:
    """The worker side in this process, as worker.Worker does it: fire due releases, send the ledger
    through the real adapters, apply held provider reports."""

    def __init__(self, db, channels, options: release.ReleaseOptions):
        self.db, self.options = db, options
        self.dispatcher = Dispatcher(db, channels, "browser-test", DispatchOptions(threads=1, base_backoff=0.2))
        self.stopped = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self.run, name="worker", daemon=True)

    def run(self):
        while not self.stopped.is_set():
            try:
                with self.db.transaction() as session:
                    firing.release_due(session, self.options, "browser-test")
                while self.dispatcher.run_once():
                    pass
                apply_held_reports(self.db)  # status reports that overtook the commit of their message id
            except BaseException as error:  # surfaced by the test, never swallowed
                self.errors.append(error)
                return
            self.stopped.wait(0.2)

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=30)


@pytest.fixture
def world(make_app, tmp_path, database_url):
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        app = make_app(channels_file=write_channels_file(tmp_path, channels_config(fakes)),
                       sms_max_segments=SMS_SEGMENTS, sandbox_targets=SANDBOX, secure_cookies=False)
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
            for username, centre, roles in [
                ("nl-comm", "NL", ["communicator"]), ("be-comm", "BE", ["communicator"]),
                ("nl-spokes", "NL", ["spokesperson"]),
                ("be-spokes", "BE", ["spokesperson"]), ("lu-partner", "LU", ["partner"]),
            ]:
                accounts.create_user(session, "test", username=username, display_name=username.title(),
                                     centre_code=centre, roles=roles, password=PASSWORD)
        served = ServedApp(app)
        stack.callback(served.stop)
        config = channels_config(fakes, callback_url=served.url + "/hooks/twilio/status")
        app.extensions["benelert"].channels_config = config
        wire_centres(db, fakes)
        add_subscribers(db, "BE", 12, place="be-lim")
        add_subscribers(db, "NL", 8, place="nl-li", languages=("nl", "en"), start=1000)
        worker = WorkerThread(db, build_channels(config),
                              release.ReleaseOptions(limits=TextLimits(sms_max_segments=SMS_SEGMENTS), sandbox=SANDBOX))
        worker.thread.start()
        stack.callback(worker.stop)
        yield {"url": served.url, "db": db, "fakes": fakes, "worker": worker}
        assert worker.errors == []


@pytest.fixture
def shots(request, database_url):
    folder = SHOTS / ("postgresql" if database_url.startswith("postgresql") else "sqlite")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)

    return shot


def log_in(browser: Browser, url: str, username: str, **context) -> Page:
    page = browser.new_context(base_url=url, **context).new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")  # the keyboard is enough
    expect(page).to_have_url(re.compile(r"/alerts$"))
    return page


def alert_id_of(page: Page) -> int:
    return int(re.search(r"/alerts/(\d+)", page.url).group(1))


@pytest.mark.parametrize("hazards", [("flood", "chemical", "storm")])
def test_a_default_warning_across_be_and_nl_is_submitted_with_no_edit(world, browser, shots, hazards):
    """Issue #14: a communicator picks a hazard and the places, and the phrasebook's texts can go out as they are,
    on every channel BE and NL have configured (SMS, X, Mastodon, their national systems)."""
    page = log_in(browser, world["url"], "nl-comm", locale="en-GB")
    for hazard in hazards:
        page.goto("/alerts")
        page.get_by_role("link", name="New alert").click()
        page.get_by_label("Hazard").select_option(hazard)
        page.get_by_label("Mode").select_option("Actual")
        page.get_by_label(re.compile(r"\bBE · ")).check()
        page.get_by_label("Areas from the gazetteer").select_option(["be-lim", "nl-li"])
        page.get_by_role("button", name="Create draft").click()
        expect(page.get_by_role("heading", name=re.compile("Edit alert"))).to_be_visible()
        alert_id = alert_id_of(page)
        expect(page.locator("#preview .counter").first).to_be_visible()
        assert page.locator("#preview .counter.over").count() == 0, hazard
        page.goto(f"/alerts/{alert_id}")
        assert page.locator("li.error").count() == 0, hazard  # readiness: nothing a release would refuse
        page.get_by_role("button", name="Submit for approval").click()
        expect(page.locator(".state").first).to_have_text("in review")
        shots(page, f"default-{hazard}-submitted")


def test_the_whole_journey_in_chromium(world, browser, shots):
    url = world["url"]

    # 1. The NL communicator composes from a hazard; the phrasebook pre-fills every language.
    nl_comm = log_in(browser, url, "nl-comm", locale="en-GB")
    nl_comm.get_by_role("link", name="New alert").click()
    nl_comm.get_by_label("Hazard").select_option("flood")
    nl_comm.get_by_label("Mode").select_option("Actual")
    nl_comm.get_by_label(re.compile(r"\bBE · ")).check()
    nl_comm.get_by_label("Areas from the gazetteer").select_option(["be-lim", "nl-li"])
    phrasebook = nl_comm.locator("#phrasebook")
    for language in ("nl", "fr", "de", "en"):
        expect(phrasebook.locator(f"section[lang={language}]")).to_be_visible()
    expect(phrasebook.locator("section[lang=fr]")).to_contain_text("Limbourg")  # the places, in French
    nl_comm.get_by_text("What do these fields mean?").click()
    expect(nl_comm.get_by_text("How soon people must act")).to_be_visible()
    shots(nl_comm, "nl-communicator-composes")
    nl_comm.get_by_role("button", name="Create draft").click()
    expect(nl_comm.get_by_role("heading", name=re.compile("Edit alert"))).to_be_visible()
    alert_id = alert_id_of(nl_comm)
    expect(nl_comm.locator("label[for=text-fr-headline] .status")).to_have_text("template")
    expect(nl_comm.locator("#preview .counter").first).to_be_visible()
    assert nl_comm.locator("#preview .counter.over").count() == 0  # the phrasebook's defaults fit every channel

    # The live preview follows the typing, with counters.
    nl_comm.locator("#text-nl-headline").fill("Overstroming in Limburg")
    nl_comm.locator("#text-nl-instruction").fill("Ga naar een hogere verdieping. Bel 112 bij gevaar.")
    nl_comm.locator("#text-en-headline").fill("Flooding in Limburg")
    nl_comm.locator("#text-en-instruction").fill("Move to a higher floor. Call 112 if in danger.")
    sms_nl = nl_comm.locator("#preview section[lang=nl] tr[data-channel=sms]")
    expect(sms_nl).to_contain_text("Ga naar een hogere verdieping")
    expect(sms_nl.locator(".counter")).not_to_have_class(re.compile("over"))
    shots(nl_comm, "live-preview-with-counters")
    nl_comm.get_by_label("What did you change?").fill("Dutch and English texts")
    nl_comm.get_by_role("button", name="Save as a new version").click()
    expect(nl_comm.get_by_text("Saved as a new version.")).to_be_visible()

    # 2. The BE communicator completes French and German, while the NL communicator edits a stale form.
    be_comm = log_in(browser, url, "be-comm", locale="en-GB")
    be_comm.goto(f"/alerts/{alert_id}/edit")
    nl_comm.goto(f"/alerts/{alert_id}/edit")
    be_comm.locator("#text-fr-headline").fill("Inondation au Limbourg")
    be_comm.locator("#text-fr-instruction").fill("Montez à l'étage. Appelez le 112 en cas de danger.")
    be_comm.locator("#text-de-headline").fill("Hochwasser in Limburg")
    be_comm.locator("#text-de-instruction").fill("Gehen Sie nach oben. Bei Gefahr 112 anrufen.")
    be_comm.get_by_label("What did you change?").fill("Français et Deutsch")
    be_comm.get_by_role("button", name="Save as a new version").click()
    expect(be_comm.get_by_text("Saved as a new version.")).to_be_visible()
    be_comm.get_by_label("Comment", exact=True).fill("FR and DE written by the BE desk.")
    be_comm.get_by_role("button", name="Add comment").click()
    expect(be_comm.locator(".comments")).to_contain_text("FR and DE written by the BE desk.")
    shots(be_comm, "be-communicator-completed-fr-de")

    nl_comm.get_by_label("Severity").select_option("Extreme")
    nl_comm.get_by_role("button", name="Save as a new version").click()
    dialog = nl_comm.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Someone saved first")
    expect(dialog).to_contain_text("headline (fr)")
    expect(nl_comm.locator("#conflict")).to_be_focused()
    expect(nl_comm.locator("#text-fr-headline")).to_have_value("Inondation au Limbourg")  # theirs kept
    expect(nl_comm.get_by_label("Severity")).to_have_value("Extreme")  # mine kept
    shots(nl_comm, "stale-edit-conflict-dialog")
    nl_comm.get_by_role("button", name="Save as a new version").click()
    expect(nl_comm.get_by_text("Saved as a new version.")).to_be_visible()

    # Version history with a diff.
    nl_comm.get_by_role("button", name="Compare").click()
    expect(nl_comm.locator("table")).to_contain_text("severity")
    shots(nl_comm, "version-diff")
    nl_comm.go_back()
    nl_comm.get_by_role("button", name="Submit for approval").click()
    expect(nl_comm.locator(".state").first).to_have_text("in review")

    # 3. The spokespersons review exactly what each channel sends, under the LIVE banner, and approve.
    nl_spokes = log_in(browser, url, "nl-spokes", locale="en-GB")
    nl_spokes.goto(f"/alerts/{alert_id}/review")
    expect(nl_spokes.locator(".banner.live")).to_contain_text("LIVE")
    expect(nl_spokes.locator("section[lang=fr] tr[data-channel=sms]")).to_contain_text("Inondation au Limbourg")
    expect(nl_spokes.get_by_text(re.compile(r"BE: 12 SMS subscribers"))).to_be_visible()
    shots(nl_spokes, "nl-spokesperson-review")
    nl_spokes.get_by_role("button", name=re.compile("Approve this exact content")).click()
    expect(nl_spokes.get_by_text("Approved for NL.")).to_be_visible()

    # The BE spokesperson works in French: the language switch.
    be_spokes = log_in(browser, url, "be-spokes", locale="en-GB")
    be_spokes.goto(f"/alerts/{alert_id}/review")
    be_spokes.get_by_label("Language").select_option("fr")
    be_spokes.get_by_role("button", name="Switch").click()
    expect(be_spokes.locator("html")).to_have_attribute("lang", "fr")
    expect(be_spokes.locator(".banner.live")).to_contain_text("RÉEL")
    be_spokes.get_by_role("button", name=re.compile("Approuver")).click()
    expect(be_spokes.get_by_text("Approuvée pour BE.")).to_be_visible()
    shots(be_spokes, "be-spokesperson-approves-in-french")

    # 4. Scheduled a few seconds ahead, at the NL centre's local time; only channels that fit are chosen.
    nl_spokes.goto(f"/alerts/{alert_id}/release")
    form = nl_spokes.locator("#release-form")
    for box in form.locator("input[type=checkbox]").all():
        fits = "ok" in (box.locator("xpath=ancestor::div[contains(@class, 'channel')]").get_attribute("class"))
        assert box.is_checked() == fits  # channels over their limits are left out, their problems shown
    expect(form.locator("input[name=channel-BE][value=sms]")).to_be_checked()
    at = datetime.now(ZoneInfo("Europe/Amsterdam")) + timedelta(seconds=15)
    nl_spokes.get_by_label(re.compile("At a local time")).check()
    nl_spokes.get_by_label("Local date and time").fill(at.strftime("%Y-%m-%dT%H:%M:%S"))
    shots(nl_spokes, "release-confirmation")
    nl_spokes.get_by_role("button", name="Confirm the release").click()
    expect(nl_spokes.get_by_text(re.compile("Release scheduled for"))).to_be_visible()
    # NL planned BE's channels too: BE's spokesperson confirms them and the moment, in French
    be_spokes.goto(f"/alerts/{alert_id}/review")
    expect(be_spokes.locator(".plan")).to_contain_text("en attente de la confirmation du porte-parole de BE")
    be_spokes.get_by_role("button", name=re.compile("Confirmer les canaux de BE")).click()
    expect(be_spokes.get_by_text("Confirmé : les canaux de BE partent au moment prévu.")).to_be_visible()
    shots(be_spokes, "be-spokesperson-confirms-its-channels")

    # 5. The deliveries appear on the live dashboard (polling), with the chart.
    expect(nl_spokes.locator("#release-state")).to_have_text("released", timeout=30_000)
    sms_row = nl_spokes.locator("tr[data-centre=BE][data-channel=sms]")
    expect(sms_row.locator("td.count.delivered")).to_have_text("12", timeout=30_000)
    expect(nl_spokes.locator("tr[data-channel=national]").first.locator("td.count.sent")).to_have_text("1")
    expect(nl_spokes.locator(".chart polyline").first).to_be_visible()
    shots(nl_spokes, "delivery-dashboard")
    # the partner centre: a restricted heads-up when the release was planned, the public copy at T
    assert [d.payload["type"] for d in world["fakes"].partners[0].deliveries] == ["alert.heads_up",
                                                                                  "alert.published"]

    # 6. The LU partner, on a phone in German (Accept-Language), sees every language and acknowledges.
    lu = log_in(browser, url, "lu-partner", locale="de-DE", viewport={"width": 390, "height": 844})
    lu.get_by_role("link", name="Eingehende Warnungen").click()
    lu.locator("td a").first.click()
    for language in ("nl", "fr", "de", "en"):
        expect(lu.locator(f"section[lang={language}]")).to_be_visible()
    lu.get_by_role("button", name="Empfang bestätigen").click()
    expect(lu.locator(".history")).to_contain_text("LU · empfangen · auf der Seite")  # the history in German too
    shots(lu, "lu-partner-acknowledged-on-a-phone")

    # 7. The prepared Cancel, one click away, prepared by the system: the spokesperson who released may approve it.
    nl_spokes.get_by_role("link", name="Cancel this alert").click()
    expect(nl_spokes.locator("h1")).to_contain_text("Cancel")
    cancel_id = alert_id_of(nl_spokes)
    nl_spokes.get_by_role("button", name=re.compile("Approve this exact content")).click()
    expect(nl_spokes.get_by_text("Approved for NL.")).to_be_visible()
    shots(nl_spokes, "the-releasing-spokesperson-approves-the-prepared-cancel")
    be_spokes.goto(f"/alerts/{cancel_id}/review")
    be_spokes.get_by_role("button", name=re.compile("Approuver")).click()
    expect(be_spokes.get_by_text("Approuvée pour BE.")).to_be_visible()
    nl_spokes.goto(f"/alerts/{cancel_id}/release")
    nl_spokes.get_by_role("button", name="Confirm the release").click()
    expect(nl_spokes.locator("#release-state")).to_have_text("released", timeout=30_000)
    be_spokes.goto(f"/alerts/{cancel_id}/review")  # BE's channels go out once BE confirms them, late
    be_spokes.get_by_role("button", name=re.compile("Confirmer les canaux de BE")).click()
    expect(be_spokes.get_by_text("Confirmé : les canaux de BE partent au moment prévu.")).to_be_visible()
    nl_comm.goto(f"/alerts/{alert_id}")
    expect(nl_comm.locator(".state").first).to_have_text("cancelled", timeout=10_000)
    shots(nl_comm, "original-alert-cancelled")
    with world["db"].transaction() as session:
        assert session.scalar(select(Alert.state).where(Alert.id == alert_id)) == "cancelled"
