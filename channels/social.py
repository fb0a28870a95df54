"""X (Twitter) channel: one post per payload through the real `tweepy.Client.create_tweet`; after an unknown
outcome, `reconcile` looks the post up among the account's posts (GET /2/users/:id/tweets).

tweepy builds every URL from the hard-coded "https://api.twitter.com" and sets no timeout, so the client's
`requests` session gets a transport adapter (`route_session`) that adds a timeout and, when a base URL is
configured (the local fake), sends each request there instead. The OAuth 1.0a signature is still computed
over the api.twitter.com URL, exactly as X would check it; nothing in tweepy is patched or copied.
"""
from __future__ import annotations

import html
import re
import threading
import time
import unicodedata
from collections.abc import Container, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from channels.base import Limits, Outcome, Payload, Receipt, Target
from channels.textfit import Fit, x_fit

DEFAULT_TIMEOUT = 10.0
DUPLICATE_ERROR = "duplicate content: X already has this post; reconcile"
DUPLICATE_OF_ANOTHER = "X refused a duplicate of a post that another delivery made"
DUPLICATE_OF_EARLIER = "X has this text from before this delivery's first attempt: posting it again would be refused"
# How far before a row's first attempt reconciliation looks for an identical post (X refuses a post that repeats a
# recent one of the account; how recent is not published).
DUPLICATE_LOOKBACK = timedelta(days=1)
_URL = re.compile(r"https?://\S+")
_OAUTH1_FIELDS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_ACCOUNT_FIELDS = (*_OAUTH1_FIELDS, "bearer_token")


def transport_error_outcome(exc: BaseException) -> Outcome:
    """RETRY when the request provably never left (refused, DNS, connect timeout); UNKNOWN otherwise.

    A read timeout or a connection dropped mid-exchange may come after the provider acted on the request.
    """
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):  # before any HTTP byte was sent
        return Outcome.RETRY
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        # requests wraps urllib3's MaxRetryError, whose .reason is the underlying error
        if isinstance(getattr(reason, "reason", reason), NewConnectionError):  # includes NameResolutionError
            return Outcome.RETRY
    return Outcome.UNKNOWN


def http_status_outcome(status: int) -> Outcome:
    """429 and 503 say the provider did not take the request; any other 5xx may have been acted on."""
    if status in (429, 503):
        return Outcome.RETRY
    if status >= 500:
        return Outcome.UNKNOWN
    return Outcome.FAILED


