"""The dispatch benchmark's world (bench/dispatch.py, bench/soak.py): the provider fakes in a child process (a
provider is not in our process: in-process fakes would take the dispatcher's GIL and measure themselves), and a
private schema with the app, centres wired to those fakes, users, subscribers and approved alerts.

Releases are scheduled through the domain (alerts.release.schedule_release, what POST /alerts/<id>/release calls,
without the API's answer, whose status counts would be timed too), which stages the ledger; in a live release
every other centre whose public channels are in the plan then confirms it (confirm_release, as its spokesperson
does through POST /alerts/<id>/release/consents), which stages that centre's rows.

Run as a script, it is that child: it starts the fakes, prints their addresses as one JSON line and answers
`counts` on stdin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

PG = os.environ.get("BENELERT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SENDER = "+3225551234"
SECRET_KEY = "d" * 48
PARTNER_ENDPOINTS = 26
POLYGON = ["50.75,5.60 50.95,5.60 50.95,5.90 50.75,5.60"]


def release_options():
    """The deployment's release options as the bench's app has them (SMS up to 3 segments)."""
    from alerts.release import ReleaseOptions
    from channels.specs import TextLimits

    return ReleaseOptions(limits=TextLimits(sms_max_segments=3))


# ---- the provider fakes, in a child process ----------------------------------------------------------------
def serve_fakes() -> None:
    """Child mode: start the fakes, print their addresses as one JSON line, answer `counts` on stdin."""
    from devtools.fakes.cap_receiver import CapReceiver
    from devtools.fakes.twilio import FakeTwilio
    from devtools.fakes.webhook_receiver import WebhookReceiver
    from devtools.fakes.x import FakeX
    from devtools.world import new_secret

    twilio, slow = FakeTwilio().start(), FakeTwilio(latency=0.1).start()
    x = FakeX().start()
    caps = {code: CapReceiver().start() for code in ("BE", "NL", "LU")}
    partners = WebhookReceiver([new_secret()]).start()  # one server; endpoints at distinct paths
    fakes = [twilio, slow, x, *caps.values(), partners]
    print(json.dumps({"twilio": twilio.url, "twilio_slow": slow.url, "account_sid": twilio.account_sid,
                      "auth_token": twilio.auth_token, "x": x.url, "cap": {c: f.url for c, f in caps.items()},
                      "partners": partners.url, "partner_secrets": partners.secrets}), flush=True)
    for line in sys.stdin:
        if line.strip() == "counts":
            print(json.dumps({"twilio": len(twilio.messages), "twilio_slow": len(slow.messages),
                "twilio_recipients": len({m["to"] for m in list(twilio.messages.values())}),
                "x": len(x.posts), "cap": sum(len(f.messages) for f in caps.values()),
                "partners": len(partners.deliveries), "partner_duplicates": partners.duplicates,
                "callbacks": callback_figures(list(twilio.callbacks))}), flush=True)
    for fake in fakes:
        fake.stop()


def callback_figures(records: list[dict]) -> dict:
    """The status callbacks the fake Twilio posted: how many, answered how, and how fast (seconds: the request;
    lag: from when it fell due to its answer, queueing at the fake's senders included)."""
    answered = Counter(str(record.get("status_code", "error")) for record in records)
    seconds = sorted(record["seconds"] for record in records if "seconds" in record)
    lags = sorted(record["lag"] for record in records if "lag" in record)

    def pct(values: list[float], p: float) -> float | None:
        return round(values[min(len(values) - 1, int(len(values) * p / 100))], 3) if values else None

    return {"posted": len(records), "answers": dict(answered),
            "seconds_p50": pct(seconds, 50), "seconds_p99": pct(seconds, 99), "seconds_max": pct(seconds, 100),
            "lag_p50": pct(lags, 50), "lag_p99": pct(lags, 99), "lag_max": pct(lags, 100),
            "over_5s": sum(1 for value in seconds if value > 5)}


def stop_child(process: subprocess.Popen, timeout: float) -> None:
    """A child of the bench (the fakes, the SMS lane) stops when its stdin closes; killed if it does not in time."""
    process.stdin.close()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


class Fakes:
    def __init__(self, own_session: bool = False):
        """`own_session`: in a session of its own, so that the caller can lower its scheduling group's priority."""
        self.process = subprocess.Popen([sys.executable, __file__], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=own_session)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fakes process did not start")
        self.info = json.loads(line)

    def cpu_seconds(self) -> float:
        """CPU time the fakes process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def counts(self) -> dict:
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        stop_child(self.process, timeout=15)

    def channels_config(self, twilio_url: str | None = None, callback_url: str = "") -> dict:
        """The channels file of the bench's processes; `callback_url`: where Twilio posts its status callbacks."""
        info = self.info
        return {
            "sms": {"account_sid": info["account_sid"], "auth_token": info["auth_token"],
                    "base_url": twilio_url or info["twilio"], "sender": SENDER, "max_segments": "3",
                    "status_callback_url": callback_url},
            "x": {"BE.bearer_token": "be-token", "NL.bearer_token": "nl-token", "LU.bearer_token": "lu-token",
                  "base_url": info["x"]},
            "national": {"NATIONAL_TIMEOUT": "5"},
            "partners": {"PARTNERS_ALLOW_PRIVATE": "true", "PARTNERS_TIMEOUT": "5"},
        }


class AlwaysLeader:
    """The worker's leadership is a database-wide advisory lock; the bench must not contend with other schemas."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        pass


# ---- the world: schema, app, users, alerts, subscribers ----------------------------------------------------
class World:
    def __init__(self, url: str, fakes: Fakes, tmp: Path):
        from app import create_app
        from cli import upgrade_database
        from devtools.demo import ensure_centres

        upgrade_database(url)
        path = tmp / "channels.json"
        path.write_text(json.dumps(fakes.channels_config()))
        self.app = create_app({"env": "test", "database_url": url, "ratelimit_storage": "memory://",
                               "secret_key": SECRET_KEY, "channels_file": str(path), "sms_max_segments": 3,
                               "log_level": "WARNING"})
        self.db = self.app.extensions["benelert"].db
        self.url = url
        self.client = self.app.test_client()
        self.fakes = fakes
        self._users = 0
        with self.db.transaction() as session:
            ensure_centres(session)
        self._tokens: dict[tuple[str, str], str] = {}
        self._spokespeople: dict[str, int] = {}  # centre -> the user id of its bench spokesperson
        self._places: dict[str, float] = {}  # place -> seconds its subscribers took to set up (once per run)
        self.last_schedule: dict = {}  # timings of the last `schedule`

    def spokesperson(self, centre: str) -> int:
        """The id of a spokesperson of `centre` (one per centre, made at first use)."""
        from alerts import accounts

        if centre not in self._spokespeople:
            with self.db.transaction() as session:
                user = accounts.create_user(session, "bench", username=f"bench-{centre.lower()}-speaker",
                                            display_name=f"Bench speaker {centre}", centre_code=centre,
                                            roles=["spokesperson"], password=None)
                session.flush()
                self._spokespeople[centre] = user.id
        return self._spokespeople[centre]

    def api(self, centre: str, role: str):
        """An API client for a new user of that centre and role (approvals need distinct people)."""
        from alerts import accounts
        from devtools.world import Api

        self._users += 1
        with self.db.transaction() as session:
            user = accounts.create_user(session, "bench", username=f"bench-{centre.lower()}-{role}-{self._users}",
                                        display_name=f"Bench {self._users}", centre_code=centre, roles=[role],
                                        password=None)
            _, secret = accounts.create_token(session, "bench", user, "bench")
        return Api(self.client, secret)

    def wire(self) -> None:
        """BE, NL and LU publish on SMS, X and their national system; 26 partner endpoints receive copies."""
        from alerts.models import Centre, PartnerEndpoint

        info = self.fakes.info
        with self.db.transaction() as session:
            centres = {c.code: c for c in session.scalars(select(Centre))}
            for code in ("BE", "NL", "LU"):
                centres[code].channels = {"sms": {}, "x": {"target": code}, "national": {"target": info["cap"][code]}}
            for index in range(PARTNER_ENDPOINTS):
                owner = centres[("LU", "DE-NW", "NL", "BE")[index % 4]]
                session.add(PartnerEndpoint(centre_id=owner.id, url=f"{info['partners']}/p{index:02d}",
                                            secrets=list(info["partner_secrets"]), active=False))

    def partners(self, active: bool) -> None:
        from sqlalchemy import update

        from alerts.models import PartnerEndpoint

        with self.db.transaction() as session:
            session.execute(update(PartnerEndpoint).values(active=active))

    def add_subscribers(self, centre: str, place: str, count: int, prefix: str) -> None:
        """`count` subscribers of `centre` in `place`, set-based (phones prefix + 7 digits, four languages).
        A large load runs without the two tables' foreign keys (checked row by row, they would be most of its
        time) and puts them back afterwards, validated in one pass: the schema ends as the migrations made it."""
        with self.db.engine.begin() as connection:
            foreign_keys = []
            if count >= 100_000:
                connection.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                foreign_keys = connection.execute(text(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'f' AND conrelid IN ('subscribers'::regclass, 'subscriber_areas'::regclass)"
                )).all()
                for table, name, _ in foreign_keys:
                    connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
            connection.execute(text("""
                WITH s AS (
                    INSERT INTO subscribers (centre_id, phone, language, created_at)
                    SELECT (SELECT id FROM centres WHERE code = :centre), :prefix || lpad(g::text, 7, '0'),
                           (ARRAY['nl', 'fr', 'de', 'en'])[1 + g % 4], timezone('utc', now())
                    FROM generate_series(1, :count) AS g
                    RETURNING id)
                INSERT INTO subscriber_areas (subscriber_id, place) SELECT id, :place FROM s"""),
                {"centre": centre, "prefix": prefix, "count": count, "place": place})
            for table, name, definition in foreign_keys:
                connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        with self.db.engine.connect() as connection:
            connection.execute(text("ANALYZE subscribers"))
            connection.execute(text("ANALYZE subscriber_areas"))
            connection.commit()

    def national(self, centre: str, place: str, count: int, prefix: str) -> float:
        """`count` subscribers of `centre` in `place`, set up once per run (phases 3 and 4 share the national-scale
        set); the seconds the setup took (0 when it was done already)."""
        if place not in self._places:
            started = time.perf_counter()
            self.add_subscribers(centre, place, count, prefix)
            self._places[place] = time.perf_counter() - started
            return self._places[place]
        return 0.0

    def approved_alert(self, places: list[str], participants: list[str], tag: str) -> dict:
        from devtools.world import SHORT_TEXTS, approved_alert

        texts = {lang: {**fields, "headline": f"{fields['headline']} {tag}"} for lang, fields in SHORT_TEXTS.items()}
        areas = [{"description": place, "place": place, "polygons": POLYGON} for place in places]
        return approved_alert(self.api, texts=texts, participants=participants, areas=areas)

    def schedule(self, alert: dict, channels: dict, at: datetime | None = None, by: str = "BE") -> int:
        """Schedule `alert` on `channels` at `at` (now if None) as a spokesperson of `by`, then confirm as a
        spokesperson of each other centre the plan awaits (a live release): every centre's rows are staged when
        this returns. Each step is its own transaction, timed with its commit: self.last_schedule."""
        from alerts.models import Release, User
        from alerts.release import awaiting, confirm_release, plan_hash, schedule_release

        options = release_options()
        speaker = self.spokesperson(by)
        started = time.perf_counter()
        with self.db.transaction() as session:
            release = schedule_release(session, session.get(User, speaker), alert["id"],
                                       alert["version"]["number"], alert["version"]["content_hash"], channels, at,
                                       options)
            release_id, waiting = release.id, sorted(awaiting(release))
        timings = {"schedule_s": time.perf_counter() - started, "confirm_s": {}}
        for code in waiting:
            speaker = self.spokesperson(code)
            began = time.perf_counter()
            with self.db.transaction() as session:
                plan = plan_hash(session.get(Release, release_id))
                confirm_release(session, session.get(User, speaker), alert["id"], plan, options)
            timings["confirm_s"][code] = time.perf_counter() - began
        timings["total_s"] = time.perf_counter() - started
        self.last_schedule = timings
        return release_id

    def open_rows(self, release_id: int) -> int:
        from alerts.models import Delivery

        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.release_id == release_id, Delivery.state.in_(("pending", "claimed", "sending"))))

    def remove_pending(self, release_id: int, lane: str | None = None) -> int:
        """Delete the release's rows still pending (of one lane): what a withdrawal would leave unsent."""
        clause = " AND lane = :lane" if lane else ""
        with self.db.engine.begin() as connection:
            return connection.execute(text(f"DELETE FROM deliveries WHERE release_id = :id AND state = 'pending'"
                                           f"{clause}"), {"id": release_id, "lane": lane}).rowcount

    def vacuum(self, table: str = "deliveries") -> float:
        """VACUUM ANALYZE `table` (seconds): what autovacuum does between releases (it may be off on the bench's
        server); without it each claim would walk the index entries of every row deleted or sent so far."""
        started = time.perf_counter()
        with self.db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text(f"VACUUM ANALYZE {table}"))
        return time.perf_counter() - started

    def checkpoint(self) -> None:
        """CHECKPOINT before a timed write, so that each starts with the same WAL state (needs a superuser)."""
        try:
            with self.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
        except Exception:  # noqa: BLE001 - not a superuser: the timings are only less even
            pass

    def release_rows(self, release_id: int) -> tuple[list, tuple]:
        """The release's main-lane rows without the heads-up (channel, first attempt, sent, state), and its SMS
        rows' (earliest first attempt, rows attempted)."""
        from alerts.ledger import HEADS_UP
        from alerts.models import Delivery, Payload

        with self.db.transaction() as session:
            main = [(channel, first, sent, state) for channel, first, sent, state, meta in session.execute(
                select(Delivery.channel, Delivery.first_attempt_at, Delivery.sent_at, Delivery.state, Payload.meta)
                .join(Payload, Payload.id == Delivery.payload_id)
                .where(Delivery.release_id == release_id, Delivery.lane == "main"))
                if (meta or {}).get("type") != HEADS_UP]
            sms = session.execute(select(func.min(Delivery.first_attempt_at), func.count(Delivery.first_attempt_at))
                                  .where(Delivery.release_id == release_id, Delivery.lane == "sms")).one()
        return main, tuple(sms)

    def inbox(self) -> int:
        """Provider status reports not applied yet."""
        from alerts.models import ProviderReport

        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(ProviderReport))

    def states(self, release_id: int) -> dict[str, int]:
        from alerts.outcomes import ledger_counts

        return ledger_counts(self.db, release_id)


