"""Schemathesis against /api/v1/openapi.json, in process (WSGI), with real bearer tokens and seeded alerts:
no 5xx, and every response is documented (status code, content type, headers, body schema).

Each run counts its calls per operation and status and prints them (pytest -s shows the totals); a run
must reach a minimum number of calls and of successful answers, so it cannot quietly test nothing."""
from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import MissingRequiredHeaderConfig, PositiveDataAcceptanceConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from sqlalchemy import select

from alerts import accounts, firing, release
from alerts.models import ApiToken, User
from devtools.world import SHORT_TEXTS, Api, approved_alert, flood_alert

ENUMERATED = ("status", "urgency", "severity", "certainty", "summary")
# Every check schemathesis has, but object_level_authorization: it needs schemathesis to run as several identities
# at once (its auth configuration), one creating and another reading; here each run has one token, and what one
# centre may see of another's alerts is the partner run below and tests/unit/alerts/test_access*. Each check acts on
# the cases it is meant for: unsupported_method and missing_required_header on the coverage cases
# (test_coverage_cases_of_every_operation), use_after_free and ensure_resource_availability on the stateful run's
# recorded steps, negative_data_rejection on negative cases, positive_data_acceptance on positive ones.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, positive_data_acceptance, missing_required_header,
          unsupported_method, allow_header_conformance, use_after_free, ensure_resource_availability, ignored_auth]
COVERAGE_CASES = 80  # per operation, of the coverage phase's (it yields several hundred for the largest bodies)
# Valid data per the spec may still be refused for what no JSON Schema can state: 412 a generated If-Match that is
# well formed but not the current version; 422 a domain rule (readiness, the alert's state and times, texts that do
# not fit a channel, a centre that does not take part); 428 is a missing If-Match (an optional header in no case).
ACCEPTED_VALID = ["2xx", "401", "403", "404", "409", "412", "422", "429"]
# a required If-Match left out is 428 Precondition Required (RFC 6585), the bearer token 401
MISSING_HEADER = ["400", "401", "428"]


def bounded(examples: int, **extra) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large], **extra)


