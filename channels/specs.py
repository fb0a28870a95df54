"""What Benelert knows of each channel, in one place: read by rendering, readiness, release, metrics and pages.

Two tables. `FORMATS` are the texts the domain renders (one template in templates/messages/ each, CAP
apart) with the fields they carry and how they are measured; `CHANNELS` are the ledger's channels (one
adapter each) with the text they carry and whether they reach the public. Adding a channel is one adapter
module plus one `ChannelSpec` here (and a `TextFormat` if it needs a new kind of text).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from channels.textfit import Fit, cell_broadcast_fit, mastodon_fit, sms_fit, x_fit

FIELDS = ("headline", "description", "instruction")


@dataclass(frozen=True)
class TextLimits:
    """The limits a deployment sets (settings BENELERT_SMS_MAX_SEGMENTS, BENELERT_MASTODON_LIMIT)."""

    sms_max_segments: int = 4
    mastodon_chars: int = 500

    @classmethod
    def from_settings(cls, settings) -> TextLimits:
        return cls(sms_max_segments=settings.sms_max_segments, mastodon_chars=settings.mastodon_limit)


@dataclass(frozen=True)
class TextFormat:
    name: str
    label: str
    fields: tuple[str, ...]  # the version's text fields this format carries
    measure: Callable[[str, TextLimits], Fit] | None  # None: measured field by field (CAP)


FORMATS: dict[str, TextFormat] = {f.name: f for f in (
    TextFormat("sms", "SMS", ("headline", "short"), lambda text, limits: sms_fit(text, limits.sms_max_segments)),
    TextFormat("cell_broadcast", "Cell broadcast", ("headline", "short"),
               lambda text, _limits: cell_broadcast_fit(text)),
    TextFormat("x", "X", ("headline", "short_x"), lambda text, _limits: x_fit(text)),
    TextFormat("mastodon", "Mastodon", ("headline", "instruction"),
               lambda text, limits: mastodon_fit(text, limit=limits.mastodon_chars)),
    TextFormat("cap", "CAP", FIELDS, None),
)}


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    label: str
    adapter: str  # "module:Class", imported only by a process that sends
    text: str | None  # the FORMATS entry whose limits a release must meet on this channel
    sends: str  # "text": that rendering, one payload per language; "cap": the CAP document (all languages)
    public: bool  # reaches the public: configured per centre; in an Exercise or Test only its sandbox target
    to_subscribers: bool = False  # live, it goes to each subscriber in the area, not to one configured target

    def target(self, live: bool, config: dict, sandbox: str) -> str:
        """Where a release goes on this channel, from the centre's configuration of it: its `target` when live; in
        an Exercise or Test its `test_target` (a national system's test endpoint, a centre's own sandbox account),
        else the deployment's sandbox target (a shared CAP test sink, say); '' means it does not go out on it."""
        if live:
            return config.get("target", "")
        return config.get("test_target") or sandbox


CHANNELS: dict[str, ChannelSpec] = {c.name: c for c in (
    ChannelSpec("sms", "SMS", "channels.sms:SmsChannel", "sms", "text", public=True, to_subscribers=True),
    ChannelSpec("x", "X", "channels.social:XChannel", "x", "text", public=True),
    ChannelSpec("mastodon", "Mastodon", "channels.mastodon:MastodonChannel", "mastodon", "text", public=True),
    # the national system receives CAP and broadcasts it: its cell-broadcast text must fit the pages
    ChannelSpec("national", "National alert system", "channels.national:NationalChannel", "cell_broadcast", "cap",
                public=True),
    ChannelSpec("partners", "Partner centres", "channels.partners:PartnerChannel", None, "cap", public=False),
)}
PUBLIC_CHANNELS = tuple(name for name, spec in CHANNELS.items() if spec.public)
