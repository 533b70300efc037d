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
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.announcements import template_problem
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
class DisplayZone:
    """A part of a large hall: the services and counters its wall displays show."""

    code: str
    name: Text
    services: tuple[str, ...]
    counters: tuple[str, ...]


PRINTER_KINDS = ("none", "browser", "escpos")


DEFAULT_OVERFLOW_NOTICE = Text(
    "现在排队人数较多，等候时间较长。您也可以通过手机营业厅或网上营业厅办理，或稍后再来。",
    "The hall is very busy and the wait is long. You can also use our app or website, or come back later.",
)


@dataclass(frozen=True)
class Overflow:
    """What the kiosk says when the wait is very long (``[branches.overflow]``).

    The notice shows on the kiosk's home screen and on the ticket's confirmation when the upper end of a
    service's estimated wait reaches ``wait_min`` minutes.
    """

    wait_min: float = 60.0
    notice: Text = DEFAULT_OVERFLOW_NOTICE


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


@dataclass(frozen=True)
class Branch:
    code: str
    name: Text
    timezone: ZoneInfo
    hours: Hours
    categories: tuple[Category, ...]
    services: tuple[Service, ...]
    counters: tuple[Counter, ...]
    zones: tuple[DisplayZone, ...] = ()
    kiosks: tuple[Kiosk, ...] = ()
    overflow: Overflow = field(default_factory=Overflow)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        return next((k for k in self.kiosks if k.id == kiosk_id), None)

    def zone(self, code: str) -> DisplayZone | None:
        return next((z for z in self.zones if z.code == code), None)

    def counter(self, number: str) -> Counter | None:
        return next((c for c in self.counters if c.number == number), None)


@dataclass(frozen=True)
class StaffAccount:
    username: str
    display_name: str
    password_hash: str
    role: str  # "staff" or "manager"
    branches: tuple[str, ...]  # empty means every branch
    photo: str | None = None  # a path on this server ("/static/staff/zhang.wei.jpg") the rating pad shows


@dataclass(frozen=True)
class QueueRules:
    policy: PolicyRules
    transfer_placement: str  # "front" or "keep_place"
    reactivate_window: timedelta
    idempotency_ttl: timedelta
    recent_calls: int


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


@dataclass(frozen=True)
class RatingSettings:
    """How customers rate a finished service (``[ratings]``); low reasons go with dissatisfied scores."""

    scale: str = "three"  # "three" (very satisfied / satisfied / dissatisfied) or "five" (1-5 stars)
    low_reasons: tuple[ReasonChip, ...] = DEFAULT_LOW_REASONS
    high_reasons: tuple[ReasonChip, ...] = DEFAULT_HIGH_REASONS
    pad_timeout_s: int = 60
    rating_window: timedelta = timedelta(minutes=30)
    dissatisfied_scores: tuple[int, ...] = DEFAULT_DISSATISFIED_SCORES["three"]

    @property
    def scores(self) -> tuple[int, ...]:
        """The scores of the scale, best first."""
        return tuple(score for score, _label in RATING_SCALES[self.scale])

    def is_dissatisfied(self, score: int) -> bool:
        return score in self.dissatisfied_scores

    def reasons_for(self, score: int) -> tuple[ReasonChip, ...]:
        """The chips offered with a score: the low ones for a dissatisfied score, else the high ones."""
        return self.low_reasons if self.is_dissatisfied(score) else self.high_reasons


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
    public_url: str | None = None  # base of the URLs printed in QR codes; None: from the request's host
    sign_in_attempts: int = 5  # failed staff sign-ins in a row, per name and device, before a lockout
    sign_in_lockout: timedelta = timedelta(minutes=5)  # the first lockout; each further one lasts twice as long
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto/-Host are trusted


ANNOUNCEMENT_VOICES = ("auto", "browser", "server")
DEFAULT_ANNOUNCEMENT_TEMPLATES = Text("请 {number} 号到 {counter} 号窗口",
                                      "Number {number}, please go to counter {counter}")
DEFAULT_SERVER_VOICES = Text("cmn-latn-pinyin", "en-gb")  # espeak-ng voices (espeak-ng --voices)


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

    def template(self, language: str) -> str:
        return self.templates.as_dict()[language]

    def server_voice(self, language: str) -> str:
        return self.server_voices.as_dict()[language]


