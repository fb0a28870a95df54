"""`flask seed-demo`'s data: the centres of the network's founding meeting, their demo users; idempotent."""
from __future__ import annotations

from sqlalchemy import func, select

from alerts.models import Centre, User
from devtools.demo import seed


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
