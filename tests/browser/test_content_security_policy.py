"""Every page of the hall runs under its Content-Security-Policy in Chromium, in both languages: the policy is
sent (no inline script allowed) and the browser reports no violation, neither as a ``securitypolicyviolation``
event nor on the console, while the page starts, goes live and draws its data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from server.launcher import ServerProcess, write_config
from tests.browser.conftest import BRANCH, HallServer, screenshot

KIOSK = {"width": 1080, "height": 1920}
WALL = {"width": 1920, "height": 1080}
TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
                              `at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HallServer]:
    """One server for every page (the pages only read); a ticket served at counter 1, another waiting."""
    directory = tmp_path_factory.mktemp("csp")
    with ServerProcess(write_config(directory, f"sqlite:///{directory / 'hall.sqlite3'}")) as process:
        hall = HallServer(process)
        staff = hall.sign_in("1")
        hall.issue("BILL")
        called = hall.call_next(staff, "1")["ticket"]
        staff.post(f"{hall.api}/branches/{BRANCH}/tickets/{called['id']}/start", json={}).raise_for_status()
        hall.waiting = hall.issue("BILL")  # type: ignore[attr-defined]
        yield hall


def _context(browser: Any, viewport: dict[str, int], language: str, *, mobile: bool = False) -> Any:
    context = browser.new_context(viewport=viewport, locale=language, timezone_id="Asia/Shanghai",
                                  is_mobile=mobile, has_touch=mobile)
    context.add_init_script(WATCH_VIOLATIONS)
    return context


def _visit(context: Any, url: str, name: str, *, live: bool = True) -> None:
    """Open ``url``; fail on a missing policy or any violation it reports."""
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(url)
    assert response is not None and response.ok, (url, response and response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (url, policy)
    if live:
        expect(page.locator("html")).to_have_attribute("data-live", "live", timeout=15_000)
    page.wait_for_timeout(800)  # late work: images, sounds, the first summary
    violations = page.evaluate("window.__cspViolations")
    reported = [text for text in console if "Content Security Policy" in text or "Content-Security-Policy" in text]
    assert not violations and not reported, (url, violations, reported)
    screenshot(page, f"csp-{name}")
    page.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_page_runs_without_a_policy_violation(browser: Any, server: HallServer, language: str) -> None:
    lang = f"lang={language}"
    token = server.waiting["token"]  # type: ignore[attr-defined]
    public = [
        (KIOSK, False, f"/kiosk/{BRANCH}?{lang}", "kiosk", True),
        (PHONE, True, f"/t/{token}?{lang}", "ticket", True),
        (WALL, False, f"/display/{BRANCH}?{lang}", "wall", True),
        (WALL, False, f"/display/{BRANCH}/counter/1?{lang}", "counter-display", True),
        (TABLET, True, f"/pad/{BRANCH}/1?{lang}", "pad-pairing", False),  # unpaired: its pairing code
        (TABLET, True, f"/staff/{BRANCH}?counter=2&{lang}", "staff-sign-in", False),
        (TABLET, False, f"/manager/{BRANCH}?{lang}", "manager-sign-in", False),
        (TABLET, False, "/", "index", False),
        (PHONE, True, f"/book?branch={BRANCH}&{lang}", "book", False),
        (PHONE, True, f"/book/ABCD2345?{lang}", "book-find", False),
    ]
    for viewport, mobile, path, name, live in public:
        context = _context(browser, viewport, language, mobile=mobile)
        _visit(context, server.url + path, f"{name}-{language}", live=live)
        context.close()

    signed_in = [("zhang.wei", "demo-staff", f"/staff/{BRANCH}/counter/1?{lang}", "staff-console"),
                 ("manager", "demo-manager", f"/manager/{BRANCH}?{lang}", "manager"),
                 ("manager", "demo-manager", f"/manager/{BRANCH}/audit?{lang}", "audit"),
                 ("manager", "demo-manager", f"/manager/{BRANCH}/displays?{lang}", "displays"),
                 ("manager", "demo-manager", f"/manager/{BRANCH}/reports?{lang}&group=service", "reports"),
                 ("zhang.wei", "demo-staff", f"/manager/{BRANCH}/bookings?{lang}", "bookings")]
    for username, password, path, name in signed_in:
        context = _context(browser, TABLET, language, mobile=name == "staff-console")
        assert context.request.post(f"{server.api}/session", data={"username": username, "password": password}).ok
        if name == "staff-console":
            assert context.request.post(f"{server.api}/branches/{BRANCH}/counters/1/sign-in",
                                        data={"takeover": True}).ok
        # the audit log, the reports and the bookings are not live
        _visit(context, server.url + path, f"{name}-{language}", live=name not in ("audit", "reports", "bookings"))
        if name == "displays":  # its framed previews of the kiosk and the wall, under their own policies
            _visit(context, f"{server.url}/kiosk/{BRANCH}?preview=1&{lang}", f"kiosk-preview-{language}")
            _visit(context, f"{server.url}/display/{BRANCH}?preview=1&{lang}", f"wall-preview-{language}")
        context.close()

    context = _context(browser, TABLET, language, mobile=True)
    server.pair(context, "pad", "1")
    _visit(context, f"{server.url}/pad/{BRANCH}/1?{lang}", f"pad-{language}")
    context.close()


def test_a_page_that_breaks_the_policy_is_caught(browser: Any, server: HallServer, tmp_path: Path) -> None:
    """The watch itself works: an inline script on a page of the hall is blocked and reported."""
    context = _context(browser, TABLET, "en")
    page = context.new_page()
    page.goto(f"{server.url}/kiosk/{BRANCH}")
    page.evaluate("""() => { const s = document.createElement("div");
                             s.innerHTML = '<img src="x" onerror="window.ran = 1">'; document.body.append(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") is None
    assert any("script-src" in v for v in page.evaluate("window.__cspViolations"))
    context.close()


def _frame(page: Any, src: str) -> Any:
    """Put a frame of ``src`` on the page; its document once loaded (an error page when framing is refused)."""
    handle = page.evaluate_handle("""(src) => new Promise((resolve) => {
        const frame = document.createElement("iframe");
        frame.addEventListener("load", () => resolve(frame), { once: true });
        frame.src = src;
        document.body.append(frame);
    })""", src)
    return handle.as_element().content_frame()


def test_only_a_managers_preview_may_be_framed_by_the_halls_own_pages(browser: Any, server: HallServer) -> None:
    """On the displays page (the hall's own origin) a preview of the kiosk and the wall loads in a frame; the kiosk
    and the wall themselves, as customers and screens get them, are refused a frame by the browser."""
    context = _context(browser, TABLET, "en")
    assert context.request.post(f"{server.api}/session", data={"username": "manager", "password": "demo-manager"}).ok
    page = context.new_page()
    page.goto(f"{server.url}/manager/{BRANCH}/displays?lang=en")
    expect(page.frame_locator("#kiosk-frame").locator("#home-tiles .tile").first).to_be_visible(timeout=15_000)
    expect(page.frame_locator("#wall-frame").locator("#preview-mark")).to_be_visible()
    for path in (f"/kiosk/{BRANCH}?preview=1", f"/display/{BRANCH}?preview=1"):
        framed = _frame(page, server.url + path)
        assert framed.query_selector("#app, #wall") is not None, path
    for path in (f"/kiosk/{BRANCH}", f"/display/{BRANCH}", f"/manager/{BRANCH}", f"/staff/{BRANCH}"):
        framed = _frame(page, server.url + path)
        assert framed.query_selector("#app, #wall, #board, body.staff") is None, path  # the browser refused it
    context.close()
