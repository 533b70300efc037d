"""Loading and validating ``config.toml``: the TOML loader of the hall model and the deployment settings.

It builds a :class:`~server.settings.HallConfig`: the deployment settings (``server/settings.py``) and the hall
model (``server/domain/hall.py``). The value rules of the hall model live with the model; this module reads each
key, applies the rule and turns a refusal into a :class:`ConfigError` whose message names the offending key
(``branches[0].services[2].prefix: ...``); ``python -m server`` prints it and exits without a traceback. Rules
that relate values to each other (unique codes, known references) and the rules of the deployment settings are
checked here.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import secrets
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from server.domain.booking import BranchBooking, Location, ServiceBooking
from server.domain.devices import DeviceSettings, PriorityFrom, check_device_kinds
from server.domain.follow_ups import FollowUpRules
from server.domain.hall import (
    DEFAULT_ANNOUNCEMENT_TEMPLATES,
    DEFAULT_COLOUR,
    DEFAULT_DISSATISFIED_SCORES,
    DEFAULT_HIGH_REASONS,
    DEFAULT_ICON,
    DEFAULT_LOW_REASONS,
    DEFAULT_OVERFLOW_NOTICE,
    DEFAULT_SERVER_VOICES,
    LANGUAGES,
    AnnouncementSettings,
    Branch,
    Category,
    Counter,
    DisplayZone,
    InvalidValue,
    Kiosk,
    Overflow,
    QueueRules,
    RatingSettings,
    ReasonChip,
    Service,
    StaffAccount,
    Text,
    check_at_least,
    check_code,
    check_colour,
    check_counter_role,
    check_counter_services,
    check_daily_cap,
    check_day_end_grace,
    check_dissatisfied_scores,
    check_kiosk_timing,
    check_language,
    check_languages,
    check_number_width,
    check_pad_timeout,
    check_password_hash,
    check_pause_alert,
    check_photo,
    check_positive,
    check_prefix,
    check_rating_scale,
    check_reason_chips,
    check_repeat,
    check_server_voice,
    check_speech_rate,
    check_staff_role,
    check_start_number,
    check_template,
    check_text,
    check_transfer_placement,
    check_undo_no_show,
    check_username,
    check_voice,
    minutes,
    parse_printer,
    time_zone,
)
from server.domain.issuing import LastTicket
from server.domain.limits import IssueLimits, Network, Rate, parse_network
from server.domain.notifications import NotificationSettings, check_positions
from server.domain.overflow import SelfService, check_alternatives, check_margin_min, check_nearby_km
from server.domain.policy import PolicyRules
from server.domain.privacy import Retention
from server.domain.remote import ServiceRemote, check_per_phone_day
from server.domain.schedule import (
    ALL_DAY,
    WEEKDAYS,
    DayHours,
    ScheduleException,
    WeeklyHours,
    check_weekday,
)
from server.domain.tickets import PriorityClass
from server.domain.values import Problem, ValueFormat, check_not_blank, plain
from server.settings import (
    MEDIA_DEFAULT_DIRECTORY,
    MEDIA_STORES,
    HallConfig,
    LimitSettings,
    MediaSettings,
    ServerSettings,
)

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration is unusable; the message names the key and the problem. ``code`` and ``params`` say the
    problem for a program (:class:`~server.domain.values.Problem`), so a page can word it in its reader's language."""

    def __init__(self, message: str, code: Problem = Problem.INVALID, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.params = plain(params)

    @classmethod
    def of(cls, key: str, refusal: InvalidValue) -> ConfigError:
        """A value rule's refusal of the value at ``key``, its problem kept."""
        return cls(f"{key}: {refusal.problem}", refusal.code, **refusal.params)


# --- small typed readers; each names the key it reads in its error ---------------------------------


class _Reader:
    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path or 'config'}: must be a table", Problem.WRONG_TYPE, expected="table")
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kind: type[T] | tuple[type, ...], default: Any, required: bool) -> Any:
        if name not in self.data:
            if required:
                raise ConfigError(f"{self.key(name)}: missing (required)", Problem.REQUIRED)
            return default
        value = self.data[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ConfigError(f"{self.key(name)}: must be {_article(expected)}, got {value!r}", Problem.WRONG_TYPE,
                              expected=expected)
        return value

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        return self._get(name, str, default, required)

    def int(self, name: str, default: int | None = None, *, required: bool = False, minimum: int | None = None) -> Any:
        value = self._get(name, int, default, required)
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(f"{self.key(name)}: must be at least {minimum}, got {value}", Problem.TOO_SMALL,
                              min=minimum, value=value)
        return value

    def number(self, name: str, default: float | None = None, *, required: bool = False, positive: bool = False) -> Any:
        value = self._get(name, (int, float), default, required)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{self.key(name)}: must be a finite number, got {value!r}", Problem.WRONG_TYPE,
                              expected="number")
        if value is not None and abs(value) > 1_000_000:
            raise ConfigError(f"{self.key(name)}: out of range, got {value!r}", Problem.OUT_OF_RANGE,
                              min=-1_000_000, max=1_000_000, value=value)
        if value is not None and positive and value <= 0:
            raise ConfigError(f"{self.key(name)}: must be greater than 0, got {value}", Problem.NOT_POSITIVE,
                              value=value)
        return value

    def list(self, name: str, *, required: bool = False) -> list[Any]:
        return self._get(name, list, [], required)

    def flag(self, name: str, default: bool) -> bool:
        return self._get(name, bool, default, False)

    def tables(self, name: str, *, required: bool = False) -> list[_Reader]:
        items = self.list(name, required=required)
        return [_Reader(item, f"{self.key(name)}[{i}]") for i, item in enumerate(items)]

    def table(self, name: str) -> _Reader:
        return _Reader(self._get(name, dict, {}, False), self.key(name))

    def check(self, name: str, ok: bool, problem: str, code: Problem = Problem.INVALID, **params: Any) -> None:
        """Refuse key ``name`` unless ``ok``: ``problem`` in English, ``code`` and ``params`` for a program."""
        if not ok:
            raise ConfigError(f"{self.key(name)}: {problem}", code, **params)

    def unknown_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise ConfigError(f"{self.key(name)}: unknown key (allowed: {', '.join(sorted(allowed))})",
                                  Problem.UNKNOWN_KEY, allowed=sorted(allowed))


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _rule(reader: _Reader, name: str, rule: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Apply a value rule of the hall model to the value of key ``name``; a refusal names that key."""
    try:
        return rule(*args, **kwargs)
    except InvalidValue as exc:
        raise ConfigError.of(reader.key(name), exc) from None


def _build(reader: _Reader, make: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Make a model object from values the loader has checked already.

    The model checks them again; should a rule ever escape the loader's own checks, the refusal is still a
    ConfigError (naming the model's field within this table) rather than a traceback.
    """
    try:
        return make(*args, **kwargs)
    except InvalidValue as exc:
        raise ConfigError.of(reader.key(exc.field), exc) from None


def _day_hours(reader: _Reader, name: str, *, required: bool = False) -> DayHours | None:
    """A day's hours: "closed" or ranges ("09:00-12:00, 13:30-17:00"); None when absent and not required."""
    raw = reader.str(name, required=required)
    return None if raw is None else _rule(reader, name, DayHours.parse, raw)


def _weekly_hours(reader: _Reader, default: DayHours | None) -> WeeklyHours:
    """``hours`` (every day; ``default`` when absent) and ``hours_by_day = { sat = "...", sun = "closed" }``."""
    by_day = reader.table("hours_by_day")
    days: dict[str, DayHours] = {}
    for day in by_day.data:
        _rule(by_day, day, check_weekday, day, by_day.key(day))
        hours = _day_hours(by_day, day)
        assert hours is not None
        days[day] = hours
    days = {day: days[day] for day in WEEKDAYS if day in days}
    own = _day_hours(reader, "hours")
    return WeeklyHours.of(default if own is None else own, days)


def _date(reader: _Reader, name: str, *, required: bool = False) -> date | None:
    """A TOML local date (``2026-10-01``, no quotes, no time)."""
    if name not in reader.data and not required:
        return None
    value = reader.data.get(name)
    reader.check(name, name in reader.data, "missing (required)", Problem.REQUIRED)
    reader.check(name, isinstance(value, date) and not isinstance(value, datetime),
                 f"must be a date such as 2026-10-01 (no quotes, no time), got {value!r}", Problem.BAD_FORMAT,
                 format=ValueFormat.DATE, value=value)
    return value


def _load_exceptions(branch: _Reader, service_codes: set[str]) -> tuple[ScheduleException, ...]:
    """``[[branches.exceptions]]``: ``date``, ``until``, ``hours``, ``name``, ``services`` (default: all)."""
    exceptions: list[ScheduleException] = []
    for item in branch.tables("exceptions"):
        item.unknown_keys({"date", "until", "hours", "name", "services"})
        first = _date(item, "date", required=True)
        last = _date(item, "until")
        assert first is not None
        if last is not None:
            item.check("until", last >= first, f"must not be before date ({first.isoformat()}), got {last.isoformat()}",
                       Problem.TOO_SMALL, min=first.isoformat(), value=last.isoformat())
        hours = _day_hours(item, "hours", required=True)
        assert hours is not None
        name = _text(item, "name") if "name" in item.data else None
        services = item.list("services")
        for code in services:
            item.check("services", isinstance(code, str) and code in service_codes, f"unknown service {code!r}",
                       Problem.UNKNOWN_REFERENCE, kind="service", value=code)
        item.check("services", len(set(services)) == len(services), "a service is listed twice", Problem.DUPLICATE)
        exception = _build(item, ScheduleException, first=first, last=last or first, hours=hours, name=name,
                           services=tuple(services))
        for j, earlier in enumerate(exceptions):
            item.check("date", not exception.clashes_with(earlier),
                       f"{exception.describe()} overlaps {branch.key('exceptions')}[{j}] ({earlier.describe()})",
                       Problem.OVERLAP)
        exceptions.append(exception)
    return tuple(exceptions)


def _text(reader: _Reader, name: str) -> Text:
    table = reader.table(name)
    reader.check(name, name in reader.data, "missing (required): a table with zh-CN and en names", Problem.REQUIRED)
    zh = table.str("zh-CN", required=True)
    en = table.str("en", required=True)
    text = Text(zh=zh, en=en)
    try:
        check_text(text)
    except InvalidValue as exc:  # names the language: name.zh-CN
        raise ConfigError.of(table.key(exc.field), exc) from None
    table.unknown_keys({"zh-CN", "en"})
    return text


def _zone(reader: _Reader, name: str, default: ZoneInfo | None) -> ZoneInfo:
    raw = reader.str(name, required=default is None)
    if raw is None:
        assert default is not None
        return default
    return _rule(reader, name, time_zone, raw)


def _minutes(reader: _Reader, name: str, default: float, *, positive: bool = False) -> timedelta:
    """A duration in minutes; ``positive``: the hall's rule for a target, a window or a lockout (above 0)."""
    value = reader.number(name, default)
    if positive:
        return _rule(reader, name, minutes, value, name)
    return timedelta(minutes=value)


def _load_server(root: _Reader, base_dir: Path) -> ServerSettings:
    server = root.table("server")
    server.unknown_keys(
        {"host", "port", "database_url", "redis_url", "secret_key_file", "timezone", "languages", "sqlite_synchronous",
         "public_url", "sign_in_attempts", "sign_in_lockout_min", "proxy_hops", "display_frame_ancestors",
         "session_cookie_secure", "session_idle_min", "session_lifetime_hours", "allow_demo_passwords",
         "metrics_from"}
    )
    port = server.int("port", 8080, minimum=0)
    server.check("port", port <= 65535, f"must be a TCP port (0-65535), got {port}")
    database_url = os.environ.get("HALL_DATABASE_URL") or server.str("database_url", "sqlite:///var/hall.sqlite3")
    if not database_url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        raise ConfigError(f"server.database_url: must start with sqlite:/// or postgresql://, got {database_url!r}")
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        relative = database_url.removeprefix("sqlite:///")
        database_url = f"sqlite:///{(base_dir / relative).resolve()}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    redis_url = os.environ.get("HALL_REDIS_URL") or server.str("redis_url", "") or None
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"server.redis_url: must start with redis://, got {redis_url!r}")
    languages = tuple(server.list("languages") or LANGUAGES)
    for lang in languages:  # repeats are tolerated here (they always were); [announcements] refuses them
        _rule(server, "languages", check_language, lang)
    synchronous = server.str("sqlite_synchronous", "full").lower()
    server.check("sqlite_synchronous", synchronous in ("full", "extra", "normal"), "must be full, extra or normal")
    return ServerSettings(
        host=server.str("host", "127.0.0.1"),
        port=port,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=_secret_key(server, base_dir),
        timezone=_zone(server, "timezone", ZoneInfo("Asia/Shanghai")),
        languages=languages,
        sqlite_synchronous=synchronous,
        public_url=_public_url(server),
        sign_in_attempts=server.int("sign_in_attempts", 5, minimum=1),
        sign_in_lockout=_minutes(server, "sign_in_lockout_min", 5, positive=True),
        proxy_hops=server.int("proxy_hops", 0, minimum=0),
        display_frame_ancestors=_frame_ancestors(server),
        session_cookie_secure=server.flag("session_cookie_secure", False),
        allow_demo_passwords=server.flag("allow_demo_passwords", False),
        metrics_from=_metrics_from(server),
        **_session_limits(server),
    )