MEDIA_DEFAULT_DIRECTORY = Path("var/media")


@dataclass(frozen=True)
class MediaSettings:
    """Images and short videos that managers upload for the wall displays (``[media]``)."""

    directory: Path = MEDIA_DEFAULT_DIRECTORY  # where the files are kept (metadata is in the database)
    max_image_mb: float = 5.0
    max_video_mb: float = 50.0
    max_video_s: float = 60.0  # longer videos are refused when their length can be read, else cut off here
    image_seconds: float = 10.0  # default time an image stays on screen
    max_items: int = 50  # per branch


@dataclass(frozen=True)
class HallConfig:
    server: ServerSettings
    queue: QueueRules
    branches: tuple[Branch, ...]
    staff: tuple[StaffAccount, ...] = field(default_factory=tuple)
    source: Path | None = None
    ratings: RatingSettings = field(default_factory=RatingSettings)
    announcements: AnnouncementSettings = field(default_factory=AnnouncementSettings)
    media: MediaSettings = field(default_factory=MediaSettings)

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

    def flag(self, name: str, default: bool) -> bool:
        return self._get(name, bool, default, False)

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
        {"host", "port", "database_url", "redis_url", "secret_key_file", "timezone", "languages", "sqlite_synchronous",
         "public_url", "sign_in_attempts", "sign_in_lockout_min", "proxy_hops"}
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
        public_url=_public_url(server),
        sign_in_attempts=server.int("sign_in_attempts", 5, minimum=1),
        sign_in_lockout=_minutes(server, "sign_in_lockout_min", 5, positive=True),
        proxy_hops=server.int("proxy_hops", 0, minimum=0),
    )


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


def _load_overflow(branch: _Reader) -> Overflow:
    """``[branches.overflow]``: ``wait_min`` (default 60) and an optional bilingual ``notice``."""
    overflow = branch.table("overflow")
    overflow.unknown_keys({"wait_min", "notice"})
    wait_min = overflow.number("wait_min", 60, positive=True)
    notice = _text(overflow, "notice") if "notice" in overflow.data else DEFAULT_OVERFLOW_NOTICE
    return Overflow(wait_min=float(wait_min), notice=notice)


def _load_kiosks(branch: _Reader) -> tuple[Kiosk, ...]:
    """``[[branches.kiosks]]``: id, name, printer ("none", "browser", "escpos://host:port") and timings."""
    kiosks: list[Kiosk] = []
    for item in branch.tables("kiosks"):
        item.unknown_keys({"id", "name", "printer", "print_timeout_s", "status_query", "confirmation_s",
                           "idle_reset_s"})
        kiosk_id = item.str("id", required=True)
        item.check("id", bool(_CODE.match(kiosk_id)), f"must be 1-32 letters, digits, _ or -, got {kiosk_id!r}")
        item.check("id", kiosk_id not in {k.id for k in kiosks}, f"duplicate kiosk id {kiosk_id!r}")
        printer, host, port = _printer(item)
        timings: dict[str, float] = {}
        for name, default, most in (("print_timeout_s", 5, 60), ("confirmation_s", 20, 600),
                                    ("idle_reset_s", 60, 3600)):
            value = item.number(name, default, positive=True)
            item.check(name, value <= most, f"must be at most {most} seconds, got {value}")
            timings[name] = float(value)
        kiosks.append(Kiosk(id=kiosk_id, name=_text(item, "name"), printer=printer, printer_host=host,
                            printer_port=port, status_query=item.flag("status_query", True), **timings))
    return tuple(kiosks)


