"""Paired devices: the kiosks, wall and counter displays and rating pads a manager of the branch has approved.

A device that is not paired shows a short pairing code. A manager of its branch types that code on the manager
page and approves the device for a role (kiosk K1, the pad of counter 3, the wall display of a zone…); from then
on the device's random credential (the server keeps only its SHA-256) stands for that role until a manager
revokes it. Devices send heartbeats; one that has not been heard for ``offline_after`` is offline since it was
last heard.

Pure: no Flask, no SQL; the clock is passed in. The branch's rules (which kinds must be paired, how often a
ticket prints) are :class:`DeviceSettings`, part of the hall model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Problem, Text

if TYPE_CHECKING:
    from server.domain.hall import Branch


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    WALL = "wall"
    COUNTER_DISPLAY = "counter_display"
    PAD = "pad"


class DeviceState(StrEnum):
    PENDING = "pending"  # shows its pairing code; nobody has approved it yet
    PAIRED = "paired"
    REVOKED = "revoked"  # a manager took its trust back; the credential opens nothing any more


KIND_NAMES: dict[DeviceKind, Text] = {
    DeviceKind.KIOSK: Text("取号机", "Kiosk"),
    DeviceKind.WALL: Text("叫号屏", "Wall display"),
    DeviceKind.COUNTER_DISPLAY: Text("窗口屏", "Counter display"),
    DeviceKind.PAD: Text("评价器", "Rating pad"),
}

ALWAYS_PAIRED = frozenset({DeviceKind.PAD})
"""Kinds that never work unpaired: a rating opens a follow-up against a member of staff, so the pad must be the
counter's own (or a member of staff signed in at that counter must hold it)."""

OPTIONALLY_PAIRED = tuple(kind for kind in DeviceKind if kind not in ALWAYS_PAIRED)
"""Kinds a branch may require to be paired (``[branches.devices] require_pairing``); unpaired by default so that a
new hall works out of the box."""

class PriorityFrom(StrEnum):
    """Who may take a priority-lane ticket (爱心通道) at a branch besides its staff (``[branches.devices]
    priority_from``): a ticket that jumps the queue for the elderly, disabled and pregnant must not be a tap
    away on any phone that reaches the hall's Wi-Fi."""

    PAIRED_KIOSK = "paired_kiosk"  # only a kiosk of the branch that a manager paired (and staff of the branch)
    ANYONE = "anyone"  # any kiosk, phone or script, like a normal ticket


CODE_DIGITS = 6
PAIRING_TTL = timedelta(minutes=10)  # a code not approved within this is forgotten; the device shows a new one
MAX_NAME = 40


def check_device_kinds(values: Collection[object], field: str = "require_pairing") -> frozenset[DeviceKind]:
    """The kinds a branch requires to be paired: any of :data:`OPTIONALLY_PAIRED` (pads always are)."""
    allowed = ", ".join(OPTIONALLY_PAIRED)
    kinds = set()
    for value in values:
        if value == DeviceKind.PAD.value:
            raise InvalidValue(field, "rating pads are always paired; list only " + allowed)
        if not isinstance(value, str) or value not in OPTIONALLY_PAIRED:
            raise InvalidValue(field, f"unknown device kind {value!r} (one of {allowed})")
        kinds.add(DeviceKind(value))
    return frozenset(kinds)


