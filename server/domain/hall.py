"""The hall model: branches with their categories, services, counters, display zones and kiosks, the overflow
notice, staff accounts, queue rules, rating and announcement settings, and the texts they use. Opening hours
(weekly hours, dated exceptions and the queries about them) are in :mod:`server.domain.schedule`.

Pure Python, frozen dataclasses. The TOML loader (``server/config.py``) builds it from ``config.toml``; an
administration in the browser will build the same model from the database. Whatever builds it shares the value
rules below (what a valid code, prefix, colour, username, hours range, target wait... is): each ``check_*``
function returns the value or raises :class:`InvalidValue` naming the field, and every dataclass checks its own
fields when it is made, so no loader can produce a hall the rest of the server would choke on. A loader calls
the rules itself as it reads each value, to name the value where it found it (a TOML key path, a form field).

Rules that relate values to each other (unique codes, a counter's services exist in its branch, every service
has a counter) belong to the loader that sees the whole list.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.announcements import template_problem
from server.domain.booking import BranchBooking, Location, ServiceBooking
from server.domain.devices import DeviceSettings
from server.domain.issuing import LastTicket
from server.domain.overflow import SelfService, check_alternatives, check_margin_min, check_nearby_km
from server.domain.policy import CounterRole, CounterSkills, PolicyRules
from server.domain.remote import ServiceRemote
from server.domain.schedule import OpeningStatus, Schedule, ScheduleException, WeeklyHours
from server.domain.values import InvalidValue, Problem, Text, ValueFormat, check_text

LANGUAGES = ("zh-CN", "en")


# --- value rules -------------------------------------------------------------------------------------------

# ``$`` also matches before a trailing newline; the loaders have always accepted that, so the rules keep it.
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_PREFIX = re.compile(r"^[A-Z]{1,3}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SERVER_VOICE = re.compile(r"[A-Za-z0-9_+/-]{1,40}")


def check_positive(value: float, field: str) -> float:
    if not value > 0:
        raise InvalidValue(field, f"must be greater than 0, got {value}", Problem.NOT_POSITIVE,
                           value=value)
    return value


def check_at_least(value: int, minimum: int, field: str) -> int:
    if value < minimum:
        raise InvalidValue(field, f"must be at least {minimum}, got {value}", Problem.TOO_SMALL,
                           min=minimum, value=value)
    return value


def check_at_most(value: float, most: float, field: str, unit: str = "") -> float:
    if value > most:
        raise InvalidValue(field, f"must be at most {most}{unit}, got {value}", Problem.TOO_LARGE,
                           max=most, value=value, **({"unit": unit.strip()} if unit else {}))
    return value


def check_code(value: str, field: str = "code") -> str:
    """A code of a branch, category, service, zone or reason, a counter number or a kiosk id."""
    if not _CODE.match(value):
        raise InvalidValue(field, f"must be 1-32 letters, digits, _ or -, got {value!r}",
                           Problem.BAD_FORMAT, format=ValueFormat.CODE, value=value)
    return value


def check_prefix(value: str, field: str = "prefix") -> str:
    """The letters in front of a service's ticket numbers ("A" in A023)."""
    if not _PREFIX.match(value):
        raise InvalidValue(field, f"must be 1-3 capital letters, got {value!r}", Problem.BAD_FORMAT,
                           format=ValueFormat.PREFIX, value=value)
    return value


def check_colour(value: str, field: str = "colour") -> str:
    if not _COLOUR.match(value):
        raise InvalidValue(field, f'must look like "#1e88e5", got {value!r}', Problem.BAD_FORMAT,
                           format=ValueFormat.COLOUR, value=value)
    return value


def check_username(value: str, field: str = "username") -> str:
    if not _USERNAME.match(value):
        raise InvalidValue(field, f"must be 1-32 letters, digits, . _ or -, got {value!r}",
                           Problem.BAD_FORMAT, format=ValueFormat.CODE, value=value)
    return value


def check_language(value: str, field: str = "languages") -> str:
    if value not in LANGUAGES:
        raise InvalidValue(field, f"unsupported language {value!r} (supported: zh-CN, en)",
                           Problem.NOT_ONE_OF, allowed=LANGUAGES, value=value)
    return value


