"""A fake partner centre endpoint that verifies Standard Webhooks signatures with the `standardwebhooks` library.

    with WebhookReceiver(["whsec_..."]) as fake:
        channel.send(payload, Target(fake.url, secrets=("whsec_...",)))
        fake.deliveries  # verified, deduplicated by webhook-id

Answers 401 when none of its secrets verifies the request (`Webhook(secret).verify(body, headers)`), 410
when `gone`, statuses from `script` first (e.g. [503]), a random (seeded) one of `failure_statuses` at
`failure_rate`, else 200 — also for a repeated webhook-id, which is counted in `duplicates` and not
delivered twice. `latency` delays the answer after acting. 127.0.0.1 only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.wrappers import Request, Response

from devtools.fakes.server import FakeServer, json_response


@dataclass
class Attempt:
    webhook_id: str | None
    timestamp: str | None
    signature: str | None
    status: int
    verified_by: list[int]  # indexes of the receiver's secrets that verified this request


@dataclass
class Delivery:
    webhook_id: str
    payload: Any
    headers: dict[str, str]


class WebhookReceiver(FakeServer):
    def __init__(self, secrets: list[str], *, gone: bool = False, **options):
        super().__init__(**options)
        self.secrets = list(secrets)
        self.gone = gone
        self.script: list[int] = []
        self.attempts: list[Attempt] = []
        self.deliveries: list[Delivery] = []
        self.duplicates = 0

    def start(self) -> WebhookReceiver:
        super().start()
        self.url += "/hooks"
        return self

    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[list[int], Any]:
        verified, payload = [], None
        for index, secret in enumerate(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(index)
        return verified, payload

    def handle(self, request: Request) -> Response:
        headers = dict(request.headers)
        verified, payload = self._verify(request.get_data(), headers)
        webhook_id = request.headers.get("webhook-id")
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
        failure = scripted or self.injected_failure()
        with self.lock:
            if not verified:
                status = 401
            elif self.gone:
                status = 410
            elif failure:
                status = failure
            else:
                status = 200
                if any(delivery.webhook_id == webhook_id for delivery in self.deliveries):
                    self.duplicates += 1
                else:
                    self.deliveries.append(Delivery(webhook_id, payload, headers))
            self.attempts.append(Attempt(webhook_id, request.headers.get("webhook-timestamp"),
                                         request.headers.get("webhook-signature"), status, verified))
        return json_response({"ok": status == 200}, status)
