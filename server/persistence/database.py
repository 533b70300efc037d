"""Engine creation and schema migration.

SQLite runs in WAL mode with ``synchronous=FULL`` (each commit is fsynced: an acknowledged ticket
survives a crash) and every write transaction starts with ``BEGIN IMMEDIATE`` so that commands are
serialised without deadlocks. On PostgreSQL commands serialise per branch by locking the branch's
``branch_sequence`` row (see :mod:`server.services.unit_of_work`).

Each SQLite connection keeps its savepoint journals in memory and a 16 MiB page cache, and the pools hand
out the connection used last (SQLite drops a connection's cache whenever another one wrote, so a rotating
pool would start most commands cold).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event

from server.offload import offload_cpu

_CONNECTION_PRAGMAS = [
    "PRAGMA busy_timeout=30000",
    # savepoint journals in memory: every command runs in a savepoint, and on disk its journal cost ~25
    # pwrite calls per ticket on the event loop
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16384",  # 16 MiB of pages per connection (the default, 2 MiB, is less than a busy day)
]
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _direct_savepoints(engine: Engine) -> Engine:
    """Send SAVEPOINT / RELEASE / ROLLBACK TO straight to the driver.

    Every command runs in a savepoint (see :mod:`server.services.unit_of_work`), and SQLAlchemy compiles
    a new savepoint statement each time (they are not cached): that was an eighth of the cost of issuing
    a ticket. Session and connection events still fire; only the statement's round through the compiler
    is skipped. Savepoint names are SQLAlchemy's own (``sa_savepoint_N``).
    """

    def run(connection: Any, sql: str) -> None:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    dialect: Any = engine.dialect
    dialect.do_savepoint = lambda connection, name: run(connection, f"SAVEPOINT {name}")
    dialect.do_release_savepoint = lambda connection, name: run(connection, f"RELEASE SAVEPOINT {name}")
    dialect.do_rollback_to_savepoint = lambda connection, name: run(connection, f"ROLLBACK TO SAVEPOINT {name}")
    return engine


def _commit_off_the_event_loop(engine: Engine) -> Engine:
    """Under eventlet, run SQLite's COMMIT (the fsync of a durable commit) in a native thread.

    The fsync holds no interpreter lock, so meanwhile the event loop reads and parses the next requests,
    which then join the next group commit. Usually well under a millisecond, an fsync sometimes takes
    several, and on the event loop that stalled every connection of the process.
    """
    dialect: Any = engine.dialect

    def do_commit(dbapi_connection: Any) -> None:
        offload_cpu(dbapi_connection.commit)

    dialect.do_commit = do_commit
    return engine


def _sqlite_engine(url: str, *, begin: str, pragmas: list[str]) -> Engine:
    """A pooled SQLite engine that runs ``pragmas`` on each new connection and opens transactions with ``begin``."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20,
                           max_overflow=20, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in [*pragmas, *_CONNECTION_PRAGMAS]:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return _direct_savepoints(engine)


def make_engine(url: str, *, sqlite_synchronous: str = "full") -> Engine:
    """The engine for commands: on SQLite, WAL, fsync per commit and one writer at a time."""
    if not url.startswith("sqlite"):
        return _direct_savepoints(create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True))
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return _commit_off_the_event_loop(_sqlite_engine(url, begin="BEGIN IMMEDIATE", pragmas=[
        "PRAGMA journal_mode=WAL", f"PRAGMA synchronous={sqlite_synchronous.upper()}", "PRAGMA foreign_keys=ON"]))


def make_readonly_engine(url: str) -> Engine | None:
    """On SQLite, a second engine whose transactions are plain deferred reads (no write lock)."""
    if not url.startswith("sqlite"):
        return None
    return _sqlite_engine(url, begin="BEGIN", pragmas=[])


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema up to the newest migration (keeps existing data)."""
    command.upgrade(alembic_config(url), "head")
