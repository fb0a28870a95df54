"""Communicators' pages: the dashboard, composing a new alert, editing with a live preview, an alert's page with
its comments, invitations and version diffs."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from alerts import authoring, jurisdictions, review, updates
from alerts.errors import DomainError, StaleVersion
from alerts.gazetteer import PLACES, area_label, place_name
from alerts.hazards import HAZARDS, INSTRUCTIONS
from alerts.models import TEXT_FIELDS, Alert, Centre, utcnow
from alerts.phrasebook import render_texts
from alerts.workflow import STATES
from channels.specs import TextLimits
from web import db_session, for_page, operation, services
from web.auth import login_required
from web.i18n import field_label, select_locale
from web.pages import area_reach, bp, map_areas
from web.pages.common import (
    base_version,
    current_alert,
    parse_local,
    perform,
    preview_context,
    release_of,
    user_timezone,
    version_number,
)
from web.pages.forms import (
    AlertForm,
    CommentForm,
    InviteForm,
    form_changes,
    form_values,
    preview_content,
    submitted_values,
)
from web.pages.geo import boundaries_url


@bp.get("/alerts")
@login_required
def alerts():
    state = request.args.get("state") or None
    dbs = db_session()
    items, total = authoring.list_alerts(dbs, g.user, state=state, limit=200)
    everything = items if state is None else authoring.list_alerts(dbs, g.user, limit=200)[0]
    centres = sorted({row.centre.code for alert in everything for row in alert.centre_rows})
    matrix = Counter((row.centre.code, alert.state) for alert in everything for row in alert.centre_rows)
    by_state = Counter(alert.state for alert in everything)
    versions = {alert.id: authoring.get_version(dbs, alert) for alert in items}
    return render_template("pages/alerts.html", alerts=items, total=total, state=state, states=STATES,
                           centres=centres, matrix=matrix, by_state=by_state, versions=versions)


def _render_edit(alert, version, values, status=200, conflict=None):
    form = AlertForm(formdata=None, data={**values, "base_version": str(version.number)})
    languages = authoring.required_languages([row.centre for row in alert.centre_rows])
    statuses = {(t.language, t.field): t.status for t in version.texts}
    return render_template("pages/edit.html", alert=alert, version=version, form=form, values=values,
                           boundaries_url=boundaries_url(),
                           languages=languages, text_fields=TEXT_FIELDS, statuses=statuses, conflict=conflict,
                           **preview_context(alert, preview_content(version, values))), status


@bp.route("/alerts/<int:alert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "edit")
    current = authoring.get_version(dbs, alert)
    if request.method == "GET":
        return _render_edit(alert, current, form_values(current))
    try:
        base_number = base_version()
        if base_number is None:
            raise ValueError("no base version")
        base = authoring.get_version(dbs, alert, base_number)
    except (ValueError, DomainError):
        flash(_("The form did not say which version you edited; reload the page."), "error")
        return redirect(url_for("pages.edit", alert_id=alert_id))
    submitted = submitted_values(base)
    try:
        with operation():
            changes = form_changes(submitted, form_values(base), base, _centre_language())
            authoring.edit_alert(dbs, g.user, alert_id, base_number, changes, request.form.get("summary", ""))
    except StaleVersion as error:
        alert = authoring.get_alert(dbs, g.user, alert_id, "edit")
        current = authoring.get_version(dbs, alert)
        mine = {k: v for k, v in submitted.items() if v != (form_values(base).get(k) or "").strip()}
        values = {**form_values(current), **mine}
        flash(for_page(error.detail), "error")
        return _render_edit(alert, current, values, 409, conflict=error.extra)
    except DomainError as error:
        flash(for_page(error.detail), "error")
        return _render_edit(alert, base, submitted, error.status)
    flash(_("Saved as a new version."), "ok")
    return redirect(url_for("pages.detail", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/preview")
@login_required
def preview(alert_id):
    """The live preview of the edit form's unsaved texts (an HTML fragment for static/app.js)."""
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "history")
    base = authoring.get_version(dbs, alert, base_version())
    content = preview_content(base, submitted_values(base))
    return render_template("pages/_preview.html", **preview_context(alert, content))