def _session_limits(server: _Reader) -> dict[str, timedelta]:
    """``session_idle_min`` (240) and ``session_lifetime_hours`` (12): when a staff session ends unused, and at the
    latest. The idle limit may not exceed the lifetime (it would never apply)."""
    idle = _minutes(server, "session_idle_min", 240, positive=True)
    lifetime = timedelta(hours=server.number("session_lifetime_hours", 12, positive=True))
    server.check("session_lifetime_hours", lifetime <= timedelta(days=90), "must be at most 2160 (90 days)")
    server.check("session_idle_min", idle <= lifetime,
                 f"must not be longer than session_lifetime_hours ({lifetime.total_seconds() / 3600:g} h)")
    return {"session_idle": idle, "session_lifetime": lifetime}


def _metrics_from(server: _Reader) -> tuple[Network, ...]:
    """``server.metrics_from``: the addresses and networks that may read ``/metrics`` (loopback by default; ``[]``:
    none, only an API token that reads every branch)."""
    if "metrics_from" not in server.data:
        return ServerSettings.metrics_from
    return tuple(_rule(server, f"metrics_from[{i}]", parse_network, item, f"metrics_from[{i}]")
                 for i, item in enumerate(server.list("metrics_from")))


def _frame_ancestors(server: _Reader) -> tuple[str, ...]:
    """``server.display_frame_ancestors``: origins ("https://signage.example:8443") whose pages may show the wall
    and counter displays in a frame; none by default. Only origins: a path, a wildcard or a keyword is refused."""
    origins = []
    for item in server.list("display_frame_ancestors"):
        parts = urlsplit(item) if isinstance(item, str) else None
        ok = (parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
              and not parts.path.strip("/") and not parts.query and not parts.fragment and not parts.username
              and all(ch.isalnum() or ch in ".-:[]" for ch in parts.netloc))
        if parts is not None and ok:
            try:
                parts.port  # noqa: B018 (a bad port raises)
            except ValueError:
                ok = False
        server.check("display_frame_ancestors", ok,
                     f'each entry must be an origin like "https://signage.example:8443", got {item!r}')
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")  # type: ignore[union-attr]
    return tuple(origins)


