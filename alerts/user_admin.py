"""A centre's users, run by its admin or by a network-admin: the list, new users, roles, display names,
deactivation and reactivation, and the users' API tokens (alerts.password_links holds invitations and resets).

Who may: `access.can_manage_centre` (the centre's own admin, or a network-admin for every centre). Only a
network-admin grants or removes the network-admin role or changes a network-admin's account (a centre's admin
would otherwise take it over through a password reset). Nobody removes their own administrator role or
deactivates themselves (so the network keeps a network-admin), and a centre never loses its last active admin:
those are refused with Conflict (409). `actor` as a string is an operator on the server (`flask users ...`), who
answers for every centre and may do what the rules refuse to people: lock out a compromised last admin."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from alerts import accounts, audit, centres
from alerts.access import can_manage_centre, require_centre_admin
from alerts.errors import Conflict, Forbidden, InvalidInput, NotFound
from alerts.i18n import _
from alerts.models import ROLES, ApiToken, User, UserRole, UserSession, utcnow
from alerts.password_link_model import PasswordLink

# what fits in a URL path segment and a shell argument: lower case, digits, and . _ @ -
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,79}$")
MAX_DISPLAY_NAME = 120
NETWORK_ADMIN = "network-admin"
ADMIN = "admin"


@dataclass
class UserSummary:
    user: User
    last_login: datetime | None  # the last browser login (API tokens are not logins)
    tokens: int  # usable API tokens: not revoked, not expired


def is_operator(actor: User | str) -> bool:
    return not isinstance(actor, User)


def _network_admin(actor: User | str) -> bool:
    return is_operator(actor) or actor.has_role(NETWORK_ADMIN)


def get_user(session: Session, actor: User | str, username: str) -> User:
    """The user, when `actor` may manage their centre; NotFound otherwise (no existence leak across centres)."""
    user = session.scalar(select(User).where(User.username == accounts.normal_username(username)))
    if user is None or (not is_operator(actor) and not can_manage_centre(actor, user.centre_id)):
        raise NotFound(_("No user '%(username)s'.", username=username))
    return user


def require_may_change(actor: User | str, user: User) -> None:
    """A write to `user`'s account: their centre's admin or a network-admin; a network-admin's account only by
    a network-admin."""
    if is_operator(actor):
        return
    require_centre_admin(actor, user.centre_id)
    if user.has_role(NETWORK_ADMIN) and not actor.has_role(NETWORK_ADMIN):
        raise Forbidden(_("Only a network administrator may change the account of a network administrator."))


def summaries(session: Session, users: list[User]) -> list[UserSummary]:
    ids = [user.id for user in users]
    if not ids:
        return []
    last = dict(session.execute(select(UserSession.user_id, func.max(UserSession.created_at))
                                .where(UserSession.user_id.in_(ids)).group_by(UserSession.user_id)).all())
    tokens = dict(session.execute(select(ApiToken.user_id, func.count())
                                  .where(ApiToken.user_id.in_(ids), ApiToken.revoked_at.is_(None),
                                         or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()))
                                  .group_by(ApiToken.user_id)).all())
    return [UserSummary(user, last.get(user.id), tokens.get(user.id, 0)) for user in users]


def centre_users(session: Session, actor: User | str, centre_code: str) -> list[UserSummary]:
    """Every user of the centre, active or not, by username."""
    centre = centres.get(session, centre_code)
    if not is_operator(actor):
        require_centre_admin(actor, centre.id)
    users = list(session.scalars(select(User).where(User.centre_id == centre.id)
                                 .options(selectinload(User.role_rows)).order_by(User.username)))
    return summaries(session, users)


def summary(session: Session, user: User) -> UserSummary:
    return summaries(session, [user])[0]


def checked_roles(roles) -> list[str]:
    if isinstance(roles, str) or not all(isinstance(role, str) for role in roles or ()):
        raise InvalidInput(_("Give the roles as a list, e.g. [\"communicator\"]."), field="roles")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise InvalidInput(_("Roles must be among %(roles)s; got %(unknown)s.", roles=", ".join(ROLES),
                             unknown=", ".join(unknown) or _("none")), field="roles")
    return sorted(set(roles))


def _display_name(value) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(_("A display name has 1 to %(max)d characters.", max=MAX_DISPLAY_NAME),
                           field="display_name")
    return name


def create_user(session: Session, actor: User | str, *, centre_code: str, username: str, display_name: str,
                roles, password: str | None) -> User:
    """A new user of the centre with these roles; without a password they cannot log in until they use a link
    (alerts.password_links.invite)."""
    centre = centres.get(session, centre_code)
    if not is_operator(actor):
        require_centre_admin(actor, centre.id)
    roles = checked_roles(roles)
    if NETWORK_ADMIN in roles and not _network_admin(actor):
        raise Forbidden(_("Only a network administrator may grant the network administrator role."))
    username = accounts.normal_username(username) if isinstance(username, str) else ""
    if not USERNAME.match(username):
        raise InvalidInput(_("A username has 1 to 80 characters: lower-case letters, digits and . _ @ -, "
                             "starting with a letter or a digit."), field="username")
    name = _display_name(display_name) if display_name else username
    return accounts.create_user(session, actor, username=username, display_name=name, centre_code=centre.code,
                                roles=roles, password=password)


def active_admins(session: Session, centre_id: int) -> int:
    return session.scalar(select(func.count()).select_from(User).join(UserRole, UserRole.user_id == User.id)
                          .where(UserRole.role == ADMIN, User.active.is_(True), User.centre_id == centre_id)) or 0


def _keep_administrators(session: Session, actor: User | str, user: User, losing: set[str]) -> None:
    """Refuse what would take an administrator role away from `user` (roles removed or the account deactivated)
    when `actor` is that user (so the network keeps a network-admin too), or when `user` is the last active admin of
    their centre."""
    if is_operator(actor) or not user.active:
        return
    if actor.id == user.id and losing & {ADMIN, NETWORK_ADMIN}:
        raise Conflict(_("You cannot remove your own administrator role or deactivate yourself: ask another "
                         "administrator of your centre or a network administrator."))
    if ADMIN in losing and active_admins(session, user.centre_id) <= 1:
        raise Conflict(_("%(username)s is the last active administrator of %(centre)s: give another user of the "
                         "centre the administrator role first.", username=user.username, centre=user.centre.code))


def set_roles(session: Session, actor: User | str, username: str, roles) -> User:
    user = get_user(session, actor, username)
    require_may_change(actor, user)
    new, old = set(checked_roles(roles)), set(user.roles)
    if new == old:
        return user
    if NETWORK_ADMIN in new ^ old and not _network_admin(actor):
        raise Forbidden(_("Only a network administrator may grant the network administrator role."))
    _keep_administrators(session, actor, user, old - new)
    user.role_rows = [row for row in user.role_rows if row.role in new] + [UserRole(role=role)
                                                                            for role in sorted(new - old)]
    session.flush()
    audit.record(session, actor, "user.roles", "user", user.id, detail={"username": user.username,
                                                                        "from": sorted(old), "to": sorted(new)})
    return user


def rename(session: Session, actor: User | str, username: str, display_name: str) -> User:
    user = get_user(session, actor, username)
    require_may_change(actor, user)
    name = _display_name(display_name)
    if name != user.display_name:
        user.display_name = name
        audit.record(session, actor, "user.rename", "user", user.id, detail={"username": user.username})
    return user


def end_sessions(session: Session, user: User) -> int:
    """Every open browser session of the user ends now; how many there were."""
    return session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                     UserSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount


def void_links(session: Session, user: User) -> int:
    """The user's unused password links stop working."""
    return session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
                           .values(used_at=utcnow())).rowcount


