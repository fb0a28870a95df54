"""Alerts: create, list, read, edit; their versions, diffs, comments and invitations."""
from __future__ import annotations

from flask import Response, current_app, g
from flask.views import MethodView

from alerts import accounts, authoring, reads
from alerts.content import canonical_content
from alerts.errors import NotFound, StaleVersion
from alerts.i18n import _
from alerts.models import Alert
from web import db_session, operation, problem, services
from web.api.base import ETAG_HEADER, ResourceView, doc_errors, etag, if_match, resource_blueprint
from web.api.schemas import (
    AlertCreateSchema,
    AlertEditSchema,
    AlertListSchema,
    AlertSchema,
    CommentInSchema,
    CommentSchema,
    DiffArgsSchema,
    DiffSchema,
    InviteSchema,
    ListArgsSchema,
    VersionSchema,
    VersionSummarySchema,
)
from web.auth import bearer_secret, token_required, unauthorized

bp = resource_blueprint("alerts", "Alerts, versions, comments")


def present_version(version) -> dict:
    return {
        "number": version.number, "based_on": version.based_on, "author": version.author.username,
        "created_at": version.created_at, "summary": version.summary, "content_hash": version.content_hash,
        **canonical_content(version),
    }


def present_alert(alert, version=None) -> dict:
    data = {
        "id": alert.id, "identifier": alert.identifier, "state": alert.state, "msg_type": alert.msg_type,
        "references": alert.references, "lead": alert.lead_centre.code,
        "participants": [row.centre.code for row in sorted(alert.centre_rows, key=lambda r: r.role != "lead")],
        "required_languages": authoring.required_languages([r.centre for r in alert.centre_rows]),
        "current_version": alert.current_version, "created_at": alert.created_at, "updated_at": alert.updated_at,
        "source_alert_id": alert.source_alert_id,
    }
    if version is not None:
        data["version"] = present_version(version)
    return data


def present_comment(comment) -> dict:
    return {"id": comment.id, "author": comment.author.username, "centre": comment.author.centre.code,
            "version": comment.version_number, "field": comment.field, "body": comment.body,
            "created_at": comment.created_at}


def version_body(alert, number: int | None = None) -> dict:
    """Versions are immutable, so each worker keeps their rendered bodies (no texts/areas queries)."""
    number = alert.current_version if number is None else number
    cache, lock = services().version_bodies, services().cache_lock
    with lock:
        body = cache.get((alert.id, number))
    if body is None:
        body = present_version(authoring.get_version(db_session(), alert, number))
        with lock:
            cache[(alert.id, number)] = body
    return body


def alert_response(alert, status=200, version=None):
    data = present_alert(alert)
    data["version"] = present_version(version) if version is not None else version_body(alert)
    return data, status, {"ETag": etag(alert.current_version)}


def answer(alert, version=None) -> Response:
    """The alert as GET returns it, serialised once and kept for the next GET of the same state."""
    data, _, headers = alert_response(alert, version=version)
    body = current_app.json.dumps(AlertSchema().dump(data)).encode()
    with services().cache_lock:
        services().alert_answers[reads.answer_key(alert)] = body
    return Response(body, 200, headers, mimetype="application/json")


def link(method: str, path: str, **parameters: str) -> dict:
    """An OpenAPI link to another operation on /api/v1 (clients and Schemathesis' stateful tests follow them)."""
    pointer = ("/api/v1" + path).replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


ID = "$response.body#/id"


ALERT_LINKS = {"links": {
    "GetAlert": link("get", "/alerts/{alert_id}", alert_id=ID),
    "EditAlert": link("patch", "/alerts/{alert_id}", alert_id=ID, **{"header.If-Match": "$response.header.ETag"}),
    "ListVersions": link("get", "/alerts/{alert_id}/versions", alert_id=ID),
    "GetCurrentVersion": link("get", "/alerts/{alert_id}/versions/{number}", alert_id=ID,
                               number="$response.body#/current_version"),
    "DiffFromBase": link("get", "/alerts/{alert_id}/diff", alert_id=ID,
                          **{"query.from": "$response.body#/version/based_on",
                             "query.to": "$response.body#/current_version"}),
    "ListComments": link("get", "/alerts/{alert_id}/comments", alert_id=ID),
    "AddComment": link("post", "/alerts/{alert_id}/comments", alert_id=ID),
    "Readiness": link("get", "/alerts/{alert_id}/readiness", alert_id=ID),
    "Preview": link("get", "/alerts/{alert_id}/preview", alert_id=ID),
    "Submit": link("post", "/alerts/{alert_id}/submit", alert_id=ID, **{"header.If-Match": "$response.header.ETag"}),
    "Approvals": link("get", "/alerts/{alert_id}/approvals", alert_id=ID),
}}


