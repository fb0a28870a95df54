"""Signing in and out, and the interface language."""
from __future__ import annotations

import re
from datetime import timedelta

from flask import flash, redirect, render_template, request, session, url_for

from alerts import accounts
from alerts.errors import DomainError
from alerts.i18n import ngettext
from web import device_cookie, for_page, operation, services
from web.auth import client_address
from web.i18n import LANGUAGE_COOKIE, UI_LANGUAGES
from web.pages import bp
from web.pages.forms import LoginForm

# A path on this site only: not //host, nor what a browser bends into one (it drops tabs and newlines and
# reads a backslash as a slash); a newline would also break the Location header.
LOCAL_PATH = re.compile(r"/(?![/\\])[^\x00-\x20\x7f\\]*")


def local_target(target: str | None) -> str:
    return target if target and LOCAL_PATH.fullmatch(target) else url_for("pages.alerts")


@bp.post("/language")
def language():
    chosen = request.form.get("language", "")
    response = redirect(local_target(request.form.get("next")))
    if chosen in UI_LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=services().settings.secure_cookies)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        settings = services().settings
        try:
            # a refused login is still audited (and counted): that record is kept, the refusal shown
            with operation(keep_on=(DomainError,)) as dbs:
                result = accounts.login(dbs, services().throttle, username=form.username.data,
                                        password=form.password.data, address=client_address(),
                                        lifetime=timedelta(hours=settings.session_hours),
                                        device=device_cookie.device_for(form.username.data))
        except DomainError as error:
            flash(for_page(error.detail), "error")
            status = error.status
            if "retry_after_s" in error.extra:
                headers["Retry-After"] = str(error.extra["retry_after_s"])
        else:
            session.clear()  # a fresh session (and CSRF token) at every login
            session.permanent = True
            session["sid"] = result.session_token
            if result.failed_attempts:
                flash(for_page(ngettext(
                    "%(num)d failed login attempt on your account since your last login: if it was not you, tell "
                    "your centre's admin.",
                    "%(num)d failed login attempts on your account since your last login: if it was not you, tell "
                    "your centre's admin.", result.failed_attempts)), "info")
            response = redirect(local_target(request.args.get("next")))
            device_cookie.remember(response, result.user.username)
            return response
    elif request.method == "POST":
        status = 400
    return render_template("pages/login.html", form=form), status, headers


@bp.post("/logout")
def logout():
    with operation() as dbs:
        accounts.logout(dbs, session.get("sid"))
    session.clear()
    return redirect(url_for("pages.login"))


@bp.get("/")
def index():
    return redirect(url_for("pages.alerts"))
