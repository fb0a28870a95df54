"""The alert life cycle as one table: (state, action) -> (next state, roles allowed).

`advance` is the only way an alert's state changes: every verb (authoring, review, release, firing, the
prepared Cancel, communication tests, expiry) names its action and this table says whether it may happen, who
may do it and what the alert becomes. The worker process acts as the role "worker".
"""
from __future__ import annotations

from dataclasses import dataclass

from alerts.errors import Conflict, Forbidden
from alerts.i18n import Msg, _

WORKER = "worker"


@dataclass(frozen=True)
class Transition:
    to: str
    roles: frozenset[str]


def _t(to: str, *roles: str) -> Transition:
    return Transition(to, frozenset(roles))


TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("draft", "edit"): _t("draft", "communicator"),
    ("in_review", "edit"): _t("draft", "communicator"),  # an edit voids the approvals given so far
    ("approved", "edit"): _t("draft", "communicator"),
    ("draft", "submit"): _t("in_review", "communicator", WORKER),  # the worker submits a prepared Cancel
    ("in_review", "approve"): _t("in_review", "spokesperson"),  # other centres have still to decide
    ("in_review", "approve_all"): _t("approved", "spokesperson"),  # the last centre's approval
    ("in_review", "reject"): _t("draft", "spokesperson"),
    ("approved", "schedule"): _t("scheduled", "spokesperson"),
    # a communication test: a Test to the partner centres only, never public, so it needs no review; the worker
    # starts the quarterly one
    ("draft", "start_test"): _t("scheduled", "spokesperson", "admin", WORKER),
    # before T the spokesperson of a centre taking part may stop it: its staged ledger goes, it can be edited again
    ("scheduled", "withdraw"): _t("approved", "spokesperson"),
    ("scheduled", "release"): _t("released", WORKER),  # T reached: its ledger was staged when it was scheduled
    ("released", "expire"): _t("expired", WORKER),
    ("released", "cancel"): _t("cancelled", WORKER),  # when a Cancel referring to it is released
    ("released", "supersede"): _t("superseded", WORKER),  # when an Update referring to it is released
    # an Update or Cancel still in the works (e.g. the prepared Cancel) of an alert that another one ended
    ("draft", "close"): _t("closed", WORKER),
    ("in_review", "close"): _t("closed", WORKER),
    ("approved", "close"): _t("closed", WORKER),
    ("scheduled", "close"): _t("closed", WORKER),
}

# action -> every role that may take it in some state; action -> the states it can be taken from
ACTION_ROLES = {action: frozenset().union(*(t.roles for (_, a), t in TRANSITIONS.items() if a == action))
                for _, action in TRANSITIONS}
FROM_STATES = {action: frozenset(s for s, a in TRANSITIONS if a == action) for _, action in TRANSITIONS}

STATES = ("draft", "in_review", "approved", "scheduled", "released", "expired", "cancelled", "superseded", "closed")
# States in which an alert is shared with partner users of the centres taking part.
SHARED_STATES = frozenset({"approved", "scheduled", "released", "expired", "cancelled", "superseded"})

PAST = {"edit": "edited", "submit": "submitted", "approve": "approved", "approve_all": "approved",
        "reject": "rejected", "schedule": "scheduled", "start_test": "started as a communication test",
        "release": "released", "expire": "expired", "cancel": "cancelled", "withdraw": "withdrawn",
        "supersede": "superseded", "close": "closed"}

# the states as people read them (the pages' labels: the same msgids)
STATE_NAMES = {"draft": _("draft"), "in_review": _("in review"), "approved": _("approved"),
               "scheduled": _("scheduled"), "released": _("released"), "expired": _("expired"),
               "cancelled": _("cancelled"), "superseded": _("superseded by an update"),
               "closed": _("closed: not needed any more")}
ROLE_NAMES = {"communicator": _("communicator"), "spokesperson": _("spokesperson"), "partner": _("partner"),
              "admin": _("administrator"), "network-admin": _("network administrator"), WORKER: _("the system")}