def _public_url(server: _Reader) -> str | None:
    """``server.public_url``: the base of the ticket URLs in QR codes ("" = from each request's host)."""
    raw = server.str("public_url", "").strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    server.check("public_url", parts.scheme in ("http", "https") and bool(parts.hostname)
                 and not parts.query and not parts.fragment and " " not in raw,
                 f'must look like "http://192.168.1.10:8080" (no query), got {raw!r}')
    return raw


def _load_overflow(branch: _Reader, service_codes: set[str]) -> Overflow:
    """``[branches.overflow]``: ``wait_min`` (default 60), an optional bilingual ``notice``, and for a long wait the
    nearby branches and self-service: ``services`` (default: all), ``nearby_km`` (5), ``margin_min`` (10),
    ``[[branches.overflow.alternatives]]`` (``name``, ``text``, ``services``)."""
    overflow = branch.table("overflow")
    overflow.unknown_keys({"wait_min", "notice", "services", "nearby_km", "margin_min", "alternatives"})
    wait_min = _rule(overflow, "wait_min", check_positive, overflow.number("wait_min", 60), "wait_min")
    notice = _text(overflow, "notice") if "notice" in overflow.data else DEFAULT_OVERFLOW_NOTICE
    services = _service_list(overflow, "services", service_codes)
    nearby_km = _rule(overflow, "nearby_km", check_nearby_km, float(overflow.number("nearby_km", 5)), "nearby_km")
    margin_min = _rule(overflow, "margin_min", check_margin_min, float(overflow.number("margin_min", 10)),
                       "margin_min")
    alternatives: list[SelfService] = []
    for item in overflow.tables("alternatives"):
        item.unknown_keys({"name", "text", "services"})
        alternatives.append(_build(item, SelfService, name=_text(item, "name"), text=_text(item, "text"),
                                   services=_service_list(item, "services", service_codes)))
    _rule(overflow, "alternatives", check_alternatives, alternatives, "alternatives")
    return _build(overflow, Overflow, wait_min=float(wait_min), notice=notice, services=services,
                  nearby_km=nearby_km, margin_min=margin_min, alternatives=tuple(alternatives))


def _service_list(reader: _Reader, name: str, service_codes: set[str]) -> tuple[str, ...]:
    """A list of the branch's service codes, each once."""
    codes = reader.list(name)
    for code in codes:
        reader.check(name, isinstance(code, str) and code in service_codes, f"unknown service {code!r}")
    reader.check(name, len(set(codes)) == len(codes), "a service is listed twice")
    return tuple(codes)


