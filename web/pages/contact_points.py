"""The contact-point directory page: every centre's entries for every user; a centre's admins (and network
administrators) add, edit, verify and delete their centre's entries, and are told how many are stale."""
from __future__ import annotations

from babel import Locale
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from alerts import contact_points
from alerts.access import can_manage_centre, require_centre_admin
from alerts.contact_points import FIELDS, MAX_EMAIL, MAX_HOURS, MAX_NAME, MAX_NOTES, MAX_PHONE_INPUT
from alerts.errors import DomainError
from alerts.models import Centre, utcnow
from alerts.vocabulary import LANGUAGES
from web import db_session, for_page, operation
from web.api.contact_points import download
from web.auth import login_required
from web.i18n import for_reader, select_locale
from web.pages import bp
from web.pages.common import perform
from web.pages.forms import Choice, at_most

FORM_FIELDS = ("field", "name", "function", "phone", "email", "languages", "hours", "notes")


class Checkboxes(SelectMultipleField):
    """Several choices as checkboxes; the domain checks the values (its refusal is translated)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ContactPointForm(FlaskForm):
    centre = Choice(N_("Centre"), choices={})
    field = Choice(N_("Field of work"), choices={})
    name = StringField(N_("Name"), validators=[at_most(MAX_NAME)])
    function = StringField(N_("Function"), validators=[at_most(MAX_NAME)])
    phone = StringField(N_("Phone"), validators=[at_most(MAX_PHONE_INPUT)], render_kw={"type": "tel"})
    email = StringField(N_("E-mail"), validators=[at_most(MAX_EMAIL)], render_kw={"type": "email"})
    languages = Checkboxes(N_("Languages spoken"), choices=[], validate_choice=False)
    hours = StringField(N_("Hours"), validators=[at_most(MAX_HOURS)])
    notes = TextAreaField(N_("Notes"), validators=[at_most(MAX_NOTES)])
    verified = BooleanField(N_("I have checked this entry: mark it as verified now"))

    def __init__(self, centres: list[Centre], *args, **kwargs):
        super().__init__(*args, **kwargs)
        language = select_locale()
        self.centre.choices = {centre.code: f"{centre.code} · {centre.name(language)}" for centre in centres}
        self.field.choices = field_choices()
        names = Locale.parse(language).languages
        self.languages.choices = [(code, names.get(code, code)) for code in LANGUAGES]

    def values(self) -> dict:
        return {name: self[name].data for name in FORM_FIELDS} | {"verified": bool(self.verified.data)}


def field_choices() -> dict[str, str]:
    return {code: for_reader(label) for code, label in FIELDS.items()}


def manageable_centres(dbs) -> list[Centre]:
    return [centre for centre in dbs.scalars(select(Centre).order_by(Centre.code))
            if can_manage_centre(g.user, centre.id)]


def refused(form: ContactPointForm, error: DomainError) -> int:
    """The domain's refusal above the form, naming the field it is about."""
    field = error.extra.get("field")
    label = form[field].label.text if field in form else None
    message = for_page(error.detail)
    flash(_("%(label)s: %(value)s", label=label, value=message) if label else message, "error")
    return error.status


def directory_url(point=None) -> str:
    return url_for("pages.contact_points") + (f"#contact-point-{point.id}" if point else "")


@bp.get("/contact-points", endpoint="contact_points")
@login_required
def contact_points_page():
    dbs = db_session()
    field = request.args.get("field") or None
    field = field if field in FIELDS else None
    now = utcnow()
    groups: dict[str, dict] = {}
    for point in contact_points.listing(dbs, g.user, field=field, now=now):
        group = groups.setdefault(point.centre.code, {"centre": point.centre, "entries": []})
        group["entries"].append(contact_points.describe(point, g.user, now))
    for centre in manageable_centres(dbs):  # a centre's admins see their centre even before its first entry
        groups.setdefault(centre.code, {"centre": centre, "entries": []})
    for group in groups.values():
        group["manageable"] = can_manage_centre(g.user, group["centre"].id)
        group["stale"] = sum(entry["stale"] for entry in group["entries"])
    own_stale = (contact_points.stale_count(dbs, g.user.centre_id, now)
                 if can_manage_centre(g.user, g.user.centre_id) else 0)
    return render_template("pages/contact_points.html", groups=[groups[code] for code in sorted(groups)],
                           field=field, fields=field_choices(), own_stale=own_stale)


@bp.get("/contact-points/export.<any(csv, vcf):kind>")
@login_required
def contact_points_export(kind):
    field = request.args.get("field")
    points = contact_points.listing(db_session(), g.user, field=field if field in FIELDS else None)
    return download(kind, [contact_points.describe(point, g.user) for point in points], for_reader, select_locale())


def _saved_or_form(form, point, save):
    """A posted form saved by `save(session)` (one operation), then back to the directory; else the form again,
    with the refusal (422) or the form's own errors (400)."""
    status = 200
    if request.method == "POST" and form.validate():
        try:
            with operation() as session:
                saved = save(session)
        except DomainError as error:
            status = refused(form, error)
        else:
            flash(_("Contact point saved."), "ok")
            return redirect(directory_url(saved))
    elif request.method == "POST":
        status = 400
    return render_template("pages/contact_point_form.html", form=form, point=point), status


@bp.route("/contact-points/new", methods=["GET", "POST"])
@login_required
def new_contact_point():
    dbs = db_session()
    centres = manageable_centres(dbs)
    if not centres:
        require_centre_admin(g.user, g.user.centre_id)  # refuses: the error page says who may
    form = ContactPointForm(centres)
    if request.method == "GET":
        form.centre.data = request.args.get("centre") or g.user.centre.code
        form.languages.data = [code for code in LANGUAGES if code in g.user.centre.languages]
    return _saved_or_form(form, None, lambda session: contact_points.create(
        session, g.user, {"centre": form.centre.data, **form.values()}))


@bp.route("/contact-points/<int:point_id>/edit", methods=["GET", "POST"])
@login_required
def edit_contact_point(point_id):
    dbs = db_session()
    point = contact_points.get(dbs, point_id)
    require_centre_admin(g.user, point.centre_id)
    form = ContactPointForm([point.centre], obj=point if request.method == "GET" else None)
    form.centre.data = point.centre.code  # shown, not sent: an entry stays with its centre
    return _saved_or_form(form, point, lambda session: contact_points.update(session, g.user, point_id,
                                                                              form.values()))


@bp.post("/contact-points/<int:point_id>/verification")
@login_required
def verify_contact_point(point_id):
    return perform(lambda session: contact_points.verify(session, g.user, point_id),
                   _("Marked as verified: the entry is not stale for another three months."),
                   url_for("pages.contact_points") + f"#contact-point-{point_id}")


@bp.post("/contact-points/<int:point_id>/delete")
@login_required
def delete_contact_point(point_id):
    return perform(lambda session: contact_points.delete(session, g.user, point_id),
                   _("Contact point deleted."), url_for("pages.contact_points"))