@dataclass(frozen=True)
class DeviceSettings:
    """A branch's device rules (``[branches.devices]``)."""

    require_pairing: frozenset[DeviceKind] = frozenset()  # besides pads, which always need pairing
    prints_per_ticket: int = 2  # at the issuing kiosk: the ticket and one reprint; staff may print more
    print_window: timedelta = timedelta(minutes=5)  # after the issue, the kiosk may (re)print the ticket
    offline_after: timedelta = timedelta(seconds=90)  # no heartbeat for this long: the device is offline
    priority_from: PriorityFrom = PriorityFrom.PAIRED_KIOSK  # who besides staff takes a priority-lane ticket

    def __post_init__(self) -> None:
        check_device_kinds([k.value for k in self.require_pairing])
        if DeviceKind.KIOSK in self.require_pairing and self.priority_from == PriorityFrom.ANYONE:
            raise InvalidValue("priority_from", '"anyone" cannot hold where kiosks must be paired (require_pairing '
                                                'lists "kiosk"): there only a paired kiosk or staff give priority '
                                                'tickets; leave it out or write "paired_kiosk"', Problem.CONFLICT)
        if not 1 <= self.prints_per_ticket <= 10:
            raise InvalidValue("prints_per_ticket", f"must be 1-10, got {self.prints_per_ticket}", Problem.OUT_OF_RANGE,
                               min=1, max=10, value=self.prints_per_ticket)
        if not timedelta(0) < self.print_window <= timedelta(hours=24):
            raise InvalidValue("print_window_min", "must be above 0 and at most 1440 (a day)", Problem.OUT_OF_RANGE,
                               max=1440, unit="min", value=self.print_window.total_seconds() / 60)
        if not timedelta(seconds=30) <= self.offline_after <= timedelta(hours=1):
            raise InvalidValue("offline_after_s", "must be 30-3600 seconds", Problem.OUT_OF_RANGE, min=30, max=3600,
                               unit="s", value=self.offline_after.total_seconds())

    def must_pair(self, kind: DeviceKind) -> bool:
        """Whether a device of this kind works only when paired."""
        return kind in ALWAYS_PAIRED or kind in self.require_pairing

    @property
    def priority_needs_paired_kiosk(self) -> bool:
        """Whether a priority-lane ticket comes only from a paired kiosk of the branch (or its staff): where the
        branch says so, and wherever its kiosks must be paired."""
        return self.priority_from == PriorityFrom.PAIRED_KIOSK or DeviceKind.KIOSK in self.require_pairing

    @property
    def heartbeat(self) -> timedelta:
        """How often a paired device says it is there: three heartbeats fit in ``offline_after``."""
        return self.offline_after / 3


# --- roles -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """What a device is for: a kind and, where the kind needs one, its target (the kiosk's id, the counter's
    number, or the wall display's zone; a wall display without a zone shows the whole hall)."""

    kind: DeviceKind
    target: str | None = None

    def label(self, branch: Branch | None = None) -> Text:
        """"评价器 · 3号窗口" / "Rating pad · Counter 3", with the branch's names for the target when known."""
        name = KIND_NAMES[self.kind]
        if self.target is None:
            return name
        target = _target_name(self, branch) or Text(self.target, self.target)
        return Text(f"{name.zh} · {target.zh}", f"{name.en} · {target.en}")

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "target": self.target}


def _target_name(role: Role, branch: Branch | None) -> Text | None:
    if branch is None or role.target is None:
        return None
    if role.kind == DeviceKind.KIOSK:
        kiosk = branch.kiosk(role.target)
        return Text(f"{role.target} {kiosk.name.zh}", f"{role.target} {kiosk.name.en}") if kiosk else None
    if role.kind == DeviceKind.WALL:
        zone = branch.zone(role.target)
        return zone.name if zone else None
    counter = branch.counter(role.target)
    return counter.name if counter else None