# why an action is not possible in a state, and why a role may not take it: one whole sentence per action
NOT_IN_STATE = {
    "edit": _("An alert in state “%(state)s” cannot be edited."),
    "submit": _("An alert in state “%(state)s” cannot be submitted."),
    "approve": _("An alert in state “%(state)s” cannot be approved."),
    "approve_all": _("An alert in state “%(state)s” cannot be approved."),
    "reject": _("An alert in state “%(state)s” cannot be rejected."),
    "schedule": _("An alert in state “%(state)s” cannot be scheduled."),
    "start_test": _("An alert in state “%(state)s” cannot be started as a communication test."),
    "release": _("An alert in state “%(state)s” cannot be released."),
    "expire": _("An alert in state “%(state)s” cannot be expired."),
    "cancel": _("An alert in state “%(state)s” cannot be cancelled."),
    "withdraw": _("An alert in state “%(state)s” cannot be withdrawn."),
    "supersede": _("An alert in state “%(state)s” cannot be superseded."),
    "close": _("An alert in state “%(state)s” cannot be closed."),
}
ROLE_REFUSED = {
    "edit": _("This needs the role %(roles)s: your role does not allow this alert to be edited."),
    "submit": _("This needs the role %(roles)s: your role does not allow this alert to be submitted."),
    "approve": _("This needs the role %(roles)s: your role does not allow this alert to be approved."),
    "approve_all": _("This needs the role %(roles)s: your role does not allow this alert to be approved."),
    "reject": _("This needs the role %(roles)s: your role does not allow this alert to be rejected."),
    "schedule": _("This needs the role %(roles)s: your role does not allow this alert to be scheduled."),
    "start_test": _("This needs the role %(roles)s: your role does not allow this alert to be started as a "
                    "communication test."),
    "release": _("This needs the role %(roles)s: your role does not allow this alert to be released."),
    "expire": _("This needs the role %(roles)s: your role does not allow this alert to be expired."),
    "cancel": _("This needs the role %(roles)s: your role does not allow this alert to be cancelled."),
    "withdraw": _("This needs the role %(roles)s: your role does not allow this alert to be withdrawn."),
    "supersede": _("This needs the role %(roles)s: your role does not allow this alert to be superseded."),
    "close": _("This needs the role %(roles)s: your role does not allow this alert to be closed."),
}


def role_names(roles) -> Msg | str:
    """Roles as people read them: "spokesperson", "spokesperson or administrator" (each name translated)."""
    names = [ROLE_NAMES.get(role, role) for role in sorted(roles)]
    if not names:
        return ""
    phrase = names[-1]
    for name in reversed(names[:-1]):
        phrase = _("%(first)s or %(second)s", first=name, second=phrase)
    return phrase


def _fill(message: Msg, **params) -> Msg:
    return Msg(message.msgid, **params)


def transition(state: str, action: str) -> Transition:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        message = NOT_IN_STATE.get(action, _("An alert in state “%(state)s” cannot change this way."))
        raise Conflict(_fill(message, state=STATE_NAMES.get(state, state)), state=state) from None


def allowed(state: str, action: str) -> bool:
    return (state, action) in TRANSITIONS


def check(alert, action: str, actor) -> Transition:
    """The transition `actor` (a User, or WORKER) would take: Forbidden for a role the table does not name (first,
    whatever the state, when no state lets the role take the action), Conflict in the wrong state. Changes
    nothing: for verbs that write the new state themselves (an edit's compare-and-set on the version number)."""
    roles = frozenset({WORKER}) if actor == WORKER else actor.roles
    _require(roles, ACTION_ROLES.get(action, frozenset()), action)
    step = transition(alert.state, action)
    _require(roles, step.roles, action)
    return step


def _require(roles: frozenset[str], needed: frozenset[str], action: str) -> None:
    if not roles & needed:
        message = ROLE_REFUSED.get(action, _("This needs the role %(roles)s: your role does not allow this."))
        raise Forbidden(_fill(message, roles=role_names(needed - {WORKER})))


def advance(alert, action: str, actor) -> Transition:
    """Take the transition: checked as `check` does, then the alert is in its new state."""
    step = check(alert, action, actor)
    alert.state = step.to
    return step
