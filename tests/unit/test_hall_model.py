"""The hall model on its own (no TOML): its value rules, and the dataclasses that refuse what the rules refuse."""

from __future__ import annotations

import dataclasses
import math
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError, load_config
from server.domain.hall import (
    DEFAULT_HIGH_REASONS,
    DEFAULT_LOW_REASONS,
    MAX_REASON_CHIPS,
    RATING_SCALES,
    AnnouncementSettings,
    Category,
    Counter,
    InvalidValue,
    Kiosk,
    Overflow,
    QueueRules,
    RatingSettings,
    ReasonChip,
    Service,
    StaffAccount,
    Text,
    check_code,
    check_colour,
    check_counter_role,
    check_counter_services,
    check_daily_cap,
    check_dissatisfied_scores,
    check_kiosk_timing,
    check_languages,
    check_number_width,
    check_pad_timeout,
    check_password_hash,
    check_photo,
    check_prefix,
    check_repeat,
    check_server_voice,
    check_speech_rate,
    check_template,
    check_text,
    check_username,
    minutes,
    parse_printer,
    time_zone,
)
from server.domain.policy import CounterRole, PolicyRules
from server.domain.schedule import DayHours, Hours, WeeklyHours
from tests.support import DEMO_CONFIG

NAME = Text("缴费", "Bill payment")


def refusal(rule: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
    """The field and the problem of the InvalidValue that ``rule(*args)`` raises."""
    with pytest.raises(InvalidValue) as info:
        rule(*args, **kwargs)
    assert str(info.value) == f"{info.value.field}: {info.value.problem}"
    return info.value.field, info.value.problem


# --- the rules, called directly -------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "good", "bad", "problem"), [
    (check_code, "SZ-FUTIAN_2", "SZ FUTIAN", "must be 1-32 letters, digits, _ or -, got 'SZ FUTIAN'"),
    (check_code, "A" * 32, "A" * 33, f"must be 1-32 letters, digits, _ or -, got {'A' * 33!r}"),
    (check_prefix, "VIP", "a1", "must be 1-3 capital letters, got 'a1'"),
    (check_prefix, "A", "ABCD", "must be 1-3 capital letters, got 'ABCD'"),
    (check_colour, "#1E88e5", "green", "must look like \"#1e88e5\", got 'green'"),
    (check_username, "zhang.wei", "zhang wei", "must be 1-32 letters, digits, . _ or -, got 'zhang wei'"),
    (check_password_hash, "scrypt:32768:8:1$x$y", "demo-staff",
     "must be a hash made by `make password` (scrypt:... or pbkdf2:...)"),
    (check_number_width, 6, 7, "must be at most 6, got 7"),
    (check_number_width, 1, 0, "must be at least 1, got 0"),
    (check_daily_cap, None, 0, "must be at least 1, got 0"),
    (check_repeat, 3, 4, "must be at most 3, got 4"),
    (check_speech_rate, 80, 79, "must be at least 80, got 79"),
    (check_speech_rate, 300, 500, "must be at most 300 words per minute, got 500"),
    (check_server_voice, "cmn-latn-pinyin", "en; rm -rf /", "not an espeak-ng voice name: 'en; rm -rf /'"),
    (check_template, "{number} → {counter_name}", "Go to {counter}", "must contain {number}"),
    (check_counter_role, "fast_lane", "boss", "must be normal, fast_lane or vip, got 'boss'"),
    (check_languages, ("en",), ("en", "en"), "a language is listed twice"),
    (check_languages, ("zh-CN", "en"), ("fr",), "unsupported language 'fr' (supported: zh-CN, en)"),
    (check_counter_services, ("PLAN", "SIM"), (), "a counter must serve at least one service"),
    (check_counter_services, ("PLAN",), ("PLAN", "PLAN"), "a service is listed twice"),
    (time_zone, "Asia/Shanghai", "Asia", "unknown time zone 'Asia' (e.g. \"Asia/Shanghai\")"),
])
def test_a_rule_passes_a_good_value_and_names_the_field_of_a_bad_one(rule: Any, good: Any, bad: Any,
                                                                     problem: str) -> None:
    assert rule(good) is not None or good is None
    field, said = refusal(rule, bad, "the_field")
    assert (field, said) == ("the_field", problem)


