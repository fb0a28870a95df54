"""Server-rendered pages for communicators, spokespersons and partner centres.

Each view parses the form, calls one domain operation (the same verbs as web/api) and renders
or redirects. No inline scripts or styles (the CSP forbids them); static/app.js only enhances: live
preview while editing, polling of the delivery dashboard, the phrasebook panel of a new alert.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import Babel, Domain
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import exists, or_, select
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from alerts import accounts, authoring, exchange, release, review, updates
from alerts.content import canonical_content
from alerts.errors import DomainError, StaleVersion
from alerts.gazetteer import PLACES, place_name
from alerts.models import TEXT_FIELDS, Alert, AlertCentre, Centre, Delivery, Release, utcnow
from alerts.phrasebook import HAZARDS, INSTRUCTIONS, PARTIAL_CATALOGS, render_texts, translations_for
from alerts.rendering import CHANNEL_LABELS, channel_problems, render_version
from alerts.vocabulary import CERTAINTIES, COMMON_LANGUAGE, LANGUAGES, SEVERITIES, STATUSES, URGENCIES
from alerts.workflow import STATES
from channels.specs import PUBLIC_CHANNELS, TextLimits
from web import MAX_ID, db_session, services
from web.auth import client_address, login_required

bp = Blueprint("pages", __name__)
SCALARS = ("status", "hazard", "urgency", "severity", "certainty", "onset", "expires", "web", "areas")
# the pages speak the languages whose catalogs are complete, English first (it answers a browser that asks for none)
UI_LANGUAGES = (COMMON_LANGUAGE, *(code for code in LANGUAGES
                                   if code != COMMON_LANGUAGE and code not in PARTIAL_CATALOGS))
LANGUAGE_COOKIE = "benelert_lang"


# ---- interface language: user setting -> cookie -> Accept-Language ------------------------------------

def select_locale() -> str:
    user = g.get("user")
    chosen = getattr(user, "language", None)  # no such user setting yet: accounts owns the User model
    if chosen in UI_LANGUAGES:
        return chosen
    if request.cookies.get(LANGUAGE_COOKIE) in UI_LANGUAGES:
        return request.cookies[LANGUAGE_COOKIE]
    return request.accept_languages.best_match(UI_LANGUAGES) or "en"


@lru_cache(maxsize=8)
def _catalog(language: str):
    return translations_for(language)  # compiles the .po in memory when its .mo is missing or older


class CatalogDomain(Domain):
    """Flask-Babel's domain over the project's catalogs, read the way the phrasebook reads them."""

    def get_translations(self):
        try:
            language = str(select_locale())
        except RuntimeError:  # outside a request
            language = "en"
        return _catalog(language if language in UI_LANGUAGES else "en")


def init_babel(app) -> Babel:
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = CatalogDomain()
    return babel


def _babel_locale() -> Locale:
    language = select_locale()
    user = g.get("user")
    country = user.centre.code.split("-")[0] if user else ""
    try:
        return Locale.parse(f"{language}_{country}") if country else Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language)


@bp.app_template_filter("local")
def local_time(value: datetime | str | None, pattern: str = "medium") -> str:
    """A UTC moment in the user's centre time zone and interface locale."""
    if not value:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    zone = ZoneInfo(g.user.centre.timezone) if g.get("user") else ZoneInfo("UTC")
    return format_datetime(value, pattern, tzinfo=zone, locale=_babel_locale())


@bp.app_context_processor
def page_globals():
    return {"ui_language": select_locale(), "ui_languages": {"en": "English", "nl": "Nederlands",
                                                            "fr": "Français", "de": "Deutsch"},
            "state_label": state_label, "channel_name": channel_name, "hazard_name": hazard_name}


def hazard_name(code: str) -> str:
    """The hazard's name in the interface language (the phrasebook's own msgid)."""
    return _(HAZARDS[code].event) if code in HAZARDS else code


def state_label(state: str) -> str:
    return {"draft": _("draft"), "in_review": _("in review"), "approved": _("approved"),
            "scheduled": _("scheduled"), "releasing": _("releasing"), "released": _("released"),
            "expired": _("expired"), "cancelled": _("cancelled"),
            "failed": _("failed: not sent")}.get(state, state)


def channel_name(name: str) -> str:
    return {"sms": _("SMS"), "x": "X", "mastodon": "Mastodon", "national": _("National alert system (CAP)"),
            "partners": _("Partner centres (CAP webhooks)"), "cell_broadcast": _("Cell broadcast"),
            "cap": "CAP"}.get(name, name)


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