def check_role(branch: Branch, kind: str, target: str | None) -> Role:
    """The role a device may have at ``branch``, or 422 ``bad_role`` naming the field: a kiosk names one of the
    branch's kiosks (if it lists any), a counter display and a pad a counter, a wall display at most a zone."""
    if kind not in DeviceKind.__members__.values():
        raise DomainError(f"kind must be one of {', '.join(DeviceKind)}, got {kind!r}", code="bad_role",
                          http_status=422, field="kind")
    device_kind = DeviceKind(kind)
    target = target or None
    if device_kind == DeviceKind.KIOSK:
        known = [k.id for k in branch.kiosks]
        if (target is None and known) or (target is not None and target not in known):
            raise DomainError(f"a kiosk is one of {', '.join(known) or 'none'} of branch {branch.code}, got "
                              f"{target!r}", code="bad_role", http_status=422, field="target", allowed=known)
    elif device_kind == DeviceKind.WALL:
        if target is not None and branch.zone(target) is None:
            known = [z.code for z in branch.zones]
            raise DomainError(f"a wall display shows the whole hall or a zone ({', '.join(known) or 'none'}), got "
                              f"{target!r}", code="bad_role", http_status=422, field="target", allowed=known)
    elif target is None or branch.counter(target) is None:
        known = [c.number for c in branch.counters]
        raise DomainError(f"a {device_kind.value.replace('_', ' ')} belongs to one counter of branch {branch.code} "
                          f"({', '.join(known)}), got {target!r}", code="bad_role", http_status=422, field="target",
                          allowed=known)
    return Role(device_kind, target)


def roles_of(branch: Branch) -> list[Role]:
    """Every role a device may have at ``branch``, in the order a manager picks from: its kiosks, rating pads,
    counter displays, the wall display of the whole hall and of each zone."""
    kiosks = [Role(DeviceKind.KIOSK, k.id) for k in branch.kiosks] or [Role(DeviceKind.KIOSK)]
    pads = [Role(DeviceKind.PAD, c.number) for c in branch.counters]
    displays = [Role(DeviceKind.COUNTER_DISPLAY, c.number) for c in branch.counters]
    walls = [Role(DeviceKind.WALL), *(Role(DeviceKind.WALL, z.code) for z in branch.zones)]
    return [*kiosks, *pads, *displays, *walls]


# --- pairing codes ---------------------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-·.]+")


def new_pairing_code(taken: Collection[str], randbelow: Callable[[int], int]) -> str:
    """A code of :data:`CODE_DIGITS` digits that no pending device of the branch shows (``randbelow``: the
    ``secrets`` module's, or a test's). Digits, because a manager types them on a tablet."""
    for _ in range(1000):
        code = f"{randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            return code
    raise DomainError("too many devices are waiting to be paired; approve or let them expire first",
                      code="too_many_pairings", http_status=429)


def normalise_code(text: str) -> str | None:
    """A code as a person typed it ("482 913", "482-913") as stored ("482913"); None if it is not one."""
    code = _SEPARATORS.sub("", text or "")
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def show_code(code: str) -> str:
    """How a device shows its code: two groups of three digits, "482 913"."""
    return f"{code[:3]} {code[3:]}"


def check_name(name: str | None) -> str | None:
    """A manager's name for a device ("by the door"): at most :data:`MAX_NAME` printable characters; blank is
    none (the role's label is shown instead)."""
    name = (name or "").strip()
    if len(name) > MAX_NAME or not name.isprintable():
        raise DomainError(f"a device's name is at most {MAX_NAME} printable characters", code="bad_name",
                          http_status=422, field="name")
    return name or None


# --- the device ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    """Whether a paired device is heard from; offline since it was last heard (or paired, if never)."""

    online: bool
    offline_since: datetime | None


