"""Limits on abuse: how many tickets one caller may take, and who counts as that caller.

A hall is a public place: anyone on its Wi-Fi can script the ticket API. Without limits one laptop took 1,729
tickets in 10 s and five services reached their daily cap within 8 s. The limits here stop that while a busy
real hall never meets them:

* A **kiosk** (a request whose ``X-Device-Id`` names one of the branch's ``[[branches.kiosks]]``, from an
  address allowed to be a kiosk) issues for many people, one after another: it gets a rate of its own
  (``kiosk_tickets``, default 30 a minute; 10 a minute is a busy kiosk) and no limit on open tickets. It is
  counted per kiosk id *and* address, so that someone claiming to be kiosk K1 from a laptop does not use up
  the real K1's allowance.
* **Any other device** (a phone with its own random ``X-Device-Id``) is one person: a few tickets an hour
  (``device_tickets``) and a couple in the hall at once (``device_open_tickets``), wherever it connects from.
* **One address** (all callers but the kiosks at it) gets a larger allowance (``address_tickets``,
  ``address_open_tickets``): a hall's NAT puts many phones behind one address, and a script that invents a new
  device id for every request still meets this limit. IPv6 addresses count per /64, the block one host gets.
* Signed-in staff issue on behalf of customers and are not limited.

The rules are pure: persistence counts recent and open tickets, :func:`refusal` decides.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.values import InvalidValue

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d{1,6})\s*(?:/|per)\s*(\d{1,4})?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
OFF = "off"


@dataclass(frozen=True)
class Rate:
    """At most ``count`` within any ``window`` (a sliding window: no burst at the turn of a fixed one)."""

    count: int
    window: timedelta

    @classmethod
    def parse(cls, text: str, field: str) -> Rate | None:
        """``"30/minute"``, ``"4 per hour"``, ``"60 per 10 minutes"``; ``"off"``: no limit (None)."""
        if text.strip().lower() == OFF:
            return None
        match = _RATE.match(text)
        if match is None:
            raise InvalidValue(field, f'must be like "30/minute", "4 per hour", "60 per 10 minutes" or "off", '
                                      f"got {text!r}")
        count, many, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3).lower()
        if count < 1 or many < 1:
            raise InvalidValue(field, f"must allow at least 1 in a window of at least 1 {unit}, got {text!r}")
        return cls(count, timedelta(seconds=many * UNITS[unit]))

    def __str__(self) -> str:
        seconds = int(self.window.total_seconds())
        for unit, size in reversed(UNITS.items()):
            if seconds % size == 0:
                many = seconds // size
                return f"{self.count}/{unit}" if many == 1 else f"{self.count} per {many} {unit}s"
        return f"{self.count} per {seconds} seconds"  # pragma: no cover - windows are whole seconds

    def retry_after(self, recent: list[datetime], now: datetime) -> int | None:
        """Seconds until one more is allowed, given the instants counted within the window (newest first, at
        least ``count`` of them when there are that many); None when one more is allowed now."""
        inside = [at for at in recent if at > now - self.window]
        if len(inside) < self.count:
            return None
        leaves_at = sorted(inside, reverse=True)[self.count - 1] + self.window
        return max(1, math.ceil((leaves_at - now).total_seconds()))


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str, field: str) -> Network:
    if not isinstance(text, str):  # ip_network would take the number 5 for 0.0.0.5
        raise InvalidValue(field, f'must be an address or network like "192.168.10.0/24", got {text!r}')
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidValue(field, f'must be an address or network like "192.168.10.0/24", got {text!r}') from None


def address_in(address: str | None, networks: Sequence[Network]) -> bool:
    """Whether a client address falls in one of ``networks``; an IPv4 address mapped into IPv6 (what a dual-stack
    socket reports) counts as its IPv4 address."""
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed.version == network.version and parsed in network for network in networks)


def address_key(address: str) -> str:
    """The address a limit counts: IPv4 as it is, an IPv4-mapped IPv6 address as its IPv4 address, other IPv6
    addresses by their /64 (one host or home gets a whole /64 and can pick any address in it)."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class IssueLimits:
    """``[limits]``'s ticket limits; None switches one off."""

    kiosk_tickets: Rate | None = Rate(30, timedelta(minutes=1))
    device_tickets: Rate | None = Rate(4, timedelta(hours=1))
    device_open_tickets: int | None = 2
    address_tickets: Rate | None = Rate(60, timedelta(hours=1))
    address_open_tickets: int | None = 30
    kiosk_networks: tuple[Network, ...] = field(default_factory=tuple)  # empty: a kiosk may be at any address

    @property
    def counts_anything(self) -> bool:
        """Whether any ticket limit is on (with all of them off, nothing about a caller is counted or kept)."""
        return any(limit is not None for limit in (self.kiosk_tickets, self.device_tickets, self.device_open_tickets,
                                                     self.address_tickets, self.address_open_tickets))

    @property
    def longest_window(self) -> timedelta:
        """How long an issue must be remembered for the rate limits."""
        rates = [r for r in (self.kiosk_tickets, self.device_tickets, self.address_tickets) if r is not None]
        return max((r.window for r in rates), default=timedelta(0))

    def may_be_kiosk(self, address: str) -> bool:
        return not self.kiosk_networks or address_in(address, self.kiosk_networks)


