"""The exchange part of the JSON API under /api/v1: acks from partner centres and the SMS subscriber list.

Same conventions as web.api: bearer tokens, one operation and one commit per request, problem+json errors.
"""
from __future__ import annotations

import codecs

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import RequestEntityTooLarge

from alerts import authoring, exchange, subscribers
from alerts.errors import InvalidInput
from alerts.models import User
from web import db_session, feeds, problem
from web.api.schemas import ProblemSchema
from web.auth import token_required

bp = Blueprint("exchange", __name__, url_prefix="/api/v1",
               description="Acknowledgements from partner centres; the SMS subscriber list")
CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")
CSV_TYPES = ("text/csv", "application/csv")
IMPORT_MAX_BYTES = 5 * 1024 * 1024  # above the app-wide 1 MiB: a national subscriber list is large
# Python codecs that are not character sets; punycode also decodes in quadratic time
NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"})
SECURITY = [{"bearer": []}]


class AckInSchema(Schema):
    identifier = fields.String(required=True, validate=validate.Length(1, 80),
                               metadata={"description": "The alert's CAP identifier"})
    kind = fields.String(required=True, validate=validate.OneOf(exchange.ACK_KINDS),
                         metadata={"description": "received, or read (which implies received)"})
    centre = fields.String(validate=validate.Length(1, 16),
                           metadata={"description": "Optional: your centre's code, checked against your token"})


class AckSchema(Schema):
    identifier = fields.String()
    centre = fields.String()
    kind = fields.String()
    via = fields.String(metadata={"description": "api | cap | page"})
    at = fields.AwareDateTime()
    user = fields.String(allow_none=True)


class AckResultSchema(Schema):
    created = fields.Integer(metadata={"description": "How many acks are new; 0 when all were already recorded"})
    acks = fields.List(fields.Nested(AckSchema))


class CentreAcksSchema(Schema):
    centre = fields.String()
    received_at = fields.AwareDateTime(allow_none=True)
    received_after_s = fields.Float(allow_none=True, metadata={"description": "Seconds after the release fired"})
    read_at = fields.AwareDateTime(allow_none=True)
    read_after_s = fields.Float(allow_none=True)


class AckReportSchema(Schema):
    identifier = fields.String()
    released_at = fields.AwareDateTime(allow_none=True)
    acks = fields.List(fields.Nested(AckSchema))
    centres = fields.List(fields.Nested(CentreAcksSchema),
                          metadata={"description": "Every centre the release reached, acked or not"})


class LineErrorSchema(Schema):
    line = fields.Integer()
    error = fields.String()


class ImportResultSchema(Schema):
    imported = fields.Integer(metadata={"description": "New subscribers"})
    updated = fields.Integer(metadata={"description": "Existing numbers whose language and areas were replaced"})
    opted_out = fields.Integer(metadata={"description": "Of the updated, how many stay opted out (never undone)"})
    errors = fields.List(fields.Nested(LineErrorSchema))


class SubscriberCountSchema(Schema):
    centre = fields.String()
    total = fields.Integer(metadata={"description": "Subscribers not opted out"})
    opted_out = fields.Integer()
    areas = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "Gazetteer code -> subscribers not opted out"})


PROBLEMS = {"400": "Unreadable CAP message (malformed, too large, DTD or entities, not CAP 1.2)",
            "401": "Missing or invalid token", "403": "Your role or centre may not do this",
            "404": "Not found or not released to your centre", "413": "Body too large",
            "415": "Unsupported content type", "422": "Invalid input; for an import, the per-line error report"}


def _doc_errors(*codes):
    def decorate(view):
        for code in codes:
            view = bp.alt_response(code, schema=ProblemSchema, description=PROBLEMS[code],
                                   content_type="application/problem+json")(view)
        return view
    return decorate


def register(app, csrf) -> None:
    """Add the exchange API to the app's flask-smorest Api (made by web.api.register) and the public feeds."""
    app.extensions["flask-smorest"]["blp_name_to_api"]["api"].register_blueprint(bp)
    csrf.exempt(bp)  # bearer tokens only: no ambient credentials to forge
    app.register_blueprint(feeds.bp)
    app.register_blueprint(feeds.hooks_bp)
    csrf.exempt(feeds.hooks_bp)  # Twilio signs its webhooks; there is no browser session