# ---- the SMS lane, in a child process -----------------------------------------------------------------------
def serve_sms_lane(url: str, config: str, threads: str) -> None:
    """Child mode: a worker of the SMS lane only (`flask --app app worker --lanes sms`, as docs/DEPLOYMENT.md
    advises at national scale), never the scheduler leader; runs until stdin closes."""
    from alerts.dispatch import DispatchOptions
    from channels import build_channels
    from db import Database
    from worker import Worker

    worker = Worker(Database.connect(url), build_channels(json.loads(config)), release_options(),
                    DispatchOptions(threads=int(threads)), name="bench-sms", lanes=("sms",))
    worker.leadership = NeverLeader()
    worker.start()
    print("ready", flush=True)
    sys.stdin.read()
    worker.stop()


class NeverLeader(AlwaysLeader):
    def is_leader(self) -> bool:
        return False


class SmsLane:
    """The SMS lane's worker process (serve_sms_lane)."""

    def __init__(self, url: str, config: dict, threads: int):
        self.process = subprocess.Popen([sys.executable, __file__, "sms-lane", url, json.dumps(config), str(threads)],
                                        cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMS lane process did not start")

    def stop(self) -> None:
        stop_child(self.process, timeout=60)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sms-lane"]:
        serve_sms_lane(*sys.argv[2:5])
    else:
        serve_fakes()
