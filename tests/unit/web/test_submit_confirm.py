"""Issue #15: a submission whose area covers the territory of centres that do not take part is refused until the
submitter confirms exactly those centres (API: confirm_outside; page: a required box with the centres' codes), and
the confirmation is in the audit trail; the compose page's live panel names who the area concerns and offers to
invite them. On SQLite and PostgreSQL."""
from __future__ import annotations

import re

from sqlalchemy import select

from alerts.models import Alert, AuditEvent
from devtools.world import Api, flood_alert
from tests.unit.web.test_pages import login

V1 = {"If-Match": '"v1"'}
ACROSS_THE_MAAS = "51.05,5.70 51.20,5.90 50.95,6.00 51.05,5.70"  # Maaseik to Roermond: BE and NL
IN_BRABANT = "50.85,4.35 50.9,4.45 50.8,4.5 50.85,4.35"  # Brussels, far from any border
KNOT = "50.8,5.6 50.9,5.7 50.9,5.6 50.8,5.7 50.8,5.6"


def _state(db, alert_id: int) -> str:
    with db.transaction() as session:
        return session.get(Alert, alert_id).state


def _submits(db) -> list[dict]:
    with db.transaction() as session:
        return [e.detail for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.submit"))]


def test_the_api_refuses_a_submission_that_does_not_confirm_the_centres_outside(api_as, db):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert(participants=[])).get_json()  # the area reaches into NL
    path = f"/alerts/{alert['id']}/submit"
    refused = be.post(path, headers={**V1, "Accept-Language": "nl"})
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["code"] == "outside-participants-unconfirmed" and body["outside_participants"] == ["NL"]
    assert body["type"] == "urn:benelert:problem:outside-not-confirmed", body["type"]
    assert "NL" in body["detail"] and "neemt" in body["detail"]
    assert body["title"] == "Bevestig de centra die het gebied aangaat"
    wrong = be.post(path, headers=V1, json={"confirm_outside": ["BE"]})  # not the set the area covers
    assert wrong.status_code == 409 and wrong.get_json()["outside_participants"] == ["NL"]
    assert wrong.get_json()["confirmed"] == ["BE"] and "BE" in wrong.get_json()["detail"]
    assert be.post(path, headers=V1, json={"confirm_outside": ["NL", "BE"]}).status_code == 409
    assert be.post(path, headers=V1, json={"confirm_outside": []}).status_code == 409
    assert be.post(path, json={"confirm_outside": ["NL"]}).status_code == 428  # If-Match still required
    assert be.post(path, headers={"If-Match": '"v2"'}, json={"confirm_outside": ["NL"]}).status_code == 412
    assert be.post(path, headers=V1, json={"confirm_outside": "NL"}).status_code == 422
    assert _state(db, alert["id"]) == "draft" and _submits(db) == []
    done = be.post(path, headers=V1, json={"confirm_outside": [" nl "]})
    assert done.status_code == 200 and done.get_json()["state"] == "in_review", done.get_json()
    [detail] = _submits(db)
    assert detail == {"version": 1, "outside_participants": ["NL"], "outside_confirmed": True}


def test_a_confirmation_the_area_no_longer_matches_is_refused_and_none_is_needed_without_outsiders(api_as, db):
    be = api_as("BE", "communicator")
    alert = be.post("/alerts", json=flood_alert(participants=["NL"])).get_json()  # BE and NL both take part
    path = f"/alerts/{alert['id']}/submit"
    stale = be.post(path, headers=V1, json={"confirm_outside": ["NL"]})
    assert stale.status_code == 409 and stale.get_json()["outside_participants"] == []
    assert _state(db, alert["id"]) == "draft"
    assert be.post(path, headers=V1).status_code == 200  # no body: nothing to confirm
    assert _submits(db) == [{"version": 1}]


def test_only_the_lead_centre_confirms_submitting_without_a_centre_the_area_concerns(api_as, app, db):
    be, lu = api_as("BE", "communicator"), api_as("LU", "communicator")
    alert = be.post("/alerts", json=flood_alert(participants=["LU"])).get_json()  # the area reaches into NL
    path = f"/alerts/{alert['id']}/submit"
    for body in (None, {"confirm_outside": ["NL"]}):  # LU takes part, but may not decide it for the lead
        refused = lu.post(path, headers={**V1, "Accept-Language": "en"}, json=body)
        assert refused.status_code == 409, refused.get_json()
        problem = refused.get_json()
        assert problem["code"] == "outside-participants-unconfirmed" and problem["outside_participants"] == ["NL"]
        assert problem["lead"] == "BE" and "only the lead centre BE can confirm" in problem["detail"], problem
    assert _state(db, alert["id"]) == "draft" and _submits(db) == []
    assert be.post(path, headers=V1, json={"confirm_outside": ["NL"]}).status_code == 200
    assert _submits(db) == [{"version": 1, "outside_participants": ["NL"], "outside_confirmed": True}]


