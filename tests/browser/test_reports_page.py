"""The reports page in Chromium: a manager opens it from the manager page, picks a range and a grouping, and sees
each table's chart (an ECharts instance on a canvas) above a table with the API's rows; a CSV link downloads the
table with a byte-order mark and the header in the page's language; the language switches at once, charts
included; the state is in the URL; a range without closed days says so; a grouping one table cannot have is
explained on that table; the phone has no sideways scroll; staff are refused; a regional account lands on the
reports of its region. Screenshots of the tablet, the phone and the printed page in both languages.

Ten closed days of random traffic are run through the service layer before the server starts
(:mod:`tests.browser.report_data`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from server.launcher import ServerProcess
from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.report_data import REGIONAL, config_with_regional, seed_closed_days
from tests.browser.test_content_security_policy import WATCH_VIOLATIONS
from tests.browser.test_manager import sign_in_as_manager

SHOTS = Path("/work/shots/reports-page")
TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
CHART_OPTION = """(id) => { const chart = echarts.getInstanceByDom(document.getElementById(id));
  if (!chart) return null; const o = chart.getOption();
  return { series: o.series.map((s) => s.name), canvas: !!document.querySelector('#' + id + ' canvas') }; }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallServer]:
    directory = tmp_path_factory.mktemp("reports")
    seed_closed_days(directory, 10)
    with ServerProcess(config_with_regional(directory)) as process:
        yield HallServer(process)


def look(page: Any, name: str) -> None:
    path = screenshot(page, name, full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / f"{name}.png")


def api_rows(page: Any, url: str) -> Any:
    return page.evaluate("async (url) => (await (await fetch(url, {credentials: 'same-origin'})).json())", url)


def test_a_manager_reads_charts_and_tables_and_switches_language(page: Any, server: HallServer) -> None:
    page.add_init_script(WATCH_VIOLATIONS)  # the charts draw under the page's Content-Security-Policy
    sign_in_as_manager(page, server, "en")
    page.set_viewport_size(TABLET)
    link = page.locator("#reports-link")
    expect(link).to_have_text("Reports")
    link.click()
    expect(page.locator("#reports-board")).to_be_visible()
    page.select_option("select[name=group]", "service")
    page.click("[data-quick=last7]")
    expect(page.locator("#card-waits")).to_be_visible()
    query = parse_qs(urlparse(page.url).query)
    assert query["group"] == ["service"] and query["lang"] == ["en"]
    first, last = query["from"][0], query["to"][0]
    # each table has the API's rows, in its order, with its labels
    answer = api_rows(page, f"/api/branches/{BRANCH}/reports?from={first}&to={last}&group=service")
    volumes = answer["sections"]["volumes"]
    assert len(volumes) == 2
    rows = page.locator("#card-outcomes tbody tr")
    expect(rows).to_have_count(len(volumes))
    for index, row in enumerate(volumes):
        expect(rows.nth(index).locator("td").first).to_have_text(row["label"]["en"])
        expect(rows.nth(index).locator("td").nth(3)).to_have_text(f"{row['served']:,}")
    expect(page.locator("#card-waits tbody tr")).to_have_count(len(answer["sections"]["waits"]))
    expect(page.locator("#card-reasons tbody tr")).to_have_count(len(answer["sections"]["reasons"]))
    expect(page.locator("#card-heatmap tbody tr")).to_have_count(7)
    # the charts are drawn: an ECharts instance on a canvas, its series named in the page's language
    outcomes = page.evaluate(CHART_OPTION, "chart-outcomes-0")
    assert outcomes["canvas"] and outcomes["series"][:2] == ["Served", "No-shows"]
    assert page.evaluate(CHART_OPTION, "chart-waits-1")["series"] == ["50th percentile", "80th percentile",
                                                                      "90th percentile"]
    assert page.evaluate(CHART_OPTION, "chart-heatmap-0")["canvas"]
    satisfaction = page.evaluate(CHART_OPTION, "chart-staff_ratings-0")
    assert satisfaction["series"] == ["Ratings", "Satisfied", "Share satisfied"]
    staff_names = page.locator("#card-staff_ratings tbody tr td:first-child").all_inner_texts()
    assert set(staff_names) == {"张伟 Zhang Wei", "李娜 Li Na"}  # display names, never logins
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, "reports-tablet-en")

    # the language switches at once: texts, table headings and the charts' series
    page.click("#lang")
    expect(page.locator("h1 [data-i18n=title]")).to_have_text("报表")
    expect(page.locator("#card-outcomes thead th").first).to_have_text("业务")
    expect(page.locator("#card-outcomes tbody tr").first.locator("td").first).to_have_text(volumes[0]["label"]["zh-CN"])
    assert page.evaluate(CHART_OPTION, "chart-outcomes-0")["series"][:2] == ["办结数", "过号数"]
    assert parse_qs(urlparse(page.url).query)["lang"] == ["zh-CN"]
    assert "lang=zh-CN" in page.locator("#card-waits .csv-link").get_attribute("href")
    assert not page.js_errors, page.js_errors
    assert page.evaluate("window.__cspViolations") == []
    look(page, "reports-tablet-zh")


