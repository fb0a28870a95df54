"""The X channel (channels/social.py): the real tweepy client against the local fake."""
from __future__ import annotations

import pytest

from channels.base import Outcome, Target
from channels.social import DUPLICATE_ERROR, XChannel
from devtools.fakes.x import FakeX
from tests.unit.channels.messages import closed_port_url, post

BE_TOKEN, LU_TOKEN, MASTODON_TOKEN = "access-be", "user-token-lu", "mastodon-token"
BE = Target("@CrisiscenterBE", account="be-ncc")
LU = Target("@CGDIS", account="lu-cgdis")


# --- X ---------------------------------------------------------------------------------------------


@pytest.fixture
def x_fake():
    fake = FakeX(tokens={BE_TOKEN, LU_TOKEN}).start()
    yield fake
    fake.stop()


def x_channel(base_url: str, **config: str) -> XChannel:
    settings = {
        "be-ncc.consumer_key": "ck", "be-ncc.consumer_secret": "cs",
        "be-ncc.access_token": BE_TOKEN, "be-ncc.access_token_secret": "ats",
        "lu-cgdis.bearer_token": LU_TOKEN,
        "base_url": base_url, "timeout": "3",
    }
    return XChannel.from_config(settings | config)


def test_x_posts_the_text_as_each_centres_account(x_fake):
    channel = x_channel(x_fake.url)
    be = channel.send(post(), BE)
    lu = channel.send(post("Sturmwarnung: bleiwt doheem."), LU)

    assert x_fake.posts == [
        {"id": be.provider_id, "text": "Storm warning for Liège province: stay indoors.", "account": BE_TOKEN,
         "scheme": "OAuth"},
        {"id": lu.provider_id, "text": "Sturmwarnung: bleiwt doheem.", "account": LU_TOKEN, "scheme": "Bearer"},
    ]
    assert be.outcome is lu.outcome is Outcome.SENT
    assert x_fake.requests == [("POST", "/2/tweets")] * 2


def test_x_without_an_account_for_the_target_fails_without_a_request(x_fake):
    receipt = x_channel(x_fake.url).send(post(), Target("@Somebody", account="nl-nctv"))

    assert receipt.outcome is Outcome.FAILED
    assert "no X account configured for 'nl-nctv'" == receipt.error
    assert x_fake.requests == []


def test_x_over_280_weighted_characters_fails_without_a_request(x_fake):
    channel = x_channel(x_fake.url)

    refused = channel.send(post("€" * 141), BE)  # € weighs 2
    assert refused.outcome is Outcome.FAILED
    assert "weighted length of 282" in refused.error
    assert x_fake.requests == []
    assert channel.send(post("€" * 140), BE).outcome is Outcome.SENT


def test_x_duplicate_content_is_unknown_to_reconcile_not_a_resend(x_fake):
    channel = x_channel(x_fake.url)
    first = channel.send(post(), BE)
    again = channel.send(post(), BE)
    other_account = channel.send(post(), LU)

    assert first.outcome is Outcome.SENT
    assert (again.outcome, again.error) == (Outcome.UNKNOWN, DUPLICATE_ERROR)
    assert other_account.outcome is Outcome.SENT
    assert len(x_fake.posts) == 2


def test_x_rate_limit_is_retry_after_the_reset_time():
    with FakeX(max_rate=1, reset_after=42) as fake:
        channel = x_channel(fake.url)
        assert channel.send(post("one"), BE).outcome is Outcome.SENT
        limited = channel.send(post("two"), BE)

        assert limited.outcome is Outcome.RETRY
        assert 40 <= limited.retry_after <= 42
        assert fake.texts() == ["one"]


@pytest.mark.parametrize(("status", "outcome"), [(503, Outcome.RETRY), (500, Outcome.UNKNOWN), (400, Outcome.FAILED)])
def test_x_server_and_client_errors(status, outcome):
    with FakeX(failure_rate=1.0, failure_statuses=[status]) as fake:
        receipt = x_channel(fake.url).send(post(), BE)

    assert receipt.outcome is outcome
    assert receipt.error.startswith(f"X answered {status}")


def test_x_unknown_credentials_fail():
    with FakeX(tokens={"someone-else"}) as fake:
        receipt = x_channel(fake.url).send(post(), BE)

    assert receipt.outcome is Outcome.FAILED
    assert receipt.error.startswith("X answered 401")


def test_x_connection_refused_is_safe_to_retry():
    receipt = x_channel(closed_port_url()).send(post(), BE)

    assert receipt.outcome is Outcome.RETRY


def test_x_timeout_after_sending_is_unknown():
    with FakeX(latency=1.0) as fake:
        receipt = x_channel(fake.url, timeout="0.3").send(post(), BE)

        assert receipt.outcome is Outcome.UNKNOWN
        assert len(fake.posts) == 1  # X did post it


def test_x_from_config_refuses_incomplete_credentials():
    with pytest.raises(ValueError, match="at least one account"):
        XChannel.from_config({"base_url": "http://127.0.0.1:9"})
    with pytest.raises(ValueError, match="'be-ncc' needs consumer_key"):
        XChannel.from_config({"be-ncc.consumer_key": "ck", "be-ncc.access_token": "at"})


def test_x_without_a_base_url_keeps_the_real_host_but_gets_a_timeout():
    channel = XChannel.from_config({"bearer_token": "t"})
    adapter = channel.clients[""].session.get_adapter("https://api.twitter.com/2/tweets")

    assert (adapter.base_url, adapter.timeout) == (None, 10.0)


# --- Mastodon --------------------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["127.0.0.1:8080", "ftp://127.0.0.1"])
def test_a_base_url_without_http_is_refused_at_configuration(base_url):
    with pytest.raises(ValueError, match="base_url must start with http"):
        XChannel.from_config({"bearer_token": "t", "base_url": base_url})
