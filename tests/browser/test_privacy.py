"""Personal data in Chromium: the call-back offer after a dissatisfied rating on the phone page and on the rating pad
(the number refused with the server's reason, then kept with consent and shown masked to the manager, whole on
request), and the manager's "Personal data" card (find, export, delete with a confirmation), in both languages.

Screenshots: ``privacy-phone-call-back-{zh,en}`` (390x844), ``privacy-pad-call-back-{zh,en}`` (1024x600),
``privacy-manager-card-{zh,en}`` and ``privacy-manager-delete-dialog-zh`` (1280x800).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.test_manager import sign_in_as_manager
from tests.browser.test_mobile_ticket import finished_on_the_phone
from tests.browser.test_rating_pad import PAD, TIMEOUT, open_pad, serve

pytestmark = pytest.mark.browser

MASKED = "138****5678"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    yield page
    context.close()


def manager_session(server: HallServer) -> requests.Session:
    session = requests.Session()
    assert session.post(f"{server.api}/session", json={"username": "manager", "password": "demo-manager"}).ok
    return session


def follow_ups(server: HallServer) -> list[dict[str, Any]]:
    answer = manager_session(server).get(f"{server.api}/branches/{BRANCH}/follow-ups", timeout=5)
    assert answer.ok, answer.text
    return answer.json()["follow_ups"]


def test_the_phone_page_offers_a_call_back_with_a_dissatisfied_score(hall_server: HallServer, phone: Any) -> None:
    mine = finished_on_the_phone(hall_server, phone)
    phone.locator("#scores .score[data-score='2']").tap()
    expect(phone.locator("#rating-details")).to_be_visible(timeout=5000)
    expect(phone.locator("#call-back")).to_be_hidden()  # only with a dissatisfied score
    phone.locator("#scores .score[data-score='1']").tap()
    expect(phone.locator("#call-back-title")).to_have_text("需要我们回电吗？")
    expect(phone.locator("#call-back-form")).to_be_hidden()
    phone.locator("#call-back-toggle").tap()
    expect(phone.locator("#call-back-form")).to_be_visible()
    expect(phone.locator("#call-back-consent-text")).to_contain_text("处理完毕 30 天后删除，最长保留 90 天")
    phone.locator("#chips .chip[data-reason=WAIT_LONG]").tap()

    phone.fill("#call-back-phone", "12345")  # not a mobile number: the server says why, in the page's language
    phone.locator("#call-back-consent").check()
    phone.locator("#rate-send").tap()
    expect(phone.locator("#call-back-error")).to_have_text("请输入 11 位手机号码（以 1 开头，如 138 1234 5678）")
    assert requests.get(f"{hall_server.api}/tickets/{mine['token']}/rating", timeout=5).json()["rated"] is False
    phone.fill("#call-back-phone", "138 1234 5678")
    phone.fill("#call-back-name", "王女士")
    phone.locator("#call-back-consent").uncheck()
    phone.locator("#rate-send").tap()
    expect(phone.locator("#call-back-error")).to_have_text("请勾选同意我们使用您的号码回电")
    screenshot(phone, "privacy-phone-call-back-zh", full_page=True)
    phone.click('.lang[data-lang="en"]')
    expect(phone.locator("#call-back-title")).to_have_text("May we call you back?")
    expect(phone.locator("#call-back-error")).to_have_text(
        "Please tick the box to let us use your number to call you back")
    expect(phone.locator("#call-back-consent-text")).to_contain_text(
        "deleted 30 days after the matter is resolved, and kept 90 days at most")
    screenshot(phone, "privacy-phone-call-back-en", full_page=True)
    phone.locator("#call-back-consent").check()
    expect(phone.locator("#call-back-error")).to_be_hidden()  # corrected: the refusal no longer applies

    phone.locator("#rate-send").tap()
    expect(phone.locator("#rating-thanks")).to_have_text(
        "We are sorry. A manager will call you back on the number you left.", timeout=5000)
    expect(phone.locator("#call-back-phone")).to_have_value("")  # the page keeps no copy
    state = requests.get(f"{hall_server.api}/tickets/{mine['token']}/rating", timeout=5).json()
    assert state["rating"]["call_back"] is True and "5678" not in json.dumps(state)
    [follow_up] = follow_ups(hall_server)
    assert (follow_up["contact"]["phone"], follow_up["contact"]["name"]) == (MASKED, "王*")
    assert not phone.js_errors


def test_the_pad_takes_a_number_on_its_own_keypad(hall_server: HallServer, browser: Any) -> None:
    staff = hall_server.sign_in("3", "li.na")
    hall_server.issue("BILL")
    for language in ("zh-CN", "en"):
        context = browser.new_context(viewport=PAD, locale=language, timezone_id="Asia/Shanghai", has_touch=True)
        try:
            pad = open_pad(context, hall_server, "3", f"?lang={language}")
            if language == "en":
                hall_server.issue("BILL")
            serve(hall_server, staff, "3")
            pad.locator("#scores .score[data-score='1']").tap(timeout=TIMEOUT)
            offer = pad.locator("#call-back-offer")
            expect(offer).to_have_text("需要我们回电吗？" if language == "zh-CN" else "May we call you back?")
            offer.tap()
            expect(pad.locator("#screen-call-back")).to_be_visible()
            for key in "1381234567":
                pad.locator(f"#keypad [data-key='{key}']").tap()
            pad.locator("#keypad [data-key='delete']").tap()
            for key in "78":
                pad.locator(f"#keypad [data-key='{key}']").tap()
            expect(pad.locator("#call-back-phone")).to_have_value("13812345678")
            pad.locator("#call-back-send").tap()  # no consent yet: the server's reason, on the same screen
            expect(pad.locator("#call-back-error")).to_have_text(
                "请勾选同意我们使用您的号码回电" if language == "zh-CN"
                else "Please tick the box to let us use your number to call you back")
            screenshot(pad, f"privacy-pad-call-back-{'zh' if language == 'zh-CN' else 'en'}")
            pad.locator("#call-back-consent").check()
            expect(pad.locator("#call-back-error")).to_be_hidden()
            pad.locator("#call-back-send").tap()
            expect(pad.locator("#thanks-text")).to_have_text(
                "值班经理会尽快按您留下的号码回电。" if language == "zh-CN"
                else "A manager will call you back on the number you left.")
            expect(pad.locator("#call-back-phone")).to_have_value("")  # the next customer sees nothing of it
            assert not pad.js_errors  # type: ignore[attr-defined]
        finally:
            context.close()
    contacts = [f["contact"] for f in follow_ups(hall_server)]
    assert [(c["phone"], c["channel"]) for c in contacts] == [(MASKED, "pad"), (MASKED, "pad")]


def test_the_manager_reveals_a_number_and_finds_exports_and_deletes_one_customer(
        hall_server: HallServer, browser: Any, tmp_path: Any) -> None:
    staff = hall_server.sign_in("2")
    customer = hall_server.issue("BILL")
    called = hall_server.call_next(staff, "2")["ticket"]
    for action in ("start", "finish"):
        assert staff.post(f"{hall_server.api}/branches/{BRANCH}/tickets/{called['id']}/{action}", json={}).ok
    rated = requests.post(f"{hall_server.api}/tickets/{customer['token']}/rating", timeout=5, json={
        "score": 1, "reasons": ["WAIT_LONG"], "comment": "等了很久，请打 139 8765 4321",
        "call_back": {"phone": "+86 138 1234 5678", "name": "王女士", "consent": True}})
    assert rated.status_code == 201, rated.text

    for language in ("zh-CN", "en"):
        short = "zh" if language == "zh-CN" else "en"
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=language,
                                      timezone_id="Asia/Shanghai", accept_downloads=True)
        page = context.new_page()
        try:
            sign_in_as_manager(page, hall_server, language)
            item = page.locator("#follow-ups li").first
            expect(item).to_contain_text("139 **** 4321", timeout=TIMEOUT)  # phone-like numbers in the comment, masked
            item.locator("button.case-open").click()
            box = page.locator("#case-contact")  # the case view: the call-back number, masked
            expect(box).to_contain_text(MASKED)
            if language == "zh-CN":
                box.locator("button", has_text="查看号码").click()
                expect(box.locator(".follow-up-contact a")).to_have_text("138 1234 5678")
                assert box.locator(".follow-up-contact a").get_attribute("href") == "tel:+8613812345678"
            page.click("#case-close")

            card = page.locator("#privacy-card")
            card.scroll_into_view_if_needed()
            page.fill("#privacy-form input[name=phone]", "0755 1234")
            page.click("#privacy-form button[type=submit]")
            expect(page.locator("#privacy-error")).to_have_text(
                "请输入 11 位手机号码（以 1 开头，如 138 1234 5678）" if short == "zh"
                else "Enter an 11-digit mainland China mobile number (starting with 1, like 138 1234 5678)")
            page.fill("#privacy-form input[name=phone]", "138 1234 5678")
            page.click("#privacy-form button[type=submit]")
            expect(page.locator("#privacy-contacts tbody tr")).to_have_count(1)
            expect(page.locator("#privacy-contacts tbody tr td").first).to_have_text(MASKED)
            expect(page.locator("#privacy-summary")).to_contain_text(MASKED)
            card.scroll_into_view_if_needed()
            screenshot(page, f"privacy-manager-card-{short}")

            with page.expect_download() as download:
                page.click("#privacy-export")
            saved = tmp_path / f"export-{short}.json"
            download.value.save_as(saved)
            exported = json.loads(saved.read_text(encoding="utf-8"))
            assert exported["phone"] == "+8613812345678" and exported["contacts"][0]["name"] == "王女士"
            expect(page.locator("#privacy-done")).to_contain_text(MASKED)

            if language == "en":
                page.click("#privacy-delete")
                expect(page.locator("#privacy-dialog")).to_be_visible()
                expect(page.locator("#privacy-dialog-text")).to_contain_text("cannot be undone")
                page.click("#privacy-cancel")  # nothing happens
                expect(page.locator("#privacy-dialog")).to_be_hidden()
                expect(page.locator("#privacy-contacts tbody tr")).to_have_count(1)
                page.click("#privacy-delete")
                screenshot(page, "privacy-manager-delete-dialog-en")
                page.click("#privacy-confirm")
                expect(page.locator("#privacy-done")).to_contain_text("1 contact(s) removed")
                expect(page.locator("#privacy-summary")).to_have_text(
                    f"This branch holds no personal data for {MASKED}.")
                screenshot(page, "privacy-manager-card-deleted-en")
        finally:
            context.close()
    state = requests.get(f"{hall_server.api}/tickets/{customer['token']}/rating", timeout=5).json()
    assert state["rating"]["score"] == 1 and state["rating"]["comment"] is None  # the score stays, the text goes
    assert [f["contact"] for f in follow_ups(hall_server)] == [None]
