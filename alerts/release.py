"""Coordinated release: plan one moment T for every channel of every centre, then, at T, write the
whole delivery ledger in one transaction (set-based for SMS subscribers) — once, however often the
trigger fires. Exercise and Test releases reach partner centres and sandbox targets only."""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, insert, literal, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from alerts import audit, workflow
from alerts.authoring import get_alert, get_version, required_languages, scalar_values
from alerts.cap import build_cap, cap_datetime, sign_cap
from alerts.content import canonical_content, content_hash
from alerts.errors import Conflict, Forbidden, InvalidInput
from alerts.models import (
    Alert,
    AlertCentre,
    Area,
    Centre,
    Delivery,
    PartnerEndpoint,
    Payload,
    Release,
    Subscriber,
    SubscriberArea,
    User,
    Version,
    VersionText,
    utcnow,
)
from alerts.rendering import channel_problems, render_channel
from alerts.review import approval_state
from alerts.texts import cancel_texts
from channels.specs import CHANNELS, PUBLIC_CHANNELS, TextLimits

log = logging.getLogger("benelert.release")

PAST_TOLERANCE = timedelta(minutes=1)


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


def _subscriber_filter(centre_id: int, places: list[str], language_clause):
    in_area = exists().where(and_(SubscriberArea.subscriber_id == Subscriber.id, SubscriberArea.place.in_(places)))
    return and_(Subscriber.centre_id == centre_id, Subscriber.opted_out_at.is_(None), in_area, language_clause)


def sms_recipients(session: Session, centre: Centre, places: list[str]) -> int:
    if not places:
        return 0
    return session.scalar(select(func.count()).select_from(Subscriber).where(
        _subscriber_filter(centre.id, places, literal(True)))) or 0


def _places(content: dict) -> list[str]:
    return [area["place"] for area in content["areas"] if area.get("place")]


def _taking_part(alert: Alert, channels: dict[str, list[str]]) -> dict[str, Centre]:
    """The alert's centres by code; InvalidInput if `channels` names a centre that does not take part."""
    codes = {row.centre.code: row.centre for row in alert.centre_rows}
    unknown_centres = sorted(set(channels) - set(codes))
    if unknown_centres:
        raise InvalidInput(f"These centres do not take part in the alert: {', '.join(unknown_centres)}.",
                           field="channels")
    return codes


def _check_channels(alert: Alert, channels: dict[str, list[str]]) -> dict[str, list[str]]:
    codes = _taking_part(alert, channels)
    cleaned = {}
    for code, names in channels.items():
        bad = sorted(set(names) - set(CHANNELS))
        if bad:
            raise InvalidInput(f"Unknown channel for {code}: {', '.join(bad)}.", field="channels")
        unconfigured = sorted(n for n in set(names) if CHANNELS[n].public and n not in configured_channels(codes[code]))
        if unconfigured:
            raise InvalidInput(f"{code} has no {', '.join(unconfigured)} account configured.", field="channels")
        cleaned[code] = sorted(set(names))
    if not any(cleaned.values()):
        raise InvalidInput("Choose at least one channel.", field="channels")
    return cleaned


def _check_renderings(alert: Alert, content: dict, channels: dict[str, list[str]], options: ReleaseOptions) -> None:
    """Every text that will be sent fits its channel (rendering.channel_problems, the rule the pages show)."""
    problems = [problem for found in channel_problems(
        content, sent_languages(alert, content), {n for names in channels.values() for n in names}, options.limits
    ).values() for problem in found]
    if problems:
        raise InvalidInput(f"{len(problems)} rendering problem(s): " + "; ".join(problems[:6]),
                           problems=list(problems))


def sent_languages(alert: Alert, content: dict) -> list[str]:
    """The languages a release sends: the required languages of the centres taking part that the version has
    (a text in another language, which no centre asked for, is never sent)."""
    return [lang for lang in required_languages([row.centre for row in alert.centre_rows]) if lang in content["texts"]]