class RoutingAdapter(HTTPAdapter):
    """Adds a default timeout and, with a base URL, sends every request to it (path and query kept)."""

    def __init__(self, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        super().__init__()
        self.base_url = check_base_url(base_url)
        self.timeout = timeout

    def send(self, request, timeout=None, **kwargs):
        if self.base_url:
            parts = urlsplit(request.url)
            request.url = self.base_url + urlunsplit(("", "", parts.path, parts.query, ""))
        return super().send(request, timeout=timeout if timeout is not None else self.timeout, **kwargs)


def check_base_url(base_url: str | None) -> str | None:
    """The base URL without a trailing slash, or None; a ValueError for one that is not http(s)."""
    if not base_url:
        return None
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
    return base_url.rstrip("/")


def route_session(session: requests.Session, base_url: str | None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Mount a RoutingAdapter on all https requests of a session (tweepy only speaks https)."""
    session.mount("https://", RoutingAdapter(base_url, timeout))
    if base_url:
        session.trust_env = False  # no proxy or .netrc from the environment for a local fake


def _accounts(config: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Credentials per account: `consumer_key` for the default account "", `be-ncc.consumer_key` for one named."""
    accounts: dict[str, dict[str, str]] = {}
    for key, value in config.items():
        account, _, field = key.rpartition(".")
        if field in _ACCOUNT_FIELDS and value:
            accounts.setdefault(account, {})[field] = value
    return accounts


def _client_for(credentials: Mapping[str, str], account: str) -> tweepy.Client:
    if all(credentials.get(field) for field in _OAUTH1_FIELDS):
        return tweepy.Client(**{field: credentials[field] for field in _OAUTH1_FIELDS})
    if credentials.get("bearer_token"):
        return tweepy.Client(bearer_token=credentials["bearer_token"])
    name = account or "default"
    raise ValueError(
        f"X account {name!r} needs consumer_key, consumer_secret, access_token and access_token_secret "
        "(OAuth 1.0a), or bearer_token (an OAuth 2.0 user access token)"
    )


class XChannel:
    """Posts to X as the centre's account: `target.account` (or else `target.address`) picks the client."""

    name = "x"
    limits = Limits(max_chars=280, max_parts=1, unit="weighted characters")

    def __init__(self, clients: Mapping[str, tweepy.Client]):
        self.clients = dict(clients)
        self._user_ids: dict[str, str] = {}  # account -> its X user id (GET /2/users/me), asked once
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> XChannel:
        """Keys: [ACCOUNT.]consumer_key/consumer_secret/access_token/access_token_secret or [ACCOUNT.]bearer_token
        per account, optional `base_url` (unset: the real X API) and `timeout` (seconds)."""
        accounts = _accounts(config)
        if not accounts:
            raise ValueError("X needs credentials for at least one account")
        base_url = config.get("base_url") or None
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        clients = {}
        for account, credentials in accounts.items():
            client = _client_for(credentials, account)
            route_session(client.session, base_url, timeout)
            clients[account] = client
        return cls(clients)

    def measure(self, text: str) -> Fit:
        return x_fit(text)

    def send(self, payload: Payload, target: Target) -> Receipt:
        fit = self.measure(payload.body)
        if not fit.ok:
            return Receipt(Outcome.FAILED, error="; ".join(fit.problems))
        account = target.account or target.address
        client = self.clients.get(account)
        if client is None:
            return Receipt(Outcome.FAILED, error=f"no X account configured for {account!r}")
        try:
            # an OAuth 2.0 user token travels as a Bearer header: tweepy's user_auth=False
            response = client.create_tweet(text=payload.body, user_auth=client.consumer_key is not None)
        except tweepy.TooManyRequests as exc:
            retry_after = max(0.0, exc.reset_time - time.time()) if exc.reset_time is not None else None
            return Receipt(Outcome.RETRY, error=_describe(exc), retry_after=retry_after)
        except tweepy.Forbidden as exc:
            if any("duplicate content" in message for message in exc.api_messages):
                return Receipt(Outcome.UNKNOWN, error=DUPLICATE_ERROR)
            return Receipt(Outcome.FAILED, error=_describe(exc))
        except tweepy.HTTPException as exc:
            return Receipt(http_status_outcome(exc.response.status_code), error=_describe(exc))
        except requests.RequestException as exc:
            return Receipt(transport_error_outcome(exc), error=f"X request failed: {exc}")
        return Receipt(Outcome.SENT, provider_id=str(response.data["id"]), provider_status="posted")

    def reconcile(self, payload: Payload, target: Target, since: datetime,
                  taken: Container[str] = frozenset()) -> Receipt:
        """After an unknown outcome (a timeout, or X refusing a duplicate): look the account's posts up.

        SENT with the oldest post of this text created at or after `since` (the row's first attempt) whose id is
        not in `taken` (ids on other ledger rows); FAILED when X has this text only as another delivery's post or
        from before this row's first attempt (X would refuse it again as a duplicate); RETRY when X has no such
        post; UNKNOWN when the lookup failed."""
        account = target.account or target.address
        client = self.clients.get(account)
        if client is None:
            return Receipt(Outcome.FAILED, error=f"no X account configured for {account!r}")
        floor = since.astimezone(UTC).replace(microsecond=0)  # X's start_time has whole seconds
        wanted = comparable_text(payload.body)
        ours, earlier = [], []
        try:
            user_auth = client.consumer_key is not None
            user_id = self._user_id(account, client, user_auth)
            token = None
            while True:  # newest first, back to DUPLICATE_LOOKBACK before the first attempt
                response = client.get_users_tweets(user_id, start_time=floor - DUPLICATE_LOOKBACK, max_results=100,
                                                   tweet_fields=["created_at"], pagination_token=token,
                                                   user_auth=user_auth)
                for post in response.data or []:
                    if comparable_text(post.text) == wanted:
                        recent = post.created_at is None or post.created_at >= floor
                        (ours if recent else earlier).append(str(post.id))
                token = (response.meta or {}).get("next_token")
                if not token:
                    break
        except tweepy.HTTPException as exc:
            return Receipt(Outcome.UNKNOWN, error=f"reconciliation lookup failed: {_describe(exc)}")
        except requests.RequestException as exc:
            return Receipt(Outcome.UNKNOWN, error=f"reconciliation lookup failed: X request failed: {exc}")
        for post_id in reversed(ours):  # the oldest first: the nearest to the attempt
            if post_id not in taken:
                return Receipt(Outcome.SENT, provider_id=post_id, provider_status="posted")
        if ours or any(post_id in taken for post_id in earlier):
            return Receipt(Outcome.FAILED, error=DUPLICATE_OF_ANOTHER)
        if earlier:
            return Receipt(Outcome.FAILED, error=DUPLICATE_OF_EARLIER)
        return Receipt(Outcome.RETRY, error="not on X: safe to post again")

    def _user_id(self, account: str, client: tweepy.Client, user_auth: bool) -> str:
        with self._lock:
            known = self._user_ids.get(account)
        if known is None:
            known = str(client.get_me(user_auth=user_auth).data.id)
            with self._lock:
                self._user_ids[account] = known
        return known


def comparable_text(text: str) -> str:
    """A post's text as compared with what was sent: X returns &, < and > HTML-escaped and every link as its
    own t.co link, so both sides are unescaped, NFC-normalised, stripped and have their links masked."""
    return _URL.sub("<link>", unicodedata.normalize("NFC", html.unescape(text))).strip()


def _describe(exc: tweepy.HTTPException) -> str:
    detail = "; ".join(str(message) for message in exc.api_messages) or exc.response.reason
    return f"X answered {exc.response.status_code}: {detail}"