def test_rules_return_the_value_in_the_model_s_form() -> None:
    assert check_counter_role("vip") is CounterRole.VIP
    assert check_counter_services(["PLAN", "SIM"]) == ("PLAN", "SIM")
    assert time_zone("Asia/Shanghai").key == "Asia/Shanghai"
    assert minutes(15, "target_wait_min") == timedelta(minutes=15)
    assert minutes(0, "preference_step_min", positive=False) == timedelta(0)
    assert check_dissatisfied_scores([2, 1], "five") == (1, 2)


@pytest.mark.parametrize(("value", "positive", "problem"), [
    (0, True, "must be greater than 0, got 0"),
    (-1.5, True, "must be greater than 0, got -1.5"),
    (math.inf, True, "must be a finite number, got inf"),
    (math.nan, False, "must be a finite number, got nan"),
    (-1, False, "must not be negative"),
])
def test_minutes_refuses_what_no_duration_can_be(value: float, positive: bool, problem: str) -> None:
    assert refusal(minutes, value, "target_wait_min", positive=positive) == ("target_wait_min", problem)


def test_a_blank_text_names_the_language() -> None:
    assert check_text(NAME, "name") is NAME
    assert refusal(check_text, Text(" ", "Bill"), "name") == ("name.zh-CN", "must not be empty")
    assert refusal(check_text, Text("缴费", ""), "notice") == ("notice.en", "must not be empty")
    assert refusal(check_text, Text("缴费", "")) == ("en", "must not be empty")


def test_a_text_itself_may_be_empty() -> None:
    """A receipt makes texts on the fly (an estimate that is not known yet); only names are checked."""
    assert Text("", "").as_dict() == {"zh-CN": "", "en": ""}


def test_photo_is_a_path_on_this_server() -> None:
    assert check_photo(None, "zhang.wei") is None
    assert check_photo("/static/staff/zhang.wei.jpg", "zhang.wei") == "/static/staff/zhang.wei.jpg"
    for elsewhere in ("//evil.example/x.jpg", "https://evil.example/x.jpg", "static/x.jpg"):
        assert refusal(check_photo, elsewhere, "zhang.wei") == (
            "photo", f'must be a path on this server such as "/static/staff/zhang.wei.jpg", got {elsewhere!r}')


def test_kiosk_timings_have_their_own_limits() -> None:
    assert check_kiosk_timing(60, "print_timeout_s") == 60
    assert refusal(check_kiosk_timing, 61, "print_timeout_s") == (
        "print_timeout_s", "must be at most 60 seconds, got 61")
    assert refusal(check_kiosk_timing, 0, "idle_reset_s") == ("idle_reset_s", "must be greater than 0, got 0")
    assert check_kiosk_timing(3600, "idle_reset_s") == 3600


@pytest.mark.parametrize(("text", "expected"), [
    ("none", ("none", None, None)),
    ("browser", ("browser", None, None)),
    ("escpos://192.168.1.50:9101", ("escpos", "192.168.1.50", 9101)),
    ("escpos://[fd00::5]", ("escpos", "fd00::5", 9100)),
])
def test_printer_addresses(text: str, expected: tuple[str, str | None, int | None]) -> None:
    assert parse_printer(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("usb", 'must be "none", "browser" or "escpos://host:port", got \'usb\''),
    ("escpos://h:9100/queue", 'must be "none", "browser" or "escpos://host:port", got \'escpos://h:9100/queue\''),
    ("escpos://h:0", "the port must be 1-65535, got 'escpos://h:0'"),
    ("escpos://h:99999", "the port must be 1-65535, got 'escpos://h:99999'"),
])
def test_bad_printer_addresses(text: str, problem: str) -> None:
    assert refusal(parse_printer, text) == ("printer", problem)


