"""A centre's partner endpoints (alerts/partner_endpoints.py): secrets shown once and named by fingerprint, rotation
checked by two Standard Webhooks receivers (the reference library) on the copies the dispatcher really sends, the
ping, and every refusal with nothing written. On SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.wrappers import Request, Response

from alerts import accounts, drills, firing, partner_endpoints, release
from alerts.dispatch import Dispatcher, DispatchOptions
from alerts.errors import Conflict, Forbidden, InvalidInput, NotFound
from alerts.models import AuditEvent, Delivery, PartnerEndpoint, User, utcnow
from channels.partners import PartnerChannel, secret_bytes
from devtools.fakes.server import FakeServer
from devtools.fakes.webhook_receiver import WebhookReceiver
from tests.unit.channels.messages import closed_port_url, new_secret

URL = "https://partners.lu.example/benelert"


class RecordingReceiver(FakeServer):
    """A partner endpoint that keeps every request as it came (body bytes and headers) and answers 200: the
    receivers below verify the recordings themselves."""

    def __init__(self):
        super().__init__()
        self.received: list[tuple[bytes, dict[str, str]]] = []

    def start(self) -> RecordingReceiver:
        super().start()
        self.url += "/hooks"
        return self

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.received.append((request.get_data(), dict(request.headers)))
        return Response("{}", status=200, content_type="application/json")


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """What a partner holding only `secret` concludes, with the Standard Webhooks reference library."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def user(db, centre: str, *roles: str) -> int:
    with db.transaction() as session:
        created = accounts.create_user(session, "test", username=f"{centre.lower()}-{'-'.join(roles)}",
                                       display_name=centre, centre_code=centre, roles=list(roles), password="x" * 20)
        return created.id


def run(db, actor_id: int, verb, *args, **kwargs):
    """`verb(session, actor, ...)` in one transaction, as the web layer calls it."""
    with db.transaction() as session:
        return verb(session, session.get(User, actor_id), *args, **kwargs)


def written(db) -> tuple:
    with db.transaction() as session:
        endpoints = session.execute(select(PartnerEndpoint.id, PartnerEndpoint.url, PartnerEndpoint.secrets,
                                           PartnerEndpoint.active).order_by(PartnerEndpoint.id)).all()
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    return [tuple(row) for row in endpoints], events


def audit_details(db) -> list[tuple[str, dict]]:
    """The partner endpoints' audit events, in order."""
    with db.transaction() as session:
        return [tuple(row) for row in session.execute(select(AuditEvent.action, AuditEvent.detail)
                                                      .where(AuditEvent.object_type == "partner_endpoint")
                                                      .order_by(AuditEvent.seq))]


def created(db, actor_id, code="LU", url=URL, **kwargs) -> tuple[int, str]:
    endpoint, secret = run(db, actor_id, partner_endpoints.create, code, url, **kwargs)
    return endpoint.id, secret


def drain(db, channels) -> None:
    dispatcher = Dispatcher(db, channels, "d1", DispatchOptions(threads=2))
    for _ in range(20):
        if not dispatcher.run_once():
            break


def communication_test(db, actor_id: int, channels) -> None:
    """A communication test: one partner copy to every active endpoint, through the ledger and the dispatcher."""
    options = release.ReleaseOptions()
    run(db, actor_id, drills.start_communication_test, options)
    with db.transaction() as session:
        firing.release_due(session, options, "w1")
    drain(db, channels)


@pytest.fixture
def channel():
    """The partner channel as a test or demo deployment configures it (loopback receivers allowed)."""
    channel = PartnerChannel(allow_private=True)
    yield channel
    channel.close()


def test_an_endpoint_is_created_listed_and_its_secret_is_shown_once(db):
    admin = user(db, "LU", "admin")
    endpoint_id, secret = created(db, admin)
    assert secret.startswith("whsec_") and len(secret_bytes(secret)) == 32
    with db.transaction() as session:
        centre, endpoints = partner_endpoints.listing(session, session.get(User, admin), "LU")
        shown = [partner_endpoints.describe(endpoint) for endpoint in endpoints]
    assert centre.code == "LU"
    print_ = partner_endpoints.fingerprint(secret)
    assert len(print_) == 8 and int(print_, 16) >= 0
    assert [(e["id"], e["url"], e["active"], e["secret_fingerprints"], e["rotating"]) for e in shown] == [
        (endpoint_id, URL, True, [print_], False)]
    assert secret not in json.dumps(shown, default=str)
    given = new_secret(24)
    _, kept = created(db, admin, url=URL + "/2", secret=given)
    assert kept == given
    [(action, detail), (_, second)] = audit_details(db)
    assert action == "partner_endpoint.create" and detail == {"centre": "LU", "url": URL, "secrets": [print_]}
    assert secret not in json.dumps(audit_details(db)) and given not in json.dumps(audit_details(db))
    assert second["secrets"] == [partner_endpoints.fingerprint(given)]


