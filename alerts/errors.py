"""Domain errors: the web layers turn them into problem+json or readable messages, with the class's status and
title (`class Gone(DomainError, status=410, title=_("Gone"))`). Details and titles are `Msg`s (alerts.i18n): the
English text, translated where they are shown."""
from __future__ import annotations

from alerts.i18n import _


class DomainError(Exception):
    status = 400
    title = _("Bad request")

    def __init_subclass__(cls, status: int | None = None, title: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.title = title or cls.title

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError, status=422, title=_("Invalid input")):
    pass


class NotFound(DomainError, status=404, title=_("Not found")):
    pass


class Forbidden(DomainError, status=403, title=_("Forbidden")):
    pass


class Conflict(DomainError, status=409, title=_("Conflict")):
    pass


class StaleVersion(DomainError, status=412, title=_("Stale version")):
    """An edit named a version that is no longer current; `extra` carries the current one and a diff."""


class TooSoon(DomainError, status=429, title=_("Too many requests")):
    """Done again sooner than its rule allows; `extra["retry_after_s"]` says when it may be done again."""
