"""Stored first answers of retried commands (``Idempotency-Key``), kept in the command's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select
from sqlmodel import Session

from server.persistence.raw import RawStatement
from server.persistence.tables import IdempotencyRecord

_TABLE = IdempotencyRecord.__table__
_SELECT = RawStatement(select(_TABLE.c.fingerprint, _TABLE.c.response).where(_TABLE.c.key == bindparam("k")))
_INSERT = RawStatement(insert(_TABLE), [c.name for c in _TABLE.columns])


def find(connection: Connection, key: str) -> tuple[str, str] | None:
    """The request fingerprint and the JSON answer stored under ``key``, if any."""
    row = _SELECT.first(connection, {"k": key})
    return None if row is None else (str(row[0]), str(row[1]))


def store(connection: Connection, key: str, fingerprint: str, response: str, now: datetime) -> None:
    _INSERT.run(connection, {"key": key, "fingerprint": fingerprint, "status_code": 200, "response": response,
                             "created_at": now})


def purge(engine: Engine, before: datetime) -> int:
    """Forget answers stored before ``before``; how many were removed."""
    with Session(engine) as session, session.begin():
        result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
