"""Request plumbing shared by the API and the pages: services, DB session per request, request ids,
logging, security headers, and turning errors into problem+json (API) or readable pages."""
from __future__ import annotations

import logging
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from cachetools import LRUCache
from flask import Flask, Response, current_app, g, json, render_template, request
from flask_babel import get_translations
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter

from alerts.accounts import LoginThrottle
from alerts.errors import DomainError
from alerts.i18n import _, localized
from db import Database
from settings import Settings
from web.i18n import api_language, api_translations, is_api_request

log = logging.getLogger("benelert")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
PROBLEM = "application/problem+json"


@dataclass
class Services:
    settings: Settings
    db: Database
    throttle: LoginThrottle
    channels_config: dict = field(default_factory=dict)
    version_bodies: MutableMapping = field(default_factory=lambda: LRUCache(maxsize=4096))
    # GET /api/v1/alerts/<id> answers, serialised, under (id, version, state, updated_at)
    alert_answers: MutableMapping = field(default_factory=lambda: LRUCache(maxsize=4096))
    cache_lock: threading.Lock = field(default_factory=threading.Lock)


def services() -> Services:
    return current_app.extensions["benelert"]


def release_options():
    """The deployment's release options (text limits, sandbox targets, CAP sender and signing)."""
    from alerts.release import ReleaseOptions

    return ReleaseOptions.from_settings(services().settings)


def db_session() -> Session:
    """The request's session. Reads use it as they like; only operation() commits it."""
    if "db_session" not in g:
        g.db_session = services().db.sessions()
    return g.db_session


@contextmanager
def operation(keep_on: tuple[type[BaseException], ...] = ()) -> Iterator[Session]:
    """A request's one unit of work: `with operation() as session:` commits when the block ends and rolls back
    on any error raised inside it, so nothing is half-written. The one place web code commits. `keep_on` names
    refusals that are records themselves (a failed login is audited): their writes are committed, then they
    propagate."""
    session = db_session()
    try:
        yield session
    except keep_on:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