# ---- forms ------------------------------------------------------------------------------------------

class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(max=4000)])
    field = SelectField("On", choices={}, validate_choice=False)


class InviteForm(FlaskForm):
    centre = StringField("Centre code", validators=[DataRequired(), Length(max=16)])
    base_version = HiddenField()


class AlertForm(FlaskForm):
    """Scalar fields; the texts per language are read from `text-<lang>-<field>` inputs, the centres from
    `participants` checkboxes and the gazetteer places from the `places` list."""

    base_version = HiddenField()
    hazard = SelectField("Hazard", choices={})
    status = SelectField("Mode", choices={s: s for s in STATUSES})
    urgency = SelectField("Urgency", choices={"": "—"} | {s: s for s in URGENCIES})
    severity = SelectField("Severity", choices={"": "—"} | {s: s for s in SEVERITIES})
    certainty = SelectField("Certainty", choices={"": "—"} | {s: s for s in CERTAINTIES})
    onset = StringField("Onset", render_kw={"type": "datetime-local"})
    expires = StringField("Expires", render_kw={"type": "datetime-local"})
    web = StringField("Web page", validators=[Length(max=300)])
    areas = TextAreaField("Areas")
    summary = StringField("Summary", validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hazard.choices = {code: hazard_name(code) for code in HAZARDS}


# ---- plumbing ---------------------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(g.user.centre.timezone)


def _local(value: datetime | None) -> str:
    return value.astimezone(_tz()).strftime("%Y-%m-%dT%H:%M") if value else ""


def _parse_local(raw: str, field: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=_tz())
    except ValueError:
        raise DomainError(_("%(field)s is not a valid date and time.", field=field)) from None


def _number(raw: str | None) -> int | None:
    """A version number from a form or query: None unless a whole number a version can have."""
    try:
        number = int(raw or "")
    except ValueError:
        return None
    return number if 0 <= number <= MAX_ID else None


def _base_version() -> int | None:
    return _number(request.form.get("base_version"))


def _fail(error: DomainError) -> None:
    db_session().rollback()
    if error.status == 404:
        abort(404)
    flash(error.detail, "error")


def _options() -> release.ReleaseOptions:
    return release.ReleaseOptions.from_settings(services().settings)


def _release_of(dbs, alert: Alert) -> Release | None:
    return dbs.scalar(select(Release).where(Release.alert_id == alert.id))


# ---- login ------------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        settings = services().settings
        dbs = db_session()
        try:
            result = accounts.login(dbs, services().throttle, username=form.username.data,
                                    password=form.password.data, address=client_address(),
                                    lifetime=timedelta(hours=settings.session_hours))
            dbs.commit()
        except DomainError as error:
            dbs.commit()  # keep the audit record of the failed attempt
            flash(error.detail, "error")
            status = error.status
        else:
            session.clear()  # a fresh session (and CSRF token) at every login
            session.permanent = True
            session["sid"] = result.session_token
            return redirect(local_target(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("pages/login.html", form=form), status


@bp.post("/logout")
def logout():
    dbs = db_session()
    accounts.logout(dbs, session.get("sid"))
    dbs.commit()
    session.clear()
    return redirect(url_for("pages.login"))


@bp.get("/")
def index():
    return redirect(url_for("pages.alerts"))


# ---- dashboard --------------------------------------------------------------------------------------

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


# ---- composing and editing --------------------------------------------------------------------------

def _form_values(version) -> dict[str, str]:
    """A version as the flat string values the form shows."""
    content = canonical_content(version)
    values = {key: content[key] for key in ("status", "hazard", "urgency", "severity", "certainty", "web")}
    values["onset"], values["expires"] = _local(version.onset), _local(version.expires)
    values["areas"] = "\n".join(area["description"] for area in content["areas"])
    for language, fields in content["texts"].items():
        for field, text in fields.items():
            values[f"text-{language}-{field}"] = text["body"]
    return values


def _plain(text: str | None) -> str:
    """A text as the form compares it: browsers send line breaks as CRLF, API clients may have stored CR."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _submitted(version) -> dict[str, str]:
    """The fields the form sent. A field it did not send (a language it does not show) is not a change."""
    keys = list(SCALARS) + [f"text-{t.language}-{t.field}" for t in version.texts]
    keys += [f"reviewed-{t.language}-{t.field}" for t in version.texts if t.status == "stale"]
    return {key: _plain(request.form[key]) for key in keys if key in request.form}


def _changes(submitted: dict[str, str], base_values: dict[str, str], base) -> dict:
    """Only what the person changed relative to the version they started from."""
    changed = {k for k, v in submitted.items() if v != _plain(base_values.get(k))}
    changes: dict = {}
    for key in changed & {"status", "hazard", "urgency", "severity", "certainty", "web"}:
        changes[key] = submitted[key]
    for key in changed & {"onset", "expires"}:
        changes[key] = _parse_local(submitted[key], key)
    if "areas" in changed:
        old = {a.description: a for a in base.areas}
        changes["areas"] = [
            {"description": line.strip(), "place": old[line.strip()].place if line.strip() in old else None,
             "polygons": old[line.strip()].polygons if line.strip() in old else [],
             "geocodes": old[line.strip()].geocodes if line.strip() in old else []}
            for line in submitted["areas"].splitlines() if line.strip()
        ]
    for key in sorted(k for k in changed if k.startswith("text-")):
        _, language, field = key.split("-", 2)
        changes.setdefault("texts", {}).setdefault(language, {})[field] = submitted[key]
    for key in sorted(k for k in submitted if k.startswith("reviewed-")):
        _, language, field = key.split("-", 2)
        if f"text-{language}-{field}" not in changed:  # a translator confirms the stale text as it stands
            body = base_values.get(f"text-{language}-{field}", "")
            changes.setdefault("texts", {}).setdefault(language, {})[field] = {"body": body, "reviewed": True}
    return changes


def _preview_content(version, submitted: dict[str, str] | None) -> dict:
    """The version's content with the form's unsaved texts laid over it, for the live preview."""
    content = canonical_content(version)
    if submitted:
        if submitted.get("status") in STATUSES:
            content["status"] = submitted["status"]
        content["web"] = submitted.get("web", content["web"])
        for language, fields in content["texts"].items():
            for field, text in fields.items():
                body = submitted.get(f"text-{language}-{field}")
                if body is not None and body != text["body"]:
                    fields[field] = {"body": body, "status": "human" if body else "missing"}
    return content


def _renderings(content: dict) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for rendering in render_version(content, TextLimits.from_settings(services().settings)):
        grouped.setdefault(rendering.language, []).append(rendering)
    return grouped


def _render_edit(alert, version, values, status=200, conflict=None):
    form = AlertForm(formdata=None, data={**values, "base_version": str(version.number)})
    languages = authoring.required_languages([row.centre for row in alert.centre_rows])
    statuses = {(t.language, t.field): t.status for t in version.texts}
    preview = _renderings(_preview_content(version, values))
    return render_template("pages/edit.html", alert=alert, version=version, form=form, values=values,
                           languages=languages, text_fields=TEXT_FIELDS, statuses=statuses,
                           conflict=conflict, preview=preview, channel_labels=CHANNEL_LABELS), status


@bp.route("/alerts/<int:alert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "edit")
    current = authoring.get_version(dbs, alert)
    if request.method == "GET":
        return _render_edit(alert, current, _form_values(current))
    try:
        base_number = _base_version()
        if base_number is None:
            raise ValueError("no base version")
        base = authoring.get_version(dbs, alert, base_number)
    except (ValueError, DomainError):
        flash(_("The form did not say which version you edited; reload the page."), "error")
        return redirect(url_for("pages.edit", alert_id=alert_id))
    submitted = _submitted(base)
    try:
        changes = _changes(submitted, _form_values(base), base)
        authoring.edit_alert(dbs, g.user, alert_id, base_number, changes, request.form.get("summary", ""))
        dbs.commit()
    except StaleVersion as error:
        dbs.rollback()
        alert = authoring.get_alert(dbs, g.user, alert_id, "edit")
        current = authoring.get_version(dbs, alert)
        mine = {k: v for k, v in submitted.items() if v != (_form_values(base).get(k) or "").strip()}
        values = {**_form_values(current), **mine}
        flash(error.detail, "error")
        return _render_edit(alert, current, values, 409, conflict=error.extra)
    except DomainError as error:
        dbs.rollback()
        flash(error.detail, "error")
        return _render_edit(alert, base, submitted, error.status)
    flash(_("Saved as a new version."), "ok")
    return redirect(url_for("pages.detail", alert_id=alert_id))


@bp.post("/alerts/<int:alert_id>/preview")
@login_required
def preview(alert_id):
    """The live preview of the edit form's unsaved texts (an HTML fragment for static/app.js)."""
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "history")
    base = authoring.get_version(dbs, alert, _base_version())
    content = _preview_content(base, _submitted(base))
    return render_template("pages/_preview.html", preview=_renderings(content), channel_labels=CHANNEL_LABELS)


def _place_choices() -> list[tuple[str, list]]:
    """The gazetteer grouped by country, each place named in the interface language."""
    language = select_locale()
    groups: dict[str, list] = {}
    for place in PLACES.values():
        groups.setdefault(place.country, []).append((place.code, place_name(place.code, language), place.kind))
    return [(country, sorted(rows, key=lambda row: (row[2] != "country", row[1]))) for country, rows in
            sorted(groups.items())]


def _area_from_place(code: str, language: str) -> dict:
    place = PLACES[code]
    name = place_name(code, language)
    return {"description": name if place.kind == "country" else f"{name} ({place.country})", "place": code}


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
    participants = [c.strip().upper() for raw in request.values.getlist("participants") for c in raw.split(",")
                    if c.strip()]
    places = [code for code in request.values.getlist("places") if code in PLACES]
    if request.method == "GET" and not form.expires.data:
        form.expires.data = (utcnow() + timedelta(hours=12)).astimezone(_tz()).strftime("%Y-%m-%dT%H:%M")
    status = 200
    if request.method == "POST" and form.validate():
        try:
            lead_language = g.user.centre.languages[0] if g.user.centre.languages else "en"
            areas = [_area_from_place(code, lead_language) for code in places]
            areas += [{"description": line.strip()} for line in (form.areas.data or "").splitlines() if line.strip()]
            data = {
                "hazard": form.hazard.data, "status": form.status.data, "urgency": form.urgency.data or None,
                "severity": form.severity.data or None, "certainty": form.certainty.data or None,
                "onset": _parse_local(form.onset.data or "", "onset"),
                "expires": _parse_local(form.expires.data or "", "expires"), "web": form.web.data or "",
                "participants": participants, "areas": areas,
            }
            alert = authoring.create_alert(dbs, g.user, data)
            dbs.commit()
        except DomainError as error:
            dbs.rollback()
            flash(error.detail, "error")
            status = error.status
        else:
            flash(_("Alert created: the phrasebook wrote every language. Check and complete the texts."), "ok")
            return redirect(url_for("pages.edit", alert_id=alert.id))
    elif request.method == "POST":
        status = 400
    return _render_new(form, centres, participants, places), status


def _render_new(form, centres, participants, places):
    mine = g.user.centre
    chosen = [mine] + [c for c in centres if c.code in participants and c.code != mine.code]
    hazard = form.hazard.data if form.hazard.data in HAZARDS else next(iter(HAZARDS))
    return render_template("pages/new.html", form=form, centres=[c for c in centres if c.code != mine.code],
                           participants=participants, places=places, place_choices=_place_choices(),
                           hazards=HAZARDS, hazard=HAZARDS[hazard], instructions=INSTRUCTIONS,
                           panel=_phrasebook_panel(hazard, places, chosen))


@bp.get("/alerts/new/phrasebook")
@login_required
def phrasebook_panel():
    """What the phrasebook writes for a hazard and places, in every language of the chosen centres."""
    dbs = db_session()
    codes = [c.strip().upper() for raw in request.args.getlist("participants") for c in raw.split(",") if c.strip()]
    centres = [g.user.centre] + [c for c in _all_centres(dbs) if c.code in codes and c.code != g.user.centre.code]
    hazard = request.args.get("hazard") if request.args.get("hazard") in HAZARDS else next(iter(HAZARDS))
    places = [code for code in request.args.getlist("places") if code in PLACES]
    return render_template("pages/_phrasebook.html", panel=_phrasebook_panel(hazard, places, centres))


# ---- detail, comments, invitations, diff --------------------------------------------------------------

def _current(dbs, alert_id: int):
    """The alert (when the user may read it), its current version and that version's content."""
    alert = authoring.get_alert(dbs, g.user, alert_id, "read")
    version = authoring.get_version(dbs, alert)
    return alert, version, canonical_content(version)


@bp.get("/alerts/<int:alert_id>")
@login_required
def detail(alert_id):
    dbs = db_session()
    alert, version, content = _current(dbs, alert_id)
    history = authoring.access.can(g.user, "history", alert)
    comment_form = CommentForm()
    comment_form.field.choices = {"": _("the whole alert")} | {
        f"texts.{lang}.{field}": f"{lang} {field}" for lang in content["texts"] for field in content["texts"][lang]
    }
    planned = _release_of(dbs, alert)
    return render_template(
        "pages/alert.html", alert=alert, version=version, content=content,
        versions=authoring.list_versions(dbs, alert) if history else [],
        comments=authoring.list_comments(dbs, alert) if history else [],
        comment_form=comment_form, invite_form=InviteForm(data={"base_version": str(version.number)}),
        can=lambda action: authoring.access.can(g.user, action, alert),
        problems=review.readiness(alert, version) if alert.state == "draft" else [],
        approvals=review.approval_state(dbs, alert, version), planned=planned,
        cancel=updates.prepared_cancel(dbs, alert), source=dbs.get(Alert, alert.source_alert_id)
        if alert.source_alert_id else None,
    )


@bp.post("/alerts/<int:alert_id>/comments")
@login_required
def comment(alert_id):
    form = CommentForm()
    dbs = db_session()
    try:
        authoring.add_comment(dbs, g.user, alert_id, form.body.data or "", form.field.data or None)
        dbs.commit()
        flash(_("Comment added."), "ok")
    except DomainError as error:
        _fail(error)
    return redirect(url_for("pages.detail", alert_id=alert_id) + "#comments")


@bp.post("/alerts/<int:alert_id>/invite")
@login_required
def invite(alert_id):
    form = InviteForm()
    dbs = db_session()
    code = (form.centre.data or "").strip().upper()
    try:
        authoring.invite_centre(dbs, g.user, alert_id, _number(form.base_version.data) or None, code)
        dbs.commit()
        flash(_("%(centre)s invited; its languages are now required.", centre=code), "ok")
    except DomainError as error:
        _fail(error)
    return redirect(url_for("pages.detail", alert_id=alert_id))


@bp.get("/alerts/<int:alert_id>/diff")
@login_required
def diff(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "history")
    old, new_ = _number(request.args.get("from")), _number(request.args.get("to"))
    if old is None or new_ is None:
        flash(_("Choose two versions to compare."), "error")
        return redirect(url_for("pages.detail", alert_id=alert_id))
    changes = authoring.diff_versions(dbs, alert, old, new_)
    return render_template("pages/diff.html", alert=alert, old=old, new=new_, changes=changes)


@bp.post("/alerts/<int:alert_id>/submit")
@login_required
def submit(alert_id):
    dbs = db_session()
    try:
        review.submit_alert(dbs, g.user, alert_id, _base_version())
        dbs.commit()
        flash(_("Submitted: the spokespersons of every centre can now review it."), "ok")
    except DomainError as error:
        _fail(error)
    return redirect(url_for("pages.detail", alert_id=alert_id))


# ---- spokespersons: review, decide, release, cancel ---------------------------------------------------

def _configured_channels(alert: Alert) -> dict[str, list[str]]:
    return {row.centre.code: release.configured_channels(row.centre) + ["partners"]
            for row in sorted(alert.centre_rows, key=lambda r: r.role != "lead")}


def _channel_fits(alert: Alert, content: dict) -> dict[str, list[str]]:
    """Per channel, what the release would refuse (rendering.channel_problems: the same rule, the same languages)."""
    return channel_problems(content, release.sent_languages(alert, content), PUBLIC_CHANNELS,
                            TextLimits.from_settings(services().settings))


@bp.get("/alerts/<int:alert_id>/review")
@login_required
def review_page(alert_id):
    dbs = db_session()
    alert, version, content = _current(dbs, alert_id)
    channels = _configured_channels(alert)
    confirmation = release.confirmation(dbs, alert, content, channels, utcnow())
    decisions = review.decisions(dbs, alert, version)
    return render_template("pages/review.html", alert=alert, version=version, content=content,
                           confirmation=confirmation, renderings=_renderings(content),
                           channel_labels=CHANNEL_LABELS, approvals=review.approval_state(dbs, alert, version),
                           decisions=decisions, fits=_channel_fits(alert, content), channels=channels,
                           planned=_release_of(dbs, alert), cancel=updates.prepared_cancel(dbs, alert),
                           place_label=lambda code: place_name(code, select_locale()) if code in PLACES else code)


@bp.post("/alerts/<int:alert_id>/decision")
@login_required
def decide(alert_id):
    dbs = db_session()
    decision = request.form.get("decision", "")
    try:
        review.decide(dbs, g.user, alert_id, _base_version(), request.form.get("content_hash"), decision,
                      request.form.get("reason", ""))
        dbs.commit()
        flash(_("Approved for %(centre)s.", centre=g.user.centre.code) if decision == "approve"
              else _("Rejected for %(centre)s; the alert is back in draft.", centre=g.user.centre.code), "ok")
    except DomainError as error:
        _fail(error)
    return redirect(url_for("pages.review_page", alert_id=alert_id))


@bp.route("/alerts/<int:alert_id>/release", methods=["GET", "POST"])
@login_required
def release_page(alert_id):
    dbs = db_session()
    alert, version, content = _current(dbs, alert_id)
    channels = _configured_channels(alert)
    fits = _channel_fits(alert, content)
    status = 200
    if request.method == "POST":
        chosen = {code: [n for n in request.form.getlist(f"channel-{code}") if n in names]
                  for code, names in channels.items()}
        chosen = {code: names for code, names in chosen.items() if names}
        try:
            at = None if request.form.get("when") != "at" else _parse_local(request.form.get("at", ""), "at")
            if request.form.get("when") == "at" and at is None:
                raise DomainError(_("Enter the local time of the release, or choose to release now."))
            planned = release.schedule_release(dbs, g.user, alert_id, _base_version(),
                                               request.form.get("content_hash"), chosen, at, _options())
            dbs.commit()
        except DomainError as error:
            _fail(error)
            status = error.status
        else:
            flash(_("Release scheduled for %(at)s.", at=local_time(planned.scheduled_for)), "ok")
            return redirect(url_for("pages.deliveries", alert_id=alert_id))
    confirmation = release.confirmation(dbs, alert, content, channels, utcnow())
    default_at = (utcnow() + timedelta(minutes=5)).astimezone(_tz()).strftime("%Y-%m-%dT%H:%M:%S")
    return render_template("pages/release.html", alert=alert, version=version, content=content, channels=channels,
                           fits=fits, confirmation=confirmation, default_at=default_at,
                           timezone=g.user.centre.timezone), status


@bp.post("/alerts/<int:alert_id>/derive")
@login_required
def derive(alert_id):
    """Start a Cancel or an Update of a released alert (a live alert has its Cancel prepared already)."""
    dbs = db_session()
    msg_type = request.form.get("msg_type", "")
    try:
        source = authoring.get_alert(dbs, g.user, alert_id, "edit", lock=True)
        existing = updates.prepared_cancel(dbs, source) if msg_type == "Cancel" else None
        if existing is not None:
            return redirect(url_for("pages.review_page", alert_id=existing.id))
        derived = updates.derive_alert(dbs, g.user, source, msg_type, _options().cap_sender_domain)
        dbs.commit()
    except DomainError as error:
        _fail(error)
        return redirect(url_for("pages.detail", alert_id=alert_id))
    flash(_("%(kind)s prepared: check it and submit it for approval.", kind=msg_type), "ok")
    return redirect(url_for("pages.detail", alert_id=derived.id))


# ---- release timeline and delivery dashboard ---------------------------------------------------------

def _chart(dbs, planned: Release) -> dict:
    """Cumulative deliveries (sent or delivered) per channel over the seconds after T, as SVG polylines."""
    rows = dbs.execute(select(Delivery.channel, Delivery.sent_at, Delivery.delivered_at)
                       .where(Delivery.release_id == planned.id)).all()
    start = planned.fired_at or planned.scheduled_for
    series: dict[str, list[float]] = {}
    for channel, sent_at, delivered_at in rows:
        moment = sent_at or delivered_at
        if moment is not None:
            series.setdefault(channel, []).append(max(0.0, (moment - start).total_seconds()))
    span = max([max(times) for times in series.values()] + [1.0])
    total = max([len(times) for times in series.values()] + [1])
    width, height, pad = 600, 200, 30
    colours = ("#0b5394", "#b00020", "#146c2e", "#7a4b00", "#5b2a86")
    lines = []
    for index, (channel, times) in enumerate(sorted(series.items())):
        points = [(pad, height - pad)]
        for count, moment in enumerate(sorted(times), start=1):
            x = pad + (width - 2 * pad) * moment / span
            y = height - pad - (height - 2 * pad) * count / total
            points += [(x, points[-1][1]), (x, y)]
        points.append((width - pad, points[-1][1]))
        lines.append({"channel": channel, "count": len(times), "colour": colours[index % len(colours)],
                      "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points)})
    return {"width": width, "height": height, "pad": pad, "span": span, "total": total, "lines": lines}


def _dashboard(alert_id: int) -> dict:
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "read")
    planned = _release_of(dbs, alert)
    if planned is None:
        abort(404)
    counts = release.delivery_counts(dbs, planned)
    lateness = dict(dbs.execute(
        select(Delivery.channel, Delivery.first_attempt_at).where(Delivery.release_id == planned.id,
                                                                   Delivery.first_attempt_at.is_not(None))
        .order_by(Delivery.first_attempt_at)).all())  # channel -> its last first attempt
    late = {channel: int((moment - planned.scheduled_for).total_seconds() * 1000)
            for channel, moment in lateness.items()}
    return {"alert": alert, "planned": planned, "counts": counts, "late": late,
            "skew": release.skew_ms(dbs, planned), "chart": _chart(dbs, planned),
            "states": ("pending", "sending", "sent", "delivered", "failed", "unknown"),
            "cancel": updates.prepared_cancel(dbs, alert), "now": utcnow()}


@bp.get("/alerts/<int:alert_id>/deliveries")
@login_required
def deliveries(alert_id):
    return render_template("pages/deliveries.html", **_dashboard(alert_id))


@bp.get("/alerts/<int:alert_id>/deliveries/live")
@login_required
def deliveries_live(alert_id):
    return render_template("pages/_deliveries.html", **_dashboard(alert_id))


# ---- partner centres: incoming warnings and acknowledgements -----------------------------------------

def _incoming(dbs, centre_id: int, code: str) -> list[tuple[Alert, Release]]:
    partner_copy = exists().where(Delivery.release_id == Release.id, Delivery.channel == "partners",
                                  Delivery.centre_code == code)
    takes_part = exists().where(AlertCentre.alert_id == Alert.id, AlertCentre.centre_id == centre_id)
    rows = dbs.execute(select(Alert, Release).join(Release, Release.alert_id == Alert.id)
                       .where(Release.fired_at.is_not(None), or_(partner_copy, takes_part))
                       .order_by(Release.fired_at.desc()).limit(200)).all()
    return [(alert, planned) for alert, planned in rows]


@bp.get("/incoming")
@login_required
def incoming():
    dbs = db_session()
    rows = _incoming(dbs, g.user.centre_id, g.user.centre.code)
    acked = {(ack["centre"], ack["kind"], alert.id) for alert, _planned in rows
             for ack in _ack_report(dbs, alert)["acks"]}
    return render_template("pages/incoming.html", rows=rows, acked=acked)


@bp.get("/incoming/<identifier>")
@login_required
def incoming_detail(identifier):
    dbs = db_session()
    alert, planned = exchange.shared_alert(dbs, g.user, identifier)
    version = authoring.get_version(dbs, alert, planned.version_number)
    return render_template("pages/incoming_alert.html", alert=alert, planned=planned, version=version,
                           content=canonical_content(version), report=_ack_report(dbs, alert))


def _ack_report(dbs, alert: Alert) -> dict:
    """The acks a page shows: all of them to a centre taking part, a receiving centre's own otherwise."""
    takes_part = any(row.centre_id == g.user.centre_id for row in alert.centre_rows)
    return exchange.ack_report(dbs, alert, None if takes_part else g.user.centre.code)


@bp.post("/incoming/<identifier>/ack")
@login_required
def acknowledge(identifier):
    dbs = db_session()
    kind = request.form.get("kind", "received")
    try:
        results = exchange.acknowledge(dbs, g.user, identifier, kind, via="page")
        dbs.commit()
        if any(result.created for result in results):
            flash(_("Acknowledged for %(centre)s.", centre=g.user.centre.code), "ok")
        else:
            flash(_("%(centre)s had already acknowledged this warning.", centre=g.user.centre.code), "ok")
    except DomainError as error:
        _fail(error)
    return redirect(url_for("pages.incoming_detail", identifier=identifier))
