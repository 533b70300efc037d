"""Stopping and resuming the issue of tickets by hand (see :mod:`server.domain.issuing`).

Each stop and resume is a command like any other: one transaction, an event (``issue_stopped`` /
``issue_resumed``) that every screen of the branch hears and answers by fetching a fresh snapshot. Issue
checks the branch's stops inside its own transaction, so a ticket is never issued after a stop committed. Both
are written to the audit log in the same transaction: what the stop covers, from when, until when and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from server.domain.api_tokens import Scope
from server.domain.audit import AuditAction, target_of
from server.domain.hall import Branch, Text
from server.domain.issuing import IssueStop, StopChange
from server.domain.service_day import DayBoundary
from server.domain.tickets import EventKind
from server.persistence import issue_stops
from server.services.access import require_manager, require_service, require_staff
from server.services.actor import Actor
from server.services.context import HallContext
from server.services.unit_of_work import Transaction

Until = Literal["day_end", "resumed"] | datetime


class IssuingService:
    """Stops and resumes issue for every branch of one configuration."""

    def __init__(self, hall: HallContext) -> None:
        self.hall = hall

    def stop(self, branch_code: str, actor: Actor, *, service: str | None = None, starts_at: datetime | None = None,
             until: Until = "day_end", reason: str, text: Text | None = None) -> dict[str, Any]:
        """Stop issuing for ``service`` (None: the whole branch) from ``starts_at`` (None: now) until the end of
        that service day, until resumed, or until an instant."""
        hall = self.hall
        branch = hall.branch(branch_code)
        self._require_may_stop(actor, branch)
        if service is not None:
            require_service(branch, service)
        with hall.uow.command(branch, hall.clock()) as tx:
            starts = starts_at if starts_at is not None and starts_at.tzinfo is not None and starts_at > tx.now \
                else tx.now
            if until == "day_end":
                ends_at: datetime | None = DayBoundary.at(branch, starts, hall.config.queue.day_end_grace
                                                          ).current_ends_at
            elif until == "resumed":
                ends_at = None
            else:
                ends_at = until
            stop = IssueStop.create(branch_code=branch.code, service_code=service, now=tx.now, starts_at=starts_at,
                                    ends_at=ends_at, reason_code=reason, text=text, by=actor.username)
            issue_stops.add(tx.connection, stop)
            self._record(tx, StopChange("issue_stopped", stop), actor)
            hall.audit.record_in(tx.connection, actor, AuditAction.ISSUE_STOPPED, branch=branch.code,
                                 target=_scope(stop), before=None, after=_audited(stop))
            return stop.view()

    def resume(self, branch_code: str, stop_id: int, actor: Actor) -> dict[str, Any]:
        """End a stop now (or cancel one still to come)."""
        hall = self.hall
        branch = hall.branch(branch_code)
        self._require_may_stop(actor, branch)
        with hall.uow.command(branch, hall.clock()) as tx:
            stop = issue_stops.get(tx.connection, branch.code, stop_id)
            before = _audited(stop)
            change = stop.resume(tx.now, actor.username)
            issue_stops.save(tx.connection, stop)
            self._record(tx, change, actor)
            hall.audit.record_in(tx.connection, actor, AuditAction.ISSUE_RESUMED, branch=branch.code,
                                 target=_scope(stop), before=before, after=_audited(stop))
            return stop.view()

    def current(self, branch_code: str) -> list[dict[str, Any]]:
        """The stops in force or still to come."""
        hall = self.hall
        branch = hall.branch(branch_code)
        with hall.uow.read() as session:
            return [stop.view() for stop in issue_stops.current(session.connection(), branch.code, hall.clock())]

    def _require_may_stop(self, actor: Actor, branch: Branch) -> None:
        """A manager of the branch; staff of the branch too where ``queue.staff_may_stop_issuing``."""
        if self.hall.config.queue.staff_may_stop_issuing:
            require_staff(self.hall.config, actor, branch, token_scope=Scope.ACT)
        else:
            require_manager(self.hall.config, actor, branch, token_scope=Scope.ACT)

    @staticmethod
    def _record(tx: Transaction, change: StopChange, actor: Actor) -> None:
        view = change.stop.view()
        tx.emit(EventKind(change.kind), staff=actor.username, device=actor.device, reason=change.stop.reason_code,
                data=view, public={"stop": view, "resync": True})


def _scope(stop: IssueStop) -> str:
    """What a stop covers, as the audit log names it: a service, or the whole branch."""
    if stop.service_code is None:
        return target_of("branch", stop.branch_code)
    return target_of("service", stop.service_code)


def _audited(stop: IssueStop) -> dict[str, Any]:
    """A stop's fields for the audit log: a resumed stop ends when it was resumed."""
    view = stop.view()
    ends_at = stop.resumed_at if stop.resumed_at is not None else stop.ends_at
    return {"stop": view["id"], "starts_at": view["starts_at"],
            "ends_at": None if ends_at is None else ends_at.astimezone(UTC).isoformat(),
            "reason": view["reason"]}
