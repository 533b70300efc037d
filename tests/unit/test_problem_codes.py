"""The refusals of the hall set-up say their problem for a program: a code from
:class:`~server.domain.values.Problem` and its parameters, from where the rule is decided (the value rules of the
domain and the loader's own), kept when the loader turns a value rule's refusal into a ConfigError."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError, load_config, parse_hall
from server.domain.hall import (
    TILE_NAME_COLUMNS,
    check_at_least,
    check_code,
    check_colour,
    check_prefix,
    time_zone,
)
from server.domain.schedule import DayHours
from server.domain.values import InvalidValue, Problem, Text, ValueFormat, check_text
from server.settings import HallConfig
from tests.support import DEMO_CONFIG

Mutate = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], HallConfig]:
    secret = tmp_path_factory.mktemp("secret") / "key"

    def overrides(data: dict[str, Any]) -> None:
        data["server"]["secret_key_file"] = str(secret)

    data = tomllib.loads(Path(DEMO_CONFIG).read_text(encoding="utf-8"))
    return data, load_config(DEMO_CONFIG, overrides=overrides)


def refusal(base: tuple[dict[str, Any], HallConfig], mutate: Mutate) -> ConfigError:
    data = copy.deepcopy(base[0])
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_hall(data, base[1])
    json.dumps(caught.value.params)  # it travels in the API's answer
    return caught.value


def service(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["branches"][0]["services"][index]


# --- the value rules of the domain ---------------------------------------------------------------------------


CODE_CHARS = st.sampled_from("abcXYZ019_-")


@given(st.text(CODE_CHARS, max_size=10), st.characters().filter(lambda c: c not in "\n_-" and not
                                                                   (c.isascii() and c.isalnum())),
       st.text(CODE_CHARS, max_size=10))
def test_a_bad_code_is_a_bad_format_of_code(before: str, bad: str, after: str) -> None:
    text = before + bad + after
    with pytest.raises(InvalidValue) as caught:
        check_code(text)
    assert (caught.value.code, caught.value.params) == (Problem.BAD_FORMAT, {"format": "code", "value": text})


@given(st.integers(min_value=-1000, max_value=1000), st.integers(min_value=-1000, max_value=1000))
def test_below_a_minimum_is_too_small_naming_it(value: int, minimum: int) -> None:
    if value >= minimum:
        assert check_at_least(value, minimum, "n") == value
        return
    with pytest.raises(InvalidValue) as caught:
        check_at_least(value, minimum, "n")
    assert (caught.value.code, caught.value.params) == (Problem.TOO_SMALL, {"min": minimum, "value": value})


@pytest.mark.parametrize(("rule", "value", "fmt"), [
    (check_prefix, "a1", ValueFormat.PREFIX),
    (check_colour, "blue", ValueFormat.COLOUR),
    (time_zone, "Mars/Olympus", ValueFormat.TIME_ZONE),
    (lambda text: DayHours.parse(text, "hours"), "nine to five", ValueFormat.HOURS),
])
def test_a_value_not_written_the_right_way_names_its_format(rule: Callable[[str], Any], value: str,
                                                            fmt: ValueFormat) -> None:
    with pytest.raises(InvalidValue) as caught:
        rule(value)
    assert caught.value.code == Problem.BAD_FORMAT and caught.value.params["format"] == fmt


def test_a_closing_time_before_the_opening_is_a_bad_time_range() -> None:
    with pytest.raises(InvalidValue) as caught:
        DayHours.parse("18:00-09:00", "hours")
    assert (caught.value.code, caught.value.params) == (Problem.BAD_TIME_RANGE, {"value": "18:00-09:00"})


# --- the loader keeps the rule's problem, and says its own ---------------------------------------------------


def test_a_value_rules_refusal_keeps_its_code_through_the_loader(base: tuple[dict[str, Any], HallConfig]) -> None:
    error = refusal(base, lambda d: service(d).update(prefix="a1"))
    assert str(error).startswith("branches[0].services[0].prefix: ")
    assert (error.code, error.params) == (Problem.BAD_FORMAT, {"format": "prefix", "value": "a1"})


def test_a_tile_name_too_long_says_how_long_it_may_be(base: tuple[dict[str, Any], HallConfig]) -> None:
    error = refusal(base, lambda d: service(d)["name"].update({"zh-CN": "很" * 30}))
    assert error.code == Problem.TOO_LONG
    assert error.params == {"max_zh": TILE_NAME_COLUMNS["zh-CN"] // 2, "max_en": TILE_NAME_COLUMNS["en"]}


@pytest.mark.parametrize(("mutate", "code", "params"), [
    (lambda d: service(d).pop("prefix"), Problem.REQUIRED, {}),
    (lambda d: service(d).update(target_wait_min="ten"), Problem.WRONG_TYPE, {"expected": "int or float"}),
    (lambda d: service(d).update(target_wait_min=0), Problem.NOT_POSITIVE, {"value": 0}),
    (lambda d: service(d).update(daily_cap=0), Problem.TOO_SMALL, {"min": 1, "value": 0}),
    (lambda d: service(d).update(number_width=9), Problem.TOO_LARGE, {"max": 6, "value": 9}),
    (lambda d: service(d).update(colour="#12"), Problem.BAD_FORMAT, {"format": "colour", "value": "#12"}),
    (lambda d: service(d).update(hours="17:00-09:00"), Problem.BAD_TIME_RANGE, {"value": "17:00-09:00"}),
    (lambda d: service(d).update(flavour="mint"), Problem.UNKNOWN_KEY, None),
    (lambda d: service(d, 1).update(prefix=service(d)["prefix"]), Problem.DUPLICATE, None),
    (lambda d: service(d).update(parent="NOPE"), Problem.UNKNOWN_REFERENCE, {"kind": "category", "value": "NOPE"}),
    (lambda d: d["branches"][0]["counters"][0]["services"].append("NOPE"), Problem.UNKNOWN_REFERENCE,
     {"kind": "service", "value": "NOPE"}),
    (lambda d: d["branches"][0]["counters"][0].update(role="boss"), Problem.NOT_ONE_OF,
     {"allowed": ["normal", "fast_lane", "vip"], "value": "boss"}),
    (lambda d: d["branches"][0].update(timezone="Mars/Olympus"), Problem.BAD_FORMAT,
     {"format": "time_zone", "value": "Mars/Olympus"}),
])
def test_the_loaders_main_rules_say_their_problem(base: tuple[dict[str, Any], HallConfig], mutate: Mutate,
                                                  code: Problem, params: dict[str, Any] | None) -> None:
    error = refusal(base, mutate)
    assert error.code == code, str(error)
    if params is not None:
        assert error.params == params, str(error)


def test_a_service_no_counter_serves_names_it(base: tuple[dict[str, Any], HallConfig]) -> None:
    def unserve(data: dict[str, Any]) -> None:
        code = service(data)["code"]
        for counter in data["branches"][0]["counters"]:
            counter["services"] = [s for s in counter["services"] if s != code] or [service(data, 1)["code"]]

    error = refusal(base, unserve)
    assert error.code == Problem.UNSERVED and error.params["services"] == [base[0]["branches"][0]["services"][0]
                                                                           ["code"]]


def test_a_refusal_without_a_rule_of_its_own_is_invalid_and_a_blank_text_is_required() -> None:
    error = InvalidValue("x", "is wrong")
    assert (error.code, error.params) == (Problem.INVALID, {})
    with pytest.raises(InvalidValue) as caught:
        check_text(Text("", "Bill"), "name")
    assert (caught.value.code, caught.value.field) == (Problem.REQUIRED, "name.zh-CN")
