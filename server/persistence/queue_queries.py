"""The queue inside the database: call-next candidates and people-ahead counts as index range scans.

Every waiting ticket stores its counter-independent queue key (:func:`server.domain.policy.queue_key_us`).
A counter's call key adds a per-service offset and subtracts a favour for one priority class
(:class:`server.domain.policy.CounterOrder`), so, within one service and one favour group, the call order
*is* the order of ``ix_ticket_queue`` (branch, state, service, queue key, id, ...):

- call-next reads the head of each group (one indexed row each) and lets the policy choose among them;
- people ahead are counted over ranges of the same covering index, each from its nearer end (below the
  threshold, or the service's trigger-kept tally less what lies above it), never over the queue in Python.

The SQL text is built once per counter layout, rules and dialect, and sent straight to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from server.domain import policy
from server.domain.remote import awaiting_arrival
from server.domain.tickets import PriorityClass, TicketState
from server.persistence.raw import driver_datetime, driver_query, utc_datetime
from server.persistence.tables import AWAITING_ROWS

_WAITING = TicketState.WAITING.value
_STATEMENTS: dict[tuple[Any, ...], str] = {}
_COLUMNS = "id, service_code, priority, queued_at, target_counter, transferred, not_before, remote, arrived_at"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _call_key_sql(order: policy.CounterOrder, *, with_services: bool) -> str:
    """SQL for a row's call key at this counter, in microseconds (see :meth:`policy.CounterOrder.offset`)."""
    key = "queue_key_us"
    if with_services and any(order.service_offset.values()):
        whens = " ".join(f"WHEN {_quote(s)} THEN {policy.microseconds(o)}" for s, o in order.service_offset.items())
        key += f" + CASE service_code {whens} ELSE 0 END"
    if order.favoured is not None and order.favour:
        favoured = _quote(order.favoured.value)
        key += f" - CASE WHEN priority = {favoured} THEN {policy.microseconds(order.favour)} ELSE 0 END"
    return key


class _Named:
    """Named parameters in the driver's own style, collected as the SQL is written."""

    def __init__(self, paramstyle: str) -> None:
        self.paramstyle = paramstyle

    def __call__(self, name: str) -> str:
        return f"%({name})s" if self.paramstyle == "pyformat" else f":{name}"


@dataclass(frozen=True)
class _AheadPlan:
    """The SQL of one people-ahead count, its parameters and how to read its columns (see :func:`count_ahead`).

    Counters that share a service at the same threshold share its range count, so a count for 8 counters
    reads each service's range once. Every threshold is the ticket's queue key plus a fixed offset
    (``offsets``: parameter name -> microseconds); ``fixed`` are the counter numbers. ``counters[i]`` lists
    the range and window columns counter ``i`` adds up; its corrections for targeted tickets are the
    column after all ranges and windows.
    """

    sql: str
    offsets: list[tuple[str, int]]
    fixed: dict[str, str]
    ranges: int
    windows: int
    counters: list[tuple[list[int], list[int]]]


def _range_sql(param: _Named, k: int, service: str, waiting: str) -> str:
    """Tickets of ``service`` with ``(queue_key, id) < (r, me)``, counted from whichever end of the range is
    nearer: below the threshold, or the service's tally less the tickets at or above it. Which end is
    nearer is guessed from the service's first and last key (two index probes), as arrivals are spread
    over time; either way the answer is exact."""
    b, me, r = param("b"), param("me"), param(f"r{k}")
    in_service = f"{waiting} AND service_code = {_quote(service)}"
    tally = (f"COALESCE((SELECT waiting FROM queue_tally WHERE branch_code = {b}"
             f" AND service_code = {_quote(service)}), 0)")
    return (
        f"CASE WHEN (SELECT MAX(queue_key_us) {in_service}) - {r} < {r} - (SELECT MIN(queue_key_us) {in_service})"
        f" THEN {tally} - (SELECT COUNT(*) {in_service} AND queue_key_us > {r})"
        f" - (SELECT COUNT(*) {in_service} AND queue_key_us = {r} AND id >= {me})"
        f" ELSE (SELECT COUNT(*) {in_service} AND queue_key_us < {r})"
        f" + (SELECT COUNT(*) {in_service} AND queue_key_us = {r} AND id < {me}) END"
    )


