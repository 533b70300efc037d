"""Roster entries in the database (``roster_shift``), as the domain's :class:`Shift`, per branch and local day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, delete, insert, select, update

from server.domain.roster import EntryKind, Shift
from server.persistence.tables import RosterShiftRow

_TABLE = RosterShiftRow.__table__
_C = _TABLE.c


def _shift(row: object) -> Shift:
    values = row._mapping  # type: ignore[attr-defined]
    services = values["services"]
    return Shift(username=values["username"], start=values["start_min"], end=values["end_min"],
                 kind=EntryKind(values["kind"]), counter=values["counter"],
                 services=tuple(services.split(",")) if services else (), id=values["id"])


def _values(shift: Shift) -> dict[str, object]:
    return {"username": shift.username, "kind": shift.kind.value, "counter": shift.counter,
            "services": ",".join(shift.services), "start_min": shift.start, "end_min": shift.end}


def on_days(connection: Connection, branch_code: str, days: Iterable[date]) -> dict[date, list[Shift]]:
    """The entries of ``days`` (each day present, perhaps empty), by start then counter."""
    wanted = sorted(set(days))
    found: dict[date, list[Shift]] = {day: [] for day in wanted}
    rows = connection.execute(select(_TABLE).where(_C.branch_code == branch_code, _C.day.in_(wanted))
                              .order_by(_C.day, _C.start_min, _C.counter, _C.id))
    for row in rows:
        found[row._mapping["day"]].append(_shift(row))
    return found


def on_day(connection: Connection, branch_code: str, day: date) -> list[Shift]:
    return on_days(connection, branch_code, [day])[day]


def find(connection: Connection, branch_code: str, shift_id: int) -> tuple[date, Shift] | None:
    row = connection.execute(select(_TABLE).where(_C.branch_code == branch_code, _C.id == shift_id)).first()
    return None if row is None else (row._mapping["day"], _shift(row))


def add(connection: Connection, branch_code: str, day: date, shift: Shift) -> int:
    result = connection.execute(insert(_TABLE).values(branch_code=branch_code, day=day, **_values(shift)))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def replace(connection: Connection, shift: Shift) -> None:
    connection.execute(update(_TABLE).where(_C.id == shift.id).values(**_values(shift)))


def remove(connection: Connection, shift_id: int) -> None:
    connection.execute(delete(_TABLE).where(_C.id == shift_id))


def clear(connection: Connection, branch_code: str, day: date) -> int:
    """Remove a day's entries; how many there were."""
    result = connection.execute(delete(_TABLE).where(_C.branch_code == branch_code, _C.day == day))
    return int(result.rowcount or 0)
