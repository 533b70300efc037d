"""Request bodies of the JSON API. Unknown fields are refused, so a typo is an error, not a silent no-op."""

from __future__ import annotations

import re
from datetime import date as date_type
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict, field_validator

from server.domain.media import MAX_SECONDS, NOTICE_MAX_CHARS, TITLE_MAX_CHARS
from server.domain.replay import MAX_CHANGES
from server.domain.tickets import PriorityClass

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")

ID_MAX = 2**63 - 1
"""The largest id, version or sequence number a database row can hold (a signed 64-bit integer)."""



def _json_number(value: Any) -> Any:
    """JSON's numbers as JSON Schema reads them: 5.0 is the whole number 5; ``true`` and ``"5"`` are no numbers."""
    if isinstance(value, bool | str):
        raise ValueError("must be a number, not text or true/false")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Flag = Annotated[bool, Strict()]  # true or false, not 1 or "yes"
# (the bounds come before the number's reading: after it, pydantic would leave them out of the JSON schema)
RowId = Annotated[int, Strict(), Field(ge=1, le=ID_MAX), BeforeValidator(_json_number)]
Version = Annotated[RowId | None, Field(default=None, description="refuse if the ticket changed since this version")]


_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # tab and line breaks are allowed
_CONTROL = re.compile(f"[{_CONTROLS}]")


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("must not contain control characters (other than tab and line breaks)")
    if isinstance(value, list):
        for item in value:
            _no_control_characters(item)
    return value


TEXT_PATTERN = rf"^[^{_CONTROLS}]*$"
"""Text without control characters, as the document states it."""
FILLED_TEXT_PATTERN = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"
"""The same with at least one character that is not a space (text is stripped before its length is checked)."""


def _document_text_rules(schema: dict[str, Any]) -> None:
    """Put the rules of :class:`Body` on its text fields in the JSON schema (the OpenAPI document): no control
    characters, and a required text not blank."""
    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & node.keys():
                node["pattern"] = FILLED_TEXT_PATTERN if node.get("minLength", 0) >= 1 else TEXT_PATTERN
            for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
                if key in node:
                    visit(list(node[key].values()) if key == "properties" else node[key])

    visit(schema)


class Body(BaseModel):
    """A request body: unknown fields refused, text stripped, and no control characters in any text (PostgreSQL
    cannot store a NUL; none belongs in a note, a reason or a name)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_document_text_rules)

    @field_validator("*")
    @classmethod
    def _text_is_printable(cls, value: Any) -> Any:
        return _no_control_characters(value)


class IssueTicketRequest(Body):
    service: str = Code
    priority: PriorityClass = PriorityClass.NORMAL
    channel: Literal["kiosk", "mobile", "api", "appointment"] = "kiosk"
    language: Literal["zh-CN", "en"] = "zh-CN"


class LoginRequest(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class SignInRequest(Body):
    takeover: Flag = False
    services: list[str] | None = Field(
        default=None, min_length=1, max_length=32,
        description="the counter's services to serve today, a subset of its configured ones (default: all)")


class PauseRequest(Body):
    reason: str = Field(min_length=1, max_length=200, description="e.g. break, back office, meeting")


class CallTicketRequest(Body):
    ticket_id: RowId
    version: Version = None


class TicketActionRequest(Body):
    version: Version = None
    reason: str | None = Field(default=None, max_length=500)


class FinishAndCallNextRequest(Body):
    version: Version = Field(default=None, description="the version of the served ticket the console saw")


class CancelTicketRequest(Body):
    version: Version = Field(default=None, description="the version of the ticket the caller saw")


class UndoNoShowRequest(Body):
    version: Version = Field(default=None, description="the version of the no-show ticket the console saw")


class TransferRequest(Body):
    to_service: str | None = Field(default=None, min_length=1, max_length=32)
    to_counter: str | None = Field(default=None, min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    version: Version = None


class CallBackRequest(Body):
    """With a dissatisfied score: the customer's number (and optional name) to be called back about it, given with
    their consent. The number's own rules (a mainland China mobile, or + and a country code) answer 400
    ``bad_phone`` with the reason in both languages (``details.text``)."""

    phone: str = Field(max_length=32, description="e.g. 138 1234 5678, +86 13812345678, +44 20 7946 0958 (400 "
                                                  "bad_phone when empty or not a phone's)")
    name: str | None = Field(default=None, max_length=40, description="how to address the customer (optional)")
    consent: Flag = Field(description="the customer ticked the consent line (400 consent_required unless true)")


class PhoneRequest(Body):
    """One customer's phone number (a personal-data request)."""

    phone: str = Field(max_length=32, description="the number the customer gave (400 bad_phone when empty or not a "
                                                  "phone's)")