class Run:
    """Sends cases with one user's token, counts calls per operation and status, keeps every distinct failure."""

    def __init__(self, name: str, token: str):
        self.name, self.headers = name, {"Authorization": f"Bearer {token}"}
        self.calls: Counter = Counter()
        self.failures: dict[tuple[str, str], str] = {}

    def call(self, case):
        if not self.negates_authorization(case):  # the run's token, in place of any the case was generated with
            case.headers = {**{k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"},
                            **self.headers}
        response = case.call()
        self.validate(case, response)
        return response

    @staticmethod
    def negates_authorization(case) -> bool:
        """Whether the case is about a missing or invalid Authorization header: then it is sent as generated (401)."""
        if case.meta is None or not case.meta.generation.mode.is_negative:
            return False
        data = case.meta.phase.data
        named = {getattr(data, "parameter", None)} | {m.parameter for m in getattr(data, "mutations", None) or ()}
        return "authorization" in {(name or "").lower() for name in named}

    def validate(self, case, response, recorder=None):
        self.calls[(case.operation.label, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=self.headers, recorder=recorder)
        except FailureGroup as group:
            for failure in group.exceptions:
                self._record(case, response, failure)
        except Failure as failure:
            self._record(case, response, failure)

    def _record(self, case, response, failure):
        key = (case.operation.label, f"{response.status_code} {failure.title}")
        self.failures.setdefault(key, f"{failure.message}\n{response.text[:300]}\n{case.meta}\n{case.body!r:.300}")

    def total(self, statuses=range(600)) -> int:
        return sum(count for (_, status), count in self.calls.items() if status in statuses)

    def operations_answered(self, statuses) -> set[str]:
        return {label for (label, status) in self.calls if status in statuses}

    def report(self) -> None:
        per_operation = Counter()
        for (label, _), count in self.calls.items():
            per_operation[label] += count
        print(f"\n[schemathesis: {self.name}] {self.total()} calls over {len(per_operation)} operations, "
              f"{self.total(range(200, 300))} answered 2xx")
        for label in sorted(per_operation):
            statuses = dict(sorted((s, c) for (lbl, s), c in self.calls.items() if lbl == label))
            print(f"  {label}: {per_operation[label]} {statuses}")

    def assert_clean(self) -> None:
        assert not self.failures, "\n\n".join(f"{label} -> {what}\n{detail}"
                                              for (label, what), detail in sorted(self.failures.items()))


@pytest.fixture
def seeded(app, client, make_user, api_as, db):
    """A BE communicator+spokesperson; their draft with two versions and a comment; an alert another BE
    communicator submitted (so it awaits our approval); an approved Actual alert released to BE and NL (with
    its prepared Cancel, awaiting approval); a communication test; a spare token to revoke."""
    username, token = make_user("BE", "communicator", "spokesperson")
    be = Api(client, token)
    draft = be.post("/alerts", json=flood_alert(texts=SHORT_TEXTS)).get_json()
    edited = be.patch(f"/alerts/{draft['id']}", json={"severity": "Extreme", "summary": "worse"},
                      headers={"If-Match": '"v1"'})
    assert edited.status_code == 200 and edited.get_json()["current_version"] == 2, edited.get_json()
    assert be.post(f"/alerts/{draft['id']}/comments", json={"body": "Check the polygon"}).status_code == 201
    colleague = api_as("BE", "communicator")
    pending = colleague.post("/alerts", json=flood_alert(texts=SHORT_TEXTS)).get_json()
    assert colleague.post(f"/alerts/{pending['id']}/submit", headers={"If-Match": '"v1"'}).status_code == 200
    live = approved_alert(api_as, status="Actual")
    scheduled = be.post(f"/alerts/{live['id']}/release", headers={"If-Match": '"v1"'},
                        json={"content_hash": live["version"]["content_hash"], "channels": {"BE": ["partners"]}})
    assert scheduled.status_code == 201, scheduled.get_json()
    with db.transaction() as session:
        assert firing.release_due(session, release.ReleaseOptions())
    cancel = be.get(f"/alerts/{live['id']}/cancel").get_json()
    drill = be.post("/communication-tests").get_json()
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        spare_token = accounts.create_token(session, "test", user, "spare")[0].id
    return {
        "app": app, "db": db, "token": token,
        "alert_id": [draft["id"], pending["id"], live["id"], cancel["id"], drill["alert_id"]], "number": [1, 2],
        "if_match": {draft["id"]: '"v2"', pending["id"]: '"v1"', cancel["id"]: '"v1"'},
        "token_id": [spare_token], "identifier": live["identifier"], "hash": pending["version"]["content_hash"],
    }


def made_valid(label: str, body: dict, real: dict) -> dict | None:
    """The generated body with the fields that get it past validation replaced, so that the other generated
    fields reach real data; None when the operation needs no help."""
    if label == "POST /api/v1/alerts":
        return {**{k: v for k, v in body.items() if k != "lead"},
                **{k: v for k, v in flood_alert(texts=SHORT_TEXTS).items() if k != "status"}}
    if label == "PATCH /api/v1/alerts/{alert_id}":  # the enumerated fields only, and at least one change
        return {"severity": "Minor", **{k: v for k, v in body.items() if k in ENUMERATED}}
    if label == "POST /api/v1/alerts/{alert_id}/invitations":
        return {"centre": "LU"}
    if label == "POST /api/v1/acks":
        return {**{k: v for k, v in body.items() if k != "centre"}, "identifier": real["identifier"]}
    if label == "POST /api/v1/alerts/{alert_id}/approvals":
        return {**body, "content_hash": real["hash"]}
    return None


def valid_cap_body(case) -> bool:
    """A valid case of the CAP body of POST /acks. CAP is XML, a grammar JSON Schema cannot state ("type: string"):
    no string the spec allows is a CAP Ack, so every such case is a 400 (documented) and positive_data_acceptance
    cannot apply to it; they are left out. Invalid ones are sent (400). Real CAP Acks: tests/unit/alerts/
    test_exchange.py."""
    return (case.operation.label == "POST /api/v1/acks" and "xml" in (case.media_type or "")
            and case.meta is not None and case.meta.generation.mode.is_positive)


def negated_text_body(case) -> bool:
    """An invalid case of a text/csv body: there is none on the wire. The body is text whatever schemathesis negates
    ("type: string" becoming an array or a number is serialised to CSV text, which is a string again), so the import
    takes it like any other list (202) and its rows are checked by the import job; such cases are left out."""
    return (case.media_type or "").startswith("text/csv") and case.meta is not None \
        and case.meta.is_negative_at(ParameterLocation.BODY)


def own_tokens(real: dict, token: str) -> set[int]:
    """The ids of the run's own tokens: revoking them would turn the rest of the run into 401s."""
    with real["db"].transaction() as session:
        user = accounts.user_for_token(session, token)
        return set(session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id))) - set(real["token_id"])


