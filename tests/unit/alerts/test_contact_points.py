"""The contact-point directory's rules: what an entry must hold (numbers checked by phonenumbers, addresses, known
centres, fields and languages), who may change it (its centre's admins and network administrators; everyone reads),
when it is stale (not verified for three calendar months), and that every write is audited and a refused one writes
nothing. On SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select, update

from alerts import contact_points
from alerts.contact_point_model import ContactPoint
from alerts.errors import Forbidden, InvalidInput, NotFound
from alerts.models import AuditEvent, User, utcnow

DESK = {"centre": "BE", "field": "duty-desk", "function": "Duty officer", "phone": "02 506 47 11",
        "languages": ["nl", "fr"], "hours": "24/7"}


@pytest.fixture
def people(make_user):
    """Usernames by role: admins of BE and NL, a network administrator (of LU), BE communicator, NL partner."""
    return {"be_admin": make_user("BE", "admin")[0], "nl_admin": make_user("NL", "admin")[0],
            "network": make_user("LU", "network-admin")[0], "be_comm": make_user("BE", "communicator")[0],
            "nl_partner": make_user("NL", "partner")[0]}


def who(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def add(db, username: str, **values) -> int:
    with db.transaction() as session:
        return contact_points.create(session, who(session, username), {**DESK, **values}).id


def counts(db) -> tuple[int, int]:
    """(contact points, audit events)"""
    with db.transaction() as session:
        return (session.scalar(select(func.count()).select_from(ContactPoint)),
                session.scalar(select(func.count()).select_from(AuditEvent)))


def events(db, action: str) -> list[AuditEvent]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def refused(db, username: str, verb, *args, error=InvalidInput):
    """Run a verb that must be refused; nothing it did may remain."""
    before = counts(db)
    with pytest.raises(error) as caught:
        with db.transaction() as session:
            verb(session, who(session, username), *args)
    assert counts(db) == before
    return caught.value


def test_an_admin_adds_an_entry_normalised_and_audited(db, people):
    point_id = add(db, people["be_admin"], email=" Desk@NCCN.Example.BE ", name="  Anna Peeters ")
    with db.transaction() as session:
        point = session.get(ContactPoint, point_id)
        assert (point.phone, point.email, point.name) == ("+3225064711", "Desk@nccn.example.be", "Anna Peeters")
        assert point.centre.code == "BE" and point.languages == ["nl", "fr"] and point.last_verified_at is None
        shown = contact_points.describe(point, who(session, people["nl_partner"]))
    assert shown["stale"] is True and shown["manageable"] is False and shown["field_label"] == "24/7 duty desk"
    [event] = events(db, "contact_point.create")
    assert event.actor == people["be_admin"] and event.object_id == str(point_id)
    assert event.detail == {"centre": "BE", "field": "duty-desk", "verified": False}
    assert "+3225064711" not in str(event.detail)  # the chain is immutable: no numbers or addresses in it


@pytest.mark.parametrize("phone", ["+32 1", "+999 123456", "hello", "+32 2 506 47 1", "+1 555 0100", "0800 123",
                                   "+32 2 506 47 11 99"])
def test_numbers_phonenumbers_rejects_are_refused_and_nothing_is_written(db, people, phone):
    error = refused(db, people["be_admin"], contact_points.create, {**DESK, "phone": phone})
    assert error.extra["field"] == "phone" and phone in error.detail


@pytest.mark.parametrize("email", ["desk", "desk@localhost", "desk@@nccn.be", "dé@nccn.be", "desk@nccn..be",
                                   "desk@-nccn.be", "desk@nccn.b3", ".desk@nccn.be", "desk @nccn.be"])
def test_addresses_that_are_not_plain_e_mail_addresses_are_refused(db, people, email):
    error = refused(db, people["be_admin"], contact_points.create, {**DESK, "email": email})
    assert error.extra["field"] == "email"


@pytest.mark.parametrize("values,field", [
    ({"centre": "XX"}, "centre"),
    ({"centre": None}, "centre"),
    ({"field": "catering"}, "field"),
    ({"languages": ["nl", "xx"]}, "languages"),
    ({"languages": []}, "languages"),
    ({"function": None, "name": " "}, "name"),
    ({"phone": None, "email": None}, "phone"),
    ({"name": "Anna\x00Peeters"}, "name"),
    ({"hours": "x" * 201}, "hours"),
    ({"verified": "yes"}, "verified"),
    ({"colour": "red"}, "colour"),
])
def test_incomplete_or_unknown_input_is_refused_with_its_field(db, people, values, field):
    error = refused(db, people["be_admin"], contact_points.create, {**DESK, **values})
    assert error.extra["field"] == field and error.status == 422


def test_a_missing_field_of_work_or_language_list_is_named(db, people):
    body = {key: value for key, value in DESK.items() if key not in ("field", "languages")}
    error = refused(db, people["be_admin"], contact_points.create, body)
    assert error.extra["field"] == "field" and "field, languages" in error.detail


def test_everyone_reads_only_the_centres_admins_and_network_admins_write(db, people):
    point_id = add(db, people["be_admin"])
    with db.transaction() as session:
        for reader in ("nl_partner", "be_comm", "nl_admin"):
            assert [p.id for p in contact_points.listing(session, who(session, people[reader]))] == [point_id]
    for outsider in ("nl_admin", "be_comm", "nl_partner"):
        refused(db, people[outsider], contact_points.create, DESK, error=Forbidden)
        refused(db, people[outsider], contact_points.update, point_id, {"hours": "never"}, error=Forbidden)
        refused(db, people[outsider], contact_points.verify, point_id, error=Forbidden)
        refused(db, people[outsider], contact_points.delete, point_id, error=Forbidden)
    with db.transaction() as session:
        network = who(session, people["network"])
        contact_points.update(session, network, point_id, {"hours": "Mon-Fri 08:00-18:00 CET"})
        contact_points.verify(session, network, point_id)
    other = add(db, people["network"], centre="NL", field="cbrn", function="CBRN adviser", languages=["nl"],
                phone="070 123 4567")  # without a country code: a number of the entry's centre's country
    with db.transaction() as session:
        assert contact_points.get(session, point_id).hours == "Mon-Fri 08:00-18:00 CET"
        contact_points.delete(session, who(session, people["nl_admin"]), other)
    assert [e.actor for e in events(db, "contact_point.delete")] == [people["nl_admin"]]


def test_an_update_changes_only_what_it_names_and_a_refused_one_nothing(db, people):
    point_id = add(db, people["be_admin"])
    with db.transaction() as session:
        point = contact_points.update(session, who(session, people["be_admin"]), point_id,
                                      {"name": "Anna Peeters", "phone": "+32 470 12 34 56", "hours": "24/7"})
        assert (point.name, point.function, point.phone) == ("Anna Peeters", "Duty officer", "+32470123456")
    [event] = events(db, "contact_point.update")
    assert event.detail["changed"] == ["name", "phone"]  # the hours were the same
    refused(db, people["be_admin"], contact_points.update, point_id, {"name": "Bert", "phone": "+32 1"})
    refused(db, people["be_admin"], contact_points.update, point_id, {"phone": None, "email": None})
    refused(db, people["be_admin"], contact_points.update, point_id, {"centre": "NL"})
    with db.transaction() as session:
        point = session.get(ContactPoint, point_id)
        assert (point.name, point.phone) == ("Anna Peeters", "+32470123456")
    with pytest.raises(NotFound):
        with db.transaction() as session:
            contact_points.update(session, who(session, people["be_admin"]), 999_999, {"hours": "24/7"})


def test_verifying_confirms_the_entry_for_a_quarter(db, people):
    point_id = add(db, people["be_admin"])
    with db.transaction() as session:
        before = utcnow()
        point = contact_points.verify(session, who(session, people["be_admin"]), point_id)
        assert point.last_verified_at >= before and point.last_verified_by.username == people["be_admin"]
    with db.transaction() as session:
        shown = contact_points.describe(session.get(ContactPoint, point_id), who(session, people["be_admin"]))
    assert shown["stale"] is False and shown["last_verified_by"] == people["be_admin"].title()
    assert [e.detail for e in events(db, "contact_point.verify")] == [{"centre": "BE", "field": "duty-desk"}]
    verified_at_creation = add(db, people["be_admin"], field="spokesperson", verified=True)
    with db.transaction() as session:
        assert session.get(ContactPoint, verified_at_creation).last_verified_at is not None


NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("verified,stale", [
    (None, True),
    (NOW - relativedelta(months=3), False),  # exactly a quarter: not yet
    (NOW - relativedelta(months=3) - timedelta(seconds=1), True),
    (NOW - timedelta(days=89), False),
    (datetime(2026, 11, 28, 12, 0, 1, tzinfo=UTC), False),  # three calendar months, not 92 days (that was Nov 28)
    (datetime(2026, 11, 28, 11, 59, 59, tzinfo=UTC), True),
])
def test_stale_means_not_verified_for_three_calendar_months(db, people, verified, stale):
    point_id = add(db, people["be_admin"])
    with db.transaction() as session:
        session.execute(update(ContactPoint).where(ContactPoint.id == point_id).values(last_verified_at=verified))
    with db.transaction() as session:  # read back through the database (naive UTC there)
        point = session.get(ContactPoint, point_id)
        assert contact_points.is_stale(point, NOW) is stale
        admin = who(session, people["be_admin"])
        assert contact_points.stale_count(session, point.centre_id, NOW) == int(stale)
        assert [p.id for p in contact_points.listing(session, admin, stale=True, now=NOW)] == ([point_id] if stale
                                                                                               else [])


def test_the_directory_is_ordered_and_filtered(db, people):
    nl = add(db, people["nl_admin"], centre="NL", field="spokesperson", function="Woordvoerder", languages=["nl"],
             phone="+31 70 123 4567")
    be_cbrn = add(db, people["be_admin"], field="cbrn", function="CBRN")
    be_desk = add(db, people["be_admin"])
    with db.transaction() as session:
        reader = who(session, people["nl_partner"])
        assert [p.id for p in contact_points.listing(session, reader)] == [be_desk, be_cbrn, nl]
        assert [p.id for p in contact_points.listing(session, reader, centre="NL")] == [nl]
        assert [p.id for p in contact_points.listing(session, reader, field="cbrn")] == [be_cbrn]
        for bad in ({"centre": "XX"}, {"field": "catering"}):
            with pytest.raises(InvalidInput):
                contact_points.listing(session, reader, **bad)