def check_languages(values: Sequence[str], field: str = "languages") -> tuple[str, ...]:
    """Supported languages, each once."""
    for value in values:
        check_language(value, field)
    if len(set(values)) != len(values):
        raise InvalidValue(field, "a language is listed twice", Problem.DUPLICATE)
    return tuple(values)


def time_zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone called ``name`` ("Asia/Shanghai")."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "Asia"
        raise InvalidValue(field, f'unknown time zone {name!r} (e.g. "Asia/Shanghai")', Problem.BAD_FORMAT,
                           format=ValueFormat.TIME_ZONE, value=name) from None


def minutes(value: float, field: str, *, positive: bool = True) -> timedelta:
    """A duration given in minutes (a target wait, a window): finite and, unless said otherwise, above 0."""
    if not math.isfinite(value):
        raise InvalidValue(field, f"must be a finite number, got {value!r}", Problem.WRONG_TYPE,
                           expected="number")
    if positive:
        check_positive(value, field)
    elif value < 0:
        raise InvalidValue(field, "must not be negative", Problem.NEGATIVE, value=value)
    return timedelta(minutes=value)


def check_duration(value: timedelta, field: str) -> timedelta:
    """A duration the model holds. Only "not negative": the rule "above 0" is :func:`minutes`', on the number
    as written, and a number above 0 may still round to a zero timedelta (below a microsecond), which the
    loader has always let through."""
    if value < timedelta(0):
        raise InvalidValue(field, f"must not be negative, got {value}", Problem.NEGATIVE)
    return value


# --- a branch and what is in it ----------------------------------------------------------------------------

DEFAULT_COLOUR = "#2563eb"
DEFAULT_ICON = "ticket"
MAX_NUMBER_WIDTH = 6


@dataclass(frozen=True)
class Category:
    code: str
    name: Text
    icon: str
    colour: str

    def __post_init__(self) -> None:
        check_code(self.code)
        check_tile_name(self.name, "name")
        check_colour(self.colour)


