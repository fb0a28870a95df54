"""The alert life cycle as one table: (state, action) -> (next state, roles allowed).

`advance` is the only way an alert's state changes: every verb (authoring, review, release, firing, the
prepared Cancel, communication tests, expiry) names its action and this table says whether it may happen, who
may do it and what the alert becomes. The worker process acts as the role "worker".
"""
from __future__ import annotations

from dataclasses import dataclass

from alerts.errors import Conflict, Forbidden

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
    # a communication test: a Test to the partner centres only, never public, so it needs no review
    ("draft", "start_test"): _t("scheduled", "spokesperson", "admin"),
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


def transition(state: str, action: str) -> Transition:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(f"An alert in state '{state}' cannot be {PAST.get(action, action)}.", state=state) from None


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
        names = " or ".join(sorted(needed - {WORKER}))
        raise Forbidden(f"This needs the role {names}: your role does not allow this alert to be "
                        f"{PAST.get(action, action)}.")


def advance(alert, action: str, actor) -> Transition:
    """Take the transition: checked as `check` does, then the alert is in its new state."""
    step = check(alert, action, actor)
    alert.state = step.to
    return step
