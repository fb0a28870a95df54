"""The confirmation a spokesperson sees states, per country, the subscribers the warning reaches and an estimate of
the people living in the area (alerts.audience.by_country), on the API and on the review page."""
from __future__ import annotations

import re

from devtools.world import add_subscribers, flood_alert
from tests.unit.web.test_pages import login

MAAS = "51.05,5.70 51.15,5.70 51.15,5.86 51.05,5.86 51.05,5.70"
MAASEIK, ECHT_SIDE, GENK = (51.098, 5.787), (51.10, 5.84), (50.965, 5.50)


def maas_alert(api_as, status="Exercise") -> dict:
    areas = [{"description": "Maas bij Maaseik en Echt", "polygons": [MAAS]}]
    created = api_as("BE", "communicator").post("/alerts", json=flood_alert(areas=areas, status=status))
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_the_confirmation_states_subscribers_and_people_per_country(api_as, db):
    add_subscribers(db, "BE", 3, place=None, location=MAASEIK)
    add_subscribers(db, "BE", 4, place=None, location=GENK, start=10)  # outside: not counted
    add_subscribers(db, "NL", 2, place=None, location=ECHT_SIDE, start=20)
    alert = maas_alert(api_as)
    answer = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release/confirmation",
                                               json={"content_hash": alert["version"]["content_hash"],
                                                     "channels": {"BE": ["sms"], "NL": ["sms"]}})
    assert answer.status_code == 200, answer.get_json()
    audience = {row["country"]: row for row in answer.get_json()["audience"]}
    assert set(audience) == {"BE", "NL"}
    assert (audience["BE"]["subscribers"], audience["NL"]["subscribers"]) == (3, 2)
    assert audience["BE"]["population"] > 20_000 and audience["NL"]["population"] > 1_000


def test_the_review_page_shows_the_table_in_the_readers_language(api_as, db, app, make_user):
    add_subscribers(db, "BE", 3, place=None, location=MAASEIK)
    alert = maas_alert(api_as)
    username, _ = make_user("BE", "spokesperson")
    client = login(app, username)
    page = client.get(f"/alerts/{alert['id']}/review", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="audience"' in html and "Qui vit dans la zone" in html
    assert re.search(r'data-country="BE"><th scope="row">Belgique</th><td>3</td>', html)
    assert re.search(r'data-country="NL"><th scope="row">Pays-Bas</th><td>0</td>', html)
