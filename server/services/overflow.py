"""Other ways to be served when the wait here is long: the nearby branches' live waits and the self-service
alternatives (the rules: :mod:`server.domain.overflow`; docs/kiosk.md).

Every wait comes from what the live side already holds for each branch (:meth:`LiveHall.new_ticket_estimate`,
the latest refresh's would-be new ticket): an answer costs a look-up per branch, never an estimation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from server.domain.estimation import WaitEstimate
from server.domain.hall import Branch, Service
from server.domain.overflow import Elsewhere, nearby, wait_is_long
from server.services.access import require_branch, require_service
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.live import LiveHall, given_estimate
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

    def __init__(self, config: HallConfig | HallModel, live: LiveHall, clock: Callable[[], datetime]) -> None:
        self.model = model_of(config)
        self.live = live
        self.clock = clock

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
            candidates = [self._elsewhere(branch, other, service.code, now) for other in others.values()]
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
