"""Review: readiness of the current version, submission, and each centre's approval or rejection."""
from __future__ import annotations

from flask import g

from alerts import authoring, review
from alerts.i18n import _
from channels.specs import TextLimits
from web import db_session, operation, services
from web.api.alerts import alert_response
from web.api.base import (
    ETAG_HEADER,
    PROBLEMS,
    ResourceView,
    doc_errors,
    for_caller,
    if_match,
    resource_blueprint,
)
from web.api.schemas import (
    AlertSchema,
    ApprovalsSchema,
    DecisionInSchema,
    ReadinessSchema,
    SubmitInSchema,
)

bp = resource_blueprint("review", "Readiness, submission, approvals")


@bp.route("/alerts/<int:alert_id>/readiness")
class Readiness(ResourceView):

    @bp.response(200, ReadinessSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """What blocks submission of the current version: languages, consistency, areas, expiry."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "history")
        problems = review.readiness(alert, authoring.get_version(session, alert),
                                    TextLimits.from_settings(services().settings))
        return {"ready": not any(p.severity == "error" for p in problems),
                "problems": for_caller(review.problem_dicts(problems))}


@bp.route("/alerts/<int:alert_id>/submit")
class Submit(ResourceView):

    @bp.arguments(SubmitInSchema, required=False)
    @bp.response(200, AlertSchema, headers=ETAG_HEADER)
    @if_match(bp, _('Send If-Match with the ETag of the version you submit (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422", descriptions={
        **PROBLEMS, "409": "Not possible in the alert's current state; or the area covers the territory of centres "
                           "that do not take part and confirm_outside does not name exactly them (code "
                           "outside-participants-unconfirmed, outside_participants)"})
    def post(self, data, alert_id, expected):
        """Submit the current version (If-Match) for approval; refused with the list of problems. When the area
        covers the territory of centres that do not take part, the body confirms them: {"confirm_outside": ["NL"]}."""
        with operation() as session:
            alert = review.submit_alert(session, g.user, alert_id, expected,
                                        TextLimits.from_settings(services().settings),
                                        (data or {}).get("confirm_outside"))
        return alert_response(alert)


@bp.route("/alerts/<int:alert_id>/approvals")
class Approvals(ResourceView):

    @bp.response(200, ApprovalsSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """Each centre's decision on the current version."""
        session = db_session()
        alert = authoring.get_alert(session, g.user, alert_id, "read")
        return _approvals(session, alert)

    @bp.arguments(DecisionInSchema)
    @bp.response(200, ApprovalsSchema)
    @if_match(bp, _('Send If-Match with the ETag of the version you reviewed (e.g. "v3").'))
    @doc_errors(bp, "403", "404", "409", "422")
    def post(self, data, alert_id, expected):
        """Approve or reject for your centre the exact content you reviewed (its hash, If-Match)."""
        with operation() as session:
            alert = review.decide(session, g.user, alert_id, expected, data["content_hash"], data["decision"],
                                  data["reason"])
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
