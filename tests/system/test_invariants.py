"""DESIGN.md's five invariants under random action sequences (a Hypothesis stateful test).

A `RuleBasedStateMachine` drives authoring, review and release through the JSON API (the Flask test
client with API tokens) and the worker side through direct calls of `firing.release_due` and
`Dispatcher.run_once`, with the real adapters talking to the local fakes — on SQLite and PostgreSQL.

Rules: create (BE lead, random participants among NL/LU, random status); edit by a communicator of a
random centre with the current or a stale If-Match; submit; approve/reject by spokespersons of random
centres (the NL user with both roles may be the version's author); release now (or in 30 minutes) on
random channels; fire due releases (twice); dispatch; a dispatcher dying mid-send; edit after release;
a spokesperson confirming their centre's channels of a release planned by another centre; withdrawing a
release planned for later (whose heads-up to the partner centres was due at once); an Update of a live alert;
and `advance`, one valid step for one alert, so that examples reach releases and the Cancel a live
release prepares (which the machine then takes through review and release too: a Cancel of an Update ends the
chain, and an Update supersedes its source, closing what is still in the works). Every answer is held
against the workflow table (status code, state, version). Actors and choices are mostly valid and
sometimes anything (`rarely`).

The database is not reset between examples: the checks are about what the current example created
(its alerts, the alerts derived from them, their releases and ledger rows, the messages the fakes
received since the example began), so a failing example replays the same way. After every step:

1. nothing reaches a public channel unless every centre whose channels it uses approved exactly the
   release's content hash, by a spokesperson of that centre who did not author that version, and (live)
   that centre's spokesperson confirmed its channels and the moment;
2. every required language of every participating centre is present once an alert is in review;
3. Exercise and Test releases never reach a subscriber, a centre's live account or live endpoint;
4. every message a fake received is a ledger row that was attempted first, firing (twice) writes no row,
   one SMS per number per release, and rows are only in states the dispatcher can resume from;
5. the audit chain verifies, and it holds every state change: replaying an alert's events through the
   workflow table gives its state and version, and the events are those of the actions that succeeded.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from alerts import audit, firing, release
from alerts.content import canonical_content, content_hash
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.models import (
    TEXT_FIELDS,
    Alert,
    Approval,
    AuditEvent,
    Centre,
    Delivery,
    Payload,
    Release,
    Subscriber,
    Version,
)
from alerts.outcomes import recover_expired_leases
from alerts.rendering import render_channel
from channels import build_channels
from channels.specs import CHANNELS, PUBLIC_CHANNELS, TextLimits
from devtools.demo import ensure_centres
from devtools.fakes.cap_receiver import CapReceiver
from devtools.world import (
    SHORT_TEXTS,
    Api,
    add_subscribers,
    channels_config,
    flood_alert,
    start_fakes,
    wire_centres,
    write_channels_file,
)

SANDBOX_PHONE = "+32470000099"
SMS_SEGMENTS = 3
STATUSES = ("Actual", "Exercise", "Test")
LANGUAGES = ("nl", "fr", "de", "en")
CHANNEL_NAMES = ("sms", "x", "national", "partners")
PUBLIC = frozenset(PUBLIC_CHANNELS)
CONFIGURED = {"BE": {"sms", "x", "national"}, "NL": {"sms", "x", "national"}, "LU": set()}  # see wire_centres
RESUMABLE = frozenset({"pending", "claimed", "sending", "sent", "delivered", "failed", "unknown", "expired"})
EDITABLE_STATES = frozenset({"draft", "in_review", "approved"})
REVIEW_OR_LATER = frozenset({"in_review", "approved", "scheduled", "releasing", "released", "cancelled",
                             "superseded"})
IN_THE_WORKS = frozenset({"draft", "in_review", "approved", "scheduled"})
MARKERS = tuple(f"{marker} - " for marker in ("OEFENING", "EXERCICE", "ÜBUNG", "EXERCISE", "TEST"))
X_TOKENS = {"be-token": "BE", "nl-token": "NL", "sandbox-token": "SANDBOX"}  # channels_config's X accounts
CAP_STATUS = re.compile(r"<(?:\w+:)?status>\s*(\w+)\s*</(?:\w+:)?status>")
HEADLINES = {"nl": "Overstroming in Limburg", "fr": "Inondation au Limbourg", "de": "Hochwasser in Limburg",
             "en": "Flooding in Limburg"}

ADVANCING = frozenset({"draft", "in_review", "approved", "scheduled", "released"})
MAX_ALERTS = 3  # created per example: the steps go into taking them through the workflow
rarely = st.integers(0, 4).map(lambda n: n == 4)  # True one time in five
# No shrinking: every replay of a step sequence costs real requests, transactions and sends (minutes per
# database); a failure is reported with its whole sequence, and the steps of the model make it readable.
SETTINGS = settings(max_examples=15, stateful_step_count=25, deadline=None, database=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.too_slow])


# ---- the world: app, fakes, users -----------------------------------------------------------------

class Replay:
    """An alert's state and version as its audit events tell it, read through DESIGN.md's workflow table."""

    def __init__(self, participants: list[str] | None = None):
        self.state: str | None = None
        self.version: int | None = None
        self.participants: list[str] = list(participants or [])
        self.decisions: dict[int, dict[str, str]] = {}

    def apply(self, event: AuditEvent, source: Replay | None) -> None:
        detail, action = event.detail or {}, event.action
        if action == "alert.create":
            self.state, self.version, self.participants = "draft", detail["version"], list(detail["participants"])
        elif action.endswith(".prepare"):  # an Update or Cancel derived from a released alert: a new draft
            self.state, self.version = detail.get("state", "draft"), 1
            self.participants = list(source.participants) if source else []
        elif action == "drill.start":  # a communication test is created scheduled, for partners only
            self.state, self.version = "scheduled", 1
        elif action in ("alert.edit", "alert.invite"):
            self.state, self.version = "draft", detail["version"]
            if action == "alert.invite":
                self.participants.append(detail["centre"])
        elif action == "alert.submit":
            self.state = "in_review"
        elif action in ("alert.approve", "alert.reject"):
            decided = self.decisions.setdefault(detail["version"], {})
            decided[detail["centre"]] = action.removeprefix("alert.")
            if action == "alert.reject":
                self.state = "draft"
            elif all(decided.get(code) == "approve" for code in self.participants):
                self.state = "approved"
        elif action == "release.schedule":
            self.state = "scheduled"
        elif action == "release.withdraw":
            self.state = "approved"
        elif action == "release.fire":
            self.state = "released"
        elif action in ("alert.cancelled", "alert.superseded"):
            self.state = action.removeprefix("alert.")
        elif action == "alert.close":
            self.state = "closed"


@dataclass
class Seen:
    """What earlier steps already read of append-only and immutable rows (shared by all examples, like the
    database): audit events read and replayed, versions found complete."""

    seq: int = 0
    events: dict[int, list[AuditEvent]] = field(default_factory=dict)
    replays: dict[int, Replay] = field(default_factory=dict)
    complete: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class World:
    app: object
    db: object
    fakes: object
    sandbox_cap: CapReceiver
    channels: dict
    options: release.ReleaseOptions
    seen: Seen = field(default_factory=Seen)


@dataclass(frozen=True)
class Actor:
    username: str
    centre: str
    roles: frozenset[str]
    api: Api


@pytest.fixture
def world(make_app, tmp_path):
    """The real adapters against local fakes; a second CAP receiver is the national sandbox endpoint.
    No Twilio status callbacks: the ledger only changes under the machine's own steps."""
    with ExitStack() as stack:
        fakes = start_fakes(stack)
        sandbox_cap = CapReceiver().start()
        stack.callback(sandbox_cap.stop)
        config = channels_config(fakes)
        sandbox = {"sms": SANDBOX_PHONE, "x": "SANDBOX", "national": sandbox_cap.url}
        app = make_app(channels_file=write_channels_file(tmp_path, config), sms_max_segments=SMS_SEGMENTS,
                       sandbox_targets=sandbox)
        db = app.extensions["benelert"].db
        with db.transaction() as session:
            ensure_centres(session)
        wire_centres(db, fakes)
        add_subscribers(db, "BE", 6)
        add_subscribers(db, "NL", 3, languages=("nl", "en", "fr"), start=100)
        options = release.ReleaseOptions(limits=TextLimits(sms_max_segments=SMS_SEGMENTS), sandbox=sandbox)  # as API
        yield World(app, db, fakes, sandbox_cap, build_channels(config), options)


