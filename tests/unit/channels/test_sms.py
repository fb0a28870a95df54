"""SMS channel: the real twilio client against the local Twilio fake, callbacks, numbers, opt-outs, CSV import."""
from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from channels.base import Outcome, Payload, Target
from channels.sms import SmsChannel, is_opt_out, normalise_number, parse_status_callback, verify_status_callback
from devtools.fakes.twilio import CallbackReceiver, FakeTwilio

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-token"
SERVICE_SID = "MG" + "2" * 32
BE_SENDER = "+3225550100"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
BE_MOBILE, LU_MOBILE, NL_MOBILE = "+32470123456", "+352621123456", "+31612345678"


@pytest.fixture
def twilio():
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def receiver():
    fake = CallbackReceiver().start()
    yield fake
    fake.stop()


def sms_channel(base_url: str, **config: str) -> SmsChannel:
    settings = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "base_url": base_url, "sender": BE_SENDER,
                "sender.lu-cgdis": SERVICE_SID, "timeout": "3"}
    channel = SmsChannel.from_config(settings | config)
    channel.now = lambda: NOW
    return channel


def alert(body: str = "Flood warning: move to higher ground.", expires_in: timedelta | None = timedelta(hours=2)):
    return Payload(body=body, idempotency_key="row-1", language="en",
                   expires_at=NOW + expires_in if expires_in is not None else None)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


# --- sending ---------------------------------------------------------------------------------------


def test_send_reaches_twilio_with_number_body_sender_callback_and_validity(twilio):
    channel = sms_channel(twilio.url, status_callback_url="http://127.0.0.1:9/twilio/status")
    receipt = channel.send(alert(), Target(BE_MOBILE, account="be-ncc"))

    [message] = twilio.messages.values()
    assert receipt.outcome is Outcome.SENT
    assert (receipt.provider_id, receipt.provider_status) == (message["sid"], "queued")
    assert message["sid"].startswith("SM") and len(message["sid"]) == 34
    assert message["to"] == BE_MOBILE
    assert message["body"] == "Flood warning: move to higher ground."
    assert (message["from"], message["messaging_service_sid"]) == (BE_SENDER, None)
    assert message["status_callback"] == "http://127.0.0.1:9/twilio/status"
    assert message["validity_period"] == 7200


def test_a_centre_with_a_messaging_service_sends_through_it(twilio):
    receipt = sms_channel(twilio.url).send(alert(), Target(LU_MOBILE, account="lu-cgdis"))

    [message] = twilio.messages.values()
    assert receipt.outcome is Outcome.SENT
    assert (message["from"], message["messaging_service_sid"]) == (None, SERVICE_SID)
    assert message["status_callback"] is None


@pytest.mark.parametrize(("expires_in", "validity"), [
    (timedelta(seconds=90, milliseconds=900), 90),  # rounded down: never past the expiry
    (timedelta(days=2), 36000),  # Twilio's maximum
    (timedelta(seconds=1), 1),
    (None, None),  # no expiry: Twilio's default applies
])
def test_validity_period_never_goes_beyond_the_expiry(twilio, expires_in, validity):
    receipt = sms_channel(twilio.url).send(alert(expires_in=expires_in), Target(BE_MOBILE))

    assert receipt.outcome is Outcome.SENT
    assert [m["validity_period"] for m in twilio.messages.values()] == [validity]


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(milliseconds=999), timedelta(minutes=-5)])
def test_an_expired_alert_is_refused_without_a_request(twilio, expires_in):
    receipt = sms_channel(twilio.url).send(alert(expires_in=expires_in), Target(BE_MOBILE))

    assert receipt.outcome is Outcome.FAILED
    assert "expired" in receipt.error
    assert twilio.requests == []


