"""Every SQLite connection of the server is set up for a busy hall: WAL, durable commits, savepoint journals in
memory, a page cache larger than a day's tickets, and the writer reusing its warm connection."""

from __future__ import annotations

from pathlib import Path

from server.persistence.database import make_engine, make_readonly_engine, migrate


def test_connections_keep_journals_in_memory_and_a_large_page_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.sqlite3'}"
    migrate(url)
    # the writer waits for the lock in green naps (never in SQLite's busy handler, which holds up the event loop)
    for engine, busy_timeout_ms in ((make_engine(url), 0), (make_readonly_engine(url), 1000)):
        assert engine is not None
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA temp_store").scalar() == 2  # MEMORY
            assert pragma("PRAGMA cache_size").scalar() == -16384  # KiB
            assert pragma("PRAGMA busy_timeout").scalar() == busy_timeout_ms
    with make_engine(url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_the_writer_gets_back_the_connection_it_used_last(tmp_path: Path) -> None:
    """SQLite drops a connection's page cache when another connection wrote meanwhile; a pool that rotated
    through its connections would start every command with a cold cache."""
    url = f"sqlite:///{tmp_path / 'hall.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    first, second = engine.connect(), engine.connect()
    first_id, second_id = id(first.connection.dbapi_connection), id(second.connection.dbapi_connection)
    first.close()
    second.close()  # returned last
    for _ in range(3):
        with engine.connect() as connection:
            assert id(connection.connection.dbapi_connection) == second_id != first_id
