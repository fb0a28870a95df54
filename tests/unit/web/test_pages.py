"""The plain pages: list, detail, edit with a hidden base version, and the conflict page."""
from __future__ import annotations

import re

from devtools.world import Api, flood_alert
from tests.conftest import PASSWORD


def login(app, username):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def form_fields(html):
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        fields[name] = value.replace("&#39;", "'").replace("&amp;", "&")
    for name, block in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', block)
        first = re.search(r'<option[^>]*value="([^"]*)"', block)  # what a browser submits by default
        fields[name] = next(g for g in selected.groups() if g is not None) if selected else first.group(1)
    return fields


def test_list_detail_and_edit_through_pages(app, make_user):
    username, token = make_user("BE", "communicator")
    alert_id = Api(app.test_client(), token).post("/alerts", json=flood_alert()).get_json()["id"]
    client = login(app, username)
    assert f"#{alert_id}" in client.get("/alerts").get_data(as_text=True)
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Overstroming in Limburg" in detail and "EXERCISE" in detail
    form = form_fields(client.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    assert form["base_version"] == "1" and form["text-nl-headline"] == "Overstroming in Limburg"
    form["text-fr-headline"] = "Inondation au Limbourg"
    response = client.post(f"/alerts/{alert_id}/edit", data=form)
    assert response.status_code == 302
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Inondation au Limbourg" in detail and "version 2" in detail


def test_stale_form_shows_a_conflict_and_keeps_both_changes(app, make_user):
    be_name, be_token = make_user("BE", "communicator")
    nl_name, _ = make_user("NL", "communicator")
    alert_id = Api(app.test_client(), be_token).post("/alerts", json=flood_alert()).get_json()["id"]
    be, nl = login(app, be_name), login(app, nl_name)
    be_form = form_fields(be.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    nl_form = form_fields(nl.get(f"/alerts/{alert_id}/edit").get_data(as_text=True))
    be_form["text-fr-headline"] = "Inondation au Limbourg"
    assert be.post(f"/alerts/{alert_id}/edit", data=be_form).status_code == 302
    nl_form["text-nl-instruction"] = "Ga naar boven."
    conflict = nl.post(f"/alerts/{alert_id}/edit", data=nl_form)
    assert conflict.status_code == 409
    html = conflict.get_data(as_text=True)
    assert "Someone saved first" in html and "headline (fr)" in html
    retry = form_fields(html)
    assert retry["base_version"] == "2"
    assert retry["text-nl-instruction"] == "Ga naar boven."  # the NL change is kept
    assert retry["text-fr-headline"] == "Inondation au Limbourg"  # the BE change is not reverted
    assert nl.post(f"/alerts/{alert_id}/edit", data=retry).status_code == 302
    body = Api(app.test_client(), be_token).get(f"/alerts/{alert_id}").get_json()["version"]["texts"]
    assert body["fr"]["headline"]["body"] == "Inondation au Limbourg"
    assert body["nl"]["instruction"]["body"] == "Ga naar boven."


def test_create_comment_and_diff_pages(app, make_user):
    username, _ = make_user("NL", "communicator")
    client = login(app, username)
    form = form_fields(client.get("/alerts/new").get_data(as_text=True))
    form.update({"hazard": "storm", "participants": "be", "status": "Exercise", "areas": "Zeeland\nWest-Vlaanderen",
                 "expires": "2099-01-01T12:00"})
    response = client.post("/alerts/new", data=form)
    assert response.status_code == 302
    alert_id = int(response.headers["Location"].split("/")[-2])
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Zeeland; West-Vlaanderen" in detail and "2099-01-01T11:00:00Z" in detail  # Amsterdam → UTC
    comment = form_fields(detail)
    response = client.post(f"/alerts/{alert_id}/comments", data={"csrf_token": comment["csrf_token"],
                                                                 "body": "<script>alert(1)</script>", "field": ""})
    assert response.status_code == 302
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert(1)" not in detail
    bad = client.post("/alerts/new", data={**form, "expires": "not a date"})
    assert bad.status_code == 400 and "not a valid date" in bad.get_data(as_text=True)
    assert "No differences" in client.get(f"/alerts/{alert_id}/diff?from=1&to=1").get_data(as_text=True)


def _wire(db, **channels):
    from sqlalchemy import select

    from alerts.models import Centre

    with db.transaction() as session:
        for centre in session.scalars(select(Centre).where(Centre.code.in_(["BE", "NL"]))):
            centre.channels = channels


def test_release_page_shows_what_does_not_fit_and_leaves_it_out(app, db, api_as, make_user):
    from devtools.world import approved_alert

    # An English short text over the SMS limit, approved before the centre had an SMS account (once it has one,
    # submission refuses such a text: readiness is the release check).
    alert = approved_alert(api_as, texts={"en": {"headline": "Flooding in Limburg", "short": "Stay home. " * 80}})
    _wire(db, sms={}, x={"target": "X"})
    username, _ = make_user("BE", "spokesperson")
    client = login(app, username)
    html = client.get(f"/alerts/{alert['id']}/release").get_data(as_text=True)
    assert "LIVE" in html and "Does not fit" in html and "segments" in html
    assert re.search(r'name="channel-BE" value="sms"(?![^>]*checked)', html)  # over the limit: not preselected
    assert re.search(r'name="channel-BE" value="partners" checked', html)
    form = form_fields(html)
    refused = client.post(f"/alerts/{alert['id']}/release", data={**form, "when": "now", "channel-BE": ["sms"]})
    assert refused.status_code == 422 and "not fit" in refused.get_data(as_text=True)
    done = client.post(f"/alerts/{alert['id']}/release", data={**form, "when": "now", "channel-BE": ["partners"]})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/alerts/{alert['id']}/deliveries")
    live = client.get(f"/alerts/{alert['id']}/deliveries/live").get_data(as_text=True)
    assert "Waiting for the release moment" in live


def test_four_eyes_and_reject_without_reason_are_explained(app, make_user):
    be_name, be_token = make_user("BE", "communicator", "spokesperson")
    alert = Api(app.test_client(), be_token).post("/alerts", json=flood_alert(participants=[])).get_json()
    client = login(app, be_name)
    form = form_fields(client.get(f"/alerts/{alert['id']}").get_data(as_text=True))
    assert client.post(f"/alerts/{alert['id']}/submit", data={  # BE alone: it confirms the area reaches into NL
        "csrf_token": form["csrf_token"], "base_version": "1", "outside_participants": "NL",
        "confirm_outside": "yes"}).status_code == 302
    review = client.get(f"/alerts/{alert['id']}/review").get_data(as_text=True)
    decision = {**form_fields(review), "decision": "approve"}
    page = client.post(f"/alerts/{alert['id']}/decision", data=decision, follow_redirects=True)
    assert "Four-eyes rule" in page.get_data(as_text=True)
    other, _ = make_user("BE", "spokesperson")
    other_client = login(app, other)
    decision = {**form_fields(other_client.get(f"/alerts/{alert['id']}/review").get_data(as_text=True)),
                "decision": "reject", "reason": ""}
    page = other_client.post(f"/alerts/{alert['id']}/decision", data=decision, follow_redirects=True)
    assert "Say why you reject it." in page.get_data(as_text=True)


def test_interface_language_cookie_over_accept_language_and_no_inline_code(app, make_user):
    username, _ = make_user("LU", "partner")
    client = app.test_client()
    assert "Anmelden" in client.get("/login", headers={"Accept-Language": "de-LU,de;q=0.9"}).get_data(as_text=True)
    token = form_fields(client.get("/login").get_data(as_text=True))["csrf_token"]
    switched = client.post("/language", data={"language": "fr", "next": "/login", "csrf_token": token})
    assert switched.status_code == 302 and "benelert_lang=fr" in switched.headers["Set-Cookie"]
    html = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in html and "Se connecter" in html
    assert client.post("/language", data={"language": "nl", "next": "/login"}).status_code == 400  # CSRF
    client = login(app, username)
    for path in ("/alerts", "/incoming", "/login"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "style=" not in html and " on" + "click" not in html


def test_numbers_out_of_range_in_forms_and_queries_are_a_message_not_an_error(app, make_user):
    username, token = make_user("BE", "communicator")
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert()).get_json()
    client = login(app, username)
    page = f"/alerts/{alert['id']}"
    csrf = form_fields(client.get(page + "/edit").get_data(as_text=True))["csrf_token"]
    for answer in (client.get(page + "/diff?from=3000000000&to=1"),
                   client.get(page + "/diff?from=99999999999999999999999&to=1"),
                   client.post(page + "/edit", data={"csrf_token": csrf, "base_version": "99999999999999999999"}),
                   client.post(page + "/invite", data={"csrf_token": csrf, "base_version": "x", "centre": "LU"})):
        assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    assert client.get(page).status_code == 200


def test_a_form_save_changes_only_what_the_person_changed(app, make_user):
    """Texts the form does not show (a language no centre requires) and texts stored with CR line breaks by an
    API client are not written back, nor made stale elsewhere, when someone changes the severity."""
    username, token = make_user("BE", "communicator")
    api = Api(app.test_client(), token)
    texts = {"nl": {"description": "Het water stijgt.\r\nBlijf weg van de dijken."},
             "fr": {"description": "L'eau monte.\r\nRestez loin des digues."},
             "lb": {"headline": "Iwwerschwemmung am Limbourg"}}
    alert = api.post("/alerts", json=flood_alert(texts=texts)).get_json()
    client = login(app, username)
    form = form_fields(client.get(f"/alerts/{alert['id']}/edit").get_data(as_text=True))
    assert "text-lb-headline" not in form  # BE and NL do not need lb: the form does not show it
    form["severity"] = "Extreme"
    assert client.post(f"/alerts/{alert['id']}/edit", data=form).status_code == 302
    current = api.get(f"/alerts/{alert['id']}").get_json()["version"]
    assert current["number"] == 2 and current["severity"] == "Extreme"
    assert current["texts"]["lb"]["headline"] == {"body": "Iwwerschwemmung am Limbourg", "status": "human"}
    assert current["texts"]["nl"]["description"]["body"] == texts["nl"]["description"]
    assert {current["texts"][lang]["description"]["status"] for lang in ("nl", "fr")} == {"human"}
    changed = api.get(f"/alerts/{alert['id']}/diff?from=1&to=2").get_json()
    assert [change["field"] for change in changed["changes"]] == ["severity"]


def test_a_translator_confirms_a_stale_translation_in_the_form(app, make_user):
    username, token = make_user("BE", "communicator")  # BE needs nl, fr and de
    api = Api(app.test_client(), token)
    alert = api.post("/alerts", json=flood_alert(texts={"nl": {"headline": "Hoog water in Limburg"},
                                                        "fr": {"headline": "Crue dans le Limbourg"}})).get_json()
    rewritten = api.patch(f"/alerts/{alert['id']}", json={"texts": {"nl": {"headline": "Hoog water in Limburg!"}}},
                          headers={"If-Match": '"v1"'}).get_json()
    assert rewritten["version"]["texts"]["fr"]["headline"]["status"] == "stale"
    client = login(app, username)
    html = client.get(f"/alerts/{alert['id']}/edit", headers={"Accept-Language": "fr-BE"}).get_data(as_text=True)
    assert 'name="reviewed-fr-headline"' in html and "cette traduction reste juste" in html
    assert 'name="reviewed-nl-headline"' not in html  # only stale texts can be confirmed
    form = form_fields(html)
    form["reviewed-fr-headline"] = "yes"
    assert client.post(f"/alerts/{alert['id']}/edit", data=form).status_code == 302
    current = api.get(f"/alerts/{alert['id']}").get_json()["version"]
    assert current["number"] == 3
    assert current["texts"]["fr"]["headline"] == {"body": "Crue dans le Limbourg", "status": "human"}


def test_a_spokesperson_confirms_their_centres_channels_and_withdraws_a_release_on_the_pages(app, db, api_as,
                                                                                            make_user):
    from datetime import UTC, datetime, timedelta

    from devtools.world import approved_alert

    _wire(db, sms={}, x={"target": "X"})
    alert = approved_alert(api_as)
    at = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    planned = api_as("BE", "spokesperson").post(f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'}, json={
        "content_hash": alert["version"]["content_hash"], "channels": {"BE": ["partners"], "NL": ["x"]}, "at": at})
    assert planned.status_code == 201, planned.get_json()
    nl = login(app, make_user("NL", "spokesperson")[0])
    nl.post("/language", data={"language": "nl", "next": "/",
                               "csrf_token": form_fields(nl.get("/login").get_data(as_text=True))["csrf_token"]})
    review = nl.get(f"/alerts/{alert['id']}/review").get_data(as_text=True)
    assert "wacht op de bevestiging van de woordvoerder van NL" in review
    confirmed = nl.post(f"/alerts/{alert['id']}/release/consents", data={
        "csrf_token": form_fields(review)["csrf_token"], "plan": form_fields(review)["plan"]})
    assert confirmed.status_code == 302
    page = nl.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "Bevestigd: de kanalen van NL gaan op het geplande tijdstip uit." in page
    form = form_fields(page)
    refused = nl.post(f"/alerts/{alert['id']}/release/withdraw", data={**form, "reason": ""})
    assert "Zeg waarom de verzending wordt ingetrokken." in nl.get(refused.headers["Location"]).get_data(as_text=True)
    withdrawn = nl.post(f"/alerts/{alert['id']}/release/withdraw", data={**form, "reason": "later"})
    assert "Verzending ingetrokken" in nl.get(withdrawn.headers["Location"]).get_data(as_text=True)
    assert api_as("BE", "communicator").get(f"/alerts/{alert['id']}").get_json()["state"] == "approved"


def test_the_edit_preview_says_whether_it_can_go_out_shows_each_countrys_cell_broadcast_and_coaches(app, db,
                                                                                             make_user):
    _wire(db, sms={}, national={"target": "https://cap.example/receive"})
    username, token = make_user("BE", "communicator")
    alert = Api(app.test_client(), token).post("/alerts", json=flood_alert(status="Actual")).get_json()
    client = login(app, username)
    html = client.get(f"/alerts/{alert['id']}/edit").get_data(as_text=True)
    assert "Every text fits every channel the centres have configured." in html
    assert re.search(r'data-country="NL">\s*<th scope="row">NL · nl \+ en', html)  # NL-Alert: nl and en together
    assert re.search(r'data-country="BE">\s*<th scope="row">BE · fr', html)  # BE-Alert: one message per language
    form = form_fields(html)
    typed = "Volg de officiële berichten. " * 12  # over 4 SMS segments, and the ë forces UCS-2
    preview = client.post(f"/alerts/{alert['id']}/preview", data={**form, "text-nl-short": typed})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "A release would refuse" in page and "nl / SMS" in page
    assert "“ë” in officiële switches to UCS-2" in page
    client.set_cookie("benelert_lang", "nl")
    page = client.post(f"/alerts/{alert['id']}/preview", data={**form, "text-nl-short": typed}).get_data(as_text=True)
    assert "Een verzending zou" in page and "schakelt over op UCS-2" in page  # the coach speaks the reader's language
