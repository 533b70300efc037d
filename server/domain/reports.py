"""The manager's reports, as pure rules: what a closed day leaves behind for them, and how a range is read back.

When a service day closes, its tickets are folded into **figure cells** (:func:`day_cells`), one per branch, day and
*grain*:

- ``day``: the branch's whole day (totals, days and weekdays);
- ``service``: per service the ticket was issued for (arrivals, ends, waits, service times, ratings);
- ``hour``: per local hour of issue, every service together (the heat map, the day's curve, the estimates' accuracy
  by hour);
- ``counter`` and ``staff``: per counter / staff member that last handled the ticket (what happened at the counter:
  called, served, no-shows, transfers, waits until their call, service times, ratings; tickets nobody called are
  not at any counter).

Each hall cell also keeps how good the estimate given at issue was (:func:`estimate_counts`) and tells customers
who walked out apart from staff cancellations and no-shows (:func:`end_of`).

Waits (issue to first call) and service times (start to finish) are kept as **histograms with fixed bins**
(:data:`BIN_EDGES_MIN`), so that percentiles over any range come from summed bins (:func:`histogram_percentile`).
Each month is also kept summed (per weekday for the ``day`` and ``hour`` grains), so that a year of 50 branches is
read from a few thousand rows: whole months from the month rows, the days at either end from the day rows
(:func:`split_months`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.service_day import TicketFacts
from server.domain.tickets import TicketState
from server.domain.values import Text

BIN_EDGES_MIN: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 25, 30, 35, 40, 45, 50, 60,
                                  75, 90, 120)
"""Lower edges of the histogram bins in minutes; the last bin (120+) is open. One-minute bins where most waits and
service times fall, wider ones in the tail: a percentile read back is within its bin's width of the exact one."""
BINS = len(BIN_EDGES_MIN)
WAIT_BINS = tuple(f"wait_h{i:02d}" for i in range(BINS))
SERVICE_BINS = tuple(f"service_h{i:02d}" for i in range(BINS))
MAX_RANGE_DAYS = 400
SATISFACTION_GOAL = 0.9
"""The share of satisfied ratings halls are asked to reach (the operators' plans: "above 90 %")."""


def bin_of(seconds: float) -> int:
    """The bin a duration falls in (negative durations, a clock set back, count as 0)."""
    minutes = max(seconds, 0.0) / 60
    low, high = 0, BINS - 1
    while low < high:  # the last edge at or below ``minutes``
        middle = (low + high + 1) // 2
        if BIN_EDGES_MIN[middle] <= minutes:
            low = middle
        else:
            high = middle - 1
    return low


