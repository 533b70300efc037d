"""What a floor manager is alerted to about the hall itself (the equipment has :mod:`server.domain.device_alerts`):

* ``wait_over_target``: a ticket of the service has waited longer than the service's target (critical);
* ``wait_will_pass_target``: not yet, but within the horizon (15 min): a ticket issued now is expected to wait longer
  than the target, or the longest-waiting ticket will pass the target before it is expected to be called (warning);
* ``unserved_waiting``: tickets wait for a service that no signed-in counter serves today (critical), with a
  suggestion: a signed-in counter configured for it could add it to today's services, or a closed counter
  configured for it could open;
* ``counter_paused_long``: a counter paused longer than ``[queue] pause_alert_min`` (warning);
* ``follow_up_overdue``: a follow-up case past its due time and not resolved (warning), with the action "open the
  case"; it ends when the case is resolved.

Pure: the live side (:class:`server.services.live.LiveHall`) builds the facts at each refresh from the same queue
and estimates it publishes, and calls :func:`hall_alerts`. An alert has a stable ``key`` (its kind and its service or
counter), so that the manager page can match it across refreshes; :func:`carry_since` keeps the instant each one
started for as long as it lasts, which is what an acknowledgement holds to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from server.domain.estimation import CounterStatus, WaitEstimate
from server.domain.values import Text

HORIZON = timedelta(minutes=15)
"""How far ahead ``wait_will_pass_target`` looks."""


class Severity(StrEnum):
    CRITICAL = "critical"  # customers are affected now: act
    WARNING = "warning"  # will affect them soon, or a counter may need a look

    @property
    def rank(self) -> int:
        """Sort order on the manager page: critical first."""
        return list(Severity).index(self)


class HallAlertKind(StrEnum):
    WAIT_OVER_TARGET = "wait_over_target"
    WAIT_WILL_PASS_TARGET = "wait_will_pass_target"
    UNSERVED_WAITING = "unserved_waiting"
    COUNTER_PAUSED_LONG = "counter_paused_long"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"


SEVERITY: dict[HallAlertKind, Severity] = {
    HallAlertKind.WAIT_OVER_TARGET: Severity.CRITICAL,
    HallAlertKind.WAIT_WILL_PASS_TARGET: Severity.WARNING,
    HallAlertKind.UNSERVED_WAITING: Severity.CRITICAL,
    HallAlertKind.COUNTER_PAUSED_LONG: Severity.WARNING,
    HallAlertKind.FOLLOW_UP_OVERDUE: Severity.WARNING,  # a customer waits for an answer, not in the hall
}


class ActionKind(StrEnum):
    """What the manager page offers to do from an alert, each through an existing command of the manager's own."""

    STOP_ISSUING = "stop_issuing"  # opens the issuing card's stop dialog for the service
    POST_NOTICE = "post_notice"  # a bilingual scrolling notice on the wall displays, prefilled
    OPEN_CASE = "open_case"  # opens the follow-up case's view


@dataclass(frozen=True)
class ServiceLoad:
    """One service at the instant: its target, what waits for it, and the estimator's view.

    ``longest_wait``: how long the longest-waiting ticket has waited (zero when none waits); ``longest_remaining``:
    the estimate of how much longer it waits; ``new_ticket``: the estimate for a ticket issued now."""

    code: str
    name: Text
    target: timedelta
    waiting: int
    longest_wait: timedelta
    longest_remaining: WaitEstimate
    new_ticket: WaitEstimate


@dataclass(frozen=True)
class CounterLoad:
    """One counter at the instant: configured services, today's (those of its sign-in), its state."""

    number: str
    name: Text
    status: CounterStatus
    configured: tuple[str, ...]
    today: tuple[str, ...]
    paused_since: datetime | None = None


@dataclass(frozen=True)
class OverdueCase:
    """A follow-up case past its due time and not resolved: what its alert says."""

    id: int
    due_at: datetime
    ticket_number: str | None = None
    owner: str | None = None  # as a person reads it (display name)


@dataclass(frozen=True)
class AlertRules:
    pause_alert: timedelta = timedelta(minutes=15)  # [queue] pause_alert_min
    horizon: timedelta = HORIZON


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    service: str | None = None
    notice: Text | None = None
    case: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "service": self.service,
                "notice": self.notice.as_dict() if self.notice else None, "case": self.case}


@dataclass(frozen=True)
class HallAlert:
    key: str
    kind: HallAlertKind
    text: Text
    suggestion: Text
    service: str | None = None
    counter: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]

    def as_dict(self, since: datetime) -> dict[str, Any]:
        """As pushed to the manager page (``type`` as equipment alerts have it; ``since``: when it started)."""
        return {"key": self.key, "active": True, "type": self.kind.value, "severity": self.severity.value,
                "text": self.text.as_dict(), "suggestion": self.suggestion.as_dict(), "service": self.service,
                "counter": self.counter, "facts": dict(self.facts), "actions": [a.as_dict() for a in self.actions],
                "since": since.isoformat()}


