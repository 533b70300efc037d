"""API tokens in the database (``api_token``), as the domain's :class:`ApiToken`, found by the SHA-256 of the token."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from server.domain.api_tokens import ApiToken, Scope
from server.persistence.tables import ApiTokenRow

_TABLE = ApiTokenRow.__table__
_C = _TABLE.c


def _token(row: object) -> ApiToken:
    values = row._mapping  # type: ignore[attr-defined]
    branches = values["branches"]
    return ApiToken(id=values["id"], name=values["name"], shown=values["shown"], scope=Scope(values["scope"]),
                    branches=None if branches is None else frozenset(json.loads(branches)),
                    created_at=values["created_at"], created_by=values["created_by"], expires_at=values["expires_at"],
                    revoked_at=values["revoked_at"], revoked_by=values["revoked_by"],
                    last_used_at=values["last_used_at"])


def add(connection: Connection, token: ApiToken, secret_hash: str) -> ApiToken:
    branches = None if token.branches is None else json.dumps(sorted(token.branches))
    result = connection.execute(insert(_TABLE).values(
        name=token.name, shown=token.shown, secret_hash=secret_hash, scope=token.scope.value, branches=branches,
        created_at=token.created_at, created_by=token.created_by, expires_at=token.expires_at))
    token.id = result.inserted_primary_key[0]  # type: ignore[index]
    return token


def by_hash(connection: Connection, secret_hash: str) -> ApiToken | None:
    row = connection.execute(select(_TABLE).where(_C.secret_hash == secret_hash)).first()
    return None if row is None else _token(row)


def get(connection: Connection, token_id: int) -> ApiToken | None:
    row = connection.execute(select(_TABLE).where(_C.id == token_id)).first()
    return None if row is None else _token(row)


def every(connection: Connection) -> list[ApiToken]:
    """Every token, newest first (a hall has a handful; the branch filter is the domain's)."""
    return [_token(row) for row in connection.execute(select(_TABLE).order_by(_C.id.desc()))]


def revoke(connection: Connection, token: ApiToken) -> None:
    connection.execute(update(_TABLE).where(_C.id == token.id).values(revoked_at=token.revoked_at,
                                                                      revoked_by=token.revoked_by))


def touch(connection: Connection, token_id: int, now: datetime, stale_before: datetime) -> None:
    """Note a use, unless another request (or process) noted one since ``stale_before``."""
    connection.execute(update(_TABLE).where(_C.id == token_id).where(
        (_C.last_used_at.is_(None)) | (_C.last_used_at < stale_before)).values(last_used_at=now))
