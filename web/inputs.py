"""What every request body and parameter must be before any route reads it: no larger than the route's limit however
it is framed (Content-Length or chunked), readable when it says it is JSON, and free of NUL characters (PostgreSQL
cannot store them in text). Registered for every route by web.init_app."""
from __future__ import annotations

import logging

import flask
from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_content_length, get_input_stream

from alerts.i18n import _

log = logging.getLogger("benelert")
NUL = "\x00"


class BoundedStream(LimitedStream):
    """A body whose length only the server knows (chunked, no Content-Length), read up to the route's maximum.

    Werkzeug's LimitedStream.readall (what request.get_data() and every whole-body read use) stops as soon as it
    has read `limit` bytes, without the one extra read that would show whether the body goes on: on_exhausted, which
    raises RequestEntityTooLarge for a maximum, only runs on a read *after* the limit. So a chunked body larger than
    the limit came back cut at exactly the limit, silently. Here, a body that reached the limit is looked at once
    more: a single further byte means it is too large, and it is refused whole (413). The server terminates the input
    (wsgi.input_terminated), so that one read cannot block."""

    def readall(self) -> bytes:
        data = super().readall()  # raises when called at the limit already
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class Request(flask.Request):
    """flask's Request, with a body never longer than request.max_content_length (a route may set it higher, as the
    subscriber import does, before it reads the body)."""

    @cached_property
    def stream(self):
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True': its input stream is not read.")
        limit = self.max_content_length
        environ = self.environ
        if limit is not None and "wsgi.input_terminated" in environ:
            length = get_content_length(environ)
            if length is not None and length > limit:
                raise RequestEntityTooLarge()
            return BoundedStream(environ["wsgi.input"], limit, is_max=True)
        return get_input_stream(environ, max_content_length=limit)


def _has_nul(value) -> bool:
    """Whether a NUL is in any string or key of a decoded JSON value (walked without recursion: the parser already
    bounds the depth, this walk must not add its own limit)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _in_multidict(values) -> bool:
    return any(NUL in key or any(NUL in value for value in items) for key, items in values.lists())


def _json_body():
    """The request's JSON, decoded as flask decodes it (UTF-8, -16 or -32, detected; cached for the route, and for
    web.api.base.JsonParser), or None without a body or when it cannot be read: then no route can read it either
    (each refuses it in its own way: 400, or 415 where JSON is not taken). Too deep a nesting is
    web.handle_nesting's RecursionError, a 400."""
    if not request.get_data(cache=True):
        return None
    try:
        return request.get_json(cache=True)
    except BadRequest:
        return None


def check_inputs():
    """Refuses, before any route runs, a body or parameter no route could use: a NUL character anywhere (path, every
    value and key of the query and of a form, urlencoded or multipart, uploaded file names, every string and key of
    a JSON body whatever its encoding), or a JSON body that cannot be read. Provider hooks are left to their own
    checks: a forged callback is a 403 whatever it holds, and Twilio expects its TwiML answer."""
    from web import refused

    if request.path.startswith("/hooks/"):
        return None
    found = NUL in request.path or _in_multidict(request.args)
    if not found and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        found = _in_multidict(request.form) or any(
            NUL in key or any(NUL in (upload.filename or "") for upload in uploads)
            for key, uploads in request.files.lists())
    if not found and request.is_json:
        found = _has_nul(_json_body())
    if not found:
        return None
    log.warning("request refused: a NUL character")
    return refused(400, _("The request contains a NUL character (\\u0000), which no field accepts."))


def init_app(app: flask.Flask) -> None:
    app.request_class = Request
    app.before_request(check_inputs)
