"""Fake X API v2: POST /2/tweets (with X's duplicate-content refusal and rate limit answers), and the lookups
reconciliation uses: GET /2/users/me and GET /2/users/:id/tweets (the user's posts, newest first, with
start_time, end_time, since_id, until_id, max_results 5..100, pagination_token and tweet.fields=created_at)."""
from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
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
        self.created: dict[str, datetime] = {}  # post id -> when it was created
        self.users: dict[str, str] = {}  # account token -> user id
        self._ids = itertools.count(1_800_000_000_000_000_001)
        self._user_ids = itertools.count(1_400_000_001)

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]

    def user_id(self, account: str) -> str:
        """The user id of an account (its token), given on first use."""
        with self.lock:
            return self.users.setdefault(account, str(next(self._user_ids)))

    def handle(self, request: Request) -> Response:
        timeline = _TIMELINE.fullmatch(request.path)
        known = (request.method, request.path) in (("POST", "/2/tweets"), ("GET", "/2/users/me")) \
            or (request.method == "GET" and timeline)
        if not known:
            return problem(404, "Not Found Error", f"Could not find {request.path}")
        credentials = account_of(request.headers.get("Authorization", ""))
        if credentials is None or (self.tokens is not None and credentials[1] not in self.tokens):
            return problem(401, "Unauthorized", "Unauthorized")
        if request.path == "/2/users/me":
            user_id = self.user_id(credentials[1])
            return json_response({"data": {"id": user_id, "name": credentials[1], "username": credentials[1]}}, 200)
        if timeline:
            return self._timeline(timeline.group(1), request.args)
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
            self.created[post["id"]] = datetime.now(UTC)
            self.users.setdefault(account, str(next(self._user_ids)))
        return json_response({"data": {"id": post["id"], "text": text, "edit_history_tweet_ids": [post["id"]]}}, 201)

    def _timeline(self, user_id: str, args: Mapping[str, str]) -> Response:
        try:
            size = int(args.get("max_results", 10))
            start, end = (_x_time(args[name]) if args.get(name) else None for name in ("start_time", "end_time"))
            since_id, until_id = (int(args[name]) if args.get(name) else None for name in ("since_id", "until_id"))
            offset = int(args.get("pagination_token") or 0)
        except ValueError:
            return invalid_request("a parameter of the request is not valid")
        if not 5 <= size <= 100:
            return invalid_request(f"The `max_results` query parameter value [{size}] is not between 5 and 100")
        fields = set(filter(None, args.get("tweet.fields", "").split(",")))
        with self.lock:
            accounts = [account for account, known in self.users.items() if known == user_id]
            if not accounts:
                return json_response({"errors": [{"value": user_id, "detail": f"Could not find user with id: "
                                                  f"[{user_id}].", "title": "Not Found Error", "resource_type": "user",
                                                  "parameter": "id", "resource_id": user_id,
                                                  "type": "https://api.twitter.com/2/problems/resource-not-found"}]},
                                     200)
            posts = [post for post in reversed(self.posts) if post["account"] == accounts[0]
                     and (start is None or self.created[post["id"]] >= start)
                     and (end is None or self.created[post["id"]] < end)
                     and (since_id is None or int(post["id"]) > since_id)
                     and (until_id is None or int(post["id"]) < until_id)]
            page = [{"id": post["id"], "text": post["text"], "edit_history_tweet_ids": [post["id"]],
                     **({"created_at": _x_timestamp(self.created[post["id"]])} if "created_at" in fields else {})}
                    for post in posts[offset:offset + size]]
        meta: dict = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
            if offset + size < len(posts):
                meta["next_token"] = str(offset + size)
        return json_response({"data": page, "meta": meta} if page else {"meta": meta}, 200)


_TIMELINE = re.compile(r"/2/users/(\d+)/tweets")


def invalid_request(message: str) -> Response:
    return json_response({"errors": [{"parameters": {}, "message": message}], "title": "Invalid Request",
                          "detail": "One or more parameters to your request was invalid.",
                          "type": "https://api.twitter.com/2/problems/invalid-request"}, 400)


def _x_time(raw: str) -> datetime:
    """An X API time parameter (RFC 3339, e.g. 2025-03-01T12:00:00Z)."""
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


def _x_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
