"""A centre's public channels: where its releases go on each (its national alert system's endpoint and test
endpoint, its X and Mastodon accounts, the SMS test number), and a Test message through one channel only.

Credentials never live here. A channel's `target` names the account whose credentials the deployment's channels
file holds (`x: {"BE.bearer_token": …}`), and a national endpoint is a URL: what is stored and shown are names and
addresses, never a secret. A Test goes to the channel's test target (else the deployment's sandbox target) through
the same ledger as every release, so it is a ledger row before it is sent and `sent` only on the provider's answer.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import audit
from alerts.access import require_centre_admin
from alerts.centres import get as get_centre
from alerts.drills import stage_test_release
from alerts.errors import Forbidden, InvalidInput, TooSoon
from alerts.i18n import _, ngettext
from alerts.models import Alert, Centre, User, utcnow
from channels.specs import CHANNELS, PUBLIC_CHANNELS

if TYPE_CHECKING:
    from alerts.release import ReleaseOptions

ACCOUNT = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # a name in the channels file: BE, be-crisis, @nccn
MAX_URL = 500
# what each channel's configuration holds: `target` for live releases, `test_target` for exercises and tests
FIELDS: dict[str, tuple[str, ...]] = {"national": ("target", "test_target"), "x": ("target", "test_target"),
                                      "mastodon": ("target", "test_target"), "sms": ("test_target",)}
PROBE_KIND = "probe-"  # the identifier's mark of a channel Test (communication tests are "test-")
PROBE_INTERVAL = timedelta(minutes=1)
PROBE_TEXTS = (("headline", "Channel test of the cross-border warning network"),
               ("description", "This is a test of one channel of Benelert. It is not a warning."),
               ("instruction", "Nothing needs to be done."))


def _url(value: str, field: str, development: bool) -> str:
    parts = urlsplit(value)
    allowed = ("https", "http") if development else ("https",)
    if (parts.scheme not in allowed or not parts.hostname or parts.username or parts.password
            or len(value) > MAX_URL or any(c.isspace() for c in value)):
        raise InvalidInput(_("Give the national system's address as an https:// URL without a user name or password "
                             "(at most %(max)d characters).", max=MAX_URL), field=field)
    return value


def _check(name: str, field: str, value: Any, development: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_("Give a text value, or leave the field out."), field=field)
    value = value.strip()
    if name == "national":
        return _url(value, field, development)
    if name == "sms":
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise InvalidInput(_("“%(phone)s” is not a phone number in international form, e.g. +32 470 12 34 56.",
                                 phone=value), field=field)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not ACCOUNT.match(value):
        raise InvalidInput(_("An account is named by letters, digits and . _ @ - (at most 64), as in the deployment's "
                             "channels file."), field=field)
    return value


def configuration(session: Session, actor: User, code: str) -> dict[str, dict]:
    """Each public channel's configuration for the centre (its admins and network administrators)."""
    centre = get_centre(session, code)
    require_centre_admin(actor, centre.id)
    return {name: {field: (centre.channels or {}).get(name, {}).get(field) for field in FIELDS[name]}
            | {"configured": name in (centre.channels or {})} for name in PUBLIC_CHANNELS}


def configure(session: Session, actor: User | str, code: str, name: str, values: dict[str, Any] | None,
              development: bool = False) -> Centre:
    """Set the channel's targets (`values`), or take the channel away from the centre (`values` None). Releases
    already staged keep their targets; the next releases use the new ones."""
    centre = get_centre(session, code)
    if isinstance(actor, User):
        require_centre_admin(actor, centre.id)
    if name not in FIELDS:
        raise InvalidInput(_("Unknown channel '%(channel)s'.", channel=name), field="channel")
    channels = dict(centre.channels or {})
    before = channels.get(name)
    if values is None:
        channels.pop(name, None)
    else:
        unknown = sorted(set(values) - set(FIELDS[name]))
        if unknown:
            raise InvalidInput(_("Unknown setting: %(fields)s.", fields=", ".join(unknown)), field=unknown[0])
        kept = {key: value for key, value in (before or {}).items() if key not in FIELDS[name]}  # e.g. cell_broadcast
        channels[name] = kept | {field: _check(name, field, value, development) for field, value in values.items()
                                 if value is not None}
    if channels.get(name) == before:
        return centre
    centre.channels = channels
    session.flush()
    audit.record(session, actor, "centre.channel", "centre", centre.code,
                 detail={"channel": name, "before": before, "after": channels.get(name)})
    return centre


def start_channel_test(session: Session, actor: User, name: str, options: ReleaseOptions) -> Alert:
    """A Test message through `name` only, for the actor's own centre: to its test target, else the deployment's
    sandbox target; never to the public."""
    centre = actor.centre
    require_centre_admin(actor, centre.id)
    if name not in (centre.channels or {}):
        raise InvalidInput(_("%(centre)s has no %(channel)s channel to test.", centre=centre.code, channel=name),
                           field="channel")
    if not actor.has_role("admin", "spokesperson"):
        raise Forbidden(_("A channel test is started by an administrator of the centre."))
    if not CHANNELS[name].target(False, centre.channels[name], (options.sandbox or {}).get(name, "")):
        raise InvalidInput(_("The %(channel)s channel of %(centre)s has no test target, and the deployment no sandbox "
                             "for it: a Test would reach nobody. Set its test target first.", channel=name,
                             centre=centre.code), field="test_target")
    now = utcnow()
    session.get(Centre, centre.id, with_for_update=True, populate_existing=True)  # one test at a time per centre
    last = session.scalar(select(Alert.created_at).where(Alert.lead_centre_id == centre.id,
                                                         Alert.identifier.contains(f"-{PROBE_KIND}"))
                          .order_by(Alert.created_at.desc()).limit(1))
    if last is not None and now - last < PROBE_INTERVAL:
        wait = int((last + PROBE_INTERVAL - now).total_seconds()) + 1
        raise TooSoon(ngettext("A channel test of %(centre)s started less than a minute ago: try again in %(num)d "
                               "second.", "A channel test of %(centre)s started less than a minute ago: try again in "
                               "%(num)d seconds.", wait, centre=centre.code), retry_after_s=wait)
    alert, _version = stage_test_release(session, actor, name, PROBE_TEXTS, timedelta(hours=1),
                                         f"channel test: {name}", PROBE_KIND, options, now)
    audit.record(session, actor, "centre.channel_test", "alert", alert.id,
                 detail={"centre": centre.code, "channel": name})
    return alert
