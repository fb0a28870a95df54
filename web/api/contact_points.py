"""The network's contact-point directory: every user reads all of it, a centre's admins (and network administrators)
keep their centre's entries (alerts.contact_points holds the rules); exported as CSV and vCard."""
from __future__ import annotations

from flask import Response, g
from marshmallow import Schema, fields, validate

from alerts import contact_points
from alerts.contact_points import FIELDS, MAX_EMAIL, MAX_HOURS, MAX_NAME, MAX_NOTES, MAX_PHONE_INPUT
from alerts.contact_points_export import to_csv, to_vcards
from alerts.vocabulary import LANGUAGES
from web import db_session, operation
from web.api.base import PROBLEMS, ResourceView, doc_errors, for_caller, resource_blueprint
from web.i18n import api_language

bp = resource_blueprint("contact_points", "The contact-point directory of the network")

PROBLEMS_HERE = {**PROBLEMS, "403": "Only an administrator of the entry's centre or of the network may do this",
                 "404": "No such contact point",
                 "422": "Invalid input: an unknown centre or field of work, a phone number or e-mail address that is "
                        "not valid; `field` names the field"}
FIELD = fields.String(validate=validate.OneOf(FIELDS), metadata={"description": "Field of work"})
TEXT = {"allow_none": True}


