"""Other ways to be served when the wait here is long: the nearby branches' live waits and the self-service
alternatives (the rules: :mod:`server.domain.overflow`; docs/kiosk.md).

Every wait comes from what the live side already holds for each branch (:meth:`LiveHall.new_ticket_estimate`,
the latest refresh's would-be new ticket): an answer costs a look-up per branch, never an estimation. Whether a
branch is issuing (its stops of issue, its daily cap) is read in one read transaction, only for the branches that
offer the service, are open and near enough: a handful of indexed rows each (the same reads as a ticket's issue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from server.domain.estimation import WaitEstimate
from server.domain.hall import Branch, Service
from server.domain.issuing import blocking
from server.domain.numbering import service_day
from server.domain.overflow import Elsewhere, nearby, wait_is_long
from server.persistence import issue_stops, numbers
from server.services.access import require_branch, require_service
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.live import LiveHall, given_estimate
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig


def booking_path(branch: Branch, service: Service) -> str | None:
    """Where a customer books this service at this branch (None: it takes no bookings there)."""
    if service not in branch.bookable_services:
        return None
    return "/book?" + urlencode({"branch": branch.code, "service": service.code})


def _expected_min(estimate: WaitEstimate | None) -> float | None:
    return estimate.expected.total_seconds() / 60 if estimate is not None and estimate.known else None


class OverflowService(ReadsHallModel):
    """Answers "where else, and how else" for one service of one branch."""

    def __init__(self, config: HallConfig | HallModel, live: LiveHall, clock: Callable[[], datetime],
                 uow: UnitOfWork | None = None) -> None:
        self.model = model_of(config)
        self.live = live
        self.clock = clock
        self.uow = uow  # None (tests of the waits alone): every branch counts as issuing

    def alternatives(self, branch_code: str, service_code: str) -> dict[str, Any]:
        """A new ticket's wait for the service here, whether it counts as long, the nearby branches worth the trip
        and the self-service alternatives (empty when the overflow does not cover the service)."""
        branch = require_branch(self.config, branch_code)
        service = require_service(branch, service_code)
        return self._answer(branch, service, self.live.new_ticket_estimate(branch.code, service.code))

    def for_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The same for a customer's own ticket (:meth:`TicketQueries.ticket_by_token`), judged by its own wait as
        its phone page shows it: a ticket no longer waiting has no wait, so nothing is long."""
        branch = require_branch(self.config, ticket["branch"])
        service = require_service(branch, ticket["service"])
        return self._answer(branch, service, given_estimate({"estimate": ticket.get("estimate")}))

    def _answer(self, branch: Branch, service: Service, here: WaitEstimate | None) -> dict[str, Any]:
        config = self.config
        overflow = branch.overflow
        covered = overflow.covers(service.code)
        here_min = _expected_min(here)
        shown: list[dict[str, Any]] = []
        if covered and here_min is not None:
            now = self.clock()
            others = {b.code: b for b in config.branches if b.code != branch.code}
            candidates = self._issuing([self._elsewhere(branch, other, service.code, now)
                                        for other in others.values()], service.code, overflow.nearby_km, now)
            for choice in nearby(here_min, candidates, nearby_km=overflow.nearby_km, margin_min=overflow.margin_min):
                other = others[choice.branch]
                other_service = other.service(service.code)
                assert other_service is not None and choice.distance_km is not None
                estimate = self.live.new_ticket_estimate(other.code, service.code)
                assert estimate is not None
                shown.append({
                    "branch": other.code,
                    "name": other.name.as_dict(),
                    "district": other.location.district.as_dict() if other.location.district else None,
                    "address": other.location.address.as_dict() if other.location.address else None,
                    "distance_km": round(choice.distance_km, 1),
                    "estimate": estimate.as_dict(),
                    "book_url": booking_path(other, other_service),
                })
        return {
            "branch": branch.code,
            "service": service.code,
            "covered": covered,
            "long_wait": covered and wait_is_long(here, overflow.wait_min),
            "wait_min": overflow.wait_min,
            "estimate": (here or WaitEstimate.unknown()).as_dict(),
            "book_url": booking_path(branch, service),
            "nearby": shown,
            "self_service": [{"name": a.name.as_dict(), "text": a.text.as_dict()}
                             for a in (overflow.self_service(service.code) if covered else ())],
        }

    def _issuing(self, candidates: list[Elsewhere], service_code: str, nearby_km: float,
                 now: datetime) -> list[Elsewhere]:
        """The candidates with whether each issues the service now (a stop in force, or the day's cap reached: the
        same rules as the issue). Read only where it can matter: offered, open and near enough."""
        worth_reading = [c for c in candidates if c.offers_service and c.open_now and c.distance_km is not None
                         and c.distance_km <= nearby_km]
        if self.uow is None or not worth_reading:
            return candidates
        refused: set[str] = set()
        with self.uow.read() as session:
            connection = session.connection()
            for candidate in worth_reading:
                other = self.config.branch(candidate.branch)
                service = None if other is None else other.service(service_code)
                if other is None or service is None:
                    continue
                if blocking(issue_stops.current(connection, other.code, now), service_code, now) is not None:
                    refused.add(other.code)
                elif service.daily_cap is not None:
                    issued = numbers.issued_on(connection, other.code, service_day(now, other.timezone))
                    if issued.get(service_code, 0) >= service.daily_cap:
                        refused.add(other.code)
        return [replace(c, issuing=False) if c.branch in refused else c for c in candidates]

    def _elsewhere(self, here: Branch, other: Branch, service_code: str, now: datetime) -> Elsewhere:
        offered = other.service(service_code) is not None
        spot = here.location
        distance = None if spot.latitude is None or spot.longitude is None else \
            other.location.distance_km(spot.latitude, spot.longitude)
        return Elsewhere(
            branch=other.code,
            distance_km=distance,
            offers_service=offered,
            open_now=offered and other.schedule.is_open(now, service_code),
            wait_min=_expected_min(self.live.new_ticket_estimate(other.code, service_code)) if offered else None,
        )
