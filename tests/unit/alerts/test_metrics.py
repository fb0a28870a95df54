"""GET /metrics: Prometheus text read from the database at scrape time, after a real release through the real
adapters and local fakes; who may scrape it; and the leader lock as a metric."""
from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from alerts import firing, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.firing import LEADER_LOCK
from alerts.metrics import error_code
from alerts.outcomes import recover_expired_leases
from app import create_app
from channels import build_channels
from channels.specs import TextLimits
from devtools.world import add_subscribers, approved_alert, channels_config, start_fakes, wire_centres
from settings import SettingsError, load_settings

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3))
TOKEN = "m" * 40
UNSUBSCRIBED = "+32470000003"  # Twilio refuses it with error 21610


def scrape(client, **kw) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):  # raises on invalid text
        assert family.type == "gauge" and family.documentation
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples, name) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in samples.items() if n == name and v}


def deliveries(samples) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for labels, v in series(samples, "benelert_deliveries").items():
        labels = dict(labels)
        result.setdefault(labels["channel"], {})[labels["state"]] = int(v)
    return result


@pytest.fixture
def fakes():
    with ExitStack() as stack:
        yield start_fakes(stack, unsubscribed=[UNSUBSCRIBED])


def test_metrics_follow_a_release_through_the_ledger(app, db, client, api_as, fakes):
    wire_centres(db, fakes)
    add_subscribers(db, "BE", 10)
    fakes.cap.script = [503, 500]  # one national system asks to resend later, the other fails after receiving
    channels = build_channels(channels_config(fakes))
    alert = approved_alert(api_as)
    scheduled_after = datetime.now(UTC)
    planned = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"],
              "channels": {"BE": ["sms", "x", "national", "partners"], "NL": ["national"]}})
    assert planned.status_code == 201, planned.get_json()
    confirmed = api_as("NL", "spokesperson").post(f"/alerts/{alert['id']}/release/consents",
                                                  json={"plan": planned.get_json()["plan"]})
    assert confirmed.status_code == 200, confirmed.get_json()  # NL's national system: its own consent

    before = scrape(client)  # scheduled for now, not fired yet: the scheduler is behind
    assert value(before, "benelert_releases", state="scheduled", mode="Actual") == 1
    assert value(before, "benelert_releases", state="released", mode="Actual") == 0
    assert value(before, "benelert_release_overdue_seconds") > 0
    # the ledger was staged when the release was scheduled: 10 SMS (BE subscribers in the area), X in BE's
    # languages nl fr de en, BE and NL national, LU's partner copy; due at T (now), whether fired or not
    staged = {"sms": {"pending": 10}, "x": {"pending": 4}, "national": {"pending": 2}, "partners": {"pending": 1}}
    assert deliveries(before) == staged

    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1")
    fired = scrape(client)
    waited = (datetime.now(UTC) - scheduled_after).total_seconds()
    assert value(fired, "benelert_releases", state="released", mode="Actual") == 1
    assert value(fired, "benelert_releases", state="scheduled", mode="Actual") == 0
    assert value(fired, "benelert_release_overdue_seconds") == 0
    assert deliveries(fired) == staged
    assert value(fired, "benelert_dispatch_due") == 17
    assert 0 < value(fired, "benelert_dispatch_lag_seconds") <= waited  # due since T
    assert series(fired, "benelert_delivery_errors") == {}

    # a dispatcher that claims two rows and stops: its lease runs out, the leader's recovery requeues them
    Dispatcher(db, channels, "gone", DispatchOptions(lease=timedelta(seconds=-1))).claim(2)
    stopped = scrape(client)
    assert value(stopped, "benelert_dispatch_expired_leases", state="claimed") == 2
    assert value(stopped, "benelert_dispatch_expired_leases", state="sending") == 0
    assert value(stopped, "benelert_dispatch_expired_lease_seconds") > 0
    assert value(stopped, "benelert_dispatch_due") == 15
    assert recover_expired_leases(db) == {"requeued": 2, "unknown": 0}
    recovered = scrape(client)
    assert value(recovered, "benelert_dispatch_expired_leases", state="claimed") == 0
    assert value(recovered, "benelert_dispatch_expired_lease_seconds") == 0
    assert value(recovered, "benelert_dispatch_due") == 17

    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=4, base_backoff=60))  # retry: a minute on
    while dispatcher.run_once():
        pass
    sent = scrape(client)
    assert deliveries(sent) == {"sms": {"sent": 9, "failed": 1}, "x": {"sent": 4},
                                "national": {"pending": 1, "unknown": 1}, "partners": {"sent": 1}}
    assert value(sent, "benelert_dispatch_due") == 0 and value(sent, "benelert_dispatch_lag_seconds") == 0
    errors = {tuple(sorted(dict(labels).items())): v for labels, v in series(sent, "benelert_delivery_errors").items()}
    assert errors == {(("channel", "sms"), ("code", "21610"), ("state", "failed")): 1,
                      (("channel", "national"), ("code", "503"), ("state", "retrying")): 1,
                      (("channel", "national"), ("code", "500"), ("state", "unknown")): 1}
    assert value(sent, "benelert_partner_acks_pending", centre="LU") == 1
    assert value(sent, "benelert_partner_ack_pending_seconds", centre="LU") > 0

    acked = api_as("LU", "partner").post("/acks", json={"identifier": alert["identifier"], "kind": "received"})
    assert acked.status_code == 201, acked.get_json()
    assert series(scrape(client), "benelert_partner_acks_pending") == {}


