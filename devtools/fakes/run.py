"""The local provider stand-ins for `make run`: Twilio, X, Mastodon, a national CAP receiver and one
partner webhook receiver per demo centre, on free loopback ports. Writes the channels config and the
demo wiring into the given folder, then serves until stopped. Nothing leaves the machine.

    python -m devtools.fakes.run instance [--callback http://127.0.0.1:5000/hooks/twilio/status]
"""
from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from devtools.fakes.cap_receiver import CapReceiver
from devtools.fakes.mastodon import FakeMastodon
from devtools.fakes.twilio import FakeTwilio
from devtools.fakes.webhook_receiver import WebhookReceiver
from devtools.fakes.x import FakeX
from devtools.world import new_secret

CENTRES = ("BE", "NL", "LU", "DE-NW")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--callback", default="http://127.0.0.1:5000/hooks/twilio/status")
    args = parser.parse_args()
    twilio, x, cap = FakeTwilio().start(), FakeX().start(), CapReceiver().start()
    mastodon = FakeMastodon(tokens={"demo", "demo-sandbox"}).start()
    partners = {code: WebhookReceiver([new_secret()]).start() for code in CENTRES}
    channels = {
        "sms": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token, "base_url": twilio.url,
                "sender": "+3225550100", "status_callback_url": args.callback, "max_segments": "3"},
        "x": {**{f"{code}.bearer_token": f"demo-{code.lower()}" for code in CENTRES},
              "SANDBOX.bearer_token": "demo-sandbox", "base_url": x.url},
        "mastodon": {"base_url": mastodon.url, "access_token": "demo", "sandbox_access_token": "demo-sandbox"},
        "national": {"NATIONAL_TIMEOUT": "5"},
        "partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"},
    }
    wiring = {"national": cap.url, "partners": [{"centre": code, "url": receiver.url, "secret": receiver.secrets[0]}
                                                for code, receiver in partners.items()]}
    args.folder.mkdir(exist_ok=True)
    (args.folder / "demo-channels.json").write_text(json.dumps(channels, indent=2))
    (args.folder / "demo-wiring.json").write_text(json.dumps(wiring, indent=2))
    print(f"fakes: twilio {twilio.url}, x {x.url}, mastodon {mastodon.url}, cap {cap.url}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    for fake in (twilio, x, mastodon, cap, *partners.values()):
        fake.stop()


if __name__ == "__main__":
    main()
