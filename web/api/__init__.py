"""The JSON API under /api/v1: parse input, call one operation, serialise. Bearer tokens only."""
from __future__ import annotations

import re
from http import HTTPStatus

from apispec import BasePlugin
from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from sqlalchemy import select

from alerts import accounts, authoring, drills, reads, release, review, updates
from alerts.content import canonical_content
from alerts.errors import InvalidInput, NotFound, StaleVersion
from alerts.models import Alert, ApiToken, Centre, Release, utcnow
from alerts.rendering import render_version
from channels.specs import TextLimits
from web import PROBLEM, db_session, problem, services
from web.api.schemas import (
    AlertCreateSchema,
    AlertEditSchema,
    AlertListSchema,
    AlertSchema,
    ApprovalsSchema,
    CentreSchema,
    CommentInSchema,
    CommentSchema,
    ConfirmationSchema,
    DecisionInSchema,
    DeriveSchema,
    DiffArgsSchema,
    DiffSchema,
    DrillReportSchema,
    InviteSchema,
    ListArgsSchema,
    MeSchema,
    PreviewArgsSchema,
    ProblemSchema,
    ReadinessSchema,
    ReleaseInSchema,
    ReleaseStatusSchema,
    RenderingSchema,
    TokenSchema,
    VersionSchema,
    VersionSummarySchema,
)
from web.auth import bearer_secret, token_required, unauthorized

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Benelert: co-authoring of public warnings")
ETAG = re.compile(r'^(?:W/)?"v(\d{1,9})"$')


class ErrorResponses(BasePlugin):
    """Errors every operation can answer, so that each one lists its own status codes (there is no
    catch-all "default"): 401 without a valid token, 400 and 413 for an unreadable or too large JSON body."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", HTTPStatus(401).name)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", HTTPStatus(400).name)
                responses.setdefault("413", HTTPStatus(413).name)


class BenelertApi(Api):
    """flask-smorest's Api, leaving error handling to web/__init__.py (problem+json for every error)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        """The error responses named by status (UNPROCESSABLE_ENTITY, ...) are problem+json, as web/ sends them."""
        for status in HTTPStatus:
            if status >= 400:
                self.spec.components.response(status.name, {
                    "description": status.phrase, "content": {PROBLEM: {"schema": ProblemSchema}}}, lazy=True)


def register(app) -> Api:
    app.config.update(
        API_TITLE="Benelert", API_VERSION="v1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = BenelertApi(app, spec_kwargs={"info": {"description": "Multilingual public-warning coordination."},
                                        "extra_plugins": [ErrorResponses()]})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                                    "description": "Personal API token (bnl_...)"})
    api.register_blueprint(bp)
    return api


def etag(number: int) -> str:
    return f'"v{number}"'


def expected_version() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = ETAG.match(raw.strip())
    if not match:
        raise InvalidInput(f"If-Match must be an ETag of this API such as \"v3\", not {raw!r}.")
    return int(match.group(1))


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


def _alert_response(alert, status=200, version=None):
    data = present_alert(alert)
    data["version"] = present_version(version) if version is not None else version_body(alert)
    return data, status, {"ETag": etag(alert.current_version)}


def _answer(alert, version=None) -> Response:
    """The alert as GET returns it, serialised once and kept for the next GET of the same state."""
    data, _, headers = _alert_response(alert, version=version)
    body = current_app.json.dumps(_jsonable(data)).encode()
    with services().cache_lock:
        services().alert_answers[reads.answer_key(alert)] = body
    return Response(body, 200, headers, mimetype="application/json")


def _stale_response(error: StaleVersion, alert_id: int):
    session = db_session()
    session.rollback()
    alert = authoring.get_alert(session, g.user, alert_id)
    current = {**present_alert(alert), "version": version_body(alert)}
    return problem(412, error.title, error.detail, "urn:benelert:problem:stale-version",
                   headers={"ETag": etag(alert.current_version)}, current=_jsonable(current), **error.extra)


def _jsonable(data):
    return AlertSchema().dump(data)


