"""The alert life cycle as one table: (state, action) -> (next state, roles allowed)."""
from __future__ import annotations

from dataclasses import dataclass

from alerts.errors import Conflict


@dataclass(frozen=True)
class Transition:
    to: str
    roles: frozenset[str]


def _t(to: str, *roles: str) -> Transition:
    return Transition(to, frozenset(roles))


TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("draft", "edit"): _t("draft", "communicator"),
    ("in_review", "edit"): _t("draft", "communicator"),
    ("approved", "edit"): _t("draft", "communicator"),
    ("draft", "submit"): _t("in_review", "communicator"),
    ("in_review", "approve"): _t("in_review", "spokesperson"),  # -> approved once every centre approved
    ("in_review", "reject"): _t("draft", "spokesperson"),
    ("approved", "schedule"): _t("scheduled", "spokesperson"),
    ("scheduled", "unschedule"): _t("approved", "spokesperson"),
    ("scheduled", "release"): _t("releasing", "worker"),
    ("releasing", "finish"): _t("released", "worker"),
    ("released", "expire"): _t("expired", "worker"),
    ("released", "cancel"): _t("cancelled", "worker"),  # when its Cancel is released
}

STATES = ("draft", "in_review", "approved", "scheduled", "releasing", "released", "expired", "cancelled")
# States in which an alert is shared with partner users of the centres taking part.
SHARED_STATES = frozenset({"approved", "scheduled", "releasing", "released", "expired", "cancelled"})


def transition(state: str, action: str) -> Transition:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(f"An alert in state '{state}' cannot be {_past(action)}.", state=state) from None


def allowed(state: str, action: str) -> bool:
    return (state, action) in TRANSITIONS


def _past(action: str) -> str:
    return {"edit": "edited", "submit": "submitted", "approve": "approved", "reject": "rejected",
            "schedule": "scheduled", "unschedule": "unscheduled", "release": "released",
            "finish": "finished", "expire": "expired"}.get(action, action)
