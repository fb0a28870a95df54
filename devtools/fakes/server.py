"""A small WSGI fake served on 127.0.0.1 in a daemon thread, with latency, injected failures and a rate limit."""
from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterable

from cheroot.wsgi import Server
from werkzeug.wrappers import Request, Response


class FakeServer:
    """Subclasses implement `handle(request) -> Response`; `latency` is slept after handling (so a client
    that times out meets a request the fake did act on), `failure_rate` picks among `failure_statuses`
    with a seeded random, and `max_rate` is requests per second over a sliding one-second window."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        failure_statuses: Iterable[int] = (500,),
        seed: int = 0,
        max_rate: float | None = None,
    ):
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_statuses = tuple(failure_statuses)
        self.max_rate = max_rate
        self.max_observed_rate = 0  # most rate-limited requests that arrived within any one second
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order of arrival
        self.lock = threading.Lock()
        self._random = random.Random(seed)
        self._arrivals: deque[float] = deque()
        self._accepted: deque[float] = deque()
        self._server = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def start(self) -> FakeServer:
        # cheroot, not werkzeug's development server: like a real provider's, it keeps connections alive (werkzeug's
        # closes each one, so every request would pay for a new connection and a new server thread)
        self._server = Server(("127.0.0.1", 0), self._wsgi, numthreads=128 if self.latency else 32,
                              request_queue_size=128, shutdown_timeout=1)
        self._server.expiration_interval = 0.05  # how soon stop() returns
        self._server.prepare()
        self.url = f"http://127.0.0.1:{self._server.bind_addr[1]}"
        self._thread = threading.Thread(target=self._server.serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.requests.append((request.method, request.path))
        response = self.handle(request)
        if self.latency:
            time.sleep(self.latency)
        return response(environ, start_response)

    def injected_failure(self) -> int | None:
        """A status code to fail this request with, drawn at `failure_rate`, or None."""
        with self.lock:
            draw = self._random.random()
            return self._random.choice(self.failure_statuses) if draw < self.failure_rate else None

    def over_rate(self) -> bool:
        """Record an arrival; True when `max_rate` requests were already accepted in the last second."""
        now = time.monotonic()
        with self.lock:
            for window in (self._arrivals, self._accepted):
                while window and window[0] <= now - 1.0:
                    window.popleft()
            self._arrivals.append(now)
            self.max_observed_rate = max(self.max_observed_rate, len(self._arrivals))
            if self.max_rate is not None and len(self._accepted) >= self.max_rate:
                return True
            self._accepted.append(now)
            return False


def json_response(body: object, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")
