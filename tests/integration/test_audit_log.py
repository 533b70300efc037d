"""The audit log: entries are recorded with who, where and what changed, found by filter, read only by managers
(a branch's manager sees that branch's entries and its people's branch-less ones), and never changed or deleted.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from server.domain.audit import ACTION_LABELS, AuditAction
from server.domain.errors import NotAllowed, Unauthenticated
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.hall import HallService
from tests.conftest import build_service
from tests.support import FakeClock

MANAGER = Actor(username="manager", role="manager", device="back-office", address="10.0.0.5")


def second_branch(data: dict[str, Any]) -> None:
    """A second branch, with a manager and a member of staff of its own, and a branch for the demo's manager."""
    other = dict(data["branches"][0], code="GZ-TIANHE")
    data["branches"].append(other)
    next(a for a in data["staff"] if a["username"] == "manager")["branches"] = ["SZ-FUTIAN"]  # Futian only
    data["staff"][0]["branches"] = ["SZ-FUTIAN"]  # zhang.wei works at Futian
    hash_ = data["staff"][0]["password_hash"]
    data["staff"] += [{"username": "gz.boss", "display_name": "GZ boss", "password_hash": hash_, "role": "manager",
                       "branches": ["GZ-TIANHE"]},
                      {"username": "gz.clerk", "display_name": "GZ clerk", "password_hash": hash_,
                       "branches": ["GZ-TIANHE"]}]


@pytest.fixture
def audit(hall: HallService, clock: FakeClock) -> AuditLog:
    return AuditLog(hall.config, hall.uow, clock)


def test_an_entry_keeps_who_where_when_and_what_changed(audit: AuditLog, clock: FakeClock) -> None:
    entry_id = audit.record(MANAGER, AuditAction.ISSUE_STOPPED, branch="SZ-FUTIAN", target="service A",
                            before={"issuing": True}, after={"issuing": False, "reason": "系统维护"})
    [entry] = audit.search(MANAGER, AuditFilter())
    assert entry.id == entry_id
    assert (entry.action, entry.username, entry.role, entry.branch_code, entry.target) == (
        AuditAction.ISSUE_STOPPED, "manager", "manager", "SZ-FUTIAN", "service A")
    assert (entry.device, entry.address, entry.at) == ("back-office", "10.0.0.5", clock())
    assert entry.before == {"issuing": True}
    assert entry.after == {"issuing": False, "reason": "系统维护"}


def test_every_action_is_named_in_both_languages() -> None:
    assert set(ACTION_LABELS) == set(AuditAction)
    assert all(label.zh and label.en for label in ACTION_LABELS.values())


def test_filters_and_paging(audit: AuditLog, clock: FakeClock) -> None:
    start = clock()
    for n in range(7):
        audit.record(MANAGER, AuditAction.DEVICE_RENAMED, branch="SZ-FUTIAN", target=f"device {n}",
                     after={"name": f"Kiosk {n}"})
        clock.advance(minutes=1)
    audit.record(Actor(username="zhang.wei", role="staff"), AuditAction.SIGN_IN)
    assert [e.target for e in audit.search(MANAGER, AuditFilter(text="KIOSK 3"))] == ["device 3"]
    assert len(audit.search(MANAGER, AuditFilter(actions=(AuditAction.SIGN_IN,)))) == 1
    assert len(audit.search(MANAGER, AuditFilter(username="zhang.wei"))) == 1
    window = AuditFilter(since=start + timedelta(minutes=2), until=start + timedelta(minutes=4))
    assert [e.target for e in audit.search(MANAGER, window)] == ["device 3", "device 2"]
    first = audit.search(MANAGER, AuditFilter(), limit=3)
    rest = audit.search(MANAGER, AuditFilter(), limit=10, before_id=first[-1].id)
    assert len(first) == 3 and len(rest) == 5
    assert [e.id for e in first + rest] == sorted((e.id for e in first + rest), reverse=True)
    assert len(list(audit.each(MANAGER, AuditFilter(), batch=2))) == 8
    assert audit.search(MANAGER, AuditFilter(text="%")) == []  # wildcards are searched for as themselves


def test_only_managers_read_and_each_reads_their_branches(database_url: str, tmp_path: Any, clock: FakeClock,
                                                           publisher: Any) -> None:
    hall = build_service(database_url, tmp_path, clock, publisher, more=second_branch)
    audit = AuditLog(hall.config, hall.uow, clock)
    boss = Actor(username="gz.boss", role="manager")
    audit.record(MANAGER, AuditAction.NO_SHOW, branch="SZ-FUTIAN", target="A001")
    audit.record(boss, AuditAction.NO_SHOW, branch="GZ-TIANHE", target="A002")
    audit.record(Actor(username="zhang.wei", role="staff"), AuditAction.SIGN_IN)
    audit.record(Actor(username="gz.clerk", role="staff"), AuditAction.SIGN_IN)
    futian = {(e.target, e.username) for e in audit.search(MANAGER, AuditFilter())}
    assert futian == {("A001", "manager"), (None, "zhang.wei")}
    tianhe = {(e.target, e.username) for e in audit.search(boss, AuditFilter())}
    assert tianhe == {("A002", "gz.boss"), (None, "gz.clerk")}
    with pytest.raises(NotAllowed, match="does not work at branch SZ-FUTIAN"):
        audit.search(boss, AuditFilter(branches=("SZ-FUTIAN",)))
    with pytest.raises(NotAllowed):
        audit.search(Actor(username="gz.clerk", role="staff"), AuditFilter())
    with pytest.raises(Unauthenticated):
        audit.search(Actor(username=None), AuditFilter())


def test_the_log_cannot_be_changed_or_deleted(audit: AuditLog, hall: HallService) -> None:
    audit.record(MANAGER, AuditAction.SIGN_IN)
    for statement in ("UPDATE audit_entry SET username = 'someone.else'", "DELETE FROM audit_entry"):
        with pytest.raises(DatabaseError, match="append-only"), hall.uow.write() as session:
            session.connection().execute(text(statement))
    assert [e.username for e in audit.search(MANAGER, AuditFilter())] == ["manager"]


def test_an_entry_rolls_back_with_its_change(audit: AuditLog, hall: HallService) -> None:
    with pytest.raises(RuntimeError), hall.uow.write() as session:
        audit.record_in(session.connection(), MANAGER, AuditAction.HALL_CHANGED, target="service A")
        raise RuntimeError("the change failed")
    assert audit.search(MANAGER, AuditFilter()) == []
