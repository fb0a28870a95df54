"""How many password checks a login may get (OWASP ASVS 2.2.1), counted on `limits` storage.

An attacker must not be able to lock a person out (an account lockout that anyone can trigger is a denial of
service, in a crisis too), yet guessing must stay slow. So attempts are counted by where they come from:

* From a device the person logged in with before (the web layer vouches for it with a signed device cookie bound
  to the username: OWASP's "slow brute-force protection using device cookies"), attempts count against that
  username on that device only. Failures from anywhere else never touch this counter, so they never lock the
  person out of their usual device; nobody else can add to it.
* From any other client (untrusted), attempts count per username and source address, per source address (failed
  attempts, over all usernames), and per username over all untrusted clients (against guessing from many
  addresses). Locking that last one out shuts out untrusted clients only.

Each limit may be several windows ("5 per 15 minutes; 10 per 2 hours"): the delay grows with the attempts. An
account's attempts are hit in one atomic step before the password is checked, so attempts sent together cannot
all pass a check made before any was counted. A successful login clears the counter of that device (or of that
username at that address); an admin's unlock clears every counter of the username at once (a new generation).

With a shared storage URI (redis://...) the limits hold across processes and machines. When that storage cannot
be reached, logins are refused (503) rather than let through unthrottled.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from alerts.errors import DomainError, Forbidden
from alerts.i18n import Msg, _, ngettext

log = logging.getLogger("benelert.accounts")
GENERATION_SECONDS = 10 * 366 * 24 * 3600  # an unlock's generation outlives any counter it made stale


class ThrottleUnavailable(DomainError, status=503, title=_("Login unavailable")):
    pass


class TooManyAttempts(Forbidden):
    """Refused before the password was checked; `extra["retry_after_s"]` says when a try may be checked again."""

    status = 429
    title = _("Too many attempts")


@dataclass(frozen=True)
class Refusal:
    """Which limit refused an attempt, and in how many seconds it lets one through again."""

    kind: str  # "device" | "source" | "address" | "account"
    retry_after_s: int

    def message(self) -> Msg:
        minutes = max(1, math.ceil(self.retry_after_s / 60))
        if self.kind == "device":
            return ngettext(
                "Too many failed logins on this device. Wait %(num)d minute and try again, or ask your centre's "
                "admin to unlock your account.",
                "Too many failed logins on this device. Wait %(num)d minutes and try again, or ask your centre's "
                "admin to unlock your account.", minutes)
        if self.kind == "address":
            return ngettext(
                "Too many failed logins from your network address. Log in on the device you usually log in with, "
                "or wait %(num)d minute and try again.",
                "Too many failed logins from your network address. Log in on the device you usually log in with, "
                "or wait %(num)d minutes and try again.", minutes)
        return ngettext(
            "Too many failed logins for this account. Log in on the device you usually log in with, wait "
            "%(num)d minute and try again, or ask your centre's admin to unlock your account.",
            "Too many failed logins for this account. Log in on the device you usually log in with, wait "
            "%(num)d minutes and try again, or ask your centre's admin to unlock your account.", minutes)

    def error(self) -> TooManyAttempts:
        return TooManyAttempts(self.message(), retry_after_s=self.retry_after_s)


class LoginThrottle:
    """Login limits on `limits` storage (see the module's documentation).

    per_user: attempts per username from one trusted device, or from one address without one;
    per_ip: failed attempts per address from untrusted clients, whatever the username;
    per_account: attempts per username from all untrusted clients together.
    """

    def __init__(self, storage_uri: str, per_user: str, per_ip: str, per_account: str | None = None):
        self._store = storage_from_string(storage_uri, wrap_exceptions=True)
        self._limiter = MovingWindowRateLimiter(self._store)
        self._per_user = parse_many(per_user)
        self._per_ip = parse_many(per_ip)
        self._per_account = parse_many(per_account) if per_account else []

    def _storage(self, call, *args):
        try:
            return call(*args)
        except StorageError as error:  # never log the URI: it may hold the storage's password
            log.error("login throttle storage unreachable", extra={"error": type(error.storage_error).__name__})
            raise ThrottleUnavailable(_("Logins are paused: the login throttle cannot be reached. Try again in a "
                                        "few minutes; if it lasts, tell the operators.")) from None

    def _generation(self, username: str) -> str:
        return str(self._storage(self._store.get, f"login-generation/{username}"))

    def _retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        reset = self._storage(self._limiter.get_window_stats, limit, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _hit(self, limits: list[RateLimitItem], *identifiers: str) -> RateLimitItem | None:
        """Counts one attempt in every window, each atomically; the first window that is full refuses it."""
        for limit in limits:
            if not self._storage(self._limiter.hit, limit, *identifiers):
                return limit
        return None

    def _full(self, limits: list[RateLimitItem], *identifiers: str) -> RateLimitItem | None:
        return next((limit for limit in limits if not self._storage(self._limiter.test, limit, *identifiers)), None)

    def check(self, username: str, address: str, device: str | None = None) -> Refusal | None:
        """Whether a password may be checked now (None) or what refused it. The attempt is counted at once."""
        generation = self._generation(username)
        if device is not None:
            ids = ("login-device", generation, username, device)
            full = self._hit(self._per_user, *ids)
            return Refusal("device", self._retry_after(full, *ids)) if full else None
        full = self._full(self._per_ip, "login-ip", address)
        if full:
            return Refusal("address", self._retry_after(full, "login-ip", address))
        ids = ("login-user", generation, username, address)
        full = self._hit(self._per_user, *ids)
        if full:
            return Refusal("source", self._retry_after(full, *ids))
        ids = ("login-account", generation, username)
        full = self._hit(self._per_account, *ids)
        return Refusal("account", self._retry_after(full, *ids)) if full else None

    def attempt(self, username: str, address: str, device: str | None = None) -> bool:
        return self.check(username, address, device) is None

    def failed(self, address: str, device: str | None = None) -> None:
        if device is None:  # a trusted device's failures count against that device only
            for limit in self._per_ip:
                self._storage(self._limiter.hit, limit, "login-ip", address)

    def succeeded(self, username: str, address: str, device: str | None = None) -> None:
        """The person is back: their device's count (or that of their address) starts again. The count of all
        untrusted clients does not (a login now and then must not give a distributed guesser a fresh budget)."""
        generation = self._generation(username)
        ids = ("login-device", generation, username, device) if device else ("login-user", generation, username,
                                                                             address)
        for limit in self._per_user:
            self._storage(self._limiter.clear, limit, *ids)

    def unlock(self, username: str) -> None:
        """Clears every count of the username (every device, address and the untrusted clients' own): they move
        to a new generation, and the old counters are no longer read."""
        self._storage(self._store.incr, f"login-generation/{username}", GENERATION_SECONDS)
