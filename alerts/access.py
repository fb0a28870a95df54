"""Who may do what to which alert: one rule table, read by every endpoint.

A user acts for one centre. Rules name the roles allowed and whether the user's centre must take
part in the alert. Partner users see an alert only once it is shared (approved or later).
"""
from __future__ import annotations

from alerts.errors import Forbidden, NotFound
from alerts.i18n import _
from alerts.models import Alert, User
from alerts.workflow import SHARED_STATES, role_names

STAFF = frozenset({"communicator", "spokesperson", "admin"})

ALERT_RULES: dict[str, frozenset[str]] = {
    "read": STAFF | {"partner"},
    "history": STAFF,  # versions, diffs, comments
    "comment": frozenset({"communicator", "spokesperson"}),
    "edit": frozenset({"communicator"}),
    "invite": frozenset({"communicator"}),
}

REFUSED = {
    "read": _("Your role does not allow you to read this alert."),
    "history": _("Your role does not allow you to see the history of this alert."),
    "comment": _("Your role does not allow you to comment on this alert."),
    "edit": _("Your role does not allow you to edit this alert."),
    "invite": _("Your role does not allow you to invite centres to this alert."),
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
        raise NotFound(_("Alert %(id)s not found.", id=alert.id))
    if not can(user, action, alert):
        raise Forbidden(REFUSED.get(action, _("Your role does not allow you to do this to this alert.")))


def require_role(user: User, *roles: str) -> None:
    if not user.has_role(*roles):
        raise Forbidden(_("This needs the role %(roles)s.", roles=role_names(roles)))


# Who runs which part of the network. A centre's `admin` manages their own centre (its settings, channels,
# partner endpoints, users, contact points); a `network-admin` manages every centre and adds new ones.
NETWORK_RULES: dict[str, frozenset[str]] = {
    "manage-own-centre": frozenset({"admin", "network-admin"}),
    "manage-any-centre": frozenset({"network-admin"}),
    "add-centre": frozenset({"network-admin"}),
    # the communication tests: sent to every centre, so their history is the network's (its staff and admins read it)
    "read-communication-tests": STAFF | {"network-admin"},
    "start-communication-test": frozenset({"spokesperson", "admin"}),
    "schedule-communication-tests": frozenset({"network-admin"}),
}


def can_manage_centre(user: User, centre_id: int) -> bool:
    """May `user` change the centre `centre_id` (its settings, channels, endpoints, users, contact points)?"""
    if user.roles & NETWORK_RULES["manage-any-centre"]:
        return True
    return bool(user.roles & NETWORK_RULES["manage-own-centre"]) and user.centre_id == centre_id


def require_centre_admin(user: User, centre_id: int) -> None:
    if not can_manage_centre(user, centre_id):
        raise Forbidden(_("Only an administrator of this centre or of the network may do this."))


def require_network_role(user: User, rule: str, message) -> None:
    if not user.roles & NETWORK_RULES[rule]:
        raise Forbidden(message)


def require_network_admin(user: User) -> None:
    if not user.roles & NETWORK_RULES["add-centre"]:
        raise Forbidden(_("Only a network administrator may do this."))
