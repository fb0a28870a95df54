"""GET /api/v1/alerts/{id}/jurisdictions: the countries and centres a warning's area touches and the centres within
the border band, for the current version, on SQLite and PostgreSQL."""
from __future__ import annotations

from devtools.world import flood_alert

NEAR_VAALS = ["50.845,6.025 50.865,6.025 50.865,6.045 50.845,6.045 50.845,6.025"]  # Kerkrade, at the German border


def test_an_area_across_borders_names_every_country_and_centre_it_touches(api_as):
    nl = api_as("NL", "communicator")
    body = flood_alert(lead="NL", participants=["NL"])
    body["areas"] = [{"description": "Maasvallei bij Maastricht", "polygons": [
        "50.80,5.60 50.90,5.60 50.90,5.75 50.80,5.75 50.80,5.60"]}]
    alert = nl.post("/alerts", json=body)
    assert alert.status_code == 201, alert.get_json()
    answer = nl.get(f"/alerts/{alert.get_json()['id']}/jurisdictions")
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert found["border_band_km"] == 5 and found["version"] == 1 and found["area_km2"] > 50
    assert {country["code"] for country in found["countries"]} == {"BE", "NL"}
    centres = {row["centre"]: row for row in found["centres"]}
    assert centres["NL"]["touched"] and centres["NL"]["taking_part"]
    assert centres["BE"]["touched"] and not centres["BE"]["taking_part"]
    assert found["touched_not_taking_part"] == ["BE"]
    assert api_as("LU", "communicator").get(f"/alerts/{alert.get_json()['id']}/jurisdictions").status_code == 404


def test_a_centre_across_the_border_within_the_band_is_named(api_as):
    nl = api_as("NL", "communicator")
    body = flood_alert(lead="NL", participants=["NL"])
    body["areas"] = [{"description": "Kerkrade", "polygons": NEAR_VAALS}]
    alert = nl.post("/alerts", json=body).get_json()
    found = nl.get(f"/alerts/{alert['id']}/jurisdictions").get_json()
    centres = {row["centre"]: row for row in found["centres"]}
    assert "DE-NW" in centres, centres
    assert centres["DE-NW"]["touched"] or (centres["DE-NW"]["within_band"] and centres["DE-NW"]["distance_km"] <= 5)
    assert not centres["DE-NW"]["taking_part"]
    assert "LU" not in centres


def test_a_touched_centre_that_does_not_take_part_is_named_before_submission_and_in_the_audit(api_as, db):
    from sqlalchemy import select

    from alerts.models import AuditEvent

    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert(participants=[])).get_json()  # the area reaches into NL
    readiness = be.get(f"/alerts/{alert['id']}/readiness", headers={"Accept-Language": "nl"}).get_json()
    [warning] = [p for p in readiness["problems"] if p["code"] == "outside-participants"]
    assert warning["severity"] == "warning" and "NL" in warning["message"] and "niet deelneemt" in warning["message"]
    submitted = be.post(f"/alerts/{alert['id']}/submit", headers={"If-Match": '"v1"'},
                        json={"confirm_outside": ["NL"]})  # the lead confirms it: tests/unit/web/test_submit_confirm.py
    assert submitted.status_code == 200, submitted.get_json()
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.submit")).one()
    assert event.detail["outside_participants"] == ["NL"] and event.detail["outside_confirmed"] is True


def test_a_polygon_that_crosses_itself_is_refused_with_a_clear_message(api_as, db):
    from sqlalchemy import func, select

    from alerts.models import Alert

    be = api_as("BE", "communicator")
    body = flood_alert()
    body["areas"] = [{"description": "Knot", "polygons": ["50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6"]}]
    refused = be.post("/alerts", json=body, headers={"Accept-Language": "fr"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["field"] == "areas" and "se recoupe" in refused.get_json()["detail"]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_the_alert_page_names_who_the_area_concerns_and_invites_a_touched_centre(app, api_as, make_user, db):
    import re

    from sqlalchemy import select

    from alerts.models import AlertCentre, Centre
    from tests.unit.web.test_pages import login

    username, token = make_user("BE", "communicator")
    from devtools.world import Api
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert(participants=[])).get_json()
    browser = login(app, username)
    browser.set_cookie("benelert_lang", "nl")
    page = browser.get(f"/alerts/{alert['id']}").get_data(as_text=True)
    assert "Wie het gebied aangaat" in page and "NL uitnodigen" in page and "BE: het gebied ligt" in page
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    invited = browser.post(f"/alerts/{alert['id']}/invite", data={"csrf_token": csrf, "centre": "NL",
                                                                  "base_version": "1"}, follow_redirects=True)
    assert invited.status_code == 200
    with db.transaction() as session:
        codes = set(session.scalars(select(Centre.code).join(AlertCentre, AlertCentre.centre_id == Centre.id)
                                    .where(AlertCentre.alert_id == alert["id"])))
    assert codes == {"BE", "NL"}
    assert "NL uitnodigen" not in browser.get(f"/alerts/{alert['id']}").get_data(as_text=True)
