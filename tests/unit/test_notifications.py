"""The notifier's pure rules: milestones sent once (hypothesis), templates and their placeholders, the webhook
signature and its receiver's check, the retry schedule, webhook URLs (SSRF), and ``[notifications]``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError
from server.domain.errors import DomainError
from server.domain.notifications import (
    CALLED,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    TEMPLATES,
    check_positions,
    check_template,
    check_url,
    due_on_call,
    due_on_position,
    forbidden_address,
    next_attempt,
    render,
    signature,
    verify,
)
from server.domain.values import InvalidValue
from tests.support import demo_config

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
positions = st.lists(st.integers(0, 10), min_size=1, max_size=5, unique=True).map(
    lambda values: tuple(sorted(values, reverse=True)))


def walk(values: tuple[int, ...], path: list[int], call_at: int | None = None) -> list[str]:
    """The milestones sent as people ahead take ``path`` (then the call, if ``call_at`` is past the path)."""
    sent: list[str] = []
    for i, ahead in enumerate(path):
        if call_at == i:
            message = due_on_call("3", sent)
            if message:
                sent.append(message.milestone)
        message = due_on_position(values, ahead, sent)
        if message is not None:
            sent.append(message.milestone)
    return sent


@given(positions, st.lists(st.integers(0, 20), max_size=30))
def test_each_milestone_is_sent_at_most_once_and_nearer_ones_come_after_farther(values: tuple[int, ...],
                                                                              path: list[int]) -> None:
    sent = walk(values, path)
    assert len(sent) == len(set(sent))
    numbers = [int(m.split(":")[1]) for m in sent]
    assert numbers == sorted(numbers, reverse=True)  # going back up never sends a farther one again
    for n in numbers:
        assert n in values


@given(positions, st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_the_nearest_value_reached_is_always_sent(values: tuple[int, ...], path: list[int]) -> None:
    sent = walk(values, path)
    reached = [n for n in values if any(a <= n for a in path)]
    if reached:
        assert f"ahead:{min(reached)}" in sent


def test_three_ahead_then_next_then_the_call() -> None:
    sent: list[str] = []
    texts = []
    for ahead in [6, 4, 3, 2, 4, 1, 0]:
        message = due_on_position((3, 0), ahead, sent)
        if message:
            sent.append(message.milestone)
            texts.append((message.template, message.values["ahead"]))
    assert texts == [("ahead", 3), ("next", 0)]
    call = due_on_call("3", sent)
    assert call is not None and call.milestone == CALLED and call.values == {"counter": "3"}
    assert due_on_call("3", [*sent, CALLED]) is None  # a recall sends nothing more
    assert due_on_position((3, 0), 0, [CALLED]) is None  # nor does a ticket returned to the queue


def test_a_jump_past_several_values_sends_one_message() -> None:
    message = due_on_position((5, 3, 0), 0, [])
    assert message is not None and message.milestone == "ahead:0" and message.template == "next"
    assert due_on_position((5, 3, 0), 4, ["ahead:0"]) is None


@pytest.mark.parametrize("values", [[1, 1], [-1], [51], ["3"], [True], [1, 2, 3, 4, 5, 6]])
def test_bad_positions_are_refused(values: list[Any]) -> None:
    with pytest.raises(InvalidValue):
        check_positions(values)


def test_templates_render_in_both_languages() -> None:
    values = {"number": "A012", "branch": "Futian", "counter": "3", "ahead": 3}
    assert render(TEMPLATES[CALLED], "en", values) == "Futian: ticket A012, your turn: please go to counter 3."
    assert render(TEMPLATES[CALLED], "zh-CN", {**values, "branch": "福田"}) == "【福田】请 A012 号到 3 号窗口办理。"
    for text in TEMPLATES.values():
        check_template(text.zh, "zh")
        check_template(text.en, "en")


@pytest.mark.parametrize(("text", "named"), [("{phone}", "{phone}"), ("{number!r}", "{number}"),
                                             ("{number:>5}", "{number}"), ("{", "valid template")])
def test_a_template_names_what_is_wrong(text: str, named: str) -> None:
    with pytest.raises(InvalidValue, match="template") as refused:
        check_template(text, "templates.called.en")
    assert named in refused.value.problem
    assert refused.value.field == "templates.called.en"


def test_the_signature_is_the_documented_hmac() -> None:
    body = b'{"event":"ticket.called"}'
    header = signature("whsec_x", body, 1_700_000_000)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("whsec_x", body, header, 1_700_000_100)
    assert not verify("whsec_y", body, header, 1_700_000_100)
    assert not verify("whsec_x", body + b" ", header, 1_700_000_100)
    assert not verify("whsec_x", body, header, 1_700_000_000 + 301)  # replayed too late
    assert not verify("whsec_x", body, "v1=abc", 1_700_000_000)


@given(st.integers(1, 20), st.floats(0, 1, exclude_max=True))
def test_retries_back_off_and_give_up(attempts: int, jitter: float) -> None:
    at = next_attempt(attempts, NOW, jitter)
    if attempts >= MAX_ATTEMPTS:
        assert at is None
    else:
        assert at is not None
        wait = at - NOW
        assert RETRY_DELAYS[attempts - 1] <= wait <= RETRY_DELAYS[attempts - 1] * 1.1
        later = next_attempt(attempts + 1, NOW, 0.0)
        assert later is None or later - NOW > RETRY_DELAYS[attempts - 1] * 1.1 or attempts + 1 >= MAX_ATTEMPTS


@pytest.mark.parametrize("url", ["ftp://x/", "http://", "http://user:pw@example.com/", "http://127.0.0.1:5000/",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://localhost/",
                                 "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
                                 "javascript:alert(1)"])
def test_webhook_urls_that_are_refused(url: str) -> None:
    with pytest.raises(DomainError, check=lambda e: e.code == "bad_url"):
        check_url(url)


@pytest.mark.parametrize("url", ["https://booking.example.com/hook", "http://10.0.0.5:8080/q", "http://192.168.1.9/"])
def test_webhook_urls_that_are_allowed(url: str) -> None:
    assert check_url(url) == url


def test_loopback_only_when_the_deployment_allows_it() -> None:
    assert check_url("http://127.0.0.1:9/", allow_loopback=True)
    assert forbidden_address("169.254.169.254", allow_loopback=True) is not None


def with_notifications(section: dict[str, Any]) -> Any:
    def more(data: dict[str, Any]) -> None:
        data["notifications"] = section
    return more


@pytest.mark.parametrize(("section", "key"), [
    ({"timeout_s": 0}, "notifications.timeout_s"),
    ({"timeout_s": 31}, "notifications.timeout_s"),
    ({"notify_at_ahead": [3, 3]}, "notifications.notify_at_ahead"),
    ({"branches": {"SZ-FUTIAN": [-1]}}, "notifications.branches.SZ-FUTIAN"),
    ({"sms_gateway_url": "gopher://x"}, "notifications.sms_gateway_url"),
    ({"sms_auth_header": "Bad Header"}, "notifications.sms_auth_header"),
    ({"sms_secret_file": "/nonexistent/secret"}, "notifications.sms_secret_file"),
    ({"templates": {"called": {"zh-CN": "{number}", "en": "{phone}"}}}, "notifications.templates.called.en"),
    ({"templates": {"later": {"zh-CN": "x", "en": "y"}}}, "notifications.templates.later"),
    ({"sms_gatway_url": "http://x"}, "notifications.sms_gatway_url"),
])
def test_bad_notification_settings_are_refused_naming_the_key(tmp_path: Path, section: dict[str, Any],
                                                               key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}:"):
        demo_config(f"sqlite:///{tmp_path / 'h.db'}", tmp_path, more=with_notifications(section))


def test_notification_settings(tmp_path: Path) -> None:
    (tmp_path / "sms_secret").write_text("Bearer s3cret\n")
    config = demo_config(f"sqlite:///{tmp_path / 'h.db'}", tmp_path, more=with_notifications({
        "sms_gateway_url": "http://10.0.0.2/send", "sms_secret_file": str(tmp_path / "sms_secret"),
        "notify_at_ahead": [5, 0], "branches": {"SZ-FUTIAN": [2, 0]},
        "templates": {"next": {"zh-CN": "{number} 下一位", "en": "{number} next"}}}))
    settings = config.notifications
    assert settings.sms and settings.sms_auth_value == "Bearer s3cret"
    assert settings.positions("SZ-FUTIAN") == (2, 0) and settings.positions("OTHER") == (5, 0)
    assert settings.template("next").en == "{number} next"
    assert "s3cret" not in repr(settings)


def test_a_pass_derives_the_deliveries_of_the_branches_this_process_serves_and_sends_any_due() -> None:
    """Several processes: a branch's deliveries are derived by its lease holder only; sending stays shared (rows
    are leased), so every process sends."""
    from types import SimpleNamespace

    from server.services.branch_leases import BranchLeases, MemoryLeaseStore
    from server.services.notifications import NotificationService

    derived: list[str] = []
    sent: list[bool] = []
    service = SimpleNamespace(config=SimpleNamespace(branches=[SimpleNamespace(code=c) for c in ("A", "B", "C")]),
                              derive=derived.append, send_due=lambda: sent.append(True) or 0,
                              branches_with_work=lambda codes: codes)
    now = [0.0]
    store = MemoryLeaseStore(lambda: now[0])
    mine, other = (BranchLeases(store, owner, clock=lambda: now[0]) for owner in ("mine", "other"))
    other.tick(["B"])
    mine.tick(["A", "B", "C"])
    NotificationService.run_pass(service, mine.serves)  # type: ignore[arg-type]
    assert derived == ["A", "C"] and sent == [True]
    NotificationService.run_pass(service)  # type: ignore[arg-type]  # one process: every branch
    assert derived == ["A", "C", "A", "B", "C"]
