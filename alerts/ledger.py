"""The delivery ledger of a release, staged when the release is scheduled, in the scheduling transaction: one row
per message (set-based for SMS subscribers, one per phone number whatever the centres it subscribed with), each
with the exact payload that was approved, due at T. At T nothing is written: the dispatchers' lanes (sms, main)
claim the rows as they fall due; only those who subscribed since are added then (stage_late_subscribers). Withdrawing
the release removes its staged rows in one transaction (unstage).

Partner centres get a heads-up at scheduling, when every centre has approved: a restricted CAP copy (scope
Restricted, a note with the planned moment), due at once; the public copy follows at T."""
from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, delete, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session, aliased

from alerts.audience import Reach, reach_of, stage_reached
from alerts.authoring import required_languages
from alerts.cap import build_cap, cap_datetime, sign_cap
from alerts.content import canonical_content
from alerts.geo import national_part
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
from alerts.rendering import render_channel
from alerts.subscribers import sms_key_prefix, subscribed_with, subscriber_filter
from channels.specs import CHANNELS

if TYPE_CHECKING:
    from alerts.release import ReleaseOptions


HEADS_UP = "alert.heads_up"  # the partners' payload type of the restricted copy sent at scheduling
HEADS_UP_WITHDRAWN = "alert.heads_up_withdrawn"  # ... and of the restricted Cancel of it when it is withdrawn
RESTRICTION = "Partner crisis centres only: not for publication."
# in a centre's consent (releases.consents): the last subscriber id there was when its SMS rows were staged
SUBSCRIBERS_THROUGH = "subscribers_through"


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


def _sms_ledger(session: Session, release: Release, centre: Centre, reach: Reach, payloads: dict[str, Payload],
                due: datetime, now: datetime, earlier: list[int], *only) -> int:
    """One row per subscriber the warning reaches (alerts.audience, staged: `reach.staged`) and matching the
    conditions `only`, in SQL; subscribers of other languages get English. A number that already has a row through
    the `earlier` centres of this release (their ids) gets none: one SMS per number. Returns the rows written."""
    if not reach.places and reach.geometry.is_empty:
        return 0
    written = 0
    fallback = payloads.get("en")
    for language, payload in payloads.items():
        clause = Subscriber.language == language
        if payload is fallback:
            clause = Subscriber.language.not_in([lang for lang in payloads if lang != "en"])
        selection = select(
            literal(release.id), literal(payload.id), literal("sms"), literal("sms"), literal(centre.code),
            literal(language), Subscriber.phone,
            literal(sms_key_prefix(release.id), String) + cast(Subscriber.id, String),
            literal("pending"), literal(0), literal(due, type_=Delivery.next_attempt_at.type),
            literal(now, type_=Delivery.created_at.type),
        ).where(subscriber_filter(centre.id, reach, clause))
        if earlier:
            selection = selection.where(~subscribed_with(earlier, reach))
        written += session.execute(insert(Delivery).from_select(
            ["release_id", "payload_id", "channel", "lane", "centre_code", "language", "target", "idempotency_key",
             "state", "attempts", "next_attempt_at", "created_at"], selection.where(*only)),
            execution_options={"preserve_rowcount": True}).rowcount
    return written


def _row(release: Release, payload: Payload, centre: str, target: str, due: datetime, now: datetime) -> dict:
    return {"release_id": release.id, "payload_id": payload.id, "channel": payload.channel, "lane": "main",
            "centre_code": centre, "language": payload.language, "target": target, "state": "pending", "attempts": 0,
            "idempotency_key": _key(release.id, payload.channel, centre, payload.language, target, payload.id),
            "next_attempt_at": due, "created_at": now}


def _languages(alert: Alert, content: dict) -> list[str]:
    """The CAP's languages: every required language the version has complete (a communication test: English)."""
    taking_part = {row.centre.code: row.centre for row in alert.centre_rows}
    return [lang for lang in required_languages([taking_part[c] for c in content["participants"] if c in taking_part])
            if lang in content["texts"] and all(t["body"] for t in content["texts"][lang].values())]


def _cap(alert: Alert, content: dict, options: ReleaseOptions, sent: datetime, languages: list[str],
         **extra) -> str:
    lead = alert.lead_centre
    xml = build_cap({"identifier": alert.identifier, "references": alert.references, "sender_names": lead.names,
                     **extra}, content, sender=cap_sender(lead, options.cap_sender_domain), sent=sent,
                    timezone=lead.timezone, languages=languages)
    return (sign_cap(xml, *options.cap_signing) if options.cap_signing else xml).decode("utf-8")


