"""The delivery ledger of a release, written at T in one transaction: one row per message (set-based for SMS
subscribers), each with the exact payload that was approved, before anything is sent."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, insert, literal, select
from sqlalchemy.orm import Session

from alerts.authoring import required_languages
from alerts.cap import build_cap, sign_cap
from alerts.content import canonical_content
from alerts.models import (
    Alert,
    Centre,
    Delivery,
    PartnerEndpoint,
    Payload,
    Release,
    Subscriber,
    Version,
)
from alerts.release import ReleaseOptions
from alerts.rendering import render_channel
from alerts.subscribers import places_of, subscriber_filter
from channels.specs import CHANNELS


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
    places = places_of(content)
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
        ).where(subscriber_filter(centre.id, places, clause))
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
