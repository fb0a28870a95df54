"""Alembic environment: the URL comes from the caller (cli.alembic_config) or BENELERT settings."""
from __future__ import annotations

from alembic import context

from alerts.models import UTCDateTime  # also registers the tables on Base.metadata
from db import Base, make_engine
from settings import load_settings

config = context.config
url = config.attributes.get("database_url") or load_settings().database_url


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _render_item(type_, obj, autogen_context):
    """Render our UTC TypeDecorator as a plain DateTime, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True, render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