# ---- logging ---------------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test capture and process managers swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(settings: Settings) -> None:
    handler = StderrHandler()
    if settings.log_json:
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                           rename_fields={"levelname": "level", "asctime": "time"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    log.handlers[:] = [handler]
    log.setLevel(settings.log_level)
    log.propagate = False


# ---- errors ----------------------------------------------------------------------------------------

def wants_problem_json() -> bool:
    return is_api_request()


def problem(status: int, title: str, detail: str, type_: str = "about:blank", headers=None, **extra) -> Response:
    """A problem+json answer. Its title, detail and the messages in its extension members (a readiness problem's
    message, a CSV line's error) are in the request's Accept-Language when it asks for nl, fr or de, else English;
    `type`, `status`, codes and fields stay as they are, for programs."""
    translations = api_translations()
    body = {"type": type_, "title": _title(title, translations), "status": status,
            "detail": localized(detail, translations), **localized(extra, translations)}
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    response.headers["Content-Language"] = api_language()
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


# the titles of the errors people see (RFC 9457: a title changes only with its language), by status
HTTP_TITLES = {
    400: _("Bad request"), 401: _("Unauthorized"), 403: _("Forbidden"), 404: _("Not found"),
    405: _("Method not allowed"), 409: _("Conflict"), 412: _("Stale version"), 413: _("Content too large"),
    415: _("Unsupported media type"), 422: _("Invalid input"), 428: _("Precondition required"),
    429: _("Too many requests"), 500: _("Internal error"), 503: _("Service unavailable"),
}
# titles of domain errors whose modules do not mark them for translation yet: translated by their English text
OTHER_TITLES = (_("Not ready for approval"),)


def _title(title: str, translations) -> str:
    if isinstance(title, str) and not hasattr(title, "msgid"):  # a plain title: its catalog entry, if any
        return translations.gettext(title)
    return localized(title, translations)


def error_page(status: int, title, detail, headers=None):
    """The error page, in the page's language. The request's session is rolled back first: after a failed flush it
    refuses every query, and the page's header reads the user's roles. Should the page still fail, the answer is a
    minimal plain one (it still gets its request id and security headers from _finish_request), never the server's
    bare 500."""
    _roll_back_request()
    try:
        return render_template("pages/error.html", title=for_page(title), detail=for_page(detail)), status, headers
    except Exception:
        log.exception("the error page could not be rendered")
        return plain_error(status, title, detail, headers)


def plain_error(status: int, title, detail, headers=None) -> Response:
    """The answer when even the error page fails: its title and detail as text, in the page's language if that
    can still be told, else in English."""
    try:
        text = f"{for_page(title)}\n\n{for_page(detail)}\n"
    except Exception:
        text = f"{title}\n\n{detail}\n"
    response = Response(text, status=status, mimetype="text/plain")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _roll_back_request() -> None:
    session = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()  # only operation() commits: nothing an error page rolls back was ever to be kept
    except Exception:
        log.exception("the request's session could not be rolled back")
        g.pop("db_session", None)


def for_page(value):
    """A message (or title) in the page's language."""
    translations = get_translations()
    return _title(value, translations) if isinstance(value, str) else localized(value, translations)


def handle_domain_error(error: DomainError):
    if wants_problem_json():
        return problem(error.status, error.title, error.detail, f"urn:benelert:problem:{_slug(type(error).__name__)}",
                       **error.extra)
    return error_page(error.status, error.title, error.detail)


HTTP_DETAILS = {
    400: _("The request could not be understood: check that the body is valid JSON and the fields are right."),
    401: _("Authentication is required: send 'Authorization: Bearer <token>' with a personal API token."),
    403: _("You may not do this."),
    404: _("There is nothing at this address."),
    405: _("This method is not allowed here."),
    413: _("The request body is too large (at most 1 MiB)."),
    415: _("Send the body as application/json."),
    422: _("The request body is not valid."),
    429: _("Too many requests: wait a moment and try again."),
    500: _("An internal error occurred."),
}
PAGE_DETAILS = {  # what a person at a browser is told instead
    400: _("The form could not be read. Reload the page and try again."),
    401: _("Log in to see this page."),
    405: _("This page cannot be used this way."),
    413: _("What you sent is too large (at most 1 MiB)."),
    415: _("What you sent cannot be read here."),
    422: _("What you sent is not valid."),
}
CSRF_EXPIRED = _("Your form expired or was sent from another page. Reload the page and try again.")


def handle_http_error(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    title = HTTP_TITLES.get(status, error.name)
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110 15.5.6: a 405 names what is allowed
    if wants_problem_json():
        extra = {}
        if "messages" in data:
            extra["errors"] = data["messages"].get("json", data["messages"])
        detail = data.get("message") or HTTP_DETAILS.get(status) or error.description
        return problem(status, title, detail, headers=headers, **extra)
    if status == 400 and "CSRF" in (error.description or ""):
        detail = CSRF_EXPIRED
    else:
        detail = PAGE_DETAILS.get(status) or HTTP_DETAILS.get(status) or error.description
    return error_page(status, title, detail, headers)


def handle_nesting(_error: RecursionError):
    """JSON such as [[[[... exhausts the parser's recursion (json.loads raises RecursionError, which neither
    Flask nor webargs turns into a 400): the body is refused, whichever route read it."""
    log.warning("request body nested too deeply")
    return refused(400, _("The request body is nested too deeply to be read."))


def handle_concurrent_write(error: DBAPIError):
    """Two people doing the same thing at the same moment (a double click on schedule, two approvals of
    one centre): the database's unique constraint or deadlock detection stopped the second, and nothing of
    it was written. Anything else the database refuses is a bug and stays a 500."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    duplicate = sqlstate == "23505" or "UNIQUE constraint failed" in str(error.orig)
    if not (duplicate or sqlstate in ("40P01", "40001")):
        return handle_unexpected(error)
    log.warning("concurrent write refused by the database", extra={"sqlstate": sqlstate})
    return refused(409, _("Someone else changed this at the same moment, so your change was not saved. Reload and "
                          "check."))


def handle_unencodable(error: UnicodeEncodeError):
    """JSON may spell a lone UTF-16 surrogate ("\\ud800"), which no text can hold: refused before anything was
    stored (the operation's transaction is rolled back). Any other encoding error is a bug: a 500."""
    if "surrogates not allowed" not in str(error):
        return handle_unexpected(error)
    return refused(400, _("The request contains an invalid character (an unpaired UTF-16 surrogate such as "
                          "\\ud800)."))


def refused(status: int, detail: str, title: str | None = None):
    """An error answer: problem+json for the API and provider hooks, the error page for people."""
    title = title or HTTP_TITLES.get(status, str(status))
    if wants_problem_json():
        return problem(status, title, detail)
    return error_page(status, title, detail)


def handle_unexpected(error: Exception):
    log.exception("unhandled error")
    return refused(500, _("An internal error occurred; quote reference %(reference)s to the operators.",
                          reference=g.get("request_id", "-")))


# ---- request life cycle ---------------------------------------------------------------------------

def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else secrets.token_hex(8)
    g.started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "-")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    if services().settings.secure_cookies:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    user = g.get("user")
    log.info("request", extra={
        "method": request.method, "path": request.path, "status": response.status_code,
        "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
        "user": user.username if user else g.get("username"),
    })
    return response


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()  # rolls back anything a failed operation left uncommitted


MAX_ID = 2**31 - 1  # PostgreSQL INTEGER; larger numbers must not reach the database (they raise there)


class IdConverter(IntegerConverter):
    """<int:...> in every route: a number beyond any id is simply not found (404), never a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def init_app(app: Flask) -> None:
    """Request plumbing; called before any route is added (the id converter applies to every route)."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_start_request)
    from web import inputs

    inputs.init_app(app)  # the request class (bodies within their limit) and the checks of every input
    app.after_request(_finish_request)
    app.teardown_request(_close_session)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(RecursionError, handle_nesting)
    app.register_error_handler(UnicodeEncodeError, handle_unencodable)
    app.register_error_handler(IntegrityError, handle_concurrent_write)
    app.register_error_handler(OperationalError, handle_concurrent_write)
    app.register_error_handler(Exception, handle_unexpected)