ACTORS = {
    "be_comm": ("BE", "communicator"), "nl_comm": ("NL", "communicator"), "lu_comm": ("LU", "communicator"),
    "be_spk": ("BE", "spokesperson"), "nl_spk": ("NL", "spokesperson"), "lu_spk": ("LU", "spokesperson"),
    "both": ("NL", "communicator", "spokesperson"),  # may author a version, then must not approve it
}


def test_random_workflows_keep_the_invariants(world, make_user):
    client = world.app.test_client()
    actors = {}
    for name, (centre, *roles) in ACTORS.items():
        username, token = make_user(centre, *roles, name=name)
        actors[name] = Actor(username, centre, frozenset(roles), Api(client, token))
    tags = map(_tag, itertools.count())  # unique headlines across examples: X refuses duplicate posts
    run_state_machine_as_test(lambda: ReleaseWorkflow(world, actors, tags), settings=SETTINGS)


def _tag(number: int) -> str:
    """Letters only, so the cross-language consistency check (times, numbers) never trips on it."""
    letters = ""
    number += 26 * 26
    while number:
        number, rest = divmod(number, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ---- the model of one alert of this example -------------------------------------------------------

@dataclass
class Tracked:
    id: int
    centres: list[str]
    state: str = "draft"
    version: int = 1
    msg_type: str = "Alert"
    source: int | None = None  # the alert a Cancel cancels
    content: dict = field(default_factory=dict)  # the API's JSON of the current version
    hashes: dict[int, str] = field(default_factory=dict)  # version number -> content hash
    decisions: dict[int, dict[str, str]] = field(default_factory=dict)  # version -> centre -> decision
    events: list[str] = field(default_factory=list)  # audit actions expected, in order
    release_id: int | None = None
    release_at: datetime | None = None
    ledger_rows: int | None = None  # rows staged when scheduled or confirmed; firing and sending add none
    awaiting: set[str] = field(default_factory=set)  # centres whose channels wait for their confirmation


def if_match(number: int) -> dict:
    return {"If-Match": f'"v{number}"'}


def expect(response, status: int, what: str) -> dict:
    body = response.get_json(silent=True) or {}
    assert response.status_code == status, f"{what}: expected {status}, got {response.status_code}: {body}"
    return body


def aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def required_languages(session, codes) -> list[str]:
    languages = {centre.code: centre.languages for centre in session.scalars(select(Centre))}
    return list(dict.fromkeys([lang for code in codes for lang in languages[code]] + ["en"]))


def is_marked(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


class ReleaseWorkflow(RuleBasedStateMachine):
    def __init__(self, world: World, actors: dict[str, Actor], tags):
        super().__init__()
        self.w, self.actors, self.tags = world, actors, tags
        self.mine: dict[int, Tracked] = {}
        self.offsets = {kind: len(messages) for kind, messages in self.fake_messages().items()}

    # ---- helpers ---------------------------------------------------------------------------------
    def refresh(self, tracked: Tracked) -> None:
        """Read the alert back and hold it against the model's state and version."""
        data = expect(self.actors["be_comm"].api.get(f"/alerts/{tracked.id}"), 200, "read back")
        assert (data["state"], data["current_version"]) == (tracked.state, tracked.version), (
            f"alert {tracked.id}: the API says {data['state']} v{data['current_version']}, "
            f"the workflow table says {tracked.state} v{tracked.version}")
        tracked.content = data["version"]
        tracked.hashes[tracked.version] = data["version"]["content_hash"]

    def ready(self, tracked: Tracked) -> bool:
        with self.w.db.transaction() as session:
            languages = required_languages(session, tracked.centres)
        texts = tracked.content["texts"]
        return all(texts.get(lang, {}).get(name, {}).get("status") in ("template", "human")
                   for lang in languages for name in TEXT_FIELDS)

    def rendering_problems(self, tracked: Tracked, channels: dict[str, list[str]]) -> list[str]:
        """What the preview says does not fit the chosen channels (the release refuses exactly that)."""
        used = {CHANNELS[n].text for names in channels.values() for n in names if CHANNELS[n].text}
        preview = expect(self.actors["be_comm"].api.get(f"/alerts/{tracked.id}/preview"), 200, "preview")
        return sorted(problem for r in preview if r["channel"] in used | {"cap"} for problem in r["problems"])

    def stale_hash(self, tracked: Tracked) -> str:
        current = tracked.hashes[tracked.version]
        return next((h for h in tracked.hashes.values() if h != current), "0" * 64)

    def choose(self, data, label: str, valid: list[str], anyone: list[str]) -> Actor:
        """Usually an actor the workflow accepts (so examples get as far as a release), sometimes anyone."""
        wild = data.draw(rarely, label=f"any {label}") or not valid
        return self.actors[data.draw(st.sampled_from(anyone if wild else valid), label=label)]

    def pick(self, data, *states: str) -> Tracked:
        """Usually an alert of this example in one of `states`, sometimes any of them."""
        fitting = sorted(t.id for t in self.mine.values() if t.state in states)
        wild = data.draw(rarely, label="any alert") or not fitting
        return self.mine[data.draw(st.sampled_from(sorted(self.mine) if wild else fitting), label="alert")]

    def has(self, state: str) -> bool:
        return any(t.state == state for t in self.mine.values())

    def takes_part(self, tracked: Tracked, *names: str) -> list[str]:
        return [name for name in names if self.actors[name].centre in tracked.centres]

    def fake_messages(self) -> dict[str, list]:
        """Everything the fakes received, in order of arrival: (target, text or webhook id, provider id)."""
        fakes, found = self.w.fakes, {}
        with fakes.twilio.lock:
            found["sms"] = [(m["to"], m["body"], m["sid"]) for m in fakes.twilio.messages.values()]
        with fakes.x.lock:
            found["x"] = [(X_TOKENS[p["account"]], p["text"], p["id"]) for p in fakes.x.posts]
        for receiver in (fakes.cap, self.w.sandbox_cap):
            with receiver.lock:
                found[f"national {receiver.url}"] = [(receiver.url, r.body.decode("utf-8"), None)
                                                     for r in receiver.received]
        for receiver in fakes.partners:
            with receiver.lock:
                found[f"partners {receiver.url}"] = [(receiver.url, a.webhook_id, None) for a in receiver.attempts]
        return found

    def new_messages(self) -> list[tuple[str, str, str, str | None]]:
        """(channel, target, text or webhook id, provider id) of what the fakes received in this example."""
        return [(kind.split()[0], *message) for kind, messages in self.fake_messages().items()
                for message in messages[self.offsets.get(kind, 0):]]

    def scope(self, session) -> set[int]:
        """This example's alerts and the alerts derived from them (the Cancel prepared at a live release)."""
        ids = set(self.mine)
        return ids | set(session.scalars(select(Alert.id).where(Alert.source_alert_id.in_(ids)))) if ids else ids

    def count_rows(self, release_id: int | None = None) -> int:
        with self.w.db.transaction() as session:
            query = select(func.count()).select_from(Delivery)
            if release_id is not None:
                query = query.where(Delivery.release_id == release_id)
            return session.scalar(query)

    # ---- the actions, each holding the API's answer against the workflow table ------------------------
    def do_edit(self, tracked: Tracked, actor: Actor, stale: bool, change: str, language: str = "nl",
                status: str = "Actual") -> None:
        content, noop, refused = tracked.content, False, False
        if change == "severity":
            changes = {"severity": "Severe" if content["severity"] == "Extreme" else "Extreme"}
        elif change == "status":
            changes, noop = {"status": status}, status == content["status"]
            refused = tracked.msg_type != "Alert" and not noop  # an Update or Cancel keeps its source's status
        elif change == "rewrite":  # headlines and short instructions by a person: the texts fit SMS and X
            tag = next(self.tags)
            changes = {"texts": {lang: {"headline": f"{HEADLINES[lang]} {tag}",
                                        "instruction": SHORT_TEXTS[lang]["instruction"]} for lang in LANGUAGES}}
        elif change == "one_headline":  # a person's rewrite makes the other languages' human texts stale
            changes = {"texts": {language: {"headline": f"{HEADLINES[language]} {next(self.tags)}"}}}
        else:  # emptied: back to the phrasebook
            changes = {"texts": {language: {"headline": ""}}}
            noop = content["texts"][language]["headline"]["status"] == "template"
        base = tracked.version if not stale else (tracked.version - 1 or tracked.version + 1)
        response = actor.api.patch(f"/alerts/{tracked.id}", json=changes, headers=if_match(base))
        if actor.centre not in tracked.centres:
            expect(response, 404, "edit by a centre not taking part")
        elif tracked.state not in EDITABLE_STATES:
            expect(response, 409, f"edit in state {tracked.state}")
        elif stale:
            expect(response, 412, "edit with a stale If-Match")
        elif refused:
            expect(response, 422, "a status edit of an Update or Cancel")
        else:
            expect(response, 200, "edit")
            if not noop:
                tracked.version += 1
                tracked.state = "draft"
                tracked.events.append("alert.edit")
        self.refresh(tracked)
        if response.status_code == 200 and not noop:
            assert tracked.content["author"] == actor.username

    def do_submit(self, tracked: Tracked, actor: Actor, stale: bool) -> None:
        base = tracked.version if not stale else tracked.version + 1
        # the sample's area (Limburg, flood_alert) covers BE and NL: without NL taking part, the lead (BE) confirms it,
        # and another centre's submitter is refused
        outside = [] if "NL" in tracked.centres else ["NL"]
        response = actor.api.post(f"/alerts/{tracked.id}/submit", headers=if_match(base),
                                  json={"confirm_outside": outside})
        if actor.centre not in tracked.centres:
            expect(response, 404, "submit by a centre not taking part")
        elif "communicator" not in actor.roles:
            expect(response, 403, "submit by a spokesperson only")
        elif tracked.state != "draft":
            expect(response, 409, f"submit in state {tracked.state}")
        elif stale:
            expect(response, 412, "submit with a stale If-Match")
        elif not self.ready(tracked):
            body = expect(response, 422, "submit with missing or stale languages")
            assert any(p["code"] in ("missing", "stale") for p in body["problems"]), body
        elif outside and actor.centre != tracked.centres[0]:
            body = expect(response, 409, "a confirmation of centres outside by a centre that does not lead")
            assert body["code"] == "outside-participants-unconfirmed" and body["lead"] == tracked.centres[0], body
        else:
            expect(response, 200, "submit")
            tracked.state = "in_review"
            tracked.events.append("alert.submit")
        self.refresh(tracked)

    def do_decide(self, tracked: Tracked, actor: Actor, decision: str, stale_hash: bool) -> None:
        decided = tracked.decisions.setdefault(tracked.version, {})
        reviewed = self.stale_hash(tracked) if stale_hash else tracked.hashes[tracked.version]
        reason = "Zone klopt niet" if decision == "reject" else ""
        response = actor.api.post(f"/alerts/{tracked.id}/approvals", headers=if_match(tracked.version),
                                  json={"decision": decision, "content_hash": reviewed, "reason": reason})
        if actor.centre not in tracked.centres:
            expect(response, 404, "decision by a centre not taking part")
        elif "spokesperson" not in actor.roles:  # a role that may decide in no state: 403 whatever the state
            expect(response, 403, "decision by a communicator only")
        elif tracked.state != "in_review":
            expect(response, 409, f"decision in state {tracked.state}")
        elif stale_hash:
            expect(response, 409, "decision on content other than the current")
        elif tracked.content["author"] == actor.username:
            expect(response, 403, "four-eyes: the version's author decides")
        elif actor.centre in decided:
            expect(response, 409, "a second decision of one centre on one version")
        else:
            expect(response, 200, decision)
            decided[actor.centre] = decision
            tracked.events.append(f"alert.{decision}")
            if decision == "reject":
                tracked.state = "draft"
            elif all(decided.get(code) == "approve" for code in tracked.centres):
                tracked.state = "approved"
        self.refresh(tracked)

    def do_schedule(self, tracked: Tracked, actor: Actor, channels: dict[str, list[str]], later: bool) -> None:
        body = {"content_hash": tracked.hashes[tracked.version], "channels": channels}
        if later:
            body["at"] = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        response = actor.api.post(f"/alerts/{tracked.id}/release", json=body, headers=if_match(tracked.version))
        if actor.centre not in tracked.centres:
            expect(response, 404, "release by a centre not taking part")
        elif "spokesperson" not in actor.roles:
            expect(response, 403, "release by a communicator")
        elif tracked.state != "approved":
            expect(response, 409, f"release in state {tracked.state}")
        elif (set(channels) - set(tracked.centres) or not any(channels.values())
              or any(set(names) - {"partners"} - CONFIGURED[code] for code, names in channels.items())):
            expect(response, 422, "release with channels that cannot be used")
        elif problems := self.rendering_problems(tracked, channels):
            answer = expect(response, 422, "release of texts that do not fit the channels")
            assert sorted(answer["problems"]) == problems, answer
        else:
            planned = expect(response, 201, "release")
            tracked.state, tracked.release_id = "scheduled", planned["id"]
            tracked.release_at = aware(planned["scheduled_for"])
            tracked.events.append("release.schedule")
            tracked.awaiting = set(planned["awaiting"])
            expected = {code for code, names in channels.items() if set(names) & PUBLIC} - {actor.centre}
            assert tracked.awaiting == (expected if tracked.content["status"] == "Actual" else set()), planned
            tracked.ledger_rows = self.count_rows(tracked.release_id)
        self.refresh(tracked)

    def do_confirm(self, tracked: Tracked, actor: Actor) -> None:
        url = f"/alerts/{tracked.id}/release"
        status = actor.api.get(url)
        plan = status.get_json()["plan"] if status.status_code == 200 else "0" * 64
        response = actor.api.post(f"{url}/consents", json={"plan": plan})
        if actor.centre not in tracked.centres:
            expect(response, 404, "confirmation by a centre not taking part")
        elif "spokesperson" not in actor.roles:
            expect(response, 403, "confirmation by a communicator")
        elif tracked.state not in ("scheduled", "released") or actor.centre not in tracked.awaiting:
            expect(response, 409, "confirmation of nothing to confirm")
        else:
            answer = expect(response, 200, "confirmation")
            tracked.awaiting.discard(actor.centre)
            assert set(answer["awaiting"]) == tracked.awaiting, answer
            tracked.events.append("release.confirm")
            tracked.ledger_rows = self.count_rows(tracked.release_id)
        self.refresh(tracked)

    def do_withdraw(self, tracked: Tracked, actor: Actor) -> None:
        response = actor.api.post(f"/alerts/{tracked.id}/release/withdraw", headers=if_match(tracked.version),
                                  json={"reason": "the situation changed"})
        if actor.centre not in tracked.centres:
            expect(response, 404, "withdrawal by a centre not taking part")
        elif "spokesperson" not in actor.roles:
            expect(response, 403, "withdrawal by a communicator")
        elif tracked.state != "scheduled" or tracked.release_at <= datetime.now(UTC):
            expect(response, 409, f"withdrawal in state {tracked.state} (at {tracked.release_at})")
        else:
            expect(response, 200, "withdrawal")
            tracked.state, tracked.awaiting, tracked.ledger_rows = "approved", set(), None
            tracked.events.append("release.withdraw")
            with self.w.db.transaction() as session:  # nothing left to send but a heads-up already attempted
                left = session.scalars(select(Delivery.attempts).where(
                    Delivery.release_id == tracked.release_id, Delivery.state == "pending")).all()
            assert all(left), f"withdrawn release {tracked.release_id} left rows to send"
        self.refresh(tracked)

    def usable(self, tracked: Tracked, picks: dict[str, list[str]]) -> dict[str, list[str]]:
        return {code: [name for name in picks[code] if name in CONFIGURED[code] | {"partners"}]
                for code in tracked.centres}

    # ---- rules: the JSON API -----------------------------------------------------------------------
    @precondition(lambda self: len(self.mine) < MAX_ALERTS)
    @rule(status=st.sampled_from(STATUSES),
          participants=st.lists(st.sampled_from(["NL", "LU"]), unique=True), phrasebook=rarely)
    def create(self, status, participants, phrasebook):
        """The BE lead creates an alert with short texts of its own, or (rarely) with two headlines only and
        the rest from the phrasebook (too long for SMS and X: refused at release until a person shortens it)."""
        tag = next(self.tags)
        if not phrasebook:
            texts = {lang: {"headline": f"{HEADLINES[lang]} {tag}", "instruction": SHORT_TEXTS[lang]["instruction"]}
                     for lang in LANGUAGES}
        else:
            texts = {lang: {"headline": f"{HEADLINES[lang]} {tag}"} for lang in ("nl", "en")}
        response = self.actors["be_comm"].api.post(
            "/alerts", json=flood_alert(status=status, participants=participants, texts=texts))
        data = expect(response, 201, "create")
        tracked = Tracked(id=data["id"], centres=["BE", *participants], events=["alert.create"])
        self.mine[tracked.id] = tracked
        self.refresh(tracked)

    @precondition(lambda self: self.mine)
    @rule(data=st.data(), stale=rarely,
          change=st.sampled_from(["severity", "status", "rewrite", "one_headline", "clear_headline"]),
          language=st.sampled_from(LANGUAGES), status=st.sampled_from(STATUSES))
    def edit(self, data, stale, change, language, status):
        """A communicator of a random centre edits a draft (rarely, or when there is none: an alert in any
        state, which voids its approvals), with the current or a stale If-Match."""
        tracked = self.pick(data, "draft")
        communicators = ["be_comm", "nl_comm", "lu_comm", "both"]
        actor = self.choose(data, "editor", self.takes_part(tracked, *communicators), communicators)
        self.do_edit(tracked, actor, stale, change, language, status)

    @precondition(lambda self: self.has("draft"))
    @rule(data=st.data(), stale=rarely)
    def submit(self, data, stale):
        tracked = self.pick(data, "draft")
        communicators = ["be_comm", "nl_comm", "lu_comm", "both"]
        actor = self.choose(data, "submitter", self.takes_part(tracked, *communicators), [*communicators, "be_spk"])
        self.do_submit(tracked, actor, stale)

    @precondition(lambda self: self.has("in_review"))
    @rule(data=st.data(), stale_hash=rarely, reject=rarely)
    def decide(self, data, reject, stale_hash):
        """A spokesperson of a random centre approves or rejects; `both` may be the version's author."""
        tracked = self.pick(data, "in_review")
        spokespersons = ["be_spk", "nl_spk", "lu_spk", "both"]
        decided = tracked.decisions.get(tracked.version, {})
        undecided = [name for name in self.takes_part(tracked, *spokespersons)
                     if self.actors[name].centre not in decided]
        actor = self.choose(data, "decider", undecided, [*spokespersons, "be_comm"])
        self.do_decide(tracked, actor, "reject" if reject else "approve", stale_hash)

    @precondition(lambda self: self.has("approved"))
    @rule(data=st.data(), later=rarely, wild=rarely,
          picks=st.fixed_dictionaries({code: st.lists(st.sampled_from(CHANNEL_NAMES), unique=True, min_size=1)
                                       for code in ("BE", "NL", "LU")}))
    def schedule(self, data, picks, wild, later):
        """Release now (rarely: in 30 minutes) on random channels of the centres taking part (rarely: on any
        channels of any centres)."""
        tracked = self.pick(data, "approved")
        actor = self.choose(data, "releaser", self.takes_part(tracked, "be_spk", "nl_spk", "both"),
                            ["be_spk", "nl_spk", "both", "be_comm", "lu_spk"])
        self.do_schedule(tracked, actor, picks if wild else self.usable(tracked, picks), later)

    @precondition(lambda self: any(t.awaiting for t in self.mine.values()))
    @rule(data=st.data())
    def confirm(self, data):
        """A spokesperson of a centre whose channels another centre planned confirms them and the moment."""
        waiting = sorted(t.id for t in self.mine.values() if t.awaiting)
        tracked = self.mine[data.draw(st.sampled_from(waiting), label="alert")]
        valid = [n for n in ("be_spk", "nl_spk", "both") if self.actors[n].centre in tracked.awaiting]
        actor = self.choose(data, "confirmer", valid, ["be_spk", "nl_spk", "lu_spk", "both", "be_comm"])
        self.do_confirm(tracked, actor)

    @precondition(lambda self: self.has("scheduled"))
    @rule(data=st.data())
    def withdraw(self, data):
        """A spokesperson of a centre taking part withdraws a scheduled release (before T: a release planned for
        later); the alert is approved again."""
        tracked = self.pick(data, "scheduled")
        actor = self.choose(data, "withdrawer", self.takes_part(tracked, "be_spk", "nl_spk", "both"),
                            ["be_spk", "nl_spk", "lu_spk", "be_comm"])
        self.do_withdraw(tracked, actor)

    @precondition(lambda self: len(self.mine) < 2 * MAX_ALERTS and any(
        t.state == "released" and t.msg_type != "Cancel" and t.content["status"] == "Actual"
        for t in self.mine.values()))
    @rule(data=st.data())
    def derive_update(self, data):
        """An Update of a live alert: when released it supersedes its source and closes the source's Cancel."""
        live = sorted(t.id for t in self.mine.values() if t.state == "released" and t.msg_type != "Cancel"
                      and t.content["status"] == "Actual")
        source = self.mine[data.draw(st.sampled_from(live), label="alert")]
        response = self.actors["be_comm"].api.post(f"/alerts/{source.id}/derive", json={"msg_type": "Update"})
        working = [t.id for t in self.mine.values() if t.msg_type == "Update" and t.source == source.id
                   and t.state in ("draft", "in_review", "approved", "scheduled")]
        if working:  # one Update in the works at a time: the answer names it
            assert expect(response, 409, "a second Update in the works")["update_id"] == working[0]
            return
        created = expect(response, 201, "derive an Update")
        update = Tracked(id=created["id"], centres=list(source.centres), msg_type="Update", source=source.id,
                         events=["alert.update.prepare"])
        self.mine[update.id] = update
        self.refresh(update)

    @precondition(lambda self: self.has("released") or self.has("cancelled"))
    @rule(data=st.data(), stale=rarely)
    def edit_after_release(self, data, stale):
        done = sorted(t.id for t in self.mine.values() if t.state in ("released", "cancelled"))
        tracked = self.mine[data.draw(st.sampled_from(done), label="alert")]
        self.do_edit(tracked, self.actors["be_comm"], stale, "severity")

    @precondition(lambda self: any(t.state in ADVANCING for t in self.mine.values()))
    @rule(data=st.data(), picks=st.fixed_dictionaries({code: st.lists(st.sampled_from(CHANNEL_NAMES), unique=True,
                                                                    min_size=1) for code in ("BE", "NL", "LU")}))
    def advance(self, data, picks):
        """Take one alert one step further along the path the workflow accepts, by random valid actors, so
        that examples reach releases, deliveries and prepared Cancels within their steps."""
        tracked = self.mine[data.draw(st.sampled_from(sorted(t.id for t in self.mine.values()
                                                             if t.state in ADVANCING)), label="alert")]
        communicators = self.takes_part(tracked, "be_comm", "nl_comm", "lu_comm", "both")
        communicator = self.actors[data.draw(st.sampled_from(communicators), label="communicator")]
        confirmers = [n for n in ("be_spk", "nl_spk") if self.actors[n].centre in tracked.awaiting]
        if tracked.state in ("scheduled", "released") and confirmers:
            self.do_confirm(tracked, self.actors[data.draw(st.sampled_from(confirmers), label="confirmer")])
        elif tracked.state == "scheduled":
            self.fire_due_releases_twice()
        elif tracked.state == "released":
            self.dispatch()
        elif tracked.state == "draft" and self.ready(tracked):
            self.do_submit(tracked, communicator, False)
        elif tracked.state == "draft":
            self.do_edit(tracked, communicator, False, "rewrite")
        elif tracked.state == "in_review":
            decided = tracked.decisions.get(tracked.version, {})
            deciders = [name for name in self.takes_part(tracked, "be_spk", "nl_spk", "lu_spk", "both")
                        if self.actors[name].centre not in decided
                        and self.actors[name].username != tracked.content["author"]]
            if deciders and "reject" not in decided.values():
                decider = data.draw(st.sampled_from(deciders), label="decider")
                self.do_decide(tracked, self.actors[decider], "approve", False)
            else:  # a centre rejected this version, or its only spokesperson wrote it: a new version
                self.do_edit(tracked, communicator, False, "rewrite")
        elif self.rendering_problems(tracked, self.usable(tracked, picks)):
            self.do_edit(tracked, communicator, False, "rewrite")
        else:
            releasers = self.takes_part(tracked, "be_spk", "nl_spk", "both")
            releaser = self.actors[data.draw(st.sampled_from(releasers), label="releaser")]
            self.do_schedule(tracked, releaser, self.usable(tracked, picks), False)

    # ---- rules: the worker -------------------------------------------------------------------------
    @precondition(lambda self: self.has("scheduled"))
    @rule()
    def fire_due_releases_twice(self):
        """release_due until nothing is due, then a second trigger: it must fire nothing, write nothing."""
        started = datetime.now(UTC)
        due = {t.release_id: t for t in self.mine.values() if t.state == "scheduled" and t.release_at <= started}
        fired: list[int] = []
        while True:  # at most 20 per call
            with self.w.db.transaction() as session:
                batch = firing.release_due(session, self.w.options, "w1")
            if not batch:
                break
            fired += batch
        rows = self.count_rows()
        with self.w.db.transaction() as session:
            again = firing.release_due(session, self.w.options, "w2")
        assert again == [], f"a second trigger fired {again} again"
        assert self.count_rows() == rows, "a second trigger wrote ledger rows"
        early = {t.release_id for t in self.mine.values() if t.state == "scheduled"} - set(due)
        assert not early & set(fired), f"releases {sorted(early & set(fired))} fired before their moment"
        # in the order release_due fires them (their moment), each Update or Cancel closing those it ends
        for tracked in sorted(due.values(), key=lambda t: (t.release_at, t.release_id)):
            if tracked.state != "scheduled":  # closed by an Update or Cancel fired before it in this batch
                assert tracked.release_id not in fired, f"release {tracked.release_id} fired after it was closed"
                continue
            assert tracked.release_id in fired, f"due release {tracked.release_id} did not fire (fired {fired})"
            tracked.state = "released"
            tracked.events.append("release.fire")
            assert self.count_rows(tracked.release_id) == tracked.ledger_rows, "firing wrote ledger rows"
            self.refresh(tracked)
            if tracked.source is not None:
                self.end_referenced(tracked)
            if tracked.content["status"] == "Actual" and tracked.msg_type != "Cancel":
                self.track_prepared_cancel(tracked)

    def end_referenced(self, fired: Tracked) -> None:
        """A released Cancel cancels, a released Update supersedes, every alert it refers to that is still
        released; their Updates and Cancels still in the works are closed (a scheduled one withdrawn)."""
        ended = "cancelled" if fired.msg_type == "Cancel" else "superseded"
        source_id = fired.source
        while source_id is not None and source_id in self.mine:
            source = self.mine[source_id]
            if source.state == "released":
                source.state = ended
                source.events.append(f"alert.{ended}")
            for other in sorted(self.mine.values(), key=lambda t: t.id):
                if other.source == source_id and other.id != fired.id and other.state in IN_THE_WORKS:
                    other.state, other.awaiting, other.ledger_rows = "closed", set(), None
                    other.events.append("alert.close")
                    self.refresh(other)
            self.refresh(source)
            source_id = source.source

    def track_prepared_cancel(self, source: Tracked) -> None:
        """A live alert gets its Cancel prepared when it is released: the machine takes it through review."""
        response = self.actors["be_comm"].api.get(f"/alerts/{source.id}/cancel")
        if response.status_code == 404:
            return
        data = expect(response, 200, "prepared cancel")
        with self.w.db.transaction() as session:
            created = list(session.scalars(select(AuditEvent.action).where(
                AuditEvent.object_type == "alert", AuditEvent.object_id == str(data["id"])).order_by(AuditEvent.seq)))
        cancel = Tracked(id=data["id"], centres=list(source.centres), state=data["state"],
                         version=data["current_version"], msg_type="Cancel", source=source.id, events=created)
        note(f"alert {source.id} was released live: its Cancel {cancel.id} is prepared, {cancel.state}")
        self.mine[cancel.id] = cancel
        self.refresh(cancel)

    @precondition(lambda self: self.has("released"))
    @rule()
    def dispatch(self):
        dispatcher = Dispatcher(self.w.db, self.w.channels, "d1", DispatchOptions(threads=1))
        for _ in range(10):
            if not dispatcher.run_once():
                break

    @precondition(lambda self: self.has("released"))
    @rule(size=st.integers(1, 4))
    def dispatcher_dies_mid_send(self, size):
        """Claim a few rows, mark one `sending` and die before the request leaves; the leases run out."""
        dead = Dispatcher(self.w.db, self.w.channels, "dead", DispatchOptions(lease=timedelta(seconds=-1)))
        claimed = dead.claim(size)
        started = None
        if claimed:  # the first row is marked sending, as before a send; then the dispatcher dies
            started = dead.start(claimed[:1])[0]
        recovered = recover_expired_leases(self.w.db)
        note(f"a dispatcher claimed {claimed}, started {bool(started)} and died: {recovered}")
        assert recovered == {"requeued": len(claimed) - (1 if started else 0), "unknown": 1 if started else 0}

    # ---- invariants ---------------------------------------------------------------------------------
    @invariant()
    def inv1_public_channels_only_with_approval_of_that_hash(self):
        problems = []
        with self.w.db.transaction() as session:
            releases = session.scalars(select(Release).where(Release.alert_id.in_(self.scope(session)))).all()
            for planned in releases:
                reached = set(session.scalars(select(Delivery.centre_code).where(
                    Delivery.release_id == planned.id, Delivery.channel.in_(PUBLIC),
                    Delivery.first_attempt_at.is_not(None)).distinct()))
                if reached:
                    if planned.mode == "Actual":
                        problems += [f"release {planned.id} reached {code}'s public channels without the confirmation "
                                     f"of {code}'s spokesperson" for code in sorted(reached - set(planned.consents))]
                    reached |= {code for code, names in planned.channels.items() if set(names) & PUBLIC}
                    problems += self.approval_problems(session, planned, reached)
        assert not problems, "\n".join(problems)

    def approval_problems(self, session, planned: Release, centres: set[str]) -> list[str]:
        version = session.scalar(select(Version).where(Version.alert_id == planned.alert_id,
                                                       Version.number == planned.version_number))
        if version is None:
            return [f"release {planned.id}: its version {planned.version_number} does not exist"]
        content = canonical_content(version)
        if content_hash(content) != planned.content_hash or version.content_hash != planned.content_hash:
            return [f"release {planned.id}: version {version.number} does not hash to the release's content hash"]
        problems = []
        approvals = session.scalars(select(Approval).where(
            Approval.alert_id == planned.alert_id, Approval.content_hash == planned.content_hash,
            Approval.decision == "approve")).all()
        for code in sorted(centres):
            valid = [a for a in approvals if a.centre.code == code and a.user_id != version.author_id
                     and a.user.centre_id == a.centre_id and a.user.has_role("spokesperson")]
            if not valid:
                by = sorted(f"{a.centre.code}:{a.user.username}" for a in approvals)
                problems.append(f"release {planned.id} (alert {planned.alert_id} v{version.number}, author "
                                f"{version.author.username}) reached {code}'s public channels without {code}'s "
                                f"four-eyes approval of {planned.content_hash[:12]}; approvals: {by}")
        # what was approved is what is sent: the text payloads are that version's renderings
        for payload in session.scalars(select(Payload).where(Payload.release_id == planned.id,
                                                             Payload.channel.in_(("sms", "x")))):
            expected = render_channel(content, payload.language, CHANNELS[payload.channel].text,
                                      self.w.options.limits).text
            if payload.body != expected:
                problems.append(f"release {planned.id}: the {payload.channel}/{payload.language} payload is not the "
                                "approved version's rendering")
        return problems

    @invariant()
    def inv2_languages_complete_from_review_on(self):
        problems, seen = [], self.w.seen
        with self.w.db.transaction() as session:
            scope = self.scope(session)
            pairs = set(session.execute(select(Alert.id, Alert.current_version).where(
                Alert.id.in_(scope), Alert.state.in_(REVIEW_OR_LATER))).all())
            pairs |= set(session.execute(select(Release.alert_id, Release.version_number)
                                         .where(Release.alert_id.in_(scope))).all())
            for alert_id, number in sorted(pairs - seen.complete):  # versions are immutable: checked once
                version = session.scalar(select(Version).where(Version.alert_id == alert_id,
                                                               Version.number == number))
                texts = {(t.language, t.field): t for t in version.texts}
                gaps = [f"{lang} {name} is {texts[(lang, name)].status if (lang, name) in texts else 'absent'}"
                        for lang in required_languages(session, version.participants) for name in TEXT_FIELDS
                        if (lang, name) not in texts or texts[(lang, name)].status not in ("template", "human")
                        or not texts[(lang, name)].body.strip()]
                if gaps:
                    problems.append(f"alert {alert_id} v{number} is in review or released, but {'; '.join(gaps)}")
                else:
                    seen.complete.add((alert_id, number))
        assert not problems, "\n".join(problems)

    @invariant()
    def inv3_exercises_and_tests_never_reach_the_public(self):
        problems = []
        with self.w.db.transaction() as session:
            subscribers = set(session.scalars(select(Subscriber.phone)))
            live = {(name, config["target"]) for centre in session.scalars(select(Centre))
                    for name, config in (centre.channels or {}).items() if config.get("target")}
            rows = session.execute(select(Delivery.id, Delivery.release_id, Delivery.channel, Delivery.target,
                                          Release.mode).join(Release, Release.id == Delivery.release_id)
                                   .where(Release.alert_id.in_(self.scope(session)), Release.mode != "Actual")).all()
            new = self.new_messages()
            ids = [provider_id for _, _, _, provider_id in new if provider_id]
            mode_of = dict(session.execute(select(Delivery.provider_id, Release.mode).join(
                Release, Release.id == Delivery.release_id).where(Delivery.provider_id.in_(ids))).all())
        for row_id, release_id, channel, target, mode in rows:
            if target in subscribers or (channel, target) in live:
                problems.append(f"{mode} release {release_id}: ledger row {row_id} targets the live {channel} "
                                f"target {target}")
            elif channel in PUBLIC and target != self.w.options.sandbox.get(channel):
                problems.append(f"{mode} release {release_id}: row {row_id} targets {target}, not the {channel} "
                                "sandbox")
        for channel, target, text, provider_id in new:
            live_target = target in subscribers or (channel, target) in live
            if channel == "national" and live_target:
                status = CAP_STATUS.search(text)
                if status is None or status.group(1) != "Actual":
                    problems.append(f"the live national endpoint received a CAP message with status "
                                    f"{status.group(1) if status else '?'}")
            elif channel in ("sms", "x") and live_target and (
                    is_marked(text) or mode_of.get(provider_id, "Actual") != "Actual"):
                problems.append(f"live {channel} target {target} received a non-Actual text: {text!r}")
        assert not problems, "\n".join(problems)

    @invariant()
    def inv4_every_message_is_a_ledger_row_first(self):
        problems = []
        new = self.new_messages()  # read before the ledger: a send finishing in between is then seen as sent
        with self.w.db.transaction() as session:
            mine = select(Release.id).where(Release.alert_id.in_(self.scope(session)))
            rows = session.execute(select(Delivery, Payload.body).join(Payload, Payload.id == Delivery.payload_id)
                                   .where(Delivery.release_id.in_(mine))).all()
            # what this example's fakes received may come from any row (a retry of an older example's row)
            targets = {target for _, target, _, _ in new}
            attempted = session.execute(
                select(Delivery.channel, Delivery.target, Delivery.idempotency_key, Payload.body, Delivery.attempts)
                .join(Payload, Payload.id == Delivery.payload_id).where(Delivery.target.in_(targets))).all()
        states = Counter(d.state for d, _ in rows)
        if set(states) - RESUMABLE:
            problems.append(f"ledger rows in states the dispatcher cannot resume from: {states}")
        keys = Counter((d.release_id, d.payload_id, d.channel, d.centre_code, d.language, d.target) for d, _ in rows)
        problems += [f"a ledger row written twice: {key}" for key, n in keys.items() if n > 1]
        # one SMS per subscriber's number (the sandbox number of an exercise gets each language's text)
        numbers = Counter((d.release_id, d.target) for d, _ in rows if d.channel == "sms" and d.target != SANDBOX_PHONE)
        problems += [f"release {key[0]} has {n} SMS rows for {key[1]}" for key, n in numbers.items() if n > 1]
        attempts: Counter = Counter()
        for channel, target, key, body, tries in attempted:
            attempts[(channel, target, key if channel == "partners" else body)] += tries
        # the messages before this example started came from earlier rows' attempts too
        before: Counter = Counter()
        for kind, messages in self.fake_messages().items():
            for target, text, _ in messages[:self.offsets.get(kind, 0)]:
                before[(kind.split()[0], target, text)] += 1
        received = Counter((channel, target, text) for channel, target, text, _ in new)
        for key, count in received.items():
            if count + before[key] > attempts[key]:
                problems.append(f"{count + before[key]} message(s) at the {key[0]} fake for {key[1]} but "
                                f"{attempts[key]} attempt(s) in the ledger: {key[2][:80]!r}")
        # and the ledger tells the truth: a row of this example marked sent is at the fake
        everything = Counter((kind.split()[0], target, text) for kind, messages in self.fake_messages().items()
                             for target, text, _ in messages)
        provider_ids = {(kind.split()[0], provider_id): (target, text)
                        for kind, messages in self.fake_messages().items() for target, text, provider_id in messages
                        if provider_id}
        for d, body in rows:
            if d.state not in ("sent", "delivered"):
                continue
            if d.channel in ("sms", "x"):
                seen = provider_ids.get((d.channel, d.provider_id)) == (d.target, body)
            else:
                seen = everything[(d.channel, d.target, d.idempotency_key if d.channel == "partners" else body)] > 0
            if not seen:
                problems.append(f"ledger row {d.id} ({d.channel} to {d.target}) is {d.state}, but the fake has no "
                                "such message")
        for tracked in self.mine.values():
            if tracked.ledger_rows is not None and self.count_rows(tracked.release_id) != tracked.ledger_rows:
                problems.append(f"release {tracked.release_id} had {tracked.ledger_rows} rows staged, now "
                                f"{self.count_rows(tracked.release_id)}")
        assert not problems, "\n".join(problems)

    @invariant()
    def inv5_every_state_change_is_in_the_audit_chain(self):
        problems, seen = [], self.w.seen
        with self.w.db.transaction() as session:
            problems += audit.verify(session).problems
            # the chain is append-only (verify proves it): read each event once, replay incrementally
            sources = dict(session.execute(select(Alert.id, Alert.source_alert_id)).all())
            for event in session.scalars(select(AuditEvent).where(AuditEvent.seq > seen.seq)
                                         .order_by(AuditEvent.seq)):
                seen.seq = event.seq
                if event.object_type == "alert":
                    alert_id = int(event.object_id)
                    seen.events.setdefault(alert_id, []).append(event)
                    source = seen.replays.get(sources.get(alert_id))
                    seen.replays.setdefault(alert_id, Replay()).apply(event, source)
            scope = self.scope(session)
            for alert_id, state, number in session.execute(select(Alert.id, Alert.state, Alert.current_version)
                                                           .where(Alert.id.in_(scope))):
                replay = seen.replays.get(alert_id, Replay())
                if (replay.state, replay.version) != (state, number):
                    actions = [e.action for e in seen.events.get(alert_id, [])]
                    problems.append(f"alert {alert_id} is {state} v{number}, but its audit events {actions} say "
                                    f"{replay.state} v{replay.version}")
            for tracked in self.mine.values():
                actions = [e.action for e in seen.events.get(tracked.id, []) if e.action != "comment.add"]
                if actions != tracked.events:
                    problems.append(f"alert {tracked.id}: audit events {actions}, expected {tracked.events}")
            for version in session.scalars(select(Version).where(Version.alert_id.in_(scope), Version.number > 1)):
                if not any(e.action in ("alert.edit", "alert.invite") and e.detail.get("version") == version.number
                           and e.content_hash == version.content_hash for e in seen.events.get(version.alert_id, [])):
                    problems.append(f"alert {version.alert_id} v{version.number} has no edit event")
            for approval in session.scalars(select(Approval).where(Approval.alert_id.in_(scope))):
                if not any(e.action == f"alert.{approval.decision}" and e.content_hash == approval.content_hash
                           and e.detail.get("centre") == approval.centre.code
                           and e.detail.get("version") == approval.version_number
                           for e in seen.events.get(approval.alert_id, [])):
                    problems.append(f"approval {approval.id} has no {approval.decision} event")
            for planned in session.scalars(select(Release).where(Release.alert_id.in_(scope))):
                wanted = ["release.schedule"] + (["release.fire"] if planned.state == "released" else [])
                for action in wanted:
                    if not any(e.action == action and e.detail.get("release") == planned.id
                               and e.content_hash == planned.content_hash
                               for e in seen.events.get(planned.alert_id, [])):
                        problems.append(f"release {planned.id} ({planned.state}) has no {action} event")
        assert not problems, "\n".join(problems)
