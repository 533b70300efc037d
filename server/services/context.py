"""What every hall service is given: the configuration, the unit of work, the clock, the live estimates and the
audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.domain import policy
from server.domain.estimation import WaitEstimate
from server.domain.hall import Branch, Counter
from server.domain.tickets import PriorityClass
from server.services.access import require_branch, require_counter
from server.services.actor import Clock, utc_now
from server.services.audit import AuditLog
from server.services.hall_model import HallModel, ReadsHallModel
from server.services.unit_of_work import UnitOfWork


class EstimateSource(Protocol):
    """The live side's latest wait estimates (see :class:`server.services.live.LiveHall`)."""

    def new_ticket_estimate(self, branch_code: str, service_code: str, priority: PriorityClass = ...,
                            people_ahead: int | None = ...) -> WaitEstimate | None: ...

    def ticket_live(self, branch_code: str, ticket_id: int) -> dict[str, Any] | None: ...


class DayKeeper(Protocol):
    """Ends the service days that are over (see :class:`server.services.service_day.ServiceDays`)."""

    def end_due(self, branch_code: str) -> Any: ...


@dataclass
class HallContext(ReadsHallModel):
    """Shared by the ticket, counter and query services of one hall model (``config`` is the one served now)."""

    model: HallModel
    uow: UnitOfWork
    clock: Clock = utc_now
    estimates: EstimateSource | None = None
    day_keeper: DayKeeper | None = None
    audit: AuditLog = field(default=None, kw_only=True)  # type: ignore[assignment]  # None: one of its own

    def __post_init__(self) -> None:
        if self.audit is None:
            self.audit = AuditLog(self.model, self.uow, self.clock)

    hall_changes: Callable[[], Any] | None = field(default=None, kw_only=True)  # HallStore.check: the newest model

    def serve_newest_model(self) -> None:
        """Before a screen is given a snapshot: a change another process made to the hall model is served, so that
        a screen redrawing on a ``hall_changed`` event never gets the model from before it."""
        if self.hall_changes is not None:
            self.hall_changes()

    def end_ended_days(self, branch: Branch) -> None:
        """Before a command that issues or calls a ticket: close the branch's ended days first (at once when none
        is due), so that a new day's first ticket never meets the old day's queue."""
        if self.day_keeper is not None:
            self.day_keeper.end_due(branch.code)

    @property
    def rules(self) -> policy.PolicyRules:
        return self.config.queue.policy

    def branch(self, code: str) -> Branch:
        """The branch, or 404 ``unknown_branch``. A branch this process does not know yet may have just been
        created through another process: the newest hall model is served before the branch is called unknown."""
        if isinstance(code, str) and self.config.branch(code) is None:
            self.serve_newest_model()
        return require_branch(self.config, code)

    def counter(self, branch: Branch, number: str) -> Counter:
        """The branch's counter, or 404 ``unknown_counter``."""
        return require_counter(branch, number)

