"""What a wall display says when it calls a ticket: the text of the announcement in each language.

Pure functions, no I/O. A ticket number is spoken character by character so that every speech engine says
it the same way ("A023" -> "A 零二三" / "A, zero two three", never "A twenty-three"); a counter number
that is a plain integer is spoken as a number ("3" -> "三" / "3", "12" -> "十二" / "12"), any other counter
code is spelled like a ticket number. Templates come from ``[announcements]`` in ``config.toml`` and may use
``{number}``, ``{counter}`` and ``{counter_name}``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

PLACEHOLDERS = ("number", "counter", "counter_name")

ZH_DIGITS = "零一二三四五六七八九"
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def template_problem(template: str) -> str | None:
    """Why a template cannot be used (unknown or malformed placeholder, no ``{number}``), or None."""
    try:
        names = [name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"malformed template ({exc}); write literal braces as {{{{ and }}}}"
    for name in names:
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}} (allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
    if "number" not in names:
        return "must contain {number}"
    return None


def is_chinese(language: str) -> bool:
    return language.lower().startswith("zh")


def spoken_ticket_number(number: str, language: str) -> str:
    """A ticket number as it is read out: letters as letters, then each digit on its own.

    ``A023`` -> ``A 零二三`` (zh) / ``A, zero two three`` (en).
    """
    groups: list[tuple[bool, str]] = []  # (is a letter, spoken text)
    digits: list[int] = []
    for char in number:
        if char.isdigit():
            digits.append(int(char))
            continue
        if digits:
            groups.append((False, _digits(digits, language)))
            digits = []
        if char.isalpha():
            groups.append((True, char.upper()))
    if digits:
        groups.append((False, _digits(digits, language)))
    if is_chinese(language):
        return " ".join(text for _letter, text in groups)
    # English engines read a lone "A" as the article; a comma after a letter makes it the letter's name.
    out = ""
    for index, (_letter, text) in enumerate(groups):
        if index:
            out += ", " if groups[index - 1][0] and not groups[index][0] else " "
        out += text
    return out


def _digits(digits: list[int], language: str) -> str:
    if is_chinese(language):
        return "".join(ZH_DIGITS[d] for d in digits)
    return " ".join(EN_DIGITS[d] for d in digits)


def chinese_integer(value: int) -> str:
    """0-99999 in Chinese numerals as read aloud: 3 -> 三, 10 -> 十, 12 -> 十二, 20 -> 二十, 105 -> 一百零五."""
    if not 0 <= value < 100000:
        raise ValueError(f"out of range: {value}")
    if value == 0:
        return ZH_DIGITS[0]
    units = ((10000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, ""))
    out, pending_zero = "", False
    for size, name in units:
        digit = value // size % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out += ZH_DIGITS[0]
            pending_zero = False
        out += ZH_DIGITS[digit] + name
    if 10 <= value < 20:
        out = out.removeprefix("一")  # 十二, not 一十二
    return out


def spoken_counter(counter: str, language: str) -> str:
    """A counter number as read aloud: ``3`` -> ``三`` / ``3``; ``V1`` is spelled like a ticket number."""
    if counter.isdigit() and len(counter) <= 5 and not (len(counter) > 1 and counter.startswith("0")):
        return chinese_integer(int(counter)) if is_chinese(language) else str(int(counter))
    return spoken_ticket_number(counter, language)


@dataclass(frozen=True)
class AnnouncementText:
    """One language's announcement: ``text`` to show, ``speech`` to speak."""

    language: str
    text: str
    speech: str


def announcement(template: str, language: str, *, number: str, counter: str,
                 counter_name: str | None = None) -> AnnouncementText:
    """Fill a template twice: as written (A023, counter 3) and as spoken (A 零二三, 三)."""
    name = counter_name or counter
    shown = template.format(number=number, counter=counter, counter_name=name)
    spoken = template.format(number=spoken_ticket_number(number, language),
                             counter=spoken_counter(counter, language), counter_name=name)
    return AnnouncementText(language=language, text=_tidy(shown), speech=_tidy(spoken))


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
