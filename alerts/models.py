"""Typed SQLAlchemy 2 models of the warning domain."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
    true,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in Python, naive UTC in the database (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; domain times are aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


ROLES = ("communicator", "spokesperson", "partner", "admin", "network-admin")


class Centre(Base):
    __tablename__ = "centres"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    names: Mapped[dict] = mapped_column(JSON)  # language -> name
    timezone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list] = mapped_column(JSON)  # languages it publishes in, primary first
    # Per channel name: this centre's account/sender/endpoint, e.g. {"national": {"endpoint": "..."}}
    channels: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())  # inactive: kept, never deleted
    # languages of its cell-broadcast messages, in order; None: its publishing languages
    cell_broadcast_languages: Mapped[list | None] = mapped_column(JSON)
    ack_deadline_minutes: Mapped[int | None] = mapped_column()  # a partner copy unacknowledged after it is overdue

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names.get("en") or self.code


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship(lazy="joined")
    # loaded when first asked for: the authors of versions and comments are shown by name only
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="select")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class UserSession(Base):
    """A browser login; the cookie carries the token, the database only its hash."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A personal API token for machine clients; stored as a SHA-256 hash, revocable."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Alert(Base):
    """The one shared warning. Its content lives in immutable versions."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(80), unique=True)
    lead_centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    msg_type: Mapped[str] = mapped_column(String(8), default="Alert")
    references: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # For an Update or Cancel: the released alert it refers to (its CAP `references`)
    source_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)

    lead_centre: Mapped[Centre] = relationship(lazy="joined")
    centre_rows: Mapped[list[AlertCentre]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AlertCentre.centre_id"
    )

    @property
    def centre_ids(self) -> frozenset[int]:
        return frozenset(row.centre_id for row in self.centre_rows)


class AlertCentre(Base):
    """Index of the centres taking part in an alert (mirrors the current version's participants)."""

    __tablename__ = "alert_centres"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | participant
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship(lazy="joined")


class Version(Base):
    """An immutable snapshot of everything that will be sent, identified by its content hash."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("alert_id", "number", name="uq_versions_alert_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    based_on: Mapped[int | None] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(String(200), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    msg_type: Mapped[str] = mapped_column(String(8))
    hazard: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))
    certainty: Mapped[str] = mapped_column(String(10))
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    web: Mapped[str] = mapped_column(String(300), default="")
    participants: Mapped[list] = mapped_column(JSON)  # centre codes, lead first

    author: Mapped[User] = relationship(lazy="joined")
    texts: Mapped[list[VersionText]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=lambda: (VersionText.language, VersionText.field)
    )
    areas: Mapped[list[Area]] = relationship(cascade="all, delete-orphan", lazy="selectin", order_by="Area.position")


# short: the short instructions sent by SMS and cell broadcast; short_x: those of the X post (both start from the
# hazard's short instruction set; a person may rewrite either per language)
TEXT_FIELDS = ("headline", "description", "instruction", "short", "short_x")
TEXT_STATUSES = ("template", "human", "missing", "stale")


class VersionText(Base):
    """One text field of a version in one language, with where it came from."""

    __tablename__ = "version_texts"
    __table_args__ = (UniqueConstraint("version_id", "language", "field", name="uq_version_texts_field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    field: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10))


class Area(Base):
    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(64))  # gazetteer code, when picked from it
    polygons: Mapped[list] = mapped_column(JSON, default=list)  # CAP "lat,lon lat,lon ..." rings
    circles: Mapped[list] = mapped_column(JSON, default=list)  # CAP "lat,lon radius_km"
    geocodes: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": ..., "value": ...}]


class Comment(Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """Append-only; each event's hash covers its fields and the previous event's hash."""

    __tablename__ = "audit_events"
    # the audit page filters by object (an alert's events) and by actor (alerts/audit_browse.py)
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),
                      Index("ix_audit_events_actor", "actor"))
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(80))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip: locking this row serialises appends; it also makes a cut-off tail visible."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


IMMUTABLE = (Version, VersionText, Area, AuditEvent)


@event.listens_for(Session, "before_flush")
def _refuse_rewriting_history(session: Session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, IMMUTABLE) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError(f"{type(obj).__name__} rows are immutable")


class Approval(Base):
    """A spokesperson's decision for one centre on one exact content hash."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("alert_id", "version_number", "centre_id", name="uq_approvals_decision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approve | reject
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class Release(Base):
    """One coordinated moment for all channels of all centres of an approved alert."""

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), unique=True)
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(10))  # Actual | Exercise | Test
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channels: Mapped[dict] = mapped_column(JSON)  # centre code -> [channel names]
    state: Mapped[str] = mapped_column(String(12), default="scheduled", index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_ms: Mapped[int | None] = mapped_column(Integer)
    fired_by: Mapped[str | None] = mapped_column(String(80))
    # centre code -> {"user", "at"}: the spokespersons who confirmed their centre's public channels and the moment
    consents: Mapped[dict] = mapped_column(JSON, default=dict)


class Payload(Base):
    """The exact bytes one channel sends in one language for a release (shared by its deliveries)."""

    __tablename__ = "payloads"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    centre_code: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(40), default="text/plain")
    sha256: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


