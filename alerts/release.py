"""Coordinated release, before T: the options a deployment sets, what a spokesperson confirms (mode, moment,
areas, languages, channels, recipients), scheduling, which checks the approvals, the channels and every text
that will be sent and stages the ledger (alerts/ledger.py), and withdrawal before T. At T, alerts/firing.py
flips the release to released. Exercise and Test releases reach partner centres and sandbox targets only."""
from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.access import STAFF, takes_part
from alerts.audience import by_country, count_reached, reach_of
from alerts.authoring import get_alert, get_version
from alerts.content import canonical_content
from alerts.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from alerts.i18n import _, ngettext
from alerts.ledger import HEADS_UP, HEADS_UP_WITHDRAWN, stage_ledger, withdraw
from alerts.models import (
    Alert,
    Centre,
    Delivery,
    PartnerEndpoint,
    Payload,
    Release,
    User,
    utcnow,
)
from alerts.rendering import CHANNEL_LABELS
from alerts.review import approval_state
from alerts.sendable import configured_channels, text_problems
from channels.specs import CHANNELS, TextLimits

log = logging.getLogger("benelert.release")

PAST_TOLERANCE = timedelta(minutes=1)
# what the confirmation says next to the button, per mode
MODE_HEADLINES = {
    "Actual": _("LIVE: this warning goes to the PUBLIC"),
    "Exercise": _("EXERCISE: partner centres and sandbox targets only — never the public"),
    "Test": _("TEST: partner centres and sandbox targets only — never the public"),
}
GOING_OUT = _("The release moment has passed: the warning is going out. Cancel it once it is released.")


@dataclass(frozen=True)
class ReleaseOptions:
    limits: TextLimits = TextLimits()
    sandbox: dict | None = None  # channel -> sandbox target address, for Exercise and Test
    cap_sender_domain: str = "benelert.eu"
    cap_signing: tuple[bytes, bytes] | None = None  # (key PEM, certificate PEM): XML-DSig on every CAP sent

    @classmethod
    def from_settings(cls, settings) -> ReleaseOptions:
        signing = None
        if settings.cap_sign_key_file:
            signing = (Path(settings.cap_sign_key_file).read_bytes(), Path(settings.cap_sign_cert_file).read_bytes())
        return cls(limits=TextLimits.from_settings(settings), sandbox=settings.sandbox_targets,
                   cap_sender_domain=settings.cap_sender_domain, cap_signing=signing)


def _taking_part(alert: Alert, channels: dict[str, list[str]]) -> dict[str, Centre]:
    """The alert's centres by code; InvalidInput if `channels` names a centre that does not take part."""
    codes = {row.centre.code: row.centre for row in alert.centre_rows}
    unknown_centres = sorted(set(channels) - set(codes))
    if unknown_centres:
        raise InvalidInput(_("These centres do not take part in the alert: %(centres)s.",
                             centres=", ".join(unknown_centres)), field="channels")
    return codes


def _check_channels(alert: Alert, channels: dict[str, list[str]]) -> dict[str, list[str]]:
    codes = _taking_part(alert, channels)
    cleaned = {}
    for code, names in channels.items():
        bad = sorted(set(names) - set(CHANNELS))
        if bad:
            raise InvalidInput(_("Unknown channel for %(centre)s: %(channels)s.", centre=code, channels=", ".join(bad)),
                               field="channels")
        unconfigured = sorted(n for n in set(names) if CHANNELS[n].public and n not in configured_channels(codes[code]))
        if unconfigured:
            raise InvalidInput(_("%(centre)s has no %(channels)s account configured.", centre=code,
                                 channels=", ".join(unconfigured)), field="channels")
        cleaned[code] = sorted(set(names))
    if not any(cleaned.values()):
        raise InvalidInput(_("Choose at least one channel."), field="channels")
    return cleaned


