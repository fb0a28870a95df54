"""Mastodon channel through the real Mastodon.py client: one status per payload, one account per server.

The payload's idempotency key travels as Mastodon's `Idempotency-Key` header, so a resend of the same ledger
row within the server's idempotency window (one hour on Mastodon) returns the first status, not a second one.
"""
from __future__ import annotations

import time
from collections.abc import Mapping

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
)

from channels.base import Limits, Outcome, Payload, Receipt, Target
from channels.social import http_status_outcome, transport_error_outcome
from channels.textfit import Fit, mastodon_fit

DEFAULT_MAX_CHARACTERS = 500  # Mastodon's default when the server says nothing
DEFAULT_TIMEOUT = 10.0


def server_max_characters(client: Mastodon) -> int | None:
    """The server's status length limit from /api/v2/instance (or v1), None if it cannot be read."""
    for read in (client.instance_v2, client.instance_v1):
        try:
            limit = read()["configuration"]["statuses"]["max_characters"]
        except (MastodonError, KeyError, TypeError):
            continue
        if isinstance(limit, int) and limit > 0:
            return limit
    return None


class MastodonChannel:
    name = "mastodon"
    limits = Limits(max_chars=DEFAULT_MAX_CHARACTERS, max_parts=1, unit="characters")

    def __init__(self, client: Mastodon, max_characters: int | None = None, sandbox_client: Mastodon | None = None):
        """`client` should use ratelimit_method="throw" (the default "wait" sleeps up to 5 minutes on 429).
        Without `max_characters` the limit is read from the server on first use (500 until it answers).
        `sandbox_client` posts exercises and tests; without it they are refused, never posted publicly."""
        self.client = client
        self.sandbox_client = sandbox_client
        self._max_characters = max_characters

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> MastodonChannel:
        """Keys: `base_url` (the server, required), `access_token` (required), optional `timeout` (seconds),
        `max_characters` (overrides the server's own limit) and `sandbox_access_token` (the account that
        exercises and tests post to, on `sandbox_base_url` or else the same server)."""
        missing = [key for key in ("base_url", "access_token") if not config.get(key)]
        if missing:
            raise ValueError(f"Mastodon needs {', '.join(missing)}")
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        client = _client(config["base_url"], config["access_token"], timeout)
        sandbox = None
        if config.get("sandbox_access_token"):
            sandbox = _client(config.get("sandbox_base_url") or config["base_url"], config["sandbox_access_token"],
                              timeout)
        max_characters = int(config["max_characters"]) if config.get("max_characters") else None
        return cls(client, max_characters, sandbox)

    @property
    def max_characters(self) -> int:
        if self._max_characters is None:
            self._max_characters = server_max_characters(self.client)
            if self._max_characters is None:
                return DEFAULT_MAX_CHARACTERS  # not cached: ask the server again next time
        return self._max_characters

    def measure(self, text: str) -> Fit:
        return mastodon_fit(text, limit=self.max_characters)

    def send(self, payload: Payload, target: Target) -> Receipt:
        fit = self.measure(payload.body)
        if not fit.ok:
            return Receipt(Outcome.FAILED, error="; ".join(fit.problems))
        client = self.client
        if target.sandbox:  # an exercise or a test: only ever the sandbox account
            if self.sandbox_client is None:
                return Receipt(Outcome.FAILED, error="no Mastodon sandbox account (sandbox_access_token) is "
                               "configured: an exercise or test is never posted on the public account")
            client = self.sandbox_client
        try:
            status = client.status_post(
                payload.body, idempotency_key=payload.idempotency_key, language=payload.language
            )
        except MastodonRatelimitError as exc:
            reset = client.ratelimit_reset  # Mastodon.py parsed X-RateLimit-Reset before raising
            retry_after = max(0.0, reset - time.time()) if reset else None
            return Receipt(Outcome.RETRY, error=f"Mastodon rate limit: {exc}", retry_after=retry_after)
        except MastodonNetworkError as exc:
            cause = exc.__context__  # Mastodon.py raises it inside `except` around the requests call
            outcome = Outcome.UNKNOWN
            if isinstance(cause, requests.RequestException):
                outcome = transport_error_outcome(cause)
            return Receipt(outcome, error=f"Mastodon request failed: {cause or exc}")
        except MastodonAPIError as exc:
            return _api_error_receipt(exc)
        return Receipt(Outcome.SENT, provider_id=str(status["id"]), provider_status="posted")


def _client(base_url: str, access_token: str, timeout: float) -> Mastodon:
    return Mastodon(
        access_token=access_token,
        api_base_url=base_url,
        request_timeout=timeout,
        ratelimit_method="throw",
        version_check_mode="none",  # no request at construction; the channel needs no version checks
    )


def _api_error_receipt(exc: MastodonAPIError) -> Receipt:
    # raised as (message, status code, reason, error text from the server)
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    detail = args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else str(exc))
    if status is None:
        return Receipt(Outcome.UNKNOWN, error=f"Mastodon answered unreadably: {exc}")
    return Receipt(http_status_outcome(status), error=f"Mastodon answered {status}: {detail}")
