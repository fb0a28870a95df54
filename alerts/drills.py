"""The quarterly communication test: one action sends a Test message to every partner centre; the
report says who acknowledged and how fast. A Test never reaches the public: its only channel is the
partner webhooks. Written in English, the centres' common working language."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.access import STAFF
from alerts.errors import Forbidden, NotFound, TooSoon
from alerts.factory import new_alert
from alerts.i18n import _, ngettext
from alerts.ledger import stage_ledger
from alerts.models import Ack, Alert, Centre, PartnerEndpoint, Release, User, VersionText, utcnow

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
    if not actor.has_role("spokesperson", "admin"):
        raise Forbidden(_("A communication test is started by a spokesperson or an administrator."))
    now = utcnow()
    _check_interval(session, actor.centre, now)
    alert, version = stage_test_release(session, actor, "partners", (("headline", HEADLINE),
                                        ("description", DESCRIPTION), ("instruction", INSTRUCTION)),
                                        timedelta(hours=24), "communication test", "test-", options, now)
    audit.record(session, actor, "drill.start", "alert", alert.id, content_hash=version.content_hash)
    return alert


def stage_test_release(session: Session, actor: User, channel: str, texts, lasts: timedelta, summary: str, kind: str,
                       options: ReleaseOptions, now):
    """A Test message in English of the actor's centre, released now on `channel` only: its alert (identifier
    marked `kind`), its release, and its ledger rows staged. The caller audits it."""
    rows = [VersionText(language="en", field=field, body=body, status="human") for field, body in texts]
    values = {"status": "Test", "hazard": "other", "urgency": "Unknown", "severity": "Unknown",
              "certainty": "Unknown", "onset": None, "expires": now + lasts, "web": ""}
    alert, version = new_alert(session, actor, [actor.centre], values, rows, [], summary=summary, kind=kind)
    workflow.advance(alert, "start_test", actor)
    release = Release(alert_id=alert.id, version_number=1, content_hash=version.content_hash, mode="Test",
                      scheduled_for=now, channels={actor.centre.code: [channel]}, state="scheduled",
                      created_by_id=actor.id)
    session.add(release)
    session.flush()
    stage_ledger(session, release, alert, version, options, now, centres=[actor.centre.code])
    return alert, version


def communication_test_report(session: Session, actor: User, alert_id: int) -> dict:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.lead_centre_id != actor.centre_id or "-test-" not in alert.identifier:
        raise NotFound(_("No communication test %(id)s of your centre.", id=alert_id))
    if not actor.roles & STAFF:  # the network's answer times are the centre's working data, not a shared copy
        raise Forbidden(_("The communication test report is for the centre's communicators, spokespersons and "
                          "administrators."))
    release = session.scalar(select(Release).where(Release.alert_id == alert.id))
    partners = sorted({e.centre.code for e in session.scalars(select(PartnerEndpoint).where(PartnerEndpoint.active))})
    acks = {}
    for ack in session.scalars(select(Ack).where(Ack.alert_id == alert.id).order_by(Ack.at)):
        acks.setdefault(ack.centre.code, ack)
    rows = []
    for code in partners:
        ack = acks.get(code)
        seconds = (ack.at - release.fired_at).total_seconds() if ack and release and release.fired_at else None
        rows.append({"centre": code, "acknowledged": ack is not None, "at": ack.at if ack else None,
                     "seconds": round(seconds, 1) if seconds is not None else None})
    answered = [r["seconds"] for r in rows if r["seconds"] is not None]
    return {"alert_id": alert.id, "identifier": alert.identifier, "state": release.state if release else None,
            "sent_at": release.fired_at if release else None, "partners": rows,
            "acknowledged": len(answered), "of": len(rows), "slowest_seconds": max(answered) if answered else None}
