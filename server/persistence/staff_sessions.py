"""Staff browser sessions in the database (``staff_session``), by the SHA-256 of their id."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from server.persistence.raw import CursorSource, RawStatement
from server.persistence.tables import StaffSessionRow

_TABLE = StaffSessionRow.__table__
_C = _TABLE.c
_FIELDS = ("id_hash", "username", "credential", "created_at", "last_seen_at")
_GET = RawStatement(select(*(_C[name] for name in _FIELDS)).where(_C.id_hash == bindparam("k")))
"""Read on every staff request: compiled once."""


@dataclass(frozen=True)
class StoredSession:
    id_hash: str
    username: str
    credential: str
    created_at: datetime
    last_seen_at: datetime


def add(connection: Connection, stored: StoredSession) -> None:
    connection.execute(insert(_TABLE).values(id_hash=stored.id_hash, username=stored.username,
                                             credential=stored.credential, created_at=stored.created_at,
                                             last_seen_at=stored.last_seen_at))


def get(connection: CursorSource, id_hash: str) -> StoredSession | None:
    row = _GET.one(connection, {"k": id_hash})
    return None if row is None else StoredSession(*row)


def among(connection: Connection, id_hashes: Collection[str]) -> list[StoredSession]:
    """The stored sessions among ``id_hashes`` (those that were ended are simply not there)."""
    found: list[StoredSession] = []
    hashes = list(id_hashes)
    for start in range(0, len(hashes), 500):  # bounded IN lists
        rows = connection.execute(select(_TABLE).where(_C.id_hash.in_(hashes[start:start + 500])))
        found += [StoredSession(**row._mapping) for row in rows]
    return found


def every(connection: Connection) -> list[StoredSession]:
    return [StoredSession(**row._mapping) for row in connection.execute(select(_TABLE))]


def touch(connection: Connection, id_hash: str, now: datetime) -> None:
    connection.execute(update(_TABLE).where(_C.id_hash == id_hash).values(last_seen_at=now))


def remove(connection: Connection, id_hashes: Collection[str]) -> int:
    """Delete these sessions; how many there were."""
    removed = 0
    hashes = list(id_hashes)
    for start in range(0, len(hashes), 500):
        removed += connection.execute(delete(_TABLE).where(_C.id_hash.in_(hashes[start:start + 500]))).rowcount
    return removed


def remove_of(connection: Connection, username: str) -> list[str]:
    """Delete every session of ``username``; the id hashes they had."""
    hashes = list(connection.execute(select(_C.id_hash).where(_C.username == username)).scalars())
    remove(connection, hashes)
    return hashes
