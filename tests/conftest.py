"""Fixtures: every database test runs on SQLite and on the local PostgreSQL (which must be up)."""
from __future__ import annotations

import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text

from alerts import accounts
from app import create_app
from cli import upgrade_database
from devtools.demo import ensure_centres
from devtools.world import Api

PG_BASE = os.environ.get("BENELERT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"


def pg_url(schema: str) -> str:
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "benelert.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema():
    """A private schema in the `test` database, migrated once; tables are emptied between tests."""
    schema = f"bnl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE)
    with admin.begin() as connection:  # fails loudly when PostgreSQL is not running: no skipping
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    upgrade_database(pg_url(schema))
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _empty_pg(schema: str) -> None:
    engine = create_engine(pg_url(schema))
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"
        ), {"s": schema}).scalars().all()
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "benelert.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    schema = request.getfixturevalue("pg_schema")
    _empty_pg(schema)
    return pg_url(schema)


@pytest.fixture
def make_app(database_url):
    apps = []

    def make(**overrides):
        # the release options of the tests' deployment: the ledger is staged with them when a release is scheduled
        settings = {"env": "test", "database_url": database_url, "ratelimit_storage": "memory://",
                    "secret_key": "t" * 48, "sandbox_targets": {"sms": "+32470000099", "x": "SANDBOX"}, **overrides}
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["benelert"].db.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.extensions["benelert"].db.transaction() as session:
        ensure_centres(session)
    return app


@pytest.fixture
def db(app):
    return app.extensions["benelert"].db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(db):
    """make_user("BE", "communicator") -> (username, api token secret)."""
    counter = iter(range(1, 10_000))

    def make(centre: str, *roles: str, name: str | None = None) -> tuple[str, str]:
        username = name or f"{centre.lower()}-{'-'.join(roles)}-{next(counter)}"
        with db.transaction() as session:
            user = accounts.create_user(session, "test", username=username, display_name=username.title(),
                                        centre_code=centre, roles=list(roles), password=PASSWORD)
            _, secret = accounts.create_token(session, "test", user, "tests")
        return username, secret

    return make


@pytest.fixture
def api_as(client, make_user):
    """api_as("BE", "communicator") -> an Api client for a new user of that centre and role."""

    def make(centre: str, *roles: str) -> Api:
        _, token = make_user(centre, *roles)
        return Api(client, token)

    return make
