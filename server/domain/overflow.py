"""Overflow to nearby branches and self-service: when the wait here is long, which other ways to show the customer.

Pure Python, no clock of its own. The rules (docs/kiosk.md, "A long wait: other branches and self-service"):

* **Long.** A service's wait is long when the overflow covers it (``[branches.overflow] services``, default all)
  and the upper end of its new-ticket estimate, as the customer reads it, reaches ``wait_min``.
* **Nearby.** Another branch is shown when it offers the same service (the same code), that service is open there
  now and issuing tickets (no stop of issue in force for it or the branch, its daily cap not reached: a customer
  sent there would be turned away), it is at most ``nearby_km`` away (great-circle distance between the two
  branches' coordinates), and its new-ticket estimate (expected minutes) is at least ``margin_min`` below this
  branch's; the nearest first (ties: the shorter wait, then the code), at most :data:`MAX_NEARBY`.
* **Self-service.** The branch's alternatives (an app, a self-service terminal), those for the service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.domain.estimation import WaitEstimate
from server.domain.values import InvalidValue, Text, check_text

MAX_NEARBY = 3
MAX_SELF_SERVICE = 6  # what fits on the kiosk's interstitial beside three branches
MAX_NEARBY_KM = 100.0


@dataclass(frozen=True)
class SelfService:
    """A way to be served without a counter (``[[branches.overflow.alternatives]]``): its name, a line on what it
    does, and the services it stands in for (empty: all the overflow covers)."""

    name: Text
    text: Text
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_text(self.name, "name")
        check_text(self.text, "text")
        if len(set(self.services)) != len(self.services):
            raise InvalidValue("services", "a service is listed twice")

    def serves(self, service_code: str) -> bool:
        return not self.services or service_code in self.services


def check_nearby_km(value: float, field: str = "nearby_km") -> float:
    """How far "nearby" reaches: above 0, at most :data:`MAX_NEARBY_KM` km (a customer goes there on foot or by bus)."""
    if not 0 < value <= MAX_NEARBY_KM:
        raise InvalidValue(field, f"must be above 0 and at most {MAX_NEARBY_KM:g} km, got {value}")
    return value


def check_margin_min(value: float, field: str = "margin_min") -> float:
    """How much shorter another branch's wait must be to be worth the trip: 0 to 240 minutes."""
    if not 0 <= value <= 240:
        raise InvalidValue(field, f"must be 0-240 minutes, got {value}")
    return value


def check_alternatives(items: Sequence[SelfService], field: str = "alternatives") -> tuple[SelfService, ...]:
    if len(items) > MAX_SELF_SERVICE:
        raise InvalidValue(field, f"at most {MAX_SELF_SERVICE} alternatives fit on the kiosk, got {len(items)}")
    return tuple(items)


def wait_is_long(estimate: WaitEstimate | None, wait_min: float) -> bool:
    """The upper end of the wait a customer is shown reaches ``wait_min`` (an unknown wait is not long)."""
    shown = estimate.rounded_range() if estimate is not None else None
    return shown is not None and shown[1] >= wait_min


@dataclass(frozen=True)
class Elsewhere:
    """Another branch as the rule sees it for one service."""

    branch: str
    distance_km: float | None  # None: it or this branch has no coordinates
    offers_service: bool
    open_now: bool
    wait_min: float | None  # its new ticket's expected wait; None: not known
    issuing: bool = True  # False: a stop of issue is in force for the service (or the branch), or it is full today


def nearby(here_wait_min: float, branches: Iterable[Elsewhere], *, nearby_km: float, margin_min: float,
           limit: int = MAX_NEARBY) -> list[Elsewhere]:
    """The branches worth showing a customer who would wait ``here_wait_min`` here: nearest first, at most
    ``limit`` (see the module's rules)."""
    worth = [b for b in branches
             if b.offers_service and b.open_now and b.issuing
             and b.distance_km is not None and b.distance_km <= nearby_km
             and b.wait_min is not None and b.wait_min <= here_wait_min - margin_min]
    worth.sort(key=lambda b: (b.distance_km, b.wait_min, b.branch))
    return worth[:limit]
