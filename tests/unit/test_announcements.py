"""What the wall display says: ticket and counter numbers read aloud naturally, templates filled twice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.domain.announcements import (
    announcement,
    chinese_integer,
    spoken_counter,
    spoken_ticket_number,
    template_problem,
)


@pytest.mark.parametrize(("number", "zh", "en"), [
    ("A023", "A 零二三", "A, zero two three"),
    ("V007", "V 零零七", "V, zero zero seven"),
    ("B100", "B 一零零", "B, one zero zero"),
    ("AB12", "A B 一二", "A B, one two"),
    ("A1234", "A 一二三四", "A, one two three four"),
    ("7", "七", "seven"),
])
def test_ticket_numbers_are_spoken_digit_by_digit(number: str, zh: str, en: str) -> None:
    assert spoken_ticket_number(number, "zh-CN") == zh
    assert spoken_ticket_number(number, "en") == en


@pytest.mark.parametrize(("value", "text"), [
    (0, "零"), (3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (21, "二十一"), (100, "一百"), (105, "一百零五"),
    (110, "一百一十"), (1001, "一千零一"), (10010, "一万零一十"),
])
def test_chinese_integers(value: int, text: str) -> None:
    assert chinese_integer(value) == text


@given(st.integers(min_value=0, max_value=99999))
def test_every_chinese_integer_uses_only_numerals(value: int) -> None:
    assert set(chinese_integer(value)) <= set("零一二三四五六七八九十百千万")


@pytest.mark.parametrize(("counter", "zh", "en"), [
    ("3", "三", "3"), ("12", "十二", "12"), ("V1", "V 一", "V, one"), ("03", "零三", "zero three"),
])
def test_counters_are_spoken_as_numbers_or_spelled(counter: str, zh: str, en: str) -> None:
    assert spoken_counter(counter, "zh-CN") == zh
    assert spoken_counter(counter, "en") == en


def test_announcement_fills_the_template_as_shown_and_as_spoken() -> None:
    zh = announcement("请 {number} 号到 {counter} 号窗口", "zh-CN", number="A023", counter="3")
    assert zh.text == "请 A023 号到 3 号窗口"
    assert zh.speech == "请 A 零二三 号到 三 号窗口"
    en = announcement("Number {number}, please go to counter {counter}", "en", number="A023", counter="3")
    assert en.text == "Number A023, please go to counter 3"
    assert en.speech == "Number A, zero two three, please go to counter 3"
    named = announcement("{number} -> {counter_name}", "en", number="V001", counter="8",
                         counter_name="Counter 8 (VIP room)")
    assert named.text == "V001 -> Counter 8 (VIP room)"


@pytest.mark.parametrize(("template", "problem"), [
    ("请 {number} 号", None),
    ("{counter} only", "must contain {number}"),
    ("{number} {name}", "unknown placeholder {name}"),
    ("{number} {}", "unknown placeholder {}"),
    ("{number", "malformed template"),
    ("{number} {{literal}}", None),
])
def test_template_problems(template: str, problem: str | None) -> None:
    found = template_problem(template)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