def _load_devices(branch: _Reader) -> DeviceSettings:
    """``[branches.devices]``: ``require_pairing`` (kinds that work only when paired, besides rating pads, which
    always are; default none), ``prints_per_ticket`` (2), ``print_window_min`` (5), ``offline_after_s`` (90),
    ``priority_from`` (``"paired_kiosk"``: who besides staff gives priority-lane tickets, or ``"anyone"``)."""
    devices = branch.table("devices")
    devices.unknown_keys({"require_pairing", "prints_per_ticket", "print_window_min", "offline_after_s",
                          "priority_from"})
    kinds = _rule(devices, "require_pairing", check_device_kinds, devices.list("require_pairing"))
    prints = devices.int("prints_per_ticket", 2, minimum=1)
    devices.check("prints_per_ticket", prints <= 10, f"must be at most 10, got {prints}", Problem.TOO_LARGE, max=10,
                  value=prints)
    window = _minutes(devices, "print_window_min", 5, positive=True)
    offline = devices.number("offline_after_s", 90)
    devices.check("offline_after_s", 30 <= offline <= 3600, f"must be 30-3600 seconds, got {offline}",
                  Problem.OUT_OF_RANGE, min=30, max=3600, unit="s", value=offline)
    choices = [p.value for p in PriorityFrom]
    priority_from = devices.str("priority_from", PriorityFrom.PAIRED_KIOSK.value)
    devices.check("priority_from", priority_from in choices,
                  f"must be one of {', '.join(choices)}, got {priority_from!r}", Problem.NOT_ONE_OF, allowed=choices,
                  value=priority_from)
    return _build(devices, DeviceSettings, require_pairing=kinds, prints_per_ticket=prints, print_window=window,
                  offline_after=timedelta(seconds=offline), priority_from=PriorityFrom(priority_from))


def _load_service_booking(service: _Reader) -> ServiceBooking:
    """``[branches.services.booking]``: ``bookable`` (false), ``slot_min`` (30), ``per_slot`` (2), ``walk_in_share``
    (0.5) — docs/appointments.md."""
    booking = service.table("booking")
    booking.unknown_keys({"bookable", "slot_min", "per_slot", "walk_in_share"})
    default = ServiceBooking()
    return _build(booking, ServiceBooking, bookable=booking.flag("bookable", default.bookable),
                  slot_min=booking.int("slot_min", default.slot_min),
                  per_slot=booking.int("per_slot", default.per_slot),
                  walk_in_share=float(booking.number("walk_in_share", default.walk_in_share)))


def _load_service_remote(service: _Reader) -> ServiceRemote:
    """``remote = { enabled, checkin_min }`` of a service: joining from a phone before arriving
    (docs/appointments.md, "Joining from a phone")."""
    remote = service.table("remote")
    remote.unknown_keys({"enabled", "checkin_min"})
    default = ServiceRemote()
    return _build(remote, ServiceRemote, enabled=remote.flag("enabled", default.enabled),
                  checkin_min=remote.int("checkin_min", default.checkin_min))


def _load_branch_booking(branch: _Reader) -> BranchBooking:
    """``[branches.booking]``: ``horizon_days`` (14), ``change_cutoff_min`` (120), ``max_per_week`` (2),
    ``early_checkin_min`` (30), ``late_grace_min`` (10), ``late_policy`` ("walk_in" or "refuse")."""
    booking = branch.table("booking")
    names = ("horizon_days", "change_cutoff_min", "max_per_week", "early_checkin_min", "late_grace_min")
    booking.unknown_keys({*names, "late_policy"})
    default = BranchBooking()
    return _build(booking, BranchBooking, **{name: booking.int(name, getattr(default, name)) for name in names},
                  late_policy=booking.str("late_policy", default.late_policy.value))


def _load_location(branch: _Reader) -> Location:
    """A branch's ``district`` and ``address`` (``zh-CN``/``en``, optional), ``latitude`` and ``longitude``."""
    texts = {name: _text(branch, name) if name in branch.data else None for name in ("district", "address")}
    coordinates = {name: None if name not in branch.data else float(branch.number(name))
                   for name in ("latitude", "longitude")}
    return _build(branch, Location, **texts, **coordinates)


def _load_kiosks(branch: _Reader) -> tuple[Kiosk, ...]:
    """``[[branches.kiosks]]``: id, name, printer ("none", "browser", "escpos://host:port") and timings."""
    kiosks: list[Kiosk] = []
    for item in branch.tables("kiosks"):
        item.unknown_keys({"id", "name", "printer", "print_timeout_s", "status_query", "confirmation_s",
                           "idle_reset_s"})
        kiosk_id = _rule(item, "id", check_code, item.str("id", required=True), "id")
        item.check("id", kiosk_id not in {k.id for k in kiosks}, f"duplicate kiosk id {kiosk_id!r}", Problem.DUPLICATE,
                   kind="code", value=kiosk_id)
        printer, host, port = _rule(item, "printer", parse_printer, item.str("printer", "none").strip())
        timings: dict[str, float] = {}
        for name, default in (("print_timeout_s", 5), ("confirmation_s", 20), ("idle_reset_s", 60)):
            timings[name] = float(_rule(item, name, check_kiosk_timing, item.number(name, default), name))
        kiosks.append(_build(item, Kiosk, id=kiosk_id, name=_text(item, "name"), printer=printer, printer_host=host,
                             printer_port=port, status_query=item.flag("status_query", True), **timings))
    return tuple(kiosks)


def _secret_key(server: _Reader, base_dir: Path) -> str:
    """The session signing key: $HALL_SECRET_KEY, else a file that is created once with a random key."""
    from_env = os.environ.get("HALL_SECRET_KEY")
    if from_env:
        return from_env
    path = base_dir / server.str("secret_key_file", "var/secret_key")
    try:
        if path.exists():
            key = path.read_text().strip()
            server.check("secret_key_file", len(key) >= 32, f"{path} holds a key shorter than 32 characters")
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key
    except OSError as exc:
        raise ConfigError(f"server.secret_key_file: cannot read or create {path}: {exc.strerror}") from None


_HEAD_START_KEYS = (
    "priority_head_start_min",
    "vip_head_start_min",
    "appointment_head_start_min",
    "role_head_start_min",
    "preference_step_min",
    "transfer_head_start_min",
)


