"""The hall's services for one configuration, put together: ticket and counter commands, and reads.

:class:`HallService` is what the entry points hold (``app.extensions["hall"]``): ``tickets``
(:mod:`server.services.tickets`), ``counters`` (:mod:`server.services.counters`), ``queries``
(:mod:`server.services.queries`), ``days`` (the end of each service day: :mod:`server.services.service_day`)
``issuing`` (stopping and resuming issue by hand: :mod:`server.services.issuing`), ``staffing`` (the
staffing advice: :mod:`server.services.staffing`), ``roster`` (:mod:`server.services.roster`) and ``what_if``
(replays of closed days: :mod:`server.services.what_if`), sharing one
:class:`~server.services.context.HallContext`. It also prepares the database for the configuration at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from server.domain import policy
from server.domain.hall import Branch
from server.domain.tickets import TicketState
from server.persistence import counter_sessions, issue_origins, tickets
from server.persistence import idempotency as idempotency_records
from server.services.actor import Clock, utc_now
from server.services.audit import AuditLog
from server.services.context import EstimateSource, HallContext
from server.services.counters import CounterService
from server.services.hall_model import HallModel, model_of
from server.services.issuing import IssuingService
from server.services.queries import HallQueries
from server.services.remote import RemoteQueue
from server.services.reports import Reports
from server.services.roster import RosterService
from server.services.service_day import ServiceDays
from server.services.staffing import StaffingAdvice
from server.services.tickets import TicketService
from server.services.unit_of_work import UnitOfWork
from server.services.what_if import WhatIf
from server.settings import HallConfig


class HallService(HallContext):
    """Commands and queries for every branch of one configuration."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now,
                 estimates: EstimateSource | None = None, *, audit: AuditLog | None = None) -> None:
        super().__init__(model_of(config), uow, clock, estimates, audit=audit)  # type: ignore[arg-type]
        self.tickets = TicketService(self)
        self.counters = CounterService(self)
        self.queries = HallQueries(self)
        self.days = ServiceDays(self)
        self.issuing = IssuingService(self)
        self.staffing = StaffingAdvice(self)
        self.roster = RosterService(self)
        self.day_keeper = self.days
        self.reports = Reports(self)
        self.what_if = WhatIf(self)
        self.remote = RemoteQueue(self, self.tickets)

    def ensure_branches(self, branches: Iterable[Branch] | None = None) -> None:
        """Create the per-branch rows a command expects (sequence, counter sessions) and re-derive the waiting
        tickets' queue keys, since the configured head starts may have changed; idempotent. Every branch, or
        those given (new or changed ones)."""
        for branch in self.config.branches if branches is None else branches:
            with self.uow.command(branch, self.clock()) as tx:
                counter_sessions.ensure(tx.connection, branch.code, [c.number for c in branch.counters])
                changed = {}
                for ticket in tickets.in_states(tx.connection, branch.code, [TicketState.WAITING]):
                    key = policy.queue_key_us(ticket.queued(), self.rules)
                    if key != ticket.queue_key_us:
                        changed[ticket.id] = key
                tickets.set_queue_keys(tx.connection, changed)

    def end_due(self, branch_code: str) -> None:
        """What the live loop checks every second per branch: a service day that ended (free until it has)."""
        self.days.end_due(branch_code)

    def expire_holds(self, branch_codes: Sequence[str]) -> int:
        """What the live loop checks every second for all its branches at once: remote tickets held aside past
        their check-in time (expired)."""
        return self.remote.expire_all_due(branch_codes)

    def purge_old_records(self) -> int:
        """Forget the stored answers of retried commands older than ``queue.idempotency_ttl_hours``, and who took
        which ticket (for the limits on taking tickets) after two days; how many rows were removed."""
        now = self.clock()
        return (idempotency_records.purge(self.uow.engine, now - self.config.queue.idempotency_ttl)
                + issue_origins.purge(self.uow.engine, now, self.config.limits.issue.longest_window))
