"""Fake Twilio Messages API (2010-04-01): create, fetch and list messages, then signed status callbacks.

As at Twilio, a message's DateSent is empty until it is sent (while it is queued), and the list is newest first by
DateCreated, filtered by To, From and DateSent, paged by PageSize with a next_page_uri."""
from __future__ import annotations

import base64
import hashlib
import hmac
import queue
import re
import threading
import time as clock
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.fakes.server import FakeServer, json_response

E164 = re.compile(r"\+[1-9]\d{6,14}")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FAILURE_CODES = {"undelivered": "30003", "failed": "30006"}  # unreachable handset; landline or unreachable carrier
SERVER_ERRORS = {500: (20500, "An internal server error has occurred"), 503: (20503, "Service unavailable")}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + each param name and value, sorted by name))."""
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return json_response(body, status, headers)


def _parse_date_sent(raw: str) -> tuple[datetime, datetime]:
    """The [start, end) a DateSent value names: a whole GMT day (YYYY-MM-DD) or one instant (to the second)."""
    if len(raw) == 10:
        day = datetime.combine(date.fromisoformat(raw), time(), UTC)
        return day, day + timedelta(days=1)
    instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    instant = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    return instant, instant + timedelta(seconds=1)


def _sent_matches(sent: datetime | None, name: str, value: tuple[datetime, datetime]) -> bool:
    if sent is None:
        return False
    sent = sent.replace(microsecond=0)  # Twilio keeps whole seconds
    start, end = value
    if name == "DateSent<":
        return sent < end
    if name == "DateSent>":
        return sent >= start
    return start <= sent < end


class FakeTwilio(FakeServer):
    """`undeliverable` maps a number to its final status ("undelivered" or "failed"); `unsubscribed` numbers
    get error 21610; `retry_after` adds a Retry-After header to 429s. Status callbacks go to loopback only: each
    message with a StatusCallback gets `sent` then its final status, `callback_delay` apart, posted (signed) by a
    pool of `callback_threads` senders on kept-alive connections, as Twilio's many callback hosts would; each
    record keeps the request's `seconds` and its `lag` (from when it fell due to its answer)."""

    def __init__(
        self,
        account_sid: str = "AC" + "f" * 32,
        auth_token: str = "fake-auth-token",
        *,
        callback_delay: float = 0.05,
        callback_threads: int = 32,
        undeliverable: Mapping[str, str] | None = None,
        unsubscribed: Iterable[str] = (),
        retry_after: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.undeliverable = dict(undeliverable or {})
        self.unsubscribed = set(unsubscribed)
        self.retry_after = retry_after
        self.messages: dict[str, dict] = {}  # by sid, in creation order
        self.per_to: Counter[str] = Counter()
        self.callbacks: list[dict] = []  # each {url, params, signature, status_code or error, seconds, lag}
        self._stopping = threading.Event()
        self._callback_threads = callback_threads
        self._due: queue.Queue = queue.Queue()  # (due at, message, status): FIFO is due order (one fixed delay)
        self._senders: list[threading.Thread] = []
        self._local = threading.local()
        self._url_map = Map([
            Rule("/2010-04-01/Accounts/<sid>/Messages.json", methods=["POST"], endpoint="create"),
            Rule("/2010-04-01/Accounts/<sid>/Messages/<message_sid>.json", methods=["GET"], endpoint="fetch"),
            Rule("/2010-04-01/Accounts/<sid>/Messages.json", methods=["GET"], endpoint="list"),
        ])

    def count(self, to: str) -> int:
        """Messages accepted for one recipient."""
        return self.per_to[to]

    def hand_over(self, status: str = "sent") -> int:
        """Move every queued or accepted message on to `status` now, as the carriers would (messages with a status
        callback move on by themselves); how many moved."""
        now = datetime.now(UTC)
        with self.lock:
            waiting = [m for m in self.messages.values() if m["status"] in ("queued", "accepted")]
            for message in waiting:
                message["status"], message["updated"], message["sent"] = status, now, now
        return len(waiting)

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def handle(self, request: Request) -> Response:
        try:
            endpoint, args = self._url_map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return twilio_error(exc.code or 404, 20404, "The requested resource was not found")
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.account_sid, self.auth_token) \
                or args["sid"] != self.account_sid:
            return twilio_error(401, 20003, "Authenticate")
        if endpoint == "fetch":
            return self._fetch(args["message_sid"])
        if endpoint == "list":
            return self._list(request.args)
        return self._create(request)

    def _list(self, args: Mapping[str, str]) -> Response:
        """Messages, newest first by DateCreated, filtered as Twilio filters them: To, From, and DateSent (`DateSent`
        a day or an instant, `DateSent<` on or before, `DateSent>` on or after; a message not yet sent, whose
        DateSent is empty, matches no DateSent filter), in pages of PageSize (default 50, at most 1000)."""
        try:
            size = min(1000, max(1, int(args.get("PageSize", 50))))
            page = int(args.get("Page", 0))
            start = int(args.get("PageToken", "PA0")[2:]) if args.get("PageToken") else page * size
            sent_filters = [(name, _parse_date_sent(args[name])) for name in ("DateSent", "DateSent<", "DateSent>")
                            if args.get(name)]
        except ValueError:
            return twilio_error(400, 20001, "Invalid paging or DateSent parameter")
        with self.lock:
            chosen = sorted((m for m in self.messages.values()
                             if (not args.get("To") or m["to"] == args["To"])
                             and (not args.get("From") or m["from"] == args["From"])
                             and all(_sent_matches(m["sent"], name, value) for name, value in sent_filters)),
                            key=lambda m: m["created"], reverse=True)
            found = [self._message_json(m) for m in chosen[start:start + size]]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        kept = {name: value for name, value in args.items() if name not in ("Page", "PageToken", "PageSize")}

        def page_uri(number: int, token: int) -> str:
            return f"{uri}?{urlencode({**kept, 'PageSize': size, 'Page': number, 'PageToken': f'PA{token}'})}"
        more = start + size < len(chosen)
        return json_response({"messages": found, "start": start, "end": start + max(0, len(found) - 1),
                              "page": start // size, "page_size": size,
                              "first_page_uri": f"{uri}?{urlencode({**kept, 'PageSize': size, 'Page': 0})}",
                              "next_page_uri": page_uri(start // size + 1, start + size) if more else None,
                              "previous_page_uri": page_uri(start // size - 1, start - size) if start else None,
                              "uri": page_uri(start // size, start)}, 200)

    def _fetch(self, message_sid: str) -> Response:
        with self.lock:
            message = self.messages.get(message_sid)
            body = self._message_json(message) if message else None
        if body is None:
            return twilio_error(404, 20404, f"The requested resource {message_sid} was not found")
        return json_response(body, 200)

    def _create(self, request: Request) -> Response:
        if self.over_rate():
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
            return twilio_error(429, 20429, "Too Many Requests", headers)
        failure = self.injected_failure()
        if failure is not None:
            code, message = SERVER_ERRORS.get(failure, (20001, "Injected failure"))
            return twilio_error(failure, code, message)
        form = request.form
        to, sender, service = form.get("To", ""), form.get("From"), form.get("MessagingServiceSid")
        if not E164.fullmatch(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            return twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        if to in self.unsubscribed:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        now = datetime.now(UTC)
        message = {
            "sid": "SM" + uuid.uuid4().hex, "to": to, "from": sender, "messaging_service_sid": service,
            "body": form["Body"], "status_callback": form.get("StatusCallback"),
            "validity_period": int(form["ValidityPeriod"]) if form.get("ValidityPeriod") else None,
            "status": "accepted" if service else "queued", "error_code": None, "created": now, "updated": now,
            "sent": None,
        }
        with self.lock:
            self.messages[message["sid"]] = message
            self.per_to[to] += 1
            body = self._message_json(message)
        if message["status_callback"]:
            self._start_senders()
            self._due.put((clock.monotonic() + self.callback_delay, message, "sent"))
        return json_response(body, 201)

    def _message_json(self, message: dict) -> dict:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message['sid']}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": message["body"],
            "date_created": format_datetime(message["created"], usegmt=True),
            "date_updated": format_datetime(message["updated"], usegmt=True),
            "date_sent": format_datetime(message["sent"], usegmt=True) if message["sent"] else None,
            "direction": "outbound-api", "error_code": message["error_code"], "error_message": None,
            "from": message["from"], "messaging_service_sid": message["messaging_service_sid"],
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD", "sid": message["sid"],
            "status": message["status"], "subresource_uris": {"media": f"{path}/Media.json"},
            "to": message["to"], "uri": f"{path}.json",
        }

    def _start_senders(self) -> None:
        with self.lock:
            if self._senders:
                return
            self._senders = [threading.Thread(target=self._send_callbacks, daemon=True, name=f"twilio-callbacks-{n}")
                             for n in range(self._callback_threads)]
        for thread in self._senders:
            thread.start()

    def _send_callbacks(self) -> None:
        while not self._stopping.is_set():
            try:
                due, message, status = self._due.get(timeout=0.2)
            except queue.Empty:
                continue
            if self._stopping.wait(max(0.0, due - clock.monotonic())):
                return
            final = self.undeliverable.get(message["to"], "delivered")
            with self.lock:
                message["status"], message["updated"] = status, datetime.now(UTC)
                if status == "sent":  # DateSent is empty while the message is queued
                    message["sent"] = message["updated"]
                message["error_code"] = FAILURE_CODES.get(status)
            self._post_callback(message, status, due)
            if status == "sent":
                self._due.put((clock.monotonic() + self.callback_delay, message, final))

    def _post_callback(self, message: dict, status: str, due: float) -> None:
        url = message["status_callback"]
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": message["from"] or "",
            "MessageSid": message["sid"], "MessageStatus": status, "SmsSid": message["sid"], "SmsStatus": status,
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if status in FAILURE_CODES:
            params["ErrorCode"] = FAILURE_CODES[status]
        record = {"url": url, "params": params, "signature": twilio_signature(self.auth_token, url, params)}
        if urlsplit(url).hostname not in LOOPBACK:
            record["error"] = "not sent: the fake only calls back to loopback addresses"
        else:
            headers = {"X-Twilio-Signature": record["signature"], "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
            if not hasattr(self._local, "session"):
                self._local.session = requests.Session()
            started = clock.monotonic()
            try:  # bench/soak.py counts the answers slower than 5 s
                response = self._local.session.post(url, data=params, headers=headers, timeout=15)
                record["status_code"] = response.status_code
            except requests.RequestException as exc:
                record["error"] = str(exc)
            ended = clock.monotonic()
            record["seconds"], record["lag"] = ended - started, ended - due
        with self.lock:
            self.callbacks.append(record)


class CallbackReceiver(FakeServer):
    """Stands in for Benelert's status callback endpoint: records what arrived, answers 204."""

    def __init__(self, path: str = "/twilio/status", **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.received: list[dict] = []  # each {url, params, signature}

    @property
    def callback_url(self) -> str:
        return self.url + self.path

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.received.append({"url": request.url, "params": request.form.to_dict(),
                                  "signature": request.headers.get("X-Twilio-Signature")})
        return Response(status=204)