PROBLEMS = {"401": "Missing or invalid token", "403": "Your role may not do this",
            "404": "Not found or not visible to you", "409": "Not possible in the alert's current state",
            "412": "Someone saved first: the current version and a diff", "422": "Invalid input",
            "428": "If-Match missing"}
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": 'The current version, e.g. "v3"'}}


def _doc_errors(*codes):
    def decorate(view):
        for code in codes:
            view = bp.alt_response(code, schema=ProblemSchema, description=PROBLEMS.get(code, ""),
                                   content_type="application/problem+json")(view)
        return view
    return decorate


def _if_match(view):
    """State changes name the version they start from: If-Match is required (428 without), 412 when stale."""
    view = bp.doc(parameters=[{"in": "header", "name": "If-Match", "required": True,
                               "schema": {"type": "string", "pattern": ETAG.pattern},
                               "description": 'ETag of the version you saw, e.g. "v3"'}])(view)
    return _doc_errors("412", "428")(view)


def _link(method: str, path: str, **parameters: str) -> dict:
    """An OpenAPI link to another operation on /api/v1 (clients and Schemathesis' stateful tests follow them)."""
    pointer = ("/api/v1" + path).replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


_ID = "$response.body#/id"
ALERT_LINKS = {"links": {
    "GetAlert": _link("get", "/alerts/{alert_id}", alert_id=_ID),
    "EditAlert": _link("patch", "/alerts/{alert_id}", alert_id=_ID, **{"header.If-Match": "$response.header.ETag"}),
    "ListVersions": _link("get", "/alerts/{alert_id}/versions", alert_id=_ID),
    "GetCurrentVersion": _link("get", "/alerts/{alert_id}/versions/{number}", alert_id=_ID,
                               number="$response.body#/current_version"),
    "DiffFromBase": _link("get", "/alerts/{alert_id}/diff", alert_id=_ID,
                          **{"query.from": "$response.body#/version/based_on",
                             "query.to": "$response.body#/current_version"}),
    "ListComments": _link("get", "/alerts/{alert_id}/comments", alert_id=_ID),
    "AddComment": _link("post", "/alerts/{alert_id}/comments", alert_id=_ID),
    "Readiness": _link("get", "/alerts/{alert_id}/readiness", alert_id=_ID),
    "Preview": _link("get", "/alerts/{alert_id}/preview", alert_id=_ID),
    "Submit": _link("post", "/alerts/{alert_id}/submit", alert_id=_ID, **{"header.If-Match": "$response.header.ETag"}),
    "Approvals": _link("get", "/alerts/{alert_id}/approvals", alert_id=_ID),
}}


@bp.route("/me")
class Me(MethodView):
    decorators = [token_required]

    @bp.response(200, MeSchema)
    @bp.doc(security=[{"bearer": []}])
    def get(self):
        user = g.user
        return {"username": user.username, "display_name": user.display_name, "centre": user.centre.code,
                "roles": sorted(user.roles)}


@bp.route("/centres")
class Centres(MethodView):
    decorators = [token_required]

    @bp.response(200, CentreSchema(many=True))
    @bp.doc(security=[{"bearer": []}])
    def get(self):
        return list(db_session().scalars(select(Centre).order_by(Centre.code)))


@bp.route("/tokens")
class Tokens(MethodView):
    decorators = [token_required]

    @bp.response(200, TokenSchema(many=True))
    @bp.doc(security=[{"bearer": []}])
    def get(self):
        """Your personal API tokens (never their secrets)."""
        return list(db_session().scalars(select(ApiToken).where(ApiToken.user_id == g.user.id)
                                         .order_by(ApiToken.id)))


@bp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    decorators = [token_required]

    @bp.response(204)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404")
    def delete(self, token_id):
        """Revoke a token; it stops working at once."""
        session = db_session()
        accounts.revoke_token(session, g.user, token_id)
        session.commit()