def _check_renderings(alert: Alert, content: dict, channels: dict[str, list[str]], options: ReleaseOptions) -> None:
    """Every text that will be sent fits its channel (sendable.text_problems: the rule submission and pages read)."""
    problems = text_problems(alert, content, channels, options.limits)
    if problems:
        raise InvalidInput(ngettext("%(num)d text does not fit its channel: %(first)s",
                                    "%(num)d texts do not fit their channels; the first: %(first)s",
                                    len(problems), first=problems[0]), problems=list(problems))


def sees_recipients(viewer: User | None, alert: Alert, centre_code: str) -> bool:
    """Whether `viewer` may see how many people a centre's channels reach (its subscriber count is the centre's
    own data): the centre's own users, and the staff of the centres taking part, who release the warning together.
    A partner user of another centre sees their own centre's figures only."""
    if viewer is None or viewer.centre.code == centre_code:
        return True
    return bool(viewer.roles & STAFF) and takes_part(viewer, alert)


def confirmation(session: Session, alert: Alert, content: dict, channels: dict[str, list[str]], at: datetime,
                 options: ReleaseOptions, viewer: User | None) -> dict:
    """What a spokesperson confirms: mode, moment, areas, languages, channels, and exactly who will receive — per
    centre and channel the number of messages' recipients (subscribers live; the sandbox number, the sandbox or
    centre's test account, the national test endpoint in an Exercise or Test) — and, for a channel chosen that
    will get nothing, why — and per country the area concerns, the subscribers inside and an estimate of the people
    living there, whatever the mode (what a live warning would reach). The recipients of a centre are left out for
    a `viewer` who may not see them (sees_recipients)."""
    mode = content["status"]
    live = mode == "Actual"
    sandbox = options.sandbox or {}
    centres = _taking_part(alert, channels)
    reach = reach_of(content)
    reached = {code: count_reached(session, reach, centre.id) for code, centre in centres.items()
               if sees_recipients(viewer, alert, code)}
    recipients: dict[str, dict[str, int]] = {}
    not_sent: dict[str, dict[str, str]] = {}
    for code, names in channels.items():
        if code not in reached:
            continue
        per = recipients.setdefault(code, {"sms": 0})
        for name in names:
            spec = CHANNELS[name]
            if not spec.public:
                continue
            if live and spec.to_subscribers:
                per[name] = reached[code]
            elif spec.target(live, (centres[code].channels or {}).get(name, {}), sandbox.get(name, "")):
                per[name] = 1
            else:
                per[name] = 0
                not_sent.setdefault(code, {})[name] = (
                    _("%(centre)s has no test endpoint for its national alert system: it gets nothing in an exercise "
                      "or test.", centre=code)
                    if spec.sends == "cap" else
                    _("No sandbox %(channel)s target is configured: nothing is sent on it in an exercise or test.",
                      channel=CHANNEL_LABELS.get(name, spec.label)))
    partners = session.scalar(select(func.count()).select_from(PartnerEndpoint).where(PartnerEndpoint.active))
    headline = MODE_HEADLINES[mode]
    return {"mode": mode, "headline": headline, "at": at, "areas": [a["description"] for a in content["areas"]],
            "languages": list(content["texts"]), "channels": channels, "recipients": recipients,
            "not_sent": not_sent, "audience": by_country(reach, reached),
            "partner_endpoints": partners if any("partners" in names for names in channels.values()) else 0}


