"""The network's centres on the pages: the directory, a centre admin's settings form, a network admin's new centre;
refusals are messages in the user's language and write nothing."""
from __future__ import annotations

import re

from sqlalchemy import select

from alerts.models import Centre
from tests.unit.web.test_pages import login


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def centre(db, code):
    with db.transaction() as session:
        found = session.scalar(select(Centre).where(Centre.code == code))
        session.expunge_all()
        return found


def test_every_user_reads_the_directory_and_only_admins_get_a_form(app, make_user):
    communicator = login(app, make_user("NL", "communicator")[0])
    html = communicator.get("/network/centres").get_data(as_text=True)
    assert "National Crisis Centre (Netherlands)" in html and "DE-NW" in html
    assert "Add the centre" not in html
    detail = communicator.get("/network/centres/BE").get_data(as_text=True)
    assert "Europe/Brussels" in detail and "<form method=\"post\" action=\"/network/centres/BE\"" not in detail
    admin = login(app, make_user("BE", "admin")[0])
    assert 'action="/network/centres/BE"' in admin.get("/network/centres/BE").get_data(as_text=True)
    assert 'action="/network/centres/NL"' not in admin.get("/network/centres/NL").get_data(as_text=True)


def test_a_centre_admin_saves_the_settings_and_a_refusal_is_a_message(app, db, make_user):
    admin = login(app, make_user("LU", "admin")[0])
    form = {"csrf_token": csrf(admin, "/network/centres/LU"), "name-en": "High Commission for National Protection",
            "name-lb": "Héichkommissariat fir Nationale Schutz", "timezone": "Europe/Luxembourg",
            "languages": "fr, de", "cell_broadcast_languages": "fr", "ack_deadline_minutes": "20"}
    saved = admin.post("/network/centres/LU", data=form, follow_redirects=True)
    assert saved.status_code == 200 and "Settings of LU saved." in saved.get_data(as_text=True)
    lu = centre(db, "LU")
    assert (lu.cell_broadcast_languages, lu.ack_deadline_minutes, lu.names["lb"]) == (
        ["fr"], 20, "Héichkommissariat fir Nationale Schutz")
    assert lu.names.get("nl") is None  # a name left empty is removed
    admin.set_cookie("benelert_lang", "fr")
    refused = admin.post("/network/centres/LU", data={**form, "cell_broadcast_languages": "nl"},
                         follow_redirects=True)
    assert refused.status_code == 200
    assert "La diffusion cellulaire ne peut utiliser que les langues de publication du centre" in refused.get_data(
        as_text=True)
    assert centre(db, "LU").cell_broadcast_languages == ["fr"]
    other = admin.post("/network/centres/BE", data={**form, "timezone": "Europe/Brussels"}, follow_redirects=True)
    assert "Seul un administrateur de ce centre ou du réseau" in other.get_data(as_text=True)
    assert centre(db, "BE").names["en"] == "National Crisis Center (Belgium)"


def test_a_network_admin_adds_and_deactivates_a_centre(app, db, make_user):
    network = login(app, make_user("DE-NW", "network-admin")[0])
    form = {"csrf_token": csrf(network, "/network/centres"), "code": "fr", "name-en": "Interministerial Crisis Centre",
            "name-fr": "Centre interministériel de crise", "timezone": "Europe/Paris", "languages": "fr, en",
            "active": "on"}
    added = network.post("/network/centres", data=form, follow_redirects=True)
    assert "Centre FR added." in added.get_data(as_text=True)
    assert centre(db, "FR").languages == ["fr", "en"] and centre(db, "FR").active is True
    settings = {key: value for key, value in form.items() if key != "code"}
    network.post("/network/centres/FR", data={**settings, "active": ""}, follow_redirects=True)
    assert centre(db, "FR").active is False
    again = network.post("/network/centres", data=form, follow_redirects=True)
    assert "A centre with the code FR exists already." in again.get_data(as_text=True)
    admin = login(app, make_user("BE", "admin")[0])
    refused = admin.post("/network/centres", data={**form, "code": "IT", "csrf_token": csrf(admin, "/network/centres")},
                         follow_redirects=True)
    assert "Only a network administrator may do this." in refused.get_data(as_text=True)
    assert centre(db, "IT") is None