TILE_NAME_COLUMNS = {"zh-CN": 40, "en": 72}
"""How wide a name on a kiosk tile may be, in terminal columns (a Chinese character takes two): what the kiosk's
narrowest tile (landscape, six services) shows whole in three lines, the browser test of long names checks it."""


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def check_tile_name(value: Text, field: str = "name") -> Text:
    """A service's or category's name, which the kiosk shows on a tile: no language blank, none too wide."""
    check_text(value, field)
    for language, text in (("zh-CN", value.zh), ("en", value.en)):
        limit = TILE_NAME_COLUMNS[language]
        if columns(text) > limit:
            raise InvalidValue(f"{field}.{language}", f"is too long for a kiosk tile: at most {limit // 2} Chinese "
                               f"characters or {limit} letters, got {text!r}", Problem.TOO_LONG,
                               max_zh=TILE_NAME_COLUMNS["zh-CN"] // 2, max_en=TILE_NAME_COLUMNS["en"])
    return value


def check_daily_cap(value: int | None, field: str = "daily_cap") -> int | None:
    """The most tickets a service issues a day; None: no cap."""
    return None if value is None else check_at_least(value, 1, field)


def check_number_width(value: int, field: str = "number_width") -> int:
    """Digits in a ticket number after the prefix (3: A001)."""
    check_at_least(value, 1, field)
    if value > MAX_NUMBER_WIDTH:
        raise InvalidValue(field, f"must be at most {MAX_NUMBER_WIDTH}, got {value}", Problem.TOO_LARGE,
                           max=MAX_NUMBER_WIDTH, value=value)
    return value


def check_start_number(value: int, field: str = "start_number") -> int:
    return check_at_least(value, 0, field)


@dataclass(frozen=True)
class Service:
    code: str
    prefix: str
    name: Text
    parent: str | None
    target_wait: timedelta
    expected_service: timedelta
    daily_cap: int | None
    hours: WeeklyHours  # its own (default None: the branch's); always within the branch's hours
    start_number: int
    number_width: int
    icon: str
    colour: str
    last_ticket: LastTicket | None = None  # stop issuing before the close (None: tickets until closing)
    booking: ServiceBooking = field(default_factory=ServiceBooking)  # online appointments (off by default)
    remote: ServiceRemote = field(default_factory=ServiceRemote)  # tickets taken on a phone before arriving (off)

    def __post_init__(self) -> None:
        check_code(self.code)
        check_prefix(self.prefix)
        check_tile_name(self.name, "name")
        check_duration(self.target_wait, "target_wait")
        check_duration(self.expected_service, "expected_service")
        check_daily_cap(self.daily_cap)
        check_start_number(self.start_number)
        check_number_width(self.number_width)
        check_colour(self.colour)


def check_counter_role(value: str, field: str = "role") -> CounterRole:
    try:
        return CounterRole(value)
    except ValueError:
        raise InvalidValue(field, f"must be normal, fast_lane or vip, got {value!r}", Problem.NOT_ONE_OF,
                           allowed=[role.value for role in CounterRole], value=value) from None


def check_counter_services(services: Sequence[str], field: str = "services") -> tuple[str, ...]:
    """What a counter serves: at least one service, each once (whether they exist is the branch's business)."""
    if not services:
        raise InvalidValue(field, "a counter must serve at least one service", Problem.TOO_FEW, min=1)
    if len(set(services)) != len(services):
        raise InvalidValue(field, "a service is listed twice", Problem.DUPLICATE)
    return tuple(services)


@dataclass(frozen=True)
class Counter:
    number: str
    name: Text
    services: tuple[str, ...]
    role: CounterRole

    def __post_init__(self) -> None:
        check_code(self.number, "number")
        check_text(self.name, "name")
        check_counter_services(self.services)
        check_counter_role(self.role)

    @property
    def skills(self) -> CounterSkills:
        return CounterSkills(counter=self.number, services=self.services, role=self.role)


@dataclass(frozen=True)
class DisplayZone:
    """A part of a large hall: the services and counters its wall displays show."""

    code: str
    name: Text
    services: tuple[str, ...]
    counters: tuple[str, ...]

    def __post_init__(self) -> None:
        check_code(self.code)
        check_text(self.name, "name")


PRINTER_KINDS = ("none", "browser", "escpos")
ESCPOS_DEFAULT_PORT = 9100


def parse_printer(text: str, field: str = "printer") -> tuple[str, str | None, int | None]:
    """A kiosk's printer as written: "none", "browser" or "escpos://host:port" -> (kind, host, port)."""
    if text in ("none", "browser"):
        return text, None, None
    problem = f'must be "none", "browser" or "escpos://host:port", got {text!r}'
    parts = urlsplit(text)
    if not (parts.scheme == "escpos" and parts.hostname):
        raise InvalidValue(field, problem, Problem.BAD_FORMAT, format=ValueFormat.PRINTER, value=text)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username is not None:
        raise InvalidValue(field, problem, Problem.BAD_FORMAT, format=ValueFormat.PRINTER, value=text)
    try:
        port = parts.port
    except ValueError:
        raise InvalidValue(field, f"the port must be 1-65535, got {text!r}", Problem.BAD_FORMAT,
                           format=ValueFormat.PRINTER, value=text) from None
    if port == 0:
        raise InvalidValue(field, f"the port must be 1-65535, got {text!r}", Problem.BAD_FORMAT,
                           format=ValueFormat.PRINTER, value=text)
    return "escpos", parts.hostname, port or ESCPOS_DEFAULT_PORT


# The most each kiosk timing may be, in seconds.
KIOSK_TIMING_LIMITS = {"print_timeout_s": 60, "confirmation_s": 600, "idle_reset_s": 3600}


def check_kiosk_timing(value: float, field: str) -> float:
    """``field`` is one of :data:`KIOSK_TIMING_LIMITS`."""
    check_positive(value, field)
    return check_at_most(value, KIOSK_TIMING_LIMITS[field], field, " seconds")


DEFAULT_OVERFLOW_NOTICE = Text(
    "现在排队人数较多，等候时间较长。您也可以通过手机营业厅或网上营业厅办理，或稍后再来。",
    "The hall is very busy and the wait is long. You can also use our app or website, or come back later.",
)


@dataclass(frozen=True)
class Overflow:
    """What the kiosk says when the wait is very long (``[branches.overflow]``).

    The notice shows on the kiosk's home screen and on the ticket's confirmation when the upper end of a
    service's estimated wait reaches ``wait_min`` minutes. For the services it covers (``services``; empty: all),
    such a wait also makes the kiosk and the phone page show the nearby branches with a shorter wait (within
    ``nearby_km``, at least ``margin_min`` shorter) and the self-service ``alternatives``
    (:mod:`server.domain.overflow`).
    """

    wait_min: float = 60.0
    notice: Text = DEFAULT_OVERFLOW_NOTICE
    services: tuple[str, ...] = ()
    nearby_km: float = 5.0
    margin_min: float = 10.0
    alternatives: tuple[SelfService, ...] = ()

    def __post_init__(self) -> None:
        check_positive(self.wait_min, "wait_min")
        check_text(self.notice, "notice")
        if len(set(self.services)) != len(self.services):
            raise InvalidValue("services", "a service is listed twice")
        check_nearby_km(self.nearby_km)
        check_margin_min(self.margin_min)
        check_alternatives(self.alternatives)

    def covers(self, service_code: str) -> bool:
        """Whether a long wait for this service shows other branches and self-service."""
        return not self.services or service_code in self.services

    def self_service(self, service_code: str) -> tuple[SelfService, ...]:
        return tuple(a for a in self.alternatives if a.serves(service_code))


@dataclass(frozen=True)
class Kiosk:
    """A ticket kiosk (``[[branches.kiosks]]``) and how it prints.

    ``printer``: "none" (no paper, the customer scans the QR on screen), "browser" (the kiosk page prints
    through the browser) or "escpos" (the server sends ESC/POS to ``printer_host:printer_port``).
    """

    id: str
    name: Text
    printer: str
    printer_host: str | None = None
    printer_port: int | None = None
    print_timeout_s: float = 5.0
    status_query: bool = True  # ask the printer for paper/cover status (DLE EOT) around each ticket
    confirmation_s: float = 20.0  # how long the "take your ticket" screen shows before going home
    idle_reset_s: float = 60.0  # an abandoned menu goes back home after this long

    def __post_init__(self) -> None:
        check_code(self.id, "id")
        check_text(self.name, "name")
        if self.printer not in PRINTER_KINDS:
            raise InvalidValue("printer", f"must be one of {', '.join(PRINTER_KINDS)}, got {self.printer!r}",
                               Problem.NOT_ONE_OF, allowed=PRINTER_KINDS, value=self.printer)
        if self.printer == "escpos" and not (self.printer_host and self.printer_port
                                             and 0 < self.printer_port <= 65535):
            raise InvalidValue("printer", "an ESC/POS printer needs a host and a port (1-65535)",
                               Problem.BAD_FORMAT, format=ValueFormat.PRINTER)
        for name in KIOSK_TIMING_LIMITS:
            check_kiosk_timing(getattr(self, name), name)


@dataclass(frozen=True)
class Branch:
    code: str
    name: Text
    timezone: ZoneInfo
    hours: WeeklyHours
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    zones: tuple[DisplayZone, ...] = ()
    kiosks: tuple[Kiosk, ...] = ()
    overflow: Overflow = field(default_factory=Overflow)
    exceptions: tuple[ScheduleException, ...] = ()  # public holidays, special hours (branch-local dates)
    devices: DeviceSettings = field(default_factory=DeviceSettings)  # pairing and printing rules
    region: str | None = None  # the region it belongs to (a code): what a regional account reads
    booking: BranchBooking = field(default_factory=BranchBooking)  # online appointments: horizon, cut-off, limits
    location: Location = field(default_factory=Location)  # district, address, coordinates (booking page)

    def __post_init__(self) -> None:
        check_code(self.code)
        check_text(self.name, "name")
        self.schedule  # noqa: B018 -- built now: it checks the exceptions against the services

    @cached_property
    def schedule(self) -> Schedule:
        """The opening schedule of the branch and its services."""
        return Schedule(self.timezone, self.hours, {s.code: s.hours for s in self.services}, self.exceptions)

    def closes_at(self, day: date) -> datetime | None:
        """The instant (UTC) the branch's last opening range ends on its local date ``day`` (a 24:00 close is
        the next local midnight); None when the branch is closed all that day."""
        return self.schedule.closes_at(day)

    def opening(self, service: Service, at: datetime) -> OpeningStatus:
        """Whether ``service`` takes tickets at ``at``, today's hours and when it opens or closes."""
        return self.schedule.status(at, service.code)

    def require_open(self, service: Service, at: datetime) -> None:
        """Refuses a ticket for ``service`` outside its hours (``service_closed``, with the next opening)."""
        self.schedule.require_open(service.code, service.name.en, at)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)

    def zone(self, code: str) -> DisplayZone | None:
        return next((z for z in self.zones if z.code == code), None)

    def counter(self, number: str) -> Counter | None:
        return next((c for c in self.counters if c.number == number), None)

    def booking_seats(self, service: Service) -> int:
        """Seats a slot of ``service`` offers: its ``per_slot`` within what its counters serve, less walk-ins."""
        counters = sum(1 for c in self.counters if service.code in c.services)
        return service.booking.seats(counters, service.expected_service)

    @property
    def bookable_services(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.booking.bookable and self.booking_seats(s) > 0)

    @property
    def remote_services(self) -> tuple[Service, ...]:
        """The services a customer may join from a phone before arriving."""
        return tuple(s for s in self.services if s.remote.enabled)