@bp.route("/alerts")
class Alerts(MethodView):
    decorators = [token_required]

    @bp.arguments(ListArgsSchema, location="query")
    @bp.response(200, AlertListSchema)
    @bp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Alerts your centre takes part in (partners: only those shared with them)."""
        alerts, total = authoring.list_alerts(db_session(), g.user, state=args.get("state"),
                                              limit=args["limit"], offset=args["offset"])
        return {"total": total, "items": [present_alert(a) for a in alerts]}

    @bp.arguments(AlertCreateSchema)
    @bp.response(201, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}], responses={"201": ALERT_LINKS})
    @_doc_errors("403", "422")
    def post(self, data):
        """Create an alert led by your centre; version 1 is authored by you."""
        session = db_session()
        alert = authoring.create_alert(session, g.user, data)
        session.commit()
        return _alert_response(alert, 201)


@bp.route("/alerts/<int:alert_id>")
class AlertItem(MethodView):
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}], responses={"200": ALERT_LINKS})
    @_doc_errors("404")
    def get(self, alert_id):
        """The alert with its current version; the ETag names that version for If-Match."""
        secret = bearer_secret()
        head = services().db.read(lambda connection: reads.alert_head(connection, secret, alert_id))
        if head is None:
            return unauthorized()
        g.username = head.username
        if not head.visible:
            raise NotFound(f"Alert {alert_id} not found.")
        cache, lock = services().alert_answers, services().cache_lock
        with lock:
            body = cache.get(head.cache_key)
        if body is None:
            user = accounts.user_for_token(db_session(), secret)
            if user is None:  # revoked between the two reads
                return unauthorized()
            return _answer(authoring.get_alert(db_session(), user, alert_id))
        return Response(body, 200, {"ETag": etag(head.current_version)}, mimetype="application/json")

    @token_required
    @bp.arguments(AlertEditSchema)
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}], responses={"200": ALERT_LINKS})
    @_if_match
    @_doc_errors("403", "404", "409", "422")
    def patch(self, data, alert_id):
        """Edit the alert: a new version on top of the one named in If-Match, never over someone else's."""
        expected, refusal = _require_if_match("edited")
        if refusal:
            return refusal
        session = db_session()
        summary = data.pop("summary", "")
        try:
            version = authoring.edit_alert(session, g.user, alert_id, expected, data, summary)
        except StaleVersion as error:
            return _stale_response(error, alert_id)
        alert = session.get(Alert, alert_id)  # loaded (and locked) by edit_alert: no statement
        session.commit()
        return _answer(alert, version)


@bp.route("/alerts/<int:alert_id>/invitations")
class Invitations(MethodView):
    decorators = [token_required]

    @bp.arguments(InviteSchema)
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}])
    @_if_match
    @_doc_errors("403", "404", "409", "422")
    def post(self, data, alert_id):
        """Invite another centre; its languages become required. Needs If-Match like an edit."""
        expected, refusal = _require_if_match("invited on")
        if refusal:
            return refusal
        session = db_session()
        try:
            authoring.invite_centre(session, g.user, alert_id, expected, data["centre"])
        except StaleVersion as error:
            return _stale_response(error, alert_id)
        session.commit()
        return _alert_response(authoring.get_alert(session, g.user, alert_id))


@bp.route("/alerts/<int:alert_id>/versions")
class Versions(MethodView):
    decorators = [token_required]

    @bp.response(200, VersionSummarySchema(many=True))
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404")
    def get(self, alert_id):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return [present_version(v) for v in authoring.list_versions(session, alert)]


