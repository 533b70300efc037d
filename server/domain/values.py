"""The smallest vocabulary the hall model and its opening schedule share: the refusal of a value and a text in
every supported language. Apart from :mod:`server.domain.hall` so that the schedule (which the hall's branches
hold) can use them without importing the hall."""

from __future__ import annotations

from dataclasses import dataclass


class InvalidValue(ValueError):
    """A value the hall model refuses: ``field`` names it, ``problem`` says what is wrong with it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_not_blank(value: str, field: str) -> str:
    if value.strip() == "":
        raise InvalidValue(field, "must not be empty")
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
