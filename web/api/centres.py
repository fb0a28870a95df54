"""The centres of the network: the directory every user reads; a network-admin adds centres, a centre's admin
changes its settings (alerts.centres holds the rules)."""
from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from alerts import centres
from alerts.centres import ACK_DEADLINE_MINUTES, CODE, MAX_NAME
from alerts.vocabulary import LANGUAGES
from web import db_session, operation
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint

bp = resource_blueprint("centres", "The centres of the network")

LANGUAGE = fields.String(validate=validate.OneOf(LANGUAGES))
NAMES = {"keys": fields.String(validate=validate.OneOf(LANGUAGES)),
         "values": fields.String(validate=validate.Length(1, MAX_NAME)),
         "metadata": {"description": "Language -> the centre's name; English is required"}}
DEADLINE = {"validate": validate.Range(*ACK_DEADLINE_MINUTES), "allow_none": True,
            "metadata": {"description": "Minutes after which a copy this centre has not acknowledged is overdue"}}
CB_LANGUAGES = {"allow_none": True, "metadata": {
    "description": "Languages of its cell broadcasts, in order: some of its publishing languages; null: all of them"}}


class CentreSchema(Schema):
    code = fields.String()
    names = fields.Dict(**NAMES)
    timezone = fields.String()
    languages = fields.List(fields.String(), metadata={"description": "Publishing languages, primary first"})
    cell_broadcast_languages = fields.List(fields.String(), **CB_LANGUAGES)
    ack_deadline_minutes = fields.Integer(allow_none=True)
    active = fields.Boolean(metadata={"description": "Inactive: kept with its history, not invited to new alerts"})
    manageable = fields.Boolean(metadata={"description": "Whether you may change its settings"})


class CentreSettingsSchema(Schema):
    names = fields.Dict(**NAMES)
    timezone = fields.String(validate=validate.Length(1, 64), metadata={"description": "IANA, e.g. Europe/Brussels"})
    languages = fields.List(LANGUAGE, validate=validate.Length(min=1))
    cell_broadcast_languages = fields.List(LANGUAGE, validate=validate.Length(min=1), **CB_LANGUAGES)
    ack_deadline_minutes = fields.Integer(strict=True, **DEADLINE)
    active = fields.Boolean(metadata={"description": "Network administrators only"})


class CentreCreateSchema(CentreSettingsSchema):
    code = fields.String(required=True, validate=validate.Regexp(CODE.pattern),
                         metadata={"description": "Country code, optionally with a region: BE, DE-NW"})
    names = fields.Dict(required=True, **NAMES)
    timezone = fields.String(required=True, validate=validate.Length(1, 64))
    languages = fields.List(LANGUAGE, required=True, validate=validate.Length(min=1))


def shown(centre) -> dict:
    return {"code": centre.code, "names": centre.names, "timezone": centre.timezone, "languages": centre.languages,
            "cell_broadcast_languages": centre.cell_broadcast_languages,
            "ack_deadline_minutes": centre.ack_deadline_minutes, "active": centre.active,
            "manageable": centres.manageable(g.user, centre)}


@bp.route("/centres")
class Centres(ResourceView):

    @bp.response(200, CentreSchema(many=True))
    def get(self):
        """Every centre of the network, active or not."""
        return [shown(centre) for centre in centres.listing(db_session())]

    @bp.arguments(CentreCreateSchema)
    @bp.response(201, CentreSchema)
    @doc_errors(bp, "403", "409", "422", descriptions={**PROBLEMS, "409": "A centre with this code exists"})
    def post(self, data):
        """Network administrators: add a centre. Audited."""
        with operation() as session:
            centre = centres.create(session, g.user, data)
        return shown(centre)


@bp.route("/centres/<code>")
class CentreItem(ResourceView):

    @bp.response(200, CentreSchema)
    @doc_errors(bp, "404")
    def get(self, code):
        return shown(centres.get(db_session(), code))

    @bp.arguments(CentreSettingsSchema)
    @bp.response(200, CentreSchema)
    @doc_errors(bp, "403", "404", "422")
    def patch(self, data, code):
        """The centre's admins and network administrators: change its settings; only a network administrator
        (de)activates a centre. Deactivating keeps its history. Audited."""
        with operation() as session:
            centre = centres.update(session, g.user, code, data)
        return shown(centre)
