"""The ``<id:>`` path converter: exactly the numbers a database row id can hold."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from server.api.registry import IdConverter, _digits_at_most
from server.api.schemas import ID_MAX


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**7))
def test_the_pattern_admits_exactly_the_numbers_up_to_the_limit(limit: int, number: int) -> None:
    pattern = re.compile(_digits_at_most(limit))
    assert (pattern.fullmatch(str(number)) is not None) == (number <= limit)


@given(st.one_of(st.integers(min_value=0, max_value=2**70),
                 st.integers(min_value=ID_MAX - 10**6, max_value=ID_MAX + 10**6)))
def test_the_id_converter_stops_at_a_signed_64_bit_integer(number: int) -> None:
    assert (re.fullmatch(IdConverter.regex, str(number)) is not None) == (number <= ID_MAX)


def test_leading_zeros_and_non_digits() -> None:
    assert re.fullmatch(IdConverter.regex, "007") is not None
    for text in ["", "-1", "1.0", "²", "1e3", " 1"]:
        assert re.fullmatch(IdConverter.regex, text) is None, text