def test_during_rotation_a_receiver_holding_either_secret_verifies_every_copy_then_only_the_new_one(db, channel):
    admin, lu_admin = user(db, "BE", "admin"), user(db, "LU", "admin")
    nl_admin = user(db, "NL", "admin")
    channels = {"partners": channel}
    with RecordingReceiver() as partner:
        endpoint_id, old = created(db, lu_admin, url=partner.url, development=True)
        _, new = run(db, lu_admin, partner_endpoints.add_secret, "LU", endpoint_id)
        with db.transaction() as session:
            assert session.get(PartnerEndpoint, endpoint_id).secrets == [new, old]  # newest first

        communication_test(db, admin, channels)  # a real copy, signed by the dispatcher during the rotation
        plan = run(db, lu_admin, partner_endpoints.prepare_ping, "LU", endpoint_id)
        assert partner_endpoints.send_ping(plan, channels["partners"]).ok
        during = list(partner.received)
        assert len(during) == 2 and json.loads(during[0][0])["type"] == "alert.published"
        assert json.loads(during[1][0])["type"] == "benelert.ping"
        for body, headers in during:
            assert len(headers["Webhook-Signature"].split(" ")) == 2
            assert verifies(old, body, headers), "the partner still holding the old secret"
            assert verifies(new, body, headers), "the partner that already switched"

        run(db, lu_admin, partner_endpoints.remove_secret, "LU", endpoint_id, partner_endpoints.fingerprint(old))
        communication_test(db, nl_admin, channels)
        plan = run(db, lu_admin, partner_endpoints.prepare_ping, "LU", endpoint_id)
        assert partner_endpoints.send_ping(plan, channels["partners"]).ok
        after = partner.received[len(during):]
    assert len(after) == 2 and json.loads(after[0][0])["type"] == "alert.published"
    for body, headers in after:
        assert verifies(new, body, headers)
        assert not verifies(old, body, headers)
    with db.transaction() as session:
        assert set(session.scalars(select(Delivery.state).where(Delivery.channel == "partners"))) == {"sent"}
    actions = [action for action, _ in audit_details(db) if action.startswith("partner_endpoint.")]
    assert actions == ["partner_endpoint.create", "partner_endpoint.secret_add", "partner_endpoint.secret_remove"]


def test_rotation_audits_fingerprints_and_keeps_at_least_one_and_at_most_two_secrets(db):
    admin = user(db, "LU", "admin")
    endpoint_id, old = created(db, admin)
    before = written(db)
    with pytest.raises(Conflict, match="only secret"):
        run(db, admin, partner_endpoints.remove_secret, "LU", endpoint_id, partner_endpoints.fingerprint(old))
    with pytest.raises(Conflict, match="already has this secret"):
        run(db, admin, partner_endpoints.add_secret, "LU", endpoint_id, old)
    assert written(db) == before
    _, new = run(db, admin, partner_endpoints.add_secret, "LU", endpoint_id)
    before = written(db)
    with pytest.raises(Conflict, match="remove its old secret"):
        run(db, admin, partner_endpoints.add_secret, "LU", endpoint_id)
    for unknown in ("00000000", "not-hex!", partner_endpoints.fingerprint(new_secret())):
        with pytest.raises(NotFound):
            run(db, admin, partner_endpoints.remove_secret, "LU", endpoint_id, unknown)
    assert written(db) == before
    endpoint = run(db, admin, partner_endpoints.remove_secret, "LU", endpoint_id, partner_endpoints.fingerprint(old))
    assert endpoint.secrets == [new]
    details = dict(audit_details(db))
    assert details["partner_endpoint.secret_add"] == {
        "centre": "LU", "added": partner_endpoints.fingerprint(new),
        "secrets": [partner_endpoints.fingerprint(new), partner_endpoints.fingerprint(old)]}
    assert details["partner_endpoint.secret_remove"] == {
        "centre": "LU", "removed": partner_endpoints.fingerprint(old), "secrets": [partner_endpoints.fingerprint(new)]}
    assert old not in json.dumps(audit_details(db)) and new not in json.dumps(audit_details(db))


