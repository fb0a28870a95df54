"""The partner centres' channel (channels/partners.py): Standard Webhooks verified by the reference library."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import time

import pytest

from channels.base import Outcome, Target
from channels.partners import (
    GONE,
    PartnerChannel,
    UrlRefused,
    backoff_schedule,
    check_url,
    retry_delay,
    with_jitter,
)
from devtools.fakes.webhook_receiver import WebhookReceiver
from tests.unit.channels.messages import CAP, SUMMARY, closed_port_url, new_secret, webhook_payload


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