@bp.route("/alerts/<int:alert_id>/versions/<int:number>")
class VersionItem(MethodView):
    decorators = [token_required]

    @bp.response(200, VersionSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404")
    def get(self, alert_id, number):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return version_body(alert, number)


@bp.route("/alerts/<int:alert_id>/diff")
class Diff(MethodView):
    decorators = [token_required]

    @bp.arguments(DiffArgsSchema, location="query")
    @bp.response(200, DiffSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404", "422")
    def get(self, args, alert_id):
        """Field-level differences between two versions."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        changes = authoring.diff_versions(session, alert, args["from_"], args["to"])
        return {"from_": args["from_"], "to": args["to"],
                "changes": [{"field": c["field"], "from_": c["from"], "to": c["to"]} for c in changes]}


@bp.route("/alerts/<int:alert_id>/comments")
class Comments(MethodView):
    decorators = [token_required]

    @bp.response(200, CommentSchema(many=True))
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404")
    def get(self, alert_id):
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        return [present_comment(c) for c in authoring.list_comments(session, alert)]

    @bp.arguments(CommentInSchema)
    @bp.response(201, CommentSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404", "422")
    def post(self, data, alert_id):
        """Comment on the alert, or on one field of it (e.g. 'texts.fr.headline')."""
        session = db_session()
        comment = authoring.add_comment(session, g.user, alert_id, data["body"], data.get("field"))
        session.commit()
        return present_comment(comment)




def _require_if_match(what: str):
    expected = expected_version()
    if expected is None:
        return None, problem(428, "Precondition Required",
                             f'Send If-Match with the ETag of the version you {what} (e.g. "v3").')
    return expected, None


@bp.route("/alerts/<int:alert_id>/readiness")
class Readiness(MethodView):
    decorators = [token_required]

    @bp.response(200, ReadinessSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404")
    def get(self, alert_id):
        """What blocks submission of the current version: languages, consistency, areas, expiry."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        problems = review.readiness(alert, authoring.get_version(session, alert))
        return {"ready": not any(p.severity == "error" for p in problems),
                "problems": review.problem_dicts(problems)}


@bp.route("/alerts/<int:alert_id>/submit")
class Submit(MethodView):
    decorators = [token_required]

    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}])
    @_if_match
    @_doc_errors("403", "404", "409", "422")
    def post(self, alert_id):
        """Submit the current version (If-Match) for approval; refused with the list of problems."""
        expected, refusal = _require_if_match("submit")
        if refusal:
            return refusal
        session = db_session()
        alert = review.submit_alert(session, g.user, alert_id, expected)
        session.commit()
        return _alert_response(alert)