def _load_queue(root: _Reader) -> QueueRules:
    queue = root.table("queue")
    queue.unknown_keys(
        {*_HEAD_START_KEYS, "transfer_placement", "reactivate_window_min", "undo_no_show_s", "idempotency_ttl_hours",
         "recent_calls", "day_end_grace_min", "staff_may_stop_issuing", "pause_alert_min"}
    )
    placement = _rule(queue, "transfer_placement", check_transfer_placement, queue.str("transfer_placement", "front"))
    head_starts = {
        PriorityClass.NORMAL: timedelta(0),
        PriorityClass.PRIORITY: _minutes(queue, "priority_head_start_min", 15),
        PriorityClass.VIP: _minutes(queue, "vip_head_start_min", 15),
        PriorityClass.APPOINTMENT: _minutes(queue, "appointment_head_start_min", 20),
    }
    for name in _HEAD_START_KEYS:
        _rule(queue, name, minutes, queue.number(name, 0), name, positive=False)
    policy = PolicyRules(
        head_start=head_starts,
        role_head_start=_minutes(queue, "role_head_start_min", 30),
        preference_step=_minutes(queue, "preference_step_min", 10),
        transfer_head_start=_minutes(queue, "transfer_head_start_min", 30) if placement == "front" else timedelta(0),
    )
    reactivate_window = _minutes(queue, "reactivate_window_min", 30, positive=True)
    undo_no_show = _rule(queue, "undo_no_show_s", check_undo_no_show,
                         timedelta(seconds=queue.number("undo_no_show_s", 10)))
    ttl_hours = _rule(queue, "idempotency_ttl_hours", check_positive,
                      queue.number("idempotency_ttl_hours", 24), "idempotency_ttl_hours")
    recent_calls = _rule(queue, "recent_calls", check_at_least, queue.int("recent_calls", 10), 1, "recent_calls")
    grace = _rule(queue, "day_end_grace_min", minutes, queue.number("day_end_grace_min", 60), "day_end_grace_min",
                  positive=False)
    _rule(queue, "day_end_grace_min", check_day_end_grace, grace, "day_end_grace_min")
    pause_alert = _rule(queue, "pause_alert_min", check_pause_alert,
                        timedelta(minutes=queue.number("pause_alert_min", 15)), "pause_alert_min")
    return _build(queue, QueueRules, policy=policy, transfer_placement=placement, reactivate_window=reactivate_window,
                  idempotency_ttl=timedelta(hours=ttl_hours), recent_calls=recent_calls, undo_no_show=undo_no_show,
                  day_end_grace=grace, staff_may_stop_issuing=queue.flag("staff_may_stop_issuing", False),
                  pause_alert=pause_alert)


def _load_branch(branch: _Reader, server: ServerSettings) -> Branch:
    branch.unknown_keys({"code", "name", "timezone", "hours", "hours_by_day", "exceptions", "categories",
                         "services", "counters", "zones", "kiosks", "overflow", "devices", "region",
                         "booking", "district", "address", "latitude", "longitude"})
    code = _rule(branch, "code", check_code, branch.str("code", required=True))
    region = branch.str("region")
    if region is not None:
        _rule(branch, "region", check_code, region, "region")
    hours = _weekly_hours(branch, ALL_DAY)

    categories: list[Category] = []
    for item in branch.tables("categories"):
        item.unknown_keys({"code", "name", "icon", "colour"})
        cat_code = _rule(item, "code", check_code, item.str("code", required=True))
        item.check("code", cat_code not in {c.code for c in categories}, f"duplicate category code {cat_code!r}",
                   Problem.DUPLICATE, kind="code", value=cat_code)
        colour = _rule(item, "colour", check_colour, item.str("colour", DEFAULT_COLOUR))
        categories.append(_build(item, Category, cat_code, _text(item, "name"), item.str("icon", DEFAULT_ICON), colour))
    category_codes = {c.code for c in categories}

    services: list[Service] = []
    for item in branch.tables("services", required=True):
        item.unknown_keys(
            {
                "code",
                "prefix",
                "name",
                "parent",
                "target_wait_min",
                "expected_service_min",
                "daily_cap",
                "hours",
                "hours_by_day",
                "last_ticket",
                "start_number",
                "number_width",
                "icon",
                "colour",
                "booking",
                "remote",
            }
        )
        svc_code = _rule(item, "code", check_code, item.str("code", required=True))
        item.check("code", svc_code not in {s.code for s in services}, f"duplicate service code {svc_code!r}",
                   Problem.DUPLICATE, kind="code", value=svc_code)
        item.check("code", svc_code not in category_codes, f"{svc_code!r} is already a category code",
                   Problem.DUPLICATE, kind="code", value=svc_code)
        prefix = _rule(item, "prefix", check_prefix, item.str("prefix", required=True))
        item.check(
            "prefix", prefix not in {s.prefix for s in services}, f"prefix {prefix!r} is used by another service",
            Problem.DUPLICATE, kind="prefix", value=prefix)
        parent = item.str("parent")
        if parent is not None:
            item.check("parent", parent in category_codes, f"no category with code {parent!r} in this branch",
                       Problem.UNKNOWN_REFERENCE, kind="category", value=parent)
        daily_cap = _rule(item, "daily_cap", check_daily_cap, item.int("daily_cap"))
        width = _rule(item, "number_width", check_number_width, item.int("number_width", 3))
        colour = _rule(item, "colour", check_colour, item.str("colour", DEFAULT_COLOUR))
        services.append(
            _build(
                item,
                Service,
                code=svc_code,
                prefix=prefix,
                name=_text(item, "name"),
                parent=parent,
                target_wait=_minutes(item, "target_wait_min", 15, positive=True),
                expected_service=_minutes(item, "expected_service_min", 5, positive=True),
                daily_cap=daily_cap,
                hours=_weekly_hours(item, None),  # None: the branch's hours
                start_number=_rule(item, "start_number", check_start_number, item.int("start_number", 1)),
                number_width=width,
                icon=item.str("icon", DEFAULT_ICON),
                colour=colour,
                last_ticket=None if item.str("last_ticket") is None else _rule(
                    item, "last_ticket", LastTicket.parse, item.str("last_ticket"), "last_ticket"),
                booking=_load_service_booking(item),
                remote=_load_service_remote(item),
            )
        )
    branch.check("services", bool(services), "at least one service is needed", Problem.TOO_FEW, min=1)
    service_codes = {s.code for s in services}

    counters: list[Counter] = []
    for item in branch.tables("counters", required=True):
        item.unknown_keys({"number", "name", "services", "role"})
        number = _rule(item, "number", check_code, item.str("number", required=True), "number")
        item.check("number", number not in {c.number for c in counters}, f"duplicate counter number {number!r}",
                   Problem.DUPLICATE, kind="code", value=number)
        served = item.list("services", required=True)
        for svc in served:
            item.check("services", isinstance(svc, str) and svc in service_codes, f"unknown service {svc!r}",
                       Problem.UNKNOWN_REFERENCE, kind="service", value=svc)
        # after the look-up above, which is what names a wrong entry (and keeps unhashable ones from set())
        _rule(item, "services", check_counter_services, served)
        role = _rule(item, "role", check_counter_role, item.str("role", "normal"))
        counters.append(_build(item, Counter, number, _text(item, "name"), tuple(served), role))
    branch.check("counters", bool(counters), "at least one counter is needed", Problem.TOO_FEW, min=1)
    unserved = service_codes - {s for c in counters for s in c.services}
    branch.check("services", not unserved, f"no counter serves {', '.join(sorted(unserved))}", Problem.UNSERVED,
                 services=sorted(unserved))

    zones: list[DisplayZone] = []
    counter_numbers = {c.number for c in counters}
    for item in branch.tables("zones"):
        item.unknown_keys({"code", "name", "services", "counters"})
        zone_code = _rule(item, "code", check_code, item.str("code", required=True))
        item.check("code", zone_code not in {z.code for z in zones}, f"duplicate zone code {zone_code!r}",
                   Problem.DUPLICATE, kind="code", value=zone_code)
        zone_services = item.list("services") or [s.code for s in services]
        for svc in zone_services:
            item.check("services", isinstance(svc, str) and svc in service_codes, f"unknown service {svc!r}",
                       Problem.UNKNOWN_REFERENCE, kind="service", value=svc)
        zone_counters = item.list("counters") or [
            c.number for c in counters if set(c.services) & set(zone_services)]
        for number in zone_counters:
            item.check("counters", isinstance(number, str) and number in counter_numbers,
                       f"unknown counter {number!r} (counter numbers are strings)",
                       Problem.UNKNOWN_REFERENCE, kind="counter", value=number)
        zones.append(_build(item, DisplayZone, zone_code, _text(item, "name"), tuple(zone_services),
                            tuple(zone_counters)))

    return _build(
        branch,
        Branch,
        code=code,
        name=_text(branch, "name"),
        timezone=_zone(branch, "timezone", server.timezone),
        hours=hours,
        categories=tuple(categories),
        services=tuple(services),
        counters=tuple(counters),
        zones=tuple(zones),
        kiosks=_load_kiosks(branch),
        overflow=_load_overflow(branch, service_codes),
        exceptions=_load_exceptions(branch, service_codes),
        devices=_load_devices(branch),
        region=region,
        booking=_load_branch_booking(branch),
        location=_load_location(branch),
    )


