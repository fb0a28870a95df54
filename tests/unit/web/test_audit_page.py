"""The audit trail page (/network/audit): administrators only (and only they see its link), their centre's events
for a centre admin, filters and "older" paging, the CSV of the same selection, the chain's verdict for network
administrators, a bad filter a readable message in the reader's language (422, never a 500). SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from alerts import audit
from devtools.world import Api, flood_alert
from tests.conftest import PASSWORD


def browser(app, username: str, language: str = "en"):
    client = app.test_client()
    client.set_cookie("benelert_lang", language)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
                       ).status_code == 302
    return client


def shown(response, status=200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return html.unescape(response.get_data(as_text=True))


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="event-(\d+)">', page)


@pytest.fixture
def alerts(app, make_user, client):
    """An alert of BE and NL, one of NL alone; their ids."""
    _, be = make_user("BE", "communicator")
    _, nl = make_user("NL", "communicator")
    shared = Api(client, be).post("/alerts", json=flood_alert(participants=["NL"])).get_json()["id"]
    nl_only = Api(client, nl).post("/alerts", json=flood_alert(participants=[])).get_json()["id"]
    return {"shared": shared, "nl_only": nl_only}


@pytest.mark.parametrize("language,words", [("nl", ("Filteren", "Downloaden als CSV", "Waarschuwing")),
                                            ("fr", ("Filtrer", "Télécharger en CSV", "Alerte"))])
def test_a_centre_admin_sees_their_centres_events_in_their_language(app, make_user, alerts, language, words):
    admin = browser(app, make_user("BE", "admin")[0], language)
    page = shown(admin.get("/network/audit"))
    assert f'<html lang="{language}">' in page and all(word in page for word in words)
    shared = re.search(rf'<a href="/alerts/{alerts["shared"]}">([^<]+)</a>', page)  # the BE+NL alert, linked
    assert shared and shared.group(1) == f"{words[2]} {alerts['shared']}"
    assert f'href="/alerts/{alerts["nl_only"]}"' not in page and f" {alerts['nl_only']}</a>" not in page
    assert "alert.create" in page and "/network/audit.csv" in page
    assert "audit-chain" not in page and "intact" not in page  # the verdict is the network administrators'
    assert 'href="/network/audit"' in page  # the navigation's link


def test_the_page_and_its_link_are_for_administrators_only(app, make_user):
    for role in ("communicator", "spokesperson", "partner"):
        client = browser(app, make_user("BE", role)[0])
        assert 'href="/network/audit"' not in shown(client.get("/alerts"))
        assert "may read the audit trail" in shown(client.get("/network/audit"), 403)
        assert client.get("/network/audit.csv").status_code == 403
    network = browser(app, make_user("DE-NW", "network-admin")[0])
    assert 'href="/network/audit"' in shown(network.get("/network/centres"))


def test_filters_older_paging_and_the_csv_of_the_same_selection(app, db, make_user, alerts):
    with db.transaction() as session:
        for number in range(105):
            audit.record(session, "worker", "alert.expire", "alert", alerts["shared"], detail={"n": number})
        audit.record(session, "=cmd|' /C calc'!A0", "alert.expire", "alert", alerts["shared"])
    admin = browser(app, make_user("BE", "admin")[0])
    first = shown(admin.get("/network/audit?actor=worker&action=alert."))
    seqs = rows(first)
    assert len(seqs) == 100 and seqs == sorted(seqs, key=int, reverse=True)
    older = re.search(r'href="(/network/audit\?[^"]*before_seq=(\d+)[^"]*)" rel="next"', first)
    assert older and older.group(2) == seqs[-1] and "actor=worker" in older.group(1)
    second = shown(admin.get(older.group(1)))
    assert len(rows(second)) == 5 and not set(rows(second)) & set(seqs) and 'rel="next"' not in second
    assert 'href="/network/audit?actor=worker&action=alert."' in second  # back to the newest
    assert "n: 0" in second and "n: 104" in first
    link = re.search(r'href="(/network/audit\.csv\?[^"]*)" download', first).group(1)
    exported = list(csv.DictReader(io.StringIO(admin.get(link).get_data(as_text=True))))
    assert [row["seq"] for row in exported] == seqs + rows(second)
    everyone = list(csv.DictReader(io.StringIO(admin.get("/network/audit.csv").get_data(as_text=True))))
    assert "'=cmd|' /C calc'!A0" in {row["actor"] for row in everyone}  # neutralised for spreadsheets
    assert rows(shown(admin.get(f"/network/audit?alert_id={alerts['nl_only']}"))) == []
    assert "No events match these filters." in shown(admin.get(f"/network/audit?alert_id={alerts['nl_only']}"))


def test_the_period_is_in_the_viewers_time_zone(app, db, make_user, alerts):
    admin = browser(app, make_user("BE", "admin")[0])
    newest = rows(shown(admin.get("/network/audit")))
    local = datetime.now(ZoneInfo("Europe/Brussels"))
    later = (local + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    earlier = (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert rows(shown(admin.get(f"/network/audit?since={later}"))) == []
    assert rows(shown(admin.get(f"/network/audit?since={earlier}&until={later}"))) == newest
    assert rows(shown(admin.get(f"/network/audit?until={earlier}"))) == []
    filled = shown(admin.get(f"/network/audit?since={earlier}"))
    assert f'value="{earlier}"' in filled  # the form keeps what was asked


@pytest.mark.parametrize("query,language,message", [
    ("since=gisteren", "nl", "bevat geen geldige datum en tijd"),
    ("centre=XX", "nl", "Onbekend centrum 'XX'."),
    ("centre=XX", "fr", "Centre inconnu 'XX'."),
    ("alert_id=vijf", "nl", "alert_id"),
])
def test_a_bad_filter_is_a_readable_message_never_a_500(app, make_user, query, language, message):
    network = browser(app, make_user("DE-NW", "network-admin")[0], language)
    page = shown(network.get(f"/network/audit?{query}"), 422)
    assert '<p class="flash error" role="alert">' in page and 'name="actor"' in page  # the form, to correct it
    if message == "alert_id":  # the message names the field by its label
        assert re.search(r'role="alert">[^<]*:', page)
    else:
        assert message in page
    assert shown(network.get(f"/network/audit.csv?{query}"), 422)


def test_network_admins_verify_the_chain_when_they_ask(app, db, make_user, alerts):
    network = browser(app, make_user("DE-NW", "network-admin")[0])
    page = shown(network.get("/network/audit?action=alert."))
    asked = re.search(r'href="(/network/audit\?[^"]*verify=1[^"]*)"', page)
    assert asked and "action=alert." in asked.group(1) and "audit chain is" not in page  # not at every view
    verified = shown(network.get(asked.group(1)))
    assert re.search(r"The audit chain is intact: \d+ events checked\.", verified) and rows(verified)
    with db.transaction() as session:  # someone rewrites history behind the application's back
        session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    broken = shown(network.get("/network/audit?verify=1"))
    assert "The audit chain is broken: 1 problem found." in broken and "event 2 was altered" in broken
    admin = browser(app, make_user("BE", "admin")[0])  # a centre's admin: neither the button nor the verdict
    assert "verify=1" not in shown(admin.get("/network/audit"))
    assert "audit chain is" not in shown(admin.get("/network/audit?verify=1"))
