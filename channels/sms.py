"""SMS channel through the real `twilio` client, plus status callbacks, opt-outs and phone numbers.

Twilio's Messages API has no idempotency key (`I-Twilio-Idempotency-Token` is on Twilio's own webhooks), so
a create that may have reached Twilio is reported UNKNOWN, to reconcile, never resent blindly.
"""
from __future__ import annotations

import functools
import math
import re
import threading
from collections.abc import Callable, Container, Mapping
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
RECONCILE_PAGE_SIZE = 50
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")  # Twilio's message SIDs: prefix and 32 hex digits
# Statuses Twilio reports for an outbound message, in its status callbacks and on the Message resource
MESSAGE_STATUSES = frozenset({
    "accepted", "scheduled", "canceled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
})

# Twilio's published Smart Encoding replacements (twilio.com/docs/messaging/services/smart-encoding-char-list),
# grouped by what the characters become; every kind of space becomes a space (runs are collapsed).
_SMART_GROUPS = {
    '"': "\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u275d\u275e\u301d\u301e\uff02\u201e",
    "'": "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb\u275b\u275c\u0313"
         "\u0314\ufe10\ufe11\u2017",
    "/": "\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f", "\\": "\u29f9\u29f5\u20e5\ufe68\uff3c",
    "_": "\u0332\uff3f", "|": "\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f",
    "-": "\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2013\u2014\u2022", "@": "\ufe6b\uff20", "$": "\ufe69\uff04",
    "!": "\u01c3\ufe15\ufe57\uff01", "#": "\ufe5f\uff03", "%": "\ufe6a\uff05", "&": "\ufe60\uff06",
    ",": "\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001", "(": "\u2768\u276a\ufe59\uff08\u27ee\u2985",
    ")": "\u2769\u276b\ufe5a\uff09\u27ef\u2986",
    "*": "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c\u273d\u2743\u2749"
         "\u274a\u274b\u29c6\ufe61\uff0a",
    "+": "\u02d6\ufe62\uff0b", ".": "\u3002\ufe52\uff0e\uff61", ":": "\u02d0\u02f8\u2982\ua789\ufe13\uff1a",
    ";": "\u204f\ufe14\ufe54\uff1b", "<": "\ufe64\uff1c\u2039", "=": "\u0347\ua78a\ufe66\uff1d",
    ">": "\ufe65\uff1e\u203a", "?": "\ufe16\ufe56\uff1f", "^": "\u02c6\u0302\uff3e\u1dcd",
    "{": "\u2774\ufe5b\uff5b", "}": "\u2775\ufe5c\uff5d", "[": "\uff3b", "]": "\uff3d",
    "~": "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e",
    " ": "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\u008d"
         "\u009f\u0080\u0090\u009b\u0009\u2028\u2029",
    "": "\u0010\u0000\u0003\u0004\u0017\u0019\u0011\u0012\u0013\u0014\u2060\u200b\ufeff",
}
_SMALL_CAPITALS = "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f\u1d0d\u0274\u1d0f\u1d18 " \
                  "\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21 \u028f\u1d22"  # A..Z; none for Q and X
SMART_ENCODING = str.maketrans({
    **{char: target for target, chars in _SMART_GROUPS.items() for char in chars},
    **{chr(0xFF10 + digit): str(digit) for digit in range(10)},  # fullwidth digits
    **{chr(0xFF21 + letter): chr(0x41 + letter) for letter in range(26)},  # fullwidth capitals
    **{char: chr(0x41 + letter) for letter, char in enumerate(_SMALL_CAPITALS) if char != " "},
    "\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u203c": "!!", "\u2026": "...",
})
_SPACES = re.compile(" {2,}")


# A release sends one text to many numbers: it is measured once, not once per message.
_cached_sms_fit = functools.lru_cache(maxsize=256)(sms_fit)


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending to `base_url` (the local fake) when set, and remembering the last
    response headers per thread (TwilioRestException carries no headers, and a 429's Retry-After is in them).

    Its connection pool keeps up to POOL_SIZE connections alive: requests' default (10) is below the dispatcher's
    sending threads, and a connection given back to a full pool is closed, so every send of the threads beyond it
    would open (and, against api.twilio.com, TLS-handshake) a connection of its own."""

    POOL_SIZE = 128

    def __init__(self, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT):
        super().__init__(timeout=timeout)
        self.base_url = check_base_url(base_url)
        if self.session is not None:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=self.POOL_SIZE)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
            if self.base_url:
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
        return _cached_sms_fit(text, self.max_segments)

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

    def reconcile(self, payload: Payload, target: Target, since: datetime,
                  taken: Container[str] = frozenset()) -> Receipt:
        """After an unknown outcome: SENT with the provider's message that is this row's, RETRY when the provider
        provably has none, UNKNOWN when the lookup failed. Called only after a grace period.

        This row's message went to this number from this row's sender, with this text (as Smart Encoding may have
        rewritten it), and was created at or after `since`, the row's first attempt; its sid is not in `taken`
        (ids on other ledger rows). Of several, the oldest: the one nearest the attempt. Twilio's DateSent filter
        is not used: it is empty while a message is queued, which a big release's messages are for minutes."""
        sender = self.senders.get(target.account) or self.senders.get("")
        wanted = smart_encoded(payload.body)
        floor = since.astimezone(UTC).replace(microsecond=0)  # Twilio's DateCreated has whole seconds
        found = []
        try:
            # newest first by DateCreated: paging stops at the first message older than the first attempt
            for message in self.client.messages.stream(to=target.address, page_size=RECONCILE_PAGE_SIZE):
                if message.date_created is not None and message.date_created < floor:
                    break
                if _from_sender(message, sender) and smart_encoded(message.body or "") == wanted:
                    found.append(message)
        except (TwilioRestException, TwilioServiceException, requests.RequestException) as exc:
            return Receipt(Outcome.UNKNOWN, error=f"reconciliation lookup failed: {exc}")
        for message in reversed(found):
            if message.sid not in taken:
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


def _from_sender(message, sender: str | None) -> bool:
    if not sender:
        return True
    if _is_messaging_service(sender):
        return message.messaging_service_sid == sender
    return message.from_ == sender


def smart_encoded(text: str) -> str:
    """`text` as Twilio's Smart Encoding may deliver it (each listed character replaced, any run of spaces one
    space), for comparing a message Twilio has with the text that was sent: both sides go through it."""
    return _SPACES.sub(" ", text.translate(SMART_ENCODING)).strip(" ")


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