def load_schema(real: dict, token: str):
    """The app's own spec, with hooks: half the bodies of some operations made valid; never revoking the
    token the run is using (that would turn the rest of the run into 401s)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", real["app"])
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(expected_statuses=ACCEPTED_VALID)
    schema.config.checks.missing_required_header = MissingRequiredHeaderConfig(expected_statuses=MISSING_HEADER)
    own = own_tokens(real, token)

    @schema.hook
    def filter_case(context, case):
        return case.path_parameters.get("token_id") not in own and not valid_cap_body(case) \
            and not negated_text_body(case)

    @schema.hook
    def flatmap_case(context, case):
        positive = case.meta is None or case.meta.generation.mode.is_positive  # a negative case stays invalid
        body = made_valid(context.operation.label, case.body, real) if positive and isinstance(case.body, dict) \
            else None
        if body is None:
            return st.just(case)
        valid = case.derive(keep_auth=True)
        valid.body = body
        return st.sampled_from([case, valid])

    return schema


def operation_strategy(operation, real: dict, mode: GenerationMode):
    """Cases as generated, plus the same with path parameters naming seeded data."""

    def cases(**fixed):
        return operation.as_strategy(generation_mode=mode, **fixed)

    names = {p.name for p in operation.path_parameters}
    strategies = [cases()]
    if "token_id" in names:
        strategies += [cases(path_parameters={"token_id": i}) for i in real["token_id"]]
    if "alert_id" in names:
        for alert_id in real["alert_id"]:
            path = {"alert_id": alert_id}
            if "number" in names:
                strategies += [cases(path_parameters={**path, "number": n}) for n in real["number"]]
            elif operation.label.endswith("/diff"):
                strategies.append(cases(path_parameters=path, query={"from": 1, "to": 2}))
            else:
                strategies.append(cases(path_parameters=path))
            if alert_id in real["if_match"] and any(p.name == "If-Match" for p in operation.headers):
                # the current version of a seeded alert is what lets a change through: drawn as often as the rest
                strategies += [cases(path_parameters=path, headers={"If-Match": real["if_match"][alert_id]})] * 4
    return st.one_of(strategies)


def fuzz_every_operation(schema, run: Run, real: dict, examples: int,
                         mode: GenerationMode = GenerationMode.POSITIVE) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation_strategy(operation, real, mode))
        @bounded(examples)
        def fuzz(case):
            run.call(case)

        fuzz()


def test_every_operation_as_be_staff(seeded, record_property):
    run = Run("BE communicator+spokesperson", seeded["token"])
    schema = load_schema(seeded, seeded["token"])
    operations = sum(1 for _ in schema.get_all_operations())
    fuzz_every_operation(schema, run, seeded, examples=20)
    run.report()
    record_property("schemathesis_calls", run.total())
    run.assert_clean()
    assert operations >= 30 and run.total() >= 20 * operations
    # the seeded data was reached: real answers, not only 404s and 422s
    answered = run.operations_answered(range(200, 300))
    assert len(answered) >= 24, sorted({label for label, _ in run.calls} - answered)
    assert {"POST /api/v1/alerts", "PATCH /api/v1/alerts/{alert_id}", "GET /api/v1/alerts/{alert_id}/diff",
            "POST /api/v1/alerts/{alert_id}/derive", "DELETE /api/v1/tokens/{token_id}"} <= answered


def test_invalid_input_as_be_staff(seeded, record_property):
    """Schemathesis' negative mode (parameters and bodies that break the spec): never a 5xx, never an
    undocumented answer."""
    run = Run("BE communicator+spokesperson, invalid input", seeded["token"])
    fuzz_every_operation(load_schema(seeded, seeded["token"]), run, seeded, examples=4, mode=GenerationMode.NEGATIVE)
    run.report()
    record_property("schemathesis_calls", run.total())
    run.assert_clean()
    assert run.total() >= 4 * 30
    assert run.total(range(400, 500)) >= run.total() / 2  # some negated parts are replaced by the seeded values


def test_coverage_cases_of_every_operation(seeded, record_property):
    """Schemathesis' coverage phase, deterministic: per operation, valid and invalid values at the edges of every
    parameter and property, required headers left out (missing_required_header: 401 without the token, 428 without
    If-Match) and methods the spec does not list (unsupported_method: 405 with Allow)."""
    run = Run("coverage, BE communicator+spokesperson", seeded["token"])
    schema = load_schema(seeded, seeded["token"])
    own = own_tokens(seeded, seeded["token"])
    unsupported = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = schema.iter_coverage_cases(operation, generation_modes=[GenerationMode.POSITIVE,
                                                                          GenerationMode.NEGATIVE],
                                           generation_config=schema.config.generation_for(operation=operation))
        for case in islice(cases, COVERAGE_CASES):
            if (str((case.path_parameters or {}).get("token_id")) in {str(i) for i in own}  # "3" or 3
                    or valid_cap_body(case) or negated_text_body(case)):
                continue
            response = run.call(case)
            unsupported += response.status_code == 405
    run.report()
    record_property("schemathesis_calls", run.total())
    run.assert_clean()
    assert run.total() >= 10 * 30 and unsupported >= 30
    assert run.total(range(400, 500)) >= run.total() / 2


def test_every_operation_as_partner(seeded, make_user, record_property):
    """NL partner user: sees the released alert only, may acknowledge it, may not read history or edit."""
    _, token = make_user("NL", "partner")
    run = Run("NL partner", token)
    fuzz_every_operation(load_schema(seeded, token), run, seeded, examples=6)
    run.report()
    record_property("schemathesis_calls", run.total())
    run.assert_clean()
    assert run.total() >= 6 * 30
    answered = run.operations_answered(range(200, 300))
    assert {"GET /api/v1/alerts/{alert_id}", "POST /api/v1/acks", "GET /api/v1/alerts/{alert_id}/acks"} <= answered
    assert run.total(range(403, 404)) > 0 and run.total(range(404, 405)) > 0


def test_stateful_links(seeded, record_property):
    """Schemathesis follows the spec's own links: create an alert, then read, edit (If-Match from the ETag),
    comment on, diff, preview and submit it."""
    run = Run("stateful, BE communicator+spokesperson", seeded["token"])
    schema = load_schema(seeded, seeded["token"]).include(path_regex="^/api/v1/alerts")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])  # follow links with valid requests
    schema.config.phases.stateful.inference.algorithms = []  # the spec's own links only, none guessed
    links = sum(len(response.get("links", {}))
                for path in schema.raw_schema["paths"].values() for operation in path.values()
                if isinstance(operation, dict) for response in operation.get("responses", {}).values())
    assert links >= 40

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": run.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            run.validate(case, response, recorder=getattr(self, "recorder", None))  # steps for use_after_free

    Machine.run(settings=bounded(12, stateful_step_count=8))
    run.report()
    record_property("schemathesis_calls", run.total())
    run.assert_clean()
    assert run.total() >= 80
    answered = run.operations_answered(range(200, 300))
    assert {"POST /api/v1/alerts", "GET /api/v1/alerts/{alert_id}", "PATCH /api/v1/alerts/{alert_id}"} <= answered


def test_numbers_beyond_any_id_are_not_found_or_invalid_never_a_server_error(api_as, client):
    """Regression: ids and query numbers too large for the database's INTEGER columns raised in the driver
    (500 on both databases); path ids are now bounded in the URL converter, query numbers in the schemas."""
    be = api_as("BE", "communicator")

    def problem(response, status):
        assert response.status_code == status and response.mimetype == "application/problem+json", response.text

    assert be.get(f"/alerts/{2**31 - 1}").status_code == 404  # the largest id still reaches the lookup
    for big in (2**31, 2**63, 10**20):
        for path in (f"/alerts/{big}", f"/alerts/1/versions/{big}", f"/communication-tests/{big}",
                     f"/alerts/{big}/acks"):
            problem(be.get(path), 404)
        problem(be.delete(f"/tokens/{big}"), 404)
        for path in (f"/alerts?offset={big}", f"/alerts/1/diff?from=1&to={big}", f"/alerts/1/preview?version={big}"):
            problem(be.get(path), 422)
        assert client.get(f"/alerts/{big}").status_code == 404  # the pages share the converter
