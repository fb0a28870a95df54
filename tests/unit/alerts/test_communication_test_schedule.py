"""The quarterly communication test (#18 item 7): its schedule as a network setting (API and CLI, checked, audited),
the worker's run once per quarter, late or missed runs, the history with per-centre latency and the chart, overdue
acknowledgements and the reminder SMS to a centre's duty desk, sent by the real dispatcher to the Twilio stand-in.
On SQLite and PostgreSQL."""
from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from alerts import comm_test_reports, comm_test_schedule, firing, release
from alerts.ack_deadlines import REMINDER, remind_overdue, status_of
from alerts.contact_point_model import ContactPoint
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.factory import system_author
from alerts.models import Ack, Alert, AuditEvent, Centre, Delivery, Payload, Release, Version, utcnow
from alerts.network_setting_model import NetworkSetting, ScheduledTestRun
from channels import build_channels
from devtools.demo import ensure_centres
from devtools.world import ServedApp, channels_config, start_fakes, wire_centres, write_channels_file

OPTIONS = release.ReleaseOptions(sandbox={"sms": "+32470000099", "x": "SANDBOX", "national": ""})
ON = {"enabled": True, "organiser": "BE", "month_of_quarter": 2, "day": 10, "time": "10:00",
      "timezone": "Europe/Brussels"}
DESK_PHONE = "+3222000000"


@pytest.fixture
def world(make_app, tmp_path):
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        app = make_app(channels_file=write_channels_file(tmp_path, channels_config(fakes)))
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
        served = ServedApp(app)
        stack.callback(served.stop)
        config = channels_config(fakes, callback_url=served.url + "/hooks/twilio/status")
        app.extensions["benelert"].channels_config = config
        wire_centres(db, fakes)  # LU receives partner copies at the stand-in receivers
        yield app, db, fakes, build_channels(config)


def bring_forward(db, alert_id: int, delta: timedelta) -> None:
    """Shift a test staged at a chosen moment to the real clock, as if that moment had just come: its release's
    moment, its ledger rows' due times and its expiry move by `delta` (the dispatcher reads the real clock)."""
    with db.transaction() as session:
        rel = session.scalar(select(Release).where(Release.alert_id == alert_id))
        rel.scheduled_for += delta
        for row in session.scalars(select(Delivery).where(Delivery.release_id == rel.id)):
            row.next_attempt_at += delta
        for version_id, expires in session.execute(select(Version.id, Version.expires)
                                                   .where(Version.alert_id == alert_id)).all():
            session.execute(update(Version).where(Version.id == version_id).values(expires=expires + delta))


def drain(db, channels) -> None:
    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=2))
    for _ in range(30):
        if not dispatcher.run_once():
            break


def written(db) -> tuple:
    with db.transaction() as session:
        return (session.scalar(select(func.count()).select_from(NetworkSetting)),
                session.scalar(select(func.count()).select_from(AuditEvent)))


def set_schedule(db, at: datetime = datetime(2027, 1, 1, tzinfo=UTC), **values) -> comm_test_schedule.Schedule:
    """The schedule, as changed at `at` (before the moments the tests run it at)."""
    with db.transaction() as session:
        schedule = comm_test_schedule.change(session, "test", {**ON, **values})
        session.get(NetworkSetting, comm_test_schedule.KEY).updated_at = at
        return schedule


def add_duty_desk(db, code: str, phone: str = DESK_PHONE) -> None:
    with db.transaction() as session:
        centre = session.scalar(select(Centre).where(Centre.code == code))
        author = system_author(session, centre).id
        session.add(ContactPoint(centre_id=centre.id, field="duty-desk", function="Duty officer", phone=phone,
                                 email="desk@example.lu", languages=["fr"], hours="24/7", created_by_id=author,
                                 updated_by_id=author))


def set_deadline(db, code: str, minutes: int | None) -> None:
    with db.transaction() as session:
        session.scalar(select(Centre).where(Centre.code == code)).ack_deadline_minutes = minutes


# ---- the schedule -------------------------------------------------------------------------------------------------

