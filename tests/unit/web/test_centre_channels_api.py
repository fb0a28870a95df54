"""A centre's channels through the API: targets checked and audited, never a secret; a Test through one channel only
is a ledger row to the test target before anything is sent."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from alerts.models import AuditEvent, Centre, Delivery, Release


def channels_of(db, code):
    with db.transaction() as session:
        return session.scalar(select(Centre.channels).where(Centre.code == code))


def test_an_admin_sets_reads_and_removes_channel_targets(api_as, db):
    admin = api_as("NL", "admin")
    answer = admin.put("/centres/NL/channels/national", json={"target": "https://nl-alert.example/cap",
                                                              "test_target": "https://test.nl-alert.example/cap"})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"configured": True, "target": "https://nl-alert.example/cap",
                           "test_target": "https://test.nl-alert.example/cap"}
    sms = admin.put("/centres/NL/channels/sms", json={"test_target": "+31 6 12345678"})
    assert sms.status_code == 200 and sms.json["test_target"] == "+31612345678"  # stored in E.164
    listed = admin.get("/centres/NL/channels").json
    assert set(listed) == {"sms", "x", "mastodon", "national"} and listed["x"]["configured"] is False
    assert admin.delete("/centres/NL/channels/sms").status_code == 204
    assert "sms" not in channels_of(db, "NL")
    with db.transaction() as session:
        details = list(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "centre.channel")))
    assert [d["channel"] for d in details] == ["national", "sms", "sms"] and details[2]["after"] is None


@pytest.mark.parametrize("name,body", [
    ("national", {"target": "http://nl-alert.example/cap"}),  # https outside development
    ("national", {"target": "https://user:pw@nl-alert.example/cap"}),
    ("national", {"target": "javascript:alert(1)"}),
    ("sms", {"test_target": "+31 6 123"}),  # phonenumbers rejects it
    ("sms", {"target": "+31612345678"}),  # live SMS go to the subscribers, not to a target
    ("x", {"target": "nccn account"}),
    ("pager", {"target": "x"}),
])
def test_bad_targets_are_refused_and_nothing_is_written(api_as, db, name, body):
    before = channels_of(db, "NL")
    answer = api_as("NL", "admin").put(f"/centres/NL/channels/{name}", json=body)
    assert answer.status_code == 422, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert channels_of(db, "NL") == before
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "centre.channel")) == 0


@pytest.mark.parametrize("roles", [("communicator",), ("spokesperson",), ("partner",)])
def test_only_admins_see_and_change_channels(api_as, roles):
    user = api_as("NL", *roles)
    assert user.get("/centres/NL/channels").status_code == 403
    assert user.put("/centres/NL/channels/x", json={"target": "NL"}).status_code == 403
    assert api_as("BE", "admin").put("/centres/NL/channels/x", json={"target": "NL"}).status_code == 403
    assert api_as("BE", "network-admin").put("/centres/NL/channels/x", json={"target": "NL"}).status_code == 200


def test_a_channel_test_goes_through_that_channel_only_to_its_test_target(api_as, db):
    admin = api_as("NL", "admin")
    admin.put("/centres/NL/channels/x", json={"target": "NL", "test_target": "NL-sandbox"})
    admin.put("/centres/NL/channels/national", json={"target": "https://nl-alert.example/cap"})
    answer = admin.post("/centres/NL/channels/x/tests")
    assert answer.status_code == 201, answer.json
    assert answer.json["deliveries"] == f"/alerts/{answer.json['alert_id']}/deliveries"
    with db.transaction() as session:
        release = session.scalar(select(Release).where(Release.alert_id == answer.json["alert_id"]))
        rows = session.execute(select(Delivery.channel, Delivery.target, Delivery.state)
                               .where(Delivery.release_id == release.id)).all()
    assert release.mode == "Test" and release.channels == {"NL": ["x"]}
    assert rows and {(channel, target) for channel, target, _ in rows} == {("x", "NL-sandbox")}
    assert {state for *_, state in rows} == {"pending"}  # a ledger row before anything is sent
    again = admin.post("/centres/NL/channels/x/tests")
    assert again.status_code == 429 and again.json["retry_after_s"] > 0


def test_a_channel_test_that_would_reach_nobody_is_refused(api_as, db, make_app, make_user):
    admin = api_as("NL", "admin")
    admin.put("/centres/NL/channels/mastodon", json={"target": "nl-crisis"})  # no test target, no sandbox for it
    refused = admin.post("/centres/NL/channels/mastodon/tests")
    assert refused.status_code == 422 and "test target" in refused.json["detail"]
    assert admin.post("/centres/NL/channels/sms/tests").status_code == 422  # not a channel of NL
    assert api_as("BE", "admin").post("/centres/NL/channels/x/tests").status_code == 403
    assert admin.post("/centres/XX/channels/x/tests").status_code == 404
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 0
