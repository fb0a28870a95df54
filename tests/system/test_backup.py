"""`flask db backup` / `db restore`: a copy taken while the service holds alerts, versions, audit events and a
fired release restores into a fresh database equal to what was backed up, with an intact audit chain; a
corrupted file is refused, and a backup whose data was edited restores but fails the audit check."""
from __future__ import annotations

import uuid
from contextlib import ExitStack
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from alerts import firing, release
from alerts.models import Alert, AuditEvent, Centre, Delivery, Release, Version
from app import create_app
from channels.specs import TextLimits
from db import Base
from devtools.world import approved_alert, flood_alert
from tests.conftest import PG_BASE

OPTIONS = release.ReleaseOptions(limits=TextLimits(sms_max_segments=3))


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with db.engine.connect() as connection:
        return {table.name: [tuple(row) for row in connection.execute(
            select(table).order_by(*table.primary_key.columns))] for table in Base.metadata.sorted_tables}


def populate(db, api_as) -> None:
    """Two alerts, one edited to version 2 with a comment, one approved and released on X: versions, audit
    events, a release and its ledger."""
    with db.transaction() as session:
        session.scalar(select(Centre).where(Centre.code == "BE")).channels = {"x": {"target": "BE"}}
    be = api_as("BE", "communicator")
    draft = be.post("/alerts", json=flood_alert()).get_json()
    edited = be.patch(f"/alerts/{draft['id']}", json={"severity": "Extreme"}, headers={"If-Match": '"v1"'})
    assert edited.status_code == 200, edited.get_json()
    assert be.post(f"/alerts/{draft['id']}/comments", json={"body": "Check the dyke names"}).status_code == 201
    alert = approved_alert(api_as)
    planned = api_as("BE", "spokesperson").post(
        f"/alerts/{alert['id']}/release", headers={"If-Match": '"v1"'},
        json={"content_hash": alert["version"]["content_hash"], "channels": {"BE": ["x"]}})
    assert planned.status_code == 201, planned.get_json()
    with db.transaction() as session:
        assert firing.release_due(session, OPTIONS, "w1")
        counts = {model.__name__: session.scalar(select(func.count()).select_from(model))
                  for model in (Alert, Version, AuditEvent, Release, Delivery)}
    # the released alert's Cancel is prepared at once: a third alert
    assert counts["Alert"] == 3 and counts["Version"] == 4 and counts["Release"] == 1
    assert counts["Delivery"] == 4 and counts["AuditEvent"] > 10, counts


class FreshDatabases:
    """New, empty databases to restore into: SQLite files, or PostgreSQL databases on the local server holding
    the backed-up schema's name (pg_restore recreates the schema it dumped); dropped at the end."""

    def __init__(self, source_url: str, tmp_path):
        self.source_url, self.tmp_path, self.apps, self.databases = source_url, tmp_path, [], []

    def app(self):
        if self.source_url.startswith("sqlite"):
            url = f"sqlite:///{self.tmp_path / f'restored-{len(self.apps)}.db'}"
        else:
            name = f"bnl_restore_{uuid.uuid4().hex[:10]}"
            admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            self.databases.append(name)
            schema = parse_qs(urlsplit(self.source_url).query)["options"][0].split("=")[1]
            url = PG_BASE.rsplit("/", 1)[0] + f"/{name}?options=-csearch_path%3D{schema}"
        app = create_app({"env": "test", "database_url": url, "secret_key": "r" * 48})
        self.apps.append(app)
        return app

    def close(self):
        for app in self.apps:
            app.extensions["benelert"].db.engine.dispose()
        if self.databases:
            admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                for name in self.databases:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()


@pytest.fixture
def fresh(database_url, tmp_path):
    with ExitStack() as stack:
        databases = FreshDatabases(database_url, tmp_path)
        stack.callback(databases.close)
        yield databases


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_backup_restores_into_a_fresh_database_equal_and_verified(app, db, api_as, fresh, tmp_path):
    populate(db, api_as)
    before = snapshot(db)
    path = tmp_path / "benelert.backup"
    made = cli(app, "db", "backup", str(path))
    assert made.exit_code == 0, made.output
    assert path.stat().st_size > 0 and (tmp_path / "benelert.backup.sha256").read_text().endswith(
        "  benelert.backup\n")
    again = cli(app, "db", "backup", str(path))
    assert again.exit_code != 0 and "exists" in again.output  # never overwrites the last good backup

    # after the backup: one more alert, then the ledger and releases are lost
    assert api_as("NL", "communicator").post("/alerts", json=flood_alert(participants=["BE"])).status_code == 201
    with db.engine.begin() as connection:
        connection.execute(Delivery.__table__.delete())
        connection.execute(Release.__table__.delete())
    assert snapshot(db) != before
    refused = cli(app, "db", "restore", str(path))
    assert refused.exit_code != 0 and "not empty" in refused.output  # never over live data

    restored_app = fresh.app()
    restored = cli(restored_app, "db", "restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output
    assert snapshot(restored_app.extensions["benelert"].db) == before  # the moment of the backup, exactly
    verified = cli(restored_app, "audit", "verify")
    assert verified.exit_code == 0 and "audit chain intact" in verified.output
    # the restored copy is a working service database
    assert restored_app.test_client().get("/readyz").get_json() == {"status": "ok", "database": "ok"}


def test_a_corrupted_backup_is_refused_and_an_edited_one_fails_the_audit_check(app, db, api_as, fresh, tmp_path):
    populate(db, api_as)
    path = tmp_path / "benelert.backup"
    assert cli(app, "db", "backup", str(path)).exit_code == 0

    corrupted = tmp_path / "corrupted.backup"  # one byte changed, the checksum file as made
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    corrupted.write_bytes(bytes(data))
    (tmp_path / "corrupted.backup.sha256").write_text((tmp_path / "benelert.backup.sha256").read_text())
    target = fresh.app()
    refused = cli(target, "db", "restore", str(corrupted))
    assert refused.exit_code != 0 and "does not match" in refused.output
    assert cli(target, "db", "restore", str(tmp_path / "missing-checksum")).exit_code != 0
    (tmp_path / "unchecked.backup").write_bytes(path.read_bytes())
    unchecked = cli(target, "db", "restore", str(tmp_path / "unchecked.backup"))
    assert unchecked.exit_code != 0 and "missing" in unchecked.output

    # nothing was restored by the refusals; now someone restores the good copy, edits who fired the release
    # and makes a new backup of it with our own tool: file and checksum agree, but the audit chain does not
    editor = target
    assert cli(editor, "db", "restore", str(path)).exit_code == 0
    with editor.extensions["benelert"].db.engine.begin() as connection:
        assert connection.execute(AuditEvent.__table__.update().where(AuditEvent.action == "release.fire")
                                  .values(actor="mallory")).rowcount == 1
    edited = tmp_path / "edited.backup"
    assert cli(editor, "db", "backup", str(edited)).exit_code == 0
    victim = fresh.app()
    restored = cli(victim, "db", "restore", str(edited))
    assert restored.exit_code == 1
    assert "TAMPERED: event" in restored.output and "do not use this copy" in restored.output
    verified = cli(victim, "audit", "verify")
    assert verified.exit_code == 1 and "was altered" in verified.output