def alert_key(kind: HallAlertKind, subject: str) -> str:
    """One alert per kind and service (or counter): its identity across refreshes."""
    return f"hall:{kind.value}:{subject}"


def _minutes(value: timedelta) -> int:
    return max(0, int(value.total_seconds() // 60))


def _names(counters: Iterable[CounterLoad]) -> Text:
    chosen = list(counters)
    return Text("、".join(c.name.zh for c in chosen), ", ".join(c.name.en for c in chosen))


def longer_wait_notice(service: ServiceLoad) -> Text:
    """The notice the manager is offered to post when a service's wait is long."""
    return Text(f"{service.name.zh}暂时等候较长，请耐心等候，感谢您的理解。",
                f"{service.name.en}: the wait is longer than usual at the moment. Thank you for your patience.")


def _wait_actions(service: ServiceLoad) -> tuple[Action, ...]:
    return (Action(ActionKind.POST_NOTICE, service.code, longer_wait_notice(service)),
            Action(ActionKind.STOP_ISSUING, service.code))


def wait_will_pass(service: ServiceLoad, horizon: timedelta = HORIZON) -> bool:
    """Whether the service's wait is expected to pass its target within ``horizon`` (it has not yet): a ticket
    issued now is expected to wait longer than the target, or the longest-waiting ticket, expected to be called only
    after it has passed the target, passes it within the horizon."""
    if service.new_ticket.known and service.new_ticket.expected > service.target:
        return True
    if service.waiting == 0 or not service.longest_remaining.known:
        return False
    left = service.target - service.longest_wait
    return left <= horizon and service.longest_remaining.expected > left


def _wait_alert(service: ServiceLoad, rules: AlertRules) -> HallAlert | None:
    target = _minutes(service.target)
    facts = {"waiting": service.waiting, "longest_wait_min": _minutes(service.longest_wait), "target_min": target,
             "new_ticket_min": _minutes(service.new_ticket.expected) if service.new_ticket.known else None}
    name = service.name
    if service.waiting and service.longest_wait > service.target:
        return HallAlert(
            alert_key(HallAlertKind.WAIT_OVER_TARGET, service.code), HallAlertKind.WAIT_OVER_TARGET,
            Text(f"{name.zh}：最长已等 {facts['longest_wait_min']} 分钟，超过目标 {target} 分钟",
                 f"{name.en}: longest wait {facts['longest_wait_min']} min, over the {target} min target"),
            Text("增开窗口或为窗口加办此业务；可发布等候公告或暂停取号。",
                 "Open a counter or add this service at one; you may post a notice or stop issuing."),
            service=service.code, facts=facts, actions=_wait_actions(service))
    if wait_will_pass(service, rules.horizon):
        if service.new_ticket.known and service.new_ticket.expected > service.target:
            expected = facts["new_ticket_min"]
            text = Text(f"{name.zh}：新取号预计等候约 {expected} 分钟，将超过目标 {target} 分钟"
                        f"（{service.waiting} 人等候）",
                        f"{name.en}: a new ticket would wait about {expected} min, past the {target} min target "
                        f"({service.waiting} waiting)")
        else:
            longest, horizon = facts["longest_wait_min"], _minutes(rules.horizon)
            text = Text(f"{name.zh}：最长已等 {longest} 分钟，{horizon} 分钟内将超过目标 {target} 分钟",
                        f"{name.en}: longest wait {longest} min, passes the {target} min target within {horizon} min")
        return HallAlert(
            alert_key(HallAlertKind.WAIT_WILL_PASS_TARGET, service.code), HallAlertKind.WAIT_WILL_PASS_TARGET, text,
            Text("考虑增开窗口或为窗口加办此业务，或发布等候公告。",
                 "Consider opening a counter or adding this service at one, or posting a notice."),
            service=service.code, facts=facts, actions=_wait_actions(service))
    return None


def _unserved_alert(service: ServiceLoad, counters: Sequence[CounterLoad]) -> HallAlert | None:
    if service.waiting == 0:
        return None
    signed_in = [c for c in counters if c.status is not CounterStatus.CLOSED]
    if any(service.code in c.today for c in signed_in):
        return None
    could_add = [c for c in signed_in if service.code in c.configured]
    could_open = [c for c in counters if c.status is CounterStatus.CLOSED and service.code in c.configured]
    name = service.name
    if could_add:
        names = _names(could_add)
        suggestion = Text(f"请{names.zh}的工作人员在“今日业务”中加办{name.zh}（只有窗口本人可更改）。",
                          f"Ask the staff at {names.en} to add {name.en} to today's services (only they can).")
    elif could_open:
        names = _names(could_open)
        suggestion = Text(f"请安排人员开启{names.zh}。", f"Have someone open {names.en}.")
    else:
        suggestion = Text("没有窗口配置了此业务：请在系统管理中配置，或暂停取号。",
                          "No counter is set up for this service: set one up in Administration, or stop issuing.")
    return HallAlert(
        alert_key(HallAlertKind.UNSERVED_WAITING, service.code), HallAlertKind.UNSERVED_WAITING,
        Text(f"{name.zh}：{service.waiting} 人等候，但没有开启的窗口办理",
             f"{name.en}: {service.waiting} waiting, and no open counter serves it"),
        suggestion, service=service.code,
        facts={"waiting": service.waiting, "longest_wait_min": _minutes(service.longest_wait),
               "add_at": [c.number for c in could_add], "open": [c.number for c in could_open]},
        actions=(Action(ActionKind.POST_NOTICE, service.code, longer_wait_notice(service)),
                 Action(ActionKind.STOP_ISSUING, service.code)))


def _paused_alert(counter: CounterLoad, now: datetime, rules: AlertRules) -> HallAlert | None:
    if counter.status is not CounterStatus.PAUSED or counter.paused_since is None:
        return None
    paused = now - counter.paused_since
    if paused <= rules.pause_alert:
        return None
    minutes = _minutes(paused)
    return HallAlert(
        alert_key(HallAlertKind.COUNTER_PAUSED_LONG, counter.number), HallAlertKind.COUNTER_PAUSED_LONG,
        Text(f"{counter.name.zh}已暂停 {minutes} 分钟", f"{counter.name.en} paused for {minutes} min"),
        Text(f"暂停超过 {_minutes(rules.pause_alert)} 分钟：请确认窗口情况。",
             f"Paused longer than {_minutes(rules.pause_alert)} min: check on the counter."),
        counter=counter.number,
        facts={"paused_min": minutes, "paused_since": counter.paused_since.isoformat(),
               "limit_min": _minutes(rules.pause_alert)})


def _overdue_alert(case: OverdueCase, now: datetime) -> HallAlert:
    late = _minutes(now - case.due_at)
    hours, minutes = divmod(late, 60)
    late_zh = f"{hours} 小时 {minutes} 分钟" if hours else f"{minutes} 分钟"
    late_en = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    what = Text(f"回访 #{case.id}" + (f"（{case.ticket_number}）" if case.ticket_number else ""),
                f"Follow-up #{case.id}" + (f" ({case.ticket_number})" if case.ticket_number else ""))
    owner = Text(f"负责人：{case.owner}。" if case.owner else "尚未指派负责人。",
                 f"Owner: {case.owner}." if case.owner else "Nobody owns it yet.")
    text = (Text(f"{what.zh}已超时 {late_zh} 未解决", f"{what.en} is overdue by {late_en}") if late
            else Text(f"{what.zh}已超过处理期限，尚未解决", f"{what.en} has just passed its due time"))
    return HallAlert(
        alert_key(HallAlertKind.FOLLOW_UP_OVERDUE, str(case.id)), HallAlertKind.FOLLOW_UP_OVERDUE, text,
        Text(f"{owner.zh}请打开工单，联系客户并解决。",
             f"{owner.en} Open the case, answer the customer and resolve it."),
        facts={"case": case.id, "due_at": case.due_at.isoformat(), "overdue_min": late,
               "ticket": case.ticket_number},
        actions=(Action(ActionKind.OPEN_CASE, case=case.id),))


def hall_alerts(now: datetime, services: Sequence[ServiceLoad], counters: Sequence[CounterLoad],
                rules: AlertRules = AlertRules(), cases: Sequence[OverdueCase] = ()) -> list[HallAlert]:
    """The hall's current alerts, most severe first (then services, counters and overdue follow-up cases in order).

    A service with no counter serving it gets ``unserved_waiting`` only: its wait estimate is unknown, and what
    matters is that nobody will call it."""
    found: list[HallAlert] = []
    for service in services:
        unserved = _unserved_alert(service, counters)
        alert = unserved or _wait_alert(service, rules)
        if alert is not None:
            found.append(alert)
    for counter in counters:
        paused = _paused_alert(counter, now, rules)
        if paused is not None:
            found.append(paused)
    found.extend(_overdue_alert(case, now) for case in cases if now > case.due_at)
    return sorted(found, key=lambda a: a.severity.rank)


def carry_since(previous: Mapping[str, datetime], alerts: Iterable[HallAlert], now: datetime) -> dict[str, datetime]:
    """When each current alert started: kept from ``previous`` while it lasts, ``now`` for a new one (an alert that
    ended and starts again is a new episode, which a manager's acknowledgement does not cover)."""
    return {alert.key: previous.get(alert.key, now) for alert in alerts}


__all__ = [
    "HORIZON",
    "Action",
    "ActionKind",
    "AlertRules",
    "CounterLoad",
    "HallAlert",
    "HallAlertKind",
    "OverdueCase",
    "ServiceLoad",
    "Severity",
    "alert_key",
    "carry_since",
    "hall_alerts",
    "longer_wait_notice",
    "wait_will_pass",
]