def test_a_ping_reports_the_answer_and_its_latency(db, channel):
    admin = user(db, "LU", "admin")
    secret = new_secret()
    with WebhookReceiver([secret], latency=0.2) as partner:
        endpoint_id, _ = created(db, admin, url=partner.url, secret=secret, development=True)
        plan = run(db, admin, partner_endpoints.prepare_ping, "LU", endpoint_id)
        answer = partner_endpoints.send_ping(plan, channel)
        run(db, admin, partner_endpoints.record_ping, plan, answer)
    assert (answer.status_code, answer.ok, answer.error) == (200, True, None)
    assert 200 <= answer.latency_ms < 5000  # the receiver answers after 0.2 s
    [delivery] = partner.deliveries  # verified by the reference library with the endpoint's secret
    assert delivery.payload == {"type": "benelert.ping", "data": {"centre": "LU", "endpoint_id": endpoint_id,
                                                                  "sent": plan.at.isoformat()}}
    assert delivery.webhook_id.startswith("msg_ping_")
    action, detail = audit_details(db)[-1]
    assert action == "partner_endpoint.ping" and detail["status_code"] == 200 and detail["ok"] is True
    assert detail["latency_ms"] == answer.latency_ms and secret not in json.dumps(detail)


def test_a_ping_to_a_closed_port_or_a_refused_address_reports_the_failure(db, channel):
    admin = user(db, "LU", "admin")
    closed, _ = created(db, admin, url=closed_port_url() + "/hooks", development=True)
    plan = run(db, admin, partner_endpoints.prepare_ping, "LU", closed)
    answer = partner_endpoints.send_ping(plan, channel)
    assert (answer.status_code, answer.ok) == (None, False) and answer.latency_ms is not None
    assert answer.error.startswith("connection failed")
    with WebhookReceiver([new_secret()]) as partner:
        local, _ = created(db, admin, url=partner.url, development=True)
        plan = run(db, admin, partner_endpoints.prepare_ping, "LU", local)
        strict = PartnerChannel()  # the production policy: no loopback address
        refused = partner_endpoints.send_ping(plan, strict)
        strict.close()
        wrong_secret = partner_endpoints.send_ping(plan, channel)
    assert (refused.status_code, refused.latency_ms, refused.ok) == (None, None, False)
    assert "loopback" in refused.error and len(partner.attempts) == 1
    assert (wrong_secret.status_code, wrong_secret.ok) == (401, False) and wrong_secret.error.startswith("HTTP 401")


@pytest.mark.parametrize("url", [
    "http://partners.lu.example/hook",  # https outside development
    "https://user:pw@partners.lu.example/hook",
    "https://partners.lu.example:port/hook",
    "ftp://partners.lu.example/hook",
    "https:///hook",
    "https://partners.lu.example/" + "x" * 500,
    "https://partners.lu.example/a hook",
    "",
    None,
])
def test_an_address_that_is_not_https_without_credentials_is_refused_and_nothing_written(db, url):
    admin = user(db, "LU", "admin")
    before = written(db)
    with pytest.raises(InvalidInput) as refused:
        run(db, admin, partner_endpoints.create, "LU", url)
    assert refused.value.extra["field"] == "url"
    assert written(db) == before


@pytest.mark.parametrize("secret", [
    "not-a-secret",
    "whsec_" + base64.b64encode(b"short").decode(),  # fewer than 24 bytes
    "whsec_!!!not base64!!!",
    base64.b64encode(b"x" * 32).decode(),  # no whsec_
    "",
    42,
])
def test_a_secret_not_in_whsec_form_is_refused_and_nothing_written(db, secret):
    admin = user(db, "LU", "admin")
    endpoint_id, _ = created(db, admin)
    before = written(db)
    for attempt in (lambda: run(db, admin, partner_endpoints.create, "LU", URL + "/other", secret),
                    lambda: run(db, admin, partner_endpoints.add_secret, "LU", endpoint_id, secret)):
        with pytest.raises(InvalidInput) as refused:
            attempt()
        assert refused.value.extra["field"] == "secret"
    assert written(db) == before


def test_http_is_allowed_in_development_only_and_an_address_belongs_to_one_endpoint(db):
    admin = user(db, "LU", "admin")
    endpoint_id, _ = created(db, admin, url="http://partners.lu.example/hook", development=True)
    network = user(db, "NL", "network-admin")
    before = written(db)
    for actor, code in ((admin, "LU"), (network, "NL")):
        with pytest.raises(Conflict):
            run(db, actor, partner_endpoints.create, code, "http://partners.lu.example/hook", development=True)
    assert written(db) == before
    other, _ = created(db, admin)
    before = written(db)
    with pytest.raises(Conflict):
        run(db, admin, partner_endpoints.update, "LU", other, {"url": "http://partners.lu.example/hook"},
            development=True)
    with pytest.raises(InvalidInput):
        run(db, admin, partner_endpoints.update, "LU", endpoint_id, {"url": "http://partners.lu.example/new"})
    with pytest.raises(InvalidInput):
        run(db, admin, partner_endpoints.update, "LU", endpoint_id, {"colour": "red"})
    assert written(db) == before