def schedule_release(session: Session, actor: User, alert_id: int, expected: int | None, content_hash: str | None,
                     channels: dict[str, list[str]], at: datetime | None, options: ReleaseOptions) -> Release:
    alert = get_alert(session, actor, alert_id, "read", lock=True)
    workflow.check(alert, "schedule", actor)
    version = get_version(session, alert)
    if expected != version.number or content_hash != version.content_hash:
        raise Conflict(_("The content you confirmed is not the approved content: reload and confirm again."),
                       current_version=version.number, current_hash=version.content_hash)
    unapproved = sorted(code for code, state in approval_state(session, alert, version).items() if state != "approved")
    if unapproved:  # the alert's state says approved; the approvals themselves must say so too
        raise Conflict(_("This content is not approved by %(centres)s: it cannot be released.",
                         centres=", ".join(unapproved)))
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput(_("The release time needs a time zone."), field="at")
    if at < now - PAST_TOLERANCE:
        raise InvalidInput(_("The release time is in the past."), field="at")
    if version.expires and at >= version.expires:
        raise InvalidInput(_("The release time is after the warning expires."), field="at")
    content = canonical_content(version)
    channels = _check_channels(alert, channels)
    _check_renderings(alert, content, channels, options)
    # an alert has one release: a withdrawn one is planned anew (its heads-up rows, if sent, stay on record)
    release = session.scalar(select(Release).where(Release.alert_id == alert.id)) or Release(alert_id=alert.id)
    plan = {"version_number": version.number, "content_hash": version.content_hash, "mode": version.status,
            "scheduled_for": at, "channels": channels, "state": "scheduled", "created_by_id": actor.id,
            "created_at": now, "consents": {actor.centre.code: _consent(actor, now)}}  # a new plan: new consents
    for name, value in plan.items():
        setattr(release, name, value)
    session.add(release)
    workflow.advance(alert, "schedule", actor)
    alert.updated_at = now
    session.flush()
    waiting = awaiting(release)
    stage_ledger(session, release, alert, version, options, now, centres=set(channels) - waiting)
    audit.record(session, actor, "release.schedule", "alert", alert.id, content_hash=version.content_hash,
                 detail={"release": release.id, "at": at.isoformat(), "mode": version.status, "channels": channels,
                         "plan": plan_hash(release), "awaiting": sorted(waiting)})
    return release


# --- Each centre consents to its own public channels ---------------------------------------------------------

def _consent(actor: User, now: datetime) -> dict:
    return {"user": actor.username, "at": now.isoformat()}


def plan_hash(release: Release) -> str:
    """What a centre confirms: the content, the moment and every centre's channels."""
    plan = {"content_hash": release.content_hash, "at": release.scheduled_for.isoformat(),
            "channels": {code: sorted(names) for code, names in sorted(release.channels.items())}}
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def awaiting(release: Release) -> set[str]:
    """The centres whose public channels are in a live release's plan and whose spokesperson has not confirmed
    them and the moment yet: nothing goes out on their channels until they do. (An Exercise or Test reaches
    sandbox targets and partner centres only, which are the network's, not a centre's public.)"""
    if release.mode != "Actual":
        return set()
    return {code for code, names in release.channels.items()
            if any(CHANNELS[name].public for name in names)} - set(release.consents or {})


def plan_status(release: Release) -> dict:
    """What the API and the pages show of a release's plan: its hash, who confirmed, who is awaited."""
    return {"plan": plan_hash(release), "consents": release.consents or {}, "awaiting": sorted(awaiting(release))}


def confirm_release(session: Session, actor: User, alert_id: int, plan: str | None, options: ReleaseOptions
                    ) -> Release:
    """A spokesperson confirms their centre's channels and the moment of the plan they saw (`plan`, its hash):
    that centre's rows are staged, due at T (at once, if T has passed: the dashboard shows them late)."""
    alert = get_alert(session, actor, alert_id, "read", lock=True)
    if not actor.has_role("spokesperson"):
        raise Forbidden(_("This needs the role spokesperson: a centre's channels are confirmed by its "
                          "spokesperson."))
    release = session.scalar(select(Release).where(Release.alert_id == alert.id).with_for_update())
    if release is None or release.state not in ("scheduled", "released") or alert.state not in ("scheduled",
                                                                                                   "released"):
        raise Conflict(_("This alert has no scheduled release to confirm."))
    code = actor.centre.code
    if code not in awaiting(release):
        raise Conflict(_("%(centre)s has nothing to confirm in this release: its channels are not in the plan, or "
                         "it confirmed them already.", centre=code))
    if plan != plan_hash(release):
        raise Conflict(_("The plan changed since you looked (content, moment or channels): reload and confirm "
                         "again."),
                       current_plan=plan_hash(release))
    now = utcnow()
    release.consents = {**(release.consents or {}), code: _consent(actor, now)}
    stage_ledger(session, release, alert, get_version(session, alert, release.version_number), options, now,
                 centres=[code], partner_copies=False)
    audit.record(session, actor, "release.confirm", "alert", alert.id, content_hash=release.content_hash,
                 detail={"release": release.id, "centre": code, "plan": plan,
                         "late_ms": max(0, int((now - release.scheduled_for).total_seconds() * 1000))})
    return release


