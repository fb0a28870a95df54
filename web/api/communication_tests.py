"""The communication tests of the partner network: started on demand or by the quarterly schedule (a network
setting), their reports and history (alerts.comm_test_reports)."""
from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from alerts import comm_test_reports, comm_test_schedule, drills
from web import db_session, operation, release_options
from web.api.base import PROBLEMS, ResourceView, doc_errors, resource_blueprint
from web.api.schemas import DrillReportSchema

bp = resource_blueprint("communication_tests", "Communication tests of the partner network")


class HistoryArgs(Schema):
    limit = fields.Integer(load_default=40, validate=validate.Range(1, comm_test_reports.MAX_TESTS))


class ScheduleChangeSchema(Schema):
    enabled = fields.Boolean()
    organiser = fields.String(allow_none=True, validate=validate.Length(max=16),
                              metadata={"description": "The code of the centre that sends the scheduled tests"})
    month_of_quarter = fields.Integer(validate=validate.Range(1, 3), metadata={
        "description": "1: January, April, July, October; 2: the quarter's second month; 3: its third"})
    day = fields.Integer(validate=validate.Range(1, 28))
    time = fields.String(validate=validate.Regexp(comm_test_schedule.TIME.pattern),
                         metadata={"description": "Local time HH:MM in `timezone`"})
    timezone = fields.String(validate=validate.Length(max=64), metadata={"description": "IANA time zone"})
    reminder_sms = fields.Boolean(metadata={
        "description": "A partner copy not acknowledged within its centre's deadline sends an SMS to that centre's "
                       "24/7 duty desk (its contact point's phone)"})


class RunSchema(Schema):
    quarter = fields.String()
    at = fields.DateTime()
    alert_id = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"description": "sent, or why it was not"})


class ScheduleSchema(ScheduleChangeSchema):
    next_at = fields.DateTime(allow_none=True, metadata={"description": "The next scheduled test (UTC)"})
    runs = fields.List(fields.Nested(RunSchema), metadata={"description": "Scheduled runs, newest first"})


@bp.route("/communication-tests")
class CommunicationTests(ResourceView):

    @bp.arguments(HistoryArgs, location="query")
    @bp.response(200, DrillReportSchema(many=True))
    @doc_errors(bp, "403", "422")
    def get(self, args):
        """Every communication test of the network, newest first, with each centre's acknowledgement latency,
        overdue copies and the contact points of the centres that did not answer."""
        return comm_test_reports.history(db_session(), g.user, args["limit"])

    @bp.response(201, DrillReportSchema)
    @doc_errors(bp, "403", "429", descriptions={**PROBLEMS, "429": "The centre's previous test is too recent "
                                                                   "(retry_after_s says when to try again)"})
    def post(self):
        """Send a Test message to every partner centre now (partner webhooks only, never the public)."""
        with operation() as session:
            alert = drills.start_communication_test(session, g.user, release_options())
        return comm_test_reports.communication_test_report(session, g.user, alert.id)


@bp.route("/communication-tests/schedule")
class CommunicationTestSchedule(ResourceView):

    @bp.response(200, ScheduleSchema)
    @doc_errors(bp, "403")
    def get(self):
        """The quarterly schedule (a network setting), the next moment and the quarters it ran in."""
        comm_test_reports.require_reader(g.user)
        return comm_test_reports.schedule_view(db_session())

    @bp.arguments(ScheduleChangeSchema)
    @bp.response(200, ScheduleSchema)
    @doc_errors(bp, "403", "422")
    def put(self, data):
        """Network administrators: change the schedule (any subset of its settings). Audited."""
        with operation() as session:
            comm_test_schedule.change(session, g.user, data)
        return comm_test_reports.schedule_view(db_session())


@bp.route("/communication-tests/<int:alert_id>")
class CommunicationTestReport(ResourceView):

    @bp.response(200, DrillReportSchema)
    @doc_errors(bp, "403", "404")
    def get(self, alert_id):
        """Who acknowledged the communication test, and how fast."""
        return comm_test_reports.communication_test_report(db_session(), g.user, alert_id)