def test_a_naive_expiry_is_a_programming_error(twilio):
    payload = Payload(body="x", idempotency_key="k", expires_at=datetime(2025, 3, 1, 14, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        sms_channel(twilio.url).send(payload, Target(BE_MOBILE))


def test_a_text_over_the_segment_limit_is_refused_without_a_request(twilio):
    long_text = "A" * 161
    one_segment = sms_channel(twilio.url)
    two_segments = sms_channel(twilio.url, max_segments="2")

    refused = one_segment.send(alert(long_text), Target(BE_MOBILE))
    assert refused.outcome is Outcome.FAILED
    assert "2 segments" in refused.error
    assert twilio.requests == []
    assert two_segments.send(alert(long_text), Target(BE_MOBILE)).outcome is Outcome.SENT
    assert one_segment.measure("é" * 70).ok and not one_segment.measure("ê" * 71).ok  # ê is not GSM-7


def test_each_recipient_gets_exactly_one_message(twilio):
    channel = sms_channel(twilio.url)
    for number in (BE_MOBILE, LU_MOBILE, NL_MOBILE):
        assert channel.send(alert(), Target(number)).outcome is Outcome.SENT

    assert [twilio.count(n) for n in (BE_MOBILE, LU_MOBILE, NL_MOBILE)] == [1, 1, 1]
    assert len(twilio.messages) == 3


# --- error classes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("to", "code"), [("+3212", "21211"), ("0470123456", "21211"), (NL_MOBILE, "21610")])
def test_a_refused_recipient_fails_with_twilios_code(to, code):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, unsubscribed={NL_MOBILE}) as twilio:
        receipt = sms_channel(twilio.url).send(alert(), Target(to))

        assert receipt.outcome is Outcome.FAILED
        assert f"Twilio error {code} (HTTP 400)" in receipt.error
        assert twilio.messages == {}


def test_wrong_credentials_fail(twilio):
    receipt = sms_channel(twilio.url, auth_token="wrong").send(alert(), Target(BE_MOBILE))

    assert receipt.outcome is Outcome.FAILED
    assert "20003 (HTTP 401)" in receipt.error


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (None, None)])
def test_over_the_rate_limit_is_retry_with_twilios_retry_after(retry_after, expected):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, max_rate=1, retry_after=retry_after) as twilio:
        channel = sms_channel(twilio.url)
        first = channel.send(alert(), Target(BE_MOBILE))
        second = channel.send(alert(), Target(LU_MOBILE))

        assert first.outcome is Outcome.SENT
        assert second.outcome is Outcome.RETRY
        assert "20429" in second.error
        assert second.retry_after == expected
        assert (twilio.count(BE_MOBILE), twilio.count(LU_MOBILE)) == (1, 0)
        assert twilio.max_observed_rate == 2


@pytest.mark.parametrize(("status", "outcome"), [(503, Outcome.RETRY), (500, Outcome.UNKNOWN), (502, Outcome.UNKNOWN)])
def test_server_errors_retry_only_when_unavailable(status, outcome):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, failure_rate=1.0, failure_statuses=[status]) as twilio:
        receipt = sms_channel(twilio.url).send(alert(), Target(BE_MOBILE))

    assert receipt.outcome is outcome
    assert f"(HTTP {status})" in receipt.error


def test_connection_refused_is_safe_to_retry():
    receipt = sms_channel(closed_port_url()).send(alert(), Target(BE_MOBILE))

    assert receipt.outcome is Outcome.RETRY
    assert "Twilio request failed" in receipt.error


def test_a_timeout_after_sending_is_unknown_because_twilio_may_have_sent_it():
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, latency=1.0) as twilio:
        receipt = sms_channel(twilio.url, timeout="0.3").send(alert(), Target(BE_MOBILE))

        assert receipt.outcome is Outcome.UNKNOWN
        assert twilio.count(BE_MOBILE) == 1  # it did arrive: resending would be a second SMS


def test_injected_failures_follow_the_seed():
    def outcomes(seed: int) -> list[Outcome]:
        with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, failure_rate=0.5, failure_statuses=[503], seed=seed) as twilio:
            channel = sms_channel(twilio.url)
            return [channel.send(alert(), Target(BE_MOBILE)).outcome for _ in range(12)]

    first = outcomes(7)
    assert first == outcomes(7)
    assert {Outcome.SENT, Outcome.RETRY} == set(first)


# --- status callbacks ------------------------------------------------------------------------------