def _present(session, result: exchange.AckResult) -> dict:
    ack = result.ack
    user = session.get(User, ack.user_id) if ack.user_id else None
    return {"identifier": result.alert.identifier, "centre": ack.centre.code, "kind": ack.kind, "via": ack.via,
            "at": ack.at, "user": user.username if user else None}


@bp.route("/acks")
class Acks(MethodView):
    decorators = [token_required]

    @bp.response(201, AckResultSchema, description="At least one new ack (200 when all existed already)")
    @bp.alt_response(200, schema=AckResultSchema, description="Already acknowledged: the existing acks")
    @bp.doc(security=SECURITY, parameters=[
        {"in": "query", "name": "kind", "schema": {"type": "string", "enum": list(exchange.ACK_KINDS)},
         "description": "For a CAP Ack body only: what it acknowledges (default received)"}],
        requestBody={"required": True, "content": {
            "application/json": {"schema": AckInSchema},
            "application/cap+xml": {"schema": {"type": "string", "description": "A CAP 1.2 Ack whose <references> "
                                                                                  "name the alert(s)"}}}})
    @_doc_errors("400", "401", "403", "404", "415", "422")
    def post(self):
        """Your centre received or read a released alert: JSON, or a CAP 1.2 Ack message. Idempotent."""
        session = db_session()
        if request.mimetype == "application/json":
            try:
                data = AckInSchema().load(request.get_json())
            except ValidationError as error:
                raise InvalidInput("The body is not valid.", errors=error.messages) from None
            results = exchange.acknowledge(session, g.user, data["identifier"], data["kind"],
                                           centre=data.get("centre"))
        elif request.mimetype in CAP_TYPES:
            results = exchange.acknowledge_cap(session, g.user, request.get_data(),
                                               request.args.get("kind", "received"))
        else:
            return problem(415, "Unsupported Media Type",
                           "Send application/json, or a CAP Ack as application/cap+xml.")
        session.commit()
        created = sum(result.created for result in results)
        return {"created": created, "acks": [_present(session, r) for r in results]}, 201 if created else 200


@bp.route("/alerts/<int:alert_id>/acks")
class AlertAcks(MethodView):
    decorators = [token_required]

    @bp.response(200, AckReportSchema)
    @bp.doc(security=SECURITY)
    @_doc_errors("401", "404")
    def get(self, alert_id):
        """Who received and read the alert, and how long after the release."""
        session = db_session()
        return exchange.ack_report(session, authoring.get_alert(session, g.user, alert_id, "read"))


@bp.route("/subscribers/import")
class SubscribersImport(MethodView):
    decorators = [token_required]

    @bp.response(200, ImportResultSchema)
    @bp.doc(security=SECURITY, requestBody={"required": True, "content": {"text/csv": {"schema": {
        "type": "string", "description": "Header phone,language,areas; areas are gazetteer codes separated by ';'. "
                                         "At most 5 MiB. UTF-8 unless the charset parameter says otherwise."}}}})
    @_doc_errors("401", "403", "413", "415", "422")
    def post(self):
        """Add or update your centre's SMS subscribers from a CSV: all rows, or none when any row has an error."""
        if request.mimetype not in CSV_TYPES:
            return problem(415, "Unsupported Media Type", "Send the subscriber list as text/csv.")
        request.max_content_length = IMPORT_MAX_BYTES
        try:
            data = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return problem(413, "Content Too Large", "A subscriber list may be at most 5 MiB: split it into "
                                                     "several files (an import updates numbers already present).")
        charset = request.mimetype_params.get("charset", "utf-8")
        try:
            if codecs.lookup(charset).name in NOT_CHARSETS:
                raise LookupError(f"{charset!r} is not a character set")
            text = data.decode(charset)
        except (LookupError, ValueError) as error:  # ValueError: any UnicodeError, or a NUL in the name
            raise InvalidInput(f"The CSV is not readable as {charset}: {error}.", imported=0, updated=0,
                               errors=[]) from None
        session = db_session()
        result = subscribers.import_subscribers(session, g.user, text)
        session.commit()
        return result


@bp.route("/subscribers/count")
class SubscriberCount(MethodView):
    decorators = [token_required]

    @bp.response(200, SubscriberCountSchema)
    @bp.doc(security=SECURITY)
    @_doc_errors("401", "403")
    def get(self):
        """Your centre's subscribers who still receive messages, per area."""
        return subscribers.subscriber_counts(db_session(), g.user)
