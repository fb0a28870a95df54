"""Fake Mastodon server: instance info (v1 and v2) and POST /api/v1/statuses with Idempotency-Key."""
from __future__ import annotations

import html
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from werkzeug.wrappers import Request, Response

from devtools.fakes.server import FakeServer, json_response


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": message}, status, headers)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FakeMastodon(FakeServer):
    """`instance_versions` lists which of /api/v1/instance and /api/v2/instance answer (an old server has
    only "v1"; none at all tests the fallback). Posts with a seen (token, Idempotency-Key) return the
    first status again, as Mastodon does, instead of posting twice."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("fake-mastodon-token",),
        max_characters: int = 500,
        instance_versions: Iterable[str] = ("v1", "v2"),
        reset_after: int = 30,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tokens = set(tokens)
        self.max_characters = max_characters
        self.instance_versions = set(instance_versions)
        self.reset_after = reset_after
        self.statuses: list[dict] = []  # each {id, text, language, visibility, token, idempotency_key}
        self.idempotent_replays = 0
        self._by_key: dict[tuple[str, str], dict] = {}
        self._ids = itertools.count(110_000_000_000_000_001)

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if request.method == "GET" and path in ("/api/v1/instance", "/api/v2/instance"):
            return self._instance(path.split("/")[2])
        if (request.method, path) == ("POST", "/api/v1/statuses"):
            return self._post_status(request)
        return _error(404, "Record not found")

    def _instance(self, version: str) -> Response:
        if version not in self.instance_versions:
            return _error(404, "Record not found")
        statuses = {"max_characters": self.max_characters, "max_media_attachments": 4,
                    "characters_reserved_per_url": 23}
        if version == "v1":
            return json_response({"uri": "fake.mastodon.test", "title": "Fake Mastodon", "version": "3.5.3",
                                  "configuration": {"statuses": statuses}}, 200)
        return json_response({"domain": "fake.mastodon.test", "title": "Fake Mastodon", "version": "4.3.0",
                              "configuration": {"statuses": statuses}}, 200)

    def _post_status(self, request: Request) -> Response:
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip()
        if not authorization.startswith("Bearer ") or token not in self.tokens:
            return _error(401, "The access token is invalid")
        if self.over_rate():
            reset = datetime.now(UTC) + timedelta(seconds=self.reset_after)
            headers = {"X-RateLimit-Limit": str(self.max_rate), "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": _timestamp(reset)}
            return _error(429, "Too many requests", headers)
        failure = self.injected_failure()
        if failure is not None:
            return _error(failure, "We're sorry, but something went wrong on our end.")
        params = request.get_json(silent=True) if request.is_json else request.form
        text = (params or {}).get("status", "")
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            if key and (token, key) in self._by_key:
                self.idempotent_replays += 1
                return json_response(self._status_json(self._by_key[(token, key)]), 200)
            if not text:
                return _error(422, "Validation failed: Text can't be blank")
            if len(text) > self.max_characters:
                return _error(422, f"Validation failed: Text character limit of {self.max_characters} exceeded")
            status = {"id": str(next(self._ids)), "text": text, "language": params.get("language"),
                      "visibility": params.get("visibility") or "public", "token": token, "idempotency_key": key,
                      "created": datetime.now(UTC)}
            self.statuses.append(status)
            if key:
                self._by_key[(token, key)] = status
        return json_response(self._status_json(status), 200)

    def _status_json(self, status: dict) -> dict:
        url = f"https://fake.mastodon.test/@benelert/{status['id']}"
        account = {"id": "1", "username": "benelert", "acct": "benelert", "display_name": "Benelert",
                   "url": "https://fake.mastodon.test/@benelert", "locked": False, "bot": True,
                   "created_at": "2024-01-01T00:00:00.000Z", "note": "", "avatar": "", "header": "",
                   "followers_count": 0, "following_count": 0, "statuses_count": len(self.statuses),
                   "emojis": [], "fields": []}
        return {
            "id": status["id"], "uri": f"https://fake.mastodon.test/users/benelert/statuses/{status['id']}",
            "url": url, "created_at": _timestamp(status["created"]), "account": account,
            "content": f"<p>{html.escape(status['text'])}</p>", "visibility": status["visibility"],
            "sensitive": False, "spoiler_text": "", "language": status["language"], "in_reply_to_id": None,
            "in_reply_to_account_id": None, "reblog": None, "media_attachments": [], "mentions": [], "tags": [],
            "emojis": [], "reblogs_count": 0, "favourites_count": 0, "replies_count": 0, "poll": None,
            "card": None, "application": {"name": "Benelert", "website": None},
        }