def test_the_moment_is_local_time_in_the_quarter_across_daylight_saving_time():
    schedule = comm_test_schedule.Schedule(**ON)
    assert schedule.moment(2027, 1) == datetime(2027, 2, 10, 9, 0, tzinfo=UTC)  # CET
    assert schedule.moment(2027, 3) == datetime(2027, 8, 10, 8, 0, tzinfo=UTC)  # CEST
    assert schedule.next_moment(datetime(2027, 2, 10, 9, 0, tzinfo=UTC)) == datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
    assert schedule.next_moment(datetime(2027, 2, 10, 9, 1, tzinfo=UTC)) == datetime(2027, 5, 10, 8, 0, tzinfo=UTC)
    assert schedule.next_moment(datetime(2027, 12, 1, tzinfo=UTC)) == datetime(2028, 2, 10, 9, 0, tzinfo=UTC)
    assert comm_test_schedule.Schedule().next_moment(datetime(2027, 1, 1, tzinfo=UTC)) is None  # off by default


def test_a_network_admin_sets_the_schedule_through_the_api_and_it_is_audited(app, db, api_as):
    admin = api_as("BE", "network-admin")
    answer = admin.put("/communication-tests/schedule", json=ON)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["organiser"] == "BE" and body["day"] == 10 and body["next_at"] and body["runs"] == []
    assert api_as("NL", "communicator").get("/communication-tests/schedule").get_json()["organiser"] == "BE"
    with db.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "network.schedule")).one()
        assert "organiser" in event.detail["changed"]
    for role in ("admin", "spokesperson", "communicator"):
        assert api_as("NL", role).put("/communication-tests/schedule", json={"day": 3}).status_code == 403
    assert api_as("LU", "partner").get("/communication-tests/schedule").status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"organiser": "XX"}, "organiser"), ({"day": 29}, "day"), ({"day": 0}, "day"),
    ({"month_of_quarter": 4}, "month_of_quarter"), ({"time": "25:00"}, "time"), ({"time": "9h"}, "time"),
    ({"timezone": "Mars/Olympus"}, "timezone"), ({"organiser": None}, "organiser"), ({"colour": "red"}, "colour"),
])
def test_a_bad_schedule_is_refused_with_its_field_and_nothing_is_written(db, api_as, change, field):
    admin = api_as("BE", "network-admin")
    before = written(db)
    answer = admin.put("/communication-tests/schedule", json={**ON, **change})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert field in (problem.get("field"), *problem.get("errors", {})), problem
    assert written(db) == before


def test_the_cli_sets_and_shows_the_schedule(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["communication-tests", "schedule", "--on", "--organiser", "BE", "--month", "1",
                                 "--day", "5", "--time", "09:30", "--timezone", "Europe/Luxembourg",
                                 "--reminder-sms"])
    assert result.exit_code == 0, result.output
    assert '"organiser": "BE"' in result.output and '"reminder_sms": true' in result.output
    with db.transaction() as session:
        assert comm_test_schedule.read(session).time == "09:30"
    refused = runner.invoke(args=["communication-tests", "schedule", "--day", "31"])
    assert refused.exit_code != 0 and "28" in refused.output


# ---- the worker's run ---------------------------------------------------------------------------------------------

def test_the_worker_sends_the_quarters_test_once_at_its_moment(world, api_as):
    app, db, fakes, channels = world
    set_schedule(db)
    moment = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        assert comm_test_schedule.run_due(session, OPTIONS, moment - timedelta(seconds=1)) is None
    with db.transaction() as session:
        run = comm_test_schedule.run_due(session, OPTIONS, moment + timedelta(seconds=5))
        assert run.quarter == "2027-Q1" and run.outcome == "sent" and run.alert_id
        alert_id = run.alert_id
    with db.transaction() as session:  # a second tick, or a second scheduler: nothing more
        assert comm_test_schedule.run_due(session, OPTIONS, moment + timedelta(minutes=1)) is None
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.identifier.contains("-test-"))) == 1
    with db.transaction() as session:
        rows = session.scalars(select(Delivery).join(Release, Release.id == Delivery.release_id)
                               .where(Release.alert_id == alert_id)).all()
        assert {(row.channel, row.target) for row in rows} == {("partners", r.url) for r in fakes.partners}
        assert all(row.next_attempt_at == moment + timedelta(seconds=5) for row in rows)
    bring_forward(db, alert_id, utcnow() - (moment + timedelta(seconds=5)))  # time passes: the moment is now
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    assert sum(len(receiver.deliveries) for receiver in fakes.partners) == len(fakes.partners)
    assert fakes.twilio.per_to == {} and fakes.x.posts == []  # never public
    reports = api_as("NL", "spokesperson").get("/communication-tests").get_json()
    assert [r["alert_id"] for r in reports] == [alert_id]
    assert reports[0]["scheduled"] == "2027-Q1" and reports[0]["started_by"] is None
    assert reports[0]["lead_centre"] == "BE" and reports[0]["of"] == 1 and reports[0]["partners"][0]["centre"] == "LU"


