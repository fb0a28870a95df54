"""Fake X API v2: POST /2/tweets only, with X's duplicate-content refusal and rate limit answers."""
from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from devtools.fakes.server import FakeServer, json_response

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
_OAUTH_TOKEN = re.compile(r'oauth_token="([^"]*)"')


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"title": title, "detail": detail, "type": "about:blank", "status": status}, status, headers)


def account_of(authorization: str) -> tuple[str, str] | None:
    """(scheme, account token) from an OAuth 1.0a or Bearer Authorization header."""
    if authorization.startswith("OAuth "):
        match = _OAUTH_TOKEN.search(authorization)
        return ("OAuth", unquote(match.group(1))) if match else None
    if authorization.startswith("Bearer ") and authorization[7:].strip():
        return "Bearer", authorization[7:].strip()
    return None


class FakeX(FakeServer):
    """`tokens`, when given, are the access tokens (OAuth 1.0a) or user tokens (Bearer) it accepts;
    a 429 says the window resets `reset_after` seconds from now."""

    def __init__(self, *, tokens: Iterable[str] | None = None, reset_after: int = 60, **kwargs):
        super().__init__(**kwargs)
        self.tokens = set(tokens) if tokens is not None else None
        self.reset_after = reset_after
        self.posts: list[dict] = []  # each {id, text, account, scheme}
        self._ids = itertools.count(1_800_000_000_000_000_001)

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]

    def handle(self, request: Request) -> Response:
        if (request.method, request.path) != ("POST", "/2/tweets"):
            return problem(404, "Not Found Error", f"Could not find {request.path}")
        credentials = account_of(request.headers.get("Authorization", ""))
        if credentials is None or (self.tokens is not None and credentials[1] not in self.tokens):
            return problem(401, "Unauthorized", "Unauthorized")
        if self.over_rate():
            reset = int(time.time()) + self.reset_after
            headers = {"x-rate-limit-limit": str(self.max_rate), "x-rate-limit-remaining": "0",
                       "x-rate-limit-reset": str(reset)}
            return problem(429, "Too Many Requests", "Too Many Requests", headers)
        failure = self.injected_failure()
        if failure is not None:
            return problem(failure, "Service Unavailable" if failure == 503 else "Internal Error", "Injected failure")
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return json_response({"errors": [{"message": "text: must not be empty"}], "title": "Invalid Request",
                                  "detail": "One or more parameters to your request was invalid.",
                                  "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)
        scheme, account = credentials
        with self.lock:
            if any(post["account"] == account and post["text"] == text for post in self.posts):
                return problem(403, "Forbidden", DUPLICATE_DETAIL)
            post = {"id": str(next(self._ids)), "text": text, "account": account, "scheme": scheme}
            self.posts.append(post)
        return json_response({"data": {"id": post["id"], "text": text, "edit_history_tweet_ids": [post["id"]]}}, 201)
