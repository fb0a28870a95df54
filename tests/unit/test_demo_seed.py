"""`flask seed-demo`'s data: the centres of the network's founding meeting, their demo users; idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from alerts.models import Centre, Subscriber, User
from devtools.demo import seed, wire_demo_channels


def test_the_demo_seeds_the_founding_meeting_once(db):
    passwords = iter(f"password-{n:04d}-long" for n in range(1000))
    with db.transaction() as session:
        created = seed(session, lambda: next(passwords))
    with db.transaction() as session:
        centres = {c.code: c for c in session.scalars(select(Centre))}
        assert set(centres) == {"BE", "NL", "LU", "DE-NW", "DE", "AT", "GB", "DK", "FI", "FR", "IT", "IS", "NO", "SE"}
        assert all(centres[code].languages == ["en"] and centres[code].names["en"]
                   for code in ("DE", "AT", "GB", "DK", "FI", "FR", "IT", "IS", "NO", "SE"))
        assert centres["BE"].languages == ["nl", "fr", "de"]
        users = {u.username: u for u in session.scalars(select(User))}
        assert users["network.admin"].roles == {"network-admin"} and users["be.admin"].roles == {"admin"}
        assert users["is.partner"].roles == {"partner"} and users["is.partner"].centre.code == "IS"
        assert len(created) == 4 * 3 + 2 + 10 == len(users)
    with db.transaction() as session:
        assert seed(session, lambda: next(passwords)) == []
        assert session.scalar(select(func.count()).select_from(Centre)) == 14


def test_the_demo_wiring_points_the_publishing_centres_at_the_stand_ins(db):
    with db.transaction() as session:
        seed(session, lambda: "a-password-long-enough")
        wire_demo_channels(session, {"national": "http://127.0.0.1:9/cap", "partners": [
            {"centre": "NL", "url": "http://127.0.0.1:9/partners/nl", "secret": "whsec_" + "A" * 32}]})
    with db.transaction() as session:
        channels = dict(session.execute(select(Centre.code, Centre.channels)).all())
        subscribers = dict(session.execute(select(Centre.code, func.count(Subscriber.id)).join(Subscriber)
                                           .group_by(Centre.code)).all())
    assert {code for code, wired in channels.items() if wired} == {"BE", "NL", "LU", "DE-NW"}
    assert subscribers == {"BE": 50, "NL": 50, "LU": 50, "DE-NW": 50}
