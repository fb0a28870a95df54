"""Where a partner centre receives its signed copies (Standard Webhooks), kept by the centre's administrators and
network administrators: the endpoints' addresses, their signing secrets and their rotation, and a signed ping.

A secret is shown once, in the answer that creates it; afterwards it is named by its fingerprint (the first 8 hex
digits of its SHA-256), in the API, on the page and in the audit trail alike. Rotation follows the Standard Webhooks
spec: a new secret is added in front of the old one and every copy is signed with both (channels/partners.py), so a
receiver holding either verifies; once the partner has switched, the old one is removed. At most MAX_SECRETS at once.

The ledger names a copy's endpoint by its address (Delivery.target, no foreign key) and the dispatcher reads the
secrets of the active endpoint at that address when it sends: a rotation applies to copies still to be sent, and an
endpoint that copies were addressed to is deactivated, not deleted, so that the history keeps its owner.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import require_centre_admin
from alerts.centres import get as get_centre
from alerts.errors import Conflict, InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import Centre, Delivery, PartnerEndpoint, User, utcnow
from channels.base import Target
from channels.partners import SECRET_PREFIX, PartnerChannel, PingAnswer, secret_bytes

MAX_URL = 500
MAX_SECRETS = 2  # the current secret and the one it replaces, while the partner switches over
SECRET_BYTES = 32
FINGERPRINT = re.compile(r"^[0-9a-f]{8}$")
PING_TYPE = "benelert.ping"
CHANNEL = "partners"  # the ledger's channel name of partner copies


def fingerprint(secret: str) -> str:
    """How a secret is named once it has been shown: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def describe(endpoint: PartnerEndpoint) -> dict[str, Any]:
    """An endpoint as the API and the page show it: never a secret, only their fingerprints (newest first)."""
    return {"id": endpoint.id, "centre": endpoint.centre.code, "url": endpoint.url, "active": endpoint.active,
            "disabled_reason": endpoint.disabled_reason, "created_at": endpoint.created_at,
            "secret_fingerprints": [fingerprint(secret) for secret in endpoint.secrets or []],
            "rotating": len(endpoint.secrets or []) > 1}


# ---- checks ----------------------------------------------------------------------------------------------------

def _url(value: Any, development: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_("Give the endpoint's address as an https:// URL."), field="url")
    value = value.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        parts = None
    allowed = ("https", "http") if development else ("https",)
    if (parts is None or parts.scheme not in allowed or not parts.hostname or parts.username is not None
            or parts.password is not None or len(value) > MAX_URL or any(c.isspace() for c in value)):
        raise InvalidInput(_("Give the endpoint's address as an https:// URL without a user name or password (at "
                             "most %(max)d characters).", max=MAX_URL), field="url")
    return value


def _secret(value: Any) -> str:
    if value is None:
        return new_secret()
    try:
        if not isinstance(value, str):
            raise ValueError
        secret_bytes(value)
    except ValueError:
        raise InvalidInput(_("A signing secret is written whsec_ followed by at least 24 random bytes in base64, as "
                             "the Standard Webhooks libraries make them. Leave it out and Benelert makes one."),
                           field="secret") from None
    return value


def _address_free(session: Session, url: str, endpoint_id: int | None = None) -> None:
    """The dispatcher finds an endpoint's secrets by its address: two endpoints at one address would sign each
    other's copies."""
    query = select(exists().where(PartnerEndpoint.url == url))
    if endpoint_id is not None:
        query = select(exists().where(PartnerEndpoint.url == url, PartnerEndpoint.id != endpoint_id))
    if session.scalar(query):
        raise Conflict(_("Another partner endpoint already has this address."), field="url")


def _centre(session: Session, actor: User, code: str) -> Centre:
    centre = get_centre(session, code)
    require_centre_admin(actor, centre.id)
    return centre


