"""The hall model's pieces in the database (``hall_item``) and its revision (``hall_revision``).

Each piece's body is kept as TOML text: it is a table of ``config.toml``, and TOML keeps its dates and times
(a holiday's date) as they were, where JSON would turn them into strings."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import datetime

import tomli_w
from sqlalchemy import Connection, insert, select, update

from server.domain.hall_document import HallItem, HallItemKind
from server.persistence.tables import HallItemRow, HallRevision

_ITEMS = HallItemRow.__table__
_I = _ITEMS.c
_REVISION = HallRevision.__table__
_R = _REVISION.c


def revision(connection: Connection) -> int | None:
    """The model's revision, or None when the database was never seeded."""
    return connection.execute(select(_R.revision).where(_R.id == 1)).scalar_one_or_none()


def lock_revision(connection: Connection) -> int | None:
    """The revision, with its row locked until the transaction ends (changes of the model go one at a time)."""
    query = select(_R.revision).where(_R.id == 1)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return connection.execute(query).scalar_one_or_none()


def seed(connection: Connection, items: Iterable[HallItem], now: datetime, source: str | None) -> None:
    connection.execute(insert(_REVISION).values(id=1, revision=1, seeded_at=now, seeded_from=source))
    add(connection, items, now, None)


def bump(connection: Connection) -> int:
    connection.execute(update(_REVISION).where(_R.id == 1).values(revision=_R.revision + 1))
    return int(connection.execute(select(_R.revision).where(_R.id == 1)).scalar_one())


def _row(item: HallItem, now: datetime, by: str | None) -> dict[str, object]:
    return {"kind": item.kind.value, "branch_code": item.branch_code, "code": item.code, "position": item.position,
            "body": tomli_w.dumps(dict(item.body)), "version": item.version,
            "retired": item.retired, "updated_at": now, "updated_by": by}


def add(connection: Connection, items: Iterable[HallItem], now: datetime, by: str | None) -> None:
    rows = [_row(item, now, by) for item in items]
    if rows:
        connection.execute(insert(_ITEMS), rows)


def replace(connection: Connection, item: HallItem, now: datetime, by: str | None) -> None:
    """Write ``item`` over the stored piece of the same kind, branch and code (its version as given)."""
    values = _row(item, now, by)
    connection.execute(update(_ITEMS).where(_I.kind == item.kind.value, _I.branch_code == item.branch_code,
                                            _I.code == item.code).values(**values))


def every(connection: Connection) -> list[HallItem]:
    rows = connection.execute(select(_ITEMS).order_by(_I.kind, _I.branch_code, _I.position, _I.id))
    return [HallItem(kind=HallItemKind(row.kind), branch_code=row.branch_code, code=row.code,
                     position=row.position, body=tomllib.loads(row.body), version=row.version,
                     retired=bool(row.retired)) for row in rows]
