"""Notifications, the pure rules: which messages a ticket gets, their texts, webhook signing, retries, URLs.

No Flask, no SQL, no network; the clock is passed in. The rules, in one place:

* **Milestones** of a ticket whose customer opted in: one per configured ``notify_at_ahead`` value N (sent when
  the people ahead first fall to N or below; ``0`` is "you're next") and ``called`` ("your turn, counter 3") at
  its first call. Each is sent at most once: when the people ahead jump past several values at once only the
  nearest is sent (the others are spent with it), and when they go back up nothing is sent again.
* **Templates** in zh-CN and English with ``{placeholders}``; an unknown placeholder is refused naming it.
* **Webhook signature**: ``X-Hall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` keyed with
  the webhook's secret (docs/notifications.md has a receiver's check).
* **Retries**: after a failed attempt the next one waits :data:`RETRY_DELAYS` (with a little jitter); after the
  last the delivery is given up.
* **Webhook URLs**: http(s) only; never a loopback, link-local (cloud metadata), multicast or unspecified address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from server.domain.errors import DomainError
from server.domain.tickets import EventKind
from server.domain.values import InvalidValue, Text

# --- milestones -------------------------------------------------------------------------------------------------

CALLED = "called"
MAX_POSITIONS = 5
MAX_AHEAD = 50
DEFAULT_POSITIONS = (3, 0)


def ahead_milestone(n: int) -> str:
    return f"ahead:{n}"


def check_positions(values: Sequence[object], field: str = "notify_at_ahead") -> tuple[int, ...]:
    """The people-ahead values that send a message, largest first: whole numbers 0..50, at most 5, no repeats."""
    if len(values) > MAX_POSITIONS:
        raise InvalidValue(field, f"at most {MAX_POSITIONS} values, got {len(values)}")
    seen: list[int] = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AHEAD:
            raise InvalidValue(field, f"each value must be a whole number from 0 to {MAX_AHEAD}, got {value!r}")
        if value in seen:
            raise InvalidValue(field, f"{value} is given twice")
        seen.append(value)
    return tuple(sorted(seen, reverse=True))


@dataclass(frozen=True)
class Message:
    """One message a ticket is due: its milestone (the once-only key), the template and the values it fills."""

    milestone: str
    template: str  # a key of TEMPLATES
    values: dict[str, object]


def due_on_position(positions: Sequence[int], ahead: int, spent: Iterable[str]) -> Message | None:
    """With ``ahead`` people ahead now: the message due, if any. Its milestone is the nearest value crossed; a
    value is spent once it or any nearer value was sent (or the call was), so a jump past several values sends one
    message and people ahead going back up sends nothing again."""
    done = set(spent)
    if CALLED in done:
        return None
    sent = [int(m.split(":", 1)[1]) for m in done if m.startswith("ahead:")]
    floor = min(sent, default=MAX_AHEAD + 1)
    crossed = [n for n in positions if ahead <= n < floor]
    if not crossed:
        return None
    return Message(ahead_milestone(min(crossed)), "next" if ahead == 0 else "ahead", {"ahead": ahead})


def due_on_call(counter: str, spent: Iterable[str]) -> Message | None:
    """At the ticket's first call: "your turn, counter N" (a recall sends nothing more)."""
    return None if CALLED in set(spent) else Message(CALLED, CALLED, {"counter": counter})


# --- templates ----------------------------------------------------------------------------------------------------

PLACEHOLDERS = frozenset({"number", "ahead", "counter", "branch", "service"})
MAX_TEMPLATE = 160
TEMPLATES: dict[str, Text] = {
    "ahead": Text("【{branch}】{number} 号：您前面还有 {ahead} 位，请留意叫号。",
                  "{branch}: ticket {number}, {ahead} ahead of you. Please be ready."),
    "next": Text("【{branch}】{number} 号：下一位就是您，请到等候区留意叫号。",
                 "{branch}: ticket {number}, you're next. Please come to the waiting area."),
    CALLED: Text("【{branch}】请 {number} 号到 {counter} 号窗口办理。",
                 "{branch}: ticket {number}, your turn: please go to counter {counter}."),
}
"""The SMS texts a ticket may get, by template key; ``[notifications.templates.<key>]`` replaces them."""


