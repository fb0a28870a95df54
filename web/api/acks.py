"""Acknowledgements of partner centres (JSON or a CAP Ack) and the report of who acknowledged."""
from __future__ import annotations

from flask import g, request
from marshmallow import Schema, ValidationError, fields, validate

from alerts import authoring, exchange
from alerts.errors import InvalidInput
from alerts.i18n import _
from alerts.models import User
from web import db_session, operation, problem
from web.api.base import EXCHANGE_PROBLEMS, ResourceView, doc_errors, resource_blueprint

bp = resource_blueprint("acks", "Acknowledgements of partner centres")
CAP_TYPES = ("application/cap+xml", "application/xml", "text/xml")


class AckInSchema(Schema):
    identifier = fields.String(required=True, validate=validate.Length(1, 80),
                               metadata={"description": "The alert's CAP identifier"})
    kind = fields.String(required=True, validate=validate.OneOf(exchange.ACK_KINDS),
                         metadata={"description": "received, or read (which implies received)"})
    centre = fields.String(validate=validate.Length(1, 16),
                           metadata={"description": "Optional: your centre's code, checked against your token"})


class AckQuerySchema(Schema):
    """The query of POST /acks: checked whatever the body (a kind outside the enum is a 422, as the spec says)."""

    kind = fields.String(load_default="received", validate=validate.OneOf(exchange.ACK_KINDS),
                         metadata={"description": "For a CAP Ack body only: what it acknowledges (default received)"})


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


def _present(session, result: exchange.AckResult) -> dict:
    ack = result.ack
    user = session.get(User, ack.user_id) if ack.user_id else None
    return {"identifier": result.alert.identifier, "centre": ack.centre.code, "kind": ack.kind, "via": ack.via,
            "at": ack.at, "user": user.username if user else None}


@bp.route("/acks")
class Acks(ResourceView):

    @bp.response(201, AckResultSchema, description="At least one new ack (200 when all existed already)")
    @bp.alt_response(200, schema=AckResultSchema, description="Already acknowledged: the existing acks")
    @bp.arguments(AckQuerySchema, location="query", as_kwargs=True)
    @bp.doc(requestBody={"required": True, "content": {
            "application/json": {"schema": AckInSchema},
            "application/cap+xml": {"schema": {"type": "string",
                                               "description": "A CAP 1.2 Ack whose <references> name the alert(s): "
                                                              "an XML document, sent as it is"}}}})
    @doc_errors(bp, "400", "401", "403", "404", "415", "422", descriptions=EXCHANGE_PROBLEMS)
    def post(self, kind: str = "received"):
        """Your centre received or read a released alert: JSON, or a CAP 1.2 Ack message. Idempotent."""
        with operation() as session:
            if request.mimetype == "application/json":
                try:
                    data = AckInSchema().load(request.get_json())
                except ValidationError as error:
                    raise InvalidInput(_("The body is not valid."), errors=error.messages) from None
                results = exchange.acknowledge(session, g.user, data["identifier"], data["kind"],
                                               centre=data.get("centre"))
            elif request.mimetype in CAP_TYPES:
                results = exchange.acknowledge_cap(session, g.user, request.get_data(), kind)
            else:
                return problem(415, _("Unsupported media type"),
                               _("Send application/json, or a CAP Ack as application/cap+xml."))
        created = sum(result.created for result in results)
        return {"created": created, "acks": [_present(session, r) for r in results]}, 201 if created else 200


@bp.route("/alerts/<int:alert_id>/acks")
class AlertAcks(ResourceView):

    @bp.response(200, AckReportSchema)
    @doc_errors(bp, "401", "403", "404", descriptions=EXCHANGE_PROBLEMS)
    def get(self, alert_id):
        """Who received and read the alert, and how long after the release."""
        session = db_session()
        return exchange.ack_report(session, authoring.get_alert(session, g.user, alert_id, "read"))
