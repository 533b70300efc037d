"""The rules of personal data (server/domain/privacy.py): phone numbers normalised and refused with a reason in both
languages, masking that never shows more than it should, phone-like numbers found in free text, retention."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from server.config import ConfigError, parse_config
from server.domain.errors import DomainError
from server.domain.privacy import (
    ContactGiven,
    InvalidPhone,
    Retention,
    display_phone,
    find_phone_like,
    mask_name,
    mask_phone,
    mask_phone_like,
    normalise_name,
    normalise_phone,
    shown_digits,
)
from server.domain.values import InvalidValue
from tests.support import DEMO_CONFIG

FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")

mobiles = st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"),
                    st.text("0123456789", min_size=9, max_size=9))
internationals = st.builds(lambda first, rest: f"+{first}{rest}", st.sampled_from("123456789"),
                           st.text("0123456789", min_size=7, max_size=14)).filter(lambda n: not n.startswith("+86"))


def written(digits: str, draw_separators: list[str]) -> str:
    """``digits`` with a separator (or none) after each digit, as people type numbers."""
    return "".join(d + (draw_separators[i % len(draw_separators)] if i < len(digits) - 1 else "")
                   for i, d in enumerate(digits))


separators = st.lists(st.sampled_from(["", "", " ", "-", ".", "\u3000"]), min_size=1, max_size=5)


# --- normalisation --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678",
                                  "+8613812345678", "008613812345678", "86 13812345678", "１３８１２３４５６７８",
                                  "＋86 (138) 1234-5678", " 138.1234.5678 "])
def test_china_mobiles_in_every_usual_writing(text: str) -> None:
    assert normalise_phone(text) == "+8613812345678"


@pytest.mark.parametrize(("text", "e164"), [
    ("+44 20 7946 0958", "+442079460958"), ("0044 20 7946 0958", "+442079460958"),
    ("+1 (415) 555-0100", "+14155550100"), ("+852 9123 4567", "+85291234567")])
def test_international_numbers_with_their_country_code(text: str, e164: str) -> None:
    assert normalise_phone(text) == e164


@pytest.mark.parametrize(("text", "zh", "en"), [
    ("", "请输入手机号码", "Enter a phone number"),
    ("   ", "请输入手机号码", "Enter a phone number"),
    ("138abc45678", "只能包含数字", "only digits"),
    ("12812345678", "11 位手机号码", "11-digit mainland China mobile"),
    ("1381234567", "11 位手机号码", "11-digit"),
    ("0755 8888 1234", "11 位手机号码", "mobile"),  # a landline: no call-back to a desk phone
    ("+86 0755 88881234", "11 位手机号码", "mobile"),
    ("+44 123", "国际号码", "international"),
    ("+1234567890123456", "国际号码", "8-15 digits"),
    ("+0 1234 5678", "国际号码", "country code"),
])
def test_refusals_say_why_in_both_languages(text: str, zh: str, en: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalise_phone(text)
    error = refused.value
    assert (error.code, error.http_status, error.details["field"]) == ("bad_phone", 400, "phone")
    assert zh in error.details["text"]["zh-CN"] and en in error.details["text"]["en"]
    assert error.message == error.details["text"]["en"]


@given(mobiles, separators, st.sampled_from(["", "+86", "0086", "+86 ", "86"]), st.booleans())
def test_any_writing_of_a_mobile_normalises_to_one_form(mobile: str, seps: list[str], prefix: str,
                                                        full_width: bool) -> None:
    text = prefix + written(mobile, seps)
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert normalise_phone(text) == "+86" + mobile


@given(st.one_of(mobiles, internationals, st.text(max_size=20)))
def test_normalising_is_idempotent(text: str) -> None:
    try:
        once = normalise_phone(text)
    except InvalidPhone:
        return
    assert normalise_phone(once) == once
    assert re.fullmatch(r"\+[1-9]\d{7,14}", once)


# --- masking --------------------------------------------------------------------------------------------

def test_masked_forms() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+442079460958") == "+442*****0958"
    assert mask_phone("+85291234567") == "+852****4567"
    assert display_phone("+8613812345678") == "138 1234 5678"
    assert (mask_name("王女士"), mask_name("John Smith"), mask_name(None), mask_name("")) == ("王*", "J*", None, None)


@given(st.integers(min_value=1, max_value=40))
def test_the_shown_digits_never_leave_fewer_than_four_hidden(total: int) -> None:
    head, tail = shown_digits(total)
    hidden = total - head - tail
    assert head + tail <= 7
    assert hidden >= 4 or (head, tail) == (0, 0)
    assert hidden >= total - 7


@given(st.one_of(mobiles.map(lambda m: "+86" + m), internationals))
def test_a_masked_number_shows_at_most_seven_digits_and_hides_at_least_four(e164: str) -> None:
    masked = mask_phone(e164)
    shown = re.sub(r"\D", "", masked)
    digits = e164.lstrip("+").removeprefix("86") if e164.startswith("+86") else e164.lstrip("+")
    assert len(shown) <= 7
    assert masked.count("*") >= 4
    assert masked.count("*") + len(shown) == len(digits)
    head, tail = shown_digits(len(digits))
    assert shown == digits[:head] + digits[len(digits) - tail:]  # only its ends, in place


@given(st.text(min_size=1, max_size=40))
def test_a_masked_name_shows_only_its_first_character(name: str) -> None:
    assume(name.strip())
    masked = mask_name(name)
    assert masked == name.strip()[0] + "*"  # never the length, never a second character


# --- phone-like numbers in free text ---------------------------------------------------------------------

def test_free_text_examples() -> None:
    note = "客户手机 138 1234 5678，座机 0755-8888-1234，2026-12-05 再来，号票 A023，金额 1299.00"
    assert mask_phone_like(note) == ("客户手机 138 **** 5678，座机 075*-****-1234，2026-12-05 再来，号票 A023，"
                                     "金额 1299.00")
    assert mask_phone_like("call +44 20 7946 0958 please") == "call +44 2* **** 0958 please"
    assert mask_phone_like("身份证 110101199003074512") == "身份证 110***********4512"
    assert mask_phone_like(None) is None and mask_phone_like("") == ""
    assert [f.digits for f in find_phone_like("a 13812345678 b 123456 c")] == ["13812345678"]


texts = st.text(alphabet=st.sampled_from([*"abc 号码，。:-", "\n"]), max_size=20)


@given(texts, mobiles, separators, texts, st.booleans())
def test_a_mobile_in_free_text_is_never_shown_whole(before: str, mobile: str, seps: list[str], after: str,
                                                    full_width: bool) -> None:
    number = written(mobile, seps)
    if full_width:
        number = number.translate(FULL_WIDTH)
    masked = mask_phone_like(f"{before}{number}{after}")
    assert masked is not None
    visible = re.sub(r"\D", "", masked.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    assert mobile not in visible
    assert len(visible) <= 7
    assert masked.count("*") >= 4


@given(st.text(max_size=60))
def test_masking_free_text_is_idempotent_and_keeps_its_shape(text: str) -> None:
    masked = mask_phone_like(text)
    assert masked is not None and len(masked) == len(text)
    assert mask_phone_like(masked) == masked
    for hit in find_phone_like(masked):  # nothing left that looks like a whole number
        assert len(hit.digits) < 7


@given(st.text(alphabet=st.sampled_from([*"abc号码 ,.-", *"0123456"]), max_size=40))
def test_short_numbers_are_left_alone(text: str) -> None:
    assume(all(len(hit.digits) < 7 for hit in find_phone_like(text)))
    assert mask_phone_like(text) == text


# --- names and consent ------------------------------------------------------------------------------------

def test_names_are_trimmed_and_refused_with_a_reason() -> None:
    assert normalise_name("  王   女士 ") == "王 女士"
    assert normalise_name("   ") is None and normalise_name(None) is None
    for bad in ("x" * 41, "Call 138", "a\x00b"):
        with pytest.raises(DomainError) as refused:
            normalise_name(bad)
        assert refused.value.code == "bad_name" and refused.value.details["text"]["zh-CN"]


def test_a_contact_needs_consent_first() -> None:
    with pytest.raises(DomainError) as refused:
        ContactGiven.with_consent("not a number", None, False)
    assert refused.value.code == "consent_required" and refused.value.http_status == 400
    assert ContactGiven.with_consent("138 1234 5678", " 王女士 ", True) == ContactGiven("+8613812345678", "王女士")


# --- retention --------------------------------------------------------------------------------------------

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def test_retention_defaults_and_refusals() -> None:
    retention = Retention()
    assert (retention.contact_days_after_resolved, retention.contact_max_days, retention.free_text_days) == (30, 90,
                                                                                                             180)
    for bad in ({"contact_max_days": 0}, {"free_text_days": 4000}, {"contact_days_after_resolved": True},
                {"contact_days_after_resolved": 100, "contact_max_days": 90}):
        with pytest.raises(InvalidValue):
            Retention(**bad)


@given(st.integers(1, 400), st.integers(0, 400), st.one_of(st.none(), st.integers(0, 500)),
       st.integers(0, 1000))
def test_a_contact_is_never_kept_longer_than_either_rule(after_resolved: int, extra: int, resolved_day: int | None,
                                                         now_day: int) -> None:
    retention = Retention(contact_days_after_resolved=min(after_resolved, 3650),
                          contact_max_days=min(after_resolved + extra, 3650))
    resolved = None if resolved_day is None else T0 + timedelta(days=resolved_day)
    purge_after = retention.contact_purge_after(T0, resolved)
    assert purge_after <= T0 + timedelta(days=retention.contact_max_days)
    if resolved is not None:
        assert purge_after <= resolved + timedelta(days=retention.contact_days_after_resolved)
    now = T0 + timedelta(days=now_day)
    assert retention.contact_expired(now, T0, resolved) == (now >= purge_after)
    assert retention.contacts_given_before(now) <= now


@pytest.mark.parametrize(("section", "message"), [
    ({"contact_max_days": 0}, "privacy.contact_max_days: must be a whole number of days from 1 to 3650, got 0"),
    ({"free_text_days": "180"}, "privacy.free_text_days: must be an int, got '180'"),
    ({"contact_days_after_resolved": 100}, "privacy.contact_days_after_resolved: must be at most contact_max_days"),
    ({"keep_forever": True}, "privacy.keep_forever: unknown key"),
])
def test_a_bad_privacy_setting_is_refused_naming_the_key(section: dict[str, object], message: str) -> None:
    data = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    data["privacy"] = section
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(data, DEMO_CONFIG.parent)
    del data["privacy"]
    assert parse_config(data, DEMO_CONFIG.parent).privacy == Retention()  # the defaults
