"""``[branches.overflow]``: the kiosk's notice for a very long wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.config import ConfigError, load_config
from server.domain.hall import DEFAULT_OVERFLOW_NOTICE, Text
from server.settings import HallConfig
from tests.support import DEMO_CONFIG

Mutate = Callable[[dict[str, Any]], None]


@pytest.fixture
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., HallConfig]:
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)

    def _load(mutate: Mutate | None = None) -> HallConfig:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            if mutate is not None:
                mutate(data["branches"][0])

        return load_config(DEMO_CONFIG, overrides=overrides)

    return _load


def test_the_demo_hall_has_an_overflow_notice(load: Callable[..., HallConfig]) -> None:
    overflow = load().branches[0].overflow
    assert overflow.wait_min == 60
    assert "App" in overflow.notice.zh and "app" in overflow.notice.en


def test_without_the_table_the_defaults_apply(load: Callable[..., HallConfig]) -> None:
    overflow = load(lambda branch: branch.pop("overflow")).branches[0].overflow
    assert overflow.wait_min == 60 and overflow.notice == DEFAULT_OVERFLOW_NOTICE


def test_a_custom_threshold_and_notice(load: Callable[..., HallConfig]) -> None:
    def mutate(branch: dict[str, Any]) -> None:
        branch["overflow"] = {"wait_min": 45.5, "notice": {"zh-CN": "请稍后再来", "en": "Please come back later"}}

    overflow = load(mutate).branches[0].overflow
    assert overflow.wait_min == 45.5 and overflow.notice == Text("请稍后再来", "Please come back later")


@pytest.mark.parametrize(("table", "message"), [
    ({"wait_min": 0}, "branches[0].overflow.wait_min: must be greater than 0"),
    ({"wait_min": "long"}, "branches[0].overflow.wait_min: must be an int or float"),
    ({"notice": {"zh-CN": "请稍后再来"}}, "branches[0].overflow.notice.en: missing"),
    ({"nearby": []}, "branches[0].overflow.nearby: unknown key"),
])
def test_bad_values_name_their_key(load: Callable[..., HallConfig], table: dict[str, Any], message: str) -> None:
    def mutate(branch: dict[str, Any]) -> None:
        branch["overflow"] = table

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(mutate)
