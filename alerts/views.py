"""Plain server-rendered pages: login, alert list, detail with versions and comments, edit form."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from alerts import accounts, authoring
from alerts.content import canonical_content
from alerts.errors import DomainError, StaleVersion
from alerts.models import TEXT_FIELDS
from alerts.phrasebook import HAZARDS
from alerts.vocabulary import CERTAINTIES, SEVERITIES, STATUSES, URGENCIES
from web import db_session, services

bp = Blueprint("pages", __name__)
SCALARS = ("status", "hazard", "urgency", "severity", "certainty", "onset", "expires", "web", "areas")


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
    """Scalar fields; the texts per language are read from `text-<lang>-<field>` inputs."""

    base_version = HiddenField()
    participants = StringField("Other centres taking part (codes, comma separated)")
    hazard = SelectField("Hazard", choices={})
    status = SelectField("Mode", choices={s: s for s in STATUSES})
    urgency = SelectField("Urgency", choices={"": "the hazard's default"} | {s: s for s in URGENCIES})
    severity = SelectField("Severity", choices={"": "the hazard's default"} | {s: s for s in SEVERITIES})
    certainty = SelectField("Certainty", choices={"": "the hazard's default"} | {s: s for s in CERTAINTIES})
    onset = StringField("Onset (your centre's local time)", render_kw={"type": "datetime-local"})
    expires = StringField("Expires (your centre's local time)", render_kw={"type": "datetime-local"})
    web = StringField("Web page", validators=[Length(max=300)])
    areas = TextAreaField("Areas (one per line)")
    summary = StringField("What did you change?", validators=[Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hazard.choices = {code: code.replace("_", " ") for code in HAZARDS}


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


def _client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        settings = services().settings
        dbs = db_session()
        try:
            result = accounts.login(dbs, services().throttle, username=form.username.data,
                                    password=form.password.data, address=_client_address(),
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
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//")
                            else url_for("pages.alerts"))
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


@bp.get("/alerts")
@login_required
def alerts():
    state = request.args.get("state") or None
    items, total = authoring.list_alerts(db_session(), g.user, state=state, limit=200)
    return render_template("pages/alerts.html", alerts=items, total=total, state=state)


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
        raise DomainError(f"{field} is not a valid date and time.") from None


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


def _submitted(version) -> dict[str, str]:
    keys = list(SCALARS) + [f"text-{t.language}-{t.field}" for t in version.texts]
    return {key: (request.form.get(key) or "").replace("\r\n", "\n").strip() for key in keys}


def _changes(submitted: dict[str, str], base_values: dict[str, str], base) -> dict:
    """Only what the person changed relative to the version they started from."""
    changed = {k for k, v in submitted.items() if v != (base_values.get(k) or "").strip()}
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
    return changes


def _render_edit(alert, version, values, status=200, conflict=None):
    form = AlertForm(formdata=None, data={**values, "base_version": str(version.number)})
    languages = authoring.required_languages([row.centre for row in alert.centre_rows])
    statuses = {(t.language, t.field): t.status for t in version.texts}
    return render_template("pages/edit.html", alert=alert, version=version, form=form, values=values,
                           languages=languages, text_fields=TEXT_FIELDS, statuses=statuses,
                           conflict=conflict), status


@bp.route("/alerts/<int:alert_id>/edit", methods=["GET", "POST"])
@login_required
def edit(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "edit")
    current = authoring.get_version(dbs, alert)
    if request.method == "GET":
        return _render_edit(alert, current, _form_values(current))
    try:
        base_number = int(request.form.get("base_version", ""))
        base = authoring.get_version(dbs, alert, base_number)
    except (ValueError, DomainError):
        flash("The form did not say which version you edited; reload the page.", "error")
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
    flash("Saved as a new version.", "ok")
    return redirect(url_for("pages.detail", alert_id=alert_id))


@bp.route("/alerts/new", methods=["GET", "POST"])
@login_required
def new():
    form = AlertForm()
    if request.method == "POST" and form.validate():
        dbs = db_session()
        try:
            data = {
                "hazard": form.hazard.data, "status": form.status.data, "urgency": form.urgency.data or None,
                "severity": form.severity.data or None, "certainty": form.certainty.data or None,
                "onset": _parse_local(form.onset.data or "", "onset"),
                "expires": _parse_local(form.expires.data or "", "expires"), "web": form.web.data or "",
                "participants": [c.strip().upper() for c in (form.participants.data or "").split(",") if c.strip()],
                "areas": [{"description": line.strip()} for line in (form.areas.data or "").splitlines()
                          if line.strip()],
            }
            alert = authoring.create_alert(dbs, g.user, data)
            dbs.commit()
        except DomainError as error:
            dbs.rollback()
            flash(error.detail, "error")
            return render_template("pages/new.html", form=form), error.status
        flash("Alert created. Write the texts in every language.", "ok")
        return redirect(url_for("pages.edit", alert_id=alert.id))
    status = 400 if request.method == "POST" else 200
    return render_template("pages/new.html", form=form), status


@bp.get("/alerts/<int:alert_id>")
@login_required
def detail(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id)
    version = authoring.get_version(dbs, alert)
    history = authoring.access.can(g.user, "history", alert)
    comment_form = CommentForm()
    content = canonical_content(version)
    comment_form.field.choices = {"": "the whole alert"} | {
        f"texts.{lang}.{field}": f"{lang} {field}" for lang in content["texts"] for field in content["texts"][lang]
    }
    return render_template(
        "pages/alert.html", alert=alert, version=version, content=content,
        versions=authoring.list_versions(dbs, alert) if history else [],
        comments=authoring.list_comments(dbs, alert) if history else [],
        comment_form=comment_form, invite_form=InviteForm(data={"base_version": str(version.number)}),
        can=lambda action: authoring.access.can(g.user, action, alert),
    )


@bp.post("/alerts/<int:alert_id>/comments")
@login_required
def comment(alert_id):
    form = CommentForm()
    dbs = db_session()
    try:
        authoring.add_comment(dbs, g.user, alert_id, form.body.data or "", form.field.data or None)
        dbs.commit()
        flash("Comment added.", "ok")
    except DomainError as error:
        dbs.rollback()
        if error.status == 404:
            abort(404)
        flash(error.detail, "error")
    return redirect(url_for("pages.detail", alert_id=alert_id) + "#comments")


@bp.post("/alerts/<int:alert_id>/invite")
@login_required
def invite(alert_id):
    form = InviteForm()
    dbs = db_session()
    try:
        authoring.invite_centre(dbs, g.user, alert_id, int(form.base_version.data or 0) or None,
                                (form.centre.data or "").strip().upper())
        dbs.commit()
        flash(f"{form.centre.data.upper()} invited; its languages are now required.", "ok")
    except DomainError as error:
        dbs.rollback()
        if error.status == 404:
            abort(404)
        flash(error.detail, "error")
    return redirect(url_for("pages.detail", alert_id=alert_id))


@bp.get("/alerts/<int:alert_id>/diff")
@login_required
def diff(alert_id):
    dbs = db_session()
    alert = authoring.get_alert(dbs, g.user, alert_id, "history")
    try:
        old, new_ = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        flash("Choose two versions to compare.", "error")
        return redirect(url_for("pages.detail", alert_id=alert_id))
    changes = authoring.diff_versions(dbs, alert, old, new_)
    return render_template("pages/diff.html", alert=alert, old=old, new=new_, changes=changes)
