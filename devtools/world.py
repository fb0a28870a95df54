"""A world for tests, benchmarks and the demo: the real adapters talking to the local fakes, centres wired to
them, subscribers and partner endpoints in the database, an API client, and an approved alert ready to schedule."""
from __future__ import annotations

import base64
import json
import os
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from werkzeug.serving import WSGIRequestHandler, make_server

from alerts.models import Centre, PartnerEndpoint, Subscriber, SubscriberArea
from devtools.demo import ensure_centres
from devtools.fakes.cap_receiver import CapReceiver
from devtools.fakes.mastodon import FakeMastodon
from devtools.fakes.twilio import FakeTwilio
from devtools.fakes.webhook_receiver import WebhookReceiver
from devtools.fakes.x import FakeX

SHORT_TEXTS = {
    "nl": {"headline": "Overstroming in Limburg", "instruction": "Ga naar een hogere verdieping. Bel 112 bij gevaar."},
    "fr": {"headline": "Inondation au Limbourg", "instruction": "Montez à l'étage. Appelez le 112 en cas de danger."},
    "de": {"headline": "Hochwasser in Limburg", "instruction": "Gehen Sie nach oben. Bei Gefahr 112 anrufen."},
    "en": {"headline": "Flooding in Limburg", "instruction": "Move to a higher floor. Call 112 if in danger."},
}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@dataclass
class Fakes:
    twilio: FakeTwilio
    x: FakeX
    mastodon: FakeMastodon
    cap: CapReceiver
    partners: list[WebhookReceiver] = field(default_factory=list)


def start_fakes(stack: ExitStack, partners: int = 1, **twilio_options) -> Fakes:
    fakes = Fakes(twilio=FakeTwilio(**twilio_options).start(), x=FakeX().start(),
                  mastodon=FakeMastodon(tokens={"mastodon-token", "mastodon-sandbox"}).start(),
                  cap=CapReceiver().start())
    for fake in (fakes.twilio, fakes.x, fakes.mastodon, fakes.cap):
        stack.callback(fake.stop)
    for _ in range(partners):
        receiver = WebhookReceiver([new_secret()]).start()
        stack.callback(receiver.stop)
        fakes.partners.append(receiver)
    return fakes


def channels_config(fakes: Fakes, callback_url: str = "") -> dict:
    return {
        "sms": {"account_sid": fakes.twilio.account_sid, "auth_token": fakes.twilio.auth_token,
                "base_url": fakes.twilio.url, "sender": "+3225551234", "status_callback_url": callback_url,
                "max_segments": "3"},
        "x": {"BE.bearer_token": "be-token", "NL.bearer_token": "nl-token", "SANDBOX.bearer_token": "sandbox-token",
              "base_url": fakes.x.url},
        "mastodon": {"base_url": fakes.mastodon.url, "access_token": "mastodon-token",
                     "sandbox_access_token": "mastodon-sandbox"},
        "national": {"NATIONAL_TIMEOUT": "5"},
        "partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"},
    }


def wire_centres(db, fakes: Fakes) -> None:
    """BE and NL publish on SMS, X and their national system; LU receives partner copies."""
    with db.transaction() as session:
        for centre in session.scalars(select(Centre)):
            if centre.code in ("BE", "NL"):
                centre.channels = {"sms": {}, "x": {"target": centre.code},
                                   "national": {"target": fakes.cap.url}}
        lu = session.scalar(select(Centre).where(Centre.code == "LU"))
        for receiver in fakes.partners:
            session.add(PartnerEndpoint(centre_id=lu.id, url=receiver.url, secrets=list(receiver.secrets)))


def add_subscribers(db, centre_code: str, count: int, place: str | None = "be-lim",
                    languages=("nl", "fr", "de", "en"), start: int = 0,
                    location: tuple[float, float] | None = None) -> list[str]:
    """`count` subscribers in `place` (None: none) and at `location` (lat, lon), numbered +3247xxxxxxx; returns
    their numbers."""
    phones = [f"+3247{start + i:07d}" for i in range(count)]
    latitude, longitude = location or (None, None)
    with db.transaction() as session:
        centre_id = session.scalar(select(Centre.id).where(Centre.code == centre_code))
        rows = [{"centre_id": centre_id, "phone": phone, "language": languages[i % len(languages)],
                 "latitude": latitude, "longitude": longitude} for i, phone in enumerate(phones)]
        for chunk in range(0, len(rows), 5000):
            ids = session.scalars(insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True),
                                  rows[chunk:chunk + 5000]).all()
            if place:
                session.execute(insert(SubscriberArea), [{"subscriber_id": i, "place": place} for i in ids])
    return phones


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


class ServedApp:
    """The Flask app on a real loopback port, for providers that call back."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


def approved_alert(api_as, status="Actual", texts=None, participants=("NL",), **fields) -> dict:
    """Create, submit and have BE and each participant approve a flood alert (`fields` override the sample's);
    `api_as(centre, role)` gives an API client of a new user. Returns the API's alert JSON."""
    be = api_as("BE", "communicator")
    created = be.post("/alerts", json=flood_alert(status=status, texts=texts or SHORT_TEXTS,
                                                  participants=list(participants), **fields))
    assert created.status_code == 201, created.get_json()
    alert = created.get_json()
    # the lead confirms the centres whose territory the area covers but which do not take part (alerts.review)
    outside = be.get(f"/alerts/{alert['id']}/jurisdictions").get_json()["touched_not_taking_part"]
    submitted = be.post(f"/alerts/{alert['id']}/submit", headers={"If-Match": '"v1"'},
                        json={"confirm_outside": outside} if outside else None)
    assert submitted.status_code == 200, submitted.get_json()
    for centre in ["BE", *participants]:
        decided = api_as(centre, "spokesperson").post(
            f"/alerts/{alert['id']}/approvals", json={"decision": "approve",
                                                     "content_hash": alert["version"]["content_hash"]},
            headers={"If-Match": '"v1"'})
        assert decided.status_code == 200, decided.get_json()
    return be.get(f"/alerts/{alert['id']}").get_json()


def write_channels_file(tmp_path, config: dict) -> str:
    path = tmp_path / "channels.json"
    path.write_text(json.dumps(config))
    return str(path)


@contextmanager
def wired_app(make_app, tmp_path):
    """An app whose adapters talk to fresh fakes, its centres wired (wire_centres): (app, db, fakes, config)."""
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        config = channels_config(fakes)
        app = make_app(channels_file=write_channels_file(tmp_path, config), sms_max_segments=4,
                       sandbox_targets={"sms": "+32470000099", "x": "SANDBOX"})
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
        wire_centres(db, fakes)
        yield app, db, fakes, config


class Api:
    """The test client speaking to /api/v1 with one user's token."""

    def __init__(self, client, token):
        self.client, self.token = client, token

    def _headers(self, extra):
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch("/api/v1" + path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path, json=None, **kw):
        return self.client.put("/api/v1" + path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete("/api/v1" + path, headers=self._headers(kw.pop("headers", None)), **kw)


def future(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


def flood_alert(**overrides) -> dict:
    body = {
        "hazard": "flood",
        "participants": ["NL"],
        "status": "Exercise",
        "onset": future(1),
        "expires": future(12),
        "areas": [{"description": "Limburg", "place": "be-lim",
                   "polygons": ["50.75,5.60 50.95,5.60 50.95,5.90 50.75,5.60"]}],
        "texts": {
            "nl": {"headline": "Overstroming in Limburg"},
            "en": {"headline": "Flooding in Limburg"},
        },
    }
    body.update(overrides)
    return body
