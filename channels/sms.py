"""SMS channel through the real `twilio` client, plus status callbacks, opt-outs and phone numbers.

Twilio's Messages API has no idempotency key (`I-Twilio-Idempotency-Token` is on Twilio's own webhooks), so
a create that may have reached Twilio is reported UNKNOWN, to reconcile, never resent blindly.
"""
from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import phonenumbers
import requests
from twilio.base import values
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.base import Limits, Outcome, Payload, Receipt, Target
from channels.social import check_base_url, http_status_outcome, transport_error_outcome
from channels.textfit import Fit, sms_fit

MAX_VALIDITY_SECONDS = 36000  # Twilio accepts ValidityPeriod 1..36000
DEFAULT_TIMEOUT = 10.0
# Twilio's default opt-out keywords (an exact, single-word reply, any case)
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")  # Twilio's message SIDs: prefix and 32 hex digits
# Statuses Twilio reports for an outbound message, in its status callbacks and on the Message resource
MESSAGE_STATUSES = frozenset({
    "accepted", "scheduled", "canceled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
})


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to `base_url` (the local fake) when set, and remembering the last
    response headers per thread (TwilioRestException carries no headers, and a 429's Retry-After is in them)."""

    def __init__(self, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        super().__init__(timeout=timeout)
        self.base_url = check_base_url(base_url)
        if self.base_url and self.session is not None:
            self.session.trust_env = False  # no proxy or .netrc from the environment for a local fake
        self._last = threading.local()

    def request(self, method, url, *args, **kwargs):
        if self.base_url:  # every host (api.twilio.com, or an edge/region one from TWILIO_* variables)
            parts = urlsplit(url)
            url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        self._last.headers = {}
        response = super().request(method, url, *args, **kwargs)
        self._last.headers = response.headers or {}
        return response

    def last_headers(self) -> Mapping[str, str]:
        return getattr(self._last, "headers", {})


def normalise_number(raw: str, default_region: str) -> str:
    """E.164 form of a phone number written nationally (for `default_region`) or internationally."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number: {exc.args[0] if exc.args else exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number (read with default region {default_region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_opt_out(body: str) -> bool:
    """Whether an inbound SMS is an opt-out keyword (Twilio blocks further messages to the sender itself)."""
    return body.strip().upper() in OPT_OUT_KEYWORDS


def verify_status_callback(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Whether a status callback carries Twilio's X-Twilio-Signature for exactly this URL and these params."""
    if not signature:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def parse_status_callback(params: Mapping[str, str]) -> tuple[str, str]:
    """(MessageSid, MessageStatus) of a verified status callback."""
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not MESSAGE_SID.fullmatch(sid):
        raise ValueError(f"status callback without a valid MessageSid: {sid!r}")
    if status not in MESSAGE_STATUSES:
        raise ValueError(f"status callback with unknown MessageStatus {status!r}")
    return sid, status


def validity_seconds(expires_at: datetime | None, now: datetime) -> int | None:
    """Whole seconds left until `expires_at` (rounded down, so never beyond it), capped at Twilio's maximum."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise ValueError("payload.expires_at must be timezone-aware")
    return min(MAX_VALIDITY_SECONDS, math.floor((expires_at - now).total_seconds()))


def _is_messaging_service(sender: str) -> bool:
    return sender.startswith("MG") and len(sender) == 34


class SmsChannel:
    """One Twilio account; the sender (a number, alphanumeric ID or Messaging Service SID) per centre account."""

    name = "sms"
    limits = Limits(max_chars=160, max_parts=1, unit="GSM-7 characters per segment (70 in UCS-2)")

    def __init__(
        self,
        client: Client,
        *,
        senders: Mapping[str, str],
        status_callback_url: str | None = None,
        max_segments: int = 1,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        """`senders` maps `target.account` to its sender; the key "" is the default sender."""
        self.client = client
        self.senders = dict(senders)
        self.status_callback_url = status_callback_url
        self.max_segments = max_segments
        self.now = now

    @classmethod
    def from_config(cls, config: Mapping[str, str]) -> SmsChannel:
        """Keys: `account_sid`, `auth_token` (required); `sender` (default sender) and/or `sender.ACCOUNT` per
        centre; optional `base_url` (unset: the real Twilio), `status_callback_url`, `max_segments`, `timeout`."""
        missing = [key for key in ("account_sid", "auth_token") if not config.get(key)]
        if missing:
            raise ValueError(f"Twilio needs {', '.join(missing)}")
        senders = {key.partition(".")[2]: value for key, value in config.items()
                   if (key == "sender" or key.startswith("sender.")) and value}
        if not senders:
            raise ValueError("Twilio needs a `sender` or at least one `sender.ACCOUNT`")
        http_client = BaseUrlHttpClient(config.get("base_url") or None, float(config.get("timeout") or DEFAULT_TIMEOUT))
        client = Client(config["account_sid"], config["auth_token"], http_client=http_client)
        return cls(
            client,
            senders=senders,
            status_callback_url=config.get("status_callback_url") or None,
            max_segments=int(config.get("max_segments") or 1),
        )

    def measure(self, text: str) -> Fit:
        return sms_fit(text, self.max_segments)

    def send(self, payload: Payload, target: Target) -> Receipt:
        validity = validity_seconds(payload.expires_at, self.now())
        if validity is not None and validity < 1:
            return Receipt(Outcome.FAILED, error=f"alert expired at {payload.expires_at.isoformat()}: not sent")
        fit = self.measure(payload.body)
        if not fit.ok:
            return Receipt(Outcome.FAILED, error="; ".join(fit.problems))
        sender = self.senders.get(target.account) or self.senders.get("")
        if not sender:
            return Receipt(Outcome.FAILED, error=f"no SMS sender configured for account {target.account!r}")
        origin = {"messaging_service_sid": sender} if _is_messaging_service(sender) else {"from_": sender}
        try:
            message = self.client.messages.create(
                to=target.address,
                body=payload.body,
                status_callback=self.status_callback_url or values.unset,
                validity_period=values.unset if validity is None else validity,
                **origin,
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            return self._error_receipt(exc)
        except requests.RequestException as exc:
            return Receipt(transport_error_outcome(exc), error=f"Twilio request failed: {exc}")
        return Receipt(Outcome.SENT, provider_id=message.sid, provider_status=message.status)

    def reconcile(self, payload: Payload, target: Target, since: datetime) -> Receipt:
        """After an unknown outcome: SENT when the provider has this text for this number, else RETRY.

        Called only after a grace period, so that a message still being processed is not missed."""
        try:
            messages = self.client.messages.list(to=target.address, date_sent_after=since, limit=50)
        except (TwilioRestException, requests.RequestException) as exc:
            return Receipt(Outcome.UNKNOWN, error=f"reconciliation lookup failed: {exc}")
        for message in messages:
            if message.body == payload.body:
                return Receipt(Outcome.SENT, provider_id=message.sid, provider_status=message.status)
        return Receipt(Outcome.RETRY, error="not at the provider: safe to send again")

    def fetch_status(self, message_sid: str) -> str:
        """Twilio's current status of a message (for reconciliation)."""
        return self.client.messages(message_sid).fetch().status

    def _error_receipt(self, exc: TwilioRestException | TwilioServiceException) -> Receipt:
        message = getattr(exc, "msg", None) or getattr(exc, "detail", None) or getattr(exc, "title", "")
        error = f"Twilio error {exc.code} (HTTP {exc.status}): {message}"
        outcome = http_status_outcome(exc.status)
        retry_after = None
        if outcome is Outcome.RETRY:
            retry_after = _seconds(self._http_client_headers().get("Retry-After"))
        return Receipt(outcome, error=error, retry_after=retry_after)

    def _http_client_headers(self) -> Mapping[str, str]:
        last_headers = getattr(self.client.http_client, "last_headers", None)
        return last_headers() if last_headers else {}


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