def test_pad_timeout_fits_in_the_rating_window() -> None:
    assert check_pad_timeout(600, timedelta(minutes=10)) == 600
    assert refusal(check_pad_timeout, 601, timedelta(minutes=10)) == (
        "pad_timeout_s", "must not be longer than rating_window_min (10 min), got 601")
    assert refusal(check_pad_timeout, 0, timedelta(minutes=10)) == ("pad_timeout_s", "must be at least 1, got 0")


@pytest.mark.parametrize(("scores", "scale", "problem"), [
    ([4], "three", "4 is not a score of the three scale (1, 2, 3)"),
    ([True], "three", "True is not a score of the three scale (1, 2, 3)"),
    (["1"], "five", "'1' is not a score of the five scale (1, 2, 3, 4, 5)"),
    ([1, 1], "three", "a score is listed twice"),
    ([1, 2, 3], "three", "at least one score must count as satisfied"),
])
def test_bad_dissatisfied_scores(scores: list[Any], scale: str, problem: str) -> None:
    assert refusal(check_dissatisfied_scores, scores, scale) == ("dissatisfied_scores", problem)


# --- hours ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "hours"), [
    ("09:00-18:00", Hours(time(9, 0), time(18, 0))),
    ("00:00-24:00", Hours(time(0, 0), None)),
    ("23:59-24:00", Hours(time(23, 59), None)),
])
def test_hours_parse(text: str, hours: Hours) -> None:
    assert Hours.parse(text) == hours
    assert str(hours) == text


@pytest.mark.parametrize(("text", "problem"), [
    ("9:00-18:00", "must look like \"09:00-18:00\", got '9:00-18:00'"),
    ("25:00-26:00", "not a time range: '25:00-26:00'"),
    ("09:00-24:01", "not a time range: '09:00-24:01'"),
    ("18:00-09:00", "closing time must be after opening time in '18:00-09:00'"),
    ("09:00-09:00", "closing time must be after opening time in '09:00-09:00'"),
])
def test_bad_hours(text: str, problem: str) -> None:
    assert refusal(Hours.parse, text) == ("hours", problem)


def test_hours_made_directly_must_close_after_they_open() -> None:
    assert refusal(Hours, time(18, 0), time(9, 0)) == (
        "hours", "closing time must be after opening time in '18:00-09:00'")


two_digits = st.integers(min_value=0, max_value=99)


@given(two_digits, two_digits, two_digits, two_digits)
def test_any_hours_text_that_parses_prints_back_the_same(oh: int, om: int, ch: int, cm: int) -> None:
    text = f"{oh:02d}:{om:02d}-{ch:02d}:{cm:02d}"
    try:
        hours = Hours.parse(text)
    except InvalidValue as exc:
        assert exc.field == "hours"
        assert text in exc.problem
    else:
        assert str(hours) == text
        assert Hours.parse(str(hours)) == hours


minute_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)