def _place_choices() -> list[tuple[str, list]]:
    """The gazetteer grouped by country, each place named in the interface language."""
    language = select_locale()
    groups: dict[str, list] = {}
    for place in PLACES.values():
        groups.setdefault(place.country, []).append((place.code, place_name(place.code, language), place.kind))
    return [(country, sorted(rows, key=lambda row: (row[2] != "country", row[1]))) for country, rows in
            sorted(groups.items())]


def _centre_language() -> str:
    """The language of the areas' descriptions: the first of the user's centre."""
    return g.user.centre.languages[0] if g.user.centre.languages else "en"


def _area_from_place(code: str, language: str) -> dict:
    return {"description": area_label(code, language), "place": code}


def _phrasebook_panel(hazard: str, places: list[str], centres: list[Centre]) -> dict[str, object]:
    languages = authoring.required_languages(centres)
    lead = centres[0]
    return {language: render_texts(hazard, language, places=places, onset=None, expires=None,
                                   timezone=lead.timezone, country=lead.code.split("-")[0])
            for language in languages}


def _all_centres(dbs) -> list[Centre]:
    return list(dbs.scalars(select(Centre).order_by(Centre.code)))


@bp.route("/alerts/new", methods=["GET", "POST"])
@login_required
def new():
    form = AlertForm()
    dbs = db_session()
    centres = _all_centres(dbs)
    participants, places = _chosen_participants(), _chosen_places()
    if request.method == "GET" and not form.expires.data:
        form.expires.data = (utcnow() + timedelta(hours=12)).astimezone(user_timezone()).strftime("%Y-%m-%dT%H:%M")
    status = 200
    if request.method == "POST" and form.validate():
        try:
            lead_language = _centre_language()
            areas = [_area_from_place(code, lead_language) for code in places]
            areas += [{"description": line.strip()} for line in (form.areas.data or "").splitlines() if line.strip()]
            drawn = map_areas.parse_shapes(form.shapes.data or "")
            if drawn:
                areas = map_areas.with_drawn_area(areas, drawn, map_areas.drawn_name(form.shapes_name.data,
                                                                                     lead_language))
            data = {
                "hazard": form.hazard.data, "status": form.status.data, "urgency": form.urgency.data or None,
                "severity": form.severity.data or None, "certainty": form.certainty.data or None,
                "onset": parse_local(form.onset.data or "", "onset"),
                "expires": parse_local(form.expires.data or "", "expires"), "web": form.web.data or "",
                "participants": participants, "areas": areas,
            }
            with operation():
                alert = authoring.create_alert(dbs, g.user, data)
        except DomainError as error:
            flash(for_page(error.detail), "error")
            status = error.status
        else:
            flash(_("Alert created: the phrasebook wrote every language. Check and complete the texts."), "ok")
            return redirect(url_for("pages.edit", alert_id=alert.id))
    elif request.method == "POST":
        status = 400
    return _render_new(form, centres, participants, places), status


def _chosen_participants() -> list[str]:
    """The compose form's other centres taking part (its `participants` boxes, or a comma-separated list)."""
    return [c.strip().upper() for raw in request.values.getlist("participants") for c in raw.split(",") if c.strip()]


def _chosen_places() -> list[str]:
    return [code for code in request.values.getlist("places") if code in PLACES]


def _compose_reach(centres, participants, places, shapes) -> dict:
    """Who the area being composed concerns (web/pages/area_reach.py), with the border band of the settings."""
    return area_reach.compose_reach(centres, g.user.centre, participants, places, shapes or "",
                                    services().settings.border_band_km)


def _render_new(form, centres, participants, places):
    mine = g.user.centre
    chosen = [mine] + [c for c in centres if c.code in participants and c.code != mine.code]
    hazard = form.hazard.data if form.hazard.data in HAZARDS else next(iter(HAZARDS))
    return render_template("pages/new.html", form=form, centres=[c for c in centres if c.code != mine.code],
                           participants=participants, places=places, place_choices=_place_choices(),
                           boundaries_url=boundaries_url(),
                           hazards=HAZARDS, hazard=HAZARDS[hazard], instructions=INSTRUCTIONS,
                           panel=_phrasebook_panel(hazard, places, chosen),
                           **_compose_reach(centres, participants, places, form.shapes.data))