def withdraw_release(session: Session, actor: User, alert_id: int, expected: int | None, reason: str,
                     options: ReleaseOptions) -> Release:
    """Stop a scheduled release before T (a spokesperson of a centre taking part, with a reason): its staged
    ledger rows are removed in this transaction and the alert is approved again, to reschedule or to edit."""
    alert = get_alert(session, actor, alert_id, "read", lock=True)
    workflow.check(alert, "withdraw", actor)
    if actor.centre_id not in {row.centre_id for row in alert.centre_rows}:
        raise Forbidden(_("Only a spokesperson of a centre taking part can withdraw this release."))
    if expected is not None and expected != alert.current_version:
        raise StaleVersion(_("The alert changed since you looked: reload and withdraw again."),
                           current_version=alert.current_version)
    if not reason.strip():
        raise InvalidInput(_("Say why the release is withdrawn."), field="reason")
    release = session.scalar(select(Release).where(Release.alert_id == alert.id, Release.state == "scheduled")
                             .with_for_update())
    now = utcnow()
    if release is None or release.scheduled_for <= now:
        raise Conflict(GOING_OUT)
    removed = withdraw(session, release, alert, get_version(session, alert, release.version_number), options, now,
                       reason.strip())
    if _public_rows_left(session, release):  # a dispatcher took them at T, while this waited for their locks
        raise Conflict(GOING_OUT)
    workflow.advance(alert, "withdraw", actor)
    alert.updated_at = now
    audit.record(session, actor, "release.withdraw", "alert", alert.id, content_hash=release.content_hash,
                 detail={"release": release.id, "at": release.scheduled_for.isoformat(), "reason": reason.strip(),
                         "rows_removed": removed})
    return release


def _public_rows_left(session: Session, release: Release) -> bool:
    """Whether any row of the public release survived unstage (the heads-up to partners may have gone out, and
    the notice that it is withdrawn is staged)."""
    payload_ids = select(Delivery.payload_id).where(Delivery.release_id == release.id).distinct()
    metas = session.scalars(select(Payload.meta).where(Payload.id.in_(payload_ids))).all()
    return any((meta or {}).get("type") not in (HEADS_UP, HEADS_UP_WITHDRAWN) for meta in metas)


def delivery_counts(session: Session, release: Release) -> dict[str, dict[str, Counter]]:
    rows = session.execute(select(Delivery.centre_code, Delivery.channel, Delivery.state, func.count())
                           .where(Delivery.release_id == release.id)
                           .group_by(Delivery.centre_code, Delivery.channel, Delivery.state))
    result: dict[str, dict[str, Counter]] = {}
    for centre, channel, state, count in rows:
        result.setdefault(centre, {}).setdefault(channel, Counter())[state] = count
    return result


def attempted_from_t(release: Release):
    """The release's rows first attempted at or after T: its moment (the partners' heads-up, sent at scheduling,
    is not part of it)."""
    return and_(Delivery.release_id == release.id, Delivery.first_attempt_at >= release.scheduled_for)


def skew_ms(session: Session, release: Release) -> int | None:
    """Time between the first first-attempt of the earliest and of the latest channel, from T."""
    firsts = [first for (first,) in session.execute(
        select(func.min(Delivery.first_attempt_at)).where(attempted_from_t(release))
        .group_by(Delivery.centre_code, Delivery.channel))]
    if len(firsts) < 2:
        return 0 if firsts else None
    return int((max(firsts) - min(firsts)).total_seconds() * 1000)
