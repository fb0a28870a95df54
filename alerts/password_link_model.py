"""The PasswordLink model: a one-time link to set a password (an invitation, or a reset by an admin).

alerts.user_admin holds the rules. Its own module so that alerts/models.py does not grow; models.py imports it at
its end, so that it is registered with Base wherever the other models are."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alerts.models import User, UTCDateTime, utcnow
from db import Base


class PasswordLink(Base):
    """The link's secret is shown once; only its SHA-256 hash is kept. Used once, within its validity."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "invite" or "reset"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # or voided: by a newer link, by deactivation

    user: Mapped[User] = relationship(lazy="joined")
