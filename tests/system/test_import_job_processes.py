"""End to end with real worker processes (`flask --app app worker`): a subscriber list submitted through the API is
imported by a worker, its progress and result read through the API; Twilio's signed status callbacks, posted by the
fake to the app on a real port, only land in the inbox, and the worker applies them to the ledger."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from alerts.models import Delivery, ProviderReport, Subscriber
from devtools.world import (
    ServedApp,
    add_subscribers,
    approved_alert,
    channels_config,
    wire_centres,
    write_channels_file,
)
from tests.system.waiting import wait_for

ROWS = 5_000
SUBSCRIBERS = 25


def test_a_worker_process_imports_a_list_submitted_through_the_api(db, api_as, spawn, tmp_path):
    be = api_as("BE", "communicator")
    text = "phone,language,areas\n" + "".join(f"+3247{n:07d},{('nl', 'fr')[n % 2]},be-lim\n" for n in range(ROWS))
    answer = be.client.post("/api/v1/subscribers/import", data=text, content_type="text/csv",
                            headers={"Authorization": f"Bearer {be.token}"})
    assert answer.status_code == 202
    location = answer.headers["Location"]

    def job():
        return be.client.get(location, headers={"Authorization": f"Bearer {be.token}"}).get_json()

    spawn("importer")
    assert wait_for(lambda: job()["state"] in ("done", "failed"), timeout=90, every=0.2), \
        tmp_path.joinpath("importer.log").read_text()[-3000:]
    done = job()
    assert done["state"] == "done", done
    assert done["result"] == {"imported": ROWS, "updated": 0, "opted_out": 0}
    assert done["rows_done"] == done["rows_total"] == ROWS
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == ROWS


def test_status_callbacks_land_in_the_inbox_and_the_worker_applies_them(db, api_as, make_app, fakes, spawn,
                                                                        tmp_path):
    wire_centres(db, fakes)
    add_subscribers(db, "BE", SUBSCRIBERS)
    hooks = make_app(channels_file=write_channels_file(tmp_path, channels_config(fakes)))
    served = ServedApp(hooks)
    try:
        callbacks = tmp_path / "callbacks"
        callbacks.mkdir()
        config = channels_config(fakes, callback_url=served.url + "/hooks/twilio/status")
        alert = approved_alert(api_as)
        response = api_as("BE", "spokesperson").post(
            f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
            json={"content_hash": alert["version"]["content_hash"], "channels": {"BE": ["sms"]},
                  "at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()})
        assert response.status_code == 201, response.get_json()
        release_id = response.get_json()["id"]
        spawn("sender", env={"BENELERT_CHANNELS_FILE": write_channels_file(callbacks, config)})

        def delivered() -> int:
            with db.transaction() as session:
                return session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.release_id == release_id, Delivery.channel == "sms", Delivery.state == "delivered"))

        assert wait_for(lambda: delivered() == SUBSCRIBERS, timeout=90, every=0.2), \
            tmp_path.joinpath("sender.log").read_text()[-3000:]
        statuses = [(record["params"]["MessageStatus"], record.get("status_code")) for record in fakes.twilio.callbacks]
        assert sorted(statuses) == sorted([("sent", 204), ("delivered", 204)] * SUBSCRIBERS)
        assert wait_for(lambda: _inbox(db) == 0, timeout=10)  # everything applied, nothing left
        with db.transaction() as session:
            assert set(session.scalars(select(Delivery.provider_status).where(
                Delivery.release_id == release_id, Delivery.channel == "sms"))) == {"delivered"}
    finally:
        served.stop()


def _inbox(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(ProviderReport))