def _printer(item: _Reader) -> tuple[str, str | None, int | None]:
    raw = item.str("printer", "none").strip()
    if raw in ("none", "browser"):
        return raw, None, None
    problem = f'must be "none", "browser" or "escpos://host:port", got {raw!r}'
    parts = urlsplit(raw)
    item.check("printer", parts.scheme == "escpos" and bool(parts.hostname), problem)
    item.check("printer", parts.path in ("", "/") and not parts.query and not parts.fragment
               and parts.username is None, problem)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"{item.key('printer')}: the port must be 1-65535, got {raw!r}") from None
    item.check("printer", port != 0, f"the port must be 1-65535, got {raw!r}")
    assert parts.hostname is not None
    return "escpos", parts.hostname, port or 9100


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
    branch.unknown_keys({"code", "name", "timezone", "hours", "categories", "services", "counters", "zones",
                         "kiosks", "overflow"})
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

    zones: list[DisplayZone] = []
    counter_numbers = {c.number for c in counters}
    for item in branch.tables("zones"):
        item.unknown_keys({"code", "name", "services", "counters"})
        zone_code = item.str("code", required=True)
        item.check("code", bool(_CODE.match(zone_code)), f"must be 1-32 letters, digits, _ or -, got {zone_code!r}")
        item.check("code", zone_code not in {z.code for z in zones}, f"duplicate zone code {zone_code!r}")
        zone_services = item.list("services") or [s.code for s in services]
        for svc in zone_services:
            item.check("services", isinstance(svc, str) and svc in service_codes, f"unknown service {svc!r}")
        zone_counters = item.list("counters") or [
            c.number for c in counters if set(c.services) & set(zone_services)]
        for number in zone_counters:
            item.check("counters", isinstance(number, str) and number in counter_numbers,
                       f"unknown counter {number!r} (counter numbers are strings)")
        zones.append(DisplayZone(zone_code, _text(item, "name"), tuple(zone_services), tuple(zone_counters)))

    return Branch(
        code=code,
        name=_text(branch, "name"),
        timezone=_zone(branch, "timezone", server.timezone),
        hours=hours,
        categories=tuple(categories),
        services=tuple(services),
        counters=tuple(counters),
        zones=tuple(zones),
        kiosks=_load_kiosks(branch),
        overflow=_load_overflow(branch),
    )


def _load_staff(root: _Reader, branch_codes: set[str]) -> tuple[StaffAccount, ...]:
    accounts: list[StaffAccount] = []
    for item in root.tables("staff"):
        item.unknown_keys({"username", "display_name", "password_hash", "role", "branches", "photo"})
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
        photo = item.str("photo", "") or None
        item.check("photo", photo is None or (photo.startswith("/") and not photo.startswith("//")),
                   f'must be a path on this server such as "/static/staff/{username}.jpg", got {photo!r}')
        accounts.append(
            StaffAccount(username, item.str("display_name", username), password_hash, role, tuple(branches), photo)
        )
    return tuple(accounts)


def _reason_chips(ratings: _Reader, name: str, default: tuple[ReasonChip, ...],
                  taken: set[str]) -> tuple[ReasonChip, ...]:
    """``[[ratings.low_reasons]]`` / ``[[ratings.high_reasons]]``: the defaults when the key is absent."""
    if name not in ratings.data:
        return default
    chips: list[ReasonChip] = []
    for item in ratings.tables(name):
        item.unknown_keys({"code", "text"})
        code = item.str("code", required=True)
        item.check("code", bool(_CODE.match(code)), f"must be 1-32 letters, digits, _ or -, got {code!r}")
        item.check("code", code not in taken, f"duplicate reason code {code!r}")
        taken.add(code)
        chips.append(ReasonChip(code, _text(item, "text")))
    ratings.check(name, len(chips) <= MAX_REASON_CHIPS, f"at most {MAX_REASON_CHIPS} reasons fit on the pad")
    return tuple(chips)


