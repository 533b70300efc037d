"""What the services write to the audit log: each recorded change once, with who, where, before and after, in the
change's own transaction (a change that fails leaves no entry; an entry that cannot be written undoes the change),
and nothing for what is not recorded (a plain counter sign-in, a recall, a refused command).

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.domain.audit import AuditAction, AuditEntry
from server.domain.errors import DomainError, NotAllowed
from server.domain.issuing import STOP_REASONS
from server.domain.tickets import Action
from server.persistence import audit as stored
from server.persistence import counter_sessions
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.devices import DeviceService
from server.services.hall import HallService
from server.services.sessions import SessionService
from server.services.sign_in_throttle import SignInThrottle, TooManySignIns
from server.services.signage import SignageService
from tests.conftest import build_service
from tests.media_samples import png_bytes
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
MANAGER = Actor("manager", "manager", device="back-office-pc", address="10.0.0.5")
ZHANG = Actor("zhang.wei", "staff", device="tablet-1", address="10.0.0.21")
LI = Actor("li.na", "staff", device="tablet-2", address="10.0.0.22")
BROWSER = Actor(None, device="tablet-1", address="10.0.0.21")  # nobody signed in yet


def run(work: Any) -> Any:
    """The password hash in this thread (the server runs it in a native one)."""
    return work()


@pytest.fixture
def audit(hall: HallService) -> AuditLog:
    return hall.audit


def entries(audit: AuditLog, *actions: AuditAction) -> list[AuditEntry]:
    """Every entry (the demo's manager reads them all), oldest first."""
    return list(reversed(audit.search(MANAGER, AuditFilter(actions=actions), limit=500)))


def only(audit: AuditLog, action: AuditAction) -> AuditEntry:
    [entry] = entries(audit, action)
    return entry


# --- sessions -------------------------------------------------------------------------------------------------


@pytest.fixture
def sessions(hall: HallService, clock: FakeClock) -> SessionService:
    return SessionService(hall.config, hall.uow, clock, audit=hall.audit,
                          throttle=SignInThrottle(3, hall.config.server.sign_in_lockout, clock))


def test_sign_in_and_its_refusals(sessions: SessionService, audit: AuditLog) -> None:
    sessions.sign_in("zhang.wei", "demo-staff", BROWSER, run)
    entry = only(audit, AuditAction.SIGN_IN)
    assert (entry.username, entry.role, entry.branch_code, entry.target) == ("zhang.wei", "staff", None,
                                                                             "account zhang.wei")
    assert (entry.device, entry.address, entry.before, entry.after) == ("tablet-1", "10.0.0.21", None, None)

    with pytest.raises(DomainError, match="wrong username or password"):
        sessions.sign_in("zhang.wei", "not-the-password", BROWSER, run)
    long_name = "x" * 64
    with pytest.raises(DomainError):
        sessions.sign_in(long_name, "whatever", BROWSER, run)
    refused = entries(audit, AuditAction.SIGN_IN_REFUSED)
    assert [(e.username, e.role, e.target, e.after) for e in refused] == [
        ("zhang.wei", "staff", "account zhang.wei", {"reason": "wrong_password"}),
        (None, "anonymous", f"account {long_name}", {"reason": "unknown_name"}),
    ]
    assert all("not-the-password" not in str(e) and "whatever" not in str(e) for e in refused)  # never a password

    for _ in range(2):  # the third wrong password in a row locks this name out for this address
        with pytest.raises(DomainError):
            sessions.sign_in("zhang.wei", "guess", BROWSER, run)
    for _ in range(3):
        with pytest.raises(TooManySignIns):
            sessions.sign_in("zhang.wei", "demo-staff", BROWSER, run)
    reasons = [(e.after or {})["reason"] for e in entries(audit, AuditAction.SIGN_IN_REFUSED)]
    assert reasons[-3:] == ["wrong_password", "wrong_password", "locked_out"]  # once per lockout, not per knock
    assert len(entries(audit, AuditAction.SIGN_IN)) == 1


def test_sign_out_everywhere_and_a_managers_end_of_sessions(sessions: SessionService, audit: AuditLog) -> None:
    first, _ = sessions.sign_in("zhang.wei", "demo-staff", BROWSER, run)
    sessions.sign_in("zhang.wei", "demo-staff", BROWSER, run)
    sessions.sign_out(first, ZHANG)
    sessions.sign_out(first, ZHANG)  # already over: nothing happens, nothing is written
    sessions.sign_out("no-such-session", ZHANG)
    entry = only(audit, AuditAction.SIGN_OUT)
    assert (entry.username, entry.target, entry.device) == ("zhang.wei", "account zhang.wei", "tablet-1")

    sessions.sign_in("zhang.wei", "demo-staff", BROWSER, run)
    assert sessions.sign_out_everywhere(ZHANG) == 2
    entry = only(audit, AuditAction.SIGN_OUT_EVERYWHERE)
    assert (entry.username, entry.after) == ("zhang.wei", {"sessions_ended": 2})

    sessions.sign_in("li.na", "demo-staff", BROWSER, run)
    assert sessions.end_for_staff(BRANCH, MANAGER, "li.na") == 1
    entry = only(audit, AuditAction.SESSIONS_ENDED)
    assert (entry.username, entry.branch_code, entry.target, entry.after, entry.address) == (
        "manager", BRANCH, "account li.na", {"sessions_ended": 1}, "10.0.0.5")
    with pytest.raises(NotAllowed):
        sessions.end_for_staff(BRANCH, ZHANG, "li.na")  # staff may not: nothing written
    assert len(entries(audit, AuditAction.SESSIONS_ENDED)) == 1


# --- counters and tickets -------------------------------------------------------------------------------------


def test_a_takeover_names_who_had_the_counter(hall: HallService, audit: AuditLog) -> None:
    hall.counters.sign_in(BRANCH, "1", LI)
    with pytest.raises(DomainError, match="take over explicitly"):
        hall.counters.sign_in(BRANCH, "1", ZHANG)
    assert entries(audit, AuditAction.COUNTER_TAKEOVER) == []
    hall.counters.sign_in(BRANCH, "1", ZHANG, takeover=True)
    entry = only(audit, AuditAction.COUNTER_TAKEOVER)
    assert (entry.username, entry.branch_code, entry.target, entry.device) == ("zhang.wei", BRANCH, "counter 1",
                                                                               "tablet-1")
    assert (entry.before, entry.after) == ({"staff": "li.na"}, {"staff": "zhang.wei"})
    assert entries(audit) == [entry]  # a plain sign-in is in the counter's events, not here


def test_a_takeover_that_fails_leaves_no_entry(hall: HallService, audit: AuditLog,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hall.counters.sign_in(BRANCH, "1", LI)

    def broken(*args: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(counter_sessions, "save", broken)  # fails after the entry was written
    with pytest.raises(RuntimeError):
        hall.counters.sign_in(BRANCH, "1", ZHANG, takeover=True)
    assert entries(audit) == []


def test_a_no_show_marked_by_staff(hall: HallService, audit: AuditLog) -> None:
    hall.counters.sign_in(BRANCH, "1", ZHANG)
    ticket = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.call_next(BRANCH, "1", ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.RECALL, ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.NO_SHOW, ZHANG, reason="not here")
    entry = only(audit, AuditAction.NO_SHOW)
    assert (entry.username, entry.branch_code, entry.target) == ("zhang.wei", BRANCH, f"ticket {ticket['number']}")
    assert entry.before == {"state": "called", "counter": "1"}
    assert entry.after == {"state": "no_show", "counter": "1", "reason": "not here"}
    assert [e.action for e in entries(audit)] == [AuditAction.NO_SHOW]  # the recall is not audited


# --- issuing --------------------------------------------------------------------------------------------------


def test_stop_and_resume_of_issuing(hall: HallService, audit: AuditLog, clock: FakeClock) -> None:
    stop = hall.issuing.stop(BRANCH, MANAGER, service="SIM", until="resumed", reason="maintenance")
    with pytest.raises(DomainError):
        hall.issuing.stop(BRANCH, MANAGER, reason="no-such-reason")
    stopped = only(audit, AuditAction.ISSUE_STOPPED)
    assert (stopped.username, stopped.branch_code, stopped.target, stopped.before) == (
        "manager", BRANCH, "service SIM", None)
    assert stopped.after == {"stop": stop["id"], "starts_at": clock().isoformat(), "ends_at": None,
                             "reason": STOP_REASONS["maintenance"].as_dict()}

    clock.advance(minutes=20)
    hall.issuing.resume(BRANCH, stop["id"], MANAGER)
    with pytest.raises(DomainError):
        hall.issuing.resume(BRANCH, stop["id"], MANAGER)  # already over: nothing written
    resumed = only(audit, AuditAction.ISSUE_RESUMED)
    assert resumed.target == "service SIM"
    assert (resumed.before or {})["ends_at"] is None and (resumed.after or {})["ends_at"] == clock().isoformat()

    hall.issuing.stop(BRANCH, MANAGER, reason="busy")
    assert entries(audit, AuditAction.ISSUE_STOPPED)[-1].target == f"branch {BRANCH}"


def test_an_entry_that_cannot_be_written_undoes_the_change(hall: HallService, audit: AuditLog,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> int:
        raise RuntimeError("cannot write the audit log")

    monkeypatch.setattr(stored, "append", broken)
    with pytest.raises(RuntimeError):
        hall.issuing.stop(BRANCH, MANAGER, service="SIM", reason="busy")
    monkeypatch.undo()
    assert hall.issuing.current(BRANCH) == []
    assert entries(audit) == []


# --- devices and the displays' content -------------------------------------------------------------------------


def test_pairing_renaming_and_revoking_a_device(hall: HallService, audit: AuditLog, clock: FakeClock) -> None:
    devices = DeviceService(hall.config, hall.uow, clock, audit=audit, randbelow=lambda _: 123456)
    devices.request_pairing(BRANCH, "pad", "3", None)
    paired = devices.pair(BRANCH, "123456", "pad", "2", "by the door", MANAGER)
    devices.rename(BRANCH, paired["id"], "by the window", MANAGER)
    devices.revoke(BRANCH, paired["id"], MANAGER)
    with pytest.raises(DomainError):
        devices.revoke(BRANCH, paired["id"], MANAGER)
    found = entries(audit)
    assert [e.action for e in found] == [AuditAction.DEVICE_PAIRED, AuditAction.DEVICE_RENAMED,
                                         AuditAction.DEVICE_REVOKED]
    assert {e.target for e in found} == {f"device {paired['id']}"} and {e.branch_code for e in found} == {BRANCH}
    pair, rename, revoke = found
    assert pair.before is not None and pair.after is not None
    assert (pair.before["state"], pair.before["role"]["en"], pair.before["name"]) == (
        "pending", "Rating pad · Counter 3", None)
    assert (pair.after["state"], pair.after["role"]["en"], pair.after["name"]) == (
        "paired", "Rating pad · Counter 2", "by the door")
    assert (rename.before or {})["name"] == "by the door" and (rename.after or {})["name"] == "by the window"
    assert ((revoke.before or {})["state"], (revoke.after or {})["state"]) == ("paired", "revoked")


def test_notices_and_the_media_playlist(hall: HallService, audit: AuditLog, clock: FakeClock, tmp_path: Path) -> None:
    signage = SignageService(hall.config, hall.uow, clock=clock, audit=audit)
    notice = signage.create_notice(BRANCH, MANAGER, {"zh-CN": "今日优惠", "en": "Offer today"})
    second = signage.create_notice(BRANCH, MANAGER, {"zh-CN": "宽带", "en": "Broadband"}, enabled=False)
    signage.update_notice(BRANCH, notice["id"], MANAGER, enabled=False)
    signage.reorder_notices(BRANCH, [second["id"], notice["id"]], MANAGER)
    signage.delete_notice(BRANCH, second["id"], MANAGER)
    with pytest.raises(DomainError):
        signage.create_notice(BRANCH, MANAGER, {"zh-CN": "只有中文", "en": ""})
    found = entries(audit, AuditAction.NOTICE_CHANGED)
    assert [(e.target, e.before, e.after) for e in found] == [
        (f"notice {notice['id']}", None, {"text_zh": "今日优惠", "text_en": "Offer today", "enabled": True}),
        (f"notice {second['id']}", None, {"text_zh": "宽带", "text_en": "Broadband", "enabled": False}),
        (f"notice {notice['id']}", {"text_zh": "今日优惠", "text_en": "Offer today", "enabled": True},
         {"text_zh": "今日优惠", "text_en": "Offer today", "enabled": False}),
        ("notices", {"order": [notice["id"], second["id"]]}, {"order": [second["id"], notice["id"]]}),
        (f"notice {second['id']}", {"text_zh": "宽带", "text_en": "Broadband", "enabled": False}, None),
    ]

    item = signage.upload(BRANCH, MANAGER, png_bytes(), filename="offer.png", title="Offer")
    signage.update_media(BRANCH, item["id"], MANAGER, title="Spring offer")
    signage.delete_media(BRANCH, item["id"], MANAGER)
    media = entries(audit, AuditAction.MEDIA_CHANGED)
    assert [e.target for e in media] == [f"media {item['id']}"] * 3
    assert media[0].before is None and (media[0].after or {})["file"] == "offer.png"
    assert ((media[1].before or {})["title"], (media[1].after or {})["title"]) == ("Offer", "Spring offer")
    assert media[2].after is None and {e.username for e in media} == {"manager"}


# --- the export -----------------------------------------------------------------------------------------------


def test_an_export_is_recorded_with_its_filter_and_refused_ones_are_not(database_url: str, tmp_path: Path,
                                                                         clock: FakeClock, publisher: Any) -> None:
    hall = build_service(database_url, tmp_path, clock, publisher)
    audit = hall.audit
    hall.issuing.stop(BRANCH, MANAGER, reason="busy")
    with pytest.raises(NotAllowed):
        audit.export(ZHANG, AuditFilter(), language="en", described={})
    chunks = audit.export(MANAGER, AuditFilter(branches=(BRANCH,)), language="zh-CN",
                          described={"branch": BRANCH, "q": None, "actions": [], "lang": "zh-CN"})
    exported = only(audit, AuditAction.DATA_EXPORTED)  # recorded before a byte is sent
    assert (exported.branch_code, exported.target, exported.after) == (
        BRANCH, "audit_log", {"branch": BRANCH, "lang": "zh-CN"})
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeff时间,网点,账号,姓名,角色,操作,对象,")
    assert "停止取号" in text and "导出数据" in text