@bp.get("/alerts/new/phrasebook")
@login_required
def phrasebook_panel():
    """What the phrasebook writes for a hazard and places, in every language of the chosen centres."""
    dbs = db_session()
    codes = _chosen_participants()
    centres = [g.user.centre] + [c for c in _all_centres(dbs) if c.code in codes and c.code != g.user.centre.code]
    hazard = request.args.get("hazard") if request.args.get("hazard") in HAZARDS else next(iter(HAZARDS))
    return render_template("pages/_phrasebook.html", panel=_phrasebook_panel(hazard, _chosen_places(), centres))


@bp.post("/alerts/new/jurisdictions")
@login_required
def jurisdictions_panel():
    """Who the area being composed concerns: the compose form's places, shapes and centres as an HTML fragment for
    static/jurisdictions.js."""
    return render_template("pages/_jurisdictions_panel.html",
                           **_compose_reach(_all_centres(db_session()), _chosen_participants(), _chosen_places(),
                                            request.form.get("shapes", "")))


@bp.get("/alerts/<int:alert_id>")
@login_required
def detail(alert_id):
    dbs = db_session()
    alert, version, content = current_alert(dbs, alert_id)
    history = authoring.access.can(g.user, "history", alert)
    comment_form = CommentForm()
    comment_form.field.choices = {"": _("the whole alert")} | {
        f"texts.{lang}.{field}": field_label(f"texts.{lang}.{field}") for lang in content["texts"]
        for field in content["texts"][lang]
    }
    planned = release_of(dbs, alert)
    problems = review.readiness(alert, version, TextLimits.from_settings(services().settings)) \
        if alert.state == "draft" else []
    return render_template(
        "pages/alert.html", alert=alert, version=version, content=content, outside=review.outside_centres(problems),
        versions=authoring.list_versions(dbs, alert) if history else [],
        comments=authoring.list_comments(dbs, alert) if history else [],
        comment_form=comment_form, invite_form=InviteForm(data={"base_version": str(version.number)}),
        can=lambda action: authoring.access.can(g.user, action, alert),
        problems=problems,
        approvals=review.approval_state(dbs, alert, version), planned=planned, reach=_reach(dbs, alert),
        cancel=updates.prepared_cancel(dbs, alert), source=dbs.get(Alert, alert.source_alert_id)
        if alert.source_alert_id else None,
    )


def _reach(dbs, alert) -> dict | None:
    """Who the area concerns, while centres can still be invited (alerts.jurisdictions); None for an area stored
    before polygons were checked (readiness names it)."""
    if alert.state not in ("draft", "in_review", "approved"):
        return None
    try:
        return jurisdictions.of_alert(dbs, g.user, alert.id, services().settings.border_band_km)
    except DomainError:
        return None


@bp.post("/alerts/<int:alert_id>/comments")
@login_required
def comment(alert_id):
    form = CommentForm()
    return perform(lambda session: authoring.add_comment(session, g.user, alert_id, form.body.data or "",
                                                         form.field.data or None),
                   _("Comment added."), url_for("pages.detail", alert_id=alert_id) + "#comments")


@bp.post("/alerts/<int:alert_id>/invite")
@login_required
def invite(alert_id):
    form = InviteForm()
    code = (form.centre.data or "").strip().upper()
    return perform(lambda session: authoring.invite_centre(session, g.user, alert_id,
                                                           version_number(form.base_version.data) or None, code),
                   _("%(centre)s invited; its languages are now required.", centre=code),
                   url_for("pages.detail", alert_id=alert_id))


@bp.get("/alerts/<int:alert_id>/diff")
@login_required
def diff(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "history")
    old, new_ = version_number(request.args.get("from")), version_number(request.args.get("to"))
    if old is None or new_ is None:
        flash(_("Choose two versions to compare."), "error")
        return redirect(url_for("pages.detail", alert_id=alert_id))
    changes = authoring.diff_versions(dbs, alert, old, new_)
    return render_template("pages/diff.html", alert=alert, old=old, new=new_, changes=changes)