@dataclass(eq=False)
class Device:
    """One device of a branch. While pending, ``role`` is what the device asked to be (its page's role) and
    ``pairing_code`` what it shows; the approving manager decides the role it gets."""

    id: int | None
    branch_code: str
    role: Role
    state: DeviceState
    created_at: datetime
    name: str | None = None
    pairing_code: str | None = None
    paired_at: datetime | None = None
    paired_by: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_seen_at: datetime | None = None
    user_agent: str | None = None
    offline_noted_at: datetime | None = None  # when the server recorded that it went silent (until heard again)

    @property
    def paired(self) -> bool:
        return self.state == DeviceState.PAIRED

    def pairing_expired(self, now: datetime) -> bool:
        return self.state == DeviceState.PENDING and now >= self.created_at + PAIRING_TTL

    def holds(self, branch_code: str, role: Role) -> bool:
        """Whether this device is paired for exactly ``role`` at ``branch_code``."""
        return self.paired and self.branch_code == branch_code and self.role == role

    def approve(self, role: Role, name: str | None, by: str, now: datetime) -> None:
        """A manager pairs the device for ``role``; only a pending device whose code has not expired."""
        if self.state != DeviceState.PENDING or self.pairing_expired(now):
            raise DomainError("this pairing code has expired or was used; the device shows a new one",
                              code="pairing_expired")
        self.role, self.name = role, check_name(name)
        self.state, self.pairing_code = DeviceState.PAIRED, None
        self.paired_at, self.paired_by, self.last_seen_at = now, by, now

    def revoke(self, by: str, now: datetime) -> None:
        if self.state == DeviceState.REVOKED:
            raise DomainError("this device was already revoked", code="already_revoked")
        self.state, self.pairing_code = DeviceState.REVOKED, None
        self.revoked_at, self.revoked_by = now, by

    def rename(self, name: str | None) -> None:
        if self.state == DeviceState.REVOKED:
            raise DomainError("a revoked device cannot be renamed", code="already_revoked")
        self.name = check_name(name)

    @property
    def heard_at(self) -> datetime:
        """When it was last heard: its last heartbeat, else its pairing (or its request, if neither)."""
        return self.last_seen_at or self.paired_at or self.created_at

    def presence(self, now: datetime, offline_after: timedelta) -> Presence | None:
        """Online, or offline since when it was last heard; None unless paired."""
        if not self.paired:
            return None
        if is_silent(self.heard_at, now, offline_after):
            return Presence(False, self.heard_at)
        return Presence(True, None)


def is_silent(heard_at: datetime, now: datetime, offline_after: timedelta) -> bool:
    """Whether a device last heard at ``heard_at`` counts as offline at ``now`` (not heard for longer than
    ``offline_after``)."""
    return now - heard_at > offline_after


# --- noticing silence ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilenceWatch:
    """What one look at a branch's paired devices found: the devices that went silent and whose silence is not yet
    recorded, and ``earliest_heard``: no device of the branch can go silent before ``earliest_heard +
    offline_after``, so nobody need look again until then (:meth:`due`)."""

    silent: tuple[Device, ...]
    earliest_heard: datetime

    def due(self, now: datetime, offline_after: timedelta) -> bool:
        """Whether a device may have gone silent since this look: look again."""
        return is_silent(self.earliest_heard, now, offline_after)


def watch_silence(paired: Collection[Device], looked_at: datetime, offline_after: timedelta) -> SilenceWatch:
    """Look at a branch's paired devices (``paired``, read at ``looked_at``).

    A heartbeat only moves a device's silence later, so the earliest any device can go silent is the earliest
    ``heard_at`` among those still heard, plus ``offline_after``. A device paired after the look (by this or
    another server process) was heard at its pairing, after ``looked_at``; so the bound is never later than
    ``looked_at + offline_after``, and a branch without devices is looked at once per ``offline_after``. Devices
    whose silence is already recorded are left to their next heartbeat."""
    silent = []
    earliest = looked_at
    for device in paired:
        if not device.paired or device.offline_noted_at is not None:
            continue
        if is_silent(device.heard_at, looked_at, offline_after):
            silent.append(device)
        else:
            earliest = min(earliest, device.heard_at)
    return SilenceWatch(tuple(silent), earliest)


__all__ = ["ALWAYS_PAIRED", "KIND_NAMES", "OPTIONALLY_PAIRED", "PAIRING_TTL", "Device", "DeviceKind",
           "DeviceSettings", "DeviceState", "Presence", "PriorityFrom", "Role", "SilenceWatch", "check_device_kinds",
           "check_name", "check_role", "is_silent", "new_pairing_code", "normalise_code", "roles_of", "show_code",
           "watch_silence"]