@pytest.mark.parametrize("language, header", [("zh-CN", "业务,样本数,平均(秒)"), ("en", "Service,Count,Mean (s)")])
def test_the_csv_link_downloads_the_table_in_the_pages_language(page: Any, server: HallServer, language: str,
                                                                  header: str, tmp_path: Path) -> None:
    assert page.context.request.post(f"{server.api}/session",
                                     data={"username": "manager", "password": "demo-manager"}).ok
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang={language}&group=service")
    expect(page.locator("#card-waits .csv-link")).to_be_visible()
    with page.expect_download() as info:
        page.click("#card-waits .csv-link")
    saved = tmp_path / "waits.csv"
    info.value.save_as(saved)
    body = saved.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig").splitlines()[0].startswith(header)
    assert info.value.suggested_filename.startswith(f"report-{BRANCH}-waits-")


def test_the_state_is_in_the_url_and_empty_ranges_and_bad_groups_are_explained(page: Any,
                                                                                server: HallServer) -> None:
    assert page.context.request.post(f"{server.api}/session",
                                     data={"username": "manager", "password": "demo-manager"}).ok
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang=en&from=2020-01-01&to=2020-01-31&group=day")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#empty-text")).to_have_text(
        "No closed days with tickets between 2020-01-01 and 2020-01-31: there are no figures to show.")
    expect(page.locator("#cards")).to_be_hidden()
    assert page.locator("select[name=group]").input_value() == "day"
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang=en&group=counter")
    expect(page.locator("#card-reasons .card-message")).to_have_text(
        "This table cannot be grouped by “Counter”; it can by: Total, Branch, Service, Day, Weekday.")
    expect(page.locator("#card-waits tbody tr")).not_to_have_count(0)  # the other tables are drawn
    page.fill("input[name=from]", "2026-01-10")
    page.fill("input[name=to]", "2026-01-01")
    page.click("#report-form button[type=submit]")
    expect(page.locator("#report-error")).to_contain_text("The range is not valid")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_phone_has_no_sideways_scroll_and_the_report_prints(browser: Any, server: HallServer,
                                                                 language: str) -> None:
    context = browser.new_context(viewport=PHONE, locale=language, timezone_id="Asia/Shanghai", is_mobile=True,
                                  has_touch=True)
    assert context.request.post(f"{server.api}/session", data={"username": "manager", "password": "demo-manager"}).ok
    page = context.new_page()
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang={language}&group=staff")
    expect(page.locator("#card-heatmap tbody tr")).to_have_count(7)
    page.wait_for_timeout(300)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, f"reports-phone-{language}")
    # on paper: no controls, every chart the width of A4, each table from a new page
    page.set_viewport_size({"width": 794, "height": 1123})
    page.emulate_media(media="print")
    page.wait_for_timeout(300)
    expect(page.locator("#report-form")).to_be_hidden()
    expect(page.locator("#print-head")).to_be_visible()
    widths = page.evaluate("() => [...document.querySelectorAll('.chart canvas')].map((c) => c.clientWidth)")
    assert widths and all(w <= 700 for w in widths), widths
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    look(page, f"reports-print-{language}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / f"reports-print-{language}.pdf").write_bytes(pdf)
    context.close()


def test_a_staff_account_is_refused(page: Any, server: HallServer) -> None:
    assert page.context.request.post(f"{server.api}/session",
                                     data={"username": "zhang.wei", "password": "demo-staff"}).ok
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang=en")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out-why")).to_have_text(
        "Reports are open to this branch's managers, administrators and its region's readers.")
    expect(page.locator("#reports-board")).to_be_hidden()
    page.goto(f"{server.url}/reports?lang=en")
    expect(page.locator("#signed-out")).to_be_visible()


