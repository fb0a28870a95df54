"""The audit chain, for administrators: its events filtered and paged newest first, or all of them as CSV.
alerts.audit_browse holds the rule (a network administrator reads every event, a centre's administrator their
centre's) and checks the filters, naming the field it refuses."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, g, request
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import Session

from alerts import audit_browse
from alerts.audit_browse import ACTION, DEFAULT_LIMIT, MAX_ACTION, MAX_ACTOR, MAX_LIMIT, MAX_NUMBER, OBJECT_TYPES
from alerts.centres import CODE
from web import db_session, services
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint
from web.api.contact_points import file_response

bp = resource_blueprint("audit", "The audit chain, for administrators")

AUDIT_PROBLEMS = {**PROBLEMS, "403": "Only an administrator of a centre or of the network reads the audit trail",
                  "422": "Invalid filter: `field` names the query parameter"}


class AuditExportQuerySchema(Schema):
    """The filters, as documented; alerts.audit_browse.parse_filter reads and checks them (a 422 names the field)."""

    actor = fields.String(validate=validate.Length(1, MAX_ACTOR), metadata={
        "description": "Who: a username, or cli, worker or system (exact)"})
    action = fields.String(validate=[validate.Length(1, MAX_ACTION), validate.Regexp(ACTION.pattern)], metadata={
        "description": "An action (alert.submit), or its beginning up to a dot (release.) for every action of a kind"})
    object_type = fields.String(validate=validate.OneOf(list(OBJECT_TYPES)), metadata={"description": "What on"})
    alert_id = fields.Integer(validate=validate.Range(1, MAX_NUMBER), metadata={
        "description": "Only the events on this alert"})
    centre = fields.String(validate=validate.Regexp(CODE.pattern), metadata={
        "description": "Only this centre's events: by its users, or on its alerts, settings, users, tokens, "
                       "subscribers, contact points and partner endpoints"})
    since = fields.AwareDateTime(metadata={"description": "From this moment (included)"})
    until = fields.AwareDateTime(metadata={"description": "Up to this moment (excluded)"})
    before_seq = fields.Integer(validate=validate.Range(1, MAX_NUMBER), metadata={
        "description": "Only events numbered below this one: the `next_before_seq` of the previous page"})


class AuditQuerySchema(AuditExportQuerySchema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "Events per page"})


class AuditEventSchema(Schema):
    seq = fields.Integer(metadata={"description": "The event's number in the chain"})
    at = fields.DateTime()
    actor = fields.String(metadata={"description": "A username, or cli, worker or system"})
    action = fields.String(metadata={"description": "e.g. alert.submit, release.confirm, user.roles"})
    object_type = fields.String(metadata={"enum": list(OBJECT_TYPES)})
    object_id = fields.String(metadata={"description": "The object's id (a centre's code; for a failed login, the "
                                                       "username that was tried)"})
    alert_id = fields.Integer(allow_none=True, metadata={"description": "The alert, when the object is one"})
    content_hash = fields.String(allow_none=True, metadata={"description": "The content the event is about"})
    detail = fields.Dict(metadata={"description": "What the event recorded besides"})
    prev_hash = fields.String(metadata={"description": "The previous event's hash"})
    hash = fields.String(metadata={"description": "SHA-256 over this event's fields and prev_hash"})


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema), metadata={"description": "Newest first"})
    next_before_seq = fields.Integer(allow_none=True, metadata={
        "description": "Pass it as before_seq for the next (older) page; null on the oldest page"})


def _query(paged: bool) -> audit_browse.AuditFilter:
    return audit_browse.parse_filter(request.args.to_dict(flat=True), paged=paged)


@bp.route("/audit")
class AuditEvents(ResourceView):

    @bp.doc(parameters=[{"in": "query", "schema": AuditQuerySchema}])
    @bp.response(200, AuditPageSchema)
    @doc_errors(bp, "403", "422", descriptions=AUDIT_PROBLEMS)
    def get(self):
        """Administrators: the audit events you may read (a network administrator every one, a centre's
        administrator their centre's), newest first, by who, action, object, alert, centre and period."""
        page = audit_browse.browse(db_session(), g.user, _query(paged=True))
        return {"items": [audit_browse.describe(event) for event in page.events],
                "next_before_seq": page.next_before_seq}


def csv_download(read: Callable[[Session], Iterator]) -> Response:
    """The events `read` reads as a CSV file to save (pages and API alike), written while they are read from a
    snapshot. The request's own transaction ends first: it must not last as long as the download."""
    db_session().close()
    database = services().db  # the chunks are written after the request's context has ended

    def chunks() -> Iterator[str]:
        with database.snapshot() as session:
            yield from audit_browse.csv_chunks(read(session))

    return Response(chunks(), 200, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="benelert-audit.csv"'})


@bp.route("/audit.csv")
class AuditEventsCsv(ResourceView):

    @bp.doc(parameters=[{"in": "query", "schema": AuditExportQuerySchema}],
            **file_response("text/csv", "UTF-8 with a header row: " + ", ".join(audit_browse.CSV_COLUMNS) + " (at in "
                            "UTC, detail as JSON), newest first. A cell beginning with = + - @ is prefixed with ' so "
                            "that spreadsheets do not run it as a formula."))
    @doc_errors(bp, "403", "422", descriptions=AUDIT_PROBLEMS)
    def get(self):
        """Administrators: every audit event the filters select that you may read, as CSV."""
        return csv_download(audit_browse.export(db_session(), g.user, _query(paged=False)))
