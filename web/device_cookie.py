"""The device cookie (OWASP "slow brute-force protection using device cookies"): a browser that logged in as a user
is given a signed, long-lived cookie naming that user and a random device id. Its later login attempts for that user
are counted on their own (alerts/login_throttle.py), so failures from anywhere else never lock it out.

One cookie holds the devices of a few users (a shared desk in a crisis room), most recent last. It is signed with
the app's secret key, so it cannot be made for another user; it is no credential: the password is still checked.
"""
from __future__ import annotations

import secrets

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from alerts.accounts import normal_username
from web import services

COOKIE = "benelert_device"
SALT = "benelert-device"
MAX_USERS = 8
DEVICE_ID_LENGTH = 22  # secrets.token_urlsafe(16)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def _max_age() -> int:
    return services().settings.device_cookie_days * 24 * 3600


def _devices() -> dict[str, str]:
    """username -> device id, from the request's cookie; anything unsigned, expired or malformed counts as none."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return {}
    try:
        value = _serializer().loads(raw, max_age=_max_age())
    except BadData:
        return {}
    if not isinstance(value, dict):
        return {}
    return {user: device for user, device in value.items()
            if isinstance(user, str) and isinstance(device, str) and len(device) == DEVICE_ID_LENGTH}


def device_for(username: str) -> str | None:
    """The id of this browser for `username`, if it logged in as that user before (and the cookie is genuine)."""
    return _devices().get(normal_username(username))


def remember(response: Response, username: str) -> None:
    """After a successful login: this browser is a known device of `username` (a new id at every login)."""
    devices = _devices()
    username = normal_username(username)
    devices.pop(username, None)
    devices[username] = secrets.token_urlsafe(16)
    kept = dict(list(devices.items())[-MAX_USERS:])
    response.set_cookie(COOKIE, _serializer().dumps(kept), max_age=_max_age(), httponly=True, samesite="Lax",
                        secure=services().settings.secure_cookies)