def _corrections_sql(param: _Named, index: int, order: policy.CounterOrder, dialect: str, waiting: str) -> str:
    """Per counter: less the tickets sent to another counter, plus those sent here for a service the counter does
    not normally serve. Both are few, so they use the per-row call-key expression (on SQLite, told to walk the
    index of sent tickets: its planner would rather walk the service's whole queue); and when no waiting ticket
    was sent anywhere (the usual case) one probe of that index answers 0."""
    b, c, me, key, bound = (param(name) for name in ("b", f"c{index}", "me", f"key{index}", f"bound{index}"))
    sent = "ticket INDEXED BY ix_ticket_target" if dialect == "sqlite" else "ticket"

    def ahead(call_key: str) -> str:
        return f"({call_key} < {key} OR ({call_key} = {key} AND id < {me}))"

    parts = []
    services = ", ".join(_quote(s) for s in order.service_offset)
    counted = ""
    if services:
        counted = f" AND service_code NOT IN ({services})"
        parts.append(
            f"-(SELECT COUNT(*) FROM {sent} WHERE branch_code = {b} AND state = '{_WAITING}'"
            f" AND target_counter IS NOT NULL AND target_counter <> {c}"
            f" AND service_code IN ({services}) AND queue_key_us <= {bound}"
            f" AND {ahead(_call_key_sql(order, with_services=True))})"
        )
    parts.append(
        f"(SELECT COUNT(*) {waiting} AND target_counter = {c}{counted} AND queue_key_us <= {bound} AND id <> {me}"
        f" AND {ahead(_call_key_sql(order, with_services=False))})"
    )
    any_sent = (f"EXISTS (SELECT 1 FROM {sent} WHERE branch_code = {b} AND state = '{_WAITING}'"
                f" AND target_counter IS NOT NULL)")
    return f"CASE WHEN {any_sent} THEN " + " + ".join(parts).replace("+ -", "- ") + " ELSE 0 END"


def _ahead_plan(orders: list[policy.CounterOrder], me: policy.QueuedTicket, dialect: str,
                paramstyle: str) -> _AheadPlan:
    """People ahead at each counter, as index range counts.

    For service ``s`` with offset ``o`` a ticket is ahead iff ``(queue_key, id) < (X, me)`` with
    ``X = my call key - o``, or, in the favoured priority class, ``(queue_key, id) < (X + favour, me)``. So:
    a range count below ``X`` (no expression per entry) and for the favoured class the window
    ``[X, X + favour)``; then the corrections for tickets sent to a specific counter.
    """
    param = _Named(paramstyle)
    waiting = f"FROM ticket WHERE branch_code = {param('b')} AND state = '{_WAITING}'"
    ranges: dict[tuple[str, int], int] = {}
    windows: dict[tuple[str, int, PriorityClass, int], int] = {}
    counters = []
    offsets: list[tuple[str, int]] = []
    fixed: dict[str, str] = {}
    for i, order in enumerate(orders):
        mine = policy.microseconds(order.offset(me.service_code, me.priority))
        favour = policy.microseconds(order.favour)
        offsets += [(f"key{i}", mine), (f"bound{i}", mine + favour)]
        fixed[f"c{i}"] = order.counter
        used_ranges, used_windows = [], []
        for service, offset in order.service_offset.items():
            delta = mine - policy.microseconds(offset)
            used_ranges.append(ranges.setdefault((service, delta), len(ranges)))
            if order.favoured is not None and favour:
                used_windows.append(windows.setdefault((service, delta, order.favoured, favour), len(windows)))
        counters.append((used_ranges, used_windows))
    columns = []
    for (service, delta), k in ranges.items():
        columns.append(_range_sql(param, k, service, waiting))
        offsets.append((f"r{k}", delta))
    for (service, delta, favoured, favour), k in windows.items():
        w, wf, me_ = param(f"w{k}"), param(f"wf{k}"), param("me")
        columns.append(f"(SELECT COUNT(*) {waiting} AND service_code = {_quote(service)}"
                       f" AND priority = {_quote(favoured.value)}"
                       f" AND (queue_key_us, id) >= ({w}, {me_}) AND (queue_key_us, id) < ({wf}, {me_}))")
        offsets += [(f"w{k}", delta), (f"wf{k}", delta + favour)]
    columns += [_corrections_sql(param, i, order, dialect, waiting) for i, order in enumerate(orders)]
    return _AheadPlan("SELECT " + ", ".join(columns), offsets, fixed, len(ranges), len(windows), counters)