def stage_ledger(session: Session, release: Release, alert: Alert, version: Version, options: ReleaseOptions,
                 now: datetime, centres: Collection[str], partner_copies: bool = True) -> None:
    """Write payloads and ledger rows of the release, due at its moment (now, if that has passed): the channels of
    `centres` (those that consented: alerts/release.py) and, with `partner_copies`, the partner centres' copies."""
    content = canonical_content(version)
    due = max(release.scheduled_for, now)
    live = release.mode == "Actual"
    sandbox = options.sandbox or {}
    staged = set(centres)
    taking_part = {row.centre.code: row.centre for row in alert.centre_rows}
    lead = alert.lead_centre
    languages = _languages(alert, content)

    public_cap = _cap(alert, content, options, release.scheduled_for, languages)
    published = None  # the whole area, as partners and the public feed get it: the release's first CAP payload
    if partner_copies:  # (national systems get their country's part, alerts.geo.national_part)
        summary = {"identifier": alert.identifier, "mode": release.mode, "msg_type": alert.msg_type,
                   "hazard": content["hazard"], "areas": [a["description"] for a in content["areas"]],
                   "headlines": {lang: t["headline"]["body"] for lang, t in content["texts"].items()},
                   "sent": release.scheduled_for.isoformat(), "lead": lead.code}
        published = _payload(session, release, "partners", lead.code, None, public_cap, "application/cap+xml",
                             {"type": "alert.published", "summary": summary})
    rows: list[dict] = []
    fan_outs: list[tuple[Centre, dict[str, Payload]]] = []  # SMS to subscribers, written after the main lane
    # (channel, target, text) of the rows staged already: in an exercise several centres share sandbox targets
    sent_once = set() if live else {tuple(row) for row in session.execute(
        select(Delivery.channel, Delivery.target, Payload.sha256).join(Payload, Payload.id == Delivery.payload_id)
        .where(Delivery.release_id == release.id, Delivery.lane == "main"))}
    # the main lane's rows first: national systems, partner copies and social posts, then the SMS fan-out
    for code, names in release.channels.items():
        if code not in staged:
            continue
        centre = taking_part[code]
        config = centre.channels or {}
        for name in names:
            spec = CHANNELS[name]
            if not spec.public:
                continue  # partner copies: one for the whole release, below
            target = spec.target(live, config.get(name, {}), sandbox.get(name, ""))
            if not target and not (live and spec.to_subscribers):
                continue  # no test target for this channel: an exercise does not use it (the confirmation says)
            if spec.sends == "cap":  # a national system: the part of the area in its country (alerts.geo)
                own = national_part(content, code)
                body = public_cap if own == content else _cap(alert, own, options, release.scheduled_for, languages)
                payload = _payload(session, release, name, code, None, body, "application/cap+xml")
                rows.append(_row(release, payload, code, target, due, now))
                continue
            per_language = {lang: _payload(session, release, name, code, lang,
                                           render_channel(content, lang, spec.text, options.limits).text)
                            for lang in centre.languages + ["en"] if lang in content["texts"]}
            if not (spec.to_subscribers and live):
                # one message per text and target: two centres' exercise posts to one sandbox account are one post
                for payload in per_language.values():
                    if (name, target, payload.sha256) not in sent_once:
                        sent_once.add((name, target, payload.sha256))
                        rows.append(_row(release, payload, code, target, due, now))
            else:
                fan_outs.append((centre, per_language))
    if published is not None and any("partners" in names for names in release.channels.values()):
        endpoints = session.scalars(select(PartnerEndpoint).where(PartnerEndpoint.active)).all()
        rows += [_row(release, published, e.centre.code, e.url, due, now) for e in endpoints]
        if live and release.scheduled_for > now:
            summary = published.meta["summary"]
            moment = cap_datetime(release.scheduled_for, lead.timezone)
            heads_up = _payload(session, release, "partners", lead.code, None, _cap(
                alert, content, options, now, languages, identifier=f"{alert.identifier}-heads-up",
                scope="Restricted", restriction=RESTRICTION,
                note=f"Heads-up: approved by every centre taking part; public release planned at {moment}."),
                "application/cap+xml", {"type": HEADS_UP, "summary": {**summary, "planned": moment},
                                        "sent": cap_datetime(now, lead.timezone)})
            rows += [_row(release, heads_up, e.centre.code, e.url, now, now) for e in endpoints]
    _deliveries(session, rows)
    # the centres whose SMS this release staged before (they consented earlier), then those staged just now
    earlier = [taking_part[code].id for code, names in release.channels.items()
               if "sms" in names and code in (release.consents or {}) and code not in staged]
    if fan_outs:  # who signs up after this is added at T (stage_late_subscribers)
        through = session.scalar(select(func.max(Subscriber.id))) or 0
        consents = release.consents or {}
        release.consents = {**consents, **{centre.code: {**consents.get(centre.code, {}), SUBSCRIBERS_THROUGH: through}
                                           for centre, _ in fan_outs}}
    if fan_outs:
        reach = stage_reached(session, reach_of(content), [*earlier, *(centre.id for centre, _ in fan_outs)])
    for centre, per_language in fan_outs:
        _sms_ledger(session, release, centre, reach, per_language, due, now, earlier)
        earlier = [*earlier, centre.id]