DELIVERY_STATES = ("pending", "claimed", "sending", "sent", "delivered", "failed", "unknown", "expired")


class Delivery(Base):
    """The ledger: one row per outgoing message, written before anything is sent."""

    __tablename__ = "deliveries"
    # Each lane is claimed on its own (alerts/dispatch.py), in the order its rows fell due.
    # The main lane's rows of a release (partner copies, national systems, social posts, reminders), read by reports
    # and the acknowledgement deadlines; partial, so the SMS fan-out's millions of rows pay nothing for it.
    __table_args__ = (Index("ix_deliveries_lane_due", "lane", "state", "next_attempt_at"),
                      Index("ix_deliveries_main_lane", "release_id", postgresql_where=text("lane = 'main'"),
                            sqlite_where=text("lane = 'main'")))
    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys on the ledger: a national release writes 1.2 million rows, and PostgreSQL checks a foreign
    # key with a trigger per row, which doubles the write. The ledger is written (alerts/ledger.py) and removed
    # (unstage) only with its release and payloads, in one transaction; tests/unit/alerts/test_ledger.py checks.
    release_id: Mapped[int] = mapped_column(Integer, index=True)
    payload_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    lane: Mapped[str] = mapped_column(String(8), default="main")  # sms | main (national, partners, social)
    centre_code: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    provider_status: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(Base):
    """An SMS subscriber of a centre: E.164 number, language, where: areas (gazetteer codes) and/or a location (a
    WGS84 point: inside a warning's area or not, alerts.audience)."""

    __tablename__ = "subscribers"
    __table_args__ = (UniqueConstraint("centre_id", "phone", name="uq_subscribers_phone"),
                      Index("ix_subscribers_located", "centre_id", "latitude", "longitude"))
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscriberArea(Base):
    __tablename__ = "subscriber_areas"
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True)
    place: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class PartnerEndpoint(Base):
    """Where a partner centre receives signed webhook copies."""

    __tablename__ = "partner_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secrets: Mapped[list] = mapped_column(JSON)  # newest first; two during rotation
    active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship(lazy="joined")


class Ack(Base):
    """A partner centre's receipt or reading of a copy."""

    __tablename__ = "acks"
    __table_args__ = (UniqueConstraint("alert_id", "centre_id", "kind", name="uq_acks_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"))
    kind: Mapped[str] = mapped_column(String(10))  # received | read
    via: Mapped[str] = mapped_column(String(10))  # api | cap | page
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    centre: Mapped[Centre] = relationship(lazy="joined")


class ProviderReport(Base):
    """A provider's status report for a message id no ledger row carries yet: the report overtook the
    commit of the id (the provider answers the send, then reports, faster than we commit). The worker
    applies it once the row has the id (alerts.dispatch.apply_held_reports)."""

    __tablename__ = "provider_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


IMPORT_JOB_STATES = ("queued", "running", "done", "failed")


class ImportJob(Base):
    """A subscriber list to import, run by a worker process (alerts.import_jobs): queued → running → done | failed.
    The whole import is one transaction of the worker; `rows_done` of `phase` (reading, writing) is written in short
    transactions of their own, so that it shows while the import runs. A running job whose `lease_until` passed
    (its worker died) is claimed again. The uploaded CSV (`body`) is emptied when the job ends."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_state", "state", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    phase: Mapped[str | None] = mapped_column(String(10))  # reading | writing, while running
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict | None] = mapped_column(JSON)  # imported, updated, opted_out (done)
    errors: Mapped[list | None] = mapped_column(JSON)  # [{"line", "error"}] (failed)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


from alerts.contact_point_model import ContactPoint  # noqa: E402,F401  (registered with Base)
from alerts.network_setting_model import NetworkSetting, ScheduledTestRun  # noqa: E402,F401  (registered with Base)
from alerts.password_link_model import PasswordLink  # noqa: E402,F401  (registered with Base)