class ContactPointSchema(Schema):
    id = fields.Integer()
    centre = fields.String(metadata={"description": "Centre code"})
    centre_names = fields.Dict(keys=fields.String(), values=fields.String(),
                               metadata={"description": "The centre's name per language"})
    field = fields.String(metadata={"enum": list(FIELDS), "description": "Field of work"})
    field_label = fields.String(metadata={"description": "The field of work in your Accept-Language"})
    name = fields.String(allow_none=True)
    function = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164, e.g. +3225064711"})
    email = fields.String(allow_none=True)
    languages = fields.List(fields.String(), metadata={"description": "Languages spoken"})
    hours = fields.String(metadata={"description": "When it answers, e.g. 24/7"})
    notes = fields.String()
    last_verified_at = fields.DateTime(allow_none=True)
    last_verified_by = fields.String(allow_none=True)
    stale = fields.Boolean(metadata={"description": "Not verified for a quarter (over three calendar months), or "
                                                    "never"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    updated_by = fields.String()
    manageable = fields.Boolean(metadata={"description": "Whether you may change, verify or delete it"})


class ContactPointChangeSchema(Schema):
    field = FIELD
    name = fields.String(validate=validate.Length(max=MAX_NAME), **TEXT)
    function = fields.String(validate=validate.Length(max=MAX_NAME), **TEXT)
    phone = fields.String(validate=validate.Length(max=MAX_PHONE_INPUT), allow_none=True, metadata={
        "description": "International form (+32 2 506 47 11); without a country code, the centre's country. Checked "
                       "with the numbering plans of libphonenumber and stored in E.164"})
    email = fields.String(validate=validate.Length(max=MAX_EMAIL), **TEXT)
    languages = fields.List(fields.String(validate=validate.OneOf(LANGUAGES)), validate=validate.Length(min=1))
    hours = fields.String(validate=validate.Length(max=MAX_HOURS), **TEXT)
    notes = fields.String(validate=validate.Length(max=MAX_NOTES), **TEXT)
    verified = fields.Boolean(metadata={"description": "true: you confirm the entry is right as of now"})
    centre = fields.String(metadata={"description": "The entry's centre; it cannot change"})


class ContactPointCreateSchema(ContactPointChangeSchema):
    centre = fields.String(required=True, validate=validate.Length(1, 16), metadata={"description": "Centre code"})
    field = fields.String(required=True, validate=validate.OneOf(FIELDS))
    languages = fields.List(fields.String(validate=validate.OneOf(LANGUAGES)), required=True,
                            validate=validate.Length(min=1))


class DirectoryQuerySchema(Schema):
    centre = fields.String(validate=validate.Length(1, 16), metadata={"description": "Only this centre's entries"})
    field = FIELD
    stale = fields.Boolean(metadata={"description": "true: only the entries not verified for a quarter"})


def shown(point) -> dict:
    return for_caller(contact_points.describe(point, g.user))


def entries(query: dict) -> list[dict]:
    points = contact_points.listing(db_session(), g.user, query.get("centre"), query.get("field"), query.get("stale"))
    return [contact_points.describe(point, g.user) for point in points]


EXPORTS = {"csv": (to_csv, "text/csv"), "vcf": (to_vcards, "text/vcard")}  # Flask adds charset=utf-8 to text/*


def download(kind: str, rows: list[dict], say, language: str) -> Response:
    """The directory as a file to save (pages and API alike): CSV or vCard, UTF-8."""
    write, mimetype = EXPORTS[kind]
    return Response(write(rows, say, language), 200, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="benelert-contact-points.{kind}"'})


def file_response(media_type: str, description: str) -> dict:
    return {"responses": {"200": {"description": description,
                                  "content": {media_type: {"schema": {"type": "string"}}}}}}


@bp.route("/contact-points")
class ContactPoints(ResourceView):

    @bp.arguments(DirectoryQuerySchema, location="query")
    @bp.response(200, ContactPointSchema(many=True))
    @doc_errors(bp, "422", descriptions=PROBLEMS_HERE)
    def get(self, query):
        """The directory of every centre (any user of the network), by centre and field of work; `stale` marks the
        entries not verified for a quarter."""
        return for_caller(entries(query))

    @bp.arguments(ContactPointCreateSchema)
    @bp.response(201, ContactPointSchema)
    @doc_errors(bp, "403", "422", descriptions=PROBLEMS_HERE)
    def post(self, data):
        """The centre's admins and network administrators: add a contact point, with a name or a function (or both)
        and a phone number or an e-mail address (or both). Audited."""
        with operation() as session:
            point = contact_points.create(session, g.user, data)
        return shown(point)


@bp.route("/contact-points/<int:point_id>")
class ContactPointItem(ResourceView):

    @bp.response(200, ContactPointSchema)
    @doc_errors(bp, "404", descriptions=PROBLEMS_HERE)
    def get(self, point_id):
        return shown(contact_points.get(db_session(), point_id))

    @bp.arguments(ContactPointChangeSchema)
    @bp.response(200, ContactPointSchema)
    @doc_errors(bp, "403", "404", "422", descriptions=PROBLEMS_HERE)
    def patch(self, data, point_id):
        """The centre's admins and network administrators: change the fields given (null clears a field). Audited."""
        with operation() as session:
            point = contact_points.update(session, g.user, point_id, data)
        return shown(point)

    @bp.response(204)
    @doc_errors(bp, "403", "404", descriptions=PROBLEMS_HERE)
    def delete(self, point_id):
        """The centre's admins and network administrators: remove the entry. Audited."""
        with operation() as session:
            contact_points.delete(session, g.user, point_id)


@bp.route("/contact-points/<int:point_id>/verification")
class ContactPointVerification(ResourceView):

    @bp.response(200, ContactPointSchema)
    @doc_errors(bp, "403", "404", descriptions=PROBLEMS_HERE)
    def post(self, point_id):
        """The centre's admins and network administrators: confirm the entry is right as it stands, so that it is
        not stale for another quarter. Audited."""
        with operation() as session:
            point = contact_points.verify(session, g.user, point_id)
        return shown(point)


@bp.route("/contact-points.csv")
class ContactPointsCsv(ResourceView):

    @bp.arguments(DirectoryQuerySchema, location="query")
    @bp.doc(**file_response("text/csv", "UTF-8 with a header row: id, centre, centre_name, field, field_label, name, "
                                        "function, phone, email, languages (separated by spaces), hours, notes, "
                                        "last_verified_at, stale. Free text beginning with = + - @ is prefixed with "
                                        "' so that spreadsheets do not run it as a formula."))
    @doc_errors(bp, "422", descriptions=PROBLEMS_HERE)
    def get(self, query):
        """The directory (or the part the filters select) as CSV; labels and centre names in your
        Accept-Language."""
        return download("csv", entries(query), for_caller, api_language())


@bp.route("/contact-points.vcf")
class ContactPointsVcard(ResourceView):

    @bp.arguments(DirectoryQuerySchema, location="query")
    @bp.doc(**file_response("text/vcard", "vCard 3.0, one card per contact point: FN, ORG (the centre), TITLE (the "
                                          "function), ROLE (the field of work), TEL, EMAIL, LANG, NOTE (the hours)"))
    @doc_errors(bp, "422", descriptions=PROBLEMS_HERE)
    def get(self, query):
        """The directory (or the part the filters select) as vCards for an address book or a phone."""
        return download("vcf", entries(query), for_caller, api_language())