def configured_channels(centre: Centre) -> list[str]:
    """The public channels a centre has an account for, in the registry's order (partner copies need none)."""
    return [name for name in PUBLIC_CHANNELS if name in (centre.channels or {})]


def confirmation(session: Session, alert: Alert, content: dict, channels: dict[str, list[str]], at: datetime) -> dict:
    """What a spokesperson confirms: mode, moment, areas, languages, channels, recipients — per mode."""
    mode = content["status"]
    centres = _taking_part(alert, channels)
    recipients = {code: {"sms": sms_recipients(session, centres[code], _places(content))
                         if "sms" in names else 0} for code, names in channels.items()}
    partners = session.scalar(select(func.count()).select_from(PartnerEndpoint).where(PartnerEndpoint.active))
    headline = {
        "Actual": "LIVE: this warning goes to the PUBLIC",
        "Exercise": "EXERCISE: partner centres and sandbox targets only — never the public",
        "Test": "TEST: partner centres and sandbox targets only — never the public",
    }[mode]
    return {"mode": mode, "headline": headline, "at": at, "areas": [a["description"] for a in content["areas"]],
            "languages": list(content["texts"]), "channels": channels, "recipients": recipients,
            "partner_endpoints": partners or 0}


def schedule_release(session: Session, actor: User, alert_id: int, expected: int | None, content_hash: str | None,
                     channels: dict[str, list[str]], at: datetime | None, options: ReleaseOptions) -> Release:
    alert = get_alert(session, actor, alert_id, "read", lock=True)
    step = workflow.transition(alert.state, "schedule")
    if not actor.has_role(*step.roles):
        raise Forbidden("Only a spokesperson can schedule a release.")
    version = get_version(session, alert)
    if expected != version.number or content_hash != version.content_hash:
        raise Conflict("The content you confirmed is not the approved content: reload and confirm again.",
                       current_version=version.number, current_hash=version.content_hash)
    unapproved = sorted(code for code, state in approval_state(session, alert, version).items() if state != "approved")
    if unapproved:  # the alert's state says approved; the approvals themselves must say so too
        raise Conflict(f"This content is not approved by {', '.join(unapproved)}: it cannot be released.")
    now = utcnow()
    at = at or now
    if at.tzinfo is None:
        raise InvalidInput("The release time needs a time zone.", field="at")
    if at < now - PAST_TOLERANCE:
        raise InvalidInput("The release time is in the past.", field="at")
    if version.expires and at >= version.expires:
        raise InvalidInput("The release time is after the warning expires.", field="at")
    content = canonical_content(version)
    channels = _check_channels(alert, channels)
    _check_renderings(alert, content, channels, options)
    release = Release(alert_id=alert.id, version_number=version.number, content_hash=version.content_hash,
                      mode=version.status, scheduled_for=at, channels=channels, state="scheduled",
                      created_by_id=actor.id)
    session.add(release)
    alert.state = step.to
    alert.updated_at = now
    session.flush()
    audit.record(session, actor, "release.schedule", "alert", alert.id, content_hash=version.content_hash,
                 detail={"release": release.id, "at": at.isoformat(), "mode": version.status, "channels": channels})
    return release


def _key(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40]


def _payload(session: Session, release: Release, channel: str, centre: str, language: str | None, body: str,
             content_type: str = "text/plain", meta: dict | None = None) -> Payload:
    payload = Payload(release_id=release.id, channel=channel, centre_code=centre, language=language, body=body,
                      content_type=content_type, sha256=hashlib.sha256(body.encode()).hexdigest(), meta=meta or {})
    session.add(payload)
    session.flush()
    return payload


def _deliveries(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(Delivery), rows)


