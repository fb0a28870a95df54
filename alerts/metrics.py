"""Prometheus metrics read from the database at scrape time.

Every figure comes from the shared database, so any web worker on any machine gives the same answer for
the whole deployment (all gunicorn workers, every dispatcher everywhere): no per-process counters, no
multiprocess directory. A scrape costs a handful of GROUP BY queries; all but the per-channel totals walk
an index (state, next_attempt_at / scheduled_for / the small releases table).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, exists, func, literal_column, or_, select, text

from alerts.firing import LEADER_LOCK
from alerts.models import DELIVERY_STATES, Ack, Centre, Delivery, ProviderReport, Release, utcnow
from alerts.vocabulary import STATUSES
from channels.specs import CHANNELS
from db import Database

RELEASE_STATES = ("scheduled", "releasing", "released", "failed", "withdrawn")
OPEN_STATES = ("pending", "claimed", "sending")  # not sent yet, or sending now
# The provider's code, when a ledger row's error text carries one (the adapters' own formats).
_ERROR_CODE = re.compile(r"^(?:Twilio error (\d+)|(?:X|Mastodon) answered (\d{3})|HTTP (\d{3})|(duplicate) content)")
_ERROR_PREFIX = 40  # enough for the code; grouping on a prefix keeps the result small


def error_code(provider_status: str | None, error: str | None) -> str:
    if provider_status:
        return provider_status
    match = _ERROR_CODE.match(error or "")
    return next((group for group in match.groups() if group), "none") if match else "none"


def _seconds(now, oldest) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


class LedgerCollector(Collector):
    """Releases, the delivery ledger, dispatcher lag, provider errors, pending partner acks, leadership."""

    def __init__(self, db: Database):
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with self.db.engine.connect() as connection:
            postgresql = self.db.dialect == "postgresql"
            if postgresql:  # a scrape must never hold anything up, nor pile up behind a slow database
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                connection.exec_driver_sql("SET LOCAL statement_timeout = '5s'")
            releases = connection.execute(
                select(Release.state, Release.mode, func.count(), func.min(Release.scheduled_for))
                .group_by(Release.state, Release.mode)).all()
            deliveries = connection.execute(
                select(Delivery.channel, Delivery.state, func.count())
                .group_by(Delivery.channel, Delivery.state)).all()
            # Due-but-not-sent rows and expired leases: both read the (state, next_attempt_at) index.
            open_rows = connection.execute(
                select(Delivery.state, func.count(), func.min(Delivery.next_attempt_at))
                .where(Delivery.state.in_(OPEN_STATES), Delivery.next_attempt_at <= now)
                .group_by(Delivery.state)).all()
            prefix = func.substr(Delivery.error, literal_column("1"), literal_column(str(_ERROR_PREFIX)))
            errors = connection.execute(
                select(Delivery.channel, Delivery.state, Delivery.provider_status, prefix, func.count())
                .where(or_(Delivery.state.in_(("failed", "unknown")),
                           and_(Delivery.state == "pending", Delivery.attempts > 0)))
                .group_by(Delivery.channel, Delivery.state, Delivery.provider_status, prefix)).all()
            acked = exists().where(Ack.alert_id == Release.alert_id, Ack.centre_id == Centre.id,
                                   Ack.kind == "received")
            acks = connection.execute(
                select(Delivery.centre_code, func.count(func.distinct(Delivery.release_id)), func.min(Delivery.sent_at))
                .join(Release, Release.id == Delivery.release_id).join(Centre, Centre.code == Delivery.centre_code)
                .where(Delivery.channel == "partners", Delivery.state.in_(("sent", "delivered")), ~acked)
                .group_by(Delivery.centre_code)).all()
            held = connection.execute(select(func.count(), func.min(ProviderReport.received_at))).one()
            leaders = self._leaders(connection) if postgresql else None
            connection.rollback()
        yield from self._releases(releases, now)
        yield from self._deliveries(deliveries)
        yield from self._lag(open_rows, now)
        yield self._errors(errors)
        yield from self._acks(acks, now)
        yield GaugeMetricFamily("benelert_provider_reports_held",
                                "Provider status reports not applied yet: the inbox the status callbacks append to, "
                                "which the scheduler leader applies every second (a report whose message id is not "
                                "committed yet waits for it); a growing count means reports for unknown ids or no "
                                "worker applying them",
                                value=held[0])
        yield GaugeMetricFamily("benelert_provider_report_held_seconds",
                                "Age of the oldest report not applied yet (0: none); above a few seconds the worker "
                                "is behind, or the report's message id is not ours",
                                value=_seconds(now, held[1]))
        if leaders is not None:
            yield GaugeMetricFamily("benelert_scheduler_leaders",
                                    "Worker processes holding the scheduler leader lock (PostgreSQL advisory lock); "
                                    "1 when healthy, 0 means no release will fire", value=leaders)

    @staticmethod
    def _leaders(connection) -> int:
        # a bigint advisory key shows as classid = high 32 bits, objid = low 32 bits, objsubid = 1
        return connection.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid = :high AND objid = :low "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"high": LEADER_LOCK >> 32, "low": LEADER_LOCK & 0xFFFFFFFF}).scalar()

    @staticmethod
    def _releases(rows, now) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("benelert_releases", "Releases by state and mode (Actual, Exercise, Test)",
                                   labels=["state", "mode"])
        counts = {(state, mode): 0 for state in RELEASE_STATES for mode in STATUSES}
        overdue = None
        for state, mode, count, first in rows:
            counts[(state, mode)] = count
            if state == "scheduled" and first <= now:
                overdue = first if overdue is None else min(overdue, first)
        for (state, mode), count in sorted(counts.items()):
            family.add_metric([state, mode], count)
        yield family
        # min(scheduled_for) per group is the earliest scheduled release; it is overdue once its moment passed
        yield GaugeMetricFamily("benelert_release_overdue_seconds",
                                "Age of the oldest scheduled release whose moment has passed (0: none); "
                                "above a few seconds the scheduler leader is not firing", value=_seconds(now, overdue))

    @staticmethod
    def _deliveries(rows) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("benelert_deliveries", "Ledger rows by channel and state",
                                   labels=["channel", "state"])
        counts = {(channel, state): 0 for channel in CHANNELS for state in DELIVERY_STATES}
        for channel, state, count in rows:
            counts[(channel, state)] = count
        for (channel, state), count in sorted(counts.items()):
            family.add_metric([channel, state], count)
        yield family

    @staticmethod
    def _lag(rows, now) -> Iterator[GaugeMetricFamily]:
        by_state = {state: (count, oldest) for state, count, oldest in rows}
        due, oldest_due = by_state.get("pending", (0, None))
        yield GaugeMetricFamily("benelert_dispatch_due", "Pending ledger rows whose time to be sent has come",
                                value=due)
        yield GaugeMetricFamily("benelert_dispatch_lag_seconds",
                                "How long the oldest due pending row has waited for a dispatcher (0: none)",
                                value=_seconds(now, oldest_due))
        expired = GaugeMetricFamily("benelert_dispatch_expired_leases",
                                    "Claimed or sending rows whose dispatcher lease ran out (a dispatcher stopped); "
                                    "the scheduler leader requeues them or marks them unknown", labels=["state"])
        oldest = None
        for state in ("claimed", "sending"):
            count, since = by_state.get(state, (0, None))
            expired.add_metric([state], count)
            if since is not None:
                oldest = since if oldest is None else min(oldest, since)
        yield expired
        yield GaugeMetricFamily("benelert_dispatch_expired_lease_seconds",
                                "How long ago the oldest expired lease ran out (0: none)", value=_seconds(now, oldest))

    @staticmethod
    def _errors(rows) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "benelert_delivery_errors",
            "Ledger rows the providers refused (failed), may have taken (unknown) or asked to resend (retrying), "
            "by channel and provider code (HTTP status, Twilio error code or delivery status; 'none' if absent)",
            labels=["channel", "state", "code"])
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        for channel, state, provider_status, error, count in rows:
            state = "retrying" if state == "pending" else state
            counts[(channel, state, error_code(provider_status, error))] += count
        for labels, count in sorted(counts.items()):
            family.add_metric(list(labels), count)
        return family

    @staticmethod
    def _acks(rows, now) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily("benelert_partner_acks_pending",
                                    "Releases whose partner copy was sent to a centre that has not acknowledged "
                                    "receiving it", labels=["centre"])
        oldest = GaugeMetricFamily("benelert_partner_ack_pending_seconds",
                                   "Age of the oldest unacknowledged partner copy, per centre", labels=["centre"])
        for centre, count, first_sent in sorted(rows):
            pending.add_metric([centre], count)
            oldest.add_metric([centre], _seconds(now, first_sent))
        yield pending
        yield oldest


def registry_for(db: Database) -> CollectorRegistry:
    """A registry of our own (not the global one): only database figures, never this process's counters,
    which would differ between gunicorn workers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(db))
    return registry
