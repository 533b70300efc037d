"""The displays page in Chromium: a manager edits the notices and the media playlist while an open wall display
follows live; the live previews of the kiosk and the wall are marked and inert; staff are refused; the page fits the
tablet and the desktop without sideways scroll, in both languages."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import BRANCH, HallServer, screenshot
from tests.browser.kiosk_helpers import assert_language, assert_touch_targets, waiting_total
from tests.browser.test_manager import sign_in_as_manager
from tests.media_samples import mp4_bytes, png_bytes

SHOTS = os.environ.get("HALL_SIGNAGE_SHOTS")  # a folder to copy the screenshots to, if set
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
WALL = {"width": 1920, "height": 1080}


def open_wall(browser: Any, server: HallServer, language: str = "en") -> Any:
    context = browser.new_context(viewport=WALL, locale=language, timezone_id="Asia/Shanghai")
    wall = context.new_page()
    wall.goto(f"{server.url}/display/{BRANCH}?lang={language}&sound=off")
    expect(wall.locator("html")).to_have_attribute("data-live", "live", timeout=15_000)
    return wall


def open_displays_page(page: Any, server: HallServer, language: str) -> None:
    """From the manager page, by its header's link."""
    sign_in_as_manager(page, server, language)
    link = page.locator("#displays-link")
    expect(link).to_have_text("Displays" if language == "en" else "显示内容")
    link.click()
    expect(page.locator("#displays-board")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=15_000)


def api_order(server: HallServer, what: str) -> list[int]:
    manager = server.staff("manager", "demo-manager")
    answer = manager.get(f"{server.api}/branches/{BRANCH}/{what}")
    assert answer.ok, answer.text
    return [row["id"] for row in answer.json()[what]]


def test_a_manager_adds_edits_reorders_and_deletes_notices_and_an_open_wall_follows(
    browser: Any, page: Any, hall_server: HallServer
) -> None:
    wall = open_wall(browser, hall_server, "en")
    expect(wall.locator("#wall")).to_have_attribute("data-notices", "none")
    open_displays_page(page, hall_server, "en")
    expect(page.locator("#notices-empty")).to_have_text("No notices yet")
    expect(page.locator("#notice-zh-count")).to_have_text("0 / 500")  # the server's limit

    page.click("#notice-save")  # nothing typed: said at both fields, in the page's language
    expect(page.locator("#notice-zh-error")).to_have_text("Enter the Chinese text (at most 500 characters)")
    expect(page.locator("#notice-en-error")).to_have_text("Enter the English text (at most 500 characters)")
    expect(page.locator("#notice-zh")).to_have_attribute("aria-invalid", "true")

    page.fill("#notice-zh", "今日宽带办理送路由器")
    expect(page.locator("#notice-zh-error")).to_be_empty()
    page.click("#notice-save")  # the English text is still missing
    expect(page.locator("#notice-en-error")).to_have_text("Enter the English text (at most 500 characters)")
    page.fill("#notice-en", "Free router with broadband today")
    expect(page.locator('.ticker[data-language="en"] .ticker-copy').first).to_have_text(
        "Free router with broadband today")  # the scrolling preview of what is typed
    expect(page.locator('.ticker[data-language="zh-CN"] .ticker-copy').first).to_have_text("今日宽带办理送路由器")
    page.click("#notice-save")

    notices = page.locator("#notices li")
    expect(notices).to_have_count(1)
    expect(notices.first.locator('.text[lang="en"]')).to_have_text("Free router with broadband today")
    expect(wall.locator("#notice-track .notice-copy").first).to_have_text("Free router with broadband today")
    expect(wall.locator("#wall")).to_have_attribute("data-notices", "on")

    page.fill("#notice-zh", "营业时间延长至晚九点")
    page.fill("#notice-en", "Open until 9 pm")
    page.click("#notice-save")
    expect(notices).to_have_count(2)
    expect(page.locator("#notices-count")).to_have_text("2 notices, 2 on")
    expect(wall.locator("#notice-track .notice-copy").first).to_have_text(
        "Free router with broadband todayOpen until 9 pm")

    first, second = api_order(hall_server, "notices")
    notices.first.get_by_role("button", name="Move down").click()
    expect(notices.first.locator('.text[lang="en"]')).to_have_text("Open until 9 pm")
    assert api_order(hall_server, "notices") == [second, first]
    expect(wall.locator("#notice-track .notice-copy").first).to_have_text(
        "Open until 9 pmFree router with broadband today")

    notices.first.get_by_role("button", name="Edit").click()
    expect(page.locator("#notice-form-title")).to_have_text("Edit notice 1")
    expect(page.locator("#notice-en")).to_have_value("Open until 9 pm")
    page.fill("#notice-en", "Open until 10 pm tonight")
    page.click("#notice-save")
    expect(notices.first.locator('.text[lang="en"]')).to_have_text("Open until 10 pm tonight")
    expect(page.locator("#notice-form-title")).to_have_text("Add a notice")
    expect(wall.locator("#notice-track .notice-copy").first).to_contain_text("Open until 10 pm tonight")

    notices.first.get_by_role("switch").uncheck()  # switched off: it leaves the wall
    expect(notices.first).to_have_class("item notice off")
    expect(notices.first.locator(".switch-text")).to_have_text("Off")
    expect(wall.locator("#notice-track .notice-copy").first).to_have_text("Free router with broadband today")

    notices.nth(1).get_by_role("button", name="Delete").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-text")).to_contain_text("Free router with broadband today")
    page.locator("#confirm-dialog").get_by_role("button", name="Cancel").click()
    expect(notices).to_have_count(2)
    notices.nth(1).get_by_role("button", name="Delete").click()
    page.click("#confirm-delete")
    expect(notices).to_have_count(1)
    expect(wall.locator("#wall")).to_have_attribute("data-notices", "none")  # the one left is off
    assert not page.js_errors
    wall.context.close()


