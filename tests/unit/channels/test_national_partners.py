"""The national (CAP POST) and partners (Standard Webhooks) channels against local fake endpoints."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from alerts.cap import build_cap, validate_cap
from channels.base import Outcome, Payload, Target
from channels.national import NationalChannel, parse_retry_after
from channels.partners import (
    GONE,
    PartnerChannel,
    UrlRefused,
    backoff_schedule,
    check_url,
    retry_delay,
    with_jitter,
)
from channels.textfit import cell_broadcast_fit
from devtools.fakes.cap_receiver import CapReceiver
from devtools.fakes.webhook_receiver import WebhookReceiver

CONTENT = {
    "status": "Actual", "msg_type": "Alert", "hazard": "flood", "urgency": "Immediate", "severity": "Severe",
    "certainty": "Likely", "onset": "2026-11-22T13:00:00Z", "expires": None, "web": "", "participants": ["BE", "NL"],
    "areas": [{"description": "Luik", "place": "be-liege", "polygons": [], "geocodes": []}],
    "texts": {
        "nl": {"headline": {"body": "Overstromingen: Luik", "status": "human"},
               "instruction": {"body": "Ga naar een hogere verdieping.", "status": "human"}},
        "fr": {"headline": {"body": "Inondations : Liège", "status": "human"},
               "instruction": {"body": "Montez à un étage supérieur.", "status": "human"}},
    },
}
CAP = build_cap({"identifier": "BE-2026-0007"}, CONTENT, sender="benelert@be.crisis",
                sent=datetime(2026, 11, 22, 13, 30, tzinfo=UTC), timezone="Europe/Brussels",
                languages=["nl", "fr"]).decode("utf-8")
SUMMARY = {"identifier": "BE-2026-0007", "hazard": "flood", "severity": "Severe", "centres": ["BE", "NL"]}


def cap_payload(body: str = CAP) -> Payload:
    return Payload(body=body, idempotency_key="dlv-42-national-be", content_type="application/cap+xml")


def webhook_payload(**metadata) -> Payload:
    return Payload(body=CAP, idempotency_key="msg_dlv-43-partners-nl", content_type="application/cap+xml",
                   metadata={"summary": SUMMARY, **metadata})


def new_secret(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-listens"


@pytest.fixture
def session():
    with requests.Session() as session:
        yield session


@pytest.fixture
def national(session):
    return NationalChannel(session, timeout=0.5, connect_timeout=0.5)


@pytest.fixture
def partners(session):
    return PartnerChannel(session, timeout=0.5, allow_private=True)


@pytest.fixture
def cap_fake():
    with CapReceiver() as fake:
        yield fake


# --- National -------------------------------------------------------------------------------------------

def test_national_delivers_cap_that_passes_the_receivers_xsd_check(national, cap_fake):
    receipt = national.send(cap_payload(), Target(cap_fake.url))
    assert receipt.outcome is Outcome.SENT, receipt.error
    assert (receipt.provider_id, receipt.provider_status) == ("fake-cap-1", "202")
    [received] = cap_fake.received
    assert received.errors == [] and received.status == 202
    assert received.body == CAP.encode("utf-8")
    assert received.headers["Content-Type"] == "application/cap+xml"
    assert received.headers["Idempotency-Key"] == "dlv-42-national-be"


def test_the_receivers_xsd_check_rejects_invalid_cap(national, cap_fake):
    invalid = CAP.replace("<scope>Public</scope>", "<scope>Everyone</scope>")
    assert validate_cap(invalid.encode()) != []
    receipt = national.send(cap_payload(invalid), Target(cap_fake.url))
    assert receipt.outcome is Outcome.FAILED
    assert receipt.provider_status == "400" and "Everyone" in receipt.error
    assert cap_fake.messages == []


def test_national_provider_id_falls_back_to_the_cap_identifier(national, cap_fake):
    cap_fake.script = [200]  # answers 200 with no id
    receipt = national.send(cap_payload(), Target(cap_fake.url))
    assert (receipt.outcome, receipt.provider_id) == (Outcome.SENT, "BE-2026-0007")


def test_national_bearer_credential_from_config(session):
    with CapReceiver(token="s3cret") as fake:
        good = NationalChannel.from_config({"NATIONAL_TOKEN": "s3cret", "NATIONAL_TIMEOUT": "2"}, session)
        bad = NationalChannel.from_config({"NATIONAL_TOKEN": "guess"}, session)
        assert good.send(cap_payload(), Target(fake.url)).outcome is Outcome.SENT
        refused = bad.send(cap_payload(), Target(fake.url))
        assert (refused.outcome, refused.provider_status) == (Outcome.FAILED, "401")
        assert fake.received[0].headers["Authorization"] == "Bearer s3cret"
        assert len(fake.messages) == 1


def test_national_from_config_reads_typed_values(session):
    channel = NationalChannel.from_config(
        {"NATIONAL_TIMEOUT": "12.5", "NATIONAL_CONNECT_TIMEOUT": "3", "NATIONAL_USERNAME": "be",
         "NATIONAL_PASSWORD": "pw"}, session)
    assert channel.timeout == (3.0, 12.5) and channel.auth == ("be", "pw") and channel.token == ""
    assert NationalChannel.from_config({}, session).timeout == (5.0, 10.0)
    with pytest.raises(ValueError, match="NATIONAL_TIMEOUT must be a number"):
        NationalChannel.from_config({"NATIONAL_TIMEOUT": "soon"}, session)
    with pytest.raises(ValueError, match="either a bearer token or a username"):
        NationalChannel.from_config({"NATIONAL_TOKEN": "t", "NATIONAL_USERNAME": "u"}, session)


@pytest.mark.parametrize(("status", "outcome"), [
    (429, Outcome.RETRY), (503, Outcome.RETRY), (500, Outcome.UNKNOWN), (502, Outcome.UNKNOWN),
    (400, Outcome.FAILED), (404, Outcome.FAILED), (422, Outcome.FAILED), (301, Outcome.FAILED),
])
def test_national_maps_http_answers(national, cap_fake, status, outcome):
    cap_fake.script = [status]
    cap_fake.retry_after = "7"
    receipt = national.send(cap_payload(), Target(cap_fake.url))
    assert (receipt.outcome, receipt.provider_status) == (outcome, str(status))
    assert receipt.retry_after == (7.0 if status in (429, 503) else None)
    assert receipt.error and str(status) in receipt.error


def test_national_connection_refused_is_retry(national):
    receipt = national.send(cap_payload(), Target(closed_port_url()))
    assert receipt.outcome is Outcome.RETRY and "not sent" in receipt.error


def test_national_timeout_after_sending_is_unknown(national):
    with CapReceiver(latency=3) as slow:
        started = time.monotonic()
        receipt = national.send(cap_payload(), Target(slow.url))
        assert time.monotonic() - started < 2.5
        assert len(slow.messages) == 1  # it did arrive: resending blindly would duplicate the alert
    assert receipt.outcome is Outcome.UNKNOWN and "may have arrived" in receipt.error


def test_national_refuses_an_empty_body_without_sending(national, cap_fake):
    receipt = national.send(cap_payload("  \n"), Target(cap_fake.url))
    assert receipt.outcome is Outcome.FAILED and "empty" in receipt.error
    assert cap_fake.received == []


def test_national_random_failures_are_seeded(national):
    def outcomes(seed):
        with CapReceiver(failure_rate=0.5, seed=seed) as fake:
            return [national.send(cap_payload(), Target(fake.url)).outcome for _ in range(12)]
    first = outcomes(3)
    assert first == outcomes(3)
    assert {Outcome.SENT, Outcome.RETRY} <= set(first)


def test_national_measures_cell_broadcast_pages():
    text = "Inondations : quittez les rez-de-chaussée. " * 3
    assert NationalChannel.measure(NationalChannel(), text) == cell_broadcast_fit(text)
    assert NationalChannel.name == "national"


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# --- Partners -------------------------------------------------------------------------------------------

def test_partner_delivery_is_verified_by_the_standardwebhooks_library(partners):
    secret = new_secret()
    with WebhookReceiver([secret]) as fake:
        receipt = partners.send(webhook_payload(), Target(fake.url, secrets=(secret,)))
    assert receipt.outcome is Outcome.SENT, receipt.error
    assert receipt.provider_id == "msg_dlv-43-partners-nl"
    [delivery] = fake.deliveries
    assert fake.attempts[0].verified_by == [0]
    assert delivery.payload == {"type": "alert.published", "data": {"summary": SUMMARY, "cap": CAP}}
    assert delivery.headers["Content-Type"] == "application/json"


def test_signature_follows_the_spec_independently_of_the_library(partners):
    secret = new_secret()
    with WebhookReceiver([secret]) as fake:
        partners.send(webhook_payload(type="alert.cancelled"), Target(fake.url, secrets=(secret,)))
    headers = fake.deliveries[0].headers
    body = json.dumps(fake.deliveries[0].payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.{body}".encode()
    digest = hmac.new(base64.b64decode(secret[len("whsec_"):]), signed, hashlib.sha256).digest()
    assert headers["Webhook-Signature"] == "v1," + base64.b64encode(digest).decode()
    assert abs(int(headers["Webhook-Timestamp"]) - time.time()) < 30
    assert fake.deliveries[0].payload["type"] == "alert.cancelled"


def test_a_wrong_secret_is_rejected_by_the_receiver(partners):
    with WebhookReceiver([new_secret()]) as fake:
        receipt = partners.send(webhook_payload(), Target(fake.url, secrets=(new_secret(),)))
    assert (receipt.outcome, receipt.provider_status) == (Outcome.FAILED, "401")
    assert fake.deliveries == [] and [a.status for a in fake.attempts] == [401]


def test_webhook_id_is_stable_across_a_retry_and_the_receiver_deduplicates(session):
    secret = new_secret()
    start = time.time()
    clock = itertools.count(int(start) - 60, 30).__next__  # each attempt is later than the previous one
    channel = PartnerChannel(session, timeout=0.5, allow_private=True, clock=clock)
    with WebhookReceiver([secret]) as fake:
        fake.script = [503]
        target = Target(fake.url, secrets=(secret,))
        outcomes = [channel.send(webhook_payload(), target).outcome for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.SENT, Outcome.SENT]
    first, second, third = fake.attempts
    assert first.webhook_id == second.webhook_id == third.webhook_id == "msg_dlv-43-partners-nl"
    assert [first.timestamp, second.timestamp] == [str(int(start) - 60), str(int(start) - 30)]
    assert first.signature != second.signature
    assert len(fake.deliveries) == 1 and fake.duplicates == 1


def test_during_rotation_both_secrets_verify(partners):
    old, new = new_secret(), new_secret(48)
    with WebhookReceiver([old, new]) as both, WebhookReceiver([old]) as not_yet, WebhookReceiver([new]) as moved:
        for fake in (both, not_yet, moved):
            receipt = partners.send(webhook_payload(), Target(fake.url, secrets=(new, old)))
            assert receipt.outcome is Outcome.SENT, receipt.error
    assert both.attempts[0].verified_by == [0, 1]
    assert len(both.attempts[0].signature.split(" ")) == 2
    assert len(not_yet.deliveries) == len(moved.deliveries) == 1


def test_410_is_reported_as_gone(partners):
    secret = new_secret()
    with WebhookReceiver([secret], gone=True) as fake:
        receipt = partners.send(webhook_payload(), Target(fake.url, secrets=(secret,)))
    assert (receipt.outcome, receipt.provider_status) == (Outcome.FAILED, GONE)
    assert receipt.error == "endpoint gone (410): disable it"


@pytest.mark.parametrize(("status", "outcome"), [
    (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY), (408, Outcome.RETRY),
    (400, Outcome.FAILED), (404, Outcome.FAILED), (302, Outcome.FAILED),
])
def test_partner_maps_http_answers(partners, status, outcome):
    secret = new_secret()
    with WebhookReceiver([secret]) as fake:
        fake.script = [status]
        receipt = partners.send(webhook_payload(), Target(fake.url, secrets=(secret,)))
    assert (receipt.outcome, receipt.provider_status) == (outcome, str(status))


def test_partner_timeout_and_refused_connection_are_retried(partners):
    secret = new_secret()
    with WebhookReceiver([secret], latency=3) as slow:
        started = time.monotonic()
        timed_out = partners.send(webhook_payload(), Target(slow.url, secrets=(secret,)))
        assert time.monotonic() - started < 2.5
    assert timed_out.outcome is Outcome.RETRY and "same webhook-id" in timed_out.error
    refused = partners.send(webhook_payload(), Target(closed_port_url(), secrets=(secret,)))
    assert refused.outcome is Outcome.RETRY and "connection failed" in refused.error


def test_private_and_loopback_endpoints_are_refused_unless_allowed(session):
    secret = new_secret()
    strict = PartnerChannel.from_config({}, session)
    demo = PartnerChannel.from_config({"PARTNERS_ALLOW_PRIVATE": "true"}, session)
    with WebhookReceiver([secret]) as fake:
        refused = strict.send(webhook_payload(), Target(fake.url, secrets=(secret,)))
        assert refused.outcome is Outcome.FAILED and "loopback address (127.0.0.1); refused" in refused.error
        assert fake.attempts == []
        assert demo.send(webhook_payload(), Target(fake.url, secrets=(secret,))).outcome is Outcome.SENT
    with pytest.raises(ValueError, match="PARTNERS_ALLOW_PRIVATE must be true or false"):
        PartnerChannel.from_config({"PARTNERS_ALLOW_PRIVATE": "maybe"}, session)


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://100.64.0.1/", "not globally routable"),
    ("http://240.0.0.1/", "reserved"),
    ("ftp://93.184.215.14/hook", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http:///no-host", "without a host"),
    ("http://93.184.215.14:99999/", "unreadable URL"),
])
def test_check_url_refuses_what_is_not_public_http(url, why):
    with pytest.raises(UrlRefused, match=why):
        check_url(url, allow_private=False)


def test_check_url_accepts_public_addresses_and_private_ones_when_allowed():
    assert check_url("https://93.184.215.14/hooks/benelert", allow_private=False) is None
    assert check_url("http://[2606:4700::1111]/x", allow_private=False) is None
    assert check_url("http://127.0.0.1:5000/hooks", allow_private=True) is None
    with pytest.raises(UrlRefused):
        check_url("gopher://127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(("secrets", "why"), [
    ((), "no signing secret"),
    (("whsec_" + base64.b64encode(b"x" * 23).decode(),), "23 bytes, at least 24"),
    (("s3cret-without-prefix",), "whsec_"),
    (("whsec_not*base64",), "not valid base64"),
])
def test_bad_secrets_fail_without_sending(partners, secrets, why):
    with WebhookReceiver([new_secret()]) as fake:
        receipt = partners.send(webhook_payload(), Target(fake.url, secrets=secrets))
    assert receipt.outcome is Outcome.FAILED and why in receipt.error
    assert fake.attempts == []


def test_backoff_schedule_spans_hours_with_jitter():
    schedule = backoff_schedule()
    assert schedule == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert sum(schedule) > 24 * 3600
    rng = random.Random(7)
    delays = [retry_delay(attempt, rng) for attempt in range(1, 8)]
    assert all(0.8 * base <= delay <= 1.2 * base for base, delay in zip(schedule, delays, strict=True))
    assert delays != list(schedule)
    again = random.Random(7)
    assert delays == [retry_delay(attempt, again) for attempt in range(1, 8)]
    assert retry_delay(0) is None and retry_delay(8) is None
    assert {round(with_jitter(100, random.Random(seed))) for seed in range(20)} != {100}
