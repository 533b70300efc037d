"""Staff sign-in checks the password through the offload hook, for known and unknown names alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from server.config import HallConfig, StaffAccount
from server.services.accounts import authenticate
from tests.support import demo_config


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