# --- staff -------------------------------------------------------------------------------------------------

class AccountRole(StrEnum):
    """What an account may do. ``staff`` work at the counters of their branches; a ``manager`` also runs their
    branches (live view, follow-ups, notices, stopping issue, their staff); an ``admin`` does everything in every
    branch, the hall set-up and the accounts included; ``regional`` reads the reports of their region's branches
    and changes nothing."""

    STAFF = "staff"
    MANAGER = "manager"
    ADMIN = "admin"
    REGIONAL = "regional"

    @property
    def label(self) -> Text:
        return ROLE_LABELS[self]

    @property
    def manages(self) -> bool:
        return self in (AccountRole.MANAGER, AccountRole.ADMIN)

    @property
    def works_in_branches(self) -> bool:
        """Signs in to counters and the branch's screens (everyone but the read-only regional role)."""
        return self != AccountRole.REGIONAL


ROLE_LABELS = {
    AccountRole.STAFF: Text("员工", "Staff"),
    AccountRole.MANAGER: Text("营业厅经理", "Branch manager"),
    AccountRole.ADMIN: Text("系统管理员", "Administrator"),
    AccountRole.REGIONAL: Text("区域（只读）", "Regional (read-only)"),
}
STAFF_ROLES = tuple(role.value for role in AccountRole)


