"""Migrations apply on SQLite and PostgreSQL and match the models exactly (no drift)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db import Base


def test_migrated_schema_matches_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        assert differences == []
        tables = set(inspect(connection).get_table_names())
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables
