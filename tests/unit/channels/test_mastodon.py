"""The Mastodon channel (channels/mastodon.py): the real Mastodon.py client against the local fake."""
from __future__ import annotations

import pytest

from channels.base import Outcome, Target
from channels.mastodon import MastodonChannel
from devtools.fakes.mastodon import FakeMastodon
from tests.unit.channels.messages import closed_port_url, post

BE_TOKEN, LU_TOKEN, MASTODON_TOKEN = "access-be", "user-token-lu", "mastodon-token"
BE = Target("@CrisiscenterBE", account="be-ncc")
LU = Target("@CGDIS", account="lu-cgdis")


# --- Mastodon ---------------------------------------------------------------------------------------

@pytest.fixture
def mastodon_fake():
    fake = FakeMastodon(tokens={MASTODON_TOKEN}, max_characters=1000).start()
    yield fake
    fake.stop()


def mastodon_channel(base_url: str, **config: str) -> MastodonChannel:
    return MastodonChannel.from_config({"base_url": base_url, "access_token": MASTODON_TOKEN, "timeout": "3"} | config)


def posts_made(fake: FakeMastodon) -> int:
    return fake.requests.count(("POST", "/api/v1/statuses"))


def test_mastodon_posts_with_language_and_idempotency_key(mastodon_fake):
    receipt = mastodon_channel(mastodon_fake.url).send(post(key="ledger-17"), BE)

    [status] = mastodon_fake.statuses
    assert receipt.outcome is Outcome.SENT
    assert receipt.provider_id == status["id"]
    assert (status["text"], status["language"]) == ("Storm warning for Liège province: stay indoors.", "fr")
    assert (status["idempotency_key"], status["token"]) == ("ledger-17", MASTODON_TOKEN)


def test_mastodon_posts_an_exercise_only_on_the_sandbox_account(mastodon_fake):
    exercise = Target(address="SANDBOX", sandbox=True)
    refused = mastodon_channel(mastodon_fake.url).send(post(key="ledger-18"), exercise)
    assert refused.outcome is Outcome.FAILED and "never posted on the public account" in refused.error
    assert posts_made(mastodon_fake) == 0
    mastodon_fake.tokens.add("sandbox-token")
    sent = mastodon_channel(mastodon_fake.url, sandbox_access_token="sandbox-token").send(post(key="ledger-19"),
                                                                                           exercise)
    assert sent.outcome is Outcome.SENT
    assert [status["token"] for status in mastodon_fake.statuses] == ["sandbox-token"]


def test_mastodon_resending_the_same_ledger_row_does_not_post_twice(mastodon_fake):
    channel = mastodon_channel(mastodon_fake.url)
    first = channel.send(post(key="ledger-17"), BE)
    again = channel.send(post(key="ledger-17"), BE)
    other_row = channel.send(post(key="ledger-18"), BE)

    assert first.outcome is again.outcome is other_row.outcome is Outcome.SENT
    assert first.provider_id == again.provider_id != other_row.provider_id
    assert len(mastodon_fake.statuses) == 2
    assert mastodon_fake.idempotent_replays == 1


@pytest.mark.parametrize(("versions", "limit"), [(("v1", "v2"), 1000), (("v1",), 1000), ((), 500)])
def test_mastodon_measures_against_the_servers_own_limit(versions, limit):
    with FakeMastodon(tokens={MASTODON_TOKEN}, max_characters=1000, instance_versions=versions) as fake:
        channel = mastodon_channel(fake.url)
        fit = channel.measure("a" * 600)

        assert fit.limit == limit
        assert fit.ok is (limit == 1000)
        assert ("GET", "/api/v2/instance/") in fake.requests


def test_mastodon_limit_is_read_once_and_can_be_set(mastodon_fake):
    channel = mastodon_channel(mastodon_fake.url)
    channel.measure("a")
    channel.measure("b")
    assert mastodon_fake.requests == [("GET", "/api/v2/instance/")]

    assert mastodon_channel(mastodon_fake.url, max_characters="300").measure("a" * 301).ok is False


def test_mastodon_over_the_server_limit_fails_without_a_request(mastodon_fake):
    receipt = mastodon_channel(mastodon_fake.url).send(post("a" * 1001), BE)

    assert receipt.outcome is Outcome.FAILED
    assert "1001 characters long, at most 1000" in receipt.error
    assert posts_made(mastodon_fake) == 0


def test_mastodon_validation_refusal_fails(mastodon_fake):
    # a configured limit above the server's: the server's 422 is permanent
    receipt = mastodon_channel(mastodon_fake.url, max_characters="5000").send(post("a" * 1001), BE)

    assert receipt.outcome is Outcome.FAILED
    assert receipt.error == "Mastodon answered 422: Validation failed: Text character limit of 1000 exceeded"


def test_mastodon_wrong_token_fails(mastodon_fake):
    receipt = mastodon_channel(mastodon_fake.url, access_token="stolen").send(post(), BE)

    assert receipt.outcome is Outcome.FAILED
    assert receipt.error.startswith("Mastodon answered 401")


def test_mastodon_rate_limit_is_retry_after_the_reset_time():
    with FakeMastodon(tokens={MASTODON_TOKEN}, max_rate=1, reset_after=30) as fake:
        channel = mastodon_channel(fake.url)
        assert channel.send(post(key="a"), BE).outcome is Outcome.SENT
        limited = channel.send(post(key="b"), BE)

        assert limited.outcome is Outcome.RETRY
        assert 25 <= limited.retry_after <= 32
        assert len(fake.statuses) == 1


@pytest.mark.parametrize(("status", "outcome"), [(503, Outcome.RETRY), (500, Outcome.UNKNOWN), (502, Outcome.UNKNOWN)])
def test_mastodon_server_errors(status, outcome):
    with FakeMastodon(tokens={MASTODON_TOKEN}, failure_rate=1.0, failure_statuses=[status]) as fake:
        receipt = mastodon_channel(fake.url, max_characters="500").send(post(), BE)

    assert receipt.outcome is outcome
    assert receipt.error.startswith(f"Mastodon answered {status}")


def test_mastodon_connection_refused_is_safe_to_retry():
    receipt = mastodon_channel(closed_port_url(), max_characters="500").send(post(), BE)

    assert receipt.outcome is Outcome.RETRY


def test_mastodon_timeout_is_unknown_and_a_resend_with_the_key_finds_the_first_post():
    with FakeMastodon(tokens={MASTODON_TOKEN}, latency=1.0) as fake:
        channel = mastodon_channel(fake.url, timeout="0.3", max_characters="500")
        lost = channel.send(post(key="ledger-9"), BE)
        fake.latency = 0
        resent = channel.send(post(key="ledger-9"), BE)

        assert lost.outcome is Outcome.UNKNOWN
        assert resent.outcome is Outcome.SENT
        assert [s["id"] for s in fake.statuses] == [resent.provider_id]


def test_mastodon_from_config_needs_server_and_token():
    with pytest.raises(ValueError, match="base_url, access_token"):
        MastodonChannel.from_config({})
