"""The plain pages: list, detail, edit with a hidden base version, and the conflict page."""
from __future__ import annotations

import re

from tests.conftest import PASSWORD, Api, flood_alert


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
    assert "Someone saved first" in html and "texts.fr.headline" in html
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
