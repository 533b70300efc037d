"""The roster editor in Chromium: a manager opens it from the staffing advice, adds a shift and sees the advice
beside it change (rostered counters, short hours, where "planned" comes from), edits it, is told why a clashing
shift is refused, switches the language, and deletes the shift from the phone's list; tablet and phone without
sideways scroll; staff are not let in."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.test_manager import sign_in_as_manager
from tests.browser.test_staffing_page import NO_SIDEWAYS_SCROLL, write_history

SHOTS = Path("/work/shots/roster")


def look(page: Any, name: str) -> None:
    path = screenshot(page, name, full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{name}.png")


def figure(page: Any, row: str, hour: int) -> Any:
    return page.locator(f"#grid .figure.{row}[data-hour='{hour}']")


def fill_shift(page: Any, person: str, counter: str, start: str, end: str) -> None:
    page.select_option("#shift-form select[name=username]", person)
    page.select_option("#shift-form select[name=counter]", counter)
    page.select_option("#shift-form select[name=start]", start)
    page.select_option("#shift-form select[name=end]", end)


def test_a_manager_adds_edits_and_deletes_a_shift_beside_the_advice(
        page: Any, hall_server: HallServer, tmp_path: Path) -> None:
    write_history(hall_server, tmp_path)
    sign_in_as_manager(page, hall_server, "en")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator("#staffing-link").click()
    expect(page.locator("#planned-source")).to_have_text(
        "No roster that day: \u201cplanned\u201d counts every configured counter.")
    page.locator("#roster-link").click()
    expect(page.locator("#roster-board")).to_be_visible()
    expect(page.locator("#source")).to_have_text(
        "No roster that day: \u201cplanned\u201d counts every configured counter")
    expect(figure(page, "rostered", 11)).to_have_text("8")
    expect(page.locator("#grid .row.counter")).to_have_count(8)

    page.click("#add-shift")
    expect(page.locator("#shift-dialog")).to_be_visible()
    fill_shift(page, "zhang.wei", "2", "10:00", "13:00")
    page.locator("#service-choices li", has_text="Plan").locator("input").uncheck()
    look(page, "roster-dialog-en")
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#shift-dialog")).to_be_hidden()
    block = page.locator("#grid .row.counter[data-counter='2'] .block")
    expect(block).to_have_count(1)
    expect(block).to_contain_text("Zhang Wei")
    expect(block).to_contain_text("10:00–13:00")
    expect(block.locator(".what")).to_have_text("BILL")
    expect(page.locator("#source")).to_have_text("\u201cPlanned\u201d comes from this day's roster")
    expect(figure(page, "rostered", 11)).to_have_text("1")
    expect(figure(page, "rostered", 9)).to_have_text("0")
    expect(figure(page, "needed", 11)).to_have_class("figure needed short")  # 70 bill payments an hour, one counter
    assert int(figure(page, "needed", 11).inner_text()) > 1

    page.click("#add-shift")  # the same counter at the same time is refused, with the reason
    fill_shift(page, "wang.fang", "2", "12:00", "14:00")
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#shift-error")).to_have_text("Someone already works this counter then")
    page.click("#cancel-shift")

    block.click()
    expect(page.locator("#shift-title")).to_have_text("Edit the shift")
    page.select_option("#shift-form select[name=end]", "15:00")
    page.click("#shift-form button[type=submit]")
    expect(block).to_contain_text("10:00–15:00")
    expect(figure(page, "rostered", 14)).to_have_text("1")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "roster-tablet-en")

    page.click("#lang")  # every text at once
    expect(page.locator("#grid .row.advice.needed .label")).to_have_text("需要")
    expect(page.locator("#source")).to_have_text("“计划”来自本日排班表")
    expect(page.locator("#add-shift")).to_have_text("添加班次")
    expect(page.locator(".bar h1 [data-i18n=title]")).to_have_text("排班表")
    look(page, "roster-tablet-zh")
    block.click()
    expect(page.locator("#shift-title")).to_have_text("修改班次")
    expect(page.locator("#shift-form [data-i18n=person]")).to_have_text("人员")
    page.click("#cancel-shift")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#grid-card")).to_be_hidden()
    entry = page.locator("#shift-list .entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("10:00–15:00")
    expect(page.locator("#advice-list tbody tr[data-hour='11']")).to_have_class("short")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "roster-phone-zh")
    page.click("#lang")
    expect(page.locator("#advice-list thead th").nth(2)).to_have_text("Rostered")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "roster-phone-en")

    entry.click()
    page.once("dialog", lambda confirm: confirm.accept())
    page.click("#delete-shift")
    expect(page.locator("#shift-list .entry")).to_have_count(0)
    expect(page.locator("#shift-list")).to_contain_text("No one is rostered yet.")
    expect(page.locator("#advice-list tbody tr[data-hour='11'] td.rostered")).to_have_text("8")
    assert page.js_errors == []


def test_staff_are_not_let_in(page: Any, hall_server: HallServer) -> None:
    staff = hall_server.staff()
    page.context.add_cookies([{"name": c.name, "value": c.value or "", "url": hall_server.url} for c in staff.cookies])
    page.goto(f"{hall_server.url}/manager/{BRANCH}/roster?lang=en")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out-why")).to_have_text(
        "The roster is open to this branch's managers, administrators and its region's readers.")
