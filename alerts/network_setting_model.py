"""Models of the network's own settings and of the scheduled communication tests' runs (alerts.comm_test_schedule
holds the rules). Their own module so that alerts/models.py does not grow; models.py imports it at its end."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from alerts.models import UTCDateTime, utcnow
from db import Base


class NetworkSetting(Base):
    """One setting of the whole network, by key (e.g. "communication_tests"), changed by network administrators."""

    __tablename__ = "network_settings"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80))


class ScheduledTestRun(Base):
    """The quarter's scheduled communication test, once: the primary key makes a second run of a quarter fail, even
    from a second scheduler. `outcome` says what happened ("sent", or why it was not)."""

    __tablename__ = "scheduled_test_runs"
    quarter: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-Q4"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(200))
