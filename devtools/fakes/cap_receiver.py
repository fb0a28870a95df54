"""A fake national alert system (BE-Alert, NL-Alert, ...): accepts POSTed CAP 1.2, checks it against the XSD.

    with CapReceiver(token="s3cret") as fake:
        channel.send(payload, Target(fake.url))
        fake.messages  # accepted CAP documents (bytes)

Answers 202 {"id": "fake-cap-N"} for valid CAP, 400 {"errors": [...]} with the XSD errors otherwise, 401 on
a wrong bearer token. `script` holds statuses to answer first (e.g. [429]); `failure_rate` fails at random
(seeded) with one of `failure_statuses`; `latency` delays the answer after acting. 127.0.0.1 only.
"""
from __future__ import annotations

from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from alerts.cap import validate_cap
from devtools.fakes.server import FakeServer, json_response


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    status: int
    errors: list[str]


class CapReceiver(FakeServer):
    def __init__(self, *, token: str | None = None, retry_after: str | None = None, **options):
        options.setdefault("failure_statuses", (503,))
        super().__init__(**options)
        self.token = token
        self.retry_after = retry_after
        self.script: list[int] = []
        self.received: list[Received] = []

    def start(self) -> CapReceiver:
        super().start()
        self.url += "/cap"
        return self

    @property
    def messages(self) -> list[bytes]:
        return [item.body for item in self.received if item.status == 202]

    def handle(self, request: Request) -> Response:
        body = request.get_data()
        with self.lock:
            scripted = self.script.pop(0) if self.script else None
        errors: list[str] = []
        if request.method != "POST" or request.path != "/cap":
            status = 404
        elif self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
            status = 401
        elif failure := scripted or self.injected_failure():
            status = failure
        else:
            errors = validate_cap(body)
            status = 400 if errors else 202
        with self.lock:
            self.received.append(Received(body, dict(request.headers), status, errors))
            number = len(self.received)
        headers = {"Retry-After": self.retry_after} if self.retry_after and status in (429, 503) else None
        answer = {"errors": errors} if errors else {"id": f"fake-cap-{number}"} if status == 202 else {}
        return json_response(answer, status, headers)