def test_the_page_of_a_centre_that_does_not_lead_says_who_confirms(app, make_user, db):
    _username, token = make_user("BE", "communicator")
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert(participants=["LU"])).get_json()
    username, _token = make_user("LU", "communicator")
    browser = login(app, username)
    browser.set_cookie("benelert_lang", "fr")
    page = browser.get(f"/alerts/{alert['id']}").get_data(as_text=True)
    section = re.search(r'<section class="card" id="confirm-outside".*?</section>', page, re.S).group(0)
    assert "Seul le centre pilote BE peut confirmer" in section, section
    assert 'name="confirm_outside"' not in page and f'action="/alerts/{alert["id"]}/submit"' not in section


def test_the_openapi_document_describes_the_confirmation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/alerts/{alert_id}/submit"]["post"]
    assert "confirm_outside" in str(operation["requestBody"]) or "confirm_outside" in str(spec["components"])
    assert "outside-participants-unconfirmed" in operation["responses"]["409"]["description"]
    assert operation["requestBody"].get("required") is not True


def _alert_page(app, make_user, participants, language="nl"):
    username, token = make_user("BE", "communicator")
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert(participants=participants)).get_json()
    browser = login(app, username)
    browser.set_cookie("benelert_lang", language)
    return alert, browser, browser.get(f"/alerts/{alert['id']}").get_data(as_text=True)


def _flashes(browser) -> list[tuple[str, str]]:
    with browser.session_transaction() as session:
        return session.pop("_flashes", [])


def test_the_alert_page_asks_to_confirm_the_centres_outside_before_submitting(app, make_user, db):
    alert, browser, page = _alert_page(app, make_user, [])
    section = re.search(r'<section class="card" id="confirm-outside".*?</section>', page, re.S).group(0)
    assert "Het gebied bestrijkt het grondgebied van NL" in section, section
    assert '<input type="hidden" name="outside_participants" value="NL">' in section
    assert re.search(r'<input type="checkbox" name="confirm_outside" value="yes" required', section)
    assert "NL uitnodigen" in section  # the Invite button beside it
    assert f'action="/alerts/{alert["id"]}/submit"' not in page.replace(section, "")  # the only submit form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', section).group(1)
    form = {"csrf_token": csrf, "base_version": "1", "outside_participants": "NL"}
    refused = browser.post(f"/alerts/{alert['id']}/submit", data=form)  # the box not ticked
    assert refused.status_code == 302
    [(category, message)] = _flashes(browser)
    assert category == "error" and "NL" in message and "bevestig" in message, message
    assert _state(db, alert["id"]) == "draft" and _submits(db) == []
    wrong = browser.post(f"/alerts/{alert['id']}/submit", data={**form, "confirm_outside": "yes",
                                                               "outside_participants": "LU"})
    assert wrong.status_code == 302 and _flashes(browser)[0][0] == "error" and _state(db, alert["id"]) == "draft"
    done = browser.post(f"/alerts/{alert['id']}/submit", data={**form, "confirm_outside": "yes"})
    assert done.status_code == 302 and _flashes(browser)[0][0] == "ok"
    assert _state(db, alert["id"]) == "in_review"
    assert _submits(db) == [{"version": 1, "outside_participants": ["NL"], "outside_confirmed": True}]


def test_without_centres_outside_the_page_submits_as_before(app, make_user, db):
    alert, browser, page = _alert_page(app, make_user, ["NL"], language="en")
    assert 'id="confirm-outside"' not in page and 'name="confirm_outside"' not in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    browser.post(f"/alerts/{alert['id']}/submit", data={"csrf_token": csrf, "base_version": "1"})
    assert _state(db, alert["id"]) == "in_review"


# ---- the compose page's panel -----------------------------------------------------------------------------------

def _compose_client(app, make_user, language="en"):
    username, _token = make_user("BE", "communicator")
    browser = login(app, username)
    browser.set_cookie("benelert_lang", language)
    page = browser.get("/alerts/new").get_data(as_text=True)
    return browser, re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1), page