def _sms_ledger(session: Session, release: Release, centre: Centre, content: dict, payloads: dict[str, Payload],
                now: datetime) -> None:
    """One row per subscriber in the areas, in SQL; subscribers of other languages get English."""
    places = _places(content)
    if not places:
        return
    fallback = payloads.get("en")
    for language, payload in payloads.items():
        clause = Subscriber.language == language
        if payload is fallback:
            clause = Subscriber.language.not_in([lang for lang in payloads if lang != "en"])
        selection = select(
            literal(release.id), literal(payload.id), literal("sms"), literal(centre.code), literal(language),
            Subscriber.phone,
            literal(f"r{release.id}-sms-", String) + cast(Subscriber.id, String),
            literal("pending"), literal(0), literal(now, type_=Delivery.next_attempt_at.type),
            literal(now, type_=Delivery.created_at.type),
        ).where(_subscriber_filter(centre.id, places, clause))
        session.execute(insert(Delivery).from_select(
            ["release_id", "payload_id", "channel", "centre_code", "language", "target", "idempotency_key", "state",
             "attempts", "next_attempt_at", "created_at"], selection))


def _row(release: Release, payload: Payload, centre: str, target: str, now: datetime) -> dict:
    return {"release_id": release.id, "payload_id": payload.id, "channel": payload.channel, "centre_code": centre,
            "language": payload.language, "target": target, "state": "pending", "attempts": 0,
            "idempotency_key": _key(release.id, payload.channel, centre, payload.language, target),
            "next_attempt_at": now, "created_at": now}


def write_ledger(session: Session, release: Release, alert: Alert, version: Version, options: ReleaseOptions,
                 now: datetime) -> None:
    content = canonical_content(version)
    live = release.mode == "Actual"
    sandbox = options.sandbox or {}
    centres = {row.centre.code: row.centre for row in alert.centre_rows}
    lead = alert.lead_centre
    # every required language is complete for an approved alert; a communication test is English only
    languages = [lang for lang in required_languages([centres[c] for c in content["participants"] if c in centres])
                 if lang in content["texts"] and all(t["body"] for t in content["texts"][lang].values())]
    cap_xml = build_cap({"identifier": alert.identifier, "references": alert.references,
                         "sender_names": lead.names}, content, sender=cap_sender(lead, options.cap_sender_domain),
                        sent=release.scheduled_for, timezone=lead.timezone, languages=languages)
    if options.cap_signing:
        cap_xml = sign_cap(cap_xml, *options.cap_signing)
    cap = cap_xml.decode("utf-8")
    rows: list[dict] = []
    for code, names in release.channels.items():
        centre = centres[code]
        config = centre.channels or {}
        for name in names:
            spec = CHANNELS[name]
            if not spec.public:
                continue  # partner copies: one for the whole release, below
            target = spec.target(live, config.get(name, {}).get("target", ""), sandbox.get(name, ""))
            if not target and not (live and spec.to_subscribers):
                continue  # no sandbox target for this channel: an exercise does not use it
            if spec.sends == "cap":
                payload = _payload(session, release, name, code, None, cap, "application/cap+xml")
                rows.append(_row(release, payload, code, target, now))
                continue
            per_language = {lang: _payload(session, release, name, code, lang,
                                           render_channel(content, lang, spec.text, options.limits).text)
                            for lang in centre.languages + ["en"] if lang in content["texts"]}
            if spec.to_subscribers and live:
                _sms_ledger(session, release, centre, content, per_language, now)
            else:
                rows += [_row(release, payload, code, target, now) for payload in per_language.values()]
    summary = {"identifier": alert.identifier, "mode": release.mode, "msg_type": alert.msg_type,
               "hazard": content["hazard"], "areas": [a["description"] for a in content["areas"]],
               "headlines": {lang: t["headline"]["body"] for lang, t in content["texts"].items()},
               "sent": release.scheduled_for.isoformat(), "lead": lead.code}
    if any("partners" in names for names in release.channels.values()):
        payload = _payload(session, release, "partners", lead.code, None, cap, "application/cap+xml",
                           {"type": "alert.published", "summary": summary})
        for endpoint in session.scalars(select(PartnerEndpoint).where(PartnerEndpoint.active)):
            rows.append(_row(release, payload, endpoint.centre.code, endpoint.url, now))
    _deliveries(session, rows)


