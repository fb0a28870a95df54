"""The communication tests on the pages: the history with its chart, a test's answers with who to call, the start
button and the schedule form for network administrators; refusals are messages in the user's language and change
nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from alerts import comm_test_schedule
from alerts.contact_point_model import ContactPoint
from alerts.factory import system_author
from alerts.models import Ack, Alert, Centre, PartnerEndpoint, Release
from tests.unit.web.test_pages import login


def csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def drills_count(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Alert).where(Alert.identifier.contains("-test-")))


def with_partners(db) -> None:
    """LU and NL receive copies; LU has a duty desk."""
    with db.transaction() as session:
        for code in ("LU", "NL"):
            centre = session.scalar(select(Centre).where(Centre.code == code))
            session.add(PartnerEndpoint(centre_id=centre.id, url=f"https://partners.example/{code}",
                                        secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]))
        lu = session.scalar(select(Centre).where(Centre.code == "LU"))
        author = system_author(session, lu).id
        session.add(ContactPoint(centre_id=lu.id, field="duty-desk", function="Permanence 24/7", phone="+35224781000",
                                 email="permanence@example.lu", languages=["fr"], hours="24/7",
                                 created_by_id=author, updated_by_id=author))


def test_a_spokesperson_starts_a_test_and_reads_who_answered_and_who_to_call(app, db, make_user):
    with_partners(db)
    spokes = login(app, make_user("BE", "spokesperson")[0])
    started = spokes.post("/network/communication-tests",
                          data={"csrf_token": csrf(spokes, "/network/communication-tests")}, follow_redirects=True)
    html = started.get_data(as_text=True)
    assert "The communication test is on its way to every partner centre." in html and drills_count(db) == 1
    assert "0 of 2" in html
    with db.transaction() as session:
        alert = session.scalars(select(Alert)).one()
        rel = session.scalar(select(Release).where(Release.alert_id == alert.id))
        rel.fired_at = alert.created_at
        nl = session.scalar(select(Centre).where(Centre.code == "NL"))
        session.add(Ack(alert_id=alert.id, centre_id=nl.id, kind="received", via="api", at=alert.created_at))
        alert_id = alert.id
    communicator = login(app, make_user("NL", "communicator")[0])
    communicator.set_cookie("benelert_lang", "nl")
    detail = communicator.get(f"/network/communication-tests/{alert_id}").get_data(as_text=True)
    assert "Bevestigd door 1 van de 2 centra." in detail, detail
    assert "+35224781000" in detail and "Wie bellen" in detail
    history = communicator.get("/network/communication-tests").get_data(as_text=True)
    assert "Antwoorden per centrum" in history and '<rect class="bar acknowledged"' in history
    assert "Start nu een communicatietest" not in history  # a communicator does not start one
    refused = communicator.post("/network/communication-tests",
                                data={"csrf_token": csrf(communicator, "/network/communication-tests")},
                                follow_redirects=True)
    assert "woordvoerder of een beheerder" in refused.get_data(as_text=True) and drills_count(db) == 1
    assert login(app, make_user("LU", "partner")[0]).get("/network/communication-tests").status_code == 403


def test_a_network_admin_sets_the_schedule_and_a_bad_value_is_a_message(app, db, make_user):
    admin = login(app, make_user("LU", "network-admin")[0])
    admin.set_cookie("benelert_lang", "fr")
    form = {"csrf_token": csrf(admin, "/network/communication-tests"), "enabled": "on", "organiser": "LU",
            "month_of_quarter": "3", "day": "12", "time": "09:30", "timezone": "Europe/Luxembourg",
            "reminder_sms": "on"}
    saved = admin.post("/network/communication-tests/schedule", data=form, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert "Le calendrier des tests de communication est enregistré." in html, html
    with db.transaction() as session:
        schedule = comm_test_schedule.read(session)
    assert (schedule.organiser, schedule.month_of_quarter, schedule.day, schedule.reminder_sms) == ("LU", 3, 12, True)
    refused = admin.post("/network/communication-tests/schedule", data={**form, "day": "31"}, follow_redirects=True)
    assert "Le jour est compris entre 1 et 28" in refused.get_data(as_text=True)
    with db.transaction() as session:
        assert comm_test_schedule.read(session).day == 12
    centre_admin = login(app, make_user("BE", "admin")[0])
    page = centre_admin.get("/network/communication-tests").get_data(as_text=True)
    assert 'action="/network/communication-tests/schedule"' not in page
    other = centre_admin.post("/network/communication-tests/schedule",
                              data={**form, "csrf_token": csrf(centre_admin, "/network/communication-tests")},
                              follow_redirects=True)
    assert "Only a network administrator" in other.get_data(as_text=True)
