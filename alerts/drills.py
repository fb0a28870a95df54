"""The communication test: a Test message to every partner endpoint of the network, started on demand by a centre's
spokesperson or administrator, or once a quarter by the worker (alerts.comm_test_schedule); the report
(alerts.comm_test_reports) says who acknowledged and how fast. A Test never reaches the public: its only channel is
the partner webhooks. Written in English, the centres' common working language."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.access import require_network_role
from alerts.errors import TooSoon
from alerts.factory import new_alert, system_author
from alerts.firing import fire_now
from alerts.i18n import _, ngettext
from alerts.ledger import stage_ledger
from alerts.models import Alert, Centre, Release, User, VersionText, utcnow

if TYPE_CHECKING:
    from alerts.release import ReleaseOptions

HEADLINE = "Communication test of the cross-border warning network"
DESCRIPTION = "This is a test of the Benelert partner network. It is not a warning and nothing needs to be done."
INSTRUCTION = "Please acknowledge receipt of this test message."
# Each test goes to every partner centre of the network: a centre starts one at most this often (a retry after a
# failed test waits this long; a script or a stolen token cannot flood the partners' desks)
TEST_INTERVAL = timedelta(minutes=15)


def _check_interval(session: Session, centre: Centre, now) -> None:
    """Refuses a test while the centre's previous one is more recent than TEST_INTERVAL. The centre's row is held
    until the transaction ends, so tests started together are counted one after the other."""
    session.get(Centre, centre.id, with_for_update=True, populate_existing=True)
    last = session.scalar(select(Alert.created_at).where(Alert.lead_centre_id == centre.id,
                                                         Alert.identifier.contains("-test-"))
                          .order_by(Alert.created_at.desc()).limit(1))
    if last is not None and now - last < TEST_INTERVAL:
        wait = int((last + TEST_INTERVAL - now).total_seconds()) + 1
        raise TooSoon(ngettext("%(centre)s started a communication test less than %(interval)d minutes ago: the next "
                               "one can start in %(num)d minute.",
                               "%(centre)s started a communication test less than %(interval)d minutes ago: the next "
                               "one can start in %(num)d minutes.", -(-wait // 60), centre=centre.code,
                               interval=TEST_INTERVAL.seconds // 60), retry_after_s=wait)


def start_communication_test(session: Session, actor: User, options: ReleaseOptions) -> Alert:
    require_network_role(actor, "start-communication-test",
                         _("A communication test is started by a spokesperson or an administrator."))
    now = utcnow()
    _check_interval(session, actor.centre, now)
    alert, version = stage_test_release(session, actor, "partners", (("headline", HEADLINE),
                                        ("description", DESCRIPTION), ("instruction", INSTRUCTION)),
                                        timedelta(hours=24), "communication test", "test-", options, now)
    audit.record(session, actor, "drill.start", "alert", alert.id, content_hash=version.content_hash)
    return alert


def start_scheduled_test(session: Session, centre: Centre, quarter: str, options: ReleaseOptions, now) -> Alert:
    """The quarter's test, sent by the worker for the organising centre (its system account authors it). No interval
    check: it runs once per quarter by construction (ScheduledTestRun)."""
    author = system_author(session, centre)
    alert, version = stage_test_release(session, author, "partners", (("headline", HEADLINE),
                                        ("description", DESCRIPTION), ("instruction", INSTRUCTION)),
                                        timedelta(hours=24), f"communication test {quarter}", "test-", options, now,
                                        by=workflow.WORKER)
    audit.record(session, "worker", "drill.start", "alert", alert.id, content_hash=version.content_hash,
                 detail={"scheduled": quarter})
    return alert


def stage_test_release(session: Session, actor: User, channel: str, texts, lasts: timedelta, summary: str, kind: str,
                       options: ReleaseOptions, now, by=None):
    """A Test message in English of the actor's centre, released now on `channel` only: its alert (identifier
    marked `kind`), its release, its ledger rows staged, and the release fired (in this transaction). `by` starts
    it when not the actor (the worker). The caller audits it."""
    rows = [VersionText(language="en", field=field, body=body, status="human") for field, body in texts]
    values = {"status": "Test", "hazard": "other", "urgency": "Unknown", "severity": "Unknown",
              "certainty": "Unknown", "onset": None, "expires": now + lasts, "web": ""}
    alert, version = new_alert(session, actor, [actor.centre], values, rows, [], summary=summary, kind=kind)
    workflow.advance(alert, "start_test", by or actor)
    release = Release(alert_id=alert.id, version_number=1, content_hash=version.content_hash, mode="Test",
                      scheduled_for=now, channels={actor.centre.code: [channel]}, state="scheduled",
                      created_by_id=actor.id)
    session.add(release)
    session.flush()
    stage_ledger(session, release, alert, version, options, now, centres=[actor.centre.code])
    fire_now(session, release, options, "worker" if by else actor.username, now)
    return alert, version