def check_template(text: str, field: str) -> str:
    """A template: non-blank, at most 160 characters, only known placeholders (an unknown one is named)."""
    if not text.strip():
        raise InvalidValue(field, "must not be empty")
    if len(text) > MAX_TEMPLATE:
        raise InvalidValue(field, f"at most {MAX_TEMPLATE} characters, got {len(text)}")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidValue(field, f"is not a valid template ({exc})") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise InvalidValue(field, f"unknown placeholder {{{name}}} (known: "
                               f"{', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))})")
        if spec or conversion:
            raise InvalidValue(field, f"placeholder {{{name}}} takes no format or conversion")
    return text


def render(template: Text, language: str, values: dict[str, object]) -> str:
    """The text in ``language`` (``zh-CN`` or ``en``; anything else gets zh-CN) with its placeholders filled."""
    text = template.en if language == "en" else template.zh
    return text.format_map({name: values.get(name, "") for name in PLACEHOLDERS})


# --- webhooks -----------------------------------------------------------------------------------------------------


class WebhookEvent(StrEnum):
    """What an integration may subscribe to; each maps from event kinds of the log in :data:`WEBHOOK_EVENT_OF`."""

    TICKET_ISSUED = "ticket.issued"
    TICKET_CALLED = "ticket.called"
    TICKET_FINISHED = "ticket.finished"
    TICKET_RATED = "ticket.rated"
    HALL_ALERT = "hall.alert"
    BOOKING_MADE = "booking.made"
    BOOKING_CHANGED = "booking.changed"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_CHECKED_IN = "booking.checked_in"
    TEST = "webhook.test"  # sent by a manager's "send a test event"; every webhook gets it


WEBHOOK_EVENT_OF: dict[str, WebhookEvent] = {
    EventKind.ISSUED.value: WebhookEvent.TICKET_ISSUED,
    EventKind.CALLED.value: WebhookEvent.TICKET_CALLED,
    EventKind.FINISHED.value: WebhookEvent.TICKET_FINISHED,
    EventKind.RATED.value: WebhookEvent.TICKET_RATED,
    EventKind.DEVICE_OFFLINE.value: WebhookEvent.HALL_ALERT,
    EventKind.BOOKING_MADE.value: WebhookEvent.BOOKING_MADE,
    EventKind.BOOKING_CHANGED.value: WebhookEvent.BOOKING_CHANGED,
    EventKind.BOOKING_CANCELLED.value: WebhookEvent.BOOKING_CANCELLED,
    EventKind.BOOKING_CHECKED_IN.value: WebhookEvent.BOOKING_CHECKED_IN,
}
"""The hall event kinds (the event log's) that a webhook event carries."""

BOOKING_EVENTS = frozenset(k for k, e in WEBHOOK_EVENT_OF.items() if e.value.startswith("booking."))
"""The event kinds whose webhook body is the booking's (code, service, slot, state), not a ticket's."""
BOOKING_FIELDS = ("code", "service", "slot", "state", "ticket", "outcome")
"""What a booking event's data may tell an integration: never the phone number or the name."""

SUBSCRIBABLE = tuple(e.value for e in WebhookEvent if e is not WebhookEvent.TEST)


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    if not events:
        raise bad("bad_events", "events", EVENTS_NONE)
    unknown = [e for e in events if e not in SUBSCRIBABLE]
    if unknown:
        raise bad("bad_events", "events", EVENTS_UNKNOWN, f"{unknown[0]!r} (known: {', '.join(SUBSCRIBABLE)})")
    return tuple(sorted(set(events)))


SIGNATURE_HEADER = "X-Hall-Signature"
SIGNATURE_TOLERANCE = timedelta(minutes=5)


def signature(secret: str, body: bytes, at: int) -> str:
    """The ``X-Hall-Signature`` value of ``body`` sent at unix time ``at``."""
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: int, tolerance_s: int = 300) -> bool:
    """A receiver's check: a well-formed header, a matching HMAC and a timestamp within ``tolerance_s``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, body, at).split("v1=", 1)[1]
    return abs(now - at) <= tolerance_s and hmac.compare_digest(expected, parts.get("v1", ""))


RETRY_DELAYS = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
                timedelta(minutes=30), timedelta(hours=2))
"""The waits before the 2nd, 3rd... attempt; after the last attempt (the 7th) a delivery is given up."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def next_attempt(attempts: int, now: datetime, jitter: float = 0.0) -> datetime | None:
    """When to try again after ``attempts`` failed attempts (None: give up); ``jitter`` in [0, 1) adds up to a
    tenth of the wait, so that many deliveries failing together do not all come back in the same second."""
    if attempts < 1:
        return now
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts - 1]
    return now + delay + delay * (min(max(jitter, 0.0), 0.999) / 10)


