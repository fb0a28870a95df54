"""DESIGN.md's five invariants under random action sequences (a Hypothesis stateful test).

A `RuleBasedStateMachine` drives authoring, review and release through the JSON API (the Flask test
client with API tokens) and the worker side through direct calls of `release.release_due` and
`Dispatcher.run_once`, with the real adapters talking to the local fakes — on SQLite and PostgreSQL.
The database is not reset between examples, so every check is either global (it holds whatever ran
before) or about the alerts this example created. After every step:

1. nothing reaches a public channel unless every centre whose channels it uses approved exactly the
   release's content hash, by a spokesperson of that centre who did not author that version;
2. every required language of every participating centre is present once an alert is in review;
3. Exercise and Test releases never reach a subscriber, a centre's live account or live endpoint;
4. every message a fake received is a ledger row that was attempted first, a second trigger writes no
   second set of rows, and rows are only in states the dispatcher can resume from;
5. every state change is in the audit chain (replaying the chain gives each alert's state) and the
   chain verifies.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from alerts import audit, release
from alerts.content import canonical_content, content_hash
from alerts.demo import ensure_centres
from alerts.dispatch import Dispatcher, DispatchOptions, recover_expired_leases
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
from alerts.rendering import render_channel
from channels import build_channels
from tests.conftest import Api, flood_alert
from tests.fakes.cap_receiver import CapReceiver
from tests.release_world import (
    SHORT_TEXTS,
    add_subscribers,
    channels_config,
    start_fakes,
    wire_centres,
    write_channels_file,
)

OUTCOMES: Counter = Counter()
SANDBOX_PHONE = "+32470000099"
SMS_SEGMENTS = 3
STATUSES = ("Actual", "Exercise", "Test")
LANGUAGES = ("nl", "fr", "de", "en")
CHANNEL_NAMES = ("sms", "x", "national", "partners")
PUBLIC = frozenset(release.PUBLIC_CHANNELS)
CONFIGURED = {"BE": {"sms", "x", "national"}, "NL": {"sms", "x", "national"}, "LU": set()}  # wire_centres
RESUMABLE = frozenset({"pending", "claimed", "sending", "sent", "delivered", "failed", "unknown", "expired"})
EDITABLE_STATES = frozenset({"draft", "in_review", "approved"})
REVIEW_OR_LATER = frozenset({"in_review", "approved", "scheduled", "releasing", "released"})
MARKERS = tuple(f"{marker} - " for marker in ("OEFENING", "EXERCICE", "ÜBUNG", "EXERCISE", "TEST"))
X_TOKENS = {"be-token": "BE", "nl-token": "NL", "sandbox-token": "SANDBOX"}  # channels_config's X accounts
CAP_STATUS = re.compile(r"<(?:\w+:)?status>\s*(\w+)\s*</(?:\w+:)?status>")
HEADLINES = {"nl": "Overstroming in Limburg", "fr": "Inondation au Limbourg", "de": "Hochwasser in Limburg",
             "en": "Flooding in Limburg"}

rarely = st.integers(0, 4).map(lambda n: n == 4)  # True one time in five; shrinks to False
SETTINGS = settings(max_examples=15, stateful_step_count=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---- the world: app, fakes, users -----------------------------------------------------------------

@dataclass
class World:
    app: object
    db: object
    fakes: object
    sandbox_cap: CapReceiver
    channels: dict
    options: release.ReleaseOptions


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
        options = release.ReleaseOptions(sms_max_segments=SMS_SEGMENTS, sandbox=sandbox)  # as the API's
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
    import json
    import os
    if os.environ.get("INV_DEBUG"):
        with world.db.transaction() as session:
            print(dict(session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()))
            print(dict(session.execute(select(Alert.state, func.count()).group_by(Alert.state)).all()))
        print(json.dumps(OUTCOMES, indent=1, sort_keys=True))
        OUTCOMES.clear()


def _tag(number: int) -> str:
    """Letters only, so the cross-language consistency check (times, numbers) never trips on it."""
    letters = ""
    number += 26 * 26
    while number:
        number, rest = divmod(number, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


# ---- the model of one alert this example created --------------------------------------------------

@dataclass
class Tracked:
    id: int
    centres: list[str]
    state: str = "draft"
    version: int = 1
    content: dict = field(default_factory=dict)  # the API's JSON of the current version
    hashes: dict[int, str] = field(default_factory=dict)  # version number -> content hash
    decisions: dict[int, dict[str, str]] = field(default_factory=dict)  # version -> centre -> decision
    events: list[str] = field(default_factory=list)  # audit actions expected, in order
    release_id: int | None = None
    release_at: datetime | None = None
    ledger_rows: int | None = None  # rows written when it fired; never more afterwards


def if_match(number: int) -> dict:
    return {"If-Match": f'"v{number}"'}


def expect(response, status: int, what: str) -> dict:
    body = response.get_json(silent=True) or {}
    OUTCOMES[f"{what} -> {status}"] += 1
    assert response.status_code == status, f"{what}: expected {status}, got {response.status_code}: {body}"
    return body


def required_languages(session, codes) -> list[str]:
    languages = {code: centre.languages for code, centre in
                 ((c.code, c) for c in session.scalars(select(Centre).where(Centre.code.in_(codes))))}
    result = [lang for code in codes for lang in languages[code]]
    return list(dict.fromkeys(result + ["en"]))


def aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_marked(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


class ReleaseWorkflow(RuleBasedStateMachine):
    def __init__(self, world: World, actors: dict[str, Actor], tags):
        super().__init__()
        self.w, self.actors, self.tags = world, actors, tags
        self.mine: dict[int, Tracked] = {}
        OUTCOMES["examples"] += 1

    # ---- helpers ---------------------------------------------------------------------------------
    def refresh(self, tracked: Tracked) -> None:
        """Read the alert back and hold it against the model's state and version."""
        data = expect(self.actors["be_comm"].api.get(f"/alerts/{tracked.id}"), 200, "read back")
        assert (data["state"], data["current_version"]) == (tracked.state, tracked.version), (
            f"alert {tracked.id}: API says {data['state']} v{data['current_version']}, "
            f"the workflow table says {tracked.state} v{tracked.version}")
        tracked.content = data["version"]
        tracked.hashes[tracked.version] = data["version"]["content_hash"]

    def ready(self, tracked: Tracked) -> bool:
        with self.w.db.transaction() as session:
            languages = required_languages(session, tracked.centres)
        texts = tracked.content["texts"]
        return all(texts.get(lang, {}).get(name, {}).get("status") in ("template", "human")
                   for lang in languages for name in TEXT_FIELDS)

    def stale_hash(self, tracked: Tracked) -> str:
        current = tracked.hashes[tracked.version]
        return next((h for h in tracked.hashes.values() if h != current), "0" * 64)

    def fakes_snapshot(self) -> dict:
        fakes, snapshot = self.w.fakes, {}
        with fakes.twilio.lock:
            snapshot["sms"] = [dict(m) for m in fakes.twilio.messages.values()]
        with fakes.x.lock:
            snapshot["x"] = [dict(p) for p in fakes.x.posts]
        snapshot["national"] = []
        for receiver in (fakes.cap, self.w.sandbox_cap):
            with receiver.lock:
                snapshot["national"] += [(receiver.url, r.body.decode("utf-8"), r.status) for r in receiver.received]
        snapshot["partners"] = []
        for receiver in fakes.partners:
            with receiver.lock:
                snapshot["partners"] += [(receiver.url, a.webhook_id, a.status) for a in receiver.attempts]
        return snapshot

    # ---- rules: the JSON API -----------------------------------------------------------------------
    # Choices are usually ones the workflow accepts (so examples get as far as a release) and sometimes
    # anything at all; `rarely` shrinks to False, so a failing example shrinks towards the valid path.
    def choose(self, data, label: str, valid: list[str], anyone: list[str]) -> Actor:
        name = data.draw(st.sampled_from(anyone if data.draw(rarely, label="wild") or not valid else valid),
                         label=label)
        return self.actors[name]

    def pick(self, data, *states: str) -> Tracked:
        """Usually an alert of this example in one of `states`, sometimes any of them."""
        fitting = sorted(t.id for t in self.mine.values() if t.state in states)
        wild = data.draw(rarely, label="any alert") or not fitting
        return self.mine[data.draw(st.sampled_from(fitting if not wild else sorted(self.mine)), label="alert")]

    def has(self, state: str) -> bool:
        return any(t.state == state for t in self.mine.values())

    def takes_part(self, tracked: Tracked, *names: str) -> list[str]:
        return [name for name in names if self.actors[name].centre in tracked.centres]

    @rule(status=st.sampled_from(STATUSES),
          participants=st.lists(st.sampled_from(["NL", "LU"]), unique=True), full_texts=st.booleans())
    def create(self, status, participants, full_texts):
        tag = next(self.tags)
        if full_texts:
            texts = {lang: {"headline": f"{HEADLINES[lang]} {tag}", "instruction": SHORT_TEXTS[lang]["instruction"]}
                     for lang in LANGUAGES}
        else:  # the rest comes from the phrasebook
            texts = {lang: {"headline": f"{HEADLINES[lang]} {tag}"} for lang in ("nl", "en")}
        response = self.actors["be_comm"].api.post(
            "/alerts", json=flood_alert(status=status, participants=participants, texts=texts))
        data = expect(response, 201, "create")
        tracked = Tracked(id=data["id"], centres=["BE", *participants], events=["alert.create"])
        self.mine[tracked.id] = tracked
        self.refresh(tracked)

    @precondition(lambda self: self.mine)
    @rule(data=st.data(), stale=rarely,
          change=st.sampled_from(["severity", "status", "all_headlines", "one_headline", "clear_headline"]),
          language=st.sampled_from(LANGUAGES), status=st.sampled_from(STATUSES))
    def edit(self, data, stale, change, language, status):
        """A communicator of any centre edits with the current or a stale If-Match."""
        tracked = self.pick(data, *EDITABLE_STATES)
        communicators = ["be_comm", "nl_comm", "lu_comm", "both"]
        actor = self.choose(data, "editor", self.takes_part(tracked, *communicators), communicators)
        content, noop = tracked.content, False
        if change == "severity":
            changes = {"severity": "Severe" if content["severity"] == "Extreme" else "Extreme"}
        elif change == "status":
            changes, noop = {"status": status}, status == content["status"]
        elif change == "all_headlines":
            tag = next(self.tags)
            changes = {"texts": {lang: {"headline": f"{HEADLINES[lang]} {tag}"} for lang in LANGUAGES}}
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
        else:
            expect(response, 200, "edit (no change)" if noop else "edit")
            if not noop:
                tracked.version += 1
                tracked.state = "draft"
                tracked.events.append("alert.edit")
        self.refresh(tracked)
        if response.status_code == 200 and not noop:
            assert tracked.content["author"] == actor.username

    @precondition(lambda self: self.has("draft"))
    @rule(data=st.data(), stale=rarely)
    def submit(self, data, stale):
        tracked = self.pick(data, "draft")
        everyone = ["be_comm", "nl_comm", "lu_comm", "both", "be_spk"]
        actor = self.choose(data, "submitter", self.takes_part(tracked, "be_comm", "nl_comm", "lu_comm", "both"),
                            everyone)
        base = tracked.version if not stale else tracked.version + 1
        response = actor.api.post(f"/alerts/{tracked.id}/submit", headers=if_match(base))
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
        else:
            expect(response, 200, "submit")
            tracked.state = "in_review"
            tracked.events.append("alert.submit")
        self.refresh(tracked)

    @precondition(lambda self: self.has("in_review"))
    @rule(data=st.data(), stale_hash=rarely,
          decision=st.sampled_from(["approve", "approve", "approve", "reject"]))
    def decide(self, data, decision, stale_hash):
        """Approve or reject for the decider's centre; `both` may be the version's author (four-eyes)."""
        tracked = self.pick(data, "in_review")
        decided = tracked.decisions.setdefault(tracked.version, {})
        everyone = ["be_spk", "nl_spk", "lu_spk", "both", "be_comm"]
        undecided = [name for name in self.takes_part(tracked, "be_spk", "nl_spk", "lu_spk", "both")
                     if self.actors[name].centre not in decided]
        actor = self.choose(data, "decider", undecided, everyone)
        reviewed = self.stale_hash(tracked) if stale_hash else tracked.hashes[tracked.version]
        reason = "Zone klopt niet" if decision == "reject" else ""
        response = actor.api.post(f"/alerts/{tracked.id}/approvals", headers=if_match(tracked.version),
                                  json={"decision": decision, "content_hash": reviewed, "reason": reason})
        if actor.centre not in tracked.centres:
            expect(response, 404, "decision by a centre not taking part")
        elif tracked.state != "in_review":
            expect(response, 409, f"decision in state {tracked.state}")
        elif "spokesperson" not in actor.roles:
            expect(response, 403, "decision by a communicator only")
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

    @precondition(lambda self: self.has("approved"))
    @rule(data=st.data(), later=rarely, outsiders=rarely,
          picks=st.fixed_dictionaries({code: st.lists(st.sampled_from(CHANNEL_NAMES), unique=True)
                                       for code in ("BE", "NL", "LU")}))
    def schedule(self, data, picks, outsiders, later):
        """Release now (or rarely in 30 minutes) on random channels of the centres taking part."""
        tracked = self.pick(data, "approved")
        actor = self.choose(data, "releaser", self.takes_part(tracked, "be_spk", "nl_spk", "both"),
                            ["be_spk", "nl_spk", "both", "be_comm", "lu_spk"])
        channels = {code: names for code, names in picks.items() if outsiders or code in tracked.centres}
        body = {"content_hash": tracked.hashes[tracked.version], "channels": channels}
        if later:
            body["at"] = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
        response = actor.api.post(f"/alerts/{tracked.id}/release", json=body, headers=if_match(tracked.version))
        if actor.centre not in tracked.centres:
            expect(response, 404, "release by a centre not taking part")
        elif tracked.state != "approved":
            expect(response, 409, f"release in state {tracked.state}")
        elif "spokesperson" not in actor.roles:
            expect(response, 403, "release by a communicator")
        elif (set(channels) - set(tracked.centres) or not any(channels.values())
              or any(set(names) - {"partners"} - CONFIGURED[code] for code, names in channels.items())):
            expect(response, 422, "release with channels that cannot be used")
        else:
            planned = expect(response, 201, "release")
            tracked.state, tracked.release_id = "scheduled", planned["id"]
            tracked.release_at = aware(planned["scheduled_for"])
            tracked.events.append("release.schedule")
        self.refresh(tracked)

    @precondition(lambda self: self.has("released"))
    @rule(data=st.data(), stale=rarely)
    def edit_after_release(self, data, stale):
        tracked = self.pick(data, "released")
        response = self.actors["be_comm"].api.patch(
            f"/alerts/{tracked.id}", json={"severity": "Minor"},
            headers=if_match(tracked.version + (1 if stale else 0)))
        expect(response, 409, "edit after release")
        self.refresh(tracked)

    # ---- rules: the worker -------------------------------------------------------------------------
    def count_rows(self, release_id: int | None = None) -> int:
        with self.w.db.transaction() as session:
            query = select(func.count()).select_from(Delivery)
            if release_id is not None:
                query = query.where(Delivery.release_id == release_id)
            return session.scalar(query)

    @precondition(lambda self: self.has("scheduled"))
    @rule()
    def fire_due_releases_twice(self):
        started = datetime.now(UTC)
        due = {t.release_id: t for t in self.mine.values() if t.state == "scheduled" and t.release_at <= started}
        fired: list[int] = []
        while True:  # at most 20 per call
            with self.w.db.transaction() as session:
                batch = release.release_due(session, self.w.options, "w1")
            if not batch:
                break
            fired += batch
        rows = self.count_rows()
        with self.w.db.transaction() as session:
            again = release.release_due(session, self.w.options, "w2")
        assert again == [], f"a second trigger fired {again} again"
        assert self.count_rows() == rows, "a second trigger wrote a second set of ledger rows"
        assert set(due) <= set(fired), f"due releases {sorted(due)} but fired {sorted(fired)}"
        not_due = {t.release_id for t in self.mine.values() if t.state == "scheduled"} - set(due)
        assert not not_due & set(fired), f"releases {sorted(not_due & set(fired))} fired before their moment"
        for tracked in due.values():
            tracked.state = "released"
            tracked.events.append("release.fire")
            tracked.ledger_rows = self.count_rows(tracked.release_id)
            self.refresh(tracked)

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
        """Claim a few rows, mark one `sending` and die before the request leaves; leases run out."""
        dead = Dispatcher(self.w.db, self.w.channels, "dead", DispatchOptions(lease=timedelta(seconds=-1)))
        claimed = dead.claim(size)
        started = dead._start(claimed[0]) if claimed else None
        recovered = recover_expired_leases(self.w.db)
        note(f"dead dispatcher claimed {claimed}, started {bool(started)}, recovered {recovered}")
        assert recovered == {"requeued": len(claimed) - (1 if started else 0) if claimed else 0,
                             "unknown": 1 if started else 0}

    # ---- invariants ---------------------------------------------------------------------------------
    @invariant()
    def count_steps(self):
        OUTCOMES["invariant checks"] += 1

    @invariant()
    def inv1_public_channels_only_with_approval_of_that_hash(self):
        problems = []
        with self.w.db.transaction() as session:
            attempted = session.execute(
                select(Delivery.release_id, Delivery.centre_code).where(
                    Delivery.channel.in_(PUBLIC), Delivery.first_attempt_at.is_not(None)).distinct()).all()
            centres_by_release: dict[int, set[str]] = {}
            for release_id, centre in attempted:
                centres_by_release.setdefault(release_id, set()).add(centre)
            for release_id, centres in centres_by_release.items():
                planned = session.get(Release, release_id)
                centres |= {code for code, names in planned.channels.items() if set(names) & PUBLIC}
                problems += self._approval_problems(session, planned, centres)
        assert not problems, "\n".join(problems)

    def _approval_problems(self, session, planned: Release, centres: set[str]) -> list[str]:
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
            expected = render_channel(content, payload.language, release.TEXT_CHANNEL[payload.channel],
                                      max_sms_segments=self.w.options.sms_max_segments,
                                      mastodon_limit=self.w.options.mastodon_limit).text
            if payload.body != expected:
                problems.append(f"release {planned.id}: {payload.channel}/{payload.language} payload is not the "
                                f"approved version's rendering")
        return problems

    @invariant()
    def inv2_languages_complete_from_review_on(self):
        problems = []
        with self.w.db.transaction() as session:
            versions = [(alert.id, alert.state, session.scalar(select(Version).where(
                Version.alert_id == alert.id, Version.number == alert.current_version)))
                for alert in session.scalars(select(Alert).where(Alert.state.in_(REVIEW_OR_LATER)))]
            versions += [(planned.alert_id, f"release {planned.id}", session.scalar(select(Version).where(
                Version.alert_id == planned.alert_id, Version.number == planned.version_number)))
                for planned in session.scalars(select(Release))]
            for alert_id, where, version in versions:
                texts = {(t.language, t.field): t for t in version.texts}
                for lang in required_languages(session, list(version.participants)):
                    for name in TEXT_FIELDS:
                        text = texts.get((lang, name))
                        if text is None or text.status not in ("template", "human") or not text.body.strip():
                            problems.append(f"alert {alert_id} ({where}) v{version.number}: {lang} {name} is "
                                            f"{text.status if text else 'absent'}")
        assert not problems, "\n".join(problems)

    @invariant()
    def inv3_exercises_and_tests_never_reach_the_public(self):
        problems = []
        snapshot = self.fakes_snapshot()
        with self.w.db.transaction() as session:
            subscribers = set(session.scalars(select(Subscriber.phone)))
            live = {(name, config["target"]) for centre in session.scalars(select(Centre))
                    for name, config in (centre.channels or {}).items() if config.get("target")}
            modes = dict(session.execute(select(Release.id, Release.mode)).all())
            rows = session.execute(select(Delivery.id, Delivery.release_id, Delivery.channel, Delivery.target,
                                          Delivery.provider_id)).all()
        for row_id, release_id, channel, target, _ in rows:
            if modes[release_id] == "Actual":
                continue
            if target in subscribers or (channel, target) in live:
                problems.append(f"{modes[release_id]} release {release_id}: ledger row {row_id} targets the live "
                                f"{channel} target {target}")
            elif channel in PUBLIC and target != self.w.options.sandbox.get(channel):
                problems.append(f"{modes[release_id]} release {release_id}: row {row_id} targets {target}, "
                                f"not the {channel} sandbox")
        mode_of_provider_id = {pid: modes[rid] for _, rid, _, _, pid in rows if pid}
        for message in snapshot["sms"]:
            if message["to"] in subscribers and (is_marked(message["body"])
                                                 or mode_of_provider_id.get(message["sid"], "Actual") != "Actual"):
                problems.append(f"subscriber {message['to']} received a non-Actual text: {message['body']!r}")
        for post in snapshot["x"]:
            if X_TOKENS[post["account"]] != "SANDBOX" and (
                    is_marked(post["text"]) or mode_of_provider_id.get(post["id"], "Actual") != "Actual"):
                problems.append(f"live X account {post['account']} posted a non-Actual text: {post['text']!r}")
        for url, body, _status in snapshot["national"]:
            status = CAP_STATUS.search(body)
            if url == self.w.fakes.cap.url and (status is None or status.group(1) != "Actual"):
                problems.append(f"the live national endpoint received CAP with status "
                                f"{status.group(1) if status else '?'}")
        assert not problems, "\n".join(problems)

    @invariant()
    def inv4_every_message_is_a_ledger_row_first(self):
        problems = []
        snapshot = self.fakes_snapshot()  # before the ledger: a send finishing in between is then seen as sent
        with self.w.db.transaction() as session:
            rows = session.execute(select(Delivery, Payload.body).join(Payload, Payload.id == Delivery.payload_id)
                                   ).all()
        states = Counter(d.state for d, _ in rows)
        if set(states) - RESUMABLE:
            problems.append(f"ledger rows in states the dispatcher cannot resume from: {states}")
        keys = Counter((d.release_id, d.channel, d.centre_code, d.language, d.target) for d, _ in rows)
        problems += [f"ledger row written twice: {key}" for key, n in keys.items() if n > 1]
        idempotency = Counter(d.idempotency_key for d, _ in rows)
        problems += [f"idempotency key used twice: {key}" for key, n in idempotency.items() if n > 1]
        attempts: Counter = Counter()
        for d, body in rows:
            key = d.idempotency_key if d.channel == "partners" else body
            attempts[(d.channel, d.target, key)] += d.attempts
        received: Counter = Counter()
        for message in snapshot["sms"]:
            received[("sms", message["to"], message["body"])] += 1
        for post in snapshot["x"]:
            received[("x", X_TOKENS[post["account"]], post["text"])] += 1
        for url, body, _status in snapshot["national"]:
            received[("national", url, body)] += 1
        for url, webhook_id, _status in snapshot["partners"]:
            received[("partners", url, webhook_id)] += 1
        for key, count in received.items():
            if count > attempts[key]:
                problems.append(f"{count} message(s) at the {key[0]} fake for {key[1]} but {attempts[key]} "
                                f"attempt(s) in the ledger: {key[2][:80]!r}")
        # and the ledger tells the truth: a row marked sent is at the fake
        sms = {m["sid"]: m for m in snapshot["sms"]}
        posts = {p["id"]: p for p in snapshot["x"]}
        for d, body in rows:
            if d.state not in ("sent", "delivered"):
                continue
            if d.channel == "sms":
                seen = d.provider_id in sms and (sms[d.provider_id]["to"], sms[d.provider_id]["body"]) == (d.target,
                                                                                                           body)
            elif d.channel == "x":
                seen = d.provider_id in posts and posts[d.provider_id]["text"] == body
            else:
                seen = received[(d.channel, d.target, d.idempotency_key if d.channel == "partners" else body)] > 0
            if not seen:
                problems.append(f"ledger row {d.id} ({d.channel} to {d.target}) is {d.state} but the fake has no "
                                "such message")
        for tracked in self.mine.values():
            if tracked.ledger_rows is not None and self.count_rows(tracked.release_id) != tracked.ledger_rows:
                problems.append(f"release {tracked.release_id} had {tracked.ledger_rows} rows when it fired, now "
                                f"{self.count_rows(tracked.release_id)}")
        assert not problems, "\n".join(problems)

    @invariant()
    def inv5_every_state_change_is_in_the_audit_chain(self):
        problems = []
        with self.w.db.transaction() as session:
            verdict = audit.verify(session)
            if not verdict.ok:
                problems += verdict.problems
            events: dict[str, list[AuditEvent]] = {}
            for event in session.scalars(select(AuditEvent).where(AuditEvent.object_type == "alert")
                                         .order_by(AuditEvent.seq)):
                events.setdefault(event.object_id, []).append(event)
            for alert in session.scalars(select(Alert)):
                replayed = self._replay(events.get(str(alert.id), []))
                if replayed != (alert.state, alert.current_version):
                    problems.append(f"alert {alert.id} is {alert.state} v{alert.current_version} but its audit "
                                    f"chain says {replayed[0]} v{replayed[1]}")
                tracked = self.mine.get(alert.id)
                actions = [e.action for e in events.get(str(alert.id), []) if e.action != "comment.add"]
                if tracked is not None and actions != tracked.events:
                    problems.append(f"alert {alert.id}: audit events {actions}, expected {tracked.events}")
            for version in session.scalars(select(Version).where(Version.number > 1)):
                if not any(e.action in ("alert.edit", "alert.invite") and e.detail.get("version") == version.number
                           and e.content_hash == version.content_hash for e in events.get(str(version.alert_id), [])):
                    problems.append(f"alert {version.alert_id} v{version.number} has no edit event")
            for approval in session.scalars(select(Approval)):
                if not any(e.action == f"alert.{approval.decision}" and e.content_hash == approval.content_hash
                           and e.detail.get("centre") == approval.centre.code
                           for e in events.get(str(approval.alert_id), [])):
                    problems.append(f"approval {approval.id} has no {approval.decision} event")
            for planned in session.scalars(select(Release)):
                wanted = ["release.schedule"] + (["release.fire"] if planned.state == "released" else [])
                for action in wanted:
                    if not any(e.action == action and e.detail.get("release") == planned.id
                               and e.content_hash == planned.content_hash
                               for e in events.get(str(planned.alert_id), [])):
                        problems.append(f"release {planned.id} ({planned.state}) has no {action} event")
        assert not problems, "\n".join(problems)

    @staticmethod
    def _replay(events: list[AuditEvent]) -> tuple[str | None, int | None]:
        """The alert's state and version as the audit chain tells it, read through DESIGN.md's workflow."""
        state, version, participants = None, None, []
        decisions: dict[int, dict[str, str]] = {}
        for event in events:
            if event.action == "alert.create":
                state, version, participants = "draft", event.detail["version"], list(event.detail["participants"])
            elif event.action in ("alert.edit", "alert.invite"):
                state, version = "draft", event.detail["version"]
                if event.action == "alert.invite":
                    participants.append(event.detail["centre"])
            elif event.action == "alert.submit":
                state = "in_review"
            elif event.action in ("alert.approve", "alert.reject"):
                decided = decisions.setdefault(event.detail["version"], {})
                decided[event.detail["centre"]] = event.action.removeprefix("alert.")
                if event.action == "alert.reject":
                    state = "draft"
                elif all(decided.get(code) == "approve" for code in participants):
                    state = "approved"
            elif event.action == "release.schedule":
                state = "scheduled"
            elif event.action == "release.fire":
                state = "released"
        return state, version