def _regions(item: _Reader, role: str, known: set[str]) -> tuple[str, ...]:
    """A regional account's regions: each one some branch's ``region``; other roles have none."""
    regions = item.list("regions")
    for code in regions:
        item.check("regions", isinstance(code, str) and code in known,
                   f"no branch is in region {code!r}" + (f" (regions: {', '.join(sorted(known))})" if known else ""))
    item.check("regions", not regions or role == "regional", "only a regional account has regions")
    item.check("regions", bool(regions) or role != "regional", "a regional account needs its regions")
    return tuple(regions)


def _load_staff(root: _Reader, branch_codes: set[str], regions: set[str] | None = None) -> tuple[StaffAccount, ...]:
    regions = regions or set()
    accounts: list[StaffAccount] = []
    for item in root.tables("staff"):
        item.unknown_keys({"username", "display_name", "password_hash", "role", "branches", "photo", "disabled",
                           "must_change_password", "regions"})
        username = _rule(item, "username", check_username, item.str("username", required=True))
        item.check("username", username not in {a.username for a in accounts}, f"duplicate username {username!r}",
                   Problem.DUPLICATE, value=username)
        password_hash = _rule(item, "password_hash", check_password_hash, item.str("password_hash", required=True))
        role = _rule(item, "role", check_staff_role, item.str("role", "staff"))
        branches = item.list("branches")
        for code in branches:
            item.check("branches", isinstance(code, str) and code in branch_codes, f"unknown branch {code!r}",
                       Problem.UNKNOWN_REFERENCE, kind="branch", value=code)
        photo = _rule(item, "photo", check_photo, item.str("photo", "") or None, username)
        accounts.append(_build(item, StaffAccount, username, item.str("display_name", username), password_hash, role,
                               tuple(branches), photo, disabled=item.flag("disabled", False),
                               must_change_password=item.flag("must_change_password", False),
                               regions=_regions(item, role, regions)))
    return tuple(accounts)


def _reason_chips(ratings: _Reader, name: str, default: tuple[ReasonChip, ...],
                  taken: set[str]) -> tuple[ReasonChip, ...]:
    """``[[ratings.low_reasons]]`` / ``[[ratings.high_reasons]]``: the defaults when the key is absent."""
    if name not in ratings.data:
        return default
    chips: list[ReasonChip] = []
    for item in ratings.tables(name):
        item.unknown_keys({"code", "text"})
        code = _rule(item, "code", check_code, item.str("code", required=True))
        item.check("code", code not in taken, f"duplicate reason code {code!r}", Problem.DUPLICATE, value=code)
        taken.add(code)
        chips.append(_build(item, ReasonChip, code, _text(item, "text")))
    return _rule(ratings, name, check_reason_chips, chips, name)


def _load_ratings(root: _Reader) -> RatingSettings:
    ratings = root.table("ratings")
    ratings.unknown_keys(
        {"scale", "low_reasons", "high_reasons", "pad_timeout_s", "rating_window_min", "dissatisfied_scores"}
    )
    scale = _rule(ratings, "scale", check_rating_scale, ratings.str("scale", "three"))
    taken: set[str] = set()
    low_reasons = _reason_chips(ratings, "low_reasons", DEFAULT_LOW_REASONS, taken)
    high_reasons = _reason_chips(ratings, "high_reasons", DEFAULT_HIGH_REASONS, taken)
    window = _minutes(ratings, "rating_window_min", 30, positive=True)
    pad_timeout_s = _rule(ratings, "pad_timeout_s", check_pad_timeout, ratings.int("pad_timeout_s", 60), window)
    if "dissatisfied_scores" in ratings.data:
        dissatisfied = ratings.list("dissatisfied_scores")
    else:
        dissatisfied = list(DEFAULT_DISSATISFIED_SCORES[scale])
    dissatisfied_scores = _rule(ratings, "dissatisfied_scores", check_dissatisfied_scores, dissatisfied, scale)
    return _build(
        ratings,
        RatingSettings,
        scale=scale,
        low_reasons=low_reasons,
        high_reasons=high_reasons,
        pad_timeout_s=pad_timeout_s,
        rating_window=window,
        dissatisfied_scores=dissatisfied_scores,
    )


