"""The contact-point directory over HTTP: the API (problem+json for every refusal, nothing written), its CSV and
vCard exports read back with csv and vobject, and the page for an admin and a communicator in Dutch and French.
On SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import re

import pytest
import vobject
from sqlalchemy import func, select

from alerts.contact_point_model import ContactPoint
from alerts.models import AuditEvent
from devtools.world import Api
from tests.conftest import PASSWORD

DESK = {"centre": "BE", "field": "duty-desk", "function": "Duty officer", "phone": "+32 2 506 47 11",
        "email": "desk@crisis.example.be", "languages": ["nl", "fr"], "hours": "24/7"}


def written(db) -> tuple[int, int]:
    with db.transaction() as session:
        return (session.scalar(select(func.count()).select_from(ContactPoint)),
                session.scalar(select(func.count()).select_from(AuditEvent)))


def created(api: Api, **values) -> dict:
    response = api.post("/contact-points", json={**DESK, **values})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def test_add_read_change_verify_and_delete(api_as):
    admin, partner = api_as("BE", "admin"), api_as("NL", "partner")
    entry = created(admin, notes="Ask for the duty officer.")
    assert entry["phone"] == "+3225064711" and entry["stale"] is True and entry["manageable"] is True
    listed = partner.get("/contact-points").get_json()
    assert [(e["id"], e["manageable"], e["centre_names"]["nl"]) for e in listed] == [
        (entry["id"], False, "Nationaal Crisiscentrum")]
    assert partner.get("/contact-points?field=cbrn").get_json() == []
    changed = admin.patch(f"/contact-points/{entry['id']}", json={"name": "Anna Peeters", "email": None})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Anna Peeters"
    assert changed.get_json()["email"] is None
    verified = admin.post(f"/contact-points/{entry['id']}/verification")
    assert verified.status_code == 200 and verified.get_json()["stale"] is False
    assert verified.get_json()["last_verified_at"]
    assert [e["id"] for e in partner.get("/contact-points?stale=false").get_json()] == [entry["id"]]
    assert admin.delete(f"/contact-points/{entry['id']}").status_code == 204
    assert_problem(partner.get(f"/contact-points/{entry['id']}"), 404)


@pytest.mark.parametrize("values,field", [
    ({"phone": "+32 2 506 47 1"}, "phone"),
    ({"phone": "not a number"}, "phone"),
    ({"centre": "XX"}, "centre"),
    ({"email": "desk@localhost"}, "email"),
    ({"name": None, "function": None}, "name"),
])
def test_invalid_fields_are_a_422_naming_the_field_and_nothing_is_written(api_as, db, values, field):
    admin = api_as("BE", "admin")
    before = written(db)
    body = assert_problem(admin.post("/contact-points", json={**DESK, **values}), 422)
    assert body["field"] == field and body["type"] == "urn:benelert:problem:invalid-input"
    assert written(db) == before


@pytest.mark.parametrize("values", [{"field": "catering"}, {"languages": ["xx"]}, {"languages": []},
                                    {"hours": "x" * 201}, {"colour": "red"}, {"verified": "maybe"}])
def test_what_the_schema_refuses_is_a_422_with_the_fields_errors(api_as, db, values):
    admin = api_as("BE", "admin")
    before = written(db)
    body = assert_problem(admin.post("/contact-points", json={**DESK, **values}), 422)
    assert set(body["errors"]) == set(values)
    assert written(db) == before


def test_refusals_are_problems(api_as, client, db):
    admin = api_as("BE", "admin")
    entry = created(admin)
    others = (api_as("NL", "admin"), api_as("BE", "communicator"))
    before = written(db)
    for other in others:
        assert_problem(other.patch(f"/contact-points/{entry['id']}", json={"hours": "never"}), 403)
        assert_problem(other.post(f"/contact-points/{entry['id']}/verification"), 403)
        assert_problem(other.delete(f"/contact-points/{entry['id']}"), 403)
        assert_problem(other.post("/contact-points", json=DESK), 403)
    for response in (admin.patch("/contact-points/999999", json={"hours": "24/7"}),
                     admin.delete("/contact-points/999999"), admin.post("/contact-points/999999/verification"),
                     admin.get("/contact-points/99999999999")):
        assert_problem(response, 404)
    assert_problem(admin.patch(f"/contact-points/{entry['id']}", json={"centre": "NL"}), 422)
    assert assert_problem(admin.get("/contact-points?centre=XX"), 422)["field"] == "centre"
    assert_problem(admin.get("/contact-points.csv?field=catering"), 422)
    assert_problem(client.get("/api/v1/contact-points"), 401)
    assert_problem(client.get("/api/v1/contact-points.vcf"), 401)
    assert written(db) == before


def test_the_csv_export_reads_back(api_as):
    admin = api_as("BE", "admin")
    desk = created(admin, name="Anaïs Dubois")
    created(admin, field="cbrn", function="=HYPERLINK(\"http://evil.example\")", phone=None, notes="Line 1\nLine 2")
    answer = api_as("NL", "communicator").get("/contact-points.csv", headers={"Accept-Language": "fr"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv" and answer.mimetype_params["charset"] == "utf-8"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data().decode("utf-8"))))
    assert [row["field"] for row in rows] == ["duty-desk", "cbrn"]
    first, second = rows
    assert (first["id"], first["centre"], first["centre_name"]) == (str(desk["id"]), "BE", "Centre de crise national")
    assert (first["name"], first["phone"], first["email"]) == ("Anaïs Dubois", "+3225064711", "desk@crisis.example.be")
    assert (first["languages"], first["hours"], first["stale"], first["last_verified_at"]) == ("nl fr", "24/7",
                                                                                               "true", "")
    assert second["function"] == "'=HYPERLINK(\"http://evil.example\")"  # not run as a formula by a spreadsheet
    assert second["notes"] == "Line 1\nLine 2" and second["phone"] == ""
    only = admin.get("/contact-points.csv?field=cbrn").get_data(as_text=True)
    assert [row["field"] for row in csv.DictReader(io.StringIO(only))] == ["cbrn"]


def test_the_vcard_export_reads_back(api_as):
    admin = api_as("BE", "admin")
    desk = created(admin, name="Anaïs Dubois")
    created(admin, field="spokesperson", function="Woordvoerder", phone=None, email="press@crisis.example.be",
            languages=["nl"], hours="")
    answer = admin.get("/contact-points.vcf")
    assert answer.status_code == 200 and answer.content_type == "text/vcard; charset=utf-8"
    cards = list(vobject.readComponents(answer.get_data().decode("utf-8")))
    assert len(cards) == 2
    card, press = cards
    assert card.version.value == "3.0" and card.uid.value == f"urn:benelert:contact-point:{desk['id']}"
    assert (card.fn.value, card.org.value, card.title.value, card.role.value) == (
        "Anaïs Dubois", ["National Crisis Center (Belgium)"], "Duty officer", "24/7 duty desk")
    assert card.tel.value == "+3225064711" and card.email.value == "desk@crisis.example.be"
    assert [line.value for line in card.contents["lang"]] == ["nl", "fr"]
    assert card.note.value.splitlines() == ["Hours: 24/7", "Never verified"]
    assert press.fn.value == "Woordvoerder" and "tel" not in press.contents
    assert press.email.value == "press@crisis.example.be"


# ---- the page -------------------------------------------------------------------------------------------------

def login(app, username: str, language: str):
    client = app.test_client()
    client.set_cookie("benelert_lang", language)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("language,log_out", [("nl", "Uitloggen"), ("fr", "Se déconnecter")])
def test_the_page_for_an_admin_and_a_communicator(app, make_user, language, log_out):
    admin_name, admin_token = make_user("BE", "admin")
    communicator, _ = make_user("BE", "communicator")
    entry = created(Api(app.test_client(), admin_token), name="Anaïs Dubois")
    created(Api(app.test_client(), make_user("NL", "admin")[1]), centre="NL", field="meteorology",
            function="Hydroloog", phone="+31 70 123 4567", languages=["nl"])
    for username, admin in ((admin_name, True), (communicator, False)):
        page = login(app, username, language).get("/contact-points")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f'<html lang="{language}">' in html and log_out in html
        assert "Anaïs Dubois" in html and "Hydroloog" in html and 'href="tel:+3225064711"' in html
        assert html.index('id="centre-BE"') < html.index('id="centre-NL"')  # grouped by centre
        assert 'class="status stale"' in html
        assert ("/contact-points/export.csv" in html) and ("/contact-points/export.vcf" in html)
        assert (f"/contact-points/{entry['id']}/verification" in html) is admin
        assert (f"/contact-points/{entry['id']}/delete" in html) is admin
        assert ("/contact-points/new?centre=BE" in html) is admin
        assert ('role="status"' in html) is admin  # the notice of the centre's entries not verified for a quarter
        assert "/contact-points/new?centre=NL" not in html  # NL's entries are not theirs to keep
    filtered = login(app, communicator, language).get("/contact-points?field=meteorology").get_data(as_text=True)
    assert "Hydroloog" in filtered and "Anaïs Dubois" not in filtered


def test_an_admin_keeps_their_centres_entries_through_the_page(app, db, make_user):
    admin, _ = make_user("BE", "admin")
    client = login(app, admin, "fr")
    form_page = client.get("/contact-points/new")
    assert form_page.status_code == 200
    fields = {"csrf_token": csrf(form_page.get_data(as_text=True)), "centre": "BE", "field": "cbrn",
              "function": "Conseiller CBRN", "phone": "02 506 47 1", "languages": ["fr", "de"], "hours": "24/7"}
    before = written(db)
    refused = client.post("/contact-points/new", data=fields)
    assert refused.status_code == 422 and "02 506 47 1" in refused.get_data(as_text=True)
    assert written(db) == before
    fields["phone"] = "02 506 47 11"
    assert client.post("/contact-points/new", data=fields).status_code == 302
    with db.transaction() as session:
        point = session.scalar(select(ContactPoint))
        assert (point.phone, point.languages, point.last_verified_at) == ("+3225064711", ["fr", "de"], None)
        point_id = point.id
    edit = client.get(f"/contact-points/{point_id}/edit").get_data(as_text=True)
    assert 'value="+3225064711"' in edit
    fields.update(csrf_token=csrf(edit), name="Claire Martin", verified="y")
    assert client.post(f"/contact-points/{point_id}/edit", data=fields).status_code == 302
    directory = client.get("/contact-points").get_data(as_text=True)
    assert "Claire Martin" in directory and 'class="status stale"' not in directory
    assert client.post(f"/contact-points/{point_id}/verification",
                       data={"csrf_token": csrf(directory)}).status_code == 302
    export = client.get("/contact-points/export.vcf")
    assert [card.fn.value for card in vobject.readComponents(export.get_data(as_text=True))] == ["Claire Martin"]
    assert client.post(f"/contact-points/{point_id}/delete", data={"csrf_token": csrf(directory)}).status_code == 302
    assert written(db)[0] == 0
    with db.transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "contact_point")
                                       .order_by(AuditEvent.seq)))
    assert actions == ["contact_point.create", "contact_point.update", "contact_point.verify",
                       "contact_point.delete"]


def test_the_page_refuses_who_may_not_keep_the_entries(app, make_user):
    _, token = make_user("BE", "admin")
    entry = created(Api(app.test_client(), token))
    communicator, _ = make_user("BE", "communicator")
    nl_admin, _ = make_user("NL", "admin")
    assert login(app, communicator, "nl").get("/contact-points/new").status_code == 403
    other = login(app, nl_admin, "nl")
    assert other.get(f"/contact-points/{entry['id']}/edit").status_code == 403
    assert other.get("/contact-points/999999/edit").status_code == 404
    page = other.get("/contact-points").get_data(as_text=True)
    assert other.post(f"/contact-points/{entry['id']}/delete", data={"csrf_token": csrf(page)}).status_code == 302
    assert "flash error" in other.get("/contact-points").get_data(as_text=True)  # the refusal, shown
    assert other.post(f"/contact-points/{entry['id']}/delete", data={}).status_code == 400  # no CSRF token
    assert Api(app.test_client(), token).get(f"/contact-points/{entry['id']}").status_code == 200  # still there
