"""Database plumbing: declarative base, engine and session factory per app (no module singletons)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

T = TypeVar("T")
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _configure_sqlite(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, and every transaction BEGIN IMMEDIATE.

    pysqlite's own transaction handling starts transactions lazily, so two writers that both read
    first would collide with SQLITE_BUSY instead of waiting; taking the write lock at BEGIN makes
    them queue (busy_timeout) and keeps read-modify-write operations serial.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # a snapshot (Database.snapshot) only reads: in WAL mode it sees one moment and holds up no writer
        deferred = connection.get_execution_options().get("benelert_snapshot")
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    reader: Engine | None = None  # PostgreSQL only: see read()

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = make_engine(url)
        reader = None
        if engine.dialect.name == "postgresql":
            reader = make_engine(url, pool_pre_ping=False, pool_size=5, isolation_level="AUTOCOMMIT")
        return cls(engine, sessionmaker(engine, expire_on_commit=False), reader)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One operation, one transaction: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session whose statements all see one moment, without holding up writers: REPEATABLE
        READ on PostgreSQL, a deferred transaction on SQLite. For long reads that must be consistent (the
        audit chain against its head) while people keep working."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                connection = connection.execution_options(benelert_snapshot=True)
            with Session(bind=connection) as session, session.begin():
                yield session

    def read(self, operation: Callable[[Connection], T]) -> T:
        """Run a read-only `operation` on a connection of its own.

        On PostgreSQL it uses the reader engine: autocommit (a single statement sees one snapshot, and
        BEGIN/ROLLBACK would cost two round trips) and no pre-ping round trip; instead, a connection the
        server has dropped is noticed when the read fails, and the read runs once more on a new one.
        """
        if self.reader is None:
            with self.engine.connect() as connection:
                return operation(connection)
        try:
            with self.reader.connect() as connection:
                return operation(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self.reader.connect() as connection:
            return operation(connection)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not None:
            self.reader.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
