"""A fake national alert system (BE-Alert, NL-Alert, ...): accepts POSTed CAP 1.2, checks it against the XSD.

    with CapReceiver(token="s3cret") as fake:
        channel.send(payload, Target(fake.url))
        fake.messages  # accepted CAP documents (bytes)

Answers 202 {"id": "fake-cap-N"} for valid CAP, 400 with the XSD errors otherwise, 401 on a wrong bearer
token. `script` holds statuses to answer first (e.g. [429]); `failure_rate` fails at random (seeded) with
`failure_status`; `latency` delays every answer. Binds 127.0.0.1 only.
"""
from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from alerts.cap import validate_cap


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    status: int
    errors: list[str]


class CapReceiver:
    def __init__(self, *, latency: float = 0.0, failure_rate: float = 0.0, failure_status: int = 503,
                 retry_after: str | None = None, token: str | None = None, seed: int = 0):
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_status = failure_status
        self.retry_after = retry_after
        self.token = token
        self.script: list[int] = []
        self.received: list[Received] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/cap"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def messages(self) -> list[bytes]:
        return [item.body for item in self.received if item.status == 202]

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CapReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        body = request.get_data()
        if self.latency:
            self._stopping.wait(self.latency)
        with self._lock:
            scripted = self.script.pop(0) if self.script else None
            failing = scripted or (self.failure_status if self._rng.random() < self.failure_rate else None)
            number = len(self.received) + 1
        errors: list[str] = []
        if request.method != "POST" or request.path != "/cap":
            status = 404
        elif self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            status = 401
        elif failing:
            status = failing
        else:
            errors = validate_cap(body)
            status = 400 if errors else 202
        with self._lock:
            self.received.append(Received(body, dict(request.headers), status, errors))
        headers = {"Retry-After": self.retry_after} if self.retry_after and status in (429, 503) else {}
        answer = {"errors": errors} if errors else {"id": f"fake-cap-{number}"} if status == 202 else {}
        return Response(json.dumps(answer), status=status, headers=headers, content_type="application/json")
