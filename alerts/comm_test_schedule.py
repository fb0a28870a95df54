"""The quarterly communication test's schedule, a network setting, and its run by the worker: once per quarter, on a
day of a month of the quarter, at a local time of a time zone, the organising centre sends the Test to every partner
endpoint. A run is recorded per quarter (ScheduledTestRun, whose key makes it happen once even with two schedulers);
a moment missed by more than GRACE (the worker was down) is recorded as missed, not sent late at a surprising time."""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import require_network_role
from alerts.errors import InvalidInput
from alerts.i18n import _
from alerts.models import Centre, User, utcnow
from alerts.network_setting_model import NetworkSetting, ScheduledTestRun

if TYPE_CHECKING:
    from alerts.release import ReleaseOptions

log = logging.getLogger("benelert.drills")
KEY = "communication_tests"
GRACE = timedelta(hours=24)  # a scheduled test later than this is not sent any more (recorded as missed)
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Schedule:
    enabled: bool = False
    organiser: str | None = None  # the code of the centre that sends the scheduled tests
    month_of_quarter: int = 1  # 1: January, April, July, October
    day: int = 15  # 1 to 28: every month has it
    time: str = "10:00"  # local time in `timezone`, HH:MM
    timezone: str = "Europe/Brussels"
    reminder_sms: bool = False  # an overdue acknowledgement sends an SMS to the centre's 24/7 duty desk

    def moment(self, year: int, quarter: int) -> datetime:
        """The quarter's test moment, in UTC."""
        hours, minutes = (int(part) for part in self.time.split(":"))
        local = datetime.combine(datetime(year, 3 * (quarter - 1) + self.month_of_quarter, self.day).date(),
                                 time(hours, minutes), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(ZoneInfo("UTC"))

    def quarter_of(self, now: datetime) -> tuple[int, int]:
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.year, (local.month - 1) // 3 + 1

    def next_moment(self, now: datetime) -> datetime | None:
        """The next scheduled moment at or after `now` (None when the schedule is off)."""
        if not self.enabled or not self.organiser:
            return None
        year, quarter = self.quarter_of(now)
        for _step in range(2):
            moment = self.moment(year, quarter)
            if moment >= now:
                return moment
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
        return None


def quarter_label(year: int, quarter: int) -> str:
    return f"{year}-Q{quarter}"


def read(session: Session) -> Schedule:
    row = session.get(NetworkSetting, KEY)
    if row is None:
        return Schedule()
    known = {name: value for name, value in row.value.items() if name in Schedule.__dataclass_fields__}
    return Schedule(**known)


def _bool(values: dict, name: str) -> bool:
    if not isinstance(values[name], bool):
        raise InvalidInput(_("“%(field)s” is true or false.", field=name), field=name)
    return values[name]


def _int(values: dict, name: str, low: int, high: int, message) -> int:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(message, field=name)
    return value


def _checked(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(Schedule.__dataclass_fields__))
    if unknown:
        raise InvalidInput(_("Unknown setting: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
    checked: dict[str, Any] = {}
    for name in ("enabled", "reminder_sms"):
        if name in values:
            checked[name] = _bool(values, name)
    if "organiser" in values:
        code = values["organiser"]
        centre = session.scalar(select(Centre).where(Centre.code == code)) if isinstance(code, str) else None
        if code is not None and (centre is None or not centre.active):
            raise InvalidInput(_("The organising centre must be an active centre of the network."), field="organiser")
        checked["organiser"] = code
    if "month_of_quarter" in values:
        checked["month_of_quarter"] = _int(values, "month_of_quarter", 1, 3, _(
            "The month of the quarter is 1, 2 or 3 (1: January, April, July and October)."))
    if "day" in values:
        checked["day"] = _int(values, "day", 1, 28, _("The day is between 1 and 28, so that every month has it."))
    if "time" in values:
        if not isinstance(values["time"], str) or not TIME.match(values["time"]):
            raise InvalidInput(_("Give the time as HH:MM, e.g. 10:00."), field="time")
        checked["time"] = values["time"]
    if "timezone" in values:
        if not isinstance(values["timezone"], str) or values["timezone"] not in available_timezones():
            raise InvalidInput(_("Give a time zone of the IANA database, e.g. Europe/Brussels."), field="timezone")
        checked["timezone"] = values["timezone"]
    return checked


def change(session: Session, actor: User | str, values: dict[str, Any]) -> Schedule:
    """Change the schedule (network administrators; `actor` is a name for the CLI). Audited when it changed."""
    if isinstance(actor, User):
        require_network_role(actor, "schedule-communication-tests",
                             _("Only a network administrator may change the communication tests' schedule."))
    if not isinstance(values, dict):
        raise InvalidInput(_("Give the settings as an object."), field="schedule")
    before = read(session)
    after = Schedule(**{**asdict(before), **_checked(session, values)})
    if after.enabled and not after.organiser:
        raise InvalidInput(_("A schedule that is on needs an organising centre."), field="organiser")
    if after != before:
        row = session.get(NetworkSetting, KEY, with_for_update=True)
        name = actor.username if isinstance(actor, User) else actor
        if row is None:
            session.add(NetworkSetting(key=KEY, value=asdict(after), updated_at=utcnow(), updated_by=name))
        else:
            row.value, row.updated_at, row.updated_by = asdict(after), utcnow(), name
        session.flush()
        audit.record(session, actor, "network.schedule", "network", KEY,
                     detail={"changed": sorted(k for k, v in asdict(after).items() if asdict(before)[k] != v)})
    return after


def runs(session: Session, limit: int = 40) -> list[ScheduledTestRun]:
    return list(session.scalars(select(ScheduledTestRun).order_by(ScheduledTestRun.quarter.desc()).limit(limit)))


def run_due(session: Session, options: ReleaseOptions, now: datetime | None = None) -> ScheduledTestRun | None:
    """The worker's tick: send this quarter's test when its moment has come and it has not run yet. Returns the
    run recorded now, if any. Any number of calls, from any number of workers: one run per quarter."""
    from alerts.drills import start_scheduled_test  # drills imports this module's reader

    now = now or utcnow()
    schedule = read(session)
    if not schedule.enabled or not schedule.organiser:
        return None
    year, quarter = schedule.quarter_of(now)
    moment, label = schedule.moment(year, quarter), quarter_label(year, quarter)
    if now < moment or session.get(ScheduledTestRun, label) is not None:
        return None
    if session.get(NetworkSetting, KEY).updated_at > moment:  # set after this quarter's moment: from the next one
        return None
    run = ScheduledTestRun(quarter=label, at=now, outcome="sent")
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # another scheduler recorded this quarter meanwhile
        return None
    centre = session.scalar(select(Centre).where(Centre.code == schedule.organiser))
    if now - moment > GRACE:
        run.outcome = f"missed: the worker was not running at {moment.isoformat()}"
        log.error("the communication test of %s was not sent: %s", label, run.outcome)
    elif centre is None or not centre.active:
        run.outcome = f"not sent: the organising centre {schedule.organiser} is not an active centre"
        log.error("the communication test of %s was not sent: %s", label, run.outcome)
    else:
        run.alert_id = start_scheduled_test(session, centre, label, options, now).id
    audit.record(session, "worker", "drill.schedule", "network", label, detail={"outcome": run.outcome,
                                                                               "alert": run.alert_id})
    return run