def _language_table(reader: _Reader, name: str, default: Text, languages: tuple[str, ...]) -> Text:
    """A ``{ "zh-CN" = ..., en = ... }`` table of strings; missing languages keep their defaults."""
    if name not in reader.data:
        return default
    table = reader.table(name)
    table.unknown_keys(set(LANGUAGES))
    values = default.as_dict()
    for lang in LANGUAGES:
        value = table.str(lang, required=lang in languages)
        if value is not None:
            values[lang] = _rule(table, lang, check_not_blank, value, lang)
    return Text(zh=values["zh-CN"], en=values["en"])


def _load_announcements(root: _Reader, server: ServerSettings) -> AnnouncementSettings:
    """``[announcements]``: what the wall displays say when they call a ticket."""
    section = root.table("announcements")
    section.unknown_keys({"languages", "templates", "repeat", "chime", "voice", "server_voices", "speech_rate"})
    languages = _rule(section, "languages", check_languages, section.list("languages") or server.languages)
    templates = _language_table(section, "templates", DEFAULT_ANNOUNCEMENT_TEMPLATES, languages)
    for lang, template in templates.as_dict().items():
        _rule(section, f"templates.{lang}", check_template, template)
    repeat = _rule(section, "repeat", check_repeat, section.int("repeat", 1))
    voice = _rule(section, "voice", check_voice, section.str("voice", "auto"))
    server_voices = _language_table(section, "server_voices", DEFAULT_SERVER_VOICES, ())
    for lang, name in server_voices.as_dict().items():
        _rule(section, f"server_voices.{lang}", check_server_voice, name)
    rate = _rule(section, "speech_rate", check_speech_rate, section.int("speech_rate", 150))
    return _build(section, AnnouncementSettings, languages=languages, templates=templates, repeat=repeat,
                  chime=section.flag("chime", True), voice=voice, server_voices=server_voices, speech_rate=rate)


def _load_media(root: _Reader, server: ServerSettings, base_dir: Path) -> MediaSettings:
    """``[media]``: where uploads are kept (default: beside a SQLite database, else var/media) and limits."""
    section = root.table("media")
    section.unknown_keys({"store", "directory", "max_image_mb", "max_video_mb", "max_video_s", "image_seconds",
                          "max_items"})
    store = section.str("store", "directory").strip()
    section.check("store", store in MEDIA_STORES,
                  f"must be one of {', '.join(MEDIA_STORES)} (an object store is not built in), got {store!r}")
    raw = section.str("directory", "").strip()
    if raw:
        directory = (base_dir / raw).resolve()
    elif server.database_url.startswith("sqlite:///"):
        directory = Path(server.database_url.removeprefix("sqlite:///")).parent / "media"
    else:
        directory = (base_dir / MEDIA_DEFAULT_DIRECTORY).resolve()
    limits: dict[str, float] = {}
    for name, default, most in (("max_image_mb", 5, 50), ("max_video_mb", 50, 500), ("max_video_s", 60, 600),
                                ("image_seconds", 10, 600)):
        value = section.number(name, default, positive=True)
        section.check(name, value <= most, f"must be at most {most}, got {value}")
        limits[name] = float(value)
    max_items = section.int("max_items", 50, minimum=1)
    section.check("max_items", max_items <= 500, f"must be at most 500, got {max_items}")
    return MediaSettings(store=store, directory=directory, max_items=max_items, **limits)


SOCKET_IO_PING_CYCLE_S = 45  # Flask-SocketIO's ping interval (25 s) + ping timeout (20 s)


def _rate(section: _Reader, name: str, default: Rate | None) -> Rate | None:
    """A rate like ``"30/minute"`` or ``"off"``; absent: ``default``."""
    raw = section.str(name)
    return default if raw is None else _rule(section, name, Rate.parse, raw, name)


def _count(section: _Reader, name: str, default: int | None) -> int | None:
    """A whole number of at least 1, or 0 for no limit (None); absent: ``default``."""
    if name not in section.data:
        return default
    return section.int(name, minimum=0) or None


def _seconds(section: _Reader, name: str, default: float, *, least: float, most: float) -> float:
    value = section.number(name, default)
    section.check(name, least <= value <= most, f"must be from {least:g} to {most:g} seconds, got {value}")
    return float(value)


def _load_limits(root: _Reader, server: ServerSettings) -> LimitSettings:
    """``[limits]``: tickets per kiosk, device and address, socket joins, connections and timeouts, requests per API
    token
    (docs/security.md). Behind a proxy every connection comes from the proxy, so the cap on connections per
    address is off unless set."""
    section = root.table("limits")
    section.unknown_keys({"kiosk_tickets", "device_tickets", "device_open_tickets", "address_tickets",
                          "address_open_tickets", "kiosk_networks", "refusal_delay_s",
                          "socket_joins", "address_socket_joins",
                          "connections_per_address", "header_timeout_s", "body_timeout_s", "socket_timeout_s",
                          "send_queue", "token_requests", "booking_changes", "booking_lookups",
                          "phone_checkin_misses", "remote_per_phone_day"})
    default, issue_default = LimitSettings(), IssueLimits()
    networks = []
    for i, item in enumerate(section.list("kiosk_networks")):
        if not isinstance(item, str):
            raise ConfigError(f"{section.key('kiosk_networks')}[{i}]: must be a string, got {item!r}")
        networks.append(_rule(section, f"kiosk_networks[{i}]", parse_network, item, f"kiosk_networks[{i}]"))
    issue = IssueLimits(
        kiosk_tickets=_rate(section, "kiosk_tickets", issue_default.kiosk_tickets),
        device_tickets=_rate(section, "device_tickets", issue_default.device_tickets),
        device_open_tickets=_count(section, "device_open_tickets", issue_default.device_open_tickets),
        address_tickets=_rate(section, "address_tickets", issue_default.address_tickets),
        address_open_tickets=_count(section, "address_open_tickets", issue_default.address_open_tickets),
        kiosk_networks=tuple(networks),
    )
    per_address = default.connections_per_address if not server.proxy_hops else 0
    send_queue = section.int("send_queue", default.send_queue, minimum=10)
    section.check("send_queue", send_queue <= 100_000, f"must be at most 100000, got {send_queue}")
    return LimitSettings(
        issue=issue,
        refusal_delay_s=_seconds(section, "refusal_delay_s", default.refusal_delay_s, least=0, most=10),
        socket_joins=_rate(section, "socket_joins", default.socket_joins),
        address_socket_joins=_rate(section, "address_socket_joins", default.address_socket_joins),
        connections_per_address=section.int("connections_per_address", per_address, minimum=0),
        header_timeout_s=_seconds(section, "header_timeout_s", default.header_timeout_s, least=1, most=300),
        body_timeout_s=_seconds(section, "body_timeout_s", default.body_timeout_s, least=1, most=3600),
        # a websocket that is read from with a shorter timeout is closed between two pings
        socket_timeout_s=_seconds(section, "socket_timeout_s", default.socket_timeout_s,
                                  least=SOCKET_IO_PING_CYCLE_S + 5, most=3600),
        send_queue=send_queue,
        token_requests=_rate(section, "token_requests", default.token_requests),
        booking_changes=_rate(section, "booking_changes", default.booking_changes),
        booking_lookups=_rate(section, "booking_lookups", default.booking_lookups),
        phone_checkin_misses=_rate(section, "phone_checkin_misses", default.phone_checkin_misses),
        remote_per_phone_day=_rule(section, "remote_per_phone_day", check_per_phone_day,
                                   section.int("remote_per_phone_day", default.remote_per_phone_day)),
    )