MAX_URL = 500
URL_TOO_LONG = Text(f"推送地址最多 {MAX_URL} 个字符", f"The URL may be at most {MAX_URL} characters")
URL_SCHEME = Text("推送地址须以 http:// 或 https:// 开头，并包含主机名",
                  "A webhook URL starts with http:// or https:// and names a host")
URL_USERINFO = Text("推送地址不能包含用户名或密码（签名已证明发送方）",
                    "A webhook URL carries no user or password (the signature proves the sender)")
URL_FORBIDDEN = Text("推送不能发往本服务器、链路本地地址（云元数据服务）、组播或未指定地址",
                     "A webhook may not go to this server itself, a link-local (cloud metadata), multicast or "
                     "unspecified address")
EVENTS_NONE = Text("请至少选择一个事件", "Choose at least one event")
EVENTS_UNKNOWN = Text("未知的事件", "Unknown event")


def bad(code: str, field: str, text: Text, detail: str = "") -> DomainError:
    """A 422 refusal of a webhook's field, with its reason in both languages (``details.text``)."""
    return DomainError(text.en + (f": {detail}" if detail else ""), code=code, http_status=422, field=field,
                       text=text.as_dict())


_BLOCKED_NETS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "fe80::/10", "ff00::/8", "fd00:ec2::254/128"))


def forbidden_address(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not go to this IP address (None: it may). A hall's integrations sit on its own network,
    so private addresses are allowed; the server itself (loopback, unless the deployment allows it) and the cloud
    metadata service (link-local) are not."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return None
    for net in _BLOCKED_NETS:
        if ip.version == net.version and ip in net:
            return f"{ip} is a {'loopback' if ip.is_loopback else 'link-local, multicast or unspecified'} address"
    return None


def check_url(url: str, *, allow_loopback: bool = False) -> str:
    """A webhook URL: http or https, a host, no user or password in it; a literal IP is checked here, a name
    again at every delivery (its addresses may change)."""
    if len(url) > MAX_URL:
        raise bad("bad_url", "url", URL_TOO_LONG)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad("bad_url", "url", URL_SCHEME)
    if parts.username or parts.password:
        raise bad("bad_url", "url", URL_USERINFO)
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.lower() in ("localhost", "localhost.localdomain") and not allow_loopback:
            raise bad("bad_url", "url", URL_FORBIDDEN, parts.hostname) from None
        return url.strip()
    problem = forbidden_address(parts.hostname, allow_loopback=allow_loopback)
    if problem is not None:
        raise bad("bad_url", "url", URL_FORBIDDEN, problem)
    return url.strip()


# --- configuration ------------------------------------------------------------------------------------------------

MAX_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class NotificationSettings:
    """``[notifications]``: the SMS gateway, when messages go out, their texts, and how webhooks are sent."""

    sms_gateway_url: str | None = None  # None: no SMS (the phone page offers none)
    sms_auth_header: str = "Authorization"
    sms_auth_value: str | None = dataclass_field(default=None, repr=False)  # read from sms_secret_file
    sms_sender: str = ""
    timeout_s: float = 5.0  # one request to the gateway or a webhook, connecting and reading
    notify_at_ahead: tuple[int, ...] = DEFAULT_POSITIONS
    branch_positions: tuple[tuple[str, tuple[int, ...]], ...] = ()  # per branch, over notify_at_ahead
    templates: tuple[tuple[str, Text], ...] = ()  # replacements of TEMPLATES
    webhook_allow_loopback: bool = False  # tests and a receiver on the server's own machine

    def __post_init__(self) -> None:
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise InvalidValue("timeout_s", f"must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds, "
                                            f"got {self.timeout_s}")
        check_positions(self.notify_at_ahead)
        for code, values in self.branch_positions:
            check_positions(values, f"branches.{code}")
        for key, text in self.templates:
            if key not in TEMPLATES:
                raise InvalidValue(f"templates.{key}", f"unknown template (known: {', '.join(TEMPLATES)})")
            check_template(text.zh, f"templates.{key}.zh-CN")
            check_template(text.en, f"templates.{key}.en")
        if self.sms_gateway_url is not None:
            parts = urlsplit(self.sms_gateway_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidValue("sms_gateway_url", f"must be an http(s) URL, got {self.sms_gateway_url!r}")

    @property
    def sms(self) -> bool:
        return self.sms_gateway_url is not None

    def positions(self, branch_code: str) -> tuple[int, ...]:
        return dict(self.branch_positions).get(branch_code, check_positions(self.notify_at_ahead))

    def template(self, key: str) -> Text:
        return dict(self.templates).get(key, TEMPLATES[key])
