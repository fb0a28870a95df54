"""Users, password logins, browser sessions and personal API tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from alerts import audit
from alerts.errors import Conflict, Forbidden, InvalidInput, NotFound
from alerts.i18n import _
from alerts.login_throttle import LoginThrottle, ThrottleUnavailable, TooManyAttempts  # noqa: F401 (re-exported)
from alerts.models import ROLES, ApiToken, AuditEvent, Centre, User, UserRole, UserSession, utcnow

HASHER = PasswordHasher()
# Verified against when the user does not exist, so that timing does not reveal valid usernames.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
TOKEN_PREFIX = "bnl_"
MIN_PASSWORD = 12


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def create_user(
    session: Session,
    actor: User | str | None,
    *,
    username: str,
    display_name: str,
    centre_code: str,
    roles: list[str] | tuple[str, ...],
    password: str | None,
) -> User:
    username = username.strip().lower()
    if not username or len(username) > 80:
        raise InvalidInput(_("A username of 1 to 80 characters is required."))
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise InvalidInput(_("Roles must be among %(roles)s; got %(unknown)s.", roles=", ".join(ROLES),
                             unknown=", ".join(unknown) or _("none")))
    centre = session.scalar(select(Centre).where(Centre.code == centre_code))
    if centre is None:
        raise InvalidInput(_("Unknown centre '%(centre)s'.", centre=centre_code))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("The username '%(username)s' is taken.", username=username))
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(_("A password needs at least %(min)d characters.", min=MIN_PASSWORD))
    user = User(
        username=username,
        display_name=display_name or username,
        centre=centre,
        password_hash=HASHER.hash(password) if password else None,
        role_rows=[UserRole(role=role) for role in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, detail={"username": username,
                                                                         "centre": centre_code,
                                                                         "roles": sorted(set(roles))})
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == normal_username(username)))
    if user is None:
        raise NotFound(_("No user '%(username)s'.", username=username))
    return user


@dataclass
class Login:
    user: User
    session_token: str
    failed_attempts: int = 0  # wrong passwords for this username since the user's previous login


def normal_username(username: str) -> str:
    return username.strip().lower()


def login(
    session: Session,
    throttle: LoginThrottle,
    *,
    username: str,
    password: str,
    address: str,
    lifetime: timedelta,
    device: str | None = None,
) -> Login:
    """Check the password and open a new browser session (never reuse one: no fixation).

    `device` names the device the caller vouches was used for a login of this username before (a signed device
    cookie): its attempts are counted on their own, so failures elsewhere never lock that device out."""
    username = normal_username(username)
    refusal = throttle.check(username, address, device)
    if refusal is not None:
        raise refusal.error()
    user = session.scalar(select(User).where(User.username == username))
    try:
        HASHER.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        valid = user is not None and user.password_hash is not None and user.active
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid:
        throttle.failed(address, device)
        audit.record(session, username[:80], "login.failed", "user", username[:80],
                     detail={"address": address, "known_device": device is not None})
        raise Forbidden(_("Unknown username or wrong password."))
    throttle.succeeded(username, address, device)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    failed = failed_since_last_login(session, user)
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=token_hash(token), user_id=user.id, expires_at=utcnow() + lifetime))
    audit.record(session, user, "login", "user", user.id, detail={"address": address,
                                                                  "known_device": device is not None})
    return Login(user=user, session_token=token, failed_attempts=failed)


def failed_since_last_login(session: Session, user: User) -> int:
    """Wrong passwords given for the user's name (audited) since their last login, or since the user was made."""
    since = session.scalar(select(func.max(AuditEvent.seq)).where(
        AuditEvent.action.in_(("login", "user.create")), AuditEvent.object_type == "user",
        AuditEvent.object_id == str(user.id)))
    return session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login.failed", AuditEvent.object_type == "user",
        AuditEvent.object_id == user.username[:80], AuditEvent.seq > (since or 0))) or 0


def unlock(session: Session, throttle: LoginThrottle, actor: User | str, username: str) -> User:
    """An admin lets the user of their own centre try logins again at once: every login count of the username is
    cleared (its devices, its addresses, all untrusted clients). Audited. `actor` as a string is an operator on
    the server (`flask users unlock`), who answers for every centre."""
    operator = isinstance(actor, str)
    if not operator and not actor.has_role("admin"):
        raise Forbidden(_("Only an admin of the user's centre can unlock the user's logins."))
    user = session.scalar(select(User).where(User.username == normal_username(username)))
    if user is None or (not operator and user.centre_id != actor.centre_id):  # an admin: their own centre only
        raise NotFound(_("No user '%(username)s'.", username=username))
    audit.record(session, actor, "user.unlock", "user", user.id, detail={"username": user.username})
    throttle.unlock(user.username)
    return user


def user_for_session(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.active else None


def logout(session: Session, token: str | None) -> None:
    if not token:
        return
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, session.get(User, row.user_id), "logout", "user", row.user_id)


def create_token(
    session: Session, actor: User | str | None, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Returns the row and the secret; the secret is shown once and only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name[:80] or "token", prefix=secret[:12], token_hash=token_hash(secret),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", "token", token.id, detail={"user": user.username,
                                                                            "name": token.name})
    return token, secret


def revoke_token(session: Session, actor: User | str | None, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("No token %(id)s.", id=token_id))
    own_centre_admin = isinstance(actor, User) and actor.has_role("admin") and token.user.centre_id == actor.centre_id
    if isinstance(actor, User) and token.user_id != actor.id and not own_centre_admin:
        raise NotFound(_("No token %(id)s.", id=token_id))  # an admin answers for the tokens of their own centre only
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "token", token.id, detail={"user": token.user.username})
    return token


def usable_token(now) -> tuple:
    """What makes a token (joined with its user) usable: not revoked, not expired, its user active."""
    return (ApiToken.revoked_at.is_(None), User.active.is_(True),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))


def user_for_token(session: Session, secret: str | None) -> User | None:
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    return session.scalars(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(secret), *usable_token(utcnow()))
        .options(joinedload(User.role_rows))  # the roles are checked next: one statement, not two
    ).unique().one_or_none()
