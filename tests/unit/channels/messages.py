"""What the channel tests send: a BE+NL flood in CAP, a partner webhook, a social post, and an address where
nothing listens."""
from __future__ import annotations

import base64
import os
import socket
from datetime import UTC, datetime

from alerts.cap import build_cap
from channels.base import Payload

CONTENT = {
    "status": "Actual", "msg_type": "Alert", "hazard": "flood", "urgency": "Immediate", "severity": "Severe",
    "certainty": "Likely", "onset": "2026-11-22T13:00:00Z", "expires": None, "web": "", "participants": ["BE", "NL"],
    "areas": [{"description": "Luik", "place": "be-liege", "polygons": [], "geocodes": []}],
    "texts": {
        "nl": {"headline": {"body": "Overstromingen: Luik", "status": "human"},
               "instruction": {"body": "Ga naar een hogere verdieping.", "status": "human"}},
        "fr": {"headline": {"body": "Inondations : Liège", "status": "human"},
               "instruction": {"body": "Montez à un étage supérieur.", "status": "human"}},
    },
}
CAP = build_cap({"identifier": "BE-2026-0007"}, CONTENT, sender="benelert@be.crisis",
                sent=datetime(2026, 11, 22, 13, 30, tzinfo=UTC), timezone="Europe/Brussels",
                languages=["nl", "fr"]).decode("utf-8")
SUMMARY = {"identifier": "BE-2026-0007", "hazard": "flood", "severity": "Severe", "centres": ["BE", "NL"]}


def cap_payload(body: str = CAP) -> Payload:
    return Payload(body=body, idempotency_key="dlv-42-national-be", content_type="application/cap+xml")


def webhook_payload(**metadata) -> Payload:
    return Payload(body=CAP, idempotency_key="msg_dlv-43-partners-nl", content_type="application/cap+xml",
                   metadata={"summary": SUMMARY, **metadata})


def new_secret(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


def closed_port_url() -> str:
    """A loopback address where nothing listens: a connection there is refused before any byte is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def post(text: str = "Storm warning for Liège province: stay indoors.", key: str = "row-1", language: str = "fr"):
    return Payload(body=text, idempotency_key=key, language=language)