@given(minute_of_day, st.integers(min_value=1, max_value=24 * 60))
def test_any_hours_print_as_text_that_parses_back(opens_at: int, length: int) -> None:
    closes_at = min(opens_at + length, 24 * 60)
    opens = time(opens_at // 60, opens_at % 60)
    closes = None if closes_at == 24 * 60 else time(closes_at // 60, closes_at % 60)
    hours = Hours(opens, closes)
    assert Hours.parse(str(hours)) == hours
    assert hours.is_open(opens) and (closes is None or not hours.is_open(closes))


# --- properties of the other rules ----------------------------------------------------------------------------


@given(st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True))
def test_every_well_formed_code_is_a_code(code: str) -> None:
    assert check_code(code) == code


@given(st.text(min_size=1, max_size=40).filter(lambda s: "\n" not in s and (
    len(s) > 32 or any(not (c.isascii() and (c.isalnum() or c in "_-")) for c in s))))
def test_nothing_else_is_a_code(text: str) -> None:
    assert refusal(check_code, text) == ("code", f"must be 1-32 letters, digits, _ or -, got {text!r}")


@given(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.from_regex(r"[0-9a-fA-F]{6}", fullmatch=True))
def test_prefixes_and_colours(prefix: str, hex_digits: str) -> None:
    assert check_prefix(prefix) == prefix
    assert refusal(check_prefix, prefix.lower())[0] == "prefix"
    assert check_colour(f"#{hex_digits}") == f"#{hex_digits}"
    assert refusal(check_colour, hex_digits)[0] == "colour"


@given(st.floats(min_value=1e-3, max_value=1e6))
def test_a_positive_number_of_minutes_is_that_duration(value: float) -> None:
    assert minutes(value, "target_wait_min") == timedelta(minutes=value)


@given(st.sampled_from(sorted(RATING_SCALES)), st.data())
def test_dissatisfied_scores_are_any_proper_subset_of_the_scale(scale: str, data: st.DataObject) -> None:
    scores = [score for score, _label in RATING_SCALES[scale]]
    chosen = data.draw(st.lists(st.sampled_from(scores), unique=True, max_size=len(scores) - 1))
    assert check_dissatisfied_scores(chosen, scale) == tuple(sorted(chosen))
    assert refusal(check_dissatisfied_scores, scores, scale)[1] == "at least one score must count as satisfied"


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,2}", fullmatch=True),
       st.integers(min_value=1, max_value=65535))
def test_any_escpos_host_and_port_is_read_back(host: str, port: int) -> None:
    assert parse_printer(f"escpos://{host}:{port}") == ("escpos", host, port)


# --- the dataclasses check their own fields -------------------------------------------------------------------


def service(**changes: Any) -> Service:
    fields: dict[str, Any] = dict(
        code="BILL", prefix="A", name=NAME, parent=None, target_wait=timedelta(minutes=15),
        expected_service=timedelta(minutes=5), daily_cap=600, hours=WeeklyHours.of(DayHours.parse("09:00-21:00")),
        start_number=1, number_width=3, icon="ticket", colour="#2563eb")
    return Service(**{**fields, **changes})


def test_a_service_made_directly_is_checked() -> None:
    assert service().prefix == "A"
    assert refusal(service, prefix="a1") == ("prefix", "must be 1-3 capital letters, got 'a1'")
    assert refusal(service, code="BILL PAY")[0] == "code"
    assert refusal(service, colour="blue")[0] == "colour"
    assert refusal(service, name=Text("缴费", " ")) == ("name.en", "must not be empty")
    assert refusal(service, target_wait=timedelta(minutes=-1))[0] == "target_wait"
    assert refusal(service, daily_cap=0) == ("daily_cap", "must be at least 1, got 0")
    assert refusal(service, number_width=7) == ("number_width", "must be at most 6, got 7")
    assert refusal(service, start_number=-1) == ("start_number", "must be at least 0, got -1")


def test_dataclasses_replace_is_checked_too() -> None:
    with pytest.raises(InvalidValue, match=r"^prefix: "):
        dataclasses.replace(service(), prefix="abc")


def test_the_other_parts_of_a_hall_made_directly_are_checked() -> None:
    assert refusal(Category, "MOBILE", NAME, "ticket", "red")[0] == "colour"
    assert refusal(Counter, "3", NAME, ("PLAN", "PLAN"), CounterRole.NORMAL) == (
        "services", "a service is listed twice")
    assert refusal(Counter, "3", NAME, ("PLAN",), "boss")[0] == "role"
    assert refusal(Counter, "counter 3", NAME, ("PLAN",), CounterRole.NORMAL)[0] == "number"
    assert refusal(Kiosk, "K1", NAME, "usb")[0] == "printer"
    assert refusal(Kiosk, "K1", NAME, "escpos")[0] == "printer"  # no host
    assert Kiosk("K1", NAME, "escpos", "10.0.0.5", 9100).printer_port == 9100
    assert refusal(Kiosk, "K1", NAME, "none", confirmation_s=601) == (
        "confirmation_s", "must be at most 600 seconds, got 601")
    assert refusal(Overflow, 0)[0] == "wait_min"
    assert refusal(ReasonChip, "wait long", NAME)[0] == "code"
    hashed = "pbkdf2:sha256:1000$salt$hash"
    assert StaffAccount("wu.hao", "吴浩", hashed, "staff", ()).role == "staff"
    assert refusal(StaffAccount, "wu.hao", "吴浩", hashed, "root", ()) == (
        "role", "must be one of staff, manager, admin, regional, got 'root'")
    assert refusal(StaffAccount, "wu.hao", "吴浩", "right horse", "staff", ())[0] == "password_hash"
    assert refusal(StaffAccount, "wu.hao", "吴浩", hashed, "staff", (), "https://x/y.jpg")[0] == "photo"


