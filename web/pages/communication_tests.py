"""The communication tests as pages: the history with a chart per centre across quarters, each test's answers with
who to call where none came, the quarterly schedule (network administrators change it), and a button to start one
(the rules: alerts.drills, alerts.comm_test_schedule, alerts.comm_test_reports)."""
from __future__ import annotations

import math

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from alerts import centres, comm_test_reports, comm_test_schedule, drills
from alerts.access import NETWORK_RULES
from web import db_session, release_options
from web.auth import login_required
from web.pages import bp
from web.pages.centres import EUROPEAN_ZONES
from web.pages.common import perform

BAR_HEIGHT = 40  # px: the longest answer of the chart


def status_label(status: str) -> str:
    return {"acknowledged": pgettext("acknowledgement", "acknowledged"), "late": pgettext("acknowledgement", "late"),
            "overdue": pgettext("acknowledgement", "overdue"), "waiting": pgettext("acknowledgement", "awaited"),
            "not-reached": pgettext("acknowledgement", "not reached"),
            "not-sent": pgettext("acknowledgement", "not sent")}.get(status, status)


def quarter_name(label: str) -> str:
    """"2026-Q4" as the interface language writes a quarter."""
    year, quarter = label.split("-Q")
    return _("Q%(quarter)d %(year)d", quarter=int(quarter), year=int(year))


def bar(seconds: float | None, longest: float | None) -> int:
    """A bar's height: square-root scale, so that a 20 s answer is still seen next to a 2 h one."""
    if seconds is None or not longest:
        return 0
    return max(2, round(BAR_HEIGHT * math.sqrt(seconds / longest)))


def _may(rule: str) -> bool:
    return bool(g.user.roles & NETWORK_RULES[rule])


@bp.get("/network/communication-tests")
@login_required
def communication_tests():
    dbs = db_session()
    reports = comm_test_reports.history(dbs, g.user, comm_test_reports.MAX_TESTS)
    return render_template("pages/communication_tests.html", reports=reports,
                           chart=comm_test_reports.chart(dbs, reports), schedule=comm_test_reports.schedule_view(dbs),
                           centres=[c for c in centres.listing(dbs) if c.active], zones=EUROPEAN_ZONES,
                           may_start=_may("start-communication-test"),
                           may_schedule=_may("schedule-communication-tests"), status_label=status_label,
                           bar=bar, quarter_name=quarter_name, bar_height=BAR_HEIGHT)


@bp.get("/network/communication-tests/<int:alert_id>")
@login_required
def communication_test(alert_id):
    report = comm_test_reports.communication_test_report(db_session(), g.user, alert_id)
    return render_template("pages/communication_test.html", report=report, status_label=status_label,
                           quarter_name=quarter_name)


@bp.post("/network/communication-tests")
@login_required
def start_communication_test():
    return perform(lambda session: drills.start_communication_test(session, g.user, release_options()),
                   _("The communication test is on its way to every partner centre."),
                   url_for("pages.communication_tests"))


def _schedule_form(form) -> dict:
    """The schedule form's values in the shape alerts.comm_test_schedule checks (it says what is wrong)."""
    values: dict = {"enabled": form.get("enabled") == "on", "reminder_sms": form.get("reminder_sms") == "on",
                    "organiser": form.get("organiser") or None, "time": form.get("time", "").strip(),
                    "timezone": form.get("timezone", "").strip()}
    for name in ("month_of_quarter", "day"):
        raw = form.get(name, "").strip()
        values[name] = int(raw) if raw.isdigit() and len(raw) <= 3 else raw
    return values


@bp.post("/network/communication-tests/schedule")
@login_required
def change_communication_test_schedule():
    values = _schedule_form(request.form)
    return perform(lambda session: comm_test_schedule.change(session, g.user, values),
                   _("The schedule of the communication tests is saved."), url_for("pages.communication_tests"))
