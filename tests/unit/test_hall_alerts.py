"""The hall alert rules (server.domain.hall_alerts): pure, from a service's load and the counters at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError, load_config
from server.domain.device_alerts import AlertType, severity
from server.domain.estimation import CounterStatus, WaitEstimate
from server.domain.hall_alerts import (
    ActionKind,
    AlertRules,
    CounterLoad,
    HallAlertKind,
    OverdueCase,
    ServiceLoad,
    Severity,
    alert_key,
    carry_since,
    hall_alerts,
    wait_will_pass,
)
from server.domain.values import Text

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
VIP = Text("VIP业务", "VIP")
MIN = timedelta(minutes=1)


def estimate(minutes: float) -> WaitEstimate:
    return WaitEstimate(minutes * MIN, minutes * MIN * 0.8, minutes * MIN * 1.2)


def service(waiting: int = 0, longest: float = 0, remaining: WaitEstimate | None = None,
            new: WaitEstimate | None = None, target: float = 10, code: str = "VIP") -> ServiceLoad:
    return ServiceLoad(code, VIP, target * MIN, waiting, longest * MIN, remaining or estimate(1), new or estimate(1))


def counter(number: str = "8", status: CounterStatus = CounterStatus.OPEN, configured: tuple[str, ...] = ("VIP",),
            today: tuple[str, ...] | None = None, paused_for: float | None = None) -> CounterLoad:
    today = configured if today is None else today
    if status is CounterStatus.CLOSED:
        today = ()
    since = NOW - paused_for * MIN if paused_for is not None else None
    return CounterLoad(number, Text(f"{number}号窗口", f"Counter {number}"), status, configured, today, since)


def kinds(alerts: list) -> set[HallAlertKind]:
    return {a.kind for a in alerts}


def test_over_target_is_critical_with_a_notice_and_a_stop() -> None:
    [alert] = hall_alerts(NOW, [service(waiting=3, longest=12)], [counter()])
    assert alert.kind is HallAlertKind.WAIT_OVER_TARGET and alert.severity is Severity.CRITICAL
    assert alert.key == "hall:wait_over_target:VIP"
    assert alert.facts["longest_wait_min"] == 12 and alert.facts["target_min"] == 10
    assert [a.kind for a in alert.actions] == [ActionKind.POST_NOTICE, ActionKind.STOP_ISSUING]
    notice = alert.actions[0].notice
    assert notice is not None and "VIP" in notice.zh and "VIP" in notice.en


def test_a_new_tickets_estimate_past_the_target_warns() -> None:
    [alert] = hall_alerts(NOW, [service(waiting=2, longest=1, new=estimate(14))], [counter()])
    assert alert.kind is HallAlertKind.WAIT_WILL_PASS_TARGET and alert.severity is Severity.WARNING


def test_the_longest_wait_projected_past_the_target_within_the_horizon_warns() -> None:
    assert wait_will_pass(service(waiting=1, longest=8, remaining=estimate(3)))
    assert not wait_will_pass(service(waiting=1, longest=8, remaining=estimate(1)))  # called before the target
    # 30 min to go: beyond the 15 min horizon, even if it will pass in the end
    assert not wait_will_pass(service(waiting=1, longest=0, remaining=estimate(40), target=30))


def test_a_quiet_service_has_no_alert() -> None:
    assert hall_alerts(NOW, [service()], [counter()]) == []


def test_waiting_with_no_counter_serving_suggests_a_counter_configured_for_it() -> None:
    closed = hall_alerts(NOW, [service(waiting=1)], [counter(status=CounterStatus.CLOSED)])
    assert kinds(closed) == {HallAlertKind.UNSERVED_WAITING}
    assert closed[0].facts["open"] == ["8"] and "Counter 8" in closed[0].suggestion.en
    not_today = hall_alerts(NOW, [service(waiting=1)], [counter(configured=("VIP", "PLAN"), today=("PLAN",))])
    assert not_today[0].facts["add_at"] == ["8"] and "today's services" in not_today[0].suggestion.en


def test_a_paused_counter_serving_it_still_serves_it() -> None:
    assert hall_alerts(NOW, [service(waiting=1)], [counter(status=CounterStatus.PAUSED, paused_for=1)]) == []


def test_a_pause_alerts_only_past_the_configured_time() -> None:
    rules = AlertRules(pause_alert=15 * MIN)
    assert hall_alerts(NOW, [], [counter(status=CounterStatus.PAUSED, paused_for=15)], rules) == []
    [alert] = hall_alerts(NOW, [], [counter(status=CounterStatus.PAUSED, paused_for=16)], rules)
    assert alert.kind is HallAlertKind.COUNTER_PAUSED_LONG and alert.counter == "8"
    assert alert.facts["paused_min"] == 16 and alert.facts["limit_min"] == 15


def test_equipment_alerts_share_the_scale() -> None:
    assert severity(AlertType.DEVICE_OFFLINE) is Severity.CRITICAL
    assert severity(AlertType.PRINTER, "paper_out") is Severity.CRITICAL
    assert severity(AlertType.PRINTER, "paper_low") is Severity.WARNING


services_st = st.builds(
    service, waiting=st.integers(0, 30), longest=st.floats(0, 120), remaining=st.floats(0, 60).map(estimate),
    new=st.one_of(st.just(WaitEstimate.unknown()), st.floats(0, 90).map(estimate)), target=st.integers(1, 60),
    code=st.sampled_from(["VIP", "PLAN", "BILL"]))
counters_st = st.builds(
    counter, number=st.sampled_from(["1", "2", "3", "8"]), status=st.sampled_from(list(CounterStatus)),
    configured=st.sampled_from([("VIP",), ("PLAN", "BILL"), ("VIP", "PLAN")]), paused_for=st.floats(0, 60))


def unique(items: list, key: str) -> list:
    return list({getattr(item, key): item for item in items}.values())


@given(st.lists(services_st, max_size=4).map(lambda s: unique(s, "code")),
       st.lists(counters_st, max_size=4).map(lambda c: unique(c, "number")))
def test_alert_properties(services: list[ServiceLoad], counters: list[CounterLoad]) -> None:
    alerts = hall_alerts(NOW, services, counters)
    keys = [a.key for a in alerts]
    assert len(keys) == len(set(keys))  # one per kind and subject: stable identities
    assert [a.severity.rank for a in alerts] == sorted(a.severity.rank for a in alerts)
    for alert in alerts:
        for text in (alert.text, alert.suggestion):
            assert text.zh and text.en
        assert alert.as_dict(NOW)["since"] == NOW.isoformat()
    serving = {code for c in counters if c.status is not CounterStatus.CLOSED for code in c.today}
    for s in services:
        mine = {a.kind for a in alerts if a.service == s.code}
        assert len(mine) <= 1  # a service has at most one alert: the most telling one
        assert (HallAlertKind.UNSERVED_WAITING in mine) == (s.waiting > 0 and s.code not in serving)
        if s.waiting and s.code in serving and s.longest_wait > s.target:
            assert mine == {HallAlertKind.WAIT_OVER_TARGET}
        if s.waiting == 0 and not (s.new_ticket.known and s.new_ticket.expected > s.target):
            assert not mine
    for c in counters:
        paused_long = c.status is CounterStatus.PAUSED and NOW - c.paused_since > 15 * MIN
        assert (alert_key(HallAlertKind.COUNTER_PAUSED_LONG, c.number) in keys) == paused_long


@given(st.lists(services_st, max_size=3).map(lambda s: unique(s, "code")),
       st.lists(services_st, max_size=3).map(lambda s: unique(s, "code")))
def test_since_is_kept_while_an_alert_lasts(first: list[ServiceLoad], second: list[ServiceLoad]) -> None:
    counters = [counter(status=CounterStatus.CLOSED)]
    before = carry_since({}, hall_alerts(NOW, first, counters), NOW)
    later = NOW + 5 * MIN
    current = hall_alerts(later, second, counters)
    after = carry_since(before, current, later)
    keys = {a.key for a in current}
    assert set(after) == keys  # an ended alert is forgotten: if it starts again, it is a new one
    assert all(after[key] == before[key] for key in keys & before.keys())
    assert all(after[key] == later for key in keys - before.keys())


@pytest.mark.parametrize(("minutes", "valid"), [(0, False), (481, False), ("soon", False), (30, True)])
def test_pause_alert_config_is_checked(minutes: object, valid: bool, tmp_path: Path) -> None:
    def overrides(data: dict[str, Any]) -> None:
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
        data["queue"]["pause_alert_min"] = minutes

    if valid:
        assert load_config(DEMO_CONFIG, overrides=overrides).queue.pause_alert == timedelta(minutes=30)
    else:
        with pytest.raises(ConfigError, match=r"^queue\.pause_alert_min"):
            load_config(DEMO_CONFIG, overrides=overrides)


@given(st.integers(min_value=-600, max_value=600), st.booleans())
def test_a_case_alerts_only_once_past_due(offset_s: int, owned: bool) -> None:
    due = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    case = OverdueCase(7, due, ticket_number="A001", owner="李娜 Li Na" if owned else None)
    found = hall_alerts(due + timedelta(seconds=offset_s), [], [], cases=[case])
    assert bool(found) == (offset_s > 0)
    for alert in found:
        assert alert.key == "hall:follow_up_overdue:7" and alert.severity.value == "warning"
        assert [a.as_dict()["case"] for a in alert.actions] == [7]
        assert alert.text.zh and alert.text.en and alert.suggestion.zh and alert.suggestion.en
        assert ("李娜 Li Na" in alert.suggestion.en) == owned