def test_a_moment_missed_by_more_than_a_day_is_recorded_as_missed_not_sent(db):
    set_schedule(db)
    with db.transaction() as session:
        run = comm_test_schedule.run_due(session, OPTIONS, datetime(2027, 2, 12, 9, 0, tzinfo=UTC))
        assert run.outcome.startswith("missed") and run.alert_id is None
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "drill.schedule"))["outcome"] \
            == run.outcome


def test_a_schedule_set_after_the_quarters_moment_starts_with_the_next_quarter(db):
    set_schedule(db, at=datetime(2027, 2, 20, tzinfo=UTC))
    with db.transaction() as session:
        assert comm_test_schedule.run_due(session, OPTIONS, datetime(2027, 2, 20, 0, 1, tzinfo=UTC)) is None
        assert comm_test_schedule.run_due(session, OPTIONS, datetime(2027, 5, 10, 8, 0, 1, tzinfo=UTC)).outcome \
            == "sent"


def test_an_inactive_organiser_sends_nothing_and_says_so(db):
    set_schedule(db, organiser="NL")
    with db.transaction() as session:
        session.scalar(select(Centre).where(Centre.code == "NL")).active = False
    with db.transaction() as session:
        run = comm_test_schedule.run_due(session, OPTIONS, datetime(2027, 2, 10, 10, 0, tzinfo=UTC))
        assert run.outcome.startswith("not sent") and run.alert_id is None
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ScheduledTestRun)) == 1


def test_two_schedulers_record_the_quarter_once(db):
    set_schedule(db)
    moment = datetime(2027, 2, 10, 9, 0, 30, tzinfo=UTC)
    with db.transaction() as first, db.transaction() as second:
        assert comm_test_schedule.run_due(first, OPTIONS, moment) is not None
        first.commit()
        assert comm_test_schedule.run_due(second, OPTIONS, moment) is None


# ---- acknowledgement deadlines and reminders ----------------------------------------------------------------------

@pytest.mark.parametrize("delivery, ack, deadline, minutes_after, expected", [
    ("sent", None, 30, 29, "waiting"), ("sent", None, 30, 30, "overdue"), ("sent", None, None, 600, "waiting"),
    ("sent", 10, 30, 40, "acknowledged"), ("delivered", 31, 30, 40, "late"), ("failed", None, 30, 40, "not-reached"),
    ("pending", None, 30, 40, "waiting"),
])
def test_a_copys_status(delivery, ack, deadline, minutes_after, expected):
    sent = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    sent_at = None if delivery in ("failed", "pending") else sent
    acked = None if ack is None else sent + timedelta(minutes=ack)
    assert status_of(delivery, sent_at, acked, deadline, sent + timedelta(minutes=minutes_after)) == expected


def sent_test(world, api_as) -> tuple[dict, datetime]:
    app, db, fakes, channels = world
    started = api_as("BE", "spokesperson").post("/communication-tests")
    assert started.status_code == 201, started.get_json()
    with db.transaction() as session:
        firing.release_due(session, OPTIONS, "w1")
    drain(db, channels)
    with db.transaction() as session:
        sent_at = session.scalar(select(func.max(Delivery.sent_at)).where(Delivery.channel == "partners"))
    assert sent_at is not None
    return started.get_json(), sent_at


def age_copies(db, minutes: float) -> None:
    """As if the partner copies had been sent `minutes` earlier."""
    with db.transaction() as session:
        for row in session.scalars(select(Delivery).where(Delivery.channel == "partners")):
            row.sent_at -= timedelta(minutes=minutes)
        for rel in session.scalars(select(Release)):
            rel.fired_at -= timedelta(minutes=minutes)


