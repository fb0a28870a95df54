"""A fake partner centre endpoint that verifies Standard Webhooks signatures with the `standardwebhooks` library.

    with WebhookReceiver(["whsec_..."]) as fake:
        channel.send(payload, Target(fake.url, secrets=("whsec_...",)))
        fake.deliveries  # verified, deduplicated by webhook-id

Answers 401 when no configured secret verifies the request, 410 when `gone` is set, statuses from
`script` first (e.g. [503]), random (seeded) `failure_status` at `failure_rate`, else 200 (also for a
duplicate webhook-id, which is counted in `duplicates` and not delivered twice). Binds 127.0.0.1 only.
"""
from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


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


class WebhookReceiver:
    def __init__(self, secrets: list[str], *, latency: float = 0.0, failure_rate: float = 0.0,
                 failure_status: int = 500, gone: bool = False, seed: int = 0):
        self.secrets = list(secrets)
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_status = failure_status
        self.gone = gone
        self.script: list[int] = []
        self.attempts: list[Attempt] = []
        self.deliveries: list[Delivery] = []
        self.duplicates = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __call__(self, environ, start_response):
        return self._answer(Request(environ))(environ, start_response)

    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[list[int], Any]:
        verified, payload = [], None
        for index, secret in enumerate(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.append(index)
        return verified, payload

    def _answer(self, request: Request) -> Response:
        body = request.get_data()
        headers = dict(request.headers)
        if self.latency:
            self._stopping.wait(self.latency)
        verified, payload = self._verify(body, headers)
        webhook_id = request.headers.get("webhook-id")
        with self._lock:
            scripted = self.script.pop(0) if self.script else None
            failing = scripted or (self.failure_status if self._rng.random() < self.failure_rate else None)
            if not verified:
                status = 401
            elif self.gone:
                status = 410
            elif failing:
                status = failing
            else:
                status = 200
                if any(d.webhook_id == webhook_id for d in self.deliveries):
                    self.duplicates += 1
                else:
                    self.deliveries.append(Delivery(webhook_id, payload, headers))
            self.attempts.append(Attempt(webhook_id, request.headers.get("webhook-timestamp"),
                                         request.headers.get("webhook-signature"), status, verified))
        return Response(json.dumps({"ok": status == 200}), status=status, content_type="application/json")