def cap_sender(centre: Centre, domain: str) -> str:
    return f"{centre.code.lower()}@{domain}"


def prepared_cancel(session: Session, source: Alert) -> Alert | None:
    """The Cancel of `source`, if one was prepared (there is at most one)."""
    return session.scalar(select(Alert).where(Alert.source_alert_id == source.id, Alert.msg_type == "Cancel")
                          .order_by(Alert.id.desc()).limit(1))


def derive_alert(session: Session, author: User, source: Alert, msg_type: str, domain: str) -> Alert:
    """A new alert that updates or cancels a released one, referring to it as CAP demands.

    An Update starts as a copy to edit; a Cancel is pre-filled from the phrasebook in every language.
    Either goes through the same submission and approval path as any alert.
    """
    if msg_type not in ("Update", "Cancel"):
        raise InvalidInput("msg_type must be Update or Cancel.", field="msg_type")
    fired = session.scalar(select(Release).where(Release.alert_id == source.id, Release.state == "released"))
    if fired is None or source.state != "released":
        raise Conflict("Only a released alert can be updated or cancelled.")
    existing = prepared_cancel(session, source) if msg_type == "Cancel" else None
    if existing is not None:
        raise Conflict(f"A Cancel of this alert is already prepared (alert {existing.id}): approve and release "
                       "that one.", cancel_id=existing.id)
    base = get_version(session, source, fired.version_number)
    lead = source.lead_centre
    reference = f"{cap_sender(lead, domain)},{source.identifier},{cap_datetime(fired.scheduled_for, lead.timezone)}"
    alert = Alert(identifier=f"benelert-{lead.code.lower()}-{uuid.uuid4().hex[:20]}", lead_centre_id=lead.id,
                  msg_type=msg_type, references=[*source.references, reference], state="draft", current_version=1,
                  created_by_id=author.id, source_alert_id=source.id)
    session.add(alert)
    session.flush()
    alert.centre_rows = [AlertCentre(centre_id=row.centre_id, role=row.role) for row in source.centre_rows]
    values = scalar_values(base)
    if msg_type == "Cancel":
        values.update(urgency="Past", severity="Minor", certainty="Observed", onset=None)
        templates = cancel_texts({t.language: t.body for t in base.texts if t.field == "headline"},
                                 sorted({t.language for t in base.texts}))
        texts = [VersionText(language=lang, field=field, body=body or "", status="template" if body else "missing")
                 for (lang, field), body in sorted(templates.items())]
    else:
        texts = [VersionText(language=t.language, field=t.field, body=t.body, status=t.status) for t in base.texts]
    areas = [Area(position=a.position, description=a.description, place=a.place, polygons=a.polygons,
                  geocodes=a.geocodes) for a in base.areas]
    version = Version(alert_id=alert.id, number=1, author=author, summary=f"{msg_type.lower()} of {source.identifier}",
                      status=values["status"], msg_type=msg_type, hazard=values["hazard"], urgency=values["urgency"],
                      severity=values["severity"], certainty=values["certainty"], onset=values["onset"],
                      expires=values["expires"], web=values["web"] or "", participants=list(base.participants),
                      texts=texts, areas=areas)
    version.content_hash = content_hash(canonical_content(version))
    session.add(version)
    session.flush()
    audit.record(session, author, f"alert.{msg_type.lower()}.prepare", "alert", alert.id,
                 content_hash=version.content_hash, detail={"source": source.id, "references": alert.references})
    return alert


