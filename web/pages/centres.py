"""The network's centres as pages: the directory everyone reads; a network administrator adds centres, a centre's
administrator changes its settings (the rules: alerts.centres)."""
from __future__ import annotations

from zoneinfo import available_timezones

from babel import Locale
from flask import g, render_template, request, url_for
from flask_babel import gettext as _

from alerts import centres
from alerts.access import NETWORK_RULES, can_manage_centre
from alerts.vocabulary import LANGUAGES
from web import db_session
from web.auth import login_required
from web.i18n import select_locale
from web.pages import bp
from web.pages.common import perform

EUROPEAN_ZONES = sorted(zone for zone in available_timezones() if zone.startswith(("Europe/", "Atlantic/")))


def _language_names() -> dict[str, str]:
    """Each publishing language's name in the interface language (Lëtzebuergesch included)."""
    ui = select_locale()
    return {code: Locale.parse(code).get_display_name(ui) for code in LANGUAGES}


def _codes(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


def _form_values(form, with_code: bool) -> dict:
    """The settings a centre form sent, in the shape alerts.centres checks (it says what is wrong)."""
    values = {"names": {language: form.get(f"name-{language}", "").strip() for language in LANGUAGES
                        if form.get(f"name-{language}", "").strip()},
              "timezone": form.get("timezone", "").strip(),
              "languages": _codes(form.get("languages", "")),
              "cell_broadcast_languages": _codes(form.get("cell_broadcast_languages", "")) or None}
    deadline = form.get("ack_deadline_minutes", "").strip()
    values["ack_deadline_minutes"] = (int(deadline) if deadline.isdigit() else deadline) if deadline else None
    if with_code:
        values["code"] = form.get("code", "").strip().upper()
    if g.user.roles & NETWORK_RULES["add-centre"]:
        values["active"] = form.get("active") == "on"
    return values


@bp.get("/network/centres")
@login_required
def centres_page():
    network_admin = bool(g.user.roles & NETWORK_RULES["add-centre"])
    return render_template("pages/centres.html", centres=centres.listing(db_session()), languages=_language_names(),
                           zones=EUROPEAN_ZONES, network_admin=network_admin,
                           manageable=lambda user, centre: can_manage_centre(user, centre.id))


@bp.post("/network/centres")
@login_required
def add_centre():
    values = _form_values(request.form, with_code=True)
    return perform(lambda session: centres.create(session, g.user, values),
                   lambda centre: _("Centre %(code)s added.", code=centre.code), url_for("pages.centres_page"))


@bp.get("/network/centres/<code>")
@login_required
def centre_page(code):
    centre = centres.get(db_session(), code)
    return render_template("pages/centre.html", centre=centre, languages=_language_names(), zones=EUROPEAN_ZONES,
                           editable=can_manage_centre(g.user, centre.id),
                           network_admin=bool(g.user.roles & NETWORK_RULES["add-centre"]))


@bp.post("/network/centres/<code>")
@login_required
def change_centre(code):
    values = _form_values(request.form, with_code=False)
    return perform(lambda session: centres.update(session, g.user, code, values),
                   _("Settings of %(code)s saved.", code=code), url_for("pages.centre_page", code=code))
