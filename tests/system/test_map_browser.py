"""Issue #15 in a real browser (Playwright for Python driving Debian's Chromium, as test_browser.py): the map
editor of the compose and edit pages, with Leaflet and leaflet-geoman as `make` installs them (static/vendor/).

1. A communicator opens the compose page: the map shows the shipped boundaries, and no request leaves 127.0.0.1
   (no tile server, nothing from outside). A click on Belgian Limburg selects it in the places list; a polygon is
   drawn with the mouse and geoman's polygon tool; the draft is saved and its version has the place and exactly
   the drawn polygon. The edit page shows that polygon on the map.
2. The same without the map: the shapes typed into the field with the keyboard (a polygon and a circle) appear on
   the map, and the saved version has them (the circle as a CAP circle).
3. Who the area concerns, live: a polygon across the BE-NL border along the Maas; the panel names BE and NL, and its
   Invite NL button ticks NL among the centres taking part.

Chromium is required: without /usr/bin/chromium this test fails. Screenshots go to test-output/screenshots/map/.
"""
from __future__ import annotations

import re
import shutil
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from alerts import accounts, geo
from alerts.models import Alert, Version
from devtools.demo import ensure_centres
from devtools.world import ServedApp
from tests.conftest import PASSWORD
from tests.system.test_browser import SHOTS, TIMEOUT

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor" / "leaflet"
SHAPE_PATHS = 'path[stroke="#b00020"]'  # the drawn shapes (static/map.js SHAPE)
HASSELT = (50.93, 5.34)  # inside Belgian Limburg
MAAS = [(51.05, 5.70), (51.20, 5.90), (50.95, 6.00)]  # across the BE-NL border


@pytest.fixture
def world(make_app):
    with ExitStack() as stack:
        app = make_app()
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
            accounts.create_user(session, "test", username="be-comm", display_name="BE Communicator",
                                 centre_code="BE", roles=["communicator"], password=PASSWORD)
        served = ServedApp(app)
        stack.callback(served.stop)
        yield {"url": served.url, "db": db}


@pytest.fixture
def shot(request):
    folder = SHOTS / "map" / re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))
    return lambda page, name: page.screenshot(path=str(folder / f"{next(counter):02d}-{name}.png"), full_page=True)