@bp.route("/alerts/<int:alert_id>/approvals")
class Approvals(MethodView):
    decorators = [token_required]

    @bp.response(200, ApprovalsSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404")
    def get(self, alert_id):
        """Each centre's decision on the current version."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        return _approvals(session, alert)

    @bp.arguments(DecisionInSchema)
    @bp.response(200, ApprovalsSchema)
    @bp.doc(security=[{"bearer": []}])
    @_if_match
    @_doc_errors("403", "404", "409", "422")
    def post(self, data, alert_id):
        """Approve or reject for your centre the exact content you reviewed (its hash, If-Match)."""
        expected, refusal = _require_if_match("reviewed")
        if refusal:
            return refusal
        session = db_session()
        alert = review.decide(session, g.user, alert_id, expected, data["content_hash"], data["decision"],
                              data["reason"])
        session.commit()
        return _approvals(session, alert)


def _approvals(session, alert) -> dict:
    version = authoring.get_version(session, alert)
    return {
        "version": version.number, "content_hash": version.content_hash,
        "centres": review.approval_state(session, alert, version),
        "decisions": [{"centre": a.centre.code, "user": a.user.username, "decision": a.decision, "reason": a.reason,
                       "version": a.version_number, "content_hash": a.content_hash, "created_at": a.created_at}
                      for a in review.decisions(session, alert, version)],
    }


@bp.route("/alerts/<int:alert_id>/preview")
class Preview(MethodView):
    decorators = [token_required]

    @bp.arguments(PreviewArgsSchema, location="query")
    @bp.response(200, RenderingSchema(many=True))
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403", "404", "422")
    def get(self, args, alert_id):
        """What every channel would send in every language, with counts and problems."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        version = authoring.get_version(session, alert, args.get("version"))
        renderings = render_version(canonical_content(version), TextLimits.from_settings(services().settings))
        return [{"language": r.language, "channel": r.channel, "text": r.text, "ok": r.ok,
                 "problems": list(r.problems),
                 "fits": [{"channel": f.channel, "length": f.length, "limit": f.limit, "encoding": f.encoding,
                           "parts": f.parts, "max_parts": f.max_parts, "ok": f.ok} for f in r.fits]}
                for r in renderings]


def release_options() -> release.ReleaseOptions:
    return release.ReleaseOptions.from_settings(services().settings)


@bp.route("/alerts/<int:alert_id>/release/confirmation")
class ReleaseConfirmation(MethodView):
    decorators = [token_required]

    @bp.arguments(ReleaseInSchema)
    @bp.response(200, ConfirmationSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404", "422")
    def post(self, data, alert_id):
        """What a release would do (mode, areas, languages, channels, recipients); changes nothing."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        version = authoring.get_version(session, alert)
        content = canonical_content(version)
        return release.confirmation(session, alert, content, data["channels"], data.get("at") or utcnow())


@bp.route("/alerts/<int:alert_id>/release")
class ReleaseItem(MethodView):
    decorators = [token_required]

    @bp.arguments(ReleaseInSchema)
    @bp.response(201, ReleaseStatusSchema)
    @bp.doc(security=[{"bearer": []}])
    @_if_match
    @_doc_errors("403", "404", "409", "422")
    def post(self, data, alert_id):
        """Schedule the approved content (If-Match + content hash) at T, or now."""
        expected, refusal = _require_if_match("confirmed")
        if refusal:
            return refusal
        session = db_session()
        planned = release.schedule_release(session, g.user, alert_id, expected, data["content_hash"],
                                           data["channels"], data.get("at"), release_options())
        session.commit()
        return _release_status(session, planned)

    @bp.response(200, ReleaseStatusSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404")
    def get(self, alert_id):
        """Per centre and channel: pending, sent, delivered, failed; lateness against T and skew."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        planned = session.scalar(select(Release).where(Release.alert_id == alert.id))
        if planned is None:
            raise NotFound("This alert has no release.")
        return _release_status(session, planned)


def _release_status(session, planned) -> dict:
    alert = session.get(Alert, planned.alert_id)
    version = authoring.get_version(session, alert, planned.version_number)
    counts = release.delivery_counts(session, planned)
    return {
        "id": planned.id, "state": planned.state, "mode": planned.mode, "scheduled_for": planned.scheduled_for,
        "fired_at": planned.fired_at, "late_ms": planned.late_ms, "skew_ms": release.skew_ms(session, planned),
        "deliveries": {centre: {channel: dict(states) for channel, states in per.items()}
                       for centre, per in counts.items()},
        "confirmation": release.confirmation(session, alert, canonical_content(version), planned.channels,
                                             planned.scheduled_for),
    }


@bp.route("/alerts/<int:alert_id>/derive")
class Derive(MethodView):
    decorators = [token_required]

    @bp.arguments(DeriveSchema)
    @bp.response(201, AlertSchema, headers=ETAG_HEADER)
    @bp.doc(security=[{"bearer": []}], responses={"201": ALERT_LINKS})
    @_doc_errors("403", "404", "409", "422")
    def post(self, data, alert_id):
        """Start an Update (a copy to edit) or a Cancel (pre-filled) of a released alert."""
        session = db_session()
        source = authoring.get_alert(session, g.user, alert_id, "edit", lock=True)
        derived = updates.derive_alert(session, g.user, source, data["msg_type"], release_options().cap_sender_domain)
        session.commit()
        return _alert_response(derived, 201)


@bp.route("/alerts/<int:alert_id>/cancel")
class PreparedCancel(MethodView):
    decorators = [token_required]

    @bp.response(200, AlertSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404")
    def get(self, alert_id):
        """The Cancel prepared for a live alert when it was released, ready to approve."""
        session = db_session()
        source = authoring.get_alert(session, g.user, alert_id, "read")
        cancel = updates.prepared_cancel(session, source)
        if cancel is None:
            raise NotFound("No Cancel is prepared for this alert.")
        return _alert_response(authoring.get_alert(session, g.user, cancel.id, "read"))


@bp.route("/communication-tests")
class CommunicationTests(MethodView):
    decorators = [token_required]

    @bp.response(201, DrillReportSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("403")
    def post(self):
        """Send a Test message to every partner centre now (partner webhooks only, never the public)."""
        session = db_session()
        alert = drills.start_communication_test(session, g.user)
        session.commit()
        return drills.communication_test_report(session, g.user, alert.id)


@bp.route("/communication-tests/<int:alert_id>")
class CommunicationTestReport(MethodView):
    decorators = [token_required]

    @bp.response(200, DrillReportSchema)
    @bp.doc(security=[{"bearer": []}])
    @_doc_errors("404")
    def get(self, alert_id):
        """Who acknowledged the communication test, and how fast."""
        return drills.communication_test_report(db_session(), g.user, alert_id)