class RateRequest(Body):
    """A customer's rating from the ticket's phone page (GET /api/ratings/config lists scores and chips)."""

    score: Annotated[int, Strict(), Field(ge=1, le=5), BeforeValidator(_json_number)] = Field(
        description="a score of the configured scale (three: 1-3, five: 1-5)")
    reasons: list[Annotated[str, Code]] = Field(default_factory=list, max_length=12,
                               description="codes of reason chips offered with this score")
    comment: str | None = Field(default=None, max_length=200)
    call_back: CallBackRequest | None = Field(default=None, description="only with a dissatisfied score")


class PadRateRequest(RateRequest):
    """A rating from the counter's pad for the ticket that counter finished."""

    ticket_id: RowId


class ResolveFollowUpRequest(Body):
    outcome: str = Field(max_length=16, description="one of the vocabulary's outcomes, e.g. explained, fixed, "
                                                    "compensated, not_reached, no_action (422 bad_outcome)")
    note: str = Field(min_length=1, max_length=500, description="how the customer was answered")


class AssignFollowUpRequest(Body):
    owner: str = Field(min_length=1, max_length=64, description="username of the staff member who owns it")


class CaseNoteRequest(Body):
    text: str = Field(min_length=1, max_length=500, description="what was done or learnt (added to the thread)")


class ReopenFollowUpRequest(Body):
    reason: str = Field(min_length=1, max_length=500, description="why the case opens again")


class ComplaintRequest(Body):
    """A complaint recorded by staff at the counter (about the ticket they serve) or by a manager."""

    category: str = Field(max_length=16, description="one of the vocabulary's categories, e.g. wait, staff, "
                                                     "result, fees, facilities, other (422 bad_category)")
    words: str = Field(min_length=1, max_length=500, description="what the customer said, in their words")
    ticket_id: RowId | None = Field(default=None, description="the ticket it is about (optional)")
    counter: str | None = Field(default=None, max_length=16, description="the counter where it was recorded")
    call_back: CallBackRequest | None = None


# --- wall displays: media playlist and notices (managers) -------------------------------------------------

class NoticeText(Body):
    """A notice in both languages, e.g. {"zh-CN": "今日办理宽带送路由器", "en": "Free router with broadband today"}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True,
                              json_schema_extra=_document_text_rules)
    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=NOTICE_MAX_CHARS)
    en: str = Field(min_length=1, max_length=NOTICE_MAX_CHARS)


class NoticeRequest(Body):
    text: NoticeText
    enabled: Flag = True


class NoticeUpdateRequest(Body):
    text: NoticeText | None = None
    enabled: Flag | None = None


class MediaUpdateRequest(Body):
    title: str | None = Field(default=None, max_length=TITLE_MAX_CHARS, description='"" removes the title')
    seconds: Annotated[float, Field(gt=0, le=MAX_SECONDS), BeforeValidator(_json_number)] | None = Field(default=None,
                                  description="time on screen (images; a video ends earlier when shorter)")
    enabled: Flag | None = None


class PlaylistOrderRequest(Body):
    ids: list[RowId] = Field(min_length=1, max_length=500, description="every item's id, in the new order")


class ReasonText(Body):
    zh_cn: str = Field(alias="zh-CN", min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=100)


class StopIssueRequest(Body):
    """Stop issuing tickets of one service (or, without ``service``, of the whole branch)."""

    service: str | None = Field(default=None, min_length=1, max_length=32)
    starts_at: AwareDatetime | None = Field(default=None, description="from when (ISO 8601 with offset); default now")
    until: Literal["day_end", "resumed"] | AwareDatetime = Field(
        default="day_end", description="day_end: the end of that service day; resumed: until resumed by hand; or an "
                                       "instant (ISO 8601 with offset)")
    reason: str = Field(min_length=1, max_length=32, description="all_taken, closing, busy, maintenance or custom")
    text: ReasonText | None = Field(default=None, description="the custom reason, in both languages")


class PasswordChangeRequest(Body):
    """``username`` only when nobody is signed in (the sign-in that was told to change the password first)."""

    username: str | None = Field(default=None, min_length=1, max_length=64)
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


AccountRoleName = Literal["staff", "manager", "admin", "regional"]
UsernameText = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")


class AccountCreateRequest(Body):
    username: str = UsernameText
    display_name: str = Field(min_length=1, max_length=64)
    role: AccountRoleName = "staff"
    branches: list[Annotated[str, Code]] = Field(default_factory=list, max_length=500)
    photo: str | None = Field(default=None, max_length=200)


class AccountUpdateRequest(Body):
    version: RowId
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    role: AccountRoleName | None = None
    branches: list[Annotated[str, Code]] | None = Field(default=None, max_length=500)
    photo: str | None = Field(default=None, max_length=200)
    disabled: Flag | None = None


class AccountVersionRequest(Body):
    version: RowId


# --- rosters (server/services/roster.py) -----------------------------------------------------------------------

ClockTime = Field(min_length=4, max_length=5, pattern=r"^\d{1,2}:\d{2}$", description="local time HH:MM, on the "
                  "quarter hour, 00:00-24:00")


class RosterShiftRequest(Body):
    """A roster entry: ``work`` (a counter, and services in preference order; none: the counter's own) or a
    ``break``."""

    kind: Literal["work", "break"] = "work"
    username: str = Field(min_length=1, max_length=64)
    counter: str | None = Field(default=None, min_length=1, max_length=32)
    services: list[Annotated[str, Code]] = Field(default_factory=list, max_length=50)
    start: str = ClockTime
    end: str = ClockTime


class NewRosterShiftRequest(RosterShiftRequest):
    date: date_type = Field(description="the branch's local day, YYYY-MM-DD")


class CopyRosterRequest(Body):
    """Copy a day's roster to other days (their entries replaced)."""

    date: date_type = Field(description="the day to copy, YYYY-MM-DD")
    days: list[date_type] = Field(default_factory=list, max_length=62, description="days to copy it to")
    weeks: int = Field(default=0, ge=0, le=8, description="also the same weekday of this many next weeks")
# --- what-if replay (server/services/what_if.py) ---------------------------------------------------------------

ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", description="HH:MM, local time")]
DayText = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]


