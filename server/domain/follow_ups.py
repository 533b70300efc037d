"""A follow-up case: a customer's dissatisfaction that one owner carries until it is resolved.

A case opens from a dissatisfied rating (pad or phone page) or from a complaint staff record at the counter or a
manager records on the manager page. It moves ``open`` -> ``in_progress`` -> ``resolved``; a resolved case may be
reopened with a reason. It is due ``[follow_ups] answer_hours`` of wall-clock time after it opened (or after it was
reopened: the customer is owed a fresh answer); past that and not resolved it is overdue.

Pure: no clock, no database. The services (:mod:`server.services.follow_ups`) load a case, ask this module whether
a change is allowed and what follows from it, and save.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Text

MAX_ANSWER_HOURS = 24 * 30
MAX_NOTE = 500
MAX_WORDS = 500


class CaseStatus(StrEnum):
    OPEN = "open"  # nobody has started on it yet
    IN_PROGRESS = "in_progress"  # its owner is on it (called the customer, waiting for an answer...)
    RESOLVED = "resolved"  # answered, with an outcome

    @property
    def label(self) -> Text:
        return STATUS_LABELS[self]

    @property
    def unresolved(self) -> bool:
        return self is not CaseStatus.RESOLVED


STATUS_LABELS: dict[CaseStatus, Text] = {
    CaseStatus.OPEN: Text("待处理", "Open"),
    CaseStatus.IN_PROGRESS: Text("处理中", "In progress"),
    CaseStatus.RESOLVED: Text("已解决", "Resolved"),
}

UNRESOLVED = tuple(status.value for status in CaseStatus if status.unresolved)
"""The stored states of a case still owed an answer (what the overdue rule and the alert look at)."""


class CaseSource(StrEnum):
    RATING = "rating"  # a dissatisfied rating opened it
    COMPLAINT = "complaint"  # staff or a manager recorded what the customer said


class CaseCategory(StrEnum):
    """What the customer is unhappy about (the short list reports group by)."""

    WAIT = "wait"
    STAFF = "staff"
    RESULT = "result"
    FEES = "fees"
    FACILITIES = "facilities"
    OTHER = "other"

    @property
    def label(self) -> Text:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[CaseCategory, Text] = {
    CaseCategory.WAIT: Text("等候时间", "Waiting time"),
    CaseCategory.STAFF: Text("服务态度", "Staff attitude"),
    CaseCategory.RESULT: Text("业务结果", "Outcome of the business"),
    CaseCategory.FEES: Text("收费", "Fees and charges"),
    CaseCategory.FACILITIES: Text("环境设施", "Hall and facilities"),
    CaseCategory.OTHER: Text("其他", "Other"),
}


class Outcome(StrEnum):
    """How a case was closed."""

    EXPLAINED = "explained"  # the customer got an explanation they accepted
    FIXED = "fixed"  # the problem was put right
    COMPENSATED = "compensated"  # a goodwill gesture or refund
    NOT_REACHED = "not_reached"  # the customer could not be reached
    NO_ACTION = "no_action"  # nothing to do (a mistaken rating, a duplicate)

    @property
    def label(self) -> Text:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: dict[Outcome, Text] = {
    Outcome.EXPLAINED: Text("已解释，客户接受", "Explained, customer accepted"),
    Outcome.FIXED: Text("问题已处理", "Problem put right"),
    Outcome.COMPENSATED: Text("已补偿", "Compensated"),
    Outcome.NOT_REACHED: Text("无法联系客户", "Customer not reached"),
    Outcome.NO_ACTION: Text("无需处理", "No action needed"),
}


class CaseAction(StrEnum):
    START = "start"  # open -> in progress
    RESOLVE = "resolve"  # open or in progress -> resolved
    REOPEN = "reopen"  # resolved -> open, with a reason


TRANSITIONS: dict[tuple[CaseStatus, CaseAction], CaseStatus] = {
    (CaseStatus.OPEN, CaseAction.START): CaseStatus.IN_PROGRESS,
    (CaseStatus.OPEN, CaseAction.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.IN_PROGRESS, CaseAction.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.RESOLVED, CaseAction.REOPEN): CaseStatus.OPEN,
}


def allowed_actions(status: CaseStatus) -> list[CaseAction]:
    """What may be done to a case in this status (what the case view offers)."""
    return [action for (state, action) in TRANSITIONS if state is status]


def next_status(status: CaseStatus, action: CaseAction) -> CaseStatus:
    """The status after ``action``; 409 ``bad_transition`` when the case does not allow it."""
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise DomainError(f"a case that is {status.value.replace('_', ' ')} cannot be {_done(action)}",
                          code="bad_transition", status=status.value, action=action.value)
    return found


def _done(action: CaseAction) -> str:
    return {"start": "started", "resolve": "resolved", "reopen": "reopened"}[action.value]


def may_assign(status: CaseStatus) -> bool:
    """An owner is given (or changed) while the case is unresolved."""
    return status.unresolved


@dataclass(frozen=True)
class FollowUpRules:
    """``[follow_ups]``: how long the hall takes to answer a case (wall-clock hours, nights and weekends included:
    the customer waits through them too)."""

    answer_hours: float = 24.0

    def __post_init__(self) -> None:
        value = self.answer_hours
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_ANSWER_HOURS:
            raise InvalidValue("answer_hours", f"must be a number of hours above 0 and at most {MAX_ANSWER_HOURS}, "
                                               f"got {value!r}")

    @property
    def answer_within(self) -> timedelta:
        return timedelta(hours=self.answer_hours)

    def due_at(self, opened_at: datetime) -> datetime:
        """When a case opened (or reopened) at ``opened_at`` must be answered."""
        return opened_at + self.answer_within


def is_overdue(status: CaseStatus, due_at: datetime | None, now: datetime) -> bool:
    """Past its due time and not resolved."""
    return status.unresolved and due_at is not None and now > due_at


def time_to_resolve(created_at: datetime, resolved_at: datetime | None) -> timedelta | None:
    """From the case's opening to its (latest) resolution; None while it is unresolved."""
    return None if resolved_at is None else max(timedelta(0), resolved_at - created_at)


