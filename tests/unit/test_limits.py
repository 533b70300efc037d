"""The limits on abuse as pure rules (server/domain/limits.py) and their configuration ([limits])."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import ConfigError, load_config
from server.domain.limits import (
    CallerKind,
    IssueLimits,
    IssueUsage,
    LimitKind,
    Rate,
    address_key,
    issue_caller,
    refusal,
)
from server.domain.values import InvalidValue
from server.settings import HallConfig
from tests.support import DEMO_CONFIG

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
KIOSKS = {"K1", "K2"}


# --- rates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "count", "seconds"), [
    ("30/minute", 30, 60), ("4 per hour", 4, 3600), ("60 per 10 minutes", 60, 600), ("2/Second", 2, 1),
    ("100 per day", 100, 86400), ("5 per 2 hours", 5, 7200),
])
def test_rates_parse(text: str, count: int, seconds: int) -> None:
    rate = Rate.parse(text, "x")
    assert rate == Rate(count, timedelta(seconds=seconds))
    assert Rate.parse(str(rate), "x") == rate


@pytest.mark.parametrize("text", ["30", "0/minute", "30/fortnight", "-1/hour", "30 per 0 minutes", "lots", ""])
def test_bad_rates_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Rate.parse(text, "limits.kiosk_tickets")
    assert refused.value.field == "limits.kiosk_tickets"


def test_off_is_no_limit() -> None:
    assert Rate.parse("off", "x") is None


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 8), window_s=st.integers(1, 120),
       gaps=st.lists(st.integers(0, 60_000), min_size=1, max_size=60))
def test_a_rate_never_lets_more_than_its_count_into_any_window(count: int, window_s: int, gaps: list[int]) -> None:
    """Whatever the timing of the attempts, the admitted ones never number more than ``count`` within any window,
    and an attempt is refused only when ``count`` were admitted within the window before it."""
    rate = Rate(count, timedelta(seconds=window_s))
    admitted: list[datetime] = []
    now = T0
    for gap_ms in gaps:
        now += timedelta(milliseconds=gap_ms)
        recent = sorted((at for at in admitted if at > now - rate.window), reverse=True)
        wait = rate.retry_after(recent, now)
        if wait is None:
            admitted.append(now)
        else:
            assert len(recent) >= count
            assert rate.retry_after(recent, now + timedelta(seconds=wait)) is None  # Retry-After is honest
    for at in admitted:
        assert sum(1 for other in admitted if at <= other < at + rate.window) <= count


# --- who the caller is -----------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "key"), [
    ("192.168.1.20", "192.168.1.20"),
    ("::ffff:10.0.0.7", "10.0.0.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("not-an-address", "not-an-address"),
])
def test_addresses_are_counted_per_host_and_ipv6_per_64(address: str, key: str) -> None:
    assert address_key(address) == key


def test_a_configured_kiosk_id_is_a_kiosk_and_any_other_id_a_device() -> None:
    limits = IssueLimits()
    assert issue_caller(limits, "10.0.0.5", "K1", KIOSKS).kind is CallerKind.KIOSK
    assert issue_caller(limits, "10.0.0.5", "phone-3f2a", KIOSKS).kind is CallerKind.DEVICE
    assert issue_caller(limits, "10.0.0.5", None, KIOSKS).kind is CallerKind.ANONYMOUS


def test_kiosk_networks_decide_where_a_kiosk_may_be() -> None:
    from server.domain.limits import parse_network

    limits = IssueLimits(kiosk_networks=(parse_network("192.168.10.0/24", "x"),))
    assert issue_caller(limits, "192.168.10.31", "K1", KIOSKS).kind is CallerKind.KIOSK
    assert issue_caller(limits, "192.168.20.31", "K1", KIOSKS).kind is CallerKind.DEVICE  # a laptop claiming K1
    assert issue_caller(limits, "2001:db8::1", "K1", KIOSKS).kind is CallerKind.DEVICE


# --- the decision ----------------------------------------------------------------------------------


def minutes_ago(*values: float) -> list[datetime]:
    return [T0 - timedelta(minutes=m) for m in values]


def test_open_tickets_are_named_before_rates() -> None:
    caller = issue_caller(IssueLimits(), "10.0.0.5", "phone-1", KIOSKS)
    found = refusal(IssueLimits(), caller, IssueUsage(device_open=2, device_recent=minutes_ago(1, 2, 3, 4)), T0)
    assert found is not None and found.code == "too_many_open_tickets" and found.limit is LimitKind.DEVICE_OPEN
    assert found.http_status == 429 and found.details["retry_after_s"] == 60


def test_a_rate_refusal_says_when_to_come_back() -> None:
    caller = issue_caller(IssueLimits(), "10.0.0.5", "phone-1", KIOSKS)
    found = refusal(IssueLimits(), caller, IssueUsage(device_recent=minutes_ago(5, 10, 20, 50)), T0)
    assert found is not None and found.code == "too_many_tickets" and found.limit is LimitKind.DEVICE
    assert found.details == {"limit": "device", "allowed": 4, "retry_after_s": 600, "window_s": 3600}


def test_a_kiosk_is_held_only_to_its_own_rate() -> None:
    kiosk = issue_caller(IssueLimits(), "10.0.0.5", "K1", KIOSKS)
    busy_address = IssueUsage(address_recent=minutes_ago(*range(60)), address_open=500, device_open=9)
    assert refusal(IssueLimits(), kiosk, busy_address, T0) is None
    found = refusal(IssueLimits(), kiosk, IssueUsage(kiosk_recent=[T0 - timedelta(seconds=s) for s in range(30)]), T0)
    assert found is not None and found.limit is LimitKind.KIOSK


def test_a_device_id_per_request_still_meets_the_address_limit() -> None:
    caller = issue_caller(IssueLimits(), "10.0.0.5", "fresh-id-9431", KIOSKS)
    found = refusal(IssueLimits(), caller, IssueUsage(address_recent=minutes_ago(*range(60))), T0)
    assert found is not None and found.limit is LimitKind.ADDRESS


@settings(max_examples=50, deadline=None)
@given(per_minute=st.integers(1, 12), jitter=st.lists(st.integers(-2000, 2000), min_size=200, max_size=200))
def test_a_busy_kiosk_is_never_refused(per_minute: int, jitter: list[int]) -> None:
    """Up to 12 tickets a minute, for hours, with the customers' own irregular pace: never a refusal."""
    limits = IssueLimits()
    kiosk = issue_caller(limits, "10.0.0.5", "K1", KIOSKS)
    issued: list[datetime] = []
    now = T0
    for shift in jitter:
        now += timedelta(seconds=60 / per_minute, milliseconds=shift)
        recent = sorted((at for at in issued if at > now - timedelta(minutes=1)), reverse=True)
        assert refusal(limits, kiosk, IssueUsage(kiosk_recent=recent), now) is None
        issued.append(now)