def _after_release(session: Session, release: Release, alert: Alert, options: ReleaseOptions) -> None:
    """A released Cancel ends its source alert; a live alert gets its Cancel ready for approval at once."""
    if alert.msg_type == "Cancel" and alert.source_alert_id:
        source = session.get(Alert, alert.source_alert_id)  # locked and refreshed by _fire
        source_mode = session.scalar(select(Release.mode).where(Release.alert_id == source.id))
        # an expired source stays expired; only a Cancel that reached the same audience ends it
        if workflow.allowed(source.state, "cancel") and source_mode == release.mode:
            source.state = workflow.transition(source.state, "cancel").to
        audit.record(session, "worker", "alert.cancelled", "alert", source.id, detail={"by": alert.id})
    elif release.mode == "Actual":
        author = session.get(User, release.created_by_id)
        cancel = derive_alert(session, author, alert, "Cancel", options.cap_sender_domain)
        cancel.state = workflow.transition(cancel.state, "submit").to  # complete from the phrasebook: ready
        audit.record(session, "worker", "alert.submit", "alert", cancel.id,
                     content_hash=get_version(session, cancel).content_hash,
                     detail={"version": 1, "prepared_cancel_of": alert.id})


class ReleaseRefused(Exception):
    """A due release that must not go out as it stands; the release is marked failed, with this reason."""


def _fire(session: Session, release: Release, options: ReleaseOptions, worker: str, now: datetime) -> bool:
    claimed = session.execute(update(Release).where(Release.id == release.id, Release.state == "scheduled")
                              .values(state="releasing").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return False
    alert = session.get(Alert, release.alert_id, with_for_update={"of": Alert}, populate_existing=True)
    if alert.source_alert_id is not None:  # a Cancel ends its source: take that row now, before the audit head,
        session.get(Alert, alert.source_alert_id,  # in the order every verb takes them (no deadlock with derive)
                    with_for_update={"of": Alert}, populate_existing=True)
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
    write_ledger(session, release, alert, version, options, now)
    late_ms = int((now - release.scheduled_for).total_seconds() * 1000)
    session.execute(update(Release).where(Release.id == release.id).values(
        state="released", fired_at=now, late_ms=late_ms, fired_by=worker[:80])
        .execution_options(synchronize_session=False))
    alert.state = "released"
    alert.updated_at = now
    audit.record(session, worker, "release.fire", "alert", alert.id, content_hash=release.content_hash,
                 detail={"release": release.id, "late_ms": late_ms, "mode": release.mode})
    _after_release(session, release, alert, options)
    return True


def _mark_failed(session: Session, release_id: int, alert_id: int, worker: str, reason: str) -> None:
    session.execute(update(Release).where(Release.id == release_id, Release.state == "scheduled")
                    .values(state="failed", fired_by=worker[:80]).execution_options(synchronize_session=False))
    audit.record(session, worker, "release.failed", "alert", alert_id, detail={"release": release_id,
                                                                                "reason": reason[:500]})


def release_due(session: Session, options: ReleaseOptions, worker: str = "worker", now: datetime | None = None
                ) -> list[int]:
    """Fire every scheduled release whose moment has come. Safe to call any number of times, from any
    number of workers: each release is locked and fired once; a missed moment fires late, marked so.

    Each release fires inside its own savepoint: one that cannot go out (refused, or an error while writing
    its ledger) is rolled back alone and marked failed, loudly (error log, audit, the releases metric),
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


def delivery_counts(session: Session, release: Release) -> dict[str, dict[str, Counter]]:
    rows = session.execute(select(Delivery.centre_code, Delivery.channel, Delivery.state, func.count())
                           .where(Delivery.release_id == release.id)
                           .group_by(Delivery.centre_code, Delivery.channel, Delivery.state))
    result: dict[str, dict[str, Counter]] = {}
    for centre, channel, state, count in rows:
        result.setdefault(centre, {}).setdefault(channel, Counter())[state] = count
    return result


def skew_ms(session: Session, release: Release) -> int | None:
    """Time between the first first-attempt of the earliest and of the latest channel."""
    firsts = [first for (first,) in session.execute(
        select(func.min(Delivery.first_attempt_at)).where(Delivery.release_id == release.id,
                                                           Delivery.first_attempt_at.is_not(None))
        .group_by(Delivery.centre_code, Delivery.channel))]
    if len(firsts) < 2:
        return 0 if firsts else None
    return int((max(firsts) - min(firsts)).total_seconds() * 1000)