def _load_privacy(root: _Reader) -> Retention:
    """``[privacy]``: how long call-back contacts and free text are kept (docs/privacy.md)."""
    section = root.table("privacy")
    names = ("contact_days_after_resolved", "contact_max_days", "free_text_days")
    section.unknown_keys(set(names))
    default = Retention()
    days = {name: section.int(name, getattr(default, name)) for name in names}
    return _build(section, Retention, **days)


def _load_follow_ups(root: _Reader) -> FollowUpRules:
    """``[follow_ups]``: how many wall-clock hours the hall takes to answer a case (docs/manager.md)."""
    section = root.table("follow_ups")
    section.unknown_keys({"answer_hours"})
    default = FollowUpRules()
    return _build(section, FollowUpRules, answer_hours=section.number("answer_hours", default.answer_hours,
                                                                      positive=True))


def _load_notifications(root: _Reader, base_dir: Path) -> NotificationSettings:
    """``[notifications]``: the SMS gateway, the people-ahead values per branch, the texts (docs/notifications.md)."""
    section = root.table("notifications")
    section.unknown_keys({"sms_gateway_url", "sms_auth_header", "sms_secret_file", "sms_sender", "timeout_s",
                          "notify_at_ahead", "branches", "templates", "webhook_allow_loopback"})
    default = NotificationSettings()
    secret = None
    secret_file = section.str("sms_secret_file")
    if secret_file is not None:
        path = Path(secret_file) if Path(secret_file).is_absolute() else base_dir / secret_file
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{section.key('sms_secret_file')}: cannot read {path}: {exc.strerror}") from None
        section.check("sms_secret_file", bool(secret) and "\n" not in secret, "the file must hold one line")
    header = section.str("sms_auth_header", default.sms_auth_header)
    section.check("sms_auth_header", bool(re.fullmatch(r"[A-Za-z0-9-]{1,64}", header)),
                  f"must be a header name, got {header!r}")
    branches = section.table("branches")
    per_branch = tuple((code, _rule(branches, code, check_positions, branches.list(code), "notify_at_ahead"))
                       for code in branches.data)
    templates = section.table("templates")
    texts = []
    for key in templates.data:
        table = templates.table(key)
        table.unknown_keys({"zh-CN", "en"})
        texts.append((key, Text(table.str("zh-CN", required=True), table.str("en", required=True))))
    return _build(section, NotificationSettings,
                  sms_gateway_url=section.str("sms_gateway_url"), sms_auth_header=header, sms_auth_value=secret,
                  sms_sender=section.str("sms_sender", ""), timeout_s=float(section.number("timeout_s",
                                                                                           default.timeout_s)),
                  notify_at_ahead=_rule(section, "notify_at_ahead", check_positions,
                                        section.list("notify_at_ahead") if "notify_at_ahead" in section.data
                                        else list(default.notify_at_ahead)),
                  branch_positions=per_branch, templates=tuple(texts),
                  webhook_allow_loopback=section.flag("webhook_allow_loopback", False))


HALL_SECTIONS = ("branches", "staff", "ratings", "announcements")
"""The sections of ``config.toml`` that hold the hall model: they seed the database at the first start, and the
database holds them afterwards (:mod:`server.services.hall_store`). The others are the deployment's settings."""


def parse_hall(data: Mapping[str, Any], config: HallConfig) -> HallConfig:
    """``config`` with its hall model replaced by the one ``data``'s hall sections describe (the same rules as at
    start-up; a refusal names the key). ``data`` has the shape of ``config.toml``; other sections are ignored."""
    root = _Reader(data, "")
    branches: list[Branch] = []
    for item in root.tables("branches", required=True):
        branch = _load_branch(item, config.server)
        item.check("code", branch.code not in {b.code for b in branches}, f"duplicate branch code {branch.code!r}",
                   Problem.DUPLICATE, kind="code", value=branch.code)
        branches.append(branch)
    root.check("branches", bool(branches), "at least one branch is needed", Problem.TOO_FEW, min=1)
    staff = _load_staff(root, {b.code for b in branches}, {b.region for b in branches if b.region})
    document = copy.deepcopy({key: data[key] for key in HALL_SECTIONS if key in data})
    return dataclasses.replace(config, branches=tuple(branches), staff=staff, ratings=_load_ratings(root),
                               announcements=_load_announcements(root, config.server), document=document)


def parse_config(data: Mapping[str, Any], base_dir: Path, source: Path | None = None) -> HallConfig:
    root = _Reader(data, "")
    root.unknown_keys({"server", "queue", "media", "limits", "privacy", "follow_ups", "notifications",
                       *HALL_SECTIONS})
    server = _load_server(root, base_dir)
    settings = HallConfig(server=server, queue=_load_queue(root), branches=(), source=source,
                          media=_load_media(root, server, base_dir), limits=_load_limits(root, server),
                          privacy=_load_privacy(root), follow_ups=_load_follow_ups(root),
                          notifications=_load_notifications(root, base_dir))
    return parse_hall(data, settings)


def load_config(path: str | os.PathLike[str], overrides: Callable[[dict[str, Any]], None] | None = None) -> HallConfig:
    """Read and validate a config file; ``overrides`` may adjust the raw data (tests, benchmarks)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the configuration: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    if overrides is not None:
        overrides(data)
    return parse_config(data, file.resolve().parent, source=file)