class AddCounterChange(Body):
    """One more counter from ``start`` to ``end`` serving ``services`` (in order of preference)."""

    kind: Literal["add_counter"]
    start: ClockTime
    end: ClockTime
    services: list[Annotated[str, Code]] = Field(min_length=1, max_length=50)


class AddServiceChange(Body):
    """Counter ``counter`` also serves ``service`` from ``start`` to ``end``."""

    kind: Literal["add_service"]
    counter: str = Code
    service: str = Code
    start: ClockTime
    end: ClockTime


class CloseCounterChange(Body):
    """Counter ``counter`` calls nobody from ``start`` to ``end``."""

    kind: Literal["close_counter"]
    counter: str = Code
    start: ClockTime
    end: ClockTime


WhatIfChange = Annotated[AddCounterChange | AddServiceChange | CloseCounterChange, Field(discriminator="kind")]


class WhatIfRequest(Body):
    """A closed day to replay, the changes to try (at most 10), and the seed of the drawn service times."""

    day: DayText
    changes: list[WhatIfChange] = Field(default_factory=list, max_length=MAX_CHANGES)
    seed: Annotated[int, Strict(), Field(ge=0, le=2**31 - 1), BeforeValidator(_json_number)] = 1
class BookingContact(Body):
    """Who the booking is for: a phone number (kept with consent, docs/privacy.md) and an optional name."""

    phone: str = Field(min_length=1, max_length=40)
    name: str | None = Field(default=None, max_length=40)
    consent: Flag = Field(default=False, description="the customer agreed to the use of their number for this booking")
    language: Literal["zh-CN", "en"] = "zh-CN"


class BookRequest(BookingContact):
    service: str = Code
    start: AwareDatetime = Field(description="the slot's start, as the slots list gives it")


class BookingKey(Body):
    """A booking, by its code and the phone number it was booked with (both are needed)."""

    code: str = Field(min_length=1, max_length=20)
    phone: str = Field(min_length=1, max_length=40)


class CheckinRequest(Body):
    """A check-in at the kiosk: the booking code (typed, or scanned from its QR) or the phone number, one of them."""

    code: str | None = Field(default=None, min_length=1, max_length=40)
    phone: str | None = Field(default=None, min_length=1, max_length=40)
    language: Literal["zh-CN", "en"] = "zh-CN"


class StaffCheckinRequest(Body):
    """Staff check a booking in by hand; the ticket speaks the customer's language."""

    language: Literal["zh-CN", "en"] = "zh-CN"


class ChangeBookingRequest(BookingKey):
    start: AwareDatetime = Field(description="the new slot's start (same service)")


class RemoteJoinRequest(Body):
    """A ticket taken on a phone before arriving: the service, the phone number and its consent."""

    service: str = Code
    phone: str = Field(min_length=1, max_length=40)
    consent: bool = Field(description="the customer agreed that the number is kept for the day's limits")
    language: Literal["zh-CN", "en"] = "zh-CN"


class ArrivalRequest(Body):
    """The phone that holds the ticket checks in with the code of the wall's QR."""

    token: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=40)


class KioskArrivalRequest(Body):
    """At the kiosk: today's ticket number, or the phone number it was taken with; one of them."""

    number: str | None = Field(default=None, min_length=1, max_length=16)
    phone: str | None = Field(default=None, min_length=1, max_length=40)
