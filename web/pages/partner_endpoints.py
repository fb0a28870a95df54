"""A centre's partner endpoints as a page, for its administrators and network administrators (the rules:
alerts.partner_endpoints): add one, rotate its secret (the new one shown once), remove the old secret, ping it,
deactivate and reactivate it."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from alerts import centres, partner_endpoints
from alerts.access import NETWORK_RULES
from alerts.errors import DomainError
from web import db_session, operation, services
from web.api.partner_endpoints import ping
from web.auth import login_required
from web.pages import bp
from web.pages.common import perform, show_refusal

NO_STORE = {"Cache-Control": "no-store"}  # a page holding a new secret: never kept by a browser or a proxy


def _code() -> str:
    return request.form.get("centre", "") or g.user.centre.code


def _back(code: str) -> str:
    return url_for("pages.partner_endpoints_page", centre=code)


def _page(code: str, new_secret: dict | None = None):
    dbs = db_session()
    centre, endpoints = partner_endpoints.listing(dbs, g.user, code)
    network_admin = bool(g.user.roles & NETWORK_RULES["manage-any-centre"])
    choices = [c.code for c in centres.listing(dbs)] if network_admin else [g.user.centre.code]
    return render_template("pages/partner_endpoints.html", centre=centre, centres=choices, new_secret=new_secret,
                           endpoints=[partner_endpoints.describe(endpoint) for endpoint in endpoints],
                           development=services().settings.env == "development")


@bp.get("/network/partner-endpoints")
@login_required
def partner_endpoints_page():
    return _page(request.args.get("centre") or g.user.centre.code)


def _show_secret(code: str, make, done: str):
    """A new secret (a new endpoint's, or a rotation's) on the page, once; a refusal as a message."""
    try:
        with operation() as session:
            endpoint, secret = make(session)
            shown = {"endpoint_id": endpoint.id, "url": endpoint.url, "secret": secret,
                     "fingerprint": partner_endpoints.fingerprint(secret)}
    except DomainError as error:
        show_refusal(error)
        return redirect(_back(code))
    flash(done, "ok")
    return _page(code, shown), 200, NO_STORE


@bp.post("/network/partner-endpoints")
@login_required
def add_partner_endpoint():
    code, form = _code(), request.form
    development = services().settings.env == "development"
    return _show_secret(code, lambda session: partner_endpoints.create(
        session, g.user, code, form.get("url", ""), form.get("secret", "").strip() or None, development=development),
        _("Partner endpoint added."))


@bp.post("/network/partner-endpoints/<int:endpoint_id>/secrets")
@login_required
def rotate_partner_secret(endpoint_id):
    code = _code()
    return _show_secret(code, lambda session: partner_endpoints.add_secret(session, g.user, code, endpoint_id),
                        _("New secret added: copies are now signed with both secrets."))


@bp.post("/network/partner-endpoints/<int:endpoint_id>/secrets/<fingerprint>/remove")
@login_required
def remove_partner_secret(endpoint_id, fingerprint):
    code = _code()
    return perform(lambda session: partner_endpoints.remove_secret(session, g.user, code, endpoint_id, fingerprint),
                   _("Secret %(fingerprint)s removed: it no longer signs copies.", fingerprint=fingerprint),
                   _back(code))


@bp.post("/network/partner-endpoints/<int:endpoint_id>/active")
@login_required
def partner_endpoint_active(endpoint_id):
    code, active = _code(), request.form.get("active") == "1"
    done = (_("The endpoint receives copies again.") if active else
            _("The endpoint is deactivated: it receives no more copies."))
    return perform(lambda session: partner_endpoints.update(session, g.user, code, endpoint_id, {"active": active}),
                   done, _back(code))


@bp.post("/network/partner-endpoints/<int:endpoint_id>/ping")
@login_required
def ping_partner_endpoint(endpoint_id):
    code = _code()
    try:
        answer = ping(code, endpoint_id)
    except DomainError as error:
        show_refusal(error)
        return redirect(_back(code))
    if answer.ok:
        flash(_("The endpoint answered %(status)d in %(ms)d ms.", status=answer.status_code, ms=answer.latency_ms),
              "ok")
    elif answer.status_code is not None:
        flash(_("The endpoint answered %(status)d in %(ms)d ms, not 2xx: %(error)s", status=answer.status_code,
                ms=answer.latency_ms, error=answer.error), "error")
    elif answer.latency_ms is not None:
        flash(_("No answer from the endpoint (after %(ms)d ms): %(error)s", ms=answer.latency_ms, error=answer.error),
              "error")
    else:
        flash(_("The ping was not sent: %(error)s", error=answer.error), "error")
    return redirect(_back(code))
