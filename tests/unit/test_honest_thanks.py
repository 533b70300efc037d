"""The pad and the phone page promise a call back only when the customer left a number (both languages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

PAGES = {
    "pad": (ROOT / "server/pages/counter_devices/static/pad.js", "thanks_sorry", "thanks_call_back"),
    "phone": (ROOT / "kiosk/static/ticket.js", "rate_thanks_follow_up", "rate_thanks_call_back"),
}
PROMISES = re.compile(r"call you|call back|phone you|contact you|get back to you|follow up|"
                      r"回电|致电|联系您|与您联系|跟进", re.IGNORECASE)


def texts(path: Path, key: str) -> list[str]:
    """The key's text in each language of the page's dictionaries (zh-CN first, then en)."""
    found = re.findall(rf'\b{key}: "([^"]*)"', path.read_text(encoding="utf-8"))
    assert len(found) == 2, (path, key, found)
    return found


@pytest.mark.parametrize("page", sorted(PAGES))
def test_no_call_back_is_promised_without_a_number(page: str) -> None:
    path, without_number, with_number = PAGES[page]
    for text in texts(path, without_number):
        assert not PROMISES.search(text), text
    for text in texts(path, with_number):  # with a number left, the call back is what they were promised
        assert PROMISES.search(text), text
