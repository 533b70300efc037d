"""The smallest vocabulary the hall model and its opening schedule share: the refusal of a value and a text in
every supported language. Apart from :mod:`server.domain.hall` so that the schedule (which the hall's branches
hold) can use them without importing the hall."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Problem(StrEnum):
    """What is wrong with a refused value, for a program (the administration page says it in the reader's
    language). Each comes with parameters named in its comment; ``value`` is the refused value when there is one."""

    REQUIRED = "required"  # the key is missing or the text blank
    WRONG_TYPE = "wrong_type"  # expected: "int", "float", "int or float", "str", "bool", "list", "table", "date"
    TOO_SMALL = "too_small"  # min
    TOO_LARGE = "too_large"  # max (unit: "min", "s", ... when it has one)
    OUT_OF_RANGE = "out_of_range"  # min, max (either may be absent: then it is open on that side)
    NOT_POSITIVE = "not_positive"  # must be greater than 0
    NEGATIVE = "negative"  # must not be negative
    TOO_LONG = "too_long"  # max (characters); a kiosk tile's name: max_zh, max_en
    TOO_MANY = "too_many"  # max (items)
    TOO_FEW = "too_few"  # min (items)
    BAD_FORMAT = "bad_format"  # format: one of :class:`ValueFormat`
    NOT_ONE_OF = "not_one_of"  # allowed: the values it may take
    UNKNOWN_KEY = "unknown_key"  # allowed: the keys the table may have
    UNKNOWN_REFERENCE = "unknown_reference"  # kind: "service", "category", "counter", "branch", ...; value: its code
    DUPLICATE = "duplicate"  # value (what is given twice or taken already)
    BAD_TIME_RANGE = "bad_time_range"  # value: the range whose closing time is not after its opening time
    OVERLAP = "overlap"  # ranges or dated exceptions that overlap
    UNSERVED = "unserved"  # services: the branch's services no counter serves
    IN_USE = "in_use"  # kind, value: a piece still named by another that needs it
    CODE_FIXED = "code_fixed"  # a piece's code cannot change once created
    CONFLICT = "conflict"  # a rule across two keys (the message names the other)
    INVALID = "invalid"  # any other refusal: the message says it


class ValueFormat(StrEnum):
    """The written forms a value may have to take (``Problem.BAD_FORMAT``'s ``format``)."""

    CODE = "code"  # 1-32 letters, digits, _ or -
    PREFIX = "prefix"  # 1-3 capital letters
    COLOUR = "colour"  # "#1e88e5"
    ICON = "icon"  # 1-32 letters, digits, . _ or -
    HOURS = "hours"  # "closed" or "09:00-12:00, 13:30-17:00"
    TIME_OF_DAY = "time_of_day"  # "20:30" (or "auto")
    DATE = "date"  # a TOML date 2026-10-01
    TIME_ZONE = "time_zone"  # an IANA name such as Asia/Shanghai
    PRINTER = "printer"  # none, browser or escpos://host:port
    TOML = "toml"  # a TOML document


class InvalidValue(ValueError):
    """A value the hall model refuses: ``field`` names it, ``problem`` says what is wrong with it in English, and
    ``code`` with ``params`` say it for a program (see :class:`Problem`)."""

    def __init__(self, field: str, problem: str, code: Problem = Problem.INVALID, **params: Any) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.code = code
        self.params = plain(params)


def plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON holds them: numbers, strings, booleans and lists of them (anything else as its text)."""
    def one(value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list | tuple | set | frozenset):
            return [one(v) for v in (sorted(value, key=str) if isinstance(value, set | frozenset) else value)]
        return str(value)
    return {name: one(value) for name, value in params.items()}


def check_not_blank(value: str, field: str) -> str:
    if value.strip() == "":
        raise InvalidValue(field, "must not be empty", Problem.REQUIRED)
    return value


@dataclass(frozen=True)
class Text:
    """A customer-facing text in every supported language."""

    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh-CN": self.zh, "en": self.en}


def check_text(value: Text, field: str = "") -> Text:
    """A name or notice: no language left blank. The error names the language (``name.zh-CN``).

    Not part of :class:`Text` itself, which also carries texts made on the fly (a receipt's estimate) that
    may be empty.
    """
    for language, text in value.as_dict().items():
        check_not_blank(text, f"{field}.{language}" if field else language)
    return value
