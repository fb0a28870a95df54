"""Reconciliation of unknown outcomes in the adapters: the SMS channel against the Twilio fake (DateSent empty while
queued, newest first by DateCreated, paged), the X channel against the X fake (the account's posts). A provider
message is a row's only if it came at or after the row's first attempt, has the row's text and is no other row's."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from channels import sms
from channels.base import Outcome, Payload, Target
from channels.social import DUPLICATE_ERROR, DUPLICATE_OF_ANOTHER, DUPLICATE_OF_EARLIER, comparable_text
from devtools.fakes.twilio import FakeTwilio
from devtools.fakes.x import FakeX
from tests.unit.channels.messages import closed_port_url, post
from tests.unit.channels.test_sms import ACCOUNT_SID, AUTH_TOKEN, BE_MOBILE, BE_SENDER, NL_MOBILE, sms_channel
from tests.unit.channels.test_social import BE, BE_TOKEN, LU, LU_TOKEN, x_channel

TEXT = "Flood warning: move to higher ground."


@pytest.fixture
def twilio():
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
def x_fake():
    with FakeX(tokens={BE_TOKEN, LU_TOKEN}) as fake:
        yield fake


def payload(body: str = TEXT) -> Payload:
    return Payload(body=body, idempotency_key="row-2", language="en")


def age(twilio: FakeTwilio, sid: str, seconds: float) -> None:
    """Make a message older than it is (as if it was created `seconds` earlier)."""
    twilio.messages[sid]["created"] -= timedelta(seconds=seconds)


def an_attempt_ago(seconds: float = 10) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


# --- SMS ------------------------------------------------------------------------------------------


def test_a_message_of_this_text_after_the_first_attempt_is_found(twilio):
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    sent = channel.send(payload(), Target(BE_MOBILE))

    receipt = channel.reconcile(payload(), Target(BE_MOBILE), since)
    assert (receipt.outcome, receipt.provider_id, receipt.provider_status) == (Outcome.SENT, sent.provider_id, "queued")


def test_a_message_older_than_the_first_attempt_is_another_rows_and_the_row_is_sent_again(twilio):
    channel = sms_channel(twilio.url)
    earlier = channel.send(payload(), Target(BE_MOBILE))  # an earlier release's message, same text, same number
    age(twilio, earlier.provider_id, 60)

    receipt = channel.reconcile(payload(), Target(BE_MOBILE), an_attempt_ago(30))
    assert receipt.outcome is Outcome.RETRY and receipt.provider_id is None


def test_a_message_whose_sid_is_on_another_row_is_not_taken(twilio):
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    other = channel.send(payload(), Target(BE_MOBILE))  # sent after this row's first attempt, but another row's

    assert channel.reconcile(payload(), Target(BE_MOBILE), since, taken={other.provider_id}).outcome is Outcome.RETRY
    ours = channel.send(payload(), Target(BE_MOBILE))
    found = channel.reconcile(payload(), Target(BE_MOBILE), since, taken={other.provider_id})
    assert (found.outcome, found.provider_id) == (Outcome.SENT, ours.provider_id)


def test_of_several_messages_the_oldest_after_the_first_attempt_is_taken(twilio):
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    first, second = (channel.send(payload(), Target(BE_MOBILE)) for _ in range(2))
    age(twilio, first.provider_id, 2)  # both after the attempt; the first one nearer to it

    assert channel.reconcile(payload(), Target(BE_MOBILE), since).provider_id == first.provider_id
    taken = {first.provider_id}
    assert channel.reconcile(payload(), Target(BE_MOBILE), since, taken=taken).provider_id == second.provider_id


def test_a_queued_message_has_no_date_sent_and_is_still_found(twilio):
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    sent = channel.send(payload(), Target(BE_MOBILE))  # no status callback: it stays queued
    [listed] = channel.client.messages.list(to=BE_MOBILE)
    assert (listed.status, listed.date_sent) == ("queued", None)
    # as at Twilio, a DateSent filter cannot see a queued message: reconciling with it would send the SMS twice
    assert channel.client.messages.list(to=BE_MOBILE, date_sent_after=since) == []

    receipt = channel.reconcile(payload(), Target(BE_MOBILE), since)
    assert (receipt.outcome, receipt.provider_id) == (Outcome.SENT, sent.provider_id)
    assert twilio.hand_over() == 1  # the carrier took it: now it has a DateSent
    [listed] = channel.client.messages.list(to=BE_MOBILE, date_sent_after=since)
    assert listed.sid == sent.provider_id and listed.date_sent is not None


def test_a_body_rewritten_by_smart_encoding_is_recognised(twilio):
    channel = sms_channel(twilio.url)
    text = "“Flood” — don’t cross the bridge\u00a0… call\u2003112 «now»"
    since = an_attempt_ago()
    sent = channel.send(payload(text), Target(BE_MOBILE))
    twilio.messages[sent.provider_id]["body"] = '"Flood" - don\'t cross the bridge ... call 112 "now"'  # as delivered

    receipt = channel.reconcile(payload(text), Target(BE_MOBILE), since)
    assert (receipt.outcome, receipt.provider_id) == (Outcome.SENT, sent.provider_id)
    assert channel.reconcile(payload("Flood - do not cross"), Target(BE_MOBILE), since).outcome is Outcome.RETRY


def test_smart_encoding_follows_twilios_published_replacements():
    rewritten = sms.smart_encoded("‘a’ “b” «c» d—e–f … g\u00a0\u00a0h\u200bi ½ ＡＢ１ ᴀᴢ")
    assert rewritten == '\'a\' "b" "c" d-e-f ... g hi 1/2 AB1 AZ'
    assert sms.smart_encoded(TEXT) == TEXT  # GSM text is left as it is


def test_only_messages_to_this_number_from_this_rows_sender_count(twilio):
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    channel.send(payload(), Target(NL_MOBILE))
    channel.send(payload(), Target(BE_MOBILE, account="lu-cgdis"))  # through LU's messaging service

    assert channel.reconcile(payload(), Target(BE_MOBILE), since).outcome is Outcome.RETRY
    assert channel.reconcile(payload(), Target(BE_MOBILE, account="lu-cgdis"), since).outcome is Outcome.SENT


def test_pages_are_read_until_the_messages_are_older_than_the_first_attempt(twilio, monkeypatch):
    monkeypatch.setattr(sms, "RECONCILE_PAGE_SIZE", 2)
    channel = sms_channel(twilio.url)
    since = an_attempt_ago()
    ours = channel.send(payload(), Target(BE_MOBILE))
    for number in range(5):  # newer messages to the same number push ours to the third page
        channel.send(payload(f"Update {number}: the water is falling."), Target(BE_MOBILE))
    for _ in range(3):
        age(twilio, channel.send(payload(), Target(BE_MOBILE)).provider_id, 600)  # older than the attempt
    age(twilio, ours.provider_id, 1)

    assert channel.reconcile(payload(), Target(BE_MOBILE), since).provider_id == ours.provider_id
    lists = [path for method, path in twilio.requests if method == "GET"]
    assert len(lists) == 4  # the fourth page holds the first message older than the attempt: no further page


def test_a_failed_lookup_leaves_the_outcome_unknown():
    receipt = sms_channel(closed_port_url()).reconcile(payload(), Target(BE_MOBILE), an_attempt_ago())

    assert receipt.outcome is Outcome.UNKNOWN
    assert receipt.error.startswith("reconciliation lookup failed")


def test_the_fake_lists_as_twilio_does(twilio):
    channel = sms_channel(twilio.url)
    first = channel.send(payload("one"), Target(BE_MOBILE))
    second = channel.send(payload("two"), Target(BE_MOBILE))
    age(twilio, first.provider_id, 5)
    channel.send(payload("three"), Target(NL_MOBILE))
    base = f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = (ACCOUNT_SID, AUTH_TOKEN)

    page = requests.get(base, params={"To": BE_MOBILE, "PageSize": 1}, auth=auth, timeout=5).json()
    assert [m["sid"] for m in page["messages"]] == [second.provider_id]  # newest first by DateCreated
    following = requests.get(twilio.url + page["next_page_uri"], auth=auth, timeout=5).json()
    assert [m["sid"] for m in following["messages"]] == [first.provider_id] and following["next_page_uri"] is None
    assert requests.get(base, params={"From": BE_SENDER}, auth=auth, timeout=5).json()["messages"][0]["to"] == NL_MOBILE
    today = datetime.now(UTC).date().isoformat()
    assert requests.get(base, params={"DateSent": today}, auth=auth, timeout=5).json()["messages"] == []
    twilio.hand_over()
    assert len(requests.get(base, params={"DateSent": today}, auth=auth, timeout=5).json()["messages"]) == 3
    assert requests.get(base, params={"DateSent<": "2000-01-01"}, auth=auth, timeout=5).json()["messages"] == []


# --- X --------------------------------------------------------------------------------------------


def test_x_a_post_that_timed_out_but_was_made_is_found(x_fake):
    channel = x_channel(x_fake.url)
    since = an_attempt_ago()
    made = channel.send(post(), BE)

    receipt = channel.reconcile(post(), BE, since)
    assert (receipt.outcome, receipt.provider_id, receipt.provider_status) == (Outcome.SENT, made.provider_id, "posted")
    assert ("GET", "/2/users/me") in x_fake.requests


def test_x_a_post_that_is_not_there_is_posted_again(x_fake):
    channel = x_channel(x_fake.url)
    channel.send(post("Another warning entirely."), BE)
    channel.send(post(), LU)  # the same text by another account is not this account's post

    receipt = channel.reconcile(post(), BE, an_attempt_ago())
    assert receipt.outcome is Outcome.RETRY


def test_x_a_duplicate_of_another_deliverys_post_fails_instead_of_counting_as_sent(x_fake):
    sandbox = Target("SANDBOX", account="lu-cgdis")  # two centres' exercises, one sandbox account
    channel = x_channel(x_fake.url)
    since = an_attempt_ago()
    first = channel.send(post(), sandbox)
    refused = channel.send(post(), sandbox)
    assert (refused.outcome, refused.error) == (Outcome.UNKNOWN, DUPLICATE_ERROR)

    receipt = channel.reconcile(post(), sandbox, since, taken={first.provider_id})
    assert (receipt.outcome, receipt.error, receipt.provider_id) == (Outcome.FAILED, DUPLICATE_OF_ANOTHER, None)


def test_x_a_post_from_before_the_first_attempt_is_not_this_rows(x_fake):
    channel = x_channel(x_fake.url)
    old = channel.send(post(), BE)
    x_fake.created[old.provider_id] -= timedelta(minutes=5)

    receipt = channel.reconcile(post(), BE, an_attempt_ago())
    assert (receipt.outcome, receipt.error) == (Outcome.FAILED, DUPLICATE_OF_EARLIER)
    assert channel.reconcile(post(), BE, an_attempt_ago(), taken={old.provider_id}).error == DUPLICATE_OF_ANOTHER


def test_x_the_timeline_is_paged_and_several_rows_get_distinct_posts(x_fake):
    channel = x_channel(x_fake.url)
    since = an_attempt_ago()
    ours = channel.send(post(), BE)
    for number in range(120):  # more than one page of 100 newer posts
        x_fake.posts.append({"id": str(2_000_000_000_000_000_000 + number), "text": f"post {number}",
                             "account": BE_TOKEN, "scheme": "OAuth"})
        x_fake.created[x_fake.posts[-1]["id"]] = datetime.now(UTC)

    assert channel.reconcile(post(), BE, since).provider_id == ours.provider_id
    assert channel.reconcile(post(), BE, since, taken={ours.provider_id}).outcome is Outcome.FAILED


def test_x_a_failed_lookup_leaves_the_outcome_unknown():
    receipt = x_channel(closed_port_url()).reconcile(post(), BE, an_attempt_ago())

    assert receipt.outcome is Outcome.UNKNOWN and receipt.error.startswith("reconciliation lookup failed")


def test_x_text_is_compared_as_x_returns_it():
    sent = "Floods & storms <Liège>: see https://crisis.be/alerts/42"
    assert comparable_text("Floods &amp; storms &lt;Liège&gt;: see https://t.co/AbC123") == comparable_text(sent)
    assert comparable_text("Floods & storms: see https://t.co/AbC123") != comparable_text(sent)
