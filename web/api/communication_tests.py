"""The quarterly communication test of the partner network and its report."""
from __future__ import annotations

from flask import g

from alerts import drills
from web import db_session, operation, release_options
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint
from web.api.schemas import (
    DrillReportSchema,
)

bp = resource_blueprint("communication_tests", "Communication tests of the partner network")


@bp.route("/communication-tests")
class CommunicationTests(ResourceView):

    @bp.response(201, DrillReportSchema)
    @doc_errors(bp, "403", "429", descriptions={**PROBLEMS, "429": "The centre's previous test is too recent "
                                                                   "(retry_after_s says when to try again)"})
    def post(self):
        """Send a Test message to every partner centre now (partner webhooks only, never the public)."""
        with operation() as session:
            alert = drills.start_communication_test(session, g.user, release_options())
        return drills.communication_test_report(session, g.user, alert.id)


@bp.route("/communication-tests/<int:alert_id>")
class CommunicationTestReport(ResourceView):

    @bp.response(200, DrillReportSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """Who acknowledged the communication test, and how fast."""
        return drills.communication_test_report(db_session(), g.user, alert_id)
