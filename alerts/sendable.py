"""What a release would refuse of a version's texts: the one rule that submission, the pages and release read.

Submission asks it for every public channel the centres taking part have configured (a text that a release could
not send is refused before anyone approves it); release asks it for the channels chosen. Either way the answer
names language, channel and figure (alerts.rendering), and is empty when everything fits.
"""
from __future__ import annotations

from alerts.authoring import required_languages
from alerts.i18n import Msg
from alerts.models import Alert, Centre
from alerts.rendering import CellBroadcast, cell_broadcasts, channel_problems
from channels import cell_broadcast
from channels.specs import PUBLIC_CHANNELS, TextLimits


def sent_languages(alert: Alert, content: dict) -> list[str]:
    """The languages a release sends: the required languages of the centres taking part that the version has
    (a text in another language, which no centre asked for, is never sent)."""
    return [lang for lang in required_languages([row.centre for row in alert.centre_rows]) if lang in content["texts"]]


def configured_channels(centre: Centre) -> list[str]:
    """The public channels a centre has an account for, in the registry's order (partner copies need none)."""
    return [name for name in PUBLIC_CHANNELS if name in (centre.channels or {})]


def cell_broadcast_policies(alert: Alert, channels: dict[str, list[str]], languages: list[str]) -> dict:
    """Per country of a centre sending on its national system: the languages broadcast together (its setting
    `cell_broadcast` on the national channel, else the country's default), kept to the languages sent."""
    policies = {}
    for row in alert.centre_rows:
        if "national" not in channels.get(row.centre.code, ()):
            continue
        country = row.centre.code.split("-")[0]
        configured = ((row.centre.channels or {}).get("national") or {}).get("cell_broadcast")
        kept = [[lang for lang in message if lang in languages]
                for message in cell_broadcast.policy(country, configured)]
        policies[country] = [message for message in kept if message] or [[languages[0]]]
    return policies


def text_problems(alert: Alert, content: dict, channels: dict[str, list[str]] | None = None,
                  limits: TextLimits = TextLimits()) -> list[Msg]:
    """Why the texts a release would send do not fit their channels (empty: they all fit). `channels` are the
    channels chosen per centre code; None means every public channel each centre has configured."""
    if channels is None:
        channels = {row.centre.code: configured_channels(row.centre) for row in alert.centre_rows}
    languages = sent_languages(alert, content)
    chosen = {name for names in channels.values() for name in names}
    policies = cell_broadcast_policies(alert, channels, languages) if languages else {}
    found = channel_problems(content, languages, chosen, limits, cell_broadcast_policies=policies)
    return list(dict.fromkeys(problem for problems in found.values() for problem in problems))


def cell_broadcast_preview(alert: Alert, content: dict,
                           limits: TextLimits = TextLimits()) -> dict[str, list[CellBroadcast]]:
    """Per country of a centre with a national system, the cell-broadcast messages it would send, measured."""
    languages = sent_languages(alert, content)
    if not languages:
        return {}
    channels = {row.centre.code: configured_channels(row.centre) for row in alert.centre_rows}
    return {country: cell_broadcasts(content, country, policy, limits)
            for country, policy in sorted(cell_broadcast_policies(alert, channels, languages).items())}
