"""Request bodies of the JSON API. Unknown fields are refused, so a typo is an error, not a silent no-op."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from server.domain.tickets import PriorityClass

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")

ID_MAX = 2**63 - 1
"""The largest id, version or sequence number a database row can hold (a signed 64-bit integer)."""

RowId = Annotated[int, Field(ge=1, le=ID_MAX)]
Version = Annotated[int | None, Field(default=None, ge=1, le=ID_MAX,
                                      description="refuse if the ticket changed since this version")]


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("must not contain control characters (other than tab and line breaks)")
    if isinstance(value, list):
        for item in value:
            _no_control_characters(item)
    return value


class Body(BaseModel):
    """A request body: unknown fields refused, text stripped, and no control characters in any text (PostgreSQL
    cannot store a NUL; none belongs in a note, a reason or a name)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
    takeover: bool = False
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


class UndoNoShowRequest(Body):
    version: Version = Field(default=None, description="the version of the no-show ticket the console saw")


class TransferRequest(Body):
    to_service: str | None = Field(default=None, min_length=1, max_length=32)
    to_counter: str | None = Field(default=None, min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    version: Version = None


class RateRequest(Body):
    """A customer's rating from the ticket's phone page (GET /api/ratings/config lists scores and chips)."""

    score: int = Field(ge=1, le=5, strict=True, description="a score of the configured scale (three: 1-3, five: 1-5)")
    reasons: list[str] = Field(default_factory=list, max_length=12,
                               description="codes of reason chips offered with this score")
    comment: str | None = Field(default=None, max_length=200)


class PadRateRequest(RateRequest):
    """A rating from the counter's pad for the ticket that counter finished."""

    ticket_id: RowId = Field(strict=True)


class ResolveFollowUpRequest(Body):
    note: str = Field(min_length=1, max_length=500, description="how the customer was answered")


class AssignFollowUpRequest(Body):
    owner: str = Field(min_length=1, max_length=64, description="username of the staff member who owns it")


# --- wall displays: media playlist and notices (managers) -------------------------------------------------

class NoticeText(Body):
    """A notice in both languages, e.g. {"zh-CN": "今日办理宽带送路由器", "en": "Free router with broadband today"}."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)
    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)


class NoticeRequest(Body):
    text: NoticeText
    enabled: bool = True


class NoticeUpdateRequest(Body):
    text: NoticeText | None = None
    enabled: bool | None = None


class MediaUpdateRequest(Body):
    title: str | None = Field(default=None, max_length=100, description='"" removes the title')
    seconds: float | None = Field(default=None, gt=0, le=600,
                                  description="time on screen (images; a video ends earlier when shorter)")
    enabled: bool | None = None


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
