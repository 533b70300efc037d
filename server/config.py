"""Loading and validating ``config.toml``.

A bad configuration raises :class:`ConfigError` whose message names the offending key
(``branches[0].services[2].prefix: ...``); ``python -m server`` prints it and exits without a
traceback. The parsed configuration is a tree of frozen dataclasses.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.policy import CounterRole, CounterSkills, PolicyRules
from server.domain.tickets import PriorityClass

LANGUAGES = ("zh-CN", "en")
T = TypeVar("T")


class ConfigError(Exception):
    """The configuration is unusable; the message names the key and the problem."""


@dataclass(frozen=True)
class Text:
    """A customer-facing text in every supported language."""

    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh-CN": self.zh, "en": self.en}


@dataclass(frozen=True)
class Hours:
    opens: time
    closes: time | None  # None means midnight (open until the end of the day)

    def is_open(self, at: time) -> bool:
        return self.opens <= at and (self.closes is None or at < self.closes)

    def __str__(self) -> str:
        closes = "24:00" if self.closes is None else self.closes.strftime("%H:%M")
        return f"{self.opens.strftime('%H:%M')}-{closes}"


@dataclass(frozen=True)
class Category:
    code: str
    name: Text
    icon: str
    colour: str


@dataclass(frozen=True)
class Service:
    code: str
    prefix: str
    name: Text
    parent: str | None
    target_wait: timedelta
    expected_service: timedelta
    daily_cap: int | None
    hours: Hours
    start_number: int
    number_width: int
    icon: str
    colour: str


@dataclass(frozen=True)
class Counter:
    number: str
    name: Text
    services: tuple[str, ...]
    role: CounterRole

    @property
    def skills(self) -> CounterSkills:
        return CounterSkills(counter=self.number, services=self.services, role=self.role)


@dataclass(frozen=True)
class Branch:
    code: str
    name: Text
    timezone: ZoneInfo
    hours: Hours
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def counter(self, number: str) -> Counter | None:
        return next((c for c in self.counters if c.number == number), None)


@dataclass(frozen=True)
class StaffAccount:
    username: str
    display_name: str
    password_hash: str
    role: str  # "staff" or "manager"
    branches: tuple[str, ...]  # empty means every branch


@dataclass(frozen=True)
class QueueRules:
    policy: PolicyRules
    transfer_placement: str  # "front" or "keep_place"
    reactivate_window: timedelta
    idempotency_ttl: timedelta
    recent_calls: int


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    database_url: str
    redis_url: str | None
    secret_key: str
    timezone: ZoneInfo
    languages: tuple[str, ...]
    sqlite_synchronous: str


@dataclass(frozen=True)
class HallConfig:
    server: ServerSettings
    queue: QueueRules
    branches: tuple[Branch, ...]
    staff: tuple[StaffAccount, ...] = field(default_factory=tuple)
    source: Path | None = None

    def branch(self, code: str) -> Branch | None:
        return next((b for b in self.branches if b.code == code), None)

    def account(self, username: str) -> StaffAccount | None:
        return next((a for a in self.staff if a.username == username), None)


# --- small typed readers; each names the key it reads in its error ---------------------------------


class _Reader:
    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path or 'config'}: must be a table")
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, kind: type[T] | tuple[type, ...], default: Any, required: bool) -> Any:
        if name not in self.data:
            if required:
                raise ConfigError(f"{self.key(name)}: missing (required)")
            return default
        value = self.data[name]
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ConfigError(f"{self.key(name)}: must be {_article(expected)}, got {value!r}")
        return value

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        return self._get(name, str, default, required)

    def int(self, name: str, default: int | None = None, *, required: bool = False, minimum: int | None = None) -> Any:
        value = self._get(name, int, default, required)
        if value is not None and minimum is not None and value < minimum:
            raise ConfigError(f"{self.key(name)}: must be at least {minimum}, got {value}")
        return value

    def number(self, name: str, default: float | None = None, *, required: bool = False, positive: bool = False) -> Any:
        value = self._get(name, (int, float), default, required)
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"{self.key(name)}: must be a finite number, got {value!r}")
        if value is not None and abs(value) > 1_000_000:
            raise ConfigError(f"{self.key(name)}: out of range, got {value!r}")
        if value is not None and positive and value <= 0:
            raise ConfigError(f"{self.key(name)}: must be greater than 0, got {value}")
        return value

    def list(self, name: str, *, required: bool = False) -> list[Any]:
        return self._get(name, list, [], required)

    def tables(self, name: str, *, required: bool = False) -> list[_Reader]:
        items = self.list(name, required=required)
        return [_Reader(item, f"{self.key(name)}[{i}]") for i, item in enumerate(items)]

    def table(self, name: str) -> _Reader:
        return _Reader(self._get(name, dict, {}, False), self.key(name))

    def check(self, name: str, ok: bool, problem: str) -> None:
        if not ok:
            raise ConfigError(f"{self.key(name)}: {problem}")

    def unknown_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise ConfigError(f"{self.key(name)}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _hours(reader: _Reader, name: str, default: Hours | None) -> Hours:
    raw = reader.str(name, required=default is None)
    if raw is None:
        assert default is not None
        return default
    match = _HOURS.match(raw)
    reader.check(name, match is not None, f'must look like "09:00-18:00", got {raw!r}')
    assert match is not None
    oh, om, ch, cm = (int(g) for g in match.groups())
    reader.check(
        name, oh < 24 and om < 60 and cm < 60 and (ch < 24 or (ch == 24 and cm == 0)), f"not a time range: {raw!r}"
    )
    opens = time(oh, om)
    closes = None if ch == 24 else time(ch, cm)
    reader.check(name, closes is None or closes > opens, f"closing time must be after opening time in {raw!r}")
    return Hours(opens, closes)


def _text(reader: _Reader, name: str) -> Text:
    table = reader.table(name)
    reader.check(name, name in reader.data, "missing (required): a table with zh-CN and en names")
    zh = table.str("zh-CN", required=True)
    en = table.str("en", required=True)
    table.check("zh-CN", zh.strip() != "", "must not be empty")
    table.check("en", en.strip() != "", "must not be empty")
    table.unknown_keys({"zh-CN", "en"})
    return Text(zh=zh, en=en)


def _zone(reader: _Reader, name: str, default: ZoneInfo | None) -> ZoneInfo:
    raw = reader.str(name, required=default is None)
    if raw is None:
        assert default is not None
        return default
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f'{reader.key(name)}: unknown time zone {raw!r} (e.g. "Asia/Shanghai")') from None


def _minutes(reader: _Reader, name: str, default: float, *, positive: bool = False) -> timedelta:
    return timedelta(minutes=reader.number(name, default, positive=positive))


_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_PREFIX = re.compile(r"^[A-Z]{1,3}$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _load_server(root: _Reader, base_dir: Path) -> ServerSettings:
    server = root.table("server")
    server.unknown_keys(
        {"host", "port", "database_url", "redis_url", "secret_key_file", "timezone", "languages", "sqlite_synchronous"}
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
    for lang in languages:
        server.check("languages", lang in LANGUAGES, f"unsupported language {lang!r} (supported: zh-CN, en)")
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
    )


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


def _load_queue(root: _Reader) -> QueueRules:
    queue = root.table("queue")
    queue.unknown_keys(
        {
            "priority_head_start_min",
            "vip_head_start_min",
            "appointment_head_start_min",
            "role_head_start_min",
            "preference_step_min",
            "transfer_placement",
            "transfer_head_start_min",
            "reactivate_window_min",
            "idempotency_ttl_hours",
            "recent_calls",
        }
    )
    placement = queue.str("transfer_placement", "front")
    queue.check(
        "transfer_placement",
        placement in ("front", "keep_place"),
        f'must be "front" or "keep_place", got {placement!r}',
    )
    head_starts = {
        PriorityClass.NORMAL: timedelta(0),
        PriorityClass.PRIORITY: _minutes(queue, "priority_head_start_min", 15),
        PriorityClass.VIP: _minutes(queue, "vip_head_start_min", 15),
        PriorityClass.APPOINTMENT: _minutes(queue, "appointment_head_start_min", 20),
    }
    for name in (
        "priority_head_start_min",
        "vip_head_start_min",
        "appointment_head_start_min",
        "role_head_start_min",
        "preference_step_min",
        "transfer_head_start_min",
    ):
        queue.check(name, queue.number(name, 0) >= 0, "must not be negative")
    policy = PolicyRules(
        head_start=head_starts,
        role_head_start=_minutes(queue, "role_head_start_min", 30),
        preference_step=_minutes(queue, "preference_step_min", 10),
        transfer_head_start=_minutes(queue, "transfer_head_start_min", 30) if placement == "front" else timedelta(0),
    )
    return QueueRules(
        policy=policy,
        transfer_placement=placement,
        reactivate_window=_minutes(queue, "reactivate_window_min", 30, positive=True),
        idempotency_ttl=timedelta(hours=queue.number("idempotency_ttl_hours", 24, positive=True)),
        recent_calls=queue.int("recent_calls", 10, minimum=1),
    )


def _load_branch(branch: _Reader, server: ServerSettings) -> Branch:
    branch.unknown_keys({"code", "name", "timezone", "hours", "categories", "services", "counters"})
    code = branch.str("code", required=True)
    branch.check("code", bool(_CODE.match(code)), f"must be 1-32 letters, digits, _ or -, got {code!r}")
    hours = _hours(branch, "hours", Hours(time(0, 0), None))

    categories: list[Category] = []
    for item in branch.tables("categories"):
        item.unknown_keys({"code", "name", "icon", "colour"})
        cat_code = item.str("code", required=True)
        item.check("code", bool(_CODE.match(cat_code)), f"must be 1-32 letters, digits, _ or -, got {cat_code!r}")
        item.check("code", cat_code not in {c.code for c in categories}, f"duplicate category code {cat_code!r}")
        colour = item.str("colour", "#2563eb")
        item.check("colour", bool(_COLOUR.match(colour)), f'must look like "#1e88e5", got {colour!r}')
        categories.append(Category(cat_code, _text(item, "name"), item.str("icon", "ticket"), colour))
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
                "start_number",
                "number_width",
                "icon",
                "colour",
            }
        )
        svc_code = item.str("code", required=True)
        item.check("code", bool(_CODE.match(svc_code)), f"must be 1-32 letters, digits, _ or -, got {svc_code!r}")
        item.check("code", svc_code not in {s.code for s in services}, f"duplicate service code {svc_code!r}")
        item.check("code", svc_code not in category_codes, f"{svc_code!r} is already a category code")
        prefix = item.str("prefix", required=True)
        item.check("prefix", bool(_PREFIX.match(prefix)), f"must be 1-3 capital letters, got {prefix!r}")
        item.check(
            "prefix", prefix not in {s.prefix for s in services}, f"prefix {prefix!r} is used by another service"
        )
        parent = item.str("parent")
        if parent is not None:
            item.check("parent", parent in category_codes, f"no category with code {parent!r} in this branch")
        daily_cap = item.int("daily_cap", minimum=1)
        width = item.int("number_width", 3, minimum=1)
        item.check("number_width", width <= 6, f"must be at most 6, got {width}")
        colour = item.str("colour", "#2563eb")
        item.check("colour", bool(_COLOUR.match(colour)), f'must look like "#1e88e5", got {colour!r}')
        services.append(
            Service(
                code=svc_code,
                prefix=prefix,
                name=_text(item, "name"),
                parent=parent,
                target_wait=_minutes(item, "target_wait_min", 15, positive=True),
                expected_service=_minutes(item, "expected_service_min", 5, positive=True),
                daily_cap=daily_cap,
                hours=_hours(item, "hours", hours),
                start_number=item.int("start_number", 1, minimum=0),
                number_width=width,
                icon=item.str("icon", "ticket"),
                colour=colour,
            )
        )
    branch.check("services", bool(services), "at least one service is needed")
    service_codes = {s.code for s in services}

    counters: list[Counter] = []
    for item in branch.tables("counters", required=True):
        item.unknown_keys({"number", "name", "services", "role"})
        number = item.str("number", required=True)
        item.check("number", bool(_CODE.match(number)), f"must be 1-32 letters, digits, _ or -, got {number!r}")
        item.check("number", number not in {c.number for c in counters}, f"duplicate counter number {number!r}")
        served = item.list("services", required=True)
        item.check("services", bool(served), "a counter must serve at least one service")
        for svc in served:
            item.check("services", isinstance(svc, str) and svc in service_codes, f"unknown service {svc!r}")
        item.check("services", len(set(served)) == len(served), "a service is listed twice")
        role_raw = item.str("role", "normal")
        try:
            role = CounterRole(role_raw)
        except ValueError:
            raise ConfigError(f"{item.key('role')}: must be normal, fast_lane or vip, got {role_raw!r}") from None
        counters.append(Counter(number, _text(item, "name"), tuple(served), role))
    branch.check("counters", bool(counters), "at least one counter is needed")
    unserved = service_codes - {s for c in counters for s in c.services}
    branch.check("services", not unserved, f"no counter serves {', '.join(sorted(unserved))}")

    return Branch(
        code=code,
        name=_text(branch, "name"),
        timezone=_zone(branch, "timezone", server.timezone),
        hours=hours,
        categories=tuple(categories),
        services=tuple(services),
        counters=tuple(counters),
    )


def _load_staff(root: _Reader, branch_codes: set[str]) -> tuple[StaffAccount, ...]:
    accounts: list[StaffAccount] = []
    for item in root.tables("staff"):
        item.unknown_keys({"username", "display_name", "password_hash", "role", "branches"})
        username = item.str("username", required=True)
        item.check(
            "username", bool(_USERNAME.match(username)), f"must be 1-32 letters, digits, . _ or -, got {username!r}"
        )
        item.check("username", username not in {a.username for a in accounts}, f"duplicate username {username!r}")
        password_hash = item.str("password_hash", required=True)
        item.check(
            "password_hash",
            password_hash.startswith(("scrypt:", "pbkdf2:")),
            "must be a hash made by `make password` (scrypt:... or pbkdf2:...)",
        )
        role = item.str("role", "staff")
        item.check("role", role in ("staff", "manager"), f"must be staff or manager, got {role!r}")
        branches = item.list("branches")
        for code in branches:
            item.check("branches", isinstance(code, str) and code in branch_codes, f"unknown branch {code!r}")
        accounts.append(
            StaffAccount(username, item.str("display_name", username), password_hash, role, tuple(branches))
        )
    return tuple(accounts)


def parse_config(data: Mapping[str, Any], base_dir: Path, source: Path | None = None) -> HallConfig:
    root = _Reader(data, "")
    root.unknown_keys({"server", "queue", "branches", "staff"})
    server = _load_server(root, base_dir)
    queue = _load_queue(root)
    branches: list[Branch] = []
    for item in root.tables("branches", required=True):
        branch = _load_branch(item, server)
        item.check("code", branch.code not in {b.code for b in branches}, f"duplicate branch code {branch.code!r}")
        branches.append(branch)
    root.check("branches", bool(branches), "at least one branch is needed")
    staff = _load_staff(root, {b.code for b in branches})
    return HallConfig(server=server, queue=queue, branches=tuple(branches), staff=staff, source=source)


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
