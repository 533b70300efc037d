"""The overview of branches in Chromium: two branches, one of them gets a long wait and moves to the top within a
couple of seconds without a reload; the language switch redraws every row at once; a phone shows one card per branch
without sideways scrolling; a regional account signing in on a manager page lands here; staff are not let in.

The long wait is made by moving a waiting ticket's issue back 40 minutes in the server's database, then taking
another ticket there (a command: the branch is refreshed at once)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, update

from server.launcher import ServerProcess, write_config
from server.persistence.tables import TicketRow
from tests.browser.conftest import BRANCH, HallServer, screenshot

OTHER = "GZ-TIANHE"
SHOTS = Path("/work/shots/overview")
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def with_second_branch(path: Path) -> None:
    """The demo's branch again as Tianhe in region GD-GZ, and a regional reader of GD-GZ."""
    text = path.read_text(encoding="utf-8")
    start = text.index("[[branches]]")
    end = text.index("# Demo accounts")
    second = text[start:end].replace('code = "SZ-FUTIAN"', f'code = "{OTHER}"', 1).replace(
        'region = "GD-SZ"', 'region = "GD-GZ"', 1)
    name = 'name = { "zh-CN" = "星河通信 天河营业厅", en = "Xinghe Telecom Tianhe Hall" }'
    second = re.sub(r'^name = \{[^\n]*\}', name, second, count=1, flags=re.M)
    password = re.search(r'password_hash = "([^"]+)"', text).group(1)  # zhang.wei's: demo-staff
    account = (f'[[staff]]\nusername = "region.gz"\ndisplay_name = "广州区域 GZ Region"\nrole = "regional"\n'
               f'regions = ["GD-GZ"]\npassword_hash = "{password}"\n\n')
    path.write_text(text[:end] + second + account + text[end:], encoding="utf-8")


@pytest.fixture
def two_branches(tmp_path: Path) -> Iterator[HallServer]:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with_second_branch(config)
    with ServerProcess(config) as process:
        yield HallServer(process)


def signed_in(page: Any, server: HallServer, username: str, password: str, language: str) -> None:
    page.goto(f"{server.url}/overview?lang={language}")
    expect(page.locator("#login")).to_be_visible()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#overview-board")).to_be_visible()


def order(page: Any) -> list[str]:
    return page.locator("#branches tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def look(page: Any, name: str) -> None:
    path = screenshot(page, f"overview-{name}", full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{name}.png")


def age_waiting_tickets(tmp_path: Path, branch: str, minutes: int) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    past = datetime.now(UTC) - timedelta(minutes=minutes)
    with engine.begin() as connection:
        connection.execute(update(TicketRow.__table__).where(
            TicketRow.__table__.c.branch_code == branch, TicketRow.__table__.c.state == "waiting").values(
            issued_at=past, queued_at=past))
    engine.dispose()


def test_a_long_wait_moves_its_branch_to_the_top_live(page: Any, two_branches: HallServer, tmp_path: Path) -> None:
    server = two_branches
    staff = server.sign_in("1")  # Futian counter 1 open (BILL, SIM)
    tianhe = server.staff("li.na")
    assert tianhe.post(f"{server.api}/branches/{OTHER}/counters/1/sign-in", json={"takeover": True}).ok
    for _ in range(3):
        server.issue("BILL")  # Futian: three waiting, just now
    page.set_viewport_size({"width": 1280, "height": 800})
    signed_in(page, server, "admin", "demo-admin", "en")
    expect(page.locator("#branches tbody tr")).to_have_count(2)
    expect(page.locator("html")).to_have_attribute("data-live", "live")
    expect(page.locator("#branches tbody tr").first).to_have_attribute("data-code", BRANCH)  # three waiting
    futian = page.locator(f'#branches tr[data-code="{BRANCH}"]')
    expect(futian.locator("td.waiting")).to_have_text("3")
    expect(futian.locator(".branch-link")).to_have_attribute("href", f"/manager/{BRANCH}?lang=en")

    # Tianhe: a BILL ticket that has waited 40 minutes (its target is 10)
    assert requests.post(f"{server.api}/branches/{OTHER}/tickets", json={"service": "BILL"}).status_code == 201
    age_waiting_tickets(tmp_path, OTHER, 40)
    assert requests.post(f"{server.api}/branches/{OTHER}/tickets", json={"service": "SIM"}).status_code == 201
    tianhe_row = page.locator(f'#branches tr[data-code="{OTHER}"]')
    expect(page.locator("#branches tbody tr").first).to_have_attribute("data-code", OTHER, timeout=4000)
    expect(tianhe_row).to_have_attribute("data-severity", "critical")
    expect(tianhe_row.locator("td.worst")).to_contain_text("40 / 10 min")
    expect(tianhe_row.locator(".top-alerts li").first).to_contain_text("over the 10 min target")
    look(page, "tablet-en")

    # the language switch redraws every row at once, the order kept
    page.click("#lang")
    expect(page.locator("h1")).to_have_text("网点总览")
    expect(tianhe_row.locator("td.worst")).to_contain_text("40 / 10 分钟")
    expect(futian.locator(".branch-link")).to_have_text("星河通信 福田中心营业厅")
    expect(tianhe_row.locator(".top-alerts li").first).to_contain_text("超过目标")
    assert order(page) == [OTHER, BRANCH]
    expect(page.locator("#branches thead th").first).to_have_text("网点")
    look(page, "tablet-zh")
    assert not page.js_errors
    del staff


def test_on_a_phone_each_branch_is_a_card_and_a_regional_reader_lands_here(
        page: Any, two_branches: HallServer) -> None:
    server = two_branches
    server.issue("BILL")
    page.set_viewport_size({"width": 390, "height": 844})
    # a regional account signing in on a manager page is taken to the overview
    page.goto(f"{server.url}/manager/{BRANCH}?lang=zh-CN")
    page.fill("input[name=username]", "region.gz")
    page.fill("input[name=password]", "demo-staff")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/overview\?lang=zh-CN$"))
    expect(page.locator("#branches tbody tr")).to_have_count(1)
    assert order(page) == [OTHER]
    row = page.locator("#branches tbody tr").first
    expect(row.locator(".page-link")).to_have_count(1)  # staffing only: a regional account has no manager page
    assert row.evaluate("r => getComputedStyle(r).display") == "grid"
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "phone-zh")
    page.click("#lang")
    expect(row.locator("td.waiting")).to_have_text("0")
    expect(page.locator("h1")).to_have_text("Branch overview")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "phone-en")

    # the admin's phone: both branches
    page.click("#sign-out")
    expect(page.locator("#login")).to_be_visible()
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "demo-admin")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#branches tbody tr")).to_have_count(2)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "phone-admin-en")
    page.select_option("#region", "GD-SZ")
    expect(page.locator("#branches tbody tr")).to_have_count(1)
    assert order(page) == [BRANCH]
    assert not page.js_errors


def test_staff_are_not_let_in(page: Any, hall_server: HallServer) -> None:
    page.goto(f"{hall_server.url}/overview?lang=en")
    page.fill("input[name=username]", "zhang.wei")
    page.fill("input[name=password]", "demo-staff")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-why")).to_have_text(
        "The overview is open to managers, administrators and regional readers.")
    expect(page.locator("#overview-board")).to_be_hidden()
