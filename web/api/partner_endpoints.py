"""A centre's partner endpoints: where its signed copies go (Standard Webhooks), their signing secrets and their
rotation, and a signed ping (alerts.partner_endpoints holds the rules). A secret is in the answer that creates it
only; afterwards it is named by its fingerprint."""
from __future__ import annotations

from flask import g, jsonify
from marshmallow import Schema, fields, validate

from alerts import partner_endpoints
from alerts.partner_endpoints import FINGERPRINT, MAX_URL
from channels.partners import PartnerChannel
from web import db_session, operation, services
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint

bp = resource_blueprint("partner_endpoints", "Where a centre receives its partner copies")

NO_STORE = {"Cache-Control": "no-store"}  # answers holding a secret: never kept by a browser or a proxy
PROBLEMS_HERE = {**PROBLEMS, "403": "Only an administrator of this centre or of the network may do this",
                 "404": "Unknown centre, or no such endpoint (or secret) of this centre",
                 "409": "The address is another endpoint's; the endpoint's only secret cannot be removed; at most two "
                        "secrets at once",
                 "422": "Invalid input: an address that is not https (outside development) or holds a user name or "
                        "password, a secret not in whsec_ form; `field` names the field"}
SECRET_DOC = {"description": "whsec_ and at least 24 random bytes in base64; left out, Benelert makes one (32 bytes)"}
FINGERPRINT_PARAMETER = {"in": "path", "name": "fingerprint", "required": True,
                         "schema": {"type": "string", "pattern": FINGERPRINT.pattern},
                         "description": "The first 8 hex digits of the secret's SHA-256"}
NO_STORE_HEADER = {"Cache-Control": {"schema": {"type": "string"},
                                     "description": "no-store: the answer holds a secret"}}


class PartnerEndpointSchema(Schema):
    id = fields.Integer()
    centre = fields.String(metadata={"description": "Centre code"})
    url = fields.String()
    active = fields.Boolean(metadata={"description": "Inactive: receives no copies (kept with its history)"})
    disabled_reason = fields.String(allow_none=True, metadata={"description": "Why it is inactive"})
    created_at = fields.DateTime()
    secret_fingerprints = fields.List(fields.String(), metadata={
        "description": "The secrets that sign every copy, newest first, by fingerprint; never the secrets"})
    rotating = fields.Boolean(metadata={"description": "Two secrets sign every copy: remove the old one once the "
                                                       "partner verifies with the new one"})


class NewSecretSchema(PartnerEndpointSchema):
    secret = fields.String(metadata={"description": "The new secret: shown in this answer only, pass it to the "
                                                    "partner now"})
    fingerprint = fields.String(metadata={"description": "How the new secret is named from now on"})


class PartnerEndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(1, MAX_URL), metadata={
        "description": "https:// (http:// in development only), without a user name or password"})
    secret = fields.String(validate=validate.Length(1, 200), metadata=SECRET_DOC)


class PartnerEndpointChangeSchema(Schema):
    url = fields.String(validate=validate.Length(1, MAX_URL))
    active = fields.Boolean(metadata={"description": "false: no more copies go there; true: again"})


class SecretCreateSchema(Schema):
    secret = fields.String(validate=validate.Length(1, 200), metadata=SECRET_DOC)


class PingSchema(Schema):
    status_code = fields.Integer(allow_none=True, metadata={"description": "The endpoint's HTTP status; null when "
                                                                           "it did not answer"})
    latency_ms = fields.Integer(allow_none=True, metadata={"description": "Milliseconds until its answer (or until "
                                                                          "the failure); null when nothing was sent"})
    ok = fields.Boolean(metadata={"description": "It answered 2xx"})
    error = fields.String(allow_none=True, metadata={"description": "Why not, when not ok"})


def _development() -> bool:
    return services().settings.env == "development"


def _with_secret(endpoint, secret: str) -> dict:
    return {**partner_endpoints.describe(endpoint), "secret": secret,
            "fingerprint": partner_endpoints.fingerprint(secret)}


def ping_channel() -> PartnerChannel:
    """The partner channel as the deployment configures it (its address policy included), for one ping."""
    return PartnerChannel.from_config(services().channels_config.get("partners", {}))


def ping(code: str, endpoint_id: int):
    """Ping an endpoint for the signed-in user (API and page): no transaction is open while it is sent."""
    with operation() as session:
        plan = partner_endpoints.prepare_ping(session, g.user, code, endpoint_id)
    channel = ping_channel()
    try:
        answer = partner_endpoints.send_ping(plan, channel)
    finally:
        channel.close()
    with operation() as session:
        partner_endpoints.record_ping(session, g.user, plan, answer)
    return answer


