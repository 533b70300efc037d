"""Engine creation and schema migration.

SQLite runs in WAL mode with ``synchronous=FULL`` (each commit is fsynced: an acknowledged ticket
survives a crash) and every write transaction starts with ``BEGIN IMMEDIATE`` so that commands are
serialised without deadlocks. On PostgreSQL commands serialise per branch by locking the branch's
``branch_sequence`` row (see :mod:`server.services.unit_of_work`).

When another process holds SQLite's write lock, a command waits for it at most :data:`WRITE_LOCK_WAIT_S`, in
short green naps (SQLite's own busy handler would sleep in C and hold up every request and socket of the
process), and then fails with the lock named (:func:`failure_kind` ``busy``). Reads go on meanwhile (WAL).

Each SQLite connection keeps its savepoint journals in memory and a 16 MiB page cache, and the pools hand
out the connection used last (SQLite drops a connection's cache whenever another one wrote, so a rotating
pool would start most commands cold).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from server.offload import offload_cpu

WRITE_LOCK_WAIT_S = 1.0
"""How long a command waits for SQLite's write lock held by another process before it is refused (503)."""
POSTGRES_LOCK_WAIT_S = 2.0
"""On PostgreSQL, commands of one branch queue on its row lock (each holds it for milliseconds); a wait this long means
another client holds it: the command is refused (503 ``database_busy``) rather than left hanging."""
READ_BUSY_TIMEOUT_MS = 1000
"""SQLite's busy timeout for reads. In WAL mode a read waits only while a connection recovers the log after a
crash; a hold-up that long stalls the event loop, so it is kept short too."""
_LOCK_NAP_S = 0.01
_WAL = "PRAGMA journal_mode=WAL"

_CONNECTION_PRAGMAS = [
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


FailureKind = Literal["busy", "corrupt", "unavailable"]


def _driver_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite alone needs none
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


DATABASE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, *_driver_errors())
"""What a failing database raises: SQLAlchemy's wrapped errors, and the drivers' own from the statements run on the
raw connection (:mod:`server.persistence.raw`)."""


def failure_kind(exc: BaseException) -> FailureKind | None:
    """What a database failure means for the hall: ``busy`` (another process holds the lock: try again soon),
    ``corrupt`` (the file is damaged or not a database), ``unavailable`` (cannot be opened, read or written: disk,
    permissions, the PostgreSQL server gone); None for anything else (a bug, which stays a 500)."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(error, sqlite3.Error):
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        text = str(error).lower()
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "is locked" in text:
            return "busy"
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
            return "corrupt"
        if code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
                    sqlite3.SQLITE_PERM):
            return "unavailable"
        return None
    sqlstate = getattr(error, "sqlstate", None) or ""
    if sqlstate in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return "busy"
    if sqlstate.startswith(("08", "57P")) or (isinstance(exc, OperationalError) and not sqlstate):
        return "unavailable"  # connection lost, server shutting down
    return None


def failure_reason(exc: BaseException) -> str:
    """The driver's own first line about a failure, without SQLAlchemy's statement dump."""
    error = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:200]


def _begin_waiting(connection: Any, begin: str) -> None:
    """``begin`` (``BEGIN IMMEDIATE``), retried in short naps while another connection holds the write lock, for
    at most :data:`WRITE_LOCK_WAIT_S`. The naps are green under eventlet (``time.sleep`` is patched), so the rest of
    the process carries on; SQLite's busy handler would have slept in C, holding up every request."""
    deadline = time.monotonic() + WRITE_LOCK_WAIT_S
    while True:
        try:
            connection.exec_driver_sql(begin)
            return
        except OperationalError as exc:
            if failure_kind(exc) != "busy" or time.monotonic() >= deadline:
                raise
        time.sleep(_LOCK_NAP_S)


def _sqlite_engine(url: str, *, begin: str, pragmas: list[str], busy_timeout_ms: int) -> Engine:
    """A pooled SQLite engine that runs ``pragmas`` on each new connection and opens transactions with ``begin``
    (a write transaction waits for the lock in :func:`_begin_waiting`)."""
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                           pool_size=20, max_overflow=20, pool_use_lifo=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in [f"PRAGMA busy_timeout={busy_timeout_ms}", *pragmas, *_CONNECTION_PRAGMAS]:
            if pragma == _WAL and cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                continue  # already so (it stays so in the file); setting it again would wait for the write lock
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if begin == "BEGIN":
            connection.exec_driver_sql(begin)
        else:
            _begin_waiting(connection, begin)

    return _direct_savepoints(engine)


def make_engine(url: str, *, sqlite_synchronous: str = "full") -> Engine:
    """The engine for commands: on SQLite, WAL, fsync per commit and one writer at a time."""
    if not url.startswith("sqlite"):
        # a command waits for another's lock on its branch's row at most this long, then answers 503 database_busy
        # (a client holding the row would otherwise hold up every command of the branch indefinitely)
        options = f"-c lock_timeout={int(POSTGRES_LOCK_WAIT_S * 1000)}"
        return _direct_savepoints(create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                                connect_args={"options": options}))
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # no busy timeout: the only wait is for the write lock, in _begin_waiting (once it is held, WAL needs no other)
    return _commit_off_the_event_loop(_sqlite_engine(url, begin="BEGIN IMMEDIATE", pragmas=[
        _WAL, f"PRAGMA synchronous={sqlite_synchronous.upper()}", "PRAGMA foreign_keys=ON"],
        busy_timeout_ms=0))


def make_readonly_engine(url: str) -> Engine | None:
    """On SQLite, a second engine whose transactions are plain deferred reads (no write lock)."""
    if not url.startswith("sqlite"):
        return None
    return _sqlite_engine(url, begin="BEGIN", pragmas=[], busy_timeout_ms=READ_BUSY_TIMEOUT_MS)


class DatabaseFileError(Exception):
    """The database cannot be used at all; the message names the file (or server) and what is wrong."""


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for PostgreSQL and in-memory databases."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


def database_label(url: str) -> str:
    """The database as an operator knows it: the SQLite file, or the server URL without its password."""
    path = sqlite_path(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def check_database_file(url: str) -> None:
    """Before start-up: a SQLite file that is damaged or is not a database is refused with one sentence naming it
    (:class:`DatabaseFileError`), instead of a traceback from the first query that touches the damage.

    ``PRAGMA quick_check`` reads every page once (a year of a busy hall, about 100 MB, in well under a second).
    """
    path = sqlite_path(url)
    if path is None or not path.exists():
        return
    try:
        connection = sqlite3.connect(path, timeout=READ_BUSY_TIMEOUT_MS / 1000)
        try:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check(3)")]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        if failure_kind(exc) == "busy":
            return  # in use by another process: the start-up's own commands will say so
        raise DatabaseFileError(f"{path}: {_unusable(exc)} ({failure_reason(exc)})") from None
    if problems != ["ok"]:
        found = " ".join(" ".join(problems).split())[:200]  # one line: quick_check reports a line per bad page
        raise DatabaseFileError(f"{path}: the database file is damaged ({found}); restore a backup, or move the "
                                "file away to start with an empty database") from None


def _unusable(exc: sqlite3.Error) -> str:
    if failure_kind(exc) == "corrupt":
        return ("the file is damaged or is not a SQLite database; restore a backup, or move the file away to start "
                "with an empty database")
    return "the database file cannot be opened or read"


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema up to the newest migration (keeps existing data)."""
    command.upgrade(alembic_config(url), "head")