_PLANS: dict[tuple[Any, ...], _AheadPlan] = {}


def count_ahead(connection: Connection, branch_code: str, me: policy.QueuedTicket,
                counters: Sequence[policy.CounterSkills], rules: policy.PolicyRules) -> list[int]:
    """For each counter, the database's :func:`policy.count_ahead` (the tests hold the two equal)."""
    if not counters:
        return []
    dialect = connection.dialect
    cache_key = (dialect.name, dialect.paramstyle, tuple(counters), rules.preference_step, rules.role_head_start,
                 me.service_code, me.priority)
    plan = _PLANS.get(cache_key)
    if plan is None:
        orders = [policy.counter_order(c, rules) for c in counters]
        plan = _PLANS[cache_key] = _ahead_plan(orders, me, dialect.name, dialect.paramstyle)
    my_queue_key = policy.queue_key_us(me, rules)
    params: dict[str, Any] = {name: my_queue_key + offset for name, offset in plan.offsets}
    params.update(plan.fixed, b=branch_code, me=me.ticket_id)
    (row,) = driver_query(connection, plan.sql, params)
    corrections = plan.ranges + plan.windows
    return [sum(row[k] for k in used_ranges) + sum(row[plan.ranges + k] for k in used_windows)
            + row[corrections + i] for i, (used_ranges, used_windows) in enumerate(plan.counters)]


def _layout(order: policy.CounterOrder) -> tuple[Any, ...]:
    """What the SQL text depends on (the counter number and the thresholds are parameters)."""
    return tuple(order.service_offset.items()), order.favoured, order.favour


def next_candidates(connection: Connection, branch_code: str, counter: policy.CounterSkills,
                    rules: policy.PolicyRules, now: datetime) -> list[policy.QueuedTicket]:
    """The tickets one of which ``counter`` calls next at ``now``: the head of each group among the callable
    ones (:func:`policy.is_callable`: no not-before still to come, no remote ticket awaiting its customer's
    check-in), plus those sent to it.

    Within a service and a favour group the call order is the index order, so :func:`policy.choose_next`
    over these few picks the same ticket as over the whole queue. The few held tickets (appointments checked
    in early) are skipped by the head's scan; the index still serves it.
    """
    dialect = connection.dialect
    order = policy.counter_order(counter, rules)
    cache_key = ("next", dialect.name, dialect.paramstyle, _layout(order))
    sql = _STATEMENTS.get(cache_key)
    if sql is None:
        param = _Named(dialect.paramstyle)
        b, c = param("b"), param("c")
        callable_ = (f" AND (not_before IS NULL OR not_before <= {param('now')})"
                     f" AND NOT ({AWAITING_ROWS})")
        heads = []
        groups = [""]
        if order.favoured is not None:
            favoured = _quote(order.favoured.value)
            groups = [f" AND priority <> {favoured}", f" AND priority = {favoured}"]
        for service in counter.services:
            for group in groups:
                heads.append(
                    f"SELECT * FROM (SELECT {_COLUMNS} FROM ticket WHERE branch_code = {b} AND state = '{_WAITING}'"
                    f" AND service_code = {_quote(service)} AND (target_counter IS NULL OR target_counter = {c}){group}"
                    f"{callable_} ORDER BY queue_key_us, id LIMIT 1) AS head"
                )
        heads.append(f"SELECT {_COLUMNS} FROM ticket WHERE branch_code = {b} AND state = '{_WAITING}'"
                     f" AND target_counter = {c}{callable_}")
        sql = " UNION ALL ".join(heads)
        _STATEMENTS[cache_key] = sql
    rows = driver_query(connection, sql, {"b": branch_code, "c": counter.counter,
                                          "now": driver_datetime(connection, now)})
    found: dict[int, policy.QueuedTicket] = {}
    for row in rows:
        found[row[0]] = policy.QueuedTicket(row[0], row[1], PriorityClass(row[2]), utc_datetime(row[3]), row[4],
                                            bool(row[5]), utc_datetime(row[6]),
                                            awaiting_arrival=awaiting_arrival(bool(row[7]), row[8]))
    return list(found.values())