@bp.route("/centres/<code>/partner-endpoints")
class PartnerEndpoints(ResourceView):

    @bp.response(200, PartnerEndpointSchema(many=True))
    @doc_errors(bp, "403", "404", descriptions=PROBLEMS_HERE)
    def get(self, code):
        """The centre's admins and network administrators: where the centre receives its partner copies, active
        first; secrets by fingerprint only."""
        _, endpoints = partner_endpoints.listing(db_session(), g.user, code)
        return [partner_endpoints.describe(endpoint) for endpoint in endpoints]

    @bp.arguments(PartnerEndpointCreateSchema)
    @bp.response(201, NewSecretSchema, headers=NO_STORE_HEADER)
    @doc_errors(bp, "403", "404", "409", "422", descriptions=PROBLEMS_HERE)
    def post(self, data, code):
        """Add an endpoint, with the given secret or one made here; the secret is in this answer only. Audited (by
        the secret's fingerprint)."""
        with operation() as session:
            endpoint, secret = partner_endpoints.create(session, g.user, code, data["url"], data.get("secret"),
                                                        development=_development())
            answer = _with_secret(endpoint, secret)
        return answer, 201, NO_STORE


@bp.route("/centres/<code>/partner-endpoints/<int:endpoint_id>")
class PartnerEndpointItem(ResourceView):

    @bp.arguments(PartnerEndpointChangeSchema)
    @bp.response(200, PartnerEndpointSchema)
    @doc_errors(bp, "403", "404", "409", "422", descriptions=PROBLEMS_HERE)
    def patch(self, data, code, endpoint_id):
        """Change the address, or deactivate (`active: false`) and reactivate the endpoint. Copies already queued
        for the old address are not redirected. Audited."""
        with operation() as session:
            endpoint = partner_endpoints.update(session, g.user, code, endpoint_id, data, development=_development())
            answer = partner_endpoints.describe(endpoint)
        return answer

    @bp.response(204, description="Deleted: no copy was ever addressed to it")
    @bp.alt_response(200, schema=PartnerEndpointSchema,
                     description="Copies were addressed to it: deactivated instead, kept for the delivery history")
    @doc_errors(bp, "403", "404", descriptions=PROBLEMS_HERE)
    def delete(self, code, endpoint_id):
        """Remove the endpoint; one that copies were addressed to is deactivated instead (200). Audited."""
        with operation() as session:
            kept = partner_endpoints.delete(session, g.user, code, endpoint_id)
            answer = partner_endpoints.describe(kept) if kept is not None else None
        if answer is not None:
            return jsonify(PartnerEndpointSchema().dump(answer))
        return None


@bp.route("/centres/<code>/partner-endpoints/<int:endpoint_id>/secrets")
class PartnerEndpointSecrets(ResourceView):

    @bp.arguments(SecretCreateSchema)
    @bp.response(201, NewSecretSchema, headers=NO_STORE_HEADER)
    @doc_errors(bp, "403", "404", "409", "422", descriptions=PROBLEMS_HERE)
    def post(self, data, code, endpoint_id):
        """Start a rotation (Standard Webhooks): the new secret (given, or made here) signs every copy together with
        the old one until that is removed, so the partner verifies with either while it switches. The new secret is
        in this answer only. At most two secrets at once (409). Audited (by fingerprint)."""
        with operation() as session:
            endpoint, secret = partner_endpoints.add_secret(session, g.user, code, endpoint_id, data.get("secret"))
            answer = _with_secret(endpoint, secret)
        return answer, 201, NO_STORE


@bp.route("/centres/<code>/partner-endpoints/<int:endpoint_id>/secrets/<fingerprint>")
class PartnerEndpointSecret(ResourceView):

    @bp.response(200, PartnerEndpointSchema)
    @bp.doc(parameters=[FINGERPRINT_PARAMETER])
    @doc_errors(bp, "403", "404", "409", descriptions=PROBLEMS_HERE)
    def delete(self, code, endpoint_id, fingerprint):
        """End a rotation: the secret with this fingerprint no longer signs. The only secret stays (409). Audited."""
        with operation() as session:
            endpoint = partner_endpoints.remove_secret(session, g.user, code, endpoint_id, fingerprint)
            answer = partner_endpoints.describe(endpoint)
        return answer


@bp.route("/centres/<code>/partner-endpoints/<int:endpoint_id>/ping")
class PartnerEndpointPing(ResourceView):

    @bp.response(200, PingSchema, description="The ping was sent (or refused by the address policy): what it met")
    @doc_errors(bp, "403", "404", descriptions=PROBLEMS_HERE)
    def post(self, code, endpoint_id):
        """Send one signed "benelert.ping" webhook, signed like every copy, and report the endpoint's answer and
        its latency (it waits at most 5 seconds). An endpoint that does not answer is a 200 reporting the failure.
        Audited."""
        answer = ping(code, endpoint_id)
        return {"status_code": answer.status_code, "latency_ms": answer.latency_ms, "ok": answer.ok,
                "error": answer.error}
