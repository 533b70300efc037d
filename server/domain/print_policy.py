"""How often, and where, a ticket may be printed on a kiosk's network printer.

A ticket prints only at the kiosk that issued it, at most ``prints_per_ticket`` times (the ticket and a reprint
when the first came out badly) and only within ``print_window`` of its issue, while the customer is still at the
kiosk. Staff of the branch may print it again at any kiosk, any number of times. One print at a time per ticket:
a print holds a reservation until its printer answered (or its deadline passed), so two taps (or two processes)
cannot both print the last allowed copy. A print that failed is not counted.

Pure: the facts come in, a refusal goes out as a :class:`~server.domain.errors.DomainError` with its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.devices import DeviceSettings
from server.domain.errors import DomainError, NotAllowed


@dataclass
class PrintRecord:
    """What a ticket has printed so far (stored per ticket)."""

    prints: int = 0  # successful prints at the issuing kiosk
    staff_prints: int = 0  # successful prints asked for by staff
    reserved_until: datetime | None = None  # a print is on its way until then
    reserved_by: str | None = None  # the kiosk printing it


def check_print(record: PrintRecord, *, kiosk: str, issued_by: str | None, issued_at: datetime, now: datetime,
                settings: DeviceSettings, by_staff: bool) -> None:
    """Refuse a print that the rules above do not allow: 409 ``print_in_progress``, 403 ``wrong_kiosk``,
    409 ``print_limit_reached``, 409 ``print_window_passed``."""
    if record.reserved_until is not None and now < record.reserved_until:
        raise DomainError(f"this ticket is being printed at kiosk {record.reserved_by} right now",
                          code="print_in_progress", kiosk=record.reserved_by)
    if by_staff:
        return
    if issued_by != kiosk:
        raise NotAllowed(f"this ticket was not issued at kiosk {kiosk}; a ticket prints only at the kiosk that "
                         "issued it (staff may print it anywhere)", code="wrong_kiosk", kiosk=kiosk)
    if record.prints >= settings.prints_per_ticket:
        raise DomainError(f"this ticket was printed {record.prints} times already, the most a kiosk prints it; "
                          "staff may print it again", code="print_limit_reached", prints=record.prints,
                          allowed=settings.prints_per_ticket)
    if now > issued_at + settings.print_window:
        minutes = f"{settings.print_window.total_seconds() / 60:g}"
        raise DomainError(f"a kiosk prints a ticket only within {minutes} min of its issue; staff may print it "
                          "again", code="print_window_passed", window_min=float(minutes))


__all__ = ["PrintRecord", "check_print"]
