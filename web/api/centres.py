"""The centres of the network: the directory every user reads; a network-admin adds centres, a centre's admin
changes its settings (alerts.centres holds the rules)."""
from __future__ import annotations

from flask import g, url_for
from marshmallow import Schema, fields, validate

from alerts import centre_channels, centres
from alerts.access import can_manage_centre
from alerts.centres import ACK_DEADLINE_MINUTES, CODE, MAX_NAME
from alerts.errors import Forbidden
from alerts.i18n import _
from alerts.vocabulary import LANGUAGES
from channels.specs import PUBLIC_CHANNELS
from web import db_session, operation, release_options, services
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
            "manageable": can_manage_centre(g.user, centre.id)}


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


CHANNEL_NAME = {"name": "name", "schema": {"type": "string", "enum": list(PUBLIC_CHANNELS)}}


class ChannelSchema(Schema):
    configured = fields.Boolean(metadata={"description": "Whether the centre releases on this channel"})
    target = fields.String(allow_none=True, metadata={
        "description": "Live releases: the national system's URL, or the account named in the channels file "
                       "(not for SMS: live SMS go to the subscribers in the area)"})
    test_target = fields.String(allow_none=True, metadata={
        "description": "Exercises and tests: the national test endpoint, the sandbox account, the SMS test number"})


class ChannelSettingsSchema(Schema):
    target = fields.String(validate=validate.Length(1, 500))
    test_target = fields.String(validate=validate.Length(1, 500))


class ChannelTestSchema(Schema):
    alert_id = fields.Integer()
    identifier = fields.String()
    deliveries = fields.String(metadata={"description": "The page following its delivery"})


ChannelsSchema = Schema.from_dict({name: fields.Nested(ChannelSchema) for name in PUBLIC_CHANNELS},
                                  name="ChannelsSchema")


def _channels(code: str) -> dict:
    return centre_channels.configuration(db_session(), g.user, code)


@bp.route("/centres/<code>/channels")
class CentreChannels(ResourceView):

    @bp.response(200, ChannelsSchema)
    @doc_errors(bp, "403", "404")
    def get(self, code):
        """The centre's admins and network administrators: where each public channel sends (no secret is stored
        here: an account is a name in the deployment's channels file)."""
        return _channels(code)


@bp.route("/centres/<code>/channels/<name>")
class CentreChannel(ResourceView):

    @bp.arguments(ChannelSettingsSchema)
    @bp.response(200, ChannelSchema)
    @bp.doc(parameters=[{"in": "path", **CHANNEL_NAME}])
    @doc_errors(bp, "403", "404", "422")
    def put(self, data, code, name):
        """Set the channel's targets (https outside development for a national system, E.164 for SMS). Audited."""
        development = services().settings.env == "development"
        with operation() as session:
            centre_channels.configure(session, g.user, code, name, data, development=development)
        return _channels(code)[name]

    @bp.response(204)
    @bp.doc(parameters=[{"in": "path", **CHANNEL_NAME}])
    @doc_errors(bp, "403", "404", "422")
    def delete(self, code, name):
        """The centre stops releasing on this channel. Audited."""
        with operation() as session:
            centre_channels.configure(session, g.user, code, name, None)


@bp.route("/centres/<code>/channels/<name>/tests")
class CentreChannelTest(ResourceView):

    @bp.response(201, ChannelTestSchema)
    @bp.doc(parameters=[{"in": "path", **CHANNEL_NAME}])
    @doc_errors(bp, "403", "404", "422", "429", descriptions={
        **PROBLEMS, "429": "The centre's previous channel test is too recent (retry_after_s says when to try again)"})
    def post(self, code, name):
        """Your centre's admins: send a Test message through this channel only, now, to its test target (else the
        deployment's sandbox target); never to the public. Follow it on the deliveries page."""
        centres.get(db_session(), code)
        if code != g.user.centre.code:
            raise Forbidden(_("A channel is tested by its own centre."))
        with operation() as session:
            alert = centre_channels.start_channel_test(session, g.user, name, release_options())
        return {"alert_id": alert.id, "identifier": alert.identifier,
                "deliveries": url_for("pages.deliveries", alert_id=alert.id)}