def test_an_overdue_copy_reminds_the_duty_desk_once_by_sms_through_the_ledger(world, api_as):
    app, db, fakes, channels = world
    set_deadline(db, "LU", 30)
    add_duty_desk(db, "LU")
    report, _ = sent_test(world, api_as)
    age_copies(db, 29)
    with db.transaction() as session:
        assert remind_overdue(session) == []  # not yet
    age_copies(db, 2)
    with db.transaction() as session:
        reminded = remind_overdue(session)
        assert [code for _, code in reminded] == ["LU"]
    with db.transaction() as session:  # the next tick: no second reminder
        assert remind_overdue(session) == []
        row = session.scalars(select(Delivery).where(Delivery.channel == "sms")).one()
        payload = session.get(Payload, row.payload_id)
        assert row.target == DESK_PHONE and row.lane == "main" and payload.meta["type"] == REMINDER
        assert "LU" in payload.body and "acknowledge" in payload.body
    drain(db, channels)
    assert fakes.twilio.per_to == {DESK_PHONE: 1}
    body = api_as("NL", "communicator").get(f"/communication-tests/{report['alert_id']}").get_json()
    lu = body["partners"][0]
    assert lu["status"] == "overdue" and body["overdue"] == 1
    assert lu["reminder"] == "sent" and lu["contacts"][0]["phone"] == DESK_PHONE and lu["deadline_minutes"] == 30
    assert api_as("LU", "partner").post("/acks", json={"identifier": report["identifier"], "kind": "received"}) \
        .status_code in (200, 201)
    lu = api_as("NL", "communicator").get(f"/communication-tests/{report['alert_id']}").get_json()["partners"][0]
    assert lu["status"] == "late" and lu["contacts"] == []


def test_no_reminder_without_a_deadline_a_duty_desk_or_when_acknowledged(world, api_as):
    app, db, fakes, channels = world
    add_duty_desk(db, "LU")
    report, sent_at = sent_test(world, api_as)
    late = sent_at + timedelta(hours=3)
    with db.transaction() as session:
        assert remind_overdue(session, late) == []  # LU has no deadline
    set_deadline(db, "LU", 30)
    with db.transaction() as session:
        desk = session.scalars(select(ContactPoint)).one()
        session.delete(desk)
    with db.transaction() as session:
        assert remind_overdue(session, late) == []  # no duty desk number to remind
    add_duty_desk(db, "LU")
    assert api_as("LU", "partner").post("/acks", json={"identifier": report["identifier"], "kind": "received"}) \
        .status_code in (200, 201)
    with db.transaction() as session:
        assert remind_overdue(session, late) == []  # acknowledged
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "sms")) == 0


def test_the_history_lists_every_test_with_latency_and_names_who_to_call(world, api_as):
    app, db, fakes, channels = world
    add_duty_desk(db, "LU")
    first, _ = sent_test(world, api_as)
    with db.transaction() as session:  # a quarter earlier, for the chart
        alert = session.get(Alert, first["alert_id"])
        alert.created_at -= timedelta(days=95)
        rel = session.scalar(select(Release).where(Release.alert_id == alert.id))
        rel.fired_at -= timedelta(days=95)
        lu = session.scalar(select(Centre).where(Centre.code == "LU"))
        session.add(Ack(alert_id=alert.id, centre_id=lu.id, kind="received", via="api", at=rel.fired_at
                        + timedelta(seconds=42)))
    second = api_as("NL", "spokesperson").post("/communication-tests").get_json()
    history = api_as("BE", "communicator").get("/communication-tests").get_json()
    assert [r["alert_id"] for r in history] == [second["alert_id"], first["alert_id"]]
    assert history[1]["acknowledged"] == 1 and history[1]["partners"][0]["seconds"] == 42.0
    assert history[1]["partners"][0]["contacts"] == []  # it answered: nobody to call
    assert history[0]["started_by"].startswith("nl-spokesperson")
    with db.transaction() as session:
        chart = comm_test_reports.chart(session, comm_test_reports.history(session, "cli"))
    assert len(chart["quarters"]) == 2 and chart["centres"][0]["centre"] == "LU"
    assert [c["seconds"] for c in chart["centres"][0]["cells"]] == [42.0, None]
    assert api_as("LU", "partner").get("/communication-tests").status_code == 403
    assert api_as("BE", "communicator").get("/communication-tests?limit=0").status_code == 422
    assert api_as("NL", "admin").get(f"/communication-tests/{first['alert_id']}").status_code == 200


def test_the_workers_network_duties_remind_only_when_reminders_are_on(world, api_as):
    from worker import Worker

    app, db, fakes, channels = world
    set_deadline(db, "LU", 30)
    add_duty_desk(db, "LU")
    sent_test(world, api_as)
    age_copies(db, 45)
    worker = Worker(db, channels, OPTIONS, DispatchOptions(), name="w")
    set_schedule(db, enabled=False, reminder_sms=False)
    worker.network_duties()

    def reminders():
        with db.transaction() as session:
            return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "sms"))

    assert reminders() == 0
    set_schedule(db, enabled=False, reminder_sms=True)
    worker.network_duties()
    worker.network_duties()
    assert reminders() == 1
    worker.leadership.release()
