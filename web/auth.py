"""Who is asking: a browser session (pages) or a personal API token (API). Both put the user on `g.user`."""
from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, session, url_for

from alerts import accounts
from alerts.i18n import _
from web import db_session, problem


def bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def unauthorized():
    return problem(401, _("Unauthorized"), _("A valid personal API token is required: 'Authorization: Bearer "
                                             "bnl_...'."),
                   headers={"WWW-Authenticate": 'Bearer realm="benelert"'})


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = accounts.user_for_token(db_session(), bearer_secret())
        if user is None:
            return unauthorized()
        g.user = user
        return view(*args, **kwargs)

    return wrapper


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = accounts.user_for_session(db_session(), session.get("sid"))
        if user is None:
            session.pop("sid", None)
            return redirect(url_for("pages.login", next=request.full_path if request.method == "GET" else None))
        g.user = user
        return view(*args, **kwargs)

    return wrapper


def client_address() -> str:
    return request.remote_addr or "unknown"
