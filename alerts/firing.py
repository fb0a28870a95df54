"""At T: each due release fires once, however often and by however many workers the trigger runs. Its ledger was
staged when it was scheduled (alerts/ledger.py) and the dispatchers send it as it falls due; firing is a state
flip: re-checked, the alert released, an Update or Cancel ends what it refers to, a live alert gets its Cancel
prepared. One that cannot go out is marked failed, loudly, and its untouched rows removed."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.authoring import get_version
from alerts.factory import system_author
from alerts.ledger import stage_late_subscribers, unstage
from alerts.models import Alert, Release, Version, utcnow
from alerts.release import ReleaseOptions, awaiting
from alerts.updates import derive_alert, end_referenced

log = logging.getLogger("benelert.release")
# The PostgreSQL advisory lock that makes one worker process the scheduler leader (worker.Leadership takes it;
# the metrics count its holders): only the leader runs release_due and expire_due on its ticks.
LEADER_LOCK = 0x42E1E27  # "Benelert scheduler"


def _after_release(session: Session, release: Release, alert: Alert, options: ReleaseOptions) -> None:
    """A released Update or Cancel ends the alerts it refers to; a live alert gets its Cancel ready for approval
    at once, prepared by the system (not by the spokesperson who released, who may therefore approve it)."""
    if alert.source_alert_id:
        end_referenced(session, alert, release.mode, workflow.WORKER, options)
    if release.mode == "Actual" and alert.msg_type != "Cancel":
        cancel = derive_alert(session, system_author(session, alert.lead_centre), alert, "Cancel",
                              options.cap_sender_domain)
        workflow.advance(cancel, "submit", workflow.WORKER)  # complete from the phrasebook: ready
        audit.record(session, "worker", "alert.submit", "alert", cancel.id,
                     content_hash=get_version(session, cancel).content_hash,
                     detail={"version": 1, "prepared_cancel_of": alert.id, "prepared_by": "system"})


class ReleaseRefused(Exception):
    """A due release that must not go out as it stands; the release is marked failed, with this reason."""


def _fire(session: Session, release: Release, options: ReleaseOptions, worker: str, now: datetime) -> bool:
    claimed = session.execute(update(Release).where(Release.id == release.id, Release.state == "scheduled")
                              .values(state="releasing").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return False
    alert = session.get(Alert, release.alert_id, with_for_update={"of": Alert}, populate_existing=True)
    source_id = alert.source_alert_id
    while source_id is not None:  # an Update or Cancel ends what it refers to: take those rows now, before the
        source = session.get(Alert, source_id,  # audit head, in the order every verb takes them (no deadlock)
                             with_for_update={"of": Alert}, populate_existing=True)
        source_id = source.source_alert_id
    # What was approved and scheduled is what goes out, or nothing does: the verbs hold the alert's row, so
    # these hold already; checked again here because a public warning is the one thing not to get wrong.
    if alert.state != "scheduled":
        raise ReleaseRefused(f"the alert is {alert.state}, not scheduled")
    if alert.current_version != release.version_number:
        raise ReleaseRefused(f"the alert is at version {alert.current_version}, the release was scheduled "
                             f"for version {release.version_number}")
    version = get_version(session, alert, release.version_number)
    if version.content_hash != release.content_hash:
        raise ReleaseRefused("the version's content is not the content that was scheduled")
    late_ms = int((now - release.scheduled_for).total_seconds() * 1000)
    session.execute(update(Release).where(Release.id == release.id).values(
        state="released", fired_at=now, late_ms=late_ms, fired_by=worker[:80])
        .execution_options(synchronize_session=False))
    workflow.advance(alert, "release", workflow.WORKER)
    alert.updated_at = now
    unconfirmed = sorted(awaiting(release))
    newcomers = stage_late_subscribers(session, release, version, now)
    audit.record(session, worker, "release.fire", "alert", alert.id, content_hash=release.content_hash,
                 detail={"release": release.id, "late_ms": late_ms, "mode": release.mode, "unconfirmed": unconfirmed,
                         "late_subscribers": newcomers})
    if unconfirmed:  # their channels go out only when (if) their spokesperson confirms: loudly, not quietly
        log.error("release %s of alert %s fired without the consent of %s: their channels are not sent",
                  release.id, alert.id, ", ".join(unconfirmed))
    _after_release(session, release, alert, options)
    return True


def fire_now(session: Session, release: Release, options: ReleaseOptions, worker: str, now: datetime) -> None:
    """Fire a release in the transaction that staged it, due now (a communication or channel test): its rows and
    its firing are committed together, so no copy can reach a partner before the release counts as released (an
    acknowledgement of it would be refused until the worker's next tick)."""
    if not _fire(session, release, options, worker, now):
        raise ReleaseRefused(f"release {release.id} was not scheduled")


def _mark_failed(session: Session, release_id: int, alert_id: int, worker: str, reason: str) -> None:
    unstage(session, session.get(Release, release_id))
    session.execute(update(Release).where(Release.id == release_id, Release.state == "scheduled")
                    .values(state="failed", fired_by=worker[:80]).execution_options(synchronize_session=False))
    audit.record(session, worker, "release.failed", "alert", alert_id, detail={"release": release_id,
                                                                                "reason": reason[:500]})


def release_due(session: Session, options: ReleaseOptions, worker: str = "worker", now: datetime | None = None
                ) -> list[int]:
    """Fire every scheduled release whose moment has come. Safe to call any number of times, from any
    number of workers: each release is locked and fired once; a missed moment fires late, marked so.

    Each release fires inside its own savepoint: one that cannot go out (refused, or an error) is rolled back
    alone, marked failed, loudly (error log, audit, the releases metric), its untouched ledger rows removed,
    and does not hold up the others, on this tick or any later one."""
    now = now or utcnow()
    query = select(Release).where(Release.state == "scheduled", Release.scheduled_for <= now).order_by(
        Release.scheduled_for).limit(20)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    fired = []
    for release_id, alert_id in [(r.id, r.alert_id) for r in session.scalars(query).all()]:
        try:
            with session.begin_nested():
                if _fire(session, session.get(Release, release_id), options, worker, now):
                    fired.append(release_id)
        except OperationalError:  # the database itself (gone, deadlock): this tick is rolled back and retried
            raise
        except Exception as error:  # noqa: BLE001 - whatever it is, this release is stopped and reported
            reason = str(error) if isinstance(error, ReleaseRefused) else f"{type(error).__name__}: {error}"
            log.error("release %s of alert %s failed: %s", release_id, alert_id, reason,
                      exc_info=not isinstance(error, ReleaseRefused))
            _mark_failed(session, release_id, alert_id, worker, reason)
    return fired


def expire_due(session: Session, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Released alerts whose current version's `expires` has passed become expired (an audit event each). Safe to
    run from any number of workers: each alert is taken with its row lock and advanced once."""
    now = now or utcnow()
    query = (select(Alert.id).join(Version, (Version.alert_id == Alert.id) & (Version.number == Alert.current_version))
             .where(Alert.state == "released", Version.expires.is_not(None), Version.expires <= now)
             .order_by(Alert.id).limit(limit))
    expired = []
    for alert_id in session.scalars(query).all():
        alert = session.get(Alert, alert_id, with_for_update={"of": Alert}, populate_existing=True)
        if not workflow.allowed(alert.state, "expire"):  # cancelled meanwhile by another worker's Cancel
            continue
        workflow.advance(alert, "expire", workflow.WORKER)
        alert.updated_at = now
        audit.record(session, workflow.WORKER, "alert.expire", "alert", alert.id,
                     detail={"version": alert.current_version})
        expired.append(alert.id)
    return expired