# --- configuration ---------------------------------------------------------------------------------


@pytest.fixture
def load(tmp_path: Path) -> Callable[..., HallConfig]:
    def _load(**limits: Any) -> HallConfig:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            data.setdefault("limits", {}).update(limits)

        return load_config(DEMO_CONFIG, overrides=overrides)

    return _load


def test_the_demo_limits(load: Callable[..., HallConfig]) -> None:
    limits = load().limits
    assert limits.issue.kiosk_tickets == Rate(30, timedelta(minutes=1))
    assert limits.issue.device_open_tickets == 2 and limits.issue.address_open_tickets == 30
    assert limits.socket_joins == Rate(20, timedelta(minutes=1))
    assert limits.address_socket_joins == Rate(30, timedelta(seconds=10))
    assert (limits.connections_per_address, limits.header_timeout_s, limits.send_queue) == (1000, 10, 500)


def test_limits_switch_off(load: Callable[..., HallConfig]) -> None:
    limits = load(kiosk_tickets="off", device_open_tickets=0, connections_per_address=0).limits
    assert limits.issue.kiosk_tickets is None and limits.issue.device_open_tickets is None
    assert limits.connections_per_address == 0


def test_behind_a_proxy_the_connection_cap_is_off_unless_set(load: Callable[..., HallConfig], tmp_path: Path) -> None:
    def behind(data: dict[str, Any]) -> None:
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
        data["server"]["proxy_hops"] = 1
        data["limits"].pop("connections_per_address")

    assert load_config(DEMO_CONFIG, overrides=behind).limits.connections_per_address == 0


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("kiosk_tickets", "lots", "must be like"),
    ("device_tickets", 4, "must be a str"),
    ("device_open_tickets", -1, "must be at least 0"),
    ("address_open_tickets", "30", "must be an int"),
    ("kiosk_networks", ["192.168.10.0/33"], "must be an address or network"),
    ("kiosk_networks", [7], "must be a string"),
    ("socket_joins", "20/fortnight", "must be like"),
    ("connections_per_address", -5, "must be at least 0"),
    ("header_timeout_s", 0, "must be from 1 to 300"),
    ("body_timeout_s", 0.5, "must be from 1 to 3600"),
    ("socket_timeout_s", 30, "must be from 50 to 3600"),
    ("send_queue", 5, "must be at least 10"),
    ("send_queue", 10**9, "must be at most 100000"),
    ("per_minute", 3, "unknown key"),
])
def test_bad_limits_are_refused_naming_the_key(load: Callable[..., HallConfig], key: str, value: Any,
                                                problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(**{key: value})
    assert str(refused.value).startswith(f"limits.{key}"), str(refused.value)
    assert problem in str(refused.value)
