"""Partner centres: the CAP message as a Standard Webhook (https://www.standardwebhooks.com/).

Headers: webhook-id (the ledger row's idempotency key, the same on every retry), webhook-timestamp (unix
seconds of this attempt) and webhook-signature ("v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per
secret in `Target.secrets`, space-separated, so both sides of a secret rotation verify).

Body: {"type": metadata["type"] or "alert.published", "data": {"summary": metadata["summary"] or {},
"cap": <the CAP XML as a string>}}; built deterministically, so a retry carries identical bytes.

Receivers deduplicate by webhook-id, which is what makes resending safe after a timeout or a 5xx:
    2xx SENT; 410 FAILED with provider_status "gone" (disable the endpoint); 429, 408, 5xx, timeouts and
    connection failures RETRY on `backoff_schedule()`; other 4xx and 3xx FAILED.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

import requests
from standardwebhooks.webhooks import Webhook
from urllib3.exceptions import HTTPError as Urllib3Error

from channels.base import Limits, Outcome, Payload, Receipt, Target
from channels.national import config_float, parse_retry_after
from channels.textfit import Fit, cap_field_fit

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
GONE = "gone"
PING_TIMEOUT = 5.0  # seconds: a ping tells whether the endpoint answers now, not eventually
PING_ERROR_CHARS = 300
# Standard Webhooks' suggested schedule: after the first attempt fails, retry after these delays
# (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): about 28 hours in all.
BACKOFF = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class UrlRefused(ValueError):
    """The endpoint URL breaks the outbound policy (scheme, private/loopback/link-local/reserved address)."""


class UnresolvableHost(UrlRefused):
    """The host name does not resolve now; may be temporary."""


def backoff_schedule() -> tuple[float, ...]:
    """Delays in seconds before retry 1, 2, ... (a delivery gets len(BACKOFF) + 1 attempts in all)."""
    return BACKOFF


def with_jitter(delay: float, rng: random.Random | None = None, fraction: float = 0.2) -> float:
    """`delay` spread by ±`fraction`, so endpoints that failed together are not retried in lockstep."""
    return delay * (1 + (rng or random).uniform(-fraction, fraction))


def retry_delay(failed_attempts: int, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after `failed_attempts` failures (1 = the first attempt failed); None: give up."""
    if failed_attempts < 1 or failed_attempts > len(BACKOFF):
        return None
    return with_jitter(BACKOFF[failed_attempts - 1], rng)


def _why_not_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):  # most telling first
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "not globally routable"


def check_url(url: str, allow_private: bool) -> None:
    """Raises UrlRefused unless `url` is http(s) and (unless `allow_private`) its host resolves only to
    public addresses. Resolution here is for the check only; requests resolves again when connecting,
    so a DNS answer that changes in between (rebinding) is not caught — pin addresses if that matters."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"unreadable URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(f"only http and https endpoints are allowed, not {parts.scheme or 'no scheme'!r}: {url!r}")
    if not parts.hostname:
        raise UrlRefused(f"URL without a host: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"cannot resolve {parts.hostname!r}: {exc}") from None
    for info in infos:
        address = str(info[4][0]).split("%")[0]
        why = _why_not_public(ipaddress.ip_address(address))
        if why:
            raise UrlRefused(f"endpoint {parts.hostname!r} resolves to a {why} address ({address}); refused")


def secret_bytes(secret: str) -> bytes:
    """The key of a "whsec_<base64>" secret; ValueError when malformed or shorter than 24 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets look like 'whsec_<base64>'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"webhook secret has {len(key)} bytes, at least {MIN_SECRET_BYTES} required")
    return key


def webhook_body(payload: Payload) -> str:
    metadata = payload.metadata
    return json.dumps(
        {"type": metadata.get("type", "alert.published"),
         "data": {"summary": metadata.get("summary", {}), "cap": payload.body}},
        ensure_ascii=False, separators=(",", ":"), sort_keys=True,
    )


def sign(msg_id: str, timestamp: int, body: str, secrets: tuple[str, ...]) -> str:
    """The webhook-signature header: one "v1,<sig>" per secret, space-separated."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(secret).sign(msg_id, moment, body) for secret in secrets)


def signed_headers(msg_id: str, timestamp: int, body: str, secrets: tuple[str, ...]) -> dict[str, str]:
    """The headers of every request to a partner (copies and pings alike): Standard Webhooks id, timestamp and one
    signature per secret."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Benelert",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
    }


@dataclass(frozen=True)
class PingAnswer:
    """What a ping met: the endpoint's HTTP status (None when no answer came), how long the answer took (None when
    nothing was sent), whether it was a 2xx, and why not."""

    status_code: int | None
    latency_ms: int | None
    ok: bool
    error: str | None = None