def test_a_manager_uploads_media_that_plays_on_an_open_wall_and_is_told_why_a_file_is_refused(
    browser: Any, page: Any, hall_server: HallServer
) -> None:
    wall = open_wall(browser, hall_server, "en")
    expect(wall.locator("#wall")).to_have_attribute("data-media", "none")
    open_displays_page(page, hall_server, "zh-CN")
    limits = page.locator("#media-limits")
    expect(limits).to_contain_text("可上传：PNG、JPEG、WEBP、MP4、WEBM")
    expect(limits).to_contain_text("图片最大 5 MB，默认显示 10 秒")
    expect(limits).to_contain_text("视频最大 50 MB，最长 60 秒")
    expect(limits).to_contain_text("最多 50 项")

    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_have_text("请选择要上传的图片或视频")

    page.set_input_files("#upload-file", files=[{"name": "promo.png", "mimeType": "image/png",
                                                 "buffer": png_bytes(320, 180)}])
    page.fill("#upload-title", "宽带优惠")
    page.fill("#upload-seconds", "15")
    page.click("#upload-button")
    expect(page.locator("#upload-done")).to_have_text("“宽带优惠”已加入播放列表")
    items = page.locator("#media li")
    expect(items).to_have_count(1)
    thumb = items.first.locator(".thumb img")
    expect(thumb).to_be_visible()
    page.wait_for_function("() => document.querySelector('#media .thumb img').naturalWidth === 320")
    expect(items.first.locator("input[type=number]")).to_have_value("15")
    media_id = api_order(hall_server, "media")[0]
    expect(wall.locator("#wall")).to_have_attribute("data-media", "on")
    expect(wall.locator("#media-image")).to_have_attribute("src", re.compile(f"/media/{media_id}/file"))
    wall.wait_for_function("() => document.getElementById('media-image').naturalWidth === 320")

    # refusals, each said in the page's language from the server's reason
    page.set_input_files("#upload-file", files=[{"name": "anim.gif", "mimeType": "image/gif",
                                                 "buffer": b"GIF89a" + b"\x00" * 64}])
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_have_text("这种文件不能在叫号屏上显示。可上传：PNG、JPEG、WEBP、MP4、WEBM。")
    page.set_input_files("#upload-file", files=[{"name": "long.mp4", "mimeType": "video/mp4",
                                                 "buffer": mp4_bytes(125)}])
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_have_text("视频太长：125 秒，最长 60 秒。")
    page.set_input_files("#upload-file", files=[{"name": "fake.jpg", "mimeType": "image/jpeg",
                                                 "buffer": png_bytes(8, 8)}])
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_have_text(
        "文件内容与文件类型不符：文件说自己是 image/jpeg，内容却是 image/png。")
    expect(items).to_have_count(1)

    page.set_input_files("#upload-file", files=[{"name": "clip.mp4", "mimeType": "video/mp4",
                                                 "buffer": mp4_bytes(12)}])
    page.click("#upload-button")
    expect(items).to_have_count(2)
    video = items.nth(1)
    expect(video).to_have_attribute("data-kind", "video")
    expect(video.locator(".thumb video")).to_have_count(1)
    expect(video.locator(".meta-fields")).to_contain_text("显示秒数（最多 12）")
    expect(page.locator("#media-count")).to_have_text("2 / 50 项，2 项播放中")

    first, second = api_order(hall_server, "media")
    video.get_by_role("button", name="上移").click()
    expect(items.first).to_have_attribute("data-kind", "video")
    assert api_order(hall_server, "media") == [second, first]

    seconds = items.nth(1).locator("input[type=number]")  # the image: a time on screen past the server's limit
    seconds.fill("900")
    seconds.press("Enter")
    expect(items.nth(1).locator(".field-error")).to_have_text("显示秒数须大于 0，且不超过 600 秒。")
    # another screen changes the playlist: the list redraws live, and the refusal stays beside what was typed
    manager = hall_server.staff("manager", "demo-manager")
    assert manager.patch(f"{hall_server.api}/branches/{BRANCH}/media/{second}", json={"title": "视频"}).ok
    expect(items.first.locator("input[type=text]")).to_have_value("视频")
    expect(items.nth(1).locator(".field-error")).to_have_text("显示秒数须大于 0，且不超过 600 秒。")
    expect(items.nth(1).locator("input[type=number]")).to_have_value("900")
    expect(items.nth(1).locator("input[type=number]")).to_have_attribute("aria-invalid", "true")
    seconds.fill("20")
    seconds.press("Enter")
    expect(items.nth(1).locator(".field-error")).to_be_empty()
    expect(items.nth(1).locator("input[type=number]")).to_have_value("20")

    items.first.get_by_role("switch").uncheck()  # the video off: only the image plays
    expect(items.first).to_have_class("media-item off")
    items.nth(1).get_by_role("button", name="删除").click()
    expect(page.locator("#confirm-text")).to_contain_text("宽带优惠")
    page.click("#confirm-delete")
    expect(items).to_have_count(1)
    expect(wall.locator("#wall")).to_have_attribute("data-media", "none")  # what is left is switched off
    assert not page.js_errors
    wall.context.close()