def held(connection: Connection, branch_code: str, now: datetime) -> list[policy.QueuedTicket]:
    """The branch's waiting tickets no counter may call at ``now`` (held until a later instant; a handful). The
    branch's waiting rows are read through the queue index; no index on ``not_before`` is needed for so few."""
    dialect = connection.dialect
    cache_key = ("held", dialect.name, dialect.paramstyle)
    sql = _STATEMENTS.get(cache_key)
    if sql is None:
        param = _Named(dialect.paramstyle)
        sql = _STATEMENTS[cache_key] = (f"SELECT {_COLUMNS} FROM ticket WHERE branch_code = {param('b')}"
                                        f" AND state = '{_WAITING}' AND not_before > {param('now')}")
    rows = driver_query(connection, sql, {"b": branch_code, "now": driver_datetime(connection, now)})
    return [policy.QueuedTicket(row[0], row[1], PriorityClass(row[2]), utc_datetime(row[3]), row[4], bool(row[5]),
                                utc_datetime(row[6])) for row in rows]


def count_eligible(connection: Connection, branch_code: str, counter: policy.CounterSkills) -> int:
    """How many waiting tickets ``counter`` may call (its services, or sent to it): its services' trigger-kept
    tallies, less their tickets sent to another counter, plus those sent here from other services. The sent
    tickets are few and have their own index, so the count does not grow with the queue (each call-next answers
    it; counting the services' queues was a scan of every waiting ticket in them)."""
    dialect = connection.dialect
    cache_key = ("eligible", dialect.name, dialect.paramstyle, counter.services)
    sql = _STATEMENTS.get(cache_key)
    if sql is None:
        param = _Named(dialect.paramstyle)
        b, c = param("b"), param("c")
        sent = "ticket INDEXED BY ix_ticket_target" if dialect.name == "sqlite" else "ticket"
        services = ", ".join(_quote(s) for s in counter.services)
        sent_here = (f"SELECT COUNT(*) FROM {sent} WHERE branch_code = {b} AND state = '{_WAITING}'"
                     f" AND target_counter = {c}")
        if not services:
            sql = f"SELECT ({sent_here})"
        else:
            tallies = (f"SELECT COALESCE(SUM(waiting), 0) FROM queue_tally WHERE branch_code = {b}"
                       f" AND service_code IN ({services})")
            sent_away = (f"SELECT COUNT(*) FROM {sent} WHERE branch_code = {b} AND state = '{_WAITING}'"
                         f" AND target_counter IS NOT NULL AND target_counter <> {c} AND service_code IN ({services})")
            sql = (f"SELECT ({tallies}) - ({sent_away})"
                   f" + ({sent_here} AND service_code NOT IN ({services}))")
        _STATEMENTS[cache_key] = sql
    ((count,),) = driver_query(connection, sql, {"b": branch_code, "c": counter.counter})
    return int(count)
