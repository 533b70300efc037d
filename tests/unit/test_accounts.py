"""Staff sign-in checks the password through the offload hook, for known and unknown names alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from server.domain.hall import StaffAccount
from server.services.accounts import authenticate
from server.services.sign_in_throttle import LONGEST_LOCKOUT, MemoryFailures, SignInThrottle, TooManySignIns
from server.settings import HallConfig
from tests.support import FakeClock, demo_config


class CountingOffload:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, work: Callable[[], Any]) -> Any:
        self.calls += 1
        return work()


@pytest.fixture
def config(tmp_path: Path) -> HallConfig:
    demo = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path)
    account = StaffAccount(username="wu.hao", display_name="吴浩", role="staff", branches=(),
                           password_hash=generate_password_hash("right horse", method="pbkdf2:sha256:1000"))
    return dataclasses.replace(demo, staff=(account, *demo.staff))


def test_right_password_opens_the_account_and_is_hashed_off_the_caller(config: HallConfig) -> None:
    offload = CountingOffload()
    account = authenticate(config, "wu.hao", "right horse", offload)
    assert account is not None and account.username == "wu.hao"
    assert offload.calls == 1


def test_wrong_password_is_refused(config: HallConfig) -> None:
    offload = CountingOffload()
    assert authenticate(config, "wu.hao", "wrong horse", offload) is None
    assert offload.calls == 1


def test_unknown_name_is_refused_after_the_same_kind_of_hash(config: HallConfig) -> None:
    offload = CountingOffload()
    assert authenticate(config, "nobody", "right horse", offload) is None
    assert offload.calls == 1


# --- throttling guesses ------------------------------------------------------------------------------


def fail(config: HallConfig, throttle: SignInThrottle, times: int, client: str = "10.0.0.9") -> None:
    for _ in range(times):
        assert authenticate(config, "wu.hao", "wrong", CountingOffload(), throttle=throttle, client=client) is None


def test_a_run_of_failures_locks_the_name_out_for_that_device_even_with_the_right_password(
        config: HallConfig) -> None:
    clock = FakeClock()
    throttle = SignInThrottle(5, timedelta(minutes=5), clock)
    fail(config, throttle, 5)
    offload = CountingOffload()
    with pytest.raises(TooManySignIns) as refused:
        authenticate(config, "wu.hao", "right horse", offload, throttle=throttle, client="10.0.0.9")
    assert refused.value.http_status == 429 and refused.value.details["retry_after_s"] == 300
    assert offload.calls == 0  # refused before any hash
    # another device, and another name from this device, are not locked
    assert authenticate(config, "wu.hao", "right horse", CountingOffload(), throttle=throttle, client="10.0.0.2")
    throttle.check("zhang.wei", "10.0.0.9")
    clock.advance(minutes=5)
    assert authenticate(config, "wu.hao", "right horse", CountingOffload(), throttle=throttle, client="10.0.0.9")
    fail(config, throttle, 4)  # a success starts the count again
    throttle.check("wu.hao", "10.0.0.9")


def test_each_further_run_of_failures_locks_twice_as_long_up_to_a_day(config: HallConfig) -> None:
    clock = FakeClock()
    throttle = SignInThrottle(3, timedelta(minutes=5), clock)
    for minutes in [5, 10, 20, 40]:
        fail(config, throttle, 3)
        with pytest.raises(TooManySignIns) as refused:
            throttle.check("wu.hao", "10.0.0.9")
        assert refused.value.details["retry_after_s"] == minutes * 60
        clock.advance(minutes=minutes)
    for _ in range(30):
        fail(config, throttle, 3)
        clock.advance(seconds=LONGEST_LOCKOUT.total_seconds())
    fail(config, throttle, 3)
    with pytest.raises(TooManySignIns) as refused:
        throttle.check("wu.hao", "10.0.0.9")
    assert refused.value.details["retry_after_s"] == LONGEST_LOCKOUT.total_seconds()


def test_the_record_stays_bounded_and_keeps_its_lockouts() -> None:
    clock = FakeClock()
    records = MemoryFailures(max_entries=100)
    throttle = SignInThrottle(2, timedelta(minutes=5), clock, records)
    throttle.failed("manager", "10.0.0.9")
    throttle.failed("manager", "10.0.0.9")
    for n in range(1000):
        clock.advance(seconds=0.1)
        throttle.failed(f"guess{n}", "10.0.0.7")
    assert len(records.records) <= 100
    with pytest.raises(TooManySignIns):
        throttle.check("manager", "10.0.0.9")