@bp.route("/alerts")
class Alerts(ResourceView):

    @bp.arguments(ListArgsSchema, location="query")
    @bp.response(200, AlertListSchema)
    def get(self, args):
        """Alerts your centre takes part in (partners: only those shared with them)."""
        alerts, total = authoring.list_alerts(db_session(), g.user, state=args.get("state"),
                                              limit=args["limit"], offset=args["offset"])
        return {"total": total, "items": [present_alert(a) for a in alerts]}

    @bp.arguments(AlertCreateSchema)
    @bp.response(201, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(responses={"201": ALERT_LINKS})
    @doc_errors(bp, "403", "422")
    def post(self, data):
        """Create an alert led by your centre; version 1 is authored by you."""
        with operation() as session:
            alert = authoring.create_alert(session, g.user, data)
        return alert_response(alert, 201)


@bp.route("/alerts/<int:alert_id>")
class AlertItem(MethodView):
    """Not a ResourceView: GET checks the token in the same statement that reads the alert's head (the hot read
    path, alerts.reads); PATCH takes the usual token check."""

    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(responses={"200": ALERT_LINKS})
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """The alert with its current version; the ETag names that version for If-Match."""
        secret = bearer_secret()
        head = services().db.read(lambda connection: reads.alert_head(connection, secret, alert_id))
        if head is None:
            return unauthorized()
        g.username = head.username
        if not head.visible:
            raise NotFound(_("Alert %(id)s not found.", id=alert_id))
        cache, lock = services().alert_answers, services().cache_lock
        with lock:
            body = cache.get(head.cache_key)
        if body is None:
            user = accounts.user_for_token(db_session(), secret)
            if user is None:  # revoked between the two reads
                return unauthorized()
            return answer(authoring.get_alert(db_session(), user, alert_id))
        return Response(body, 200, {"ETag": etag(head.current_version)}, mimetype="application/json")

    @token_required
    @bp.arguments(AlertEditSchema)
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(responses={"200": ALERT_LINKS})
    @if_match(bp, _('Send If-Match with the ETag of the version you edited (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422")
    def patch(self, data, alert_id, expected):
        """Edit the alert: a new version on top of the one named in If-Match, never over someone else's."""
        summary = data.pop("summary", "")
        try:
            with operation() as session:
                version = authoring.edit_alert(session, g.user, alert_id, expected, data, summary)
                alert = session.get(Alert, alert_id)  # loaded (and locked) by edit_alert: no statement
        except StaleVersion as error:  # nothing was saved (operation() rolled back)
            return stale_response(error, alert_id)
        return answer(alert, version)


@bp.route("/alerts/<int:alert_id>/invitations")
class Invitations(ResourceView):

    @bp.arguments(InviteSchema)
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @if_match(bp, _('Send If-Match with the ETag of the version you invited on (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id, expected):
        """Invite another centre; its languages become required. Needs If-Match like an edit."""
        try:
            with operation() as session:
                authoring.invite_centre(session, g.user, alert_id, expected, data["centre"])
        except StaleVersion as error:  # nothing was saved (operation() rolled back)
            return stale_response(error, alert_id)
        return alert_response(authoring.get_alert(session, g.user, alert_id))


@bp.route("/alerts/<int:alert_id>/versions")
class Versions(ResourceView):

    @bp.response(200, VersionSummarySchema(many=True))
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return [present_version(v) for v in authoring.list_versions(session, alert)]


@bp.route("/alerts/<int:alert_id>/versions/<int:number>")
class VersionItem(ResourceView):

    @bp.response(200, VersionSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id, number):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return version_body(alert, number)


@bp.route("/alerts/<int:alert_id>/diff")
class Diff(ResourceView):

    @bp.arguments(DiffArgsSchema, location="query")
    @bp.response(200, DiffSchema)
    @doc_errors(bp, "403", "404", "422")
    def get(self, args, alert_id):
        """Field-level differences between two versions."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        changes = authoring.diff_versions(session, alert, args["from_"], args["to"])
        return {"from_": args["from_"], "to": args["to"],
                "changes": [{"field": c["field"], "from_": c["from"], "to": c["to"]} for c in changes]}


@bp.route("/alerts/<int:alert_id>/comments")
class Comments(ResourceView):

    @bp.response(200, CommentSchema(many=True))
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return [present_comment(c) for c in authoring.list_comments(session, alert)]

    @bp.arguments(CommentInSchema)
    @bp.response(201, CommentSchema)
    @doc_errors(bp, "403", "404", "422")
    def post(self, data, alert_id):
        """Comment on the alert, or on one field of it (e.g. 'texts.fr.headline')."""
        with operation() as session:
            comment = authoring.add_comment(session, g.user, alert_id, data["body"], data.get("field"))
        return present_comment(comment)


def stale_response(error: StaleVersion, alert_id: int):
    """412: nothing was saved; the current alert and version, its ETag and what changed since the caller's version."""
    alert = authoring.get_alert(db_session(), g.user, alert_id)
    current = {**present_alert(alert), "version": version_body(alert)}
    return problem(412, error.title, error.detail, "urn:benelert:problem:stale-version",
                   headers={"ETag": etag(alert.current_version)}, current=AlertSchema().dump(current), **error.extra)