def deactivate(session: Session, actor: User | str, username: str) -> User:
    """The user can no longer log in or use a token: their sessions, tokens and password links end now. The user,
    their history and the audit trail stay."""
    user = get_user(session, actor, username)
    require_may_change(actor, user)
    if not user.active:
        return user
    _keep_administrators(session, actor, user, set(user.roles))
    user.active = False
    ended = end_sessions(session, user)
    revoked = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=utcnow())).rowcount
    void_links(session, user)
    session.flush()
    audit.record(session, actor, "user.deactivate", "user", user.id, detail={"username": user.username,
                                                                             "sessions": ended, "tokens": revoked})
    return user


def reactivate(session: Session, actor: User | str, username: str) -> User:
    """The user may log in again with their password; tokens revoked at deactivation stay revoked."""
    user = get_user(session, actor, username)
    require_may_change(actor, user)
    if user.active:
        return user
    user.active = True
    session.flush()
    audit.record(session, actor, "user.reactivate", "user", user.id, detail={"username": user.username})
    return user


def update_user(session: Session, actor: User | str, username: str, changes: dict) -> User:
    """Any of display_name, roles and active, as one operation (the caller's transaction)."""
    unknown = sorted(set(changes) - {"display_name", "roles", "active"})
    if unknown:
        raise InvalidInput(_("Unknown field: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
    if "active" in changes and not isinstance(changes["active"], bool):
        raise InvalidInput(_("“active” is true or false."), field="active")
    user = get_user(session, actor, username)
    if changes.get("active") is True:
        reactivate(session, actor, username)
    if "display_name" in changes:
        rename(session, actor, username, changes["display_name"])
    if "roles" in changes:
        set_roles(session, actor, username, changes["roles"])
    if changes.get("active") is False:
        deactivate(session, actor, username)
    return user


def tokens_of(session: Session, actor: User | str, username: str) -> list[ApiToken]:
    """The user's API tokens, newest first: their prefix and dates, never their secret."""
    user = get_user(session, actor, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, actor: User | str, username: str, token_id: int) -> ApiToken:
    user = get_user(session, actor, username)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No token %(id)s.", id=token_id))
    require_may_change(actor, user)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "token", token.id, detail={"user": user.username})
    return token
