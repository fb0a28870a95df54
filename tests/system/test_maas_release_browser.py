"""Issue #15's "done when", end to end in a real browser (Playwright for Python driving Debian's Chromium): a flood
along the Maas across the BE-NL border in Limburg, drawn on the map, released by BE and NL together.

A BE communicator draws the polygon with the mouse on the compose page; the alert page names BE and NL as the
centres the area concerns, and the lead invites NL there. Submitted (the lead confirms what the area covers), approved
by both spokespersons, released on both national systems and both SMS lists, and dispatched through the real clients
to the local stand-ins: BE's national system (one CAP receiver) holds only the Belgian part, NL's (another) only the
Dutch part, both valid against the CAP 1.2 schema at the receiver; the SMS went to the located subscribers inside the
polygon, and to nobody else.

Chromium is required: without /usr/bin/chromium this test fails. Screenshots go to test-output/screenshots/maas/.
"""
from __future__ import annotations

import re
import shutil
from contextlib import ExitStack

import pytest
from lxml import etree
from playwright.sync_api import expect
from shapely.ops import unary_union
from sqlalchemy import select

from alerts import accounts, firing, geo, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import Centre
from channels import build_channels
from channels.specs import TextLimits
from devtools.demo import ensure_centres
from devtools.fakes.cap_receiver import CapReceiver
from devtools.world import Api, ServedApp, add_subscribers, channels_config, start_fakes, write_channels_file
from tests.conftest import PASSWORD
from tests.system.test_browser import SHOTS
from tests.system.test_map_browser import SHAPE_PATHS, open_compose, screen_point

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
# the Maas between Maaseik (BE) and Roosteren and Echt (NL); Germany's Selfkant begins at 5.866 E
MAAS = [(51.05, 5.70), (51.15, 5.70), (51.15, 5.85), (51.05, 5.85)]
MAASEIK, ECHT_SIDE = (51.098, 5.787), (51.10, 5.84)  # inside: Belgian and Dutch banks
GENK, ROERMOND = (50.965, 5.50), (51.194, 5.987)  # outside: Belgian and Dutch Limburg
OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3))


@pytest.fixture
def world(make_app, tmp_path):
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        netherlands = CapReceiver().start()  # NL's national system: a receiver of its own
        stack.callback(netherlands.stop)
        app = make_app(channels_file=write_channels_file(tmp_path, channels_config(fakes)), sms_max_segments=3)
        db = app.extensions["benelert"].db
        served = ServedApp(app)
        stack.callback(served.stop)
        config = channels_config(fakes, callback_url=served.url + "/hooks/twilio/status")
        app.extensions["benelert"].channels_config = config
        tokens = {}
        with db.transaction() as session:
            ensure_centres(session)
            accounts.create_user(session, "test", username="be-comm", display_name="BE Communicator",
                                 centre_code="BE", roles=["communicator"], password=PASSWORD)
            for centre in ("BE", "NL"):
                user = accounts.create_user(session, "test", username=f"{centre.lower()}-spokes",
                                            display_name=f"{centre} Spokesperson", centre_code=centre,
                                            roles=["spokesperson"], password=PASSWORD)
                tokens[centre] = accounts.create_token(session, "test", user, "tests")[1]
            for centre in session.scalars(select(Centre).where(Centre.code.in_(["BE", "NL"]))):
                target = fakes.cap.url if centre.code == "BE" else netherlands.url
                centre.channels = {"sms": {}, "national": {"target": target}}
        client = app.test_client()
        yield {"url": served.url, "db": db, "fakes": fakes, "netherlands": netherlands,
               "api": {code: Api(client, token) for code, token in tokens.items()}, "channels": build_channels(config)}


def polygons_in(cap: bytes) -> list:
    root = etree.fromstring(cap)
    return [geo.parse_polygon(element.text) for element in root.iter(f"{{{CAP_NS}}}polygon")]


