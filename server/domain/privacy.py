"""Personal data in the hall: phone numbers and names a customer gives with consent, how staff see them (masked),
phone-like numbers found in free text, and how long each kind of personal data is kept.

Pure: no Flask, no SQL; the clock is passed in. The rules, in one place:

* **Phone numbers** are stored in one form, E.164 (``+8613812345678``): a mainland China mobile number
  (``1[3-9]`` and 9 more digits, with or without ``+86`` / ``0086``) or an international number written with
  ``+`` (or ``00``) and its country code, 8-15 digits. Spaces, hyphens, dots, brackets and full-width digits
  (typed with a Chinese input method) are accepted and dropped. A refusal says why, in both languages.
* **Masking**: a number shows at most its first 3 and last 4 digits, and always hides at least 4 and at least
  all but 7 (``138****5678``); a name shows its first character and one ``*`` (``张*``, ``J*``), whatever its length.
* **Free text** (rating comments, transfer notes, resolution notes): any run of 7 or more digits, written
  together or in groups split by single spaces, hyphens, dots or brackets (``138 1234 5678``, ``0755-8888 1234``)
  is phone-like and masked by the same rule, except a calendar date (``2026-12-05``).
* **Retention**: a call-back contact is kept ``contact_days_after_resolved`` after its follow-up was resolved, and
  at most ``contact_max_days`` after it was given; free text is blanked ``free_text_days`` after it was written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain.errors import DomainError
from server.domain.values import InvalidValue, Text

CHINA = "86"
MIN_DIGITS = 8  # E.164 numbers of fewer digits are service numbers, not a customer's phone
MAX_DIGITS = 15  # E.164's longest
MAX_NAME = 40
MAX_RETENTION_DAYS = 3650
MASK = "*"
NOTIFICATION_KEEP = timedelta(days=1)  # a number given for "your turn is near" messages
FREE_TEXT_MIN_DIGITS = 7  # a run this long in free text is treated as a phone (or other) number
_SEPARATORS = frozenset(" -.\u00a0\u3000\u2010\u2011\u2012\u2013\u2014()（）－．")  # between digit groups
_MOBILE = re.compile(r"1[3-9]\d{9}")
_DATE = re.compile(r"(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])")


class Purpose(StrEnum):
    """Why a contact is held: the one use its consent covers."""

    FOLLOW_UP = "follow_up"  # a manager calls back about a dissatisfied rating
    APPOINTMENT = "appointment"  # reserved: online booking
    NOTIFICATION = "notification"  # reserved: "your turn is near" messages
    REMOTE_QUEUE = "remote_queue"  # a ticket taken on a phone before arriving: its per-number limits


class InvalidPhone(DomainError):
    """A phone number that cannot be a customer's phone; ``details.text`` says why in both languages."""

    code = "bad_phone"
    http_status = 400

    def __init__(self, reason: Text, field: str = "phone") -> None:
        super().__init__(reason.en, text=reason.as_dict(), field=field)
        self.reason = reason


PHONE_EMPTY = Text("请输入手机号码", "Enter a phone number")
PHONE_CHARACTERS = Text("手机号码只能包含数字，国际号码以 + 开头",
                        "A phone number has only digits (an international one starts with +)")
PHONE_NOT_MOBILE = Text("请输入 11 位手机号码（以 1 开头，如 138 1234 5678）",
                        "Enter an 11-digit mainland China mobile number (starting with 1, like 138 1234 5678)")
PHONE_LENGTH = Text(f"国际号码应为 + 加国家代码共 {MIN_DIGITS}-{MAX_DIGITS} 位数字",
                    f"An international number has + and {MIN_DIGITS}-{MAX_DIGITS} digits including the country code")
NAME_TOO_LONG = Text(f"称呼最多 {MAX_NAME} 个字", f"The name may be at most {MAX_NAME} characters")
NAME_CHARACTERS = Text("称呼不能包含数字或控制字符", "The name may not contain digits or control characters")


