"""National alert systems (BE-Alert, NL-Alert, LU-Alert, NRW): POST the CAP 1.2 document the domain built.

The domain validated the CAP against the XSD before storing the payload; this adapter only transmits it
and classifies the answer:

    2xx                              SENT     provider id from the JSON answer or Location, else the CAP identifier
    429, 503                         RETRY    with Retry-After
    connection refused, DNS, connect timeout   RETRY    the request never left
    read timeout, dropped connection UNKNOWN  it may have arrived: reconcile, do not resend blindly
    other 4xx, 3xx                   FAILED
    other 5xx                        UNKNOWN  the provider may have processed it before failing
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ClassVar

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from channels.base import Limits, Outcome, Payload, Receipt, Target
from channels.textfit import CELL_BROADCAST_PAGE, GSM7, Fit, cell_broadcast_fit

_CAP_IDENTIFIER = re.compile(r"<(?:[\w.-]+:)?identifier>\s*([^<\s]+)\s*</")
_SNIPPET = 300


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection failed before any byte of the request went out (refused, DNS, connect)."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):  # TLS fails in the handshake
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)  # includes NameResolutionError


def config_float(config: Mapping[str, str], key: str, default: float) -> float:
    raw = config.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{key} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{key} must be positive, not {raw!r}")
    return value


class NationalChannel:
    name: ClassVar[str] = "national"
    limits: ClassVar[Limits] = Limits(max_chars=CELL_BROADCAST_PAGE[GSM7] * 15, max_parts=15, unit="pages")

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        token: str = "",
        username: str = "",
        password: str = "",
    ):
        if token and username:
            raise ValueError("configure either a bearer token or a username/password, not both")
        self.session = session or requests.Session()
        self.timeout = (connect_timeout, timeout)
        self.token = token
        self.auth = (username, password) if username else None

    @classmethod
    def from_config(cls, config: Mapping[str, str], session: requests.Session | None = None) -> NationalChannel:
        """Keys: NATIONAL_TIMEOUT, NATIONAL_CONNECT_TIMEOUT (seconds), NATIONAL_TOKEN (bearer) or
        NATIONAL_USERNAME + NATIONAL_PASSWORD (basic). All optional."""
        return cls(
            session,
            timeout=config_float(config, "NATIONAL_TIMEOUT", 10.0),
            connect_timeout=config_float(config, "NATIONAL_CONNECT_TIMEOUT", 5.0),
            token=config.get("NATIONAL_TOKEN", ""),
            username=config.get("NATIONAL_USERNAME", ""),
            password=config.get("NATIONAL_PASSWORD", ""),
        )

    def close(self) -> None:
        self.session.close()

    def measure(self, text: str) -> Fit:
        # National systems relay the CAP to cell broadcast, so the texts must fit its pages.
        return cell_broadcast_fit(text)

    def send(self, payload: Payload, target: Target) -> Receipt:
        if not payload.body.strip():
            return Receipt(Outcome.FAILED, error="empty CAP body: nothing to send")
        if not target.address.startswith(("https://", "http://")):
            return Receipt(Outcome.FAILED, error=f"national endpoint must be an http(s) URL: {target.address!r}")
        headers = {
            "Content-Type": payload.content_type if "xml" in payload.content_type else "application/cap+xml",
            "Idempotency-Key": payload.idempotency_key,
            "User-Agent": "Benelert",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.post(
                target.address, data=payload.body.encode("utf-8"), headers=headers, auth=self.auth,
                timeout=self.timeout, allow_redirects=False,
            )
        except requests.ConnectionError as exc:
            if never_sent(exc):
                return Receipt(Outcome.RETRY, error=f"could not connect, not sent: {exc}")
            return Receipt(Outcome.UNKNOWN, error=f"connection lost after sending: {exc}")
        except requests.Timeout as exc:  # read timeout: the request went out
            return Receipt(Outcome.UNKNOWN, error=f"no answer in time, may have arrived: {exc}")
        except requests.RequestException as exc:
            return Receipt(Outcome.FAILED, error=f"request not possible: {exc}")
        with response:
            return self._classify(response, payload)

    def _classify(self, response: requests.Response, payload: Payload) -> Receipt:
        status = response.status_code
        provider_status = str(status)
        if 200 <= status < 300:
            provider_id = self._provider_id(response, payload)
            return Receipt(Outcome.SENT, provider_id=provider_id, provider_status=provider_status)
        snippet = response.text[:_SNIPPET]
        if status in (429, 503):
            return Receipt(Outcome.RETRY, provider_status=provider_status, error=f"HTTP {status}: {snippet}",
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            return Receipt(Outcome.UNKNOWN, provider_status=provider_status,
                           error=f"HTTP {status}, may have been processed: {snippet}")
        return Receipt(Outcome.FAILED, provider_status=provider_status, error=f"HTTP {status}: {snippet}")

    @staticmethod
    def _provider_id(response: requests.Response, payload: Payload) -> str | None:
        if "json" in response.headers.get("Content-Type", ""):
            try:
                data = response.json()
            except ValueError:
                data = None
            if isinstance(data, dict):
                for key in ("id", "messageId", "message_id", "identifier"):
                    if data.get(key):
                        return str(data[key])
        if response.headers.get("Location"):
            return response.headers["Location"]
        match = _CAP_IDENTIFIER.search(payload.body)
        return match[1] if match else None