def test_a_regional_account_reaches_its_regions_reports_from_the_overview(page: Any, server: HallServer) -> None:
    page.goto(f"{server.url}/manager/{BRANCH}?lang=en")
    page.fill("input[name=username]", REGIONAL[0])
    page.fill("input[name=password]", REGIONAL[1])
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/overview?lang=en")  # its landing page: the live overview of its regions
    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/reports?lang=en")
    expect(page.locator("#reports-board")).to_be_visible()
    region = page.locator("select[name=region]")
    expect(region).to_be_visible()
    assert region.locator("option").all_inner_texts() == ["Every region", "GD-SZ · Xinghe Telecom Futian Central Hall"]
    region.select_option("GD-SZ")
    page.select_option("select[name=group]", "branch")
    page.click("#report-form button[type=submit]")
    expect(page.locator("#card-outcomes tbody tr")).to_have_count(1)
    expect(page.locator("#card-outcomes tbody td").first).to_have_text("Xinghe Telecom Futian Central Hall")
    assert parse_qs(urlparse(page.url).query)["region"] == ["GD-SZ"]
    assert "region=GD-SZ" in page.locator("#card-satisfaction .csv-link").get_attribute("href")
    look(page, "reports-regional-en")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_bookings_card_draws_the_appointments(page: Any, server: HallServer, language: str) -> None:
    """The appointments card: the API's rows per day (booked, checked in, late walk-ins, cancelled, no-shows), a
    stacked chart with the no-show rate, its CSV link; in both languages on the tablet."""
    assert page.context.request.post(f"{server.api}/session",
                                     data={"username": "manager", "password": "demo-manager"}).ok
    page.set_viewport_size(TABLET)
    page.goto(f"{server.url}/manager/{BRANCH}/reports?lang={language}&group=day")
    card = page.locator("#card-bookings")
    expect(card).to_be_visible()
    query = parse_qs(urlparse(page.url).query)
    answer = api_rows(page, f"/api/branches/{BRANCH}/reports?from={query['from'][0]}&to={query['to'][0]}"
                            f"&group=day&section=bookings")
    rows = answer["sections"]["bookings"]
    assert len(rows) == 10 and sum(r["booked"] for r in rows) > 0
    assert sum(r["booking_no_shows"] for r in rows) > 0 and sum(r["checked_in"] for r in rows) > 0
    expect(card.locator("tbody tr")).to_have_count(len(rows))
    first = card.locator("tbody tr").first.locator("td")
    expect(first.nth(0)).to_have_text(rows[0]["label"][language])
    expect(first.nth(1)).to_have_text(str(rows[0]["booked"]))
    expect(first.nth(5)).to_have_text(str(rows[0]["booking_no_shows"]))
    titles = {"en": ("Appointments", ["Checked in as booked", "Late walk-ins",
                                      "Cancelled (customer)", "No-shows", "No-show rate"]),
              "zh-CN": ("预约", ["按预约签到", "迟到转普通号", "顾客取消", "爽约", "爽约率"])}[language]
    expect(card.locator("h2")).to_have_text(titles[0])
    chart = page.evaluate(CHART_OPTION, "chart-bookings-0")
    assert chart["canvas"] and chart["series"] == titles[1]
    assert f"lang={language}" in card.locator(".csv-link").get_attribute("href")
    assert "bookings.csv" in card.locator(".csv-link").get_attribute("href")
    assert not page.js_errors, page.js_errors
    card.scroll_into_view_if_needed()
    shots = Path("/work/shots/bookmore")
    shots.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(shots / f"reports-bookings-card-tablet-{language}.png"))
    page.screenshot(path=str(shots / f"reports-page-tablet-{language}.png"), full_page=True)