def test_the_previews_are_marked_inert_and_shown_in_the_chosen_language(page: Any, hall_server: HallServer) -> None:
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(f"{request.method} {request.url}"))
    open_displays_page(page, hall_server, "en")
    kiosk = page.frame_locator("#kiosk-frame")
    expect(kiosk.locator("#home-tiles .tile").first).to_be_visible(timeout=15_000)
    expect(kiosk.locator("#preview-mark")).to_have_text("Preview · no tickets are issued")
    wall = page.frame_locator("#wall-frame")
    expect(wall.locator("#preview-mark")).to_have_text("Preview")
    expect(wall.locator("html")).to_have_attribute("data-live", "live", timeout=15_000)
    expect(page.locator("#kiosk-preview .size")).to_have_text("1080×1920")
    expect(page.locator("#wall-preview .size")).to_have_text("1920×1080")
    boxes = [page.locator(f"#{name}-preview .preview-screen").bounding_box() for name in ("kiosk", "wall")]
    assert all(box and box["width"] > 150 for box in boxes), boxes
    assert abs(boxes[0]["height"] / boxes[0]["width"] - 1920 / 1080) < 0.02  # drawn at the device's own ratio
    assert abs(boxes[1]["height"] / boxes[1]["width"] - 1080 / 1920) < 0.02

    before = waiting_total(hall_server)
    kiosk.locator("#home-tiles .tile").first.click()
    expect(kiosk.locator("#preview-mark")).to_contain_text("no ticket is issued here")
    page.locator("#previews-card").scroll_into_view_if_needed()
    tapped = screenshot(page, "displays-preview-tapped-en")
    kiosk.locator("#open-priority").click()  # the priority lane's services: inert as well
    kiosk.locator("#priority-tiles .tile").first.click()
    page.wait_for_timeout(1500)
    assert waiting_total(hall_server) == before
    assert not [r for r in requests_seen if r.startswith("POST") and "/tickets" in r], requests_seen
    assert not [r for r in requests_seen if "/devices/me/heartbeat" in r or "/announcements/" in r]

    page.locator("#preview-language").get_by_role("button", name="中文").click()
    expect(kiosk.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(kiosk.locator("#preview-mark")).to_have_text("预览 · 不会取号")
    expect(wall.locator("html")).to_have_attribute("lang", "zh-CN")
    page.locator("#kiosk-orientation").get_by_role("button", name="Landscape").click()
    expect(page.locator("#kiosk-preview .size")).to_have_text("1920×1080")
    expect(kiosk.locator("#home-tiles .tile").first).to_be_visible(timeout=15_000)
    box = page.locator("#kiosk-preview .preview-screen").bounding_box()
    assert box and abs(box["height"] / box["width"] - 1080 / 1920) < 0.02
    page.locator("#previews-card").scroll_into_view_if_needed()
    landscape = screenshot(page, "displays-preview-landscape-zh-CN")
    if SHOTS:
        for shot in (tapped, landscape):
            shutil.copy(shot, SHOTS)
    assert not page.js_errors


def test_staff_are_refused_the_page_and_the_previews(page: Any, hall_server: HallServer) -> None:
    for language, text in (("zh-CN", "显示内容只由本网点的经理管理。"),
                           ("en", "What the displays show is managed by this branch's managers only.")):
        page.context.clear_cookies()
        page.goto(f"{hall_server.url}/manager/{BRANCH}/displays?lang={language}")
        expect(page.locator("#signed-out")).to_be_visible()
        expect(page.locator("#signed-out-why")).to_have_text("尚未登录，或登录已过期。" if language == "zh-CN"
                                                             else "Not signed in, or the session has ended.")
        assert page.context.request.post(f"{hall_server.api}/session",
                                         data={"username": "zhang.wei", "password": "demo-staff"}).ok
        page.reload()
        expect(page.locator("#signed-out-why")).to_have_text(text)
        expect(page.locator("#displays-board")).to_be_hidden()
        assert_language(page, language, "#signed-out")
        assert page.context.request.get(f"{hall_server.url}/kiosk/{BRANCH}?preview=1").status == 403
        assert page.context.request.get(f"{hall_server.api}/branches/{BRANCH}/notices").status == 403
        if SHOTS and language == "en":
            shutil.copy(screenshot(page, "displays-staff-refused-en"), SHOTS)


def some_content(server: HallServer) -> None:
    manager = server.staff("manager", "demo-manager")
    base = f"{server.api}/branches/{BRANCH}"
    for zh, en, enabled in (("今日宽带办理送路由器，欢迎咨询大堂经理",
                             "Free router with broadband today: ask our floor manager", True),
                            ("本周六营业时间 10:00-18:00", "Open 10:00-18:00 this Saturday", True),
                            ("暂停的旧通知", "An old notice, switched off", False)):
        assert manager.post(f"{base}/notices", json={"text": {"zh-CN": zh, "en": en}, "enabled": enabled}).ok
    for title, size in (("宽带优惠 Broadband offer", (640, 360)), (None, (300, 400))):
        answer = manager.post(f"{base}/media", data=png_bytes(*size), params={"title": title} if title else {},
                              headers={"Content-Type": "image/png", "X-Filename": "poster.png"})
        assert answer.status_code == 201, answer.text
    answer = manager.post(f"{base}/media", data=mp4_bytes(12), params={"title": "Video"},
                          headers={"Content-Type": "video/mp4", "X-Filename": "clip.mp4"})
    assert answer.status_code == 201, answer.text


def test_screenshots_at_the_tablet_and_desktop_in_both_languages(browser: Any, hall_server: HallServer) -> None:
    some_content(hall_server)
    for language in ("zh-CN", "en"):
        for width, height in ((1280, 800), (1440, 900)):
            context = browser.new_context(viewport={"width": width, "height": height}, locale=language,
                                          timezone_id="Asia/Shanghai")
            page = context.new_page()
            try:
                assert context.request.post(f"{hall_server.api}/session",
                                            data={"username": "manager", "password": "demo-manager"}).ok
                page.goto(f"{hall_server.url}/manager/{BRANCH}/displays?lang={language}")
                expect(page.locator("#notices li")).to_have_count(3)
                expect(page.locator("#media li")).to_have_count(3)
                expect(page.frame_locator("#kiosk-frame").locator("#home-tiles .tile").first).to_be_visible(
                    timeout=15_000)
                expect(page.frame_locator("#wall-frame").locator("html")).to_have_attribute("data-live", "live",
                                                                                            timeout=15_000)
                page.wait_for_timeout(800)  # thumbnails, the frames' first summary
                assert page.evaluate(NO_SIDEWAYS_SCROLL), f"sideways scroll at {width}x{height}"
                for root in (".bar h1", "#notice-form label", "#upload-form label", "#previews-card .card-head h2",
                             "#previews-card figcaption"):
                    assert_language(page, language, root)
                assert_touch_targets(page, "#displays-board")
                name = f"displays-{language}-{width}x{height}"
                shots = [screenshot(page, name), screenshot(page, f"{name}-full", full_page=True)]
                page.fill("#notice-zh", "")
                page.click("#notice-save")
                expect(page.locator("#notice-zh-error")).to_be_visible()
                page.locator("#previews-card").scroll_into_view_if_needed()
                shots.append(screenshot(page, f"{name}-previews"))
                if SHOTS:
                    for shot in shots:
                        shutil.copy(shot, Path(SHOTS))
            finally:
                context.close()
