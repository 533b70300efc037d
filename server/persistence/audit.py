"""The audit log in the database (``audit_entry``): append and search, nothing else (the table refuses changes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, or_, select

from server.domain.audit import AuditAction, AuditEntry
from server.persistence.raw import RawStatement
from server.persistence.tables import AuditEntryRow

_TABLE = AuditEntryRow.__table__
_C = _TABLE.c
_WRITTEN = ["at", "action", "username", "role", "branch_code", "target", "before", "after", "device", "address"]
_INSERT = RawStatement(insert(_TABLE).returning(_C.id), _WRITTEN)
"""Staff commands that are audited (a no-show, a takeover) append inside their own transaction: compiled once."""


def append(connection: Connection, entry: AuditEntry) -> int:
    row = _INSERT.first(connection, {
        "at": entry.at, "action": entry.action.value, "username": entry.username, "role": entry.role,
        "branch_code": entry.branch_code, "target": entry.target, "before": entry.before_json,
        "after": entry.after_json, "device": entry.device, "address": entry.address})
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to find. ``branches`` None: every branch (and the entries of no branch); otherwise only those
    branches' entries, and the branch-less entries (a sign-in, an account change) of ``people``. ``text`` is looked
    for in the target and the before and after values."""

    branches: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    actions: tuple[AuditAction, ...] = ()
    username: str | None = None
    text: str | None = None
    people: tuple[str, ...] = ()


def _where(found: AuditFilter) -> list:
    clauses = []
    if found.branches is not None:
        mine = _C.branch_code.in_(found.branches)
        clauses.append(or_(mine, and_(_C.branch_code.is_(None), _C.username.in_(found.people))) if found.people
                       else mine)
    if found.since is not None:
        clauses.append(_C.at >= found.since)
    if found.until is not None:
        clauses.append(_C.at < found.until)
    if found.actions:
        clauses.append(_C.action.in_([a.value for a in found.actions]))
    if found.username:
        clauses.append(_C.username == found.username)
    if found.text:
        pattern = "%" + found.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(or_(*(func.lower(column).like(pattern, escape="\\")
                             for column in (_C.target, _C.before, _C.after))))
    return clauses


def _entry(row: object) -> AuditEntry:
    values = dict(row._mapping)  # type: ignore[attr-defined]
    return AuditEntry(id=values["id"], at=values["at"], action=AuditAction(values["action"]),
                      username=values["username"], role=values["role"], branch_code=values["branch_code"],
                      target=values["target"], device=values["device"], address=values["address"],
                      before=json.loads(values["before"]) if values["before"] else None,
                      after=json.loads(values["after"]) if values["after"] else None)


def search(connection: Connection, found: AuditFilter, *, limit: int, before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first, at most ``limit``; ``before_id`` pages on (entries older than that one)."""
    clauses = _where(found)
    if before_id is not None:
        clauses.append(_C.id < before_id)
    query = select(_TABLE).where(and_(*clauses)).order_by(_C.id.desc()).limit(limit)
    return [_entry(row) for row in connection.execute(query)]


def count(connection: Connection, found: AuditFilter) -> int:
    return int(connection.execute(select(func.count()).select_from(_TABLE).where(and_(*_where(found)))).scalar_one())