@pytest.mark.parametrize(("status", "error", "code"), [
    (None, "Twilio error 21211 (HTTP 400): The 'To' number +3247 is not valid", "21211"),
    (None, "X answered 403: duplicate content", "403"),
    (None, "Mastodon answered 422: Validation failed", "422"),
    (None, "duplicate content: X already has this post; reconcile", "duplicate"),
    ("500", "HTTP 500, may have been processed: oops", "500"),
    ("undelivered", "provider reported undelivered", "undelivered"),
    (None, "partner endpoint disabled or removed", "none"),
    (None, None, "none"),
])
def test_error_codes_come_from_the_provider_status_or_the_adapters_error_text(status, error, code):
    assert error_code(status, error) == code


# ---- who may scrape --------------------------------------------------------------------------------------

def test_loopback_scrapes_without_a_token_anyone_else_needs_it(make_app):
    client = make_app().test_client()
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 401 and outside.headers["WWW-Authenticate"].startswith("Bearer")
    assert "BENELERT_METRICS_TOKEN" in outside.get_data(as_text=True)
    # relayed by the local reverse proxy: the peer is 127.0.0.1 but the client is not
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert client.get("/metrics", headers={header: "203.0.113.7"}).status_code == 401
    # no token configured: no token can be right
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_the_configured_token_opens_metrics_from_anywhere_and_a_wrong_one_nowhere(make_app):
    client = make_app(metrics_token=TOKEN).test_client()
    far = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=far, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "203.0.113.7"}
                      ).status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}"):
        assert client.get("/metrics", environ_base=far, headers={"Authorization": wrong}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 401  # even from loopback
    assert client.get("/metrics", environ_base=far).status_code == 401
    assert client.get("/metrics").status_code == 200


def test_metrics_token_setting_is_typed_and_must_be_strong():
    assert load_settings(environ={}).metrics_token == ""
    assert load_settings(environ={"BENELERT_METRICS_TOKEN": TOKEN}).metrics_token == TOKEN
    with pytest.raises(SettingsError, match="METRICS_TOKEN"):
        load_settings(environ={"BENELERT_METRICS_TOKEN": "short"})


def test_unreachable_database_answers_503_so_the_scrape_counts_as_down():
    app = create_app({"env": "test", "secret_key": "k" * 40,
                      "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"})
    response = app.test_client().get("/metrics")
    assert response.status_code == 503 and b"database unreachable" in response.data


# ---- leadership --------------------------------------------------------------------------------------------

def test_scheduler_leader_lock_is_a_metric_on_postgresql(app, client, database_url):
    if not database_url.startswith("postgresql"):
        assert not any(name == "benelert_scheduler_leaders" for name, _ in scrape(client))  # SQLite: one worker
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as holder:  # stands in for a worker holding the leader lock
            holder.execute(text("SET lock_timeout = '30s'"))
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LEADER_LOCK})  # waits for any other
            assert value(scrape(client), "benelert_scheduler_leaders") == 1
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK})
    finally:
        engine.dispose()


def test_held_provider_reports_are_counted_until_applied(app, db, client):
    from alerts.outcomes import apply_held_reports, record_status_report

    assert value(scrape(client), "benelert_provider_reports_held") == 0
    record_status_report(db, "SM" + "a" * 32, "delivered")  # no row carries that id
    samples = scrape(client)
    assert value(samples, "benelert_provider_reports_held") == 1
    assert value(samples, "benelert_provider_report_held_seconds") >= 0
    assert apply_held_reports(db, keep=timedelta(0)) == {"applied": 0, "changed": 0, "expired": 1}
    assert value(scrape(client), "benelert_provider_reports_held") == 0
