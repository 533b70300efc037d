"""What every hall service is given: the configuration, the unit of work, the clock and the live estimates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from server.domain import policy
from server.domain.errors import NotAllowed, NotFound, Unauthenticated
from server.domain.estimation import WaitEstimate
from server.domain.hall import Branch, Counter
from server.domain.tickets import PriorityClass
from server.services.actor import Actor, Clock, utc_now
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig


class EstimateSource(Protocol):
    """The live side's latest wait estimates (see :class:`server.services.live.LiveHall`)."""

    def new_ticket_estimate(self, branch_code: str, service_code: str,
                            priority: PriorityClass = ...) -> WaitEstimate | None: ...

    def ticket_live(self, branch_code: str, ticket_id: int) -> dict[str, Any] | None: ...


@dataclass
class HallContext:
    """Shared by the ticket, counter and query services of one configuration."""

    config: HallConfig
    uow: UnitOfWork
    clock: Clock = utc_now
    estimates: EstimateSource | None = None

    @property
    def rules(self) -> policy.PolicyRules:
        return self.config.queue.policy

    def branch(self, code: str) -> Branch:
        branch = self.config.branch(code)
        if branch is None:
            raise NotFound(f"no branch {code!r}", code="unknown_branch")
        return branch

    def counter(self, branch: Branch, number: str) -> Counter:
        counter = branch.counter(number)
        if counter is None:
            raise NotFound(f"branch {branch.code} has no counter {number!r}", code="unknown_counter")
        return counter


def require_staff(config: HallConfig, actor: Actor, branch: Branch) -> None:
    """A signed-in staff member or manager who works at this branch (every service's staff commands)."""
    if actor.username is None or actor.role not in ("staff", "manager"):
        raise Unauthenticated("sign in as staff first (POST /api/session)")
    account = config.account(actor.username)
    if account is not None and account.branches and branch.code not in account.branches:
        raise NotAllowed(f"{actor.username} does not work at branch {branch.code}")