def _load_ratings(root: _Reader) -> RatingSettings:
    ratings = root.table("ratings")
    ratings.unknown_keys(
        {"scale", "low_reasons", "high_reasons", "pad_timeout_s", "rating_window_min", "dissatisfied_scores"}
    )
    scale = ratings.str("scale", "three")
    ratings.check("scale", scale in RATING_SCALES, f'must be "three" or "five", got {scale!r}')
    scores = {score for score, _label in RATING_SCALES[scale]}
    taken: set[str] = set()
    low_reasons = _reason_chips(ratings, "low_reasons", DEFAULT_LOW_REASONS, taken)
    high_reasons = _reason_chips(ratings, "high_reasons", DEFAULT_HIGH_REASONS, taken)
    window = _minutes(ratings, "rating_window_min", 30, positive=True)
    pad_timeout_s = ratings.int("pad_timeout_s", 60, minimum=1)
    window_min = window.total_seconds() / 60
    ratings.check("pad_timeout_s", pad_timeout_s <= window.total_seconds(),
                  f"must not be longer than rating_window_min ({window_min:g} min), got {pad_timeout_s}")
    if "dissatisfied_scores" in ratings.data:
        dissatisfied = ratings.list("dissatisfied_scores")
    else:
        dissatisfied = list(DEFAULT_DISSATISFIED_SCORES[scale])
    for score in dissatisfied:
        ratings.check("dissatisfied_scores", isinstance(score, int) and not isinstance(score, bool) and score in scores,
                      f"{score!r} is not a score of the {scale} scale ({', '.join(map(str, sorted(scores)))})")
    ratings.check("dissatisfied_scores", len(set(dissatisfied)) == len(dissatisfied), "a score is listed twice")
    ratings.check("dissatisfied_scores", set(dissatisfied) != scores, "at least one score must count as satisfied")
    return RatingSettings(
        scale=scale,
        low_reasons=low_reasons,
        high_reasons=high_reasons,
        pad_timeout_s=pad_timeout_s,
        rating_window=window,
        dissatisfied_scores=tuple(sorted(dissatisfied)),
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
            table.check(lang, value.strip() != "", "must not be empty")
            values[lang] = value
    return Text(zh=values["zh-CN"], en=values["en"])


def _load_announcements(root: _Reader, server: ServerSettings) -> AnnouncementSettings:
    """``[announcements]``: what the wall displays say when they call a ticket."""
    section = root.table("announcements")
    section.unknown_keys({"languages", "templates", "repeat", "chime", "voice", "server_voices", "speech_rate"})
    languages = tuple(section.list("languages") or server.languages)
    for lang in languages:
        section.check("languages", lang in LANGUAGES, f"unsupported language {lang!r} (supported: zh-CN, en)")
    section.check("languages", len(set(languages)) == len(languages), "a language is listed twice")
    templates = _language_table(section, "templates", DEFAULT_ANNOUNCEMENT_TEMPLATES, languages)
    for lang, template in templates.as_dict().items():
        problem = template_problem(template)
        if problem is not None:
            raise ConfigError(f"announcements.templates.{lang}: {problem}")
    repeat = section.int("repeat", 1, minimum=1)
    section.check("repeat", repeat <= 3, f"must be at most 3, got {repeat}")
    voice = section.str("voice", "auto")
    section.check("voice", voice in ANNOUNCEMENT_VOICES, f'must be "auto", "browser" or "server", got {voice!r}')
    server_voices = _language_table(section, "server_voices", DEFAULT_SERVER_VOICES, ())
    for lang, name in server_voices.as_dict().items():
        if not re.fullmatch(r"[A-Za-z0-9_+/-]{1,40}", name):
            raise ConfigError(f"announcements.server_voices.{lang}: not an espeak-ng voice name: {name!r}")
    rate = section.int("speech_rate", 150, minimum=80)
    section.check("speech_rate", rate <= 300, f"must be at most 300 words per minute, got {rate}")
    return AnnouncementSettings(languages=languages, templates=templates, repeat=repeat,
                                chime=section.flag("chime", True), voice=voice, server_voices=server_voices,
                                speech_rate=rate)


def _load_media(root: _Reader, server: ServerSettings, base_dir: Path) -> MediaSettings:
    """``[media]``: where uploads are kept (default: beside a SQLite database, else var/media) and limits."""
    section = root.table("media")
    section.unknown_keys({"directory", "max_image_mb", "max_video_mb", "max_video_s", "image_seconds", "max_items"})
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
    return MediaSettings(directory=directory, max_items=max_items, **limits)


def parse_config(data: Mapping[str, Any], base_dir: Path, source: Path | None = None) -> HallConfig:
    root = _Reader(data, "")
    root.unknown_keys({"server", "queue", "branches", "staff", "ratings", "announcements", "media"})
    server = _load_server(root, base_dir)
    queue = _load_queue(root)
    branches: list[Branch] = []
    for item in root.tables("branches", required=True):
        branch = _load_branch(item, server)
        item.check("code", branch.code not in {b.code for b in branches}, f"duplicate branch code {branch.code!r}")
        branches.append(branch)
    root.check("branches", bool(branches), "at least one branch is needed")
    staff = _load_staff(root, {b.code for b in branches})
    return HallConfig(server=server, queue=queue, branches=tuple(branches), staff=staff, source=source,
                      ratings=_load_ratings(root), announcements=_load_announcements(root, server),
                      media=_load_media(root, server, base_dir))


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
