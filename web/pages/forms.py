"""The pages' forms (WTForms) and how an edit form becomes the changes of one edit: only the fields it sent,
line breaks compared as a browser sends them."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as N_  # N_: a keyword pybabel extracts by default
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from alerts.content import canonical_content
from alerts.hazards import HAZARDS
from alerts.vocabulary import STATUSES
from web.i18n import cap_choices, hazard_name
from web.pages import map_areas
from web.pages.common import local_input, parse_local

SCALARS = ("status", "hazard", "urgency", "severity", "certainty", "onset", "expires", "web", "areas", "shapes",
           "shapes_name")
# the validation messages the pages show, from the project's catalogs (not WTForms' own)
REQUIRED = N_("Fill in this field.")


def at_most(characters: int) -> Length:
    return Length(max=characters, message=N_("At most %(max)d characters.", max=characters))


class Choice(SelectField):
    """A drop-down whose refusal of a value it does not offer is one of the project's messages."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, invalid_choice_message=N_("Choose one of the values offered."), **kwargs)


class LoginForm(FlaskForm):
    username = StringField(N_("Username"), validators=[DataRequired(REQUIRED), at_most(80)])
    password = PasswordField(N_("Password"), validators=[DataRequired(REQUIRED), at_most(200)])


class CommentForm(FlaskForm):
    body = TextAreaField(N_("Comment"), validators=[DataRequired(REQUIRED), at_most(4000)])
    field = SelectField(N_("On"), choices={}, validate_choice=False)


class InviteForm(FlaskForm):
    centre = StringField(N_("Centre code"), validators=[DataRequired(REQUIRED), at_most(16)])
    base_version = HiddenField()


class AlertForm(FlaskForm):
    """Scalar fields; the texts per language are read from `text-<lang>-<field>` inputs, the centres from
    `participants` checkboxes and the gazetteer places from the `places` list. The CAP values are offered translated,
    with their code beside them ("Ernstig (Severe)"). `shapes` and `shapes_name` are the map editor's drawn area
    (web/pages/map_areas.py)."""

    base_version = HiddenField()
    hazard = Choice(N_("Hazard"), choices={})
    status = Choice(N_("Mode"), choices={})
    urgency = Choice(N_("Urgency"), choices={})
    severity = Choice(N_("Severity"), choices={})
    certainty = Choice(N_("Certainty"), choices={})
    onset = StringField(N_("Onset"), render_kw={"type": "datetime-local"})
    expires = StringField(N_("Expires"), render_kw={"type": "datetime-local"})
    web = StringField(N_("Web page"), validators=[at_most(300)])
    areas = TextAreaField(N_("Areas"))
    shapes = TextAreaField(N_("Polygons and circles"))
    shapes_name = StringField(N_("Name of the drawn area"), validators=[at_most(200)])
    summary = StringField(N_("Summary"), validators=[at_most(200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hazard.choices = {code: hazard_name(code) for code in HAZARDS}
        self.status.choices = cap_choices("status")
        for name in ("urgency", "severity", "certainty"):
            self[name].choices = cap_choices(name, empty=True)


def form_values(version) -> dict[str, str]:
    """A version as the flat string values the form shows."""
    content = canonical_content(version)
    values = {key: content[key] for key in ("status", "hazard", "urgency", "severity", "certainty", "web")}
    values["onset"], values["expires"] = local_input(version.onset), local_input(version.expires)
    values["areas"] = "\n".join(area["description"] for area in content["areas"])
    values.update(map_areas.form_fields(content["areas"]))
    for language, fields in content["texts"].items():
        for field, text in fields.items():
            values[f"text-{language}-{field}"] = text["body"]
    return values


def _plain(text: str | None) -> str:
    """A text as the form compares it: browsers send line breaks as CRLF, API clients may have stored CR."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def submitted_values(version) -> dict[str, str]:
    """The fields the form sent. A field it did not send (a language it does not show) is not a change."""
    keys = list(SCALARS) + [f"text-{t.language}-{t.field}" for t in version.texts]
    keys += [f"reviewed-{t.language}-{t.field}" for t in version.texts if t.status == "stale"]
    return {key: _plain(request.form[key]) for key in keys if key in request.form}


def form_changes(submitted: dict[str, str], base_values: dict[str, str], base, language: str = "en") -> dict:
    """Only what the person changed relative to the version they started from. A changed drawn area (`shapes`,
    `shapes_name`) replaces the areas that held polygons; `language` names it when the form does not."""
    changed = {k for k, v in submitted.items() if v != _plain(base_values.get(k))}
    changes: dict = {}
    for key in changed & {"status", "hazard", "urgency", "severity", "certainty", "web"}:
        changes[key] = submitted[key]
    for key in changed & {"onset", "expires"}:
        changes[key] = parse_local(submitted[key], key)
    if changed & {"areas", "shapes", "shapes_name"}:
        old = {a.description: a for a in base.areas}
        changes["areas"] = [
            {"description": line.strip(), "place": old[line.strip()].place if line.strip() in old else None,
             "polygons": old[line.strip()].polygons if line.strip() in old else [],
             "geocodes": old[line.strip()].geocodes if line.strip() in old else []}
            for line in submitted.get("areas", base_values.get("areas", "")).splitlines() if line.strip()
        ]
    if changed & {"shapes", "shapes_name"}:
        polygons = map_areas.parse_shapes(submitted.get("shapes", base_values.get("shapes", "")))
        name = map_areas.drawn_name(submitted.get("shapes_name", base_values.get("shapes_name")), language)
        changes["areas"] = map_areas.with_drawn_area(changes["areas"], polygons, name,
                                                     {a.description for a in base.areas if a.polygons or a.circles})
    for key in sorted(k for k in changed if k.startswith("text-")):
        _, language, field = key.split("-", 2)
        changes.setdefault("texts", {}).setdefault(language, {})[field] = submitted[key]
    for key in sorted(k for k in submitted if k.startswith("reviewed-")):
        _, language, field = key.split("-", 2)
        if f"text-{language}-{field}" not in changed:  # a translator confirms the stale text as it stands
            body = base_values.get(f"text-{language}-{field}", "")
            changes.setdefault("texts", {}).setdefault(language, {})[field] = {"body": body, "reviewed": True}
    return changes


def preview_content(version, submitted: dict[str, str] | None) -> dict:
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