def check_password_hash(value: str, field: str = "password_hash") -> str:
    """A hash werkzeug can check; never a password in clear."""
    if not value.startswith(("scrypt:", "pbkdf2:")):
        raise InvalidValue(field, "must be a hash made by `make password` (scrypt:... or pbkdf2:...)")
    return value


def check_staff_role(value: str, field: str = "role") -> str:
    if value not in STAFF_ROLES:
        raise InvalidValue(field, f"must be one of {', '.join(STAFF_ROLES)}, got {value!r}", Problem.NOT_ONE_OF,
                           allowed=STAFF_ROLES, value=value)
    return value


def check_photo(value: str | None, username: str, field: str = "photo") -> str | None:
    """A path on this server (never another site: the rating pad shows it to customers), or None."""
    if value is not None and not (value.startswith("/") and not value.startswith("//")):
        raise InvalidValue(field, f'must be a path on this server such as "/static/staff/{username}.jpg", '
                                  f"got {value!r}")
    return value


@dataclass(frozen=True)
class StaffAccount:
    username: str
    display_name: str
    password_hash: str
    role: str  # an AccountRole
    branches: tuple[str, ...]  # empty means every branch (an admin's are ignored: every branch)
    photo: str | None = None  # a path on this server ("/static/staff/zhang.wei.jpg") the rating pad shows
    disabled: bool = False  # may not sign in; its sessions have ended (the account stays for the history)
    must_change_password: bool = False  # set by an administrator's reset: the next sign-in chooses a new one
    regions: tuple[str, ...] = ()  # a regional account's regions (the branches whose ``region`` is one of them)

    def __post_init__(self) -> None:
        check_username(self.username)
        check_password_hash(self.password_hash)
        check_staff_role(self.role)
        check_photo(self.photo, self.username)


