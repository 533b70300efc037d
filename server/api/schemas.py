"""Request bodies of the JSON API. Unknown fields are refused, so a typo is an error, not a silent no-op."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.domain.tickets import PriorityClass

Code = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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


class PauseRequest(Body):
    reason: str = Field(min_length=1, max_length=200, description="e.g. break, back office, meeting")


class CallTicketRequest(Body):
    ticket_id: int = Field(ge=1)
    version: int | None = Field(default=None, ge=1, description="refuse if the ticket changed since this version")


class TicketActionRequest(Body):
    version: int | None = Field(default=None, ge=1, description="refuse if the ticket changed since this version")
    reason: str | None = Field(default=None, max_length=500)


class TransferRequest(Body):
    to_service: str | None = Field(default=None, min_length=1, max_length=32)
    to_counter: str | None = Field(default=None, min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1)
