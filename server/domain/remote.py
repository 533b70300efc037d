"""The virtual queue: a ticket taken on the phone before the customer is in the hall.

A remote ticket waits like any other (same number, same queue key, counted by the estimator), but until it is
**checked in** at the hall (:attr:`~server.domain.ticket.Ticket.arrived_at`) no counter calls it
(:func:`server.domain.policy.is_callable`). When a counter calls a ticket behind it, it is **held aside** from that
moment (``held_since``); it keeps its place, so once it checks in it is the next of its group to be called. Held
longer than its service's ``checkin_min`` without checking in, it expires (:func:`hold_expired`), so that no-shows
never clog the queue. No ticket state is added: "not yet in the hall" is a nullable instant on a waiting ticket.

Presence is proved by the **arrival code** on the wall display: an HMAC of the branch and the current time window
with the server's secret (:func:`arrival_code`), the previous window still accepted (:func:`arrival_code_valid`), so a
photo of the door's QR taken at home is useless minutes later.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Problem, Text

MAX_CHECKIN_MIN = 240
ARRIVAL_WINDOW = timedelta(seconds=90)
"""How long one arrival code is shown on the wall; the one before it is accepted too (a customer who scanned just
before it changed), so a code works for 90-180 s."""
ARRIVAL_CODE_LENGTH = 10
MAX_PER_PHONE_DAY = 20


@dataclass(frozen=True)
class ServiceRemote:
    """``remote = { … }`` of a service: whether a ticket may be taken on the phone before arriving, and how long one
    held aside at the front waits for its check-in before it expires."""

    enabled: bool = False
    checkin_min: int = 20

    def __post_init__(self) -> None:
        if isinstance(self.checkin_min, bool) or not 1 <= self.checkin_min <= MAX_CHECKIN_MIN:
            raise InvalidValue("checkin_min", f"must be 1-{MAX_CHECKIN_MIN}, got {self.checkin_min}",
                               Problem.OUT_OF_RANGE, min=1, max=MAX_CHECKIN_MIN, value=self.checkin_min)

    @property
    def allowance(self) -> timedelta:
        return timedelta(minutes=self.checkin_min)


def check_per_phone_day(value: int) -> int:
    """``[limits] remote_per_phone_day``: 1 to 20."""
    if isinstance(value, bool) or not 1 <= value <= MAX_PER_PHONE_DAY:
        raise InvalidValue("remote_per_phone_day", f"must be 1-{MAX_PER_PHONE_DAY}, got {value}",
                           Problem.OUT_OF_RANGE, min=1, max=MAX_PER_PHONE_DAY, value=value)
    return value


def awaiting_arrival(remote: bool, arrived_at: datetime | None) -> bool:
    """A remote ticket whose customer has not checked in yet: never called (the one definition)."""
    return remote and arrived_at is None


def hold_expires_at(held_since: datetime | None, allowance: timedelta) -> datetime | None:
    """When a held remote ticket expires unless it checks in (None: it has not been held aside)."""
    return None if held_since is None else held_since + allowance


def hold_expired(held_since: datetime | None, allowance: timedelta, now: datetime) -> bool:
    """Held aside at the front for longer than its allowance."""
    ends = hold_expires_at(held_since, allowance)
    return ends is not None and now >= ends


# --- the arrival code ------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: a customer may type it


def arrival_window(now: datetime) -> int:
    """The number of the time window ``now`` falls in."""
    return int((now - _EPOCH) // ARRIVAL_WINDOW)


def arrival_code(secret: str, branch_code: str, window: int) -> str:
    """The code the wall shows in ``window``: HMAC-SHA256 of branch and window with the server's secret."""
    digest = hmac.new(secret.encode(), f"arrival:{branch_code}:{window}".encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:10], "big")
    chars = []
    for _ in range(ARRIVAL_CODE_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def current_arrival_code(secret: str, branch_code: str, now: datetime) -> tuple[str, datetime]:
    """The code to show now and when the wall should fetch the next."""
    window = arrival_window(now)
    return arrival_code(secret, branch_code, window), _EPOCH + ARRIVAL_WINDOW * (window + 1)


def arrival_code_valid(secret: str, branch_code: str, code: str, now: datetime) -> bool:
    """The current window's code or the previous one's (compared in constant time)."""
    given = code.strip().upper()
    if not given.isascii():  # a code is ASCII; compare_digest refuses anything else (and it cannot match)
        return False
    window = arrival_window(now)
    return any(hmac.compare_digest(given, arrival_code(secret, branch_code, w)) for w in (window, window - 1))


# --- refusals, in both languages ---------------------------------------------------------------------------------

def refusal(code: str, text: Text, http_status: int = 409, **details: object) -> DomainError:
    return DomainError(text.en, code=code, http_status=http_status, text=text.as_dict(), **details)


NOT_REMOTE = Text("该业务不支持在线取号，请到厅内取号机取号", "This service does not take tickets from a phone; "
                  "please take one at the kiosk in the hall")
OPEN_REMOTE_TICKET = Text("该手机号已有一张未到厅的在线号，请先到厅签到或取消",
                          "This phone number already holds a ticket taken from a phone; check it in or cancel it "
                          "first")
DAILY_REMOTE_LIMIT = Text("该手机号今天的在线取号次数已用完，请到厅内取号", "This phone number has taken as many "
                          "tickets from a phone as allowed today; please take one at the kiosk in the hall")
BAD_ARRIVAL_CODE = Text("签到码已过期或无效：请扫描厅内屏幕上正在显示的二维码",
                        "This check-in code is old or wrong: scan the QR code shown on the hall's screen now")
NOT_AWAITING = Text("这张号不需要签到", "This ticket needs no check-in")
OTHER_BRANCH = Text("这张号属于另一个营业厅，请到该营业厅签到", "This ticket belongs to another branch: check in there")
GIVE_ONE = Text("请输入号票号码或手机号其中一项", "Give the ticket number or the phone number, one of them")
NO_REMOTE_TICKET = Text("没有找到该号码今天待签到的在线号", "No ticket from a phone waits for check-in under that "
                        "number today")