def _panel(browser, csrf, **form):
    response = browser.post("/alerts/new/jurisdictions", data={"csrf_token": csrf, **form})
    assert response.status_code == 200, response.get_data(as_text=True)[-500:]
    return response.get_data(as_text=True)


def test_the_compose_page_carries_the_panel_and_its_script(app, make_user):
    _browser, _csrf, page = _compose_client(app, make_user)
    assert 'data-jurisdictions="/alerts/new/jurisdictions"' in page
    assert '<script src="/static/jurisdictions.js" defer></script>' in page
    assert re.search(r'<div id="jurisdictions" [^>]*aria-live="polite">', page)
    assert "Pick places or draw an area" in page


def test_the_panel_names_the_countries_and_centres_a_drawn_area_concerns_and_offers_invitations(app, make_user):
    browser, csrf, _page = _compose_client(app, make_user)
    panel = _panel(browser, csrf, shapes=ACROSS_THE_MAAS)
    assert re.search(r"BE: \d+ % of the area", panel) and re.search(r"NL: \d+ % of the area", panel), panel
    assert "BE: the area covers its territory" in panel and "NL: the area covers its territory" in panel
    assert '<button type="button" class="invite" data-invite="NL" hidden>Invite NL</button>' in panel
    assert 'data-invite="BE"' not in panel  # the lead centre takes part
    ticked = _panel(browser, csrf, shapes=ACROSS_THE_MAAS, participants="NL")
    assert 'data-invite="NL"' not in ticked and ticked.count("takes part") == 2
    both = _panel(browser, csrf, shapes="", places=["be-lim", "nl-li"])  # the gazetteer's provinces
    assert "NL: the area covers its territory" in both and 'data-invite="NL"' in both
    far = _panel(browser, csrf, shapes=IN_BRABANT)
    assert re.search(r"BE: 100 % of the area", far) and "NL" not in far and "data-invite" not in far


def test_a_centre_within_the_border_band_is_named_and_the_band_is_the_setting(make_app):
    from alerts import accounts
    from devtools.demo import ensure_centres
    from tests.conftest import PASSWORD

    app = make_app(border_band_km=20)
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
        accounts.create_user(session, "test", username="band", display_name="Band", centre_code="BE",
                             roles=["communicator"], password=PASSWORD)
    browser = login(app, "band")
    page = browser.get("/alerts/new").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    panel = _panel(browser, csrf, shapes="50.90,5.50 50.95,5.50 50.95,5.55 50.90,5.55 50.90,5.50")  # Genk
    assert re.search(r"NL: [\d.,]+ km from the area, within the border band", panel), panel
    assert 'data-invite="NL"' in panel and "Centres within 20 km of the area are named" in panel


def test_a_wrong_shape_is_a_message_in_the_panel_in_the_readers_language(app, make_user):
    browser, csrf, _page = _compose_client(app, make_user, language="fr")
    panel = _panel(browser, csrf, shapes=KNOT)
    assert 'class="flash error" role="alert"' in panel and "se recoupe" in panel, panel
    assert "ligne 1" in _panel(browser, csrf, shapes="50.8,5.6 nonsense")
    assert "Choisissez des lieux" in _panel(browser, csrf, shapes="")


def test_the_panel_needs_a_session_and_its_form_token(app, make_user):
    browser, _csrf, _page = _compose_client(app, make_user)
    assert browser.post("/alerts/new/jurisdictions", data={"shapes": ACROSS_THE_MAAS}).status_code == 400
    anonymous = app.test_client().post("/alerts/new/jurisdictions", data={"shapes": ACROSS_THE_MAAS})
    assert anonymous.status_code in (302, 400)


def test_a_compose_form_shown_again_renders_the_panel_on_the_server(app, make_user):
    browser, csrf, _page = _compose_client(app, make_user, language="nl")
    response = browser.post("/alerts/new", data={"csrf_token": csrf, "hazard": "flood", "status": "Exercise",
                                                 "expires": "not a date", "shapes": ACROSS_THE_MAAS})
    page = response.get_data(as_text=True)
    assert response.status_code in (400, 422), response.status_code
    panel = re.search(r'<div id="jurisdictions".*?</div>', page, re.S).group(0)
    assert "NL: het gebied" in panel and 'data-invite="NL"' in panel, panel