class CallerKind(StrEnum):
    KIOSK = "kiosk"  # one of the branch's kiosks: many customers, one after another
    DEVICE = "device"  # another device with its own id: one customer (a phone)
    ANONYMOUS = "anonymous"  # no device id: counted by its address only


@dataclass(frozen=True)
class IssueCaller:
    """Who takes a ticket, as the limits count them: the address key and, for a kiosk or phone, its device id."""

    kind: CallerKind
    address: str
    device: str | None = None

    @property
    def is_kiosk(self) -> bool:
        return self.kind is CallerKind.KIOSK


def issue_caller(limits: IssueLimits, address: str, device: str | None, kiosk_ids: set[str]) -> IssueCaller:
    """Classify an anonymous caller: a configured kiosk (where kiosks may be), another device, or no device."""
    key = address_key(address)
    if device and device in kiosk_ids and limits.may_be_kiosk(address):
        return IssueCaller(CallerKind.KIOSK, key, device)
    if device:
        return IssueCaller(CallerKind.DEVICE, key, device)
    return IssueCaller(CallerKind.ANONYMOUS, key)


class LimitKind(StrEnum):
    """Which limit refused: the ``details.limit`` of a 429, and the key of its message on the kiosk."""

    KIOSK = "kiosk"
    DEVICE = "device"
    ADDRESS = "address"
    DEVICE_OPEN = "device_open"
    ADDRESS_OPEN = "address_open"


OPEN_RETRY_S = 60
"""Retry-After for a limit on open tickets: nothing frees one at a known time (a call, a cancel)."""


class TooManyTickets(DomainError):
    """429: a limit on taking tickets was met. ``too_many_tickets`` (a rate) or ``too_many_open_tickets``."""

    http_status = 429

    def __init__(self, limit: LimitKind, retry_after_s: int, allowed: int, window: timedelta | None) -> None:
        if window is None:
            code = "too_many_open_tickets"
            message = (f"{allowed} tickets taken here are still in the hall; a new one can be taken when one of them "
                       f"is called or cancelled")
        else:
            code = "too_many_tickets"
            message = (f"at most {Rate(allowed, window)} tickets may be taken from here; try again in "
                       f"{retry_after_s} s")
        details: dict[str, object] = {"limit": limit.value, "allowed": allowed, "retry_after_s": retry_after_s}
        if window is not None:
            details["window_s"] = int(window.total_seconds())
        super().__init__(message, code=code, **details)
        self.limit = limit


@dataclass(frozen=True)
class IssueUsage:
    """What persistence counted for one caller: the instants of its recent tickets within each rate's window
    (newest first; at least ``count`` of them when there are that many) and its tickets still in the hall."""

    kiosk_recent: list[datetime] = field(default_factory=list)
    device_recent: list[datetime] = field(default_factory=list)
    address_recent: list[datetime] = field(default_factory=list)
    device_open: int = 0
    address_open: int = 0


def refusal(limits: IssueLimits, caller: IssueCaller, usage: IssueUsage, now: datetime) -> TooManyTickets | None:
    """The limit one more ticket would break (open tickets first: they say what to do), or None."""
    if caller.is_kiosk:
        return _rate(LimitKind.KIOSK, limits.kiosk_tickets, usage.kiosk_recent, now)
    if caller.kind is CallerKind.DEVICE:
        found = _open(LimitKind.DEVICE_OPEN, limits.device_open_tickets, usage.device_open)
        if found is not None:
            return found
    found = _open(LimitKind.ADDRESS_OPEN, limits.address_open_tickets, usage.address_open)
    if found is not None:
        return found
    if caller.kind is CallerKind.DEVICE:
        found = _rate(LimitKind.DEVICE, limits.device_tickets, usage.device_recent, now)
        if found is not None:
            return found
    return _rate(LimitKind.ADDRESS, limits.address_tickets, usage.address_recent, now)


def _rate(kind: LimitKind, rate: Rate | None, recent: list[datetime], now: datetime) -> TooManyTickets | None:
    if rate is None:
        return None
    wait = rate.retry_after(recent, now)
    return None if wait is None else TooManyTickets(kind, wait, rate.count, rate.window)


def _open(kind: LimitKind, allowed: int | None, count: int) -> TooManyTickets | None:
    if allowed is None or count < allowed:
        return None
    return TooManyTickets(kind, OPEN_RETRY_S, allowed, None)