def test_a_flood_along_the_maas_reaches_each_country_with_its_own_part(world, browser):
    folder = SHOTS / "maas"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    db, fakes = world["db"], world["fakes"]
    inside = add_subscribers(db, "BE", 3, place=None, location=MAASEIK)
    inside += add_subscribers(db, "NL", 2, place=None, location=ECHT_SIDE, start=100)
    add_subscribers(db, "BE", 3, place=None, location=GENK, start=200)
    add_subscribers(db, "NL", 2, place=None, location=ROERMOND, start=300)
    add_subscribers(db, "BE", 2, place="be-ant", start=400)  # a province the area does not reach

    page, requested, errors = open_compose(browser, world["url"])
    page.select_option("#hazard", "flood")
    page.select_option("#status", "Actual")
    page.evaluate("document.getElementById('map').benelertMap.fitBounds([[51.0, 5.6], [51.2, 5.95]])")
    page.locator(".leaflet-pm-icon-polygon").click()
    for lat, lon in [*MAAS, MAAS[0]]:  # the last click, on the first vertex, closes the polygon
        point = screen_point(page, lat, lon)
        page.mouse.move(*point, steps=4)
        page.mouse.click(*point)
    expect(page.locator(SHAPE_PATHS)).to_have_count(1)
    drawn = geo.parse_polygon(page.locator("#shapes").input_value())
    page.locator("#shapes_name").fill("Maas bij Maaseik en Echt")
    page.screenshot(path=str(folder / "01-drawn.png"), full_page=True)
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/alerts/\d+/edit$"))
    alert_id = int(re.search(r"/alerts/(\d+)/edit", page.url).group(1))

    page.goto(f"/alerts/{alert_id}")
    concerns = page.locator("section[aria-labelledby='reach']")
    expect(concerns).to_contain_text("BE: the area covers its territory")
    expect(concerns).to_contain_text("NL: the area covers its territory")
    page.screenshot(path=str(folder / "02-concerns.png"), full_page=True)
    concerns.get_by_role("button", name="Invite NL").click()
    expect(page.locator("section[aria-labelledby='reach']")).to_contain_text("NL: the area covers its territory")
    expect(page.locator("dl.facts")).to_contain_text("NL")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".flash").first).to_contain_text("Submitted")
    page.screenshot(path=str(folder / "03-submitted.png"), full_page=True)

    api = world["api"]
    alert = api["BE"].get(f"/alerts/{alert_id}").get_json()
    content_hash, etag = alert["version"]["content_hash"], f'"v{alert["current_version"]}"'
    assert alert["current_version"] == 2  # the invitation made version 2
    for centre in ("BE", "NL"):
        decided = api[centre].post(f"/alerts/{alert_id}/approvals", headers={"If-Match": etag},
                                   json={"decision": "approve", "content_hash": content_hash})
        assert decided.status_code == 200, decided.get_json()
    planned = api["BE"].post(f"/alerts/{alert_id}/release", headers={"If-Match": etag}, json={
        "content_hash": content_hash, "channels": {"BE": ["national", "sms"], "NL": ["national", "sms"]}})
    assert planned.status_code == 201, planned.get_json()
    audience = {row["country"]: row for row in planned.get_json()["confirmation"]["audience"]}
    assert (audience["BE"]["subscribers"], audience["NL"]["subscribers"]) == (3, 2)
    plan = api["NL"].get(f"/alerts/{alert_id}/release").get_json()["plan"]
    assert api["NL"].post(f"/alerts/{alert_id}/release/consents", json={"plan": plan}).status_code == 200
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1") != []
    dispatcher = Dispatcher(db, world["channels"], "d1", DispatchOptions(threads=4))
    for _ in range(50):
        if not dispatcher.run_once():
            break

    assert sorted(fakes.twilio.per_to) == sorted(inside)  # the SMS: those inside the polygon, and nobody else
    assert all(fakes.twilio.count(phone) == 1 for phone in inside)
    known = geo.boundaries()
    for receiver, country, other in ((fakes.cap, "BE", "NL"), (world["netherlands"], "NL", "BE")):
        assert [item.status for item in receiver.received] == [202], [item.errors for item in receiver.received]
        [cap] = receiver.messages  # accepted: valid against the CAP 1.2 schema at the receiver
        sent = unary_union(polygons_in(cap))
        own, theirs = known.by_code[country].geometry, known.by_code[other].geometry
        assert own.buffer(0.01).contains(sent), country  # its own part (within a kilometre of the border line)
        assert geo.metres(sent.intersection(theirs)).area < 0.01 * geo.metres(drawn.intersection(theirs)).area
        assert sent.buffer(1e-5).contains(drawn.intersection(own))  # and all of it
        assert f"{country}-" in cap.decode() and "ISO3166-2" in cap.decode()  # its province's geocode
    page.screenshot(path=str(folder / "04-done.png"), full_page=True)
    assert errors == []