def _ascii_digits(text: str) -> str:
    """Full-width and other decimal digits as ASCII digits; everything else unchanged."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def normalise_phone(text: str) -> str:
    """A customer's phone number in E.164 (``+8613812345678``), or :class:`InvalidPhone` saying why.

    Idempotent: a normalised number normalises to itself."""
    cleaned = _ascii_digits(text.strip()).replace("＋", "+")
    cleaned = "".join(ch for ch in cleaned if ch not in _SEPARATORS)
    if not cleaned:
        raise InvalidPhone(PHONE_EMPTY)
    international = cleaned.startswith("+") or cleaned.startswith("00")
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned[2:] if cleaned.startswith("00") else cleaned
    if not digits.isascii() or not digits.isdigit():
        raise InvalidPhone(PHONE_CHARACTERS)
    if not international:
        if digits.startswith(CHINA) and len(digits) == 13 and _MOBILE.fullmatch(digits[2:]):
            digits = digits[2:]  # 86 written without the +
        if not _MOBILE.fullmatch(digits):
            raise InvalidPhone(PHONE_NOT_MOBILE)
        return f"+{CHINA}{digits}"
    if digits.startswith(CHINA):
        if not _MOBILE.fullmatch(digits[2:]):
            raise InvalidPhone(PHONE_NOT_MOBILE)
        return f"+{digits}"
    if digits.startswith("0") or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone(PHONE_LENGTH)
    return f"+{digits}"


def is_china_mobile(e164: str) -> bool:
    return e164.startswith(f"+{CHINA}") and bool(_MOBILE.fullmatch(e164[3:]))


def shown_digits(total: int) -> tuple[int, int]:
    """How many leading and trailing digits of a ``total``-digit number a masked view shows: at most 3 and 4,
    always hiding at least 4 digits and all but 7."""
    if total >= 11:
        return 3, 4
    if total >= 8:
        return 2, 2
    if total >= 6:
        return 0, 2
    return 0, 0


def _mask_digit_run(digits: str) -> str:
    head, tail = shown_digits(len(digits))
    return digits[:head] + MASK * (len(digits) - head - tail) + digits[len(digits) - tail:]


def mask_phone(e164: str) -> str:
    """How staff see a stored number: a China mobile as its 11 digits (``138****5678``), any other as ``+`` and
    its masked digits (``+44*****0958``)."""
    if is_china_mobile(e164):
        return _mask_digit_run(e164[3:])
    return "+" + _mask_digit_run(e164.lstrip("+"))


def display_phone(e164: str) -> str:
    """The whole number as a person dials it: ``138 1234 5678`` for a China mobile, E.164 otherwise."""
    if is_china_mobile(e164):
        national = e164[3:]
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return e164


def normalise_name(text: str | None) -> str | None:
    """An optional name or form of address (``王女士``), trimmed; None when blank. Refused (``bad_name``) when
    longer than :data:`MAX_NAME` or holding digits or control characters (a name field is no place for a phone)."""
    name = " ".join((text or "").split())
    if not name:
        return None
    if len(name) > MAX_NAME:
        raise DomainError(NAME_TOO_LONG.en, code="bad_name", http_status=400, text=NAME_TOO_LONG.as_dict(),
                          field="name")
    if any(ch.isdigit() or unicodedata.category(ch).startswith("C") for ch in name):
        raise DomainError(NAME_CHARACTERS.en, code="bad_name", http_status=400, text=NAME_CHARACTERS.as_dict(),
                          field="name")
    return name


def mask_name(name: str | None) -> str | None:
    """The first character and one ``*``: never the name's length or any further character."""
    if not name:
        return None
    return name.strip()[:1] + MASK


@dataclass(frozen=True)
class Found:
    """A phone-like run in free text: ``text[start:end]``, with its digits."""

    start: int
    end: int
    digits: str


def find_phone_like(text: str) -> list[Found]:
    """Runs of :data:`FREE_TEXT_MIN_DIGITS` or more digits in ``text``, in groups split by single separators
    (spaces, hyphens, dots, brackets), with a leading ``+``; calendar dates are left out."""
    found: list[Found] = []
    i, n = 0, len(text)
    while i < n:
        if not text[i].isdecimal():
            i += 1
            continue
        start = i - 1 if i > 0 and text[i - 1] in "+＋" else i
        digits = []
        j = i
        while j < n:
            if text[j].isdecimal():
                digits.append(str(unicodedata.decimal(text[j])))
                j += 1
            elif text[j] in _SEPARATORS and j + 1 < n and (text[j + 1].isdecimal() or (
                    text[j + 1] in _SEPARATORS and text[j + 1] != text[j] and j + 2 < n and text[j + 2].isdecimal())):
                j += 1  # one separator (or a bracket and a space) between two digit groups
            else:
                break
        run = "".join(digits)
        if len(run) >= FREE_TEXT_MIN_DIGITS and not _DATE.fullmatch(_ascii_digits(text[i:j])):
            found.append(Found(start, j, run))
        i = j
    return found


