"""Counting people ahead of a ticket inside the database, from the policy's thresholds.

The policy (:func:`server.domain.policy.ahead_groups`) turns "called before me at this counter" into
one latest queue time per kind of ticket (service, priority class, transferred). The statement below
picks each waiting ticket's threshold with a CASE and counts in the database, so issuing a ticket
costs about the same whether 20 or 3,000 people wait. The SQL text is built once per set of counters
and dialect and sent straight to the driver; only the thresholds change between calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from server.domain import policy
from server.domain.tickets import PriorityClass, TicketState
from server.persistence.tables import UTCDateTime

_STATEMENTS: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], str] = {}
_TIME_BINDERS: dict[str, Callable[[Any], Any]] = {}
_OFFSETS: dict[tuple[Any, ...], list[timedelta]] = {}


def _count_one(mark: str, true: str, false: str, counter: policy.CounterSkills) -> str:
    whens: list[str] = []
    for service in [*counter.services, None]:
        service_test = f"service_code = '{service}'" if service is not None else "target_counter IS NOT NULL"
        for priority in PriorityClass:
            for transferred in (False, True):
                whens.append(f"WHEN {service_test} AND priority = '{priority.value}' AND transferred = "
                             f"{true if transferred else false} THEN {mark}")
    services = ", ".join(f"'{s}'" for s in counter.services)
    return (
        "(SELECT COUNT(*) FROM (SELECT id, queued_at, CASE " + " ".join(whens) + " END AS latest FROM ticket"
        f" WHERE branch_code = {mark} AND state = '{TicketState.WAITING.value}' AND id <> {mark}"
        f" AND ((service_code IN ({services}) AND (target_counter IS NULL OR target_counter = {mark}))"
        f" OR (service_code NOT IN ({services}) AND target_counter = {mark}))) AS eligible"
        f" WHERE queued_at < latest OR (queued_at = latest AND id < {mark}))"
    )


def _statement(dialect: str, paramstyle: str, counters: Sequence[policy.CounterSkills]) -> str:
    key = (dialect, tuple((c.counter, c.services) for c in counters))
    sql = _STATEMENTS.get(key)
    if sql is None:
        mark = "?" if paramstyle == "qmark" else "%s"
        true, false = ("1", "0") if dialect == "sqlite" else ("true", "false")
        sql = "SELECT " + ", ".join(_count_one(mark, true, false, c) for c in counters)
        _STATEMENTS[key] = sql
    return sql


def _time_binder(connection: Connection) -> Callable[[Any], Any]:
    dialect = connection.dialect
    binder = _TIME_BINDERS.get(dialect.name)
    if binder is None:
        binder = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
        _TIME_BINDERS[dialect.name] = binder
    return binder


def _offsets(me: policy.QueuedTicket, counter: policy.CounterSkills, rules: policy.PolicyRules) -> list[timedelta]:
    key = (id(rules), counter, me.service_code, me.priority, me.transferred, me.target_counter)
    offsets = _OFFSETS.get(key)
    if offsets is None:
        offsets = [group.offset for group in policy.ahead_groups(me, counter, rules)]
        _OFFSETS[key] = offsets
    return offsets


def count_ahead(connection: Connection, branch_code: str, me: policy.QueuedTicket,
                counters: Sequence[policy.CounterSkills], rules: policy.PolicyRules) -> list[int]:
    """For each counter, the database's :func:`policy.count_ahead` (the tests hold the two equal)."""
    if not counters:
        return []
    dialect = connection.dialect
    sql = _statement(dialect.name, dialect.paramstyle, counters)
    bind_time = _time_binder(connection)
    params: list[Any] = []
    for counter in counters:
        params += [bind_time(me.queued_at + offset) for offset in _offsets(me, counter, rules)]
        params += [branch_code, me.ticket_id, counter.counter, counter.counter, me.ticket_id]
    row = connection.exec_driver_sql(sql, tuple(params)).one()
    return [int(value) for value in row]
