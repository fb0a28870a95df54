"""Domain errors: the web layers turn them into problem+json or readable messages."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class StaleVersion(DomainError):
    """An edit named a version that is no longer current; `extra` carries the current one and a diff."""

    status = 412
    title = "Stale version"