def histogram_percentile(counts: Sequence[int], share: float) -> float | None:
    """The ``share`` percentile (nearest rank) of the durations counted in ``counts``, in seconds, interpolated
    linearly inside its bin; the open last bin answers its lower edge. None for an empty histogram."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = BIN_EDGES_MIN[index]
            if index == BINS - 1:
                return low * 60.0
            width = BIN_EDGES_MIN[index + 1] - low
            return (low + width * (rank - seen) / count) * 60.0
        seen += count
    return BIN_EDGES_MIN[-1] * 60.0  # unreachable: the ranks add up


class Grain(StrEnum):
    DAY = "day"
    SERVICE = "service"
    HOUR = "hour"
    COUNTER = "counter"
    STAFF = "staff"


COUNTS = ("issued", "called", "served", "no_shows", "cancelled", "expired", "transferred", "wait_count",
          "wait_sum_s", "within_target", "service_count", "service_sum_s", "rated", "satisfied", "walked_out",
          "estimated", "within_range", "late_over_5min", "abs_error_sum_s")
"""The summed measures of a cell besides the histograms (sums of seconds are whole seconds)."""
AT_COUNTER = ("called", "served", "no_shows", "transferred", "wait_count", "wait_sum_s", "within_target",
              "service_count", "service_sum_s", "rated", "satisfied")
"""The measures a counter or staff member is answerable for (arrivals, walk-outs, cancellations, expiries and the
estimates given at issue are the hall's)."""
LATE_AFTER = timedelta(minutes=5)
"""A wait that ended more than this past the shown high end counts as ``late_over_5min``."""


@dataclass
class Cell:
    """One branch's day at one grain and key: counts, sums and the two histograms."""

    grain: Grain
    hour: int = -1  # local hour of issue (HOUR grain), else -1
    service_code: str = ""
    counter_number: str = ""
    staff_username: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    wait_bins: list[int] = field(default_factory=lambda: [0] * BINS)
    service_bins: list[int] = field(default_factory=lambda: [0] * BINS)
    reasons: Counter[str] = field(default_factory=Counter)

    def row(self) -> dict[str, object]:
        return {"grain": self.grain.value, "hour": self.hour, "service_code": self.service_code,
                "counter_number": self.counter_number, "staff_username": self.staff_username,
                **{name: int(self.counts[name]) for name in COUNTS},
                **dict(zip(WAIT_BINS, self.wait_bins, strict=True)),
                **dict(zip(SERVICE_BINS, self.service_bins, strict=True))}


_ENDS = {TicketState.DONE: "served", TicketState.NO_SHOW: "no_shows", TicketState.CANCELLED: "cancelled",
         TicketState.EXPIRED: "expired"}
HALL_ENDS = ("walked_out", "cancelled", "expired")
"""The ends of tickets no counter answers for."""


def end_of(facts: TicketFacts) -> str | None:
    """The count a closed ticket's end adds to: ``walked_out`` when its customer cancelled it before the call (only
    a waiting ticket can be cancelled), ``cancelled`` when staff or an integration did. A ticket still waiting when
    the day ended stays ``expired``: whether its customer had left or the hall ran out of time cannot be told."""
    if facts.state is TicketState.CANCELLED and facts.cancelled_by_customer:
        return "walked_out"
    return _ENDS.get(facts.state)


def estimate_counts(facts: TicketFacts) -> dict[str, int]:
    """What a ticket adds to the accuracy of the estimates given at issue: nothing unless it was called and had
    been given a known estimate; else ``estimated``, whether the wait to its first call ended inside the shown
    range, more than :data:`LATE_AFTER` past its high end, and the absolute error against the point estimate."""
    given = facts.estimate
    if given is None or facts.first_called_at is None:
        return {}
    wait = max((facts.first_called_at - facts.issued_at).total_seconds(), 0.0)
    return {"estimated": 1, "within_range": int(given.within(wait)),
            "late_over_5min": int(given.late_by(wait) > LATE_AFTER.total_seconds()),
            "abs_error_sum_s": round(abs(wait - given.mid_s))}


def day_cells(tickets: Iterable[TicketFacts], zone: tzinfo, targets: dict[str, timedelta]) -> list[Cell]:
    """The cells of one closed day of a branch (``zone``: its time zone; ``targets``: each service's target wait)."""
    cells: dict[tuple[Grain, int, str, str, str], Cell] = {}

    def cell(grain: Grain, hour: int = -1, service: str = "", counter: str = "", staff: str = "") -> Cell:
        key = (grain, hour, service, counter, staff)
        found = cells.get(key)
        if found is None:
            found = cells[key] = Cell(grain, hour, service, counter, staff)
        return found

    for facts in tickets:
        hall_cells = [cell(Grain.DAY), cell(Grain.SERVICE, service=facts.issued_service_code),
                      cell(Grain.HOUR, hour=facts.issued_at.astimezone(zone).hour)]
        counter_cells = []
        if facts.counter_number:
            counter_cells.append(cell(Grain.COUNTER, counter=facts.counter_number))
        if facts.staff_username:
            counter_cells.append(cell(Grain.STAFF, staff=facts.staff_username))
        end = end_of(facts)
        accuracy = estimate_counts(facts)
        wait = service = None
        if facts.first_called_at is not None:
            wait = (facts.first_called_at - facts.issued_at).total_seconds()
        if facts.state is TicketState.DONE and facts.finished_at and facts.service_started_at:
            service = (facts.finished_at - facts.service_started_at).total_seconds()
        target = targets.get(facts.issued_service_code)
        for one in hall_cells:
            one.counts["issued"] += 1
            if end in HALL_ENDS:
                one.counts[end] += 1
            one.counts.update(accuracy)
        for one in hall_cells + counter_cells:
            if end in ("served", "no_shows"):
                one.counts[end] += 1
            if facts.transferred:
                one.counts["transferred"] += 1
            if wait is not None:
                one.counts["called"] += 1
                one.counts["wait_count"] += 1
                one.counts["wait_sum_s"] += round(wait)
                one.wait_bins[bin_of(wait)] += 1
                if target is not None and wait <= target.total_seconds():
                    one.counts["within_target"] += 1
            if service is not None:
                one.counts["service_count"] += 1
                one.counts["service_sum_s"] += round(service)
                one.service_bins[bin_of(service)] += 1
            if facts.rating_dissatisfied is not None:
                one.counts["rated"] += 1
                one.counts["satisfied"] += 0 if facts.rating_dissatisfied else 1
                one.reasons.update(facts.rating_reasons)
    return list(cells.values())


# --- reading a range back -------------------------------------------------------------------------------------


class Section(StrEnum):
    """A table of the report; each has its CSV."""

    VOLUMES = "volumes"
    WAITS = "waits"
    SERVICE_TIMES = "service_times"
    SERVICE_LEVEL = "service_level"
    SATISFACTION = "satisfaction"
    REASONS = "reasons"
    HEATMAP = "heatmap"
    ACCURACY = "accuracy"
    FOLLOW_UPS = "follow_ups"  # cases opened, resolved, answered late; time to resolve (read from the cases)
    BOOKINGS = "bookings"  # appointments: booked, checked in, late walk-ins, cancelled, no-shows (report_booking)


class Group(StrEnum):
    """How a section's rows are grouped."""

    TOTAL = "total"
    BRANCH = "branch"
    SERVICE = "service"
    COUNTER = "counter"
    STAFF = "staff"
    DAY = "day"
    WEEKDAY = "weekday"
    HOUR = "hour"


GROUP_GRAIN = {Group.TOTAL: Grain.DAY, Group.BRANCH: Grain.DAY, Group.SERVICE: Grain.SERVICE,
               Group.DAY: Grain.DAY, Group.WEEKDAY: Grain.DAY, Group.HOUR: Grain.HOUR,
               Group.COUNTER: Grain.COUNTER, Group.STAFF: Grain.STAFF}
"""Which cells answer a grouping (every grain sums to the same hall totals, bar what no counter saw)."""

WEEKDAYS = (Text("周一", "Mon"), Text("周二", "Tue"), Text("周三", "Wed"), Text("周四", "Thu"), Text("周五", "Fri"),
            Text("周六", "Sat"), Text("周日", "Sun"))

LABELS: dict[str, Text] = {
    "branch": Text("网点", "Branch"), "service": Text("业务", "Service"), "counter": Text("窗口", "Counter"),
    "staff": Text("员工", "Staff member"), "day": Text("日期", "Day"), "weekday": Text("星期", "Weekday"),
    "hour": Text("时段", "Hour"), "total": Text("合计", "Total"),
    "issued": Text("取号数", "Arrivals"), "called": Text("叫号数", "Called"), "served": Text("办结数", "Served"),
    "no_shows": Text("过号数", "No-shows"), "walked_out": Text("中途离开", "Walked out"),
    "cancelled": Text("员工取消", "Cancelled by staff"),
    "expired": Text("日终失效", "Expired at day end"), "transferred": Text("转移数", "Transferred"),
    "count": Text("样本数", "Count"), "mean_s": Text("平均(秒)", "Mean (s)"), "p50_s": Text("中位数(秒)", "Median (s)"),
    "p80_s": Text("80分位(秒)", "80th percentile (s)"), "p90_s": Text("90分位(秒)", "90th percentile (s)"),
    "p95_s": Text("95分位(秒)", "95th percentile (s)"),
    "within_target": Text("目标内叫号", "Called within target"),
    "service_level": Text("服务水平", "Service level"), "rated": Text("评价数", "Ratings"),
    "satisfied": Text("满意数", "Satisfied"), "satisfied_share": Text("满意率", "Share satisfied"),
    "goal": Text("目标", "Goal"), "meets_goal": Text("达标", "Meets the goal"), "reason": Text("原因", "Reason"),
    "per_day": Text("日均", "Per day"), "days": Text("天数", "Days"),
    "volumes": Text("业务量", "Volumes"), "waits": Text("等候时间", "Waits"),
    "service_times": Text("办理时长", "Service times"),
    "satisfaction": Text("满意度", "Satisfaction"), "reasons": Text("评价原因", "Rating reasons"),
    "heatmap": Text("到达热力图", "Arrivals by weekday and hour"),
    "accuracy": Text("等候预估准确度", "Accuracy of the wait estimates"),
    "estimated": Text("有预估的叫号", "Called with an estimate"),
    "within_range": Text("在预估范围内", "Within the shown range"),
    "within_range_share": Text("范围内占比", "Share within the range"),
    "late_over_5min": Text("超出上限5分钟以上", "Over 5 min past the range"),
    "late_over_5min_share": Text("超5分钟占比", "Share over 5 min past"),
    "mean_abs_error_s": Text("平均误差(秒)", "Mean error (s)"),
    "follow_ups": Text("回访工单", "Follow-up cases"), "opened": Text("新增", "Opened"),
    "resolved": Text("已解决", "Resolved"), "overdue": Text("超时", "Overdue"),
    "resolve_p50_s": Text("解决用时中位数(秒)", "Time to resolve, median (s)"),
    "resolve_p90_s": Text("解决用时90分位(秒)", "Time to resolve, 90th percentile (s)"),
    "bookings": Text("预约", "Appointments"), "booked": Text("预约数", "Booked"),
    "checked_in": Text("已签到", "Checked in"), "late_walk_ins": Text("迟到转普通号", "Late walk-ins"),
    "booking_cancelled": Text("顾客取消", "Cancelled (customer)"),
    "booking_no_shows": Text("爽约", "No-shows"), "no_show_share": Text("爽约率", "No-show rate"),
}
"""Every label a report shows, in both languages (the chart page takes them from the answer)."""


@dataclass(frozen=True)
class Period:
    """A report's days, both included."""

    first: date
    last: date

    @classmethod
    def checked(cls, first: date | None, last: date | None, today: date) -> Period:
        """The asked range (default: the last 30 days before ``today``); 400 ``bad_date_range`` when reversed or
        longer than :data:`MAX_RANGE_DAYS`."""
        last = last or today - timedelta(days=1)
        first = first or last - timedelta(days=29)
        if first > last:
            raise DomainError(f"from ({first}) is after to ({last})", code="bad_date_range", http_status=400)
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise DomainError(f"a report covers at most {MAX_RANGE_DAYS} days, asked for {(last - first).days + 1}",
                              code="bad_date_range", http_status=400)
        return cls(first, last)

    def weekday_counts(self) -> list[int]:
        """How many of each weekday (Monday first) the period holds."""
        days = (self.last - self.first).days + 1
        weeks, rest = divmod(days, 7)
        counts = [weeks] * 7
        for offset in range(rest):
            counts[(self.first.weekday() + offset) % 7] += 1
        return counts


def share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else part / whole


def duration_figures(count: int, total_s: int, bins: Sequence[int]) -> dict[str, float | int | None]:
    """Count, mean and percentiles of one group's summed durations."""
    return {"count": count, "mean_s": None if count <= 0 else total_s / count,
            "p50_s": histogram_percentile(bins, 0.5), "p80_s": histogram_percentile(bins, 0.8),
            "p90_s": histogram_percentile(bins, 0.9), "p95_s": histogram_percentile(bins, 0.95)}


def when_label(value: object) -> str:
    """A group key as text (a day, an hour)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


WEEKDAY_GRAINS = (Grain.DAY, Grain.HOUR)
"""The grains whose month rows are kept per weekday (the heat map, a report by weekday)."""


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def split_months(first: date, last: date) -> tuple[list[date], list[tuple[date, date]]]:
    """[``first``, ``last``] as the whole months inside it (their first days) and the day ranges left at its ends."""
    start = first if first.day == 1 else next_month(first)
    months = []
    while next_month(start) - timedelta(days=1) <= last:
        months.append(start)
        start = next_month(start)
    if not months:
        return [], [(first, last)]
    edges = []
    if first < months[0]:
        edges.append((first, months[0] - timedelta(days=1)))
    end = next_month(months[-1])
    if end <= last:
        edges.append((end, last))
    return months, edges
