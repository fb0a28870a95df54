"""The map editor on the compose and edit pages: the map and its scripts on the page, the drawn area's polygons
and circles (the `shapes` field) saved as the version's area, wrong shapes refused with a message in the reader's
language and nothing saved, and the base map's boundaries served to logged-in users only."""
from __future__ import annotations

import gzip
import json
import re

import pytest
from shapely.geometry import Point

from alerts import geo
from alerts.phrasebook import translations_for
from devtools.world import Api, flood_alert
from tests.unit.web.test_pages import form_fields, login
from web.pages.map_areas import DRAWN_AREA

POLYGON = "50.85,4.35 50.9,4.45 50.8,4.5 50.85,4.35"
MAAS = "50.95,5.7 51.05,5.75 51.0,5.9 50.9,5.85 50.95,5.7"
CIRCLE = "50.83,4.37 5"


def _compose(client, **fields):
    form = form_fields(client.get("/alerts/new").get_data(as_text=True))
    form.pop("places", None)  # a browser sends no place when none is selected
    form.update({"hazard": "flood", "status": "Exercise", "areas": "", "expires": "2099-01-01T12:00", **fields})
    return form


def _version(api, alert_id):
    return api.get(f"/alerts/{alert_id}").get_json()["version"]


def _count(api):
    return api.get("/alerts").get_json()["total"]


def _circle_ok(area: dict, circle: str):
    """The circle is kept as the CAP <circle> it is (alerts.cap), checked by the one circle rule."""
    assert area["circles"] == [" ".join(circle.split())]
    assert geo.parse_circle(area["circles"][0]).contains(Point(*reversed([float(x) for x in circle.split()[0]
                                                                          .split(",")])))