def test_who_may_see_and_change_a_centres_endpoints(db):
    lu_admin = user(db, "LU", "admin")
    endpoint_id, secret = created(db, lu_admin)
    network = user(db, "BE", "network-admin")
    others = (user(db, "NL", "admin"), user(db, "LU", "communicator"), user(db, "LU", "partner"))
    before = written(db)
    for actor in others:
        for verb, *args in ((partner_endpoints.listing, "LU"), (partner_endpoints.create, "LU", URL + "/2"),
                            (partner_endpoints.update, "LU", endpoint_id, {"active": False}),
                            (partner_endpoints.add_secret, "LU", endpoint_id),
                            (partner_endpoints.remove_secret, "LU", endpoint_id, partner_endpoints.fingerprint(secret)),
                            (partner_endpoints.delete, "LU", endpoint_id),
                            (partner_endpoints.prepare_ping, "LU", endpoint_id)):
            with pytest.raises(Forbidden):
                run(db, actor, verb, *args)
    with pytest.raises(NotFound, match="Unknown centre"):
        run(db, lu_admin, partner_endpoints.create, "XX", URL + "/2")
    with pytest.raises(NotFound):  # LU's endpoint is not NL's, even for a network administrator
        run(db, network, partner_endpoints.update, "NL", endpoint_id, {"active": False})
    with pytest.raises(NotFound):
        run(db, lu_admin, partner_endpoints.update, "LU", 999999, {"active": False})
    assert written(db) == before
    _, endpoints = run(db, network, partner_endpoints.listing, "LU")
    assert [e.id for e in endpoints] == [endpoint_id]
    assert run(db, network, partner_endpoints.update, "LU", endpoint_id, {"active": False}).active is False


def test_deactivation_and_reactivation_are_audited(db):
    admin = user(db, "LU", "admin")
    endpoint_id, _ = created(db, admin)
    endpoint = run(db, admin, partner_endpoints.update, "LU", endpoint_id, {"active": False})
    assert (endpoint.active, endpoint.disabled_reason) == (False, "deactivated by lu-admin")
    events = written(db)[1]
    run(db, admin, partner_endpoints.update, "LU", endpoint_id, {"active": False})  # no change: no event
    assert written(db)[1] == events
    endpoint = run(db, admin, partner_endpoints.update, "LU", endpoint_id, {"active": True, "url": URL + "/v2"})
    assert (endpoint.active, endpoint.disabled_reason, endpoint.url) == (True, None, URL + "/v2")
    updates = [detail for action, detail in audit_details(db) if action == "partner_endpoint.update"]
    assert updates[-1] == {"centre": "LU", "before": {"url": URL, "active": False},
                           "after": {"url": URL + "/v2", "active": True}}


def test_an_endpoint_copies_went_to_is_deactivated_not_deleted(db):
    admin = user(db, "LU", "admin")
    unused, _ = created(db, admin)
    used, _ = created(db, admin, url=URL + "/used")
    with db.transaction() as session:
        session.add(Delivery(release_id=1, payload_id=1, channel="partners", centre_code="LU", target=URL + "/used",
                             idempotency_key="k-1", state="sent", next_attempt_at=utcnow() - timedelta(hours=1)))
    assert run(db, admin, partner_endpoints.delete, "LU", unused) is None
    kept = run(db, admin, partner_endpoints.delete, "LU", used)
    assert kept.id == used and kept.active is False and "delivery history" in kept.disabled_reason
    assert [row[0] for row in written(db)[0]] == [used]
    assert [action for action, _ in audit_details(db)][-2:] == ["partner_endpoint.delete",
                                                               "partner_endpoint.deactivate"]
    events = written(db)[1]
    assert run(db, admin, partner_endpoints.delete, "LU", used).active is False  # again: nothing more to do
    assert written(db)[1] == events


def test_concurrent_rotations_never_leave_three_secrets(db):
    admin = user(db, "LU", "admin")
    endpoint_id, _ = created(db, admin)
    outcomes = []

    def rotate():
        try:
            run(db, admin, partner_endpoints.add_secret, "LU", endpoint_id)
            outcomes.append("added")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=rotate) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "refused", "refused"]
    with db.transaction() as session:
        assert len(session.get(PartnerEndpoint, endpoint_id).secrets) == 2