def _config_bool(config: Mapping[str, str], key: str) -> bool:
    raw = config.get(key, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{key} must be true or false, not {raw!r}")


class PartnerChannel:
    name: ClassVar[str] = "partners"
    limits: ClassVar[Limits] = Limits(max_chars=160, unit="characters")  # the CAP headline the partner shows

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.session = session or requests.Session()
        self.timeout = timeout
        self.allow_private = allow_private
        self.clock = clock

    @classmethod
    def from_config(cls, config: Mapping[str, str], session: requests.Session | None = None) -> PartnerChannel:
        """Keys: PARTNERS_TIMEOUT (seconds, default 10), PARTNERS_ALLOW_PRIVATE (true/false, default false;
        only for tests and the local demo)."""
        return cls(session, timeout=config_float(config, "PARTNERS_TIMEOUT", 10.0),
                   allow_private=_config_bool(config, "PARTNERS_ALLOW_PRIVATE"))

    def close(self) -> None:
        self.session.close()

    def measure(self, text: str) -> Fit:
        return cap_field_fit(text, "headline")

    def send(self, payload: Payload, target: Target) -> Receipt:
        if not payload.body.strip():
            return Receipt(Outcome.FAILED, error="empty CAP body: nothing to send")
        if not target.secrets:
            return Receipt(Outcome.FAILED, error="no signing secret configured for this endpoint")
        try:
            for secret in target.secrets:
                secret_bytes(secret)
        except ValueError as exc:
            return Receipt(Outcome.FAILED, error=f"bad endpoint secret: {exc}")
        try:
            check_url(target.address, self.allow_private)
        except UnresolvableHost as exc:
            return Receipt(Outcome.RETRY, error=f"{exc}; not sent")
        except UrlRefused as exc:
            return Receipt(Outcome.FAILED, error=str(exc))

        body = webhook_body(payload)
        timestamp = int(self.clock())
        headers = signed_headers(payload.idempotency_key, timestamp, body, target.secrets)
        try:
            # Redirects are not followed: they could lead past the URL policy to an internal address.
            response = self.session.post(target.address, data=body.encode("utf-8"), headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            # Unlike the national systems, a webhook receiver deduplicates by webhook-id, so a delivery that
            # may have arrived is resent safely: RETRY rather than UNKNOWN.
            return Receipt(Outcome.RETRY, error=f"no answer in time (resent with the same webhook-id): {exc}")
        except requests.ConnectionError as exc:
            return Receipt(Outcome.RETRY, error=f"connection failed: {exc}")
        except requests.RequestException as exc:
            return Receipt(Outcome.FAILED, error=f"request not possible: {exc}")
        with response:
            return self._classify(response, payload)

    @staticmethod
    def _classify(response: requests.Response, payload: Payload) -> Receipt:
        status = response.status_code
        if 200 <= status < 300:
            return Receipt(Outcome.SENT, provider_id=payload.idempotency_key, provider_status=str(status))
        snippet = response.text[:300]
        if status == 410:
            return Receipt(Outcome.FAILED, provider_status=GONE, error="endpoint gone (410): disable it")
        if status in (408, 429) or status >= 500:
            # A 5xx proves the request arrived but the receiver failed to handle it. Receivers deduplicate by
            # webhook-id, so resending is safe and the Standard Webhooks way: RETRY, not UNKNOWN.
            return Receipt(Outcome.RETRY, provider_status=str(status), error=f"HTTP {status}: {snippet}",
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
        return Receipt(Outcome.FAILED, provider_status=str(status), error=f"HTTP {status}: {snippet}")

    def ping(self, target: Target, msg_id: str, data: Mapping, *, event_type: str = "benelert.ping",
             timeout: float = PING_TIMEOUT) -> PingAnswer:
        """One signed request {"type": event_type, "data": data} with the headers of a copy, sent once (no retry),
        under the same address policy; the answer's status and latency, or why there was none."""
        if not target.secrets:
            return PingAnswer(None, None, False, "no signing secret configured for this endpoint")
        try:
            for secret in target.secrets:
                secret_bytes(secret)
            check_url(target.address, self.allow_private)
        except ValueError as exc:  # a bad secret, or UrlRefused
            return PingAnswer(None, None, False, f"not sent: {exc}"[:PING_ERROR_CHARS])
        body = json.dumps({"type": event_type, "data": dict(data)}, ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True)
        headers = signed_headers(msg_id, int(self.clock()), body, target.secrets)
        started = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            # stream: the latency is the time to the answer's status line; the body is hardly read
            response = self.session.post(target.address, data=body.encode("utf-8"), headers=headers, timeout=timeout,
                                         allow_redirects=False, stream=True)
        except requests.Timeout:
            return PingAnswer(None, elapsed(), False, f"no answer within {timeout:g} s")
        except requests.ConnectionError as exc:
            return PingAnswer(None, elapsed(), False, f"connection failed: {exc}"[:PING_ERROR_CHARS])
        except requests.RequestException as exc:
            return PingAnswer(None, elapsed(), False, f"request not possible: {exc}"[:PING_ERROR_CHARS])
        latency = elapsed()
        with response:
            status = response.status_code
            if 200 <= status < 300:
                return PingAnswer(status, latency, True)
            try:
                snippet = response.raw.read(PING_ERROR_CHARS, decode_content=True).decode("utf-8", "replace")
            except (Urllib3Error, OSError):  # an answer cut off: its status says enough
                snippet = ""
        return PingAnswer(status, latency, False, f"HTTP {status}: {snippet}".strip()[:PING_ERROR_CHARS])