# --- queue rules -------------------------------------------------------------------------------------------

TRANSFER_PLACEMENTS = ("front", "keep_place")


def check_transfer_placement(value: str, field: str = "transfer_placement") -> str:
    if value not in TRANSFER_PLACEMENTS:
        raise InvalidValue(field, f'must be "front" or "keep_place", got {value!r}', Problem.NOT_ONE_OF,
                           allowed=TRANSFER_PLACEMENTS, value=value)
    return value


UNDO_NO_SHOW_SECONDS = (1, 60)
"""An undo is for a mistaken tap noticed at once; longer than a minute and the counter has moved on."""


def check_undo_no_show(value: timedelta, field: str = "undo_no_show_s") -> timedelta:
    low, high = UNDO_NO_SHOW_SECONDS
    if not timedelta(seconds=low) <= value <= timedelta(seconds=high):
        raise InvalidValue(field, f"must be {low}-{high} seconds, got {value.total_seconds():g}",
                           Problem.OUT_OF_RANGE, min=low, max=high, unit="s", value=value.total_seconds())
    return value


@dataclass(frozen=True)
class QueueRules:
    policy: PolicyRules
    transfer_placement: str  # "front" or "keep_place"
    reactivate_window: timedelta
    idempotency_ttl: timedelta
    recent_calls: int
    day_end_grace: timedelta = timedelta(hours=1)  # a service day ends this long after the branch closes
    staff_may_stop_issuing: bool = False  # besides the branch's managers
    undo_no_show: timedelta = timedelta(seconds=10)  # how long staff may take back a no-show (a mistaken tap)
    pause_alert: timedelta = timedelta(minutes=15)  # a counter paused longer alerts the managers

    def __post_init__(self) -> None:
        check_transfer_placement(self.transfer_placement)
        check_duration(self.reactivate_window, "reactivate_window")
        check_undo_no_show(self.undo_no_show, "undo_no_show")
        check_duration(self.idempotency_ttl, "idempotency_ttl")
        check_at_least(self.recent_calls, 1, "recent_calls")
        check_day_end_grace(self.day_end_grace)
        check_pause_alert(self.pause_alert)


MAX_DAY_END_GRACE = timedelta(hours=12)
MAX_PAUSE_ALERT = timedelta(hours=8)


