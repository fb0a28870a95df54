"""The centres of the network through the API and the CLI: who may add and change them, what is refused, and that
nothing is written when a request is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alerts.models import AuditEvent, Centre
from devtools.world import flood_alert

DENMARK = {"code": "DK", "timezone": "Europe/Copenhagen", "languages": ["en"],
           "names": {"en": "Danish Emergency Management Agency", "de": "Dänische Katastrophenschutzbehörde"}}


def count(db, model, *where) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_every_user_reads_the_network_directory(api_as):
    partner = api_as("NL", "partner")
    answer = partner.get("/centres")
    assert answer.status_code == 200
    codes = [c["code"] for c in answer.json]
    assert codes == sorted(codes) and {"BE", "NL", "LU", "DE-NW"} <= set(codes)
    be = partner.get("/centres/BE").json
    assert be["names"]["fr"] == "Centre de crise national" and be["active"] is True and be["manageable"] is False


def test_a_network_admin_adds_a_centre_and_it_is_audited(api_as, db):
    network = api_as("BE", "network-admin")
    answer = network.post("/centres", json={**DENMARK, "ack_deadline_minutes": 30})
    assert answer.status_code == 201, answer.json
    assert answer.json["code"] == "DK" and answer.json["ack_deadline_minutes"] == 30
    assert answer.json["cell_broadcast_languages"] is None and answer.json["manageable"] is True
    assert count(db, AuditEvent, AuditEvent.action == "centre.create", AuditEvent.object_id == "DK") == 1
    assert network.get("/centres/DK").json["timezone"] == "Europe/Copenhagen"


@pytest.mark.parametrize("roles", [("admin",), ("communicator",), ("spokesperson",), ("partner",)])
def test_only_a_network_admin_adds_centres(api_as, db, roles):
    answer = api_as("BE", *roles).post("/centres", json=DENMARK)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert count(db, Centre, Centre.code == "DK") == 0


@pytest.mark.parametrize("change,field", [
    ({"code": "dk"}, "code"),
    ({"code": "DENMARK"}, "code"),
    ({"timezone": "Europe/Nowhere"}, "timezone"),
    ({"languages": ["da"]}, "languages"),
    ({"languages": []}, "languages"),
    ({"names": {"de": "Nur Deutsch"}}, "names"),
    ({"names": {"en": ""}}, "names"),
    ({"ack_deadline_minutes": 0}, "ack_deadline_minutes"),
    ({"ack_deadline_minutes": 24 * 60 + 1}, "ack_deadline_minutes"),
    ({"cell_broadcast_languages": ["fr"]}, "cell_broadcast_languages"),  # not one of its publishing languages
])
def test_bad_centres_are_refused_and_nothing_is_written(api_as, db, change, field):
    answer = api_as("BE", "network-admin").post("/centres", json={**DENMARK, **change})
    assert answer.status_code == 422, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert field in str(answer.json)
    assert count(db, Centre, Centre.code.in_(("DK", "dk", "DENMARK"))) == 0
    assert count(db, AuditEvent, AuditEvent.action == "centre.create") == 0


def test_a_duplicate_code_is_a_conflict(api_as, db):
    network = api_as("BE", "network-admin")
    answer = network.post("/centres", json={**DENMARK, "code": "NL"})
    assert answer.status_code == 409
    assert "NL" in answer.json["detail"]
    assert count(db, Centre, Centre.code == "NL") == 1


def test_a_centre_admin_changes_their_own_centre_only(api_as, db):
    admin = api_as("LU", "admin")
    names = {"en": "HCPN", "fr": "Haut-Commissariat", "lb": "Héichkommissariat"}
    answer = admin.patch("/centres/LU", json={"cell_broadcast_languages": ["fr", "de"], "ack_deadline_minutes": 15,
                                              "names": names})
    assert answer.status_code == 200, answer.json
    assert answer.json["cell_broadcast_languages"] == ["fr", "de"] and answer.json["names"]["lb"] == "Héichkommissariat"
    assert count(db, AuditEvent, AuditEvent.action == "centre.update", AuditEvent.object_id == "LU") == 1
    refused = admin.patch("/centres/BE", json={"ack_deadline_minutes": 15})
    assert refused.status_code == 403
    with db.transaction() as session:
        assert session.scalar(select(Centre.ack_deadline_minutes).where(Centre.code == "BE")) is None


def test_the_same_settings_again_write_no_audit_event(api_as, db):
    admin = api_as("LU", "admin")
    assert admin.patch("/centres/LU", json={"timezone": "Europe/Luxembourg"}).status_code == 200
    assert count(db, AuditEvent, AuditEvent.action.like("centre.%")) == 0


def test_only_a_network_admin_deactivates_and_an_inactive_centre_is_not_invited(api_as, db):
    assert api_as("NL", "admin").patch("/centres/NL", json={"active": False}).status_code == 403
    communicator = api_as("BE", "communicator")
    taking_part = communicator.post("/alerts", json=flood_alert(participants=["NL"]))
    assert taking_part.status_code == 201
    network = api_as("DE-NW", "network-admin")
    answer = network.patch("/centres/NL", json={"active": False})
    assert answer.status_code == 200 and answer.json["active"] is False
    assert count(db, AuditEvent, AuditEvent.action == "centre.deactivate") == 1
    # history stays: the alert NL took part in still reads and edits
    alert_id = taking_part.json["id"]
    edited = communicator.patch(f"/alerts/{alert_id}", json={"web": "https://crisis.example/nl"},
                                headers={"If-Match": taking_part.headers["ETag"]})
    assert edited.status_code == 200, edited.json
    # a new alert cannot invite it
    refused = communicator.post("/alerts", json=flood_alert(participants=["NL"]))
    assert refused.status_code == 422 and "NL" in refused.json["detail"]
    assert {c["code"]: c["active"] for c in network.get("/centres").json}["NL"] is False
    assert network.patch("/centres/NL", json={"active": True}).json["active"] is True
    assert communicator.post("/alerts", json=flood_alert(participants=["NL"])).status_code == 201


def test_unknown_centres_and_settings(api_as):
    network = api_as("BE", "network-admin")
    assert network.get("/centres/XX").status_code == 404
    assert network.patch("/centres/XX", json={"timezone": "Europe/Brussels"}).status_code == 404
    unknown = network.patch("/centres/BE", json={"colour": "red"})
    assert unknown.status_code == 422
    assert network.patch("/centres/BE", json={"code": "BX"}).status_code == 422


def test_the_cli_sets_up_and_changes_centres(app, db):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["centres", "add", "AT", "--name", "en=Federal Ministry of the Interior (Austria)",
                                "--name", "de=Bundesministerium für Inneres", "--timezone", "Europe/Vienna",
                                "--languages", "de,en", "--ack-deadline", "60"])
    assert added.exit_code == 0, added.output
    assert '"code": "AT"' in added.output
    updated = runner.invoke(args=["centres", "update", "AT", "--cell-broadcast", "de"])
    assert updated.exit_code == 0, updated.output
    assert runner.invoke(args=["centres", "deactivate", "AT"]).exit_code == 0
    listed = runner.invoke(args=["centres", "list"]).output
    assert "AT\tde,en\tEurope/Vienna\tFederal Ministry of the Interior (Austria) (inactive)" in listed
    with db.transaction() as session:
        austria = session.scalar(select(Centre).where(Centre.code == "AT"))
        assert (austria.cell_broadcast_languages, austria.ack_deadline_minutes, austria.active) == (["de"], 60, False)
        actors = set(session.scalars(select(AuditEvent.actor).where(AuditEvent.object_id == "AT")))
    assert actors == {"cli"}
    refused = runner.invoke(args=["centres", "add", "AT", "--name", "en=Again", "--timezone", "Europe/Vienna",
                                  "--languages", "de"])
    assert refused.exit_code == 2 and "AT" in refused.output
    bad = runner.invoke(args=["centres", "add", "CH", "--name", "en=Swiss", "--timezone", "Mars/Olympus",
                              "--languages", "de"])
    assert bad.exit_code == 2 and "time zone" in bad.output
    assert count(db, Centre, Centre.code == "CH") == 0