def get(session: Session, actor: User, code: str, endpoint_id: int, for_update: bool = False) -> PartnerEndpoint:
    """The centre's endpoint (its admins and network administrators); another centre's is not found."""
    centre = _centre(session, actor, code)
    lock = {"of": PartnerEndpoint} if for_update else None  # not its joined centre's row
    endpoint = session.get(PartnerEndpoint, endpoint_id, with_for_update=lock, populate_existing=for_update)
    if endpoint is None or endpoint.centre_id != centre.id:
        raise NotFound(_("%(centre)s has no partner endpoint %(id)s.", centre=centre.code, id=endpoint_id))
    return endpoint


def listing(session: Session, actor: User, code: str) -> tuple[Centre, list[PartnerEndpoint]]:
    """The centre's endpoints, active first (their addresses are for its admins and network administrators)."""
    centre = _centre(session, actor, code)
    endpoints = session.scalars(select(PartnerEndpoint).where(PartnerEndpoint.centre_id == centre.id)
                                .order_by(PartnerEndpoint.active.desc(), PartnerEndpoint.id)).all()
    return centre, list(endpoints)


# ---- changes ---------------------------------------------------------------------------------------------------

def create(session: Session, actor: User, code: str, url: Any, secret: Any = None,
           development: bool = False) -> tuple[PartnerEndpoint, str]:
    """A new endpoint of the centre, active, with `secret` or one made here: (endpoint, secret). The secret is in
    this answer only."""
    centre = _centre(session, actor, code)
    url = _url(url, development)
    secret = _secret(secret)
    _address_free(session, url)
    endpoint = PartnerEndpoint(centre_id=centre.id, centre=centre, url=url, secrets=[secret], active=True,
                               created_at=utcnow())
    session.add(endpoint)
    session.flush()
    audit.record(session, actor, "partner_endpoint.create", "partner_endpoint", endpoint.id,
                 detail={"centre": centre.code, "url": url, "secrets": [fingerprint(secret)]})
    return endpoint, secret