def test_the_compose_and_edit_pages_carry_the_map_its_scripts_and_the_shapes_field(app, make_user):
    username, token = make_user("BE", "communicator")
    alert_id = Api(app.test_client(), token).post("/alerts", json=flood_alert()).get_json()["id"]
    client = login(app, username)
    for path in ("/alerts/new", f"/alerts/{alert_id}/edit"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert re.search(r'<div id="map" class="map" hidden [^>]*data-boundaries="/geo/boundaries\.geojson\?v=', html)
        for script in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet-geoman.min.js", "map.js"):
            assert f'<script src="/static/{script}" defer></script>' in html
        for sheet in ("vendor/leaflet/leaflet.css", "vendor/leaflet/leaflet-geoman.css", "map.css"):
            assert f'<link rel="stylesheet" href="/static/{sheet}">' in html
        assert '<textarea aria-describedby="shapes-hint" id="shapes" name="shapes"' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "style=" not in html
    new = client.get("/alerts/new").get_data(as_text=True)
    assert 'data-places="places"' in new and '<select id="places" name="places" multiple' in new
    edit = form_fields(client.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    assert edit["shapes"].strip() == "50.75,5.60 50.95,5.60 50.95,5.90 50.75,5.60"  # the version's polygon
    assert edit["shapes_name"] == "Limburg"
    assert "/map.js" not in client.get("/alerts").get_data(as_text=True)  # only where the map is


def test_a_new_alert_gets_the_drawn_polygons_and_circles_as_one_area(app, make_user):
    username, token = make_user("BE", "communicator")
    api, client = Api(app.test_client(), token), login(app, username)
    form = _compose(client, places=["be-lim"], shapes=f"{POLYGON}\r\n\r\n  {CIRCLE}  \r\n", shapes_name="Maas")
    response = client.post("/alerts/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    areas = _version(api, int(response.headers["Location"].split("/")[-2]))["areas"]
    assert [(a["description"], a["place"]) for a in areas] == [("Limburg (BE)", "be-lim"), ("Maas", None)]
    assert areas[0]["polygons"] == [] and areas[1]["polygons"] == [POLYGON] and "circles" not in areas[0]
    _circle_ok(areas[1], CIRCLE)

    response = client.post("/alerts/new", data=_compose(client, shapes=MAAS))  # no name: the default, in nl
    areas = _version(api, int(response.headers["Location"].split("/")[-2]))["areas"]
    assert areas == [{"description": DRAWN_AREA.localized(translations_for("nl")), "place": None,
                      "polygons": [MAAS], "geocodes": []}]


def test_namesakes_picked_together_keep_their_places_through_an_edit(app, make_user):
    """The province, the arrondissement and the city of Liège picked on the compose page: each area's description
    names its kind, so an edit of the areas (keyed by description) keeps all three places."""
    username, token = make_user("BE", "communicator")
    api, client = Api(app.test_client(), token), login(app, username)
    response = client.post("/alerts/new", data=_compose(client, places=["be-lie", "be-arr-liege", "be-liege"]))
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    alert_id = int(response.headers["Location"].split("/")[-2])
    picked = [("Provincie Luik (BE)", "be-lie"), ("Arrondissement Luik (BE)", "be-arr-liege"),
              ("Stad Luik (BE)", "be-liege")]
    assert [(a["description"], a["place"]) for a in _version(api, alert_id)["areas"]] == picked
    page = f"/alerts/{alert_id}/edit"
    form = form_fields(client.get(page).get_data(as_text=True))
    form["areas"] = form["areas"].replace("\r\n", "\n") + "\nMaasvallei"  # an area in words added
    assert client.post(page, data=form).status_code == 302
    assert [(a["description"], a["place"]) for a in _version(api, alert_id)["areas"]] == [*picked,
                                                                                          ("Maasvallei", None)]


def test_editing_the_shapes_replaces_the_drawn_area_and_keeps_the_rest(app, make_user):
    username, token = make_user("BE", "communicator")
    api, client = Api(app.test_client(), token), login(app, username)
    alert = flood_alert()
    alert["areas"].append({"description": "Maaseik"})
    alert_id = api.post("/alerts", json=alert).get_json()["id"]
    page = f"/alerts/{alert_id}/edit"

    form = form_fields(client.get(page).get_data(as_text=True))
    form["severity"] = "Extreme"  # the shapes untouched: the polygon stays as it was
    assert client.post(page, data=form).status_code == 302
    assert _version(api, alert_id)["areas"][0]["polygons"] == ["50.75,5.60 50.95,5.60 50.95,5.90 50.75,5.60"]

    form = form_fields(client.get(page).get_data(as_text=True))
    form["shapes"] = f"{MAAS}\n{CIRCLE}"  # same name (Limburg): the place's area gets the new shapes
    assert client.post(page, data=form).status_code == 302
    version = _version(api, alert_id)
    assert version["number"] == 3
    assert [(a["description"], a["place"]) for a in version["areas"]] == [("Limburg", "be-lim"), ("Maaseik", None)]
    assert version["areas"][0]["polygons"] == [MAAS] and version["areas"][1]["polygons"] == []
    _circle_ok(version["areas"][0], CIRCLE)
    form = form_fields(client.get(page).get_data(as_text=True))
    assert form["shapes"].strip().splitlines() == [MAAS, " ".join(CIRCLE.split())]  # the edit page shows the circle

    form = form_fields(client.get(page).get_data(as_text=True))
    form.update(shapes=POLYGON, shapes_name="Along the Maas")  # another name: a drawn area of its own
    assert client.post(page, data=form).status_code == 302
    areas = _version(api, alert_id)["areas"]
    assert [(a["description"], a["place"], a["polygons"]) for a in areas] == [
        ("Limburg", "be-lim", []), ("Maaseik", None, []), ("Along the Maas", None, [POLYGON])]

    form = form_fields(client.get(page).get_data(as_text=True))
    assert form["shapes"].strip() == POLYGON and form["shapes_name"] == "Along the Maas"
    form["shapes"] = ""  # every shape removed on the map: the drawn area goes
    assert client.post(page, data=form).status_code == 302
    areas = _version(api, alert_id)["areas"]
    assert [(a["description"], a["polygons"]) for a in areas] == [("Limburg", []), ("Maaseik", [])]


def _message(language: str, msgid: str, **params) -> str:
    return translations_for(language).gettext(msgid) % params


LINE = "Polygons and circles, line %(number)d (“%(shape)s”): %(problem)s."
CROSSES = "the polygon crosses itself or encloses nothing"
BAD_SHAPES = [
    # (line, problem in Dutch: the reader's language, from the catalogs)
    ("50,5 51,6 50,6 51,5 50,5", lambda: _message("nl", CROSSES)),  # a bow tie
    ("50,5 51,5 51,6 50,6", lambda: "een veelhoek moet eindigen in zijn eerste punt"),
    ("95,5 51,5 51,6 95,5", lambda: "„95,5” ligt buiten het geldige bereik van breedte- en lengtegraad"),
    ("50,5 51,5 50,5", lambda: "een veelhoek heeft minstens vier punten nodig"),
    ("50.8;4.3 51,5 51,6 50.8;4.3", lambda: "„50.8;4.3” is geen paar „breedtegraad,lengtegraad”"),
    ("50.8,4.3 0", lambda: _message("nl", "a circle's radius is more than 0 and at most 1000 km")),
    ("50.8,4.3 ten", lambda: _message("nl", "“%(radius)s” is not a radius in kilometres", radius="ten")),
]


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;")


@pytest.mark.parametrize(("line", "problem"), BAD_SHAPES)
def test_wrong_shapes_are_refused_with_a_message_in_the_readers_language_and_nothing_saved(app, make_user,
                                                                                         line, problem):
    username, token = make_user("BE", "communicator")
    api, client = Api(app.test_client(), token), login(app, username)
    alert_id = api.post("/alerts", json=flood_alert()).get_json()["id"]
    expected = _message("nl", LINE, number=2, shape=line, problem=problem())
    dutch = {"Accept-Language": "nl"}

    refused = client.post("/alerts/new", data=_compose(client, shapes=f"{POLYGON}\n{line}"), headers=dutch)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and _escaped(expected) in html
    assert _count(api) == 1
    assert _escaped(line) in html  # what was typed is kept

    form = form_fields(client.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    form["shapes"] = f"{POLYGON}\n{line}"
    refused = client.post(f"/alerts/{alert_id}/edit", data=form, headers=dutch)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and _escaped(expected) in html and _escaped(line) in html
    assert _version(api, alert_id)["number"] == 1


def test_a_long_wrong_line_is_named_shortened(app, make_user):
    username, token = make_user("NL", "communicator")
    client = login(app, username)
    line = " ".join(f"5{i % 10}.{i:04d},5.{i:04d}" for i in range(30))
    html = client.post("/alerts/new", data=_compose(client, shapes=line)).get_data(as_text=True)
    assert "line 1 (“" + line[:39] + "…”)" in html


def test_the_boundaries_answer_geojson_to_a_user_and_send_others_to_the_login(app, make_user):
    anonymous = app.test_client().get("/geo/boundaries.geojson")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    username, _ = make_user("LU", "partner")
    client = login(app, username)
    plain = client.get("/geo/boundaries.geojson", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and plain.mimetype == "application/geo+json"
    data = json.loads(plain.get_data())
    assert data["type"] == "FeatureCollection" and data == json.loads(geo.BOUNDARIES.read_text(encoding="utf-8"))
    regions = {f["properties"]["place"] for f in data["features"] if f["properties"]["level"] == "region"}
    assert "be-lim" in regions
    assert plain.headers["Cache-Control"] == "private, max-age=86400" and "Accept-Encoding" in plain.headers["Vary"]
    zipped = client.get("/geo/boundaries.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and len(zipped.get_data()) < len(plain.get_data()) / 3
    assert json.loads(gzip.decompress(zipped.get_data())) == data
    again = client.get("/geo/boundaries.geojson", headers={"Accept-Encoding": "gzip",
                                                         "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304