def test_status_callbacks_are_signed_as_twilio_signs_them(receiver):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, undeliverable={LU_MOBILE: "undelivered"}) as twilio:
        channel = sms_channel(twilio.url, status_callback_url=receiver.callback_url)
        delivered = channel.send(alert(), Target(BE_MOBILE)).provider_id
        undelivered = channel.send(alert(), Target(LU_MOBILE)).provider_id
        wait_for(lambda: len(receiver.received) == 4)

        statuses = {}
        for callback in receiver.received:
            assert callback["url"] == receiver.callback_url
            assert verify_status_callback(AUTH_TOKEN, callback["url"], callback["params"], callback["signature"])
            sid, status = parse_status_callback(callback["params"])
            statuses.setdefault(sid, []).append(status)
        assert statuses == {delivered: ["sent", "delivered"], undelivered: ["sent", "undelivered"]}
        assert [c["params"].get("ErrorCode") for c in receiver.received if c["params"]["To"] == LU_MOBILE] == [
            None, "30003"]
        assert channel.fetch_status(delivered) == "delivered"
        assert channel.fetch_status(undelivered) == "undelivered"


def test_a_tampered_or_unsigned_status_callback_is_refused(receiver):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, undeliverable={BE_MOBILE: "failed"}) as twilio:
        sms_channel(twilio.url, status_callback_url=receiver.callback_url).send(alert(), Target(BE_MOBILE))
        wait_for(lambda: len(receiver.received) == 2)
    callback = receiver.received[1]
    url, params, signature = callback["url"], callback["params"], callback["signature"]

    assert params["MessageStatus"] == "failed"
    assert verify_status_callback(AUTH_TOKEN, url, params, signature)
    assert not verify_status_callback(AUTH_TOKEN, url, params | {"MessageStatus": "delivered"}, signature)
    assert not verify_status_callback(AUTH_TOKEN, url + "?x=1", params, signature)
    assert not verify_status_callback("another-token", url, params, signature)
    assert not verify_status_callback(AUTH_TOKEN, url, params, None)


@pytest.mark.parametrize("params", [
    {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"},
    {"MessageStatus": "delivered"},
    {"MessageSid": "XX123", "MessageStatus": "sent"},
])
def test_parse_status_callback_rejects_what_twilio_would_not_send(params):
    with pytest.raises(ValueError):
        parse_status_callback(params)


# --- configuration ---------------------------------------------------------------------------------


def test_from_config_needs_credentials_and_a_sender():
    with pytest.raises(ValueError, match="account_sid"):
        SmsChannel.from_config({"auth_token": "t", "sender": BE_SENDER})
    with pytest.raises(ValueError, match="sender"):
        SmsChannel.from_config({"account_sid": ACCOUNT_SID, "auth_token": "t"})


def test_without_a_base_url_the_client_talks_to_twilio_itself():
    channel = SmsChannel.from_config({"account_sid": ACCOUNT_SID, "auth_token": "t", "sender": BE_SENDER})

    assert channel.client.http_client.base_url is None
    assert channel.client.http_client.timeout == 10.0
    assert channel.senders == {"": BE_SENDER}


# --- numbers and opt-outs --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("0470 12 34 56", "BE", "+32470123456"),
    ("+352 621 123 456", "BE", "+352621123456"),
    ("00352 621 123 456", "BE", "+352621123456"),
    ("06-12345678", "NL", "+31612345678"),
    ("621 123 456", "LU", "+352621123456"),
])
def test_normalise_number_gives_e164(raw, region, e164):
    assert normalise_number(raw, region) == e164


@pytest.mark.parametrize(("raw", "message"), [
    ("hello", "is not a phone number"),
    ("0470 12", "is not a valid phone number"),
    ("+32 12", "is not a valid phone number"),
])
def test_normalise_number_refuses_invalid_numbers_clearly(raw, message):
    with pytest.raises(ValueError, match=message):
        normalise_number(raw, "BE")


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop \n", "STOPALL", "unsubscribe", "Cancel", "END", "quit"])
def test_opt_out_keywords(body):
    assert is_opt_out(body)


@pytest.mark.parametrize("body", ["", "STOP please", "stopp", "start", "HELP", "Is this a real alert? stop"])
def test_other_replies_are_not_opt_outs(body):
    assert not is_opt_out(body)