@dataclass(frozen=True)
class CaseFacts:
    """What the reports read of a case."""

    status: CaseStatus
    created_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None


def answered_late(case: CaseFacts, now: datetime) -> bool:
    """Resolved after its due time, or unresolved and past it now (what the reports count as overdue)."""
    if case.due_at is None:
        return False
    if case.status is CaseStatus.RESOLVED and case.resolved_at is not None:
        return case.resolved_at > case.due_at
    return is_overdue(case.status, case.due_at, now)


def case_figures(opened: Sequence[CaseFacts], resolved: Sequence[CaseFacts], now: datetime) -> dict[str, float | None]:
    """A report row: cases opened in the period, those of them answered late (:func:`answered_late`), cases resolved
    in the period and how long those took from opening (median and 90th percentile, seconds)."""
    took = [t.total_seconds() for c in resolved if (t := time_to_resolve(c.created_at, c.resolved_at)) is not None]
    return {"opened": len(opened), "overdue": sum(1 for c in opened if answered_late(c, now)),
            "resolved": len(resolved), "resolve_p50_s": percentile(took, 0.5), "resolve_p90_s": percentile(took, 0.9)}


def checked_text(text: str | None, *, limit: int, what: str, code: str) -> str:
    """Free text a person typed: stripped, 1..``limit`` characters (422 ``code`` with the reason otherwise)."""
    cleaned = (text or "").strip()
    if not cleaned or len(cleaned) > limit:
        raise DomainError(f"{what} must be 1-{limit} characters", code=code, http_status=422)
    return cleaned


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in (0, 1]) of ``values``; None for none. Nearest rank: the figure is
    one case's real time, which a manager can look up."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(share * len(ordered) - 1e-9)))
    return ordered[rank - 1]


__all__ = [
    "CATEGORY_LABELS",
    "MAX_ANSWER_HOURS",
    "MAX_NOTE",
    "MAX_WORDS",
    "OUTCOME_LABELS",
    "STATUS_LABELS",
    "TRANSITIONS",
    "UNRESOLVED",
    "CaseAction",
    "CaseCategory",
    "CaseFacts",
    "CaseSource",
    "CaseStatus",
    "FollowUpRules",
    "Outcome",
    "allowed_actions",
    "answered_late",
    "case_figures",
    "checked_text",
    "is_overdue",
    "may_assign",
    "next_status",
    "percentile",
    "time_to_resolve",
]
