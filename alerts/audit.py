"""Append-only, hash-chained audit events.

Each event's hash covers its own fields and the previous hash; the head row holds the tip. Appending
locks the head row first (an UPDATE), so concurrent transactions queue instead of forking the chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerts.i18n import _
from alerts.models import AuditEvent, AuditHead, User, utcnow

GENESIS = "0" * 64


def _event_hash(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "content_hash": event.content_hash,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS))
        session.flush()


def record(
    session: Session,
    actor: User | str | None,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    content_hash: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction. Call it last, to hold the head lock briefly."""
    # Our own UPDATE leaves `hash` untouched, so RETURNING gives the previous event's hash.
    tip = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if tip is None:
        ensure_head(session)
        return record(session, actor, action, object_type, object_id, content_hash=content_hash, detail=detail)
    bumped, prev_hash = tip
    name = actor.username if isinstance(actor, User) else (actor or "system")
    event = AuditEvent(
        seq=bumped,
        at=utcnow(),
        actor=name,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        content_hash=content_hash,
        detail=detail or {},
        prev_hash=prev_hash,
    )
    event.hash = _event_hash(event)
    session.add(event)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=event.hash))
    return event


@dataclass
class Verdict:
    ok: bool
    events: int
    problems: list[str]


def verify(session: Session) -> Verdict:
    """Walk the chain: an altered event breaks its hash, an inserted or deleted one breaks the links."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        count += 1
        if event.seq != expected_seq:
            problems.append(_("event %(seq)d is missing (next present is %(next)d)", seq=expected_seq, next=event.seq))
        if event.prev_hash != prev:
            problems.append(_("event %(seq)d does not follow the previous event (chain broken)", seq=event.seq))
        if _event_hash(event) != event.hash:
            problems.append(_("event %(seq)d was altered (its hash does not match its content)", seq=event.seq))
        prev, expected_seq = event.hash, event.seq + 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(_("the chain ends at event %(last)d but its head records event %(head)d", last=expected_seq - 1,
                          head=head_seq))
    return Verdict(ok=not problems, events=count, problems=problems)