def mask_phone_like(text: str | None) -> str | None:
    """``text`` with every phone-like run's digits masked (separators kept): what staff see of free text."""
    if not text:
        return text
    pieces: list[str] = []
    last = 0
    for hit in find_phone_like(text):
        head, tail = shown_digits(len(hit.digits))
        hidden = range(head, len(hit.digits) - tail)
        seen = 0
        piece = []
        for ch in text[hit.start:hit.end]:
            if ch.isdecimal():
                piece.append(MASK if seen in hidden else ch)
                seen += 1
            else:
                piece.append(ch)
        pieces += [text[last:hit.start], "".join(piece)]
        last = hit.end
    pieces.append(text[last:])
    return "".join(pieces)


# --- retention --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Retention:
    """``[privacy]``: how long personal data is kept (docs/privacy.md)."""

    contact_days_after_resolved: int = 30  # a call-back contact, after its follow-up was resolved
    contact_max_days: int = 90  # a call-back contact at most, resolved or not
    free_text_days: int = 180  # rating comments, transfer notes and resolution notes, then blanked

    def __post_init__(self) -> None:
        for name in ("contact_days_after_resolved", "contact_max_days", "free_text_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RETENTION_DAYS:
                raise InvalidValue(name, f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, "
                                         f"got {value!r}")
        if self.contact_days_after_resolved > self.contact_max_days:
            raise InvalidValue("contact_days_after_resolved", f"must be at most contact_max_days "
                               f"({self.contact_max_days}), got {self.contact_days_after_resolved}")

    def contact_purge_after(self, given_at: datetime, resolved_at: datetime | None = None) -> datetime:
        """When a contact given at ``given_at`` is removed: ``contact_max_days`` after, or
        ``contact_days_after_resolved`` after its follow-up was resolved, whichever comes first."""
        latest = given_at + timedelta(days=self.contact_max_days)
        if resolved_at is None:
            return latest
        return min(latest, resolved_at + timedelta(days=self.contact_days_after_resolved))

    def notification_purge_after(self, given_at: datetime) -> datetime:
        """When a number given for "your turn is near" messages is removed: a day after (its ticket's service day
        is over by then), or sooner if ``contact_max_days`` is shorter."""
        return given_at + min(NOTIFICATION_KEEP, timedelta(days=self.contact_max_days))

    def contact_expired(self, now: datetime, given_at: datetime, resolved_at: datetime | None = None) -> bool:
        return now >= self.contact_purge_after(given_at, resolved_at)

    def contacts_given_before(self, now: datetime) -> datetime:
        """Contacts given before this are past the longest retention, whatever their follow-up."""
        return now - timedelta(days=self.contact_max_days)

    def free_text_before(self, now: datetime) -> datetime:
        """Free text written before this is blanked."""
        return now - timedelta(days=self.free_text_days)




# --- a contact given with consent -------------------------------------------------------------------------

CONSENT_REQUIRED = Text("请勾选同意我们使用您的号码回电",
                        "Please tick the box to let us use your number to call you back")
CONSENT_TO_USE = Text("请勾选同意按上面所说的用途使用您的号码",
                      "Please tick the box to agree to the use of your number described above it")
"""The refusal where the number is not for a call back (a booking, a ticket taken on a phone)."""


@dataclass(frozen=True)
class ContactGiven:
    """A phone number (normalised) and optional name a customer gave, having agreed to the consent line."""

    phone: str
    name: str | None = None

    @classmethod
    def with_consent(cls, phone: str, name: str | None, consent: bool,
                     refusal: Text = CONSENT_REQUIRED) -> ContactGiven:
        """Checked as given: the consent first (nothing is read without it; ``refusal`` says why, in the words of
        what the number is for), then the number and the name."""
        if consent is not True:
            raise DomainError(refusal.en, code="consent_required", http_status=400, text=refusal.as_dict(),
                              field="consent")
        return cls(normalise_phone(phone), normalise_name(name))


__all__ = ["ContactGiven", "InvalidPhone", "Purpose", "Retention", "display_phone", "find_phone_like", "mask_name",
           "mask_phone", "mask_phone_like", "normalise_name", "normalise_phone", "shown_digits"]
