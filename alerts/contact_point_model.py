"""The ContactPoint model: who to reach at a centre for one field of work (alerts.contact_points holds the rules).

Its own module so that the directory's model does not grow alerts/models.py; models.py imports it at its end, so
that it is registered with Base wherever the other models are."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alerts.models import Centre, User, UTCDateTime, utcnow
from db import Base


class ContactPoint(Base):
    """One entry of the network's contact-point directory: a centre's contact for a field of work."""

    __tablename__ = "contact_points"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))  # alerts.contact_points.FIELDS
    name: Mapped[str | None] = mapped_column(String(200))  # a person, or None for a function's desk
    function: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    languages: Mapped[list] = mapped_column(JSON, default=list)  # codes of settings.LANGUAGES
    hours: Mapped[str] = mapped_column(String(200), default="")  # free text: "24/7", "Mon-Fri 08:00-18:00 CET"
    notes: Mapped[str] = mapped_column(Text, default="")
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    centre: Mapped[Centre] = relationship(lazy="joined")
    last_verified_by: Mapped[User | None] = relationship(foreign_keys=[last_verified_by_id], lazy="joined")
    updated_by: Mapped[User] = relationship(foreign_keys=[updated_by_id], lazy="joined")
