"""Provider status reports: the hook only appends to the inbox (no ledger row read or changed), the worker applies
the inbox in batches, in the order received, forward only (Twilio: queued < sending < sent < undelivered/failed <
delivered < read): replays and late reports change nothing, and a report for an id no row carries yet waits."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from alerts.models import Delivery, ProviderReport
from alerts.outcomes import apply_held_reports, record_status_report
from devtools.demo import ensure_centres

TOKEN = "a" * 32
STATUS_URL = "http://localhost/hooks/twilio/status"  # the test client's URL, which Twilio would have signed
SENT_AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def sid(n: int) -> str:
    return f"SM{n:032x}"


def ledger_row(db, n: int, provider_status: str | None = "queued", state: str = "sent") -> int:
    with db.transaction() as session:
        row = Delivery(release_id=1, payload_id=1, channel="sms", lane="sms", centre_code="BE", language="nl",
                       target=f"+3247000{n:04d}", idempotency_key=f"r1-sms-{n}", state=state, attempts=1,
                       next_attempt_at=SENT_AT, sent_at=SENT_AT, provider_id=sid(n), provider_status=provider_status)
        session.add(row)
        session.flush()
        return row.id


def row_of(db, row_id: int) -> Delivery:
    with db.transaction() as session:
        return session.get(Delivery, row_id)


def inbox(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(ProviderReport))


def reports(db, n: int, *statuses: str) -> dict:
    for status in statuses:
        record_status_report(db, sid(n), status)
    return apply_held_reports(db)


def test_a_replayed_failure_never_turns_a_delivered_row_back(db):
    row_id = ledger_row(db, 1)
    assert reports(db, 1, "sent", "delivered")["changed"] == 1
    delivered = row_of(db, row_id)
    assert (delivered.state, delivered.provider_status) == ("delivered", "delivered")
    assert reports(db, 1, "undelivered", "failed", "sent", "delivered") == {"applied": 4, "changed": 0, "expired": 0}
    again = row_of(db, row_id)
    assert (again.state, again.provider_status, again.error) == ("delivered", "delivered", None)
    assert again.delivered_at == delivered.delivered_at  # a replayed `delivered` changes nothing either
    assert inbox(db) == 0


def test_reports_out_of_order_only_move_forward(db):
    early, late = ledger_row(db, 1), ledger_row(db, 2)
    reports(db, 1, "delivered", "sent", "queued")  # the carrier's receipt overtook the earlier statuses
    assert (row_of(db, early).state, row_of(db, early).provider_status) == ("delivered", "delivered")
    reports(db, 2, "sent", "undelivered", "sending")
    failed = row_of(db, late)
    assert (failed.state, failed.provider_status, failed.error) == ("failed", "undelivered",
                                                                    "provider reported undelivered")
    # a carrier's late delivery receipt after `undelivered` is the later, positive evidence: the handset has it
    reports(db, 2, "delivered")
    assert (row_of(db, late).state, row_of(db, late).provider_status) == ("delivered", "delivered")


def test_the_inbox_is_applied_in_batches_in_the_order_received_and_waits_for_its_row(db):
    rows = [ledger_row(db, n) for n in range(5)]
    for n in range(5):
        record_status_report(db, sid(n), "sent")
        record_status_report(db, sid(n), "delivered")
    record_status_report(db, sid(99), "delivered")  # its row is not committed yet
    # rows changed per batch: [0 sent, 0 delivered, 1 sent] [1 delivered, 2 sent, 2 delivered]
    assert apply_held_reports(db, limit=3, batches=2) == {"applied": 6, "changed": 4, "expired": 0}
    assert [row_of(db, row_id).state for row_id in rows] == ["delivered"] * 3 + ["sent"] * 2
    assert apply_held_reports(db, limit=3) == {"applied": 4, "changed": 3, "expired": 0}
    assert inbox(db) == 1  # waits for its row
    late = ledger_row(db, 99)
    assert apply_held_reports(db)["applied"] == 1 and row_of(db, late).state == "delivered"
    assert inbox(db) == 0


@pytest.fixture
def hooked(make_app, tmp_path):
    channels = tmp_path / "channels.json"
    channels.write_text(json.dumps({"sms": {"account_sid": "AC" + "1" * 32, "auth_token": TOKEN,
                                            "sender": "+3225551234"}}))
    app = make_app(channels_file=str(channels))
    db = app.extensions["benelert"].db
    with db.transaction() as session:
        ensure_centres(session)
    return app, db


def callback(app, params: dict, signature: str | None = None):
    signature = signature or RequestValidator(TOKEN).compute_signature(STATUS_URL, params)
    return app.test_client().post("/hooks/twilio/status", data=params, headers={"X-Twilio-Signature": signature})


def test_the_status_hook_only_appends_to_the_inbox_and_the_worker_applies_it(hooked):
    app, db = hooked
    row_id = ledger_row(db, 7)
    params = {"MessageSid": sid(7), "SmsSid": sid(7), "MessageStatus": "delivered", "AccountSid": "AC" + "1" * 32}
    assert callback(app, params, signature="Zm9yZ2Vk").status_code == 403
    assert inbox(db) == 0
    answer = callback(app, params)
    assert answer.status_code == 204
    assert callback(app, params).status_code == 204  # Twilio retries: a replay is appended, and changes nothing
    with db.transaction() as session:
        held = session.execute(select(ProviderReport.provider_id, ProviderReport.status)).all()
    assert held == [(sid(7), "delivered")] * 2
    assert row_of(db, row_id).state == "sent"  # the web request touched no ledger row
    assert apply_held_reports(db) == {"applied": 2, "changed": 1, "expired": 0}
    assert row_of(db, row_id).state == "delivered"
    unknown = callback(app, {**params, "MessageSid": sid(8)})
    assert unknown.status_code == 204 and inbox(db) == 1  # kept until its row appears, or for two days
    assert apply_held_reports(db, keep=timedelta(days=2))["expired"] == 0
    assert apply_held_reports(db, keep=timedelta(0))["expired"] == 1
