"""The national alert systems' channel (channels/national.py): CAP POSTed to a local receiver that checks the XSD."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from alerts.cap import validate_cap
from channels.base import Outcome, Target
from channels.national import NationalChannel, parse_retry_after
from channels.textfit import cell_broadcast_fit
from devtools.fakes.cap_receiver import CapReceiver
from tests.unit.channels.messages import CAP, cap_payload, closed_port_url

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
