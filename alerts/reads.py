"""The hot read path: who is asking and what state the alert is in, in one statement.

Clients poll GET /api/v1/alerts/<id>. Its answer only changes when the alert's version, state or
update time changes, so the web layer caches the serialised answer under those three values and
needs just this one indexed statement per request (token, user, roles, participation, alert head),
run outside a transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, exists, func, select

from alerts import access
from alerts.accounts import TOKEN_PREFIX, token_hash, usable_token
from alerts.models import Alert, AlertCentre, ApiToken, User, UserRole, utcnow


@dataclass(frozen=True)
class AlertHead:
    username: str
    roles: frozenset[str]
    id: int | None  # the alert's; None: no such alert
    taking_part: bool
    state: str | None
    current_version: int | None
    updated_at: datetime | None

    @property
    def visible(self) -> bool:
        return self.id is not None and access.visible(self.roles, self.taking_part, self.state)

    @property
    def cache_key(self) -> tuple:
        return answer_key(self)


def answer_key(alert) -> tuple:
    """What a GET answer depends on besides who asks: an Alert or an AlertHead gives the same key."""
    return (alert.id, alert.current_version, alert.state, alert.updated_at)


_ROLES = select(func.aggregate_strings(UserRole.role, ",")).where(UserRole.user_id == User.id).scalar_subquery()
_TAKING_PART = exists().where(AlertCentre.alert_id == Alert.id, AlertCentre.centre_id == User.centre_id)
_HEAD = (
    select(User.username, _ROLES, Alert.id, _TAKING_PART, Alert.state, Alert.current_version,
           Alert.updated_at)
    .select_from(ApiToken)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Alert, Alert.id == bindparam("alert_id"))
    .where(ApiToken.token_hash == bindparam("token_hash"), *usable_token(bindparam("now")))
)


def alert_head(connection: Connection, secret: str | None, alert_id: int) -> AlertHead | None:
    """None when the token is not a valid, unrevoked, unexpired token of an active user."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    row = connection.execute(_HEAD, {"token_hash": token_hash(secret), "alert_id": alert_id,
                                     "now": utcnow()}).first()
    if row is None:
        return None
    username, roles, found_id, taking_part, state, number, updated_at = row
    return AlertHead(username, frozenset((roles or "").split(",")) - {""}, found_id,
                     bool(taking_part) and found_id is not None, state, number, updated_at)