def open_compose(browser, url: str) -> tuple[Page, list[str], list[str]]:
    """The compose page of a logged-in communicator, with every URL the page requested and every script error."""
    assert (VENDOR / "leaflet.js").exists() and (VENDOR / "leaflet-geoman.min.js").exists(), \
        "static/vendor/leaflet/ is missing: `make install` installs the map editor's libraries"
    page = browser.new_context(base_url=url, locale="en-GB").new_page()
    page.set_default_timeout(TIMEOUT)
    requested, errors = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    # a failed load is counted by its response (Chromium's own favicon.ico request is no page's request)
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.goto("/login")
    page.locator("#username").fill("be-comm")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    expect(page).to_have_url(re.compile(r"/alerts$"))
    page.goto("/alerts/new")
    expect(page.locator("#map")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-boundaries-shown", re.compile(r"^[1-9]\d*$"))
    return page, requested, errors


def screen_point(page: Page, lat: float, lon: float) -> tuple[float, float]:
    """Where a latitude/longitude is in the viewport, the map scrolled into it."""
    return page.evaluate("""([lat, lon]) => {
        const map = document.getElementById("map").benelertMap;
        map.getContainer().scrollIntoView({block: "center"});
        const box = map.getContainer().getBoundingClientRect();
        const point = map.latLngToContainerPoint([lat, lon]);
        return [box.left + point.x, box.top + point.y];
    }""", [lat, lon])


def only_local(requested: list[str], url: str) -> None:
    outside = [u for u in requested if urlsplit(u).scheme not in ("data", "blob") and
               urlsplit(u).hostname != "127.0.0.1"]
    assert outside == [] and requested and all(u.startswith(url) for u in requested if u.startswith("http"))
    assert any("/geo/boundaries.geojson?v=" in u for u in requested)
    assert any(u.endswith("/static/vendor/leaflet/leaflet-geoman.min.js") for u in requested)


def saved_areas(db, alert_id: int) -> list[dict]:
    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        version = session.scalar(select(Version).where(Version.alert_id == alert.id, Version.number == 1))
        return [{"description": a.description, "place": a.place, "polygons": list(a.polygons),
                 **({"circles": list(a.circles)} if a.circles else {})}
                for a in sorted(version.areas, key=lambda a: a.position)]


def test_a_communicator_clicks_a_province_and_draws_a_polygon_on_an_offline_map(world, browser, shot):
    page, requested, errors = open_compose(browser, world["url"])
    assert page.locator(".leaflet-overlay-pane path").count() > 50  # countries and regions
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    shot(page, "compose")

    limburg = page.locator("#places option[value='be-lim']")
    assert not limburg.evaluate("option => option.selected")
    page.mouse.click(*screen_point(page, *HASSELT))
    expect(page.locator("#places option[value='be-lim']")).to_have_js_property("selected", True)
    expect(page.locator("#phrasebook")).to_contain_text("Limburg")  # the page reacts as to the list itself

    page.evaluate("document.getElementById('map').benelertMap.fitBounds([[50.9, 5.6], [51.25, 6.1]])")
    page.locator(".leaflet-pm-icon-polygon").click()
    for lat, lon in [*MAAS, MAAS[0]]:  # the last click, on the first vertex, closes the polygon
        point = screen_point(page, lat, lon)
        page.mouse.move(*point, steps=4)  # geoman places a vertex where its hint marker follows the mouse
        page.mouse.click(*point)
    expect(page.locator(SHAPE_PATHS)).to_have_count(1)
    drawn = page.locator("#shapes").input_value()
    ring = geo.parse_polygon(drawn)  # a valid CAP polygon, first point = last
    pairs = drawn.split()
    assert len(pairs) == 4 and pairs[0] == pairs[-1]
    for pair, (lat, lon) in zip(pairs, MAAS, strict=False):
        got = tuple(map(float, pair.split(",")))
        assert abs(got[0] - lat) < 0.01 and abs(got[1] - lon) < 0.01  # within a pixel or two
    assert all(len(number.split(".")[-1]) <= 6 for pair in pairs for number in pair.split(","))
    assert ring.area > 0
    page.locator("#shapes_name").fill("Along the Maas")
    shot(page, "drawn")
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/alerts/\d+/edit$"))
    alert_id = int(re.search(r"/alerts/(\d+)/edit", page.url).group(1))
    assert saved_areas(world["db"], alert_id) == [
        {"description": "Limburg (BE)", "place": "be-lim", "polygons": []},
        {"description": "Along the Maas", "place": None, "polygons": [drawn]}]

    expect(page.locator("#map")).to_have_attribute("data-boundaries-shown", re.compile(r"^[1-9]\d*$"))
    expect(page.locator(SHAPE_PATHS)).to_have_count(1)  # the version's polygon, editable on the map
    assert page.locator("#shapes").input_value().strip() == drawn
    shot(page, "edit")
    only_local(requested, world["url"])
    assert errors == []


def test_a_communicator_types_the_shapes_and_the_map_follows(world, browser, shot):
    page, requested, errors = open_compose(browser, world["url"])
    polygon, circle = "50.85,4.35 50.9,4.45 50.8,4.5 50.85,4.35", "49.61,6.13 4.5"
    page.locator("#shapes").focus()
    page.keyboard.type(polygon)
    page.keyboard.press("Enter")
    page.keyboard.type(circle)
    expect(page.locator(SHAPE_PATHS)).to_have_count(2)
    shot(page, "typed")
    page.locator("#shapes_name").focus()
    page.keyboard.type("Brussels and Luxembourg City")
    page.get_by_role("button", name="Create draft").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/alerts/\d+/edit$"))
    alert_id = int(re.search(r"/alerts/(\d+)/edit", page.url).group(1))
    [drawn] = saved_areas(world["db"], alert_id)
    assert drawn["description"] == "Brussels and Luxembourg City" and drawn["place"] is None
    assert drawn["polygons"] == [polygon] and drawn["circles"] == [circle]  # the circle stays a CAP circle
    expect(page.locator(SHAPE_PATHS)).to_have_count(2)  # both on the edit page's map
    only_local(requested, world["url"])
    assert errors == []


def test_the_compose_page_names_who_the_area_concerns_and_invites_a_centre_with_one_click(world, browser, shot):
    """Issue #15: a polygon across the Maas between Maaseik (BE) and Echt (NL), typed into the shapes field: the live
    panel names BE and NL with their shares, and Invite NL ticks NL among the centres taking part."""
    page, requested, errors = open_compose(browser, world["url"])
    panel = page.locator("#jurisdictions")
    expect(panel).to_contain_text("Pick places or draw an area")
    page.locator("#shapes").focus()
    page.keyboard.type("51.05,5.70 51.15,5.70 51.15,5.85 51.05,5.85 51.05,5.70")
    expect(page.locator(SHAPE_PATHS)).to_have_count(1)
    expect(panel).to_contain_text("BE: the area covers its territory")
    expect(panel).to_contain_text("NL: the area covers its territory")
    expect(panel).to_contain_text(re.compile(r"BE: \d+ % of the area · NL: \d+ % of the area"))
    netherlands = page.get_by_label(re.compile(r"\bNL · "))
    expect(netherlands).not_to_be_checked()
    invite = panel.get_by_role("button", name="Invite NL")
    expect(invite).to_be_visible()
    expect(panel.get_by_role("button", name="Invite BE")).to_have_count(0)  # the lead centre takes part
    shot(page, "concerns")
    invite.click()
    expect(netherlands).to_be_checked()
    expect(panel.get_by_role("button", name="Invite NL")).to_have_count(0)  # the panel follows the ticked box
    expect(panel.locator("li[data-centre='NL']")).to_contain_text("takes part")
    shot(page, "invited")
    page.locator("#shapes").fill("50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6")  # a knot: the panel says so
    page.locator("#shapes").dispatch_event("change")
    expect(panel.locator(".error")).to_contain_text("crosses itself")
    page.locator("#shapes").fill("51.05,5.70 51.15,5.70 51.15,5.85 51.05,5.85 51.05,5.70")
    page.locator("#shapes").dispatch_event("input")
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/alerts/\d+/edit$"))
    alert_id = int(re.search(r"/alerts/(\d+)/edit", page.url).group(1))
    with world["db"].transaction() as session:
        assert sorted(row.centre.code for row in session.get(Alert, alert_id).centre_rows) == ["BE", "NL"]
    only_local(requested, world["url"])
    assert any(u.endswith("/alerts/new/jurisdictions") for u in requested)
    assert errors == []


def test_zoomed_in_a_communicator_clicks_an_arrondissement_and_a_kreis(world, browser, shot):
    """The units centres warn by: from zoom 8 on, the map shows Belgium's arrondissements and NRW's Kreise, and a
    click selects the arrondissement, not its province beneath it. A Kreis picked so is in Germany only: the live
    panel names DE-NW and no Dutch territory, though the Kreis lies on the border."""
    page, requested, errors = open_compose(browser, world["url"])
    expect(page.locator("#map")).to_have_attribute("data-detail-shown", "0")  # the whole network: no detail
    page.evaluate("document.getElementById('map').benelertMap.setView([51.12, 5.75], 9)")
    expect(page.locator("#map")).to_have_attribute("data-detail-shown", re.compile(r"^9[0-9]$"))
    page.mouse.click(*screen_point(page, 51.15, 5.55))  # Bree, in the arrondissement of Maaseik
    expect(page.locator("#places option[value='be-arr-maaseik']")).to_have_js_property("selected", True)
    assert not page.locator("#places option[value='be-lim']").evaluate("option => option.selected")
    page.evaluate("document.getElementById('map').benelertMap.setView([51.70, 6.20], 9)")
    page.mouse.click(*screen_point(page, 51.72, 6.30))  # between Kleve and Goch
    expect(page.locator("#places option[value='de-nw-kreis-kleve']")).to_have_js_property("selected", True)
    shot(page, "picked")
    panel = page.locator("#jurisdictions")
    expect(panel).to_contain_text("DE-NW: the area covers its territory")
    expect(panel).not_to_contain_text("NL: the area covers its territory")
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/alerts/\d+/edit$"))
    alert_id = int(re.search(r"/alerts/(\d+)/edit", page.url).group(1))
    assert {area["place"] for area in saved_areas(world["db"], alert_id)} == {"be-arr-maaseik",
                                                                              "de-nw-kreis-kleve"}
    only_local(requested, world["url"])
    assert errors == []