def test_queue_rating_and_announcement_settings_made_directly_are_checked() -> None:
    rules = PolicyRules()
    day = timedelta(days=1)
    assert QueueRules(rules, "keep_place", timedelta(minutes=30), day, 10).recent_calls == 10
    assert refusal(QueueRules, rules, "back", timedelta(minutes=30), day, 10)[0] == "transfer_placement"
    assert refusal(QueueRules, rules, "front", timedelta(minutes=30), day, 0)[0] == "recent_calls"
    assert RatingSettings(scale="five", dissatisfied_scores=(1, 2, 3)).is_dissatisfied(3)
    assert refusal(RatingSettings, scale="ten")[0] == "scale"
    assert refusal(RatingSettings, dissatisfied_scores=(1, 2, 3))[0] == "dissatisfied_scores"
    assert refusal(RatingSettings, pad_timeout_s=3600, rating_window=timedelta(minutes=30))[0] == "pad_timeout_s"
    chips = tuple(ReasonChip(f"C{i}", NAME) for i in range(MAX_REASON_CHIPS + 1))
    assert refusal(RatingSettings, high_reasons=chips) == ("high_reasons", "at most 12 reasons fit on the pad")
    assert RatingSettings().low_reasons == DEFAULT_LOW_REASONS and RatingSettings().high_reasons == DEFAULT_HIGH_REASONS
    assert AnnouncementSettings().template("en") == "Number {number}, please go to counter {counter}"
    assert refusal(AnnouncementSettings, templates=Text("{number}", "{window}"))[0] == "templates.en"
    assert refusal(AnnouncementSettings, voice="cloud")[0] == "voice"
    assert refusal(AnnouncementSettings, languages=("en", "en"))[0] == "languages"
    assert refusal(AnnouncementSettings, server_voices=Text("zh", "en gb"))[0] == "server_voices.en"


# --- the TOML loader says what the model says, at the TOML key --------------------------------------------------


def test_the_loader_names_the_toml_key_and_gives_the_model_s_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_SECRET_KEY", "x" * 40)

    def bad_prefix(data: dict[str, Any]) -> None:
        data["branches"][0]["services"][2]["prefix"] = "a1"

    _field, problem = refusal(check_prefix, "a1")
    with pytest.raises(ConfigError) as info:
        load_config(DEMO_CONFIG, overrides=bad_prefix)
    assert str(info.value) == f"branches[0].services[2].prefix: {problem}"
    assert str(info.value) == "branches[0].services[2].prefix: must be 1-3 capital letters, got 'a1'"


def test_a_name_too_wide_for_a_kiosk_tile_is_refused_naming_the_language() -> None:
    from server.domain.hall import TILE_NAME_COLUMNS, Category, InvalidValue, Text, check_tile_name

    assert check_tile_name(Text("补换卡与过户", "SIM replacement & ownership transfer"))
    with pytest.raises(InvalidValue) as wide:
        Category("C", Text("一二三四五六七八九十" * 2 + "一", "Twenty-one"), "icon", "#1e88e5")
    assert wide.value.field == "name.zh-CN" and "at most 20 Chinese characters" in wide.value.problem
    with pytest.raises(InvalidValue) as long:
        check_tile_name(Text("短", "x" * (TILE_NAME_COLUMNS["en"] + 1)))
    assert long.value.field == "name.en"