def update(session: Session, actor: User, code: str, endpoint_id: int, changes: dict[str, Any],
           development: bool = False) -> PartnerEndpoint:
    """Change the address (`url`) or switch the endpoint off and on (`active`). Copies already queued for the old
    address are not redirected: the dispatcher finds no endpoint there any more and marks them failed."""
    endpoint = get(session, actor, code, endpoint_id, for_update=True)
    unknown = sorted(set(changes) - {"url", "active"})
    if unknown:
        raise InvalidInput(_("Unknown setting: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
    before = {"url": endpoint.url, "active": endpoint.active}
    if "url" in changes:
        url = _url(changes["url"], development)
        if url != endpoint.url:
            _address_free(session, url, endpoint.id)
            endpoint.url = url
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidInput(_("“active” is true or false."), field="active")
        if changes["active"] and not endpoint.active:
            endpoint.disabled_reason = None
        elif not changes["active"] and endpoint.active:
            endpoint.disabled_reason = f"deactivated by {actor.username}"
        endpoint.active = changes["active"]
    after = {"url": endpoint.url, "active": endpoint.active}
    if after == before:
        return endpoint
    session.flush()
    audit.record(session, actor, "partner_endpoint.update", "partner_endpoint", endpoint.id,
                 detail={"centre": endpoint.centre.code, "before": before, "after": after})
    return endpoint


def has_copies(session: Session, endpoint: PartnerEndpoint) -> bool:
    """Whether any ledger row was addressed to this endpoint."""
    return bool(session.scalar(select(exists().where(
        Delivery.channel == CHANNEL, Delivery.target == endpoint.url, Delivery.centre_code == endpoint.centre.code))))


def delete(session: Session, actor: User, code: str, endpoint_id: int) -> PartnerEndpoint | None:
    """Remove the endpoint; one that copies were addressed to is deactivated instead (returned), so that the
    delivery history keeps its owner. None: deleted."""
    endpoint = get(session, actor, code, endpoint_id, for_update=True)
    detail = {"centre": endpoint.centre.code, "url": endpoint.url}
    if has_copies(session, endpoint):
        if endpoint.active:
            endpoint.active = False
            endpoint.disabled_reason = f"removed by {actor.username}; kept for its delivery history"
            session.flush()
            audit.record(session, actor, "partner_endpoint.deactivate", "partner_endpoint", endpoint.id,
                         detail={**detail, "why": "copies were addressed to it"})
        return endpoint
    session.delete(endpoint)
    session.flush()
    audit.record(session, actor, "partner_endpoint.delete", "partner_endpoint", endpoint_id, detail=detail)
    return None


def add_secret(session: Session, actor: User, code: str, endpoint_id: int,
               secret: Any = None) -> tuple[PartnerEndpoint, str]:
    """Start a rotation: `secret` (or one made here) becomes the newest; the old one still signs every copy until
    it is removed. (endpoint, secret): the secret is in this answer only."""
    endpoint = get(session, actor, code, endpoint_id, for_update=True)
    secret = _secret(secret)
    current = list(endpoint.secrets or [])
    prints = [fingerprint(s) for s in current]
    if fingerprint(secret) in prints:
        raise Conflict(_("The endpoint already has this secret."), field="secret")
    if len(current) >= MAX_SECRETS:
        raise Conflict(_("The endpoint is already in a rotation: remove its old secret (%(fingerprint)s) before "
                         "adding another.", fingerprint=prints[-1]))
    endpoint.secrets = [secret, *current]  # a new list: the JSON column notices assignment, not mutation
    session.flush()
    audit.record(session, actor, "partner_endpoint.secret_add", "partner_endpoint", endpoint.id,
                 detail={"centre": endpoint.centre.code, "added": fingerprint(secret),
                         "secrets": [fingerprint(secret), *prints]})
    return endpoint, secret


def remove_secret(session: Session, actor: User, code: str, endpoint_id: int, print_: str) -> PartnerEndpoint:
    """End a rotation: the secret with fingerprint `print_` no longer signs. The last secret stays (409)."""
    endpoint = get(session, actor, code, endpoint_id, for_update=True)
    current = list(endpoint.secrets or [])
    kept = [secret for secret in current if fingerprint(secret) != print_]
    if not isinstance(print_, str) or not FINGERPRINT.match(print_) or len(kept) == len(current):
        raise NotFound(_("The endpoint has no secret with fingerprint %(fingerprint)s.", fingerprint=str(print_)))
    if not kept:
        raise Conflict(_("This is the endpoint's only secret: add the new one first, then remove this one."))
    endpoint.secrets = kept
    session.flush()
    audit.record(session, actor, "partner_endpoint.secret_remove", "partner_endpoint", endpoint.id,
                 detail={"centre": endpoint.centre.code, "removed": print_,
                         "secrets": [fingerprint(secret) for secret in kept]})
    return endpoint


# ---- ping ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PingPlan:
    """What a ping sends and where, read in a transaction that ends before anything is sent."""

    endpoint_id: int
    centre: str
    url: str
    secrets: tuple[str, ...]
    at: datetime


def prepare_ping(session: Session, actor: User, code: str, endpoint_id: int) -> PingPlan:
    endpoint = get(session, actor, code, endpoint_id)
    return PingPlan(endpoint.id, endpoint.centre.code, endpoint.url, tuple(endpoint.secrets or ()), utcnow())


def send_ping(plan: PingPlan, channel: PartnerChannel) -> PingAnswer:
    """One signed "benelert.ping" request, signed like every copy (with each of the endpoint's secrets). Without a
    transaction: the caller holds no database lock while the partner takes up to 5 seconds to answer."""
    msg_id = f"msg_ping_{random_secrets.token_hex(12)}"
    data = {"centre": plan.centre, "endpoint_id": plan.endpoint_id, "sent": plan.at.isoformat()}
    return channel.ping(Target(address=plan.url, secrets=plan.secrets), msg_id, data, event_type=PING_TYPE)


def record_ping(session: Session, actor: User, plan: PingPlan, answer: PingAnswer) -> None:
    audit.record(session, actor, "partner_endpoint.ping", "partner_endpoint", plan.endpoint_id,
                 detail={"centre": plan.centre, "url": plan.url, "status_code": answer.status_code,
                         "latency_ms": answer.latency_ms, "ok": answer.ok, "error": answer.error,
                         "secrets": [fingerprint(secret) for secret in plan.secrets]})
