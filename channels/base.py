"""The one small protocol every delivery adapter implements.

The domain renders every message and stores the exact payload on its ledger row; an adapter only
measures text against its limits and transmits. Adapters import nothing from `alerts/`.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from channels.textfit import Fit


class Outcome(enum.Enum):
    SENT = "sent"  # the provider accepted it (provider_id set)
    RETRY = "retry"  # provably not sent (429, connection refused before the request): safe to resend
    UNKNOWN = "unknown"  # the request may have reached the provider (timeout after sending): reconcile
    FAILED = "failed"  # permanently refused (bad number, 4xx): do not resend


@dataclass(frozen=True)
class Limits:
    """What one message may hold on this channel (for display and refusal before sending)."""

    max_chars: int | None = None
    max_parts: int = 1
    unit: str = "characters"


@dataclass(frozen=True)
class Payload:
    body: str  # the exact bytes to send, as text: the SMS/post text, or the CAP XML document
    idempotency_key: str  # stable for the ledger row across retries (webhook-id, Twilio-Idempotency-Token)
    content_type: str = "text/plain"
    language: str | None = None
    expires_at: datetime | None = None  # nothing may be delivered after this (SMS ValidityPeriod)
    metadata: Mapping[str, Any] = field(default_factory=dict)  # e.g. the JSON summary of a partner webhook


@dataclass(frozen=True)
class Target:
    address: str  # E.164 number, account name, endpoint URL
    account: str = ""  # which provider account/sender (per centre), if the channel has several
    secrets: tuple[str, ...] = ()  # per-endpoint signing secrets (newest first during rotation)
    sandbox: bool = False  # exercise/test deliveries go only to targets marked sandbox


@dataclass(frozen=True)
class Receipt:
    outcome: Outcome
    provider_id: str | None = None
    provider_status: str | None = None
    error: str | None = None  # human-readable, for the delivery dashboard
    retry_after: float | None = None  # seconds, when the provider said so


class Channel(Protocol):
    name: ClassVar[str]
    limits: ClassVar[Limits]

    def measure(self, text: str) -> Fit: ...

    def send(self, payload: Payload, target: Target) -> Receipt: ...
