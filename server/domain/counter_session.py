"""A counter's session: who is signed in at it, which of its services they serve today, and pauses.

Like the ticket aggregate (:mod:`server.domain.ticket`), each command checks its rule, sets the fields
and returns the :class:`CounterChange` to record; a refused command changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.domain.errors import DomainError, NotAllowed
from server.domain.tickets import EventKind


@dataclass(frozen=True, slots=True)
class CounterChange:
    """What one command did to a counter: the event to append, and the counter's status after it.

    ``staff`` is whom the event is about: who signed in, paused or resumed, or who was signed out.
    """

    kind: EventKind
    staff: str | None
    status: str
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def choose_services(counter_number: str, configured: Sequence[str], requested: Sequence[str] | None
                    ) -> tuple[str, ...] | None:
    """Today's services from a sign-in's request, within the counter's configured ones (the most the manager
    allows), in the configured order of preference; None for all of them."""
    if requested is None:
        return None
    if not requested:
        raise DomainError("choose at least one service for today", code="no_services", http_status=422)
    unknown = [code for code in requested if code not in configured]
    if unknown:
        raise DomainError(
            f"counter {counter_number} does not serve {unknown[0]!r} (it may serve {', '.join(configured)})",
            code="service_not_at_counter", http_status=422, services=unknown, allowed=list(configured))
    chosen = tuple(code for code in configured if code in set(requested))
    return None if len(chosen) == len(configured) else chosen


def services_today(configured: tuple[str, ...], chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The chosen services in the configured order of preference; all configured ones when none were chosen."""
    if not chosen:
        return configured
    wanted = set(chosen)
    return tuple(code for code in configured if code in wanted) or configured


@dataclass(eq=False, slots=True)
class CounterSession:
    """One counter of a branch; closed when nobody is signed in."""

    branch_code: str
    counter_number: str
    staff_username: str | None = None
    signed_in_at: datetime | None = None
    paused: bool = False
    pause_reason: str | None = None
    paused_at: datetime | None = None
    services: tuple[str, ...] | None = None  # chosen at sign-in; None: all configured ones

    @property
    def status(self) -> str:
        if self.staff_username is None:
            return "closed"
        return "paused" if self.paused else "open"

    def services_today(self, configured: tuple[str, ...]) -> tuple[str, ...]:
        """The services the counter serves now: those chosen at sign-in, in the configured order, or all
        configured ones when none were chosen or nobody is signed in."""
        return configured if self.staff_username is None else services_today(configured, self.services)

    def check_held_by(self, username: str | None, *, manager: bool) -> None:
        """Refuse a command on this counter from anyone but the staff member signed in (a manager may act)."""
        if self.staff_username is None:
            raise DomainError(f"nobody is signed in at counter {self.counter_number}", code="counter_closed")
        if self.staff_username != username and not manager:
            raise NotAllowed(f"counter {self.counter_number} is signed in by {self.staff_username}, not you",
                             code="not_your_counter")

    # --- commands ----------------------------------------------------------------------------------

    def sign_in(self, staff: str, now: datetime, services: tuple[str, ...] | None,
                configured: tuple[str, ...]) -> CounterChange:
        """``staff`` opens the counter, unpaused, serving ``services`` (see :func:`choose_services`)."""
        self.staff_username, self.signed_in_at = staff, now
        self.paused, self.pause_reason, self.paused_at = False, None, None
        self.services = services
        return CounterChange(EventKind.COUNTER_SIGNED_IN, staff, self.status,
                             data={"services": list(self.services_today(configured))})

    def change_services(self, services: tuple[str, ...] | None, configured: tuple[str, ...]) -> CounterChange | None:
        """The staff member signed in again with other services; None when nothing changes."""
        if services == self.services:
            return None
        self.services = services
        return CounterChange(EventKind.COUNTER_SIGNED_IN, self.staff_username, self.status, "services changed",
                             {"services": list(self.services_today(configured))})

    def sign_out(self, reason: str, holding: str | None = None, holding_state: str | None = None) -> CounterChange:
        """Close the counter; refused while it still holds a ticket (``holding``: that ticket's number)."""
        if holding is not None:
            raise DomainError(f"counter {self.counter_number} still has {holding} ({holding_state}); finish it first",
                              code="counter_busy", current=holding)
        staff = self.staff_username
        self._clear()
        return CounterChange(EventKind.COUNTER_SIGNED_OUT, staff, self.status, reason)

    def take_over(self, by: str) -> CounterChange:
        """Another staff member replaces the one signed in (who may have left without signing out)."""
        staff = self.staff_username
        self._clear()
        return CounterChange(EventKind.COUNTER_SIGNED_OUT, staff, self.status, f"taken over by {by}")

    def pause(self, reason: str, now: datetime, by: str | None) -> CounterChange:
        if self.paused:
            raise DomainError(f"counter {self.counter_number} is already paused", code="already_paused")
        self.paused, self.pause_reason, self.paused_at = True, reason, now
        return CounterChange(EventKind.COUNTER_PAUSED, by, self.status, reason)

    def resume(self, now: datetime, by: str | None) -> CounterChange:
        if not self.paused:
            raise DomainError(f"counter {self.counter_number} is not paused", code="not_paused")
        paused_for = (now - self.paused_at).total_seconds() if self.paused_at else None
        self.paused, self.pause_reason, self.paused_at = False, None, None
        return CounterChange(EventKind.COUNTER_RESUMED, by, self.status, data={"paused_seconds": paused_for})

    def _clear(self) -> None:
        self.staff_username, self.signed_in_at = None, None
        self.paused, self.pause_reason, self.paused_at = False, None, None
        self.services = None
