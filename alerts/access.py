"""Who may do what to which alert: one rule table, read by every endpoint.

A user acts for one centre. Rules name the roles allowed and whether the user's centre must take
part in the alert. Partner users see an alert only once it is shared (approved or later).
"""
from __future__ import annotations

from alerts.errors import Forbidden, NotFound
from alerts.models import Alert, User
from alerts.workflow import SHARED_STATES

STAFF = frozenset({"communicator", "spokesperson", "admin"})

ALERT_RULES: dict[str, frozenset[str]] = {
    "read": STAFF | {"partner"},
    "history": STAFF,  # versions, diffs, comments
    "comment": frozenset({"communicator", "spokesperson"}),
    "edit": frozenset({"communicator"}),
    "invite": frozenset({"communicator"}),
}


def takes_part(user: User, alert: Alert) -> bool:
    return user.centre_id in alert.centre_ids


def visible(roles: frozenset[str], taking_part: bool, state: str) -> bool:
    """The visibility rule on plain values (also used by the one-statement read path)."""
    if not taking_part:
        return False
    return bool(roles & STAFF) or ("partner" in roles and state in SHARED_STATES)


def can_see(user: User, alert: Alert) -> bool:
    return visible(user.roles, takes_part(user, alert), alert.state)


def can(user: User, action: str, alert: Alert) -> bool:
    return can_see(user, alert) and bool(user.roles & ALERT_RULES[action])


def require(user: User, action: str, alert: Alert) -> None:
    """Raise NotFound when the user may not even see the alert (no existence leak), else Forbidden."""
    if not can_see(user, alert):
        raise NotFound(f"Alert {alert.id} not found.")
    if not can(user, action, alert):
        raise Forbidden(f"Your role does not allow you to {action} this alert.")


def require_role(user: User, *roles: str) -> None:
    if not user.has_role(*roles):
        raise Forbidden(f"This needs the role {' or '.join(roles)}.")
