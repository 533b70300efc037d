"""Statements on the hot path, compiled once and run straight on the transaction's driver cursor.

Issuing a ticket runs about ten small statements. Through ``Connection.execute`` each costs some 40 µs of
SQLAlchemy bookkeeping (cache key, parameter objects, result wrappers) around a few µs of SQLite work,
which made the bookkeeping the largest cost of an issue. A :class:`RawStatement` is a Core statement
compiled once per dialect: SQL text, parameter order and bind processors (so that values are stored
exactly as the ORM stores them, e.g. SQLite datetimes as text). It runs in the same connection and
transaction as the rest of the command. :meth:`RawStatement.first` and :meth:`RawStatement.run` give the
driver's own values (for result columns that need no conversion: integers and text); :meth:`RawStatement.rows`
and :meth:`RawStatement.one` convert each column as Core would (its type's result processor, compiled once: SQLite's
datetime text back to datetimes, booleans, ``UTCDateTime``'s time zone), for the hot reads of whole rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, overload

from sqlalchemy import ColumnElement, Connection, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the order the driver wants them
    positional: bool
    processors: Mapping[str, Callable[[Any], Any]]
    results: tuple[Callable[[Any], Any] | None, ...]  # per result column: its type's result processor, if any


class CursorSource(Protocol):
    """What a RawStatement runs on: a Core :class:`~sqlalchemy.Connection` (inside a transaction), or a
    :class:`DriverConnection` (a pooled driver connection with no Core connection around it)."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def connection(self) -> Any: ...  # the driver's connection: ``cursor()``


@dataclass(frozen=True)
class DriverConnection:
    """A pool's driver connection with its dialect, for a single read that needs no Core connection (creating one
    costs more than the statement)."""

    dialect: Dialect
    connection: Any


class RawStatement:
    """A Core statement run on the driver cursor; ``column_keys`` names the columns an INSERT sets."""

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            result = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            if "POSTCOMPILE" in result.string:
                raise ValueError("a RawStatement cannot expand IN lists; write fixed values with constants()")
            processors = {}
            for name, bind in result.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            names = tuple(result.positiontup or ()) if dialect.positional else tuple(result.binds)
            columns = getattr(self.statement, "selected_columns", ())
            results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
            compiled = _Compiled(result.string, names, dialect.positional, processors, results)
            self._compiled[dialect.name] = compiled
        return compiled

    def execute(self, connection: CursorSource, params: Mapping[str, Any] | None = None) -> Any:
        """Run with ``params`` (by bind name); returns the driver cursor."""
        compiled = self._compile(connection.dialect)
        values = params or {}
        processors = compiled.processors
        converted = {name: (processors[name](values[name]) if name in processors else values[name])
                     for name in compiled.names}
        arguments: Any = tuple(converted[name] for name in compiled.names) if compiled.positional else converted
        cursor = connection.connection.cursor()
        cursor.execute(compiled.sql, arguments)
        return cursor

    def first(self, connection: CursorSource, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        cursor = self.execute(connection, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else tuple(row)

    def run(self, connection: CursorSource, params: Mapping[str, Any] | None = None) -> None:
        self.execute(connection, params).close()

    def rows(self, connection: CursorSource, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row of a SELECT, each column converted as Core converts it."""
        cursor = self.execute(connection, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        convert = self._compiled[connection.dialect.name].results
        if not any(convert):
            return [tuple(row) for row in fetched]
        return [tuple(value if f is None else f(value) for f, value in zip(convert, row, strict=True))
                for row in fetched]

    def one(self, connection: CursorSource, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a SELECT (None without one), converted as by :meth:`rows`."""
        found = self.rows(connection, params)
        return found[0] if found else None


def constants(values: Sequence[str]) -> list[ColumnElement[Any]]:
    """Fixed text values written into the SQL (e.g. ``kind IN ('issued', ...)``) rather than bound: a
    RawStatement binds only named parameters. For our own constants only, never for input."""
    return [literal_column("'" + value.replace("'", "''") + "'") for value in values]


def driver_query(connection: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Hand-written SQL (in the driver's parameter style) straight to the cursor; the driver's own values back."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


@overload
def utc_datetime(value: None) -> None: ...
@overload
def utc_datetime(value: str | datetime) -> datetime: ...
def utc_datetime(value: str | datetime | None) -> datetime | None:
    """A driver's timestamp (SQLite: text; PostgreSQL: naive datetime), stored as naive UTC, as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def driver_datetime(connection: Connection, value: datetime) -> str | datetime:
    """An aware instant as the driver stores a UTC column: SQLite's text (SQLAlchemy's format, so that text
    comparison orders it), PostgreSQL's naive UTC datetime."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.dialect.name == "sqlite" else naive