def stage_late_subscribers(session: Session, release: Release, version: Version, now: datetime) -> int:
    """At T, in the release's firing transaction: the SMS rows of those who subscribed after their centre's rows
    were staged (at scheduling, or at the centre's confirmation), in the areas and not opted out, due at once;
    none for a number that has a row in this release already (one SMS per number). An index range on the
    subscribers' ids, then an index probe per newcomer: nothing scans the ledger. Returns the rows written."""
    consents = release.consents or {}
    codes = [code for code, names in release.channels.items()
             if "sms" in names and SUBSCRIBERS_THROUGH in consents.get(code, {})]
    if release.mode != "Actual" or not codes:
        return 0
    content = canonical_content(version)
    centres = {centre.code: centre for centre in session.scalars(select(Centre).where(Centre.code.in_(codes)))}
    payloads: dict[str, dict[str, Payload]] = {}
    for payload in session.scalars(select(Payload).where(Payload.release_id == release.id, Payload.channel == "sms")):
        payloads.setdefault(payload.centre_code, {})[payload.language] = payload
    other = aliased(Subscriber)
    has_row = exists().where(  # a subscription of this number, with a centre of this release, that has a row
        other.phone == Subscriber.phone, other.centre_id.in_([centre.id for centre in centres.values()]),
        Delivery.idempotency_key == literal(sms_key_prefix(release.id), String) + cast(other.id, String))
    newcomers = Subscriber.id > min(consents[code][SUBSCRIBERS_THROUGH] for code in codes)
    reach = stage_reached(session, reach_of(content), [centre.id for centre in centres.values()], newcomers)
    written = 0
    for code in codes:  # in order, in one transaction: a newcomer with two centres gets the first one's row
        written += _sms_ledger(session, release, centres[code], reach, payloads.get(code, {}), now, now, [],
                               Subscriber.id > consents[code][SUBSCRIBERS_THROUGH], ~has_row)
    return written


def unstage(session: Session, release: Release) -> int:
    """Remove the rows of `release` that nothing has touched yet, and the payloads no row uses any more (a
    withdrawal before T, or the release of an alert that another Update or Cancel ended). Returns the count."""
    removed = session.execute(delete(Delivery).where(Delivery.release_id == release.id, Delivery.state == "pending",
                                                     Delivery.attempts == 0)
                              .execution_options(synchronize_session=False)).rowcount
    used = select(Delivery.payload_id).where(Delivery.release_id == release.id)
    session.execute(delete(Payload).where(Payload.release_id == release.id, Payload.id.not_in(used))
                    .execution_options(synchronize_session=False))
    return removed


def cap_sender(centre: Centre, domain: str) -> str:
    return f"{centre.code.lower()}@{domain}"


def withdraw(session: Session, release: Release, alert: Alert, version: Version, options: ReleaseOptions,
             now: datetime, reason: str) -> int:
    """The release will not go out: its untouched rows are removed (unstage) and it is marked withdrawn. Partner
    centres whose heads-up may have reached them get a restricted CAP Cancel of it, with the reason."""
    removed = unstage(session, release)
    session.execute(update(Release).where(Release.id == release.id).values(state="withdrawn")
                    .execution_options(synchronize_session="fetch"))
    told = session.execute(select(Delivery.centre_code, Delivery.target, Payload.meta)
                           .join(Payload, Payload.id == Delivery.payload_id)
                           .where(Delivery.release_id == release.id, Delivery.channel == "partners")).all()
    told = [(centre, target, meta) for centre, target, meta in told if (meta or {}).get("type") == HEADS_UP]
    if told:
        lead, content = alert.lead_centre, canonical_content(version)
        heads_up = (f"{cap_sender(lead, options.cap_sender_domain)},{alert.identifier}-heads-up,"
                    f"{told[0][2]['sent']}")
        body = _cap(alert, {**content, "msg_type": "Cancel"}, options, now, _languages(alert, content),
                    identifier=f"{alert.identifier}-withdrawn-{now:%Y%m%dT%H%M%S}", references=[heads_up],
                    scope="Restricted", restriction=RESTRICTION,
                    note=f"The release announced by the heads-up is withdrawn: {reason}"[:500])
        notice = _payload(session, release, "partners", lead.code, None, body, "application/cap+xml",
                          {"type": HEADS_UP_WITHDRAWN, "summary": {"identifier": alert.identifier, "reason": reason}})
        _deliveries(session, [_row(release, notice, centre, target, now, now) for centre, target, _ in told])
    return removed
