"""One-time links to set a password: an invitation (a new user without a password) or a reset by an admin.

The link's secret is random, shown once to the admin (who passes it on by phone or secure mail: Benelert sends no
e-mail) and kept only as its SHA-256 hash. It works once, for LINK_VALIDITY; a newer link for the same user, or the
user's deactivation, ends it. A reset ends the old password and the user's browser sessions at once."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alerts import accounts, audit, user_admin
from alerts.errors import Conflict, DomainError, InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import User, utcnow
from alerts.password_link_model import PasswordLink

LINK_VALIDITY = timedelta(hours=72)
MAX_SECRET = 100  # what token_urlsafe(32) makes is 43 characters; anything much longer is not ours


class LinkGone(DomainError, status=410, title=_("Gone")):
    """The link existed but can no longer be used: used, replaced by a newer one, expired, or its user deactivated."""


@dataclass
class IssuedLink:
    user: User
    link: PasswordLink
    secret: str  # shown once; only its hash is stored


def _issue(session: Session, actor: User | str, user: User, purpose: str) -> IssuedLink:
    user_admin.void_links(session, user)
    secret = secrets.token_urlsafe(32)
    link = PasswordLink(user_id=user.id, token_hash=accounts.token_hash(secret), purpose=purpose,
                        expires_at=utcnow() + LINK_VALIDITY)
    session.add(link)
    session.flush()
    audit.record(session, actor, f"user.{purpose}", "user", user.id, detail={
        "username": user.username, "link": link.id, "expires_at": link.expires_at.isoformat()})
    return IssuedLink(user, link, secret)


def invite(session: Session, actor: User | str, *, centre_code: str, username: str, display_name: str,
           roles) -> IssuedLink:
    """A new user without a password, and the link with which they choose one."""
    user = user_admin.create_user(session, actor, centre_code=centre_code, username=username,
                                  display_name=display_name, roles=roles, password=None)
    return _issue(session, actor, user, "invite")


def reset(session: Session, actor: User | str, username: str) -> IssuedLink:
    """A new link for the user. Their password stops working now and their browser sessions end (their API tokens
    stay: revoke those one by one). For a user who never set a password, a new invitation instead."""
    user = user_admin.get_user(session, actor, username)
    user_admin.require_may_change(actor, user)
    if not user.active:
        raise Conflict(_("%(username)s is deactivated: reactivate the account first.", username=user.username))
    ever_set = user.password_hash is not None or session.scalar(  # a reset of a reset is still a reset
        select(PasswordLink.id).where(PasswordLink.user_id == user.id, PasswordLink.purpose == "reset").limit(1)
    ) is not None
    if ever_set:
        user.password_hash = None
        user_admin.end_sessions(session, user)
    return _issue(session, actor, user, "reset" if ever_set else "invite")


def find(session: Session, secret: str) -> PasswordLink:
    """The usable link with this secret: NotFound when there is none, LinkGone when it can no longer be used."""
    if not secret or len(secret) > MAX_SECRET:
        raise NotFound(_("This link is not known. Ask your centre's administrator for a new one."))
    link = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == accounts.token_hash(secret)))
    if link is None:
        raise NotFound(_("This link is not known. Ask your centre's administrator for a new one."))
    if link.used_at is not None or not link.user.active:
        raise LinkGone(_("This link has been used already or was replaced by a newer one. Ask your centre's "
                         "administrator for a new one."))
    if link.expires_at <= utcnow():
        raise LinkGone(_("This link has expired. Ask your centre's administrator for a new one."))
    return link


def set_password(session: Session, secret: str, password: str) -> User:
    """Use the link: the user's password is `password` from now on, and the link is spent."""
    if not isinstance(password, str) or len(password) < accounts.MIN_PASSWORD:
        raise InvalidInput(_("A password needs at least %(min)d characters.", min=accounts.MIN_PASSWORD),
                           field="password")
    if len(password) > 200:
        raise InvalidInput(_("A password has at most %(max)d characters.", max=200), field="password")
    link = find(session, secret)
    # spent by this statement only: of two uses at the same moment, one finds it used
    spent = session.execute(update(PasswordLink).where(PasswordLink.id == link.id, PasswordLink.used_at.is_(None))
                            .values(used_at=utcnow())).rowcount
    if spent != 1:
        raise LinkGone(_("This link has been used already or was replaced by a newer one. Ask your centre's "
                         "administrator for a new one."))
    user = link.user
    user.password_hash = accounts.HASHER.hash(password)
    user_admin.end_sessions(session, user)
    audit.record(session, user, "user.password_set", "user", user.id, detail={"username": user.username,
                                                                              "link": link.id,
                                                                              "purpose": link.purpose})
    return user
