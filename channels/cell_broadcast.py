"""Cell broadcast as the EU-Alert operators of each country publish it: which languages go in one message, on
which channel (message identifier, 3GPP TS 23.041 / ETSI TS 102 900), and how the language blocks are separated.

- NL-Alert: one message in Dutch and English, the two separated by a line of "***".
- LU-Alert: one multilingual message. French, German and English together need up to 18 pages of UCS-2 (a Test of
  an Update with the longest place name; French makes the message UCS-2, 41 characters a page), over the 15 a
  message can have, so the default puts French and German in one message and English on the additional-language
  channel; a centre whose texts are short can set [["fr", "de", "en"]].
- Germany (DE-Alert): German on the primary channel, English on the additional-language channel.
- Belgium (BE-Alert): one message per configured language; the first on the primary channel.

A centre's own policy is a setting of its national channel ("cell_broadcast": [["nl", "en"]]); these are the
defaults when it has none.
"""
from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "\n***\n"
DEFAULT_POLICIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "NL": (("nl", "en"),),
    "LU": (("fr", "de"), ("en",)),
    "DE": (("de",), ("en",)),
    "BE": (("nl",), ("fr",), ("de",)),
}
ADDITIONAL_LANGUAGE_OFFSET = 13  # 4383-4395 repeat 4370-4382 for the additional language
_LEVELS = {  # (severity, urgency, certainty) -> message identifier on the primary channel
    ("Extreme", "Immediate", "Observed"): 4370,  # EU-Alert level 1, the highest
    ("Extreme", "Immediate", "Likely"): 4371,
    ("Extreme", "Expected", "Observed"): 4372,
    ("Extreme", "Expected", "Likely"): 4373,
    ("Severe", "Immediate", "Observed"): 4375,
    ("Severe", "Immediate", "Likely"): 4376,
    ("Severe", "Expected", "Observed"): 4377,
    ("Severe", "Expected", "Likely"): 4378,
}
LOWEST_ALERT = 4378
MONTHLY_TEST = 4380
EXERCISE = 4381


@dataclass(frozen=True)
class Broadcast:
    """One cell-broadcast message: its languages, in order, and its message identifier."""

    languages: tuple[str, ...]
    identifier: int


def policy(country: str, configured: list[list[str]] | None = None) -> tuple[tuple[str, ...], ...]:
    """The messages (as language tuples) a centre of `country` broadcasts; `configured` is the centre's setting."""
    if configured:
        return tuple(tuple(languages) for languages in configured if languages)
    return DEFAULT_POLICIES.get(country.upper().split("-")[0], (("en",),))


def message_identifier(status: str, severity: str, urgency: str, certainty: str, additional: bool = False) -> int:
    """The EU-Alert channel of a message: by status, then by CAP severity, urgency and certainty (a level not in the
    table, Moderate say, goes on the lowest alert channel); `additional` for the additional-language channel."""
    if status == "Exercise":
        primary = EXERCISE
    elif status == "Test":
        primary = MONTHLY_TEST
    else:
        certain = "Observed" if certainty == "Observed" else "Likely"
        timing = "Immediate" if urgency == "Immediate" else "Expected"
        primary = _LEVELS.get((severity, timing, certain), LOWEST_ALERT)
    return primary + (ADDITIONAL_LANGUAGE_OFFSET if additional else 0)


def broadcasts(country: str, status: str, severity: str, urgency: str, certainty: str,
               configured: list[list[str]] | None = None) -> list[Broadcast]:
    """The messages a centre broadcasts for one warning: the first on the primary channel, the rest on the
    additional-language channel."""
    return [Broadcast(languages, message_identifier(status, severity, urgency, certainty, additional=index > 0))
            for index, languages in enumerate(policy(country, configured))]