def check_pause_alert(value: timedelta, field: str = "pause_alert") -> timedelta:
    """How long a counter may stay paused before the managers are alerted: 1 minute to 8 hours."""
    if not timedelta(minutes=1) <= value <= MAX_PAUSE_ALERT:
        raise InvalidValue(field, f"must be between 1 and {int(MAX_PAUSE_ALERT.total_seconds() // 60)} minutes",
                           Problem.OUT_OF_RANGE, min=1, max=int(MAX_PAUSE_ALERT.total_seconds() // 60), unit="min")
    return value


def check_day_end_grace(value: timedelta, field: str = "day_end_grace") -> timedelta:
    """How long after closing the day ends: not negative, at most 12 hours (the day ends at midnight anyway)."""
    check_duration(value, field)
    if value > MAX_DAY_END_GRACE:
        raise InvalidValue(field, f"must be at most {int(MAX_DAY_END_GRACE.total_seconds() // 60)} minutes",
                           Problem.TOO_LARGE, max=int(MAX_DAY_END_GRACE.total_seconds() // 60), unit="min")
    return value


# --- ratings -----------------------------------------------------------------------------------------------

# The scores of each rating scale, best first, with the words the pad and the phone page show.
RATING_SCALES: dict[str, tuple[tuple[int, Text], ...]] = {
    "three": ((3, Text("非常满意", "Very satisfied")), (2, Text("满意", "Satisfied")),
              (1, Text("不满意", "Dissatisfied"))),
    "five": ((5, Text("非常满意", "Very satisfied")), (4, Text("满意", "Satisfied")), (3, Text("一般", "Neutral")),
             (2, Text("不满意", "Dissatisfied")), (1, Text("非常不满意", "Very dissatisfied"))),
}
DEFAULT_DISSATISFIED_SCORES = {"three": (1,), "five": (1, 2)}
MAX_REASON_CHIPS = 12


@dataclass(frozen=True)
class ReasonChip:
    """A tap-able reason on the rating pad ("waited too long", "friendly staff")."""

    code: str
    text: Text

    def __post_init__(self) -> None:
        check_code(self.code)
        check_text(self.text, "text")


DEFAULT_LOW_REASONS = (
    ReasonChip("WAIT_LONG", Text("等待时间太长", "Waited too long")),
    ReasonChip("ATTITUDE", Text("服务态度不好", "Unfriendly service")),
    ReasonChip("SLOW", Text("办理速度慢", "Service too slow")),
    ReasonChip("NOT_SOLVED", Text("问题没有解决", "Problem not solved")),
    ReasonChip("UNCLEAR", Text("解释不清楚", "Explanation unclear")),
)
DEFAULT_HIGH_REASONS = (
    ReasonChip("FRIENDLY", Text("热情周到", "Friendly and attentive")),
    ReasonChip("FAST", Text("办理高效", "Quick and efficient")),
    ReasonChip("PROFESSIONAL", Text("专业耐心", "Knowledgeable and patient")),
    ReasonChip("SOLVED", Text("问题已解决", "Problem solved")),
)


def check_rating_scale(value: str, field: str = "scale") -> str:
    if value not in RATING_SCALES:
        raise InvalidValue(field, f'must be "three" or "five", got {value!r}', Problem.NOT_ONE_OF,
                           allowed=("three", "five"), value=value)
    return value


def check_reason_chips(chips: Sequence[ReasonChip], field: str) -> tuple[ReasonChip, ...]:
    if len(chips) > MAX_REASON_CHIPS:
        raise InvalidValue(field, f"at most {MAX_REASON_CHIPS} reasons fit on the pad", Problem.TOO_MANY,
                           max=MAX_REASON_CHIPS)
    return tuple(chips)


def check_pad_timeout(value: int, rating_window: timedelta, field: str = "pad_timeout_s") -> int:
    """Seconds the pad waits for a rating: at least 1 and within the rating window."""
    check_at_least(value, 1, field)
    if value > rating_window.total_seconds():
        window_min = rating_window.total_seconds() / 60
        raise InvalidValue(field, f"must not be longer than rating_window_min ({window_min:g} min), got {value}",
                           Problem.CONFLICT)
    return value


def check_dissatisfied_scores(scores: Sequence[object], scale: str,
                              field: str = "dissatisfied_scores") -> tuple[int, ...]:
    """Scores of ``scale`` that count as dissatisfied, each once, and not all of them; returned sorted."""
    valid = {score for score, _label in RATING_SCALES[scale]}
    for score in scores:
        if not (isinstance(score, int) and not isinstance(score, bool) and score in valid):
            raise InvalidValue(field, f"{score!r} is not a score of the {scale} scale "
                                      f"({', '.join(map(str, sorted(valid)))})")
    if len(set(scores)) != len(scores):
        raise InvalidValue(field, "a score is listed twice", Problem.DUPLICATE)
    if set(scores) == valid:
        raise InvalidValue(field, "at least one score must count as satisfied", Problem.CONFLICT)
    return tuple(sorted(score for score in scores if isinstance(score, int)))


@dataclass(frozen=True)
class RatingSettings:
    """How customers rate a finished service (``[ratings]``); low reasons go with dissatisfied scores."""

    scale: str = "three"  # "three" (very satisfied / satisfied / dissatisfied) or "five" (1-5 stars)
    low_reasons: tuple[ReasonChip, ...] = DEFAULT_LOW_REASONS
    high_reasons: tuple[ReasonChip, ...] = DEFAULT_HIGH_REASONS
    pad_timeout_s: int = 60
    rating_window: timedelta = timedelta(minutes=30)
    dissatisfied_scores: tuple[int, ...] = DEFAULT_DISSATISFIED_SCORES["three"]

    def __post_init__(self) -> None:
        check_rating_scale(self.scale)
        check_reason_chips(self.low_reasons, "low_reasons")
        check_reason_chips(self.high_reasons, "high_reasons")
        check_duration(self.rating_window, "rating_window")
        check_pad_timeout(self.pad_timeout_s, self.rating_window)
        check_dissatisfied_scores(self.dissatisfied_scores, self.scale)

    @property
    def scores(self) -> tuple[int, ...]:
        """The scores of the scale, best first."""
        return tuple(score for score, _label in RATING_SCALES[self.scale])

    def is_dissatisfied(self, score: int) -> bool:
        return score in self.dissatisfied_scores

    def reasons_for(self, score: int) -> tuple[ReasonChip, ...]:
        """The chips offered with a score: the low ones for a dissatisfied score, else the high ones."""
        return self.low_reasons if self.is_dissatisfied(score) else self.high_reasons


# --- announcements -----------------------------------------------------------------------------------------

ANNOUNCEMENT_VOICES = ("auto", "browser", "server")
DEFAULT_ANNOUNCEMENT_TEMPLATES = Text("请 {number} 号到 {counter} 号窗口",
                                      "Number {number}, please go to counter {counter}")
DEFAULT_SERVER_VOICES = Text("cmn-latn-pinyin", "en-gb")  # espeak-ng voices (espeak-ng --voices)
MAX_REPEAT = 3
SPEECH_RATES = (80, 300)  # words per minute espeak-ng speaks intelligibly


def check_template(value: str, field: str = "template") -> str:
    """An announcement template: {number} and only the known placeholders."""
    problem = template_problem(value)
    if problem is not None:
        raise InvalidValue(field, problem)
    return value


def check_repeat(value: int, field: str = "repeat") -> int:
    check_at_least(value, 1, field)
    return int(check_at_most(value, MAX_REPEAT, field))


def check_voice(value: str, field: str = "voice") -> str:
    if value not in ANNOUNCEMENT_VOICES:
        raise InvalidValue(field, f'must be "auto", "browser" or "server", got {value!r}', Problem.NOT_ONE_OF,
                           allowed=("auto", "browser", "server"), value=value)
    return value


def check_server_voice(value: str, field: str = "server_voice") -> str:
    """An espeak-ng voice name; it reaches a command line, so nothing but a plain name passes."""
    if not _SERVER_VOICE.fullmatch(value):
        raise InvalidValue(field, f"not an espeak-ng voice name: {value!r}")
    return value


def check_speech_rate(value: int, field: str = "speech_rate") -> int:
    slowest, fastest = SPEECH_RATES
    check_at_least(value, slowest, field)
    return int(check_at_most(value, fastest, field, " words per minute"))


@dataclass(frozen=True)
class AnnouncementSettings:
    """How wall displays call a ticket (``[announcements]``): a chime, then the text in each language.

    ``voice``: "auto" (the browser's own voice for a language when it has one, else audio made by the
    server with espeak-ng), "browser" or "server". Templates use {number}, {counter} and {counter_name}.
    """

    languages: tuple[str, ...] = ("zh-CN", "en")
    templates: Text = DEFAULT_ANNOUNCEMENT_TEMPLATES
    repeat: int = 1  # each call (and each recall) is spoken this many times
    chime: bool = True
    voice: str = "auto"
    server_voices: Text = DEFAULT_SERVER_VOICES
    speech_rate: int = 150  # words per minute for the server's voice

    def __post_init__(self) -> None:
        check_languages(self.languages)
        for language, template in self.templates.as_dict().items():
            check_template(template, f"templates.{language}")
        check_repeat(self.repeat)
        check_voice(self.voice)
        for language, voice in self.server_voices.as_dict().items():
            check_server_voice(voice, f"server_voices.{language}")
        check_speech_rate(self.speech_rate)

    def template(self, language: str) -> str:
        return self.templates.as_dict()[language]

    def server_voice(self, language: str) -> str:
        return self.server_voices.as_dict()[language]
