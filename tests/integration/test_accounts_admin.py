"""Accounts managed in the browser: who manages whom, temporary passwords changed at the first sign-in, the rule
on passwords, disabling (its sessions end at once), stale edits, the last administrator, demo passwords.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.domain.audit import AuditAction
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH, OTHER = "SZ-FUTIAN", "GZ-TIANHE"
STAFF_PASSWORD, MANAGER_PASSWORD, ADMIN_PASSWORD = "demo-staff", "demo-manager", "demo-admin"


def two_branches(data: dict[str, Any]) -> None:
    data["branches"][0]["region"] = "south"
    data["branches"].append(dict(data["branches"][0], code=OTHER, region="north"))
    for account in data["staff"]:
        if account["username"] in ("manager", "zhang.wei", "li.na"):
            account["branches"] = [BRANCH]
    staff_hash = data["staff"][0]["password_hash"]
    manager_hash = next(a["password_hash"] for a in data["staff"] if a["username"] == "manager")
    data["staff"] += [{"username": "gz.boss", "display_name": "GZ boss", "password_hash": manager_hash,
                       "role": "manager", "branches": [OTHER]},
                      {"username": "gz.clerk", "display_name": "GZ clerk", "password_hash": staff_hash,
                       "branches": [OTHER]},
                      {"username": "south.reader", "display_name": "South reader", "password_hash": staff_hash,
                       "role": "regional", "regions": ["south"]},
                      {"username": "hq.manager", "display_name": "HQ manager", "password_hash": manager_hash,
                       "role": "manager"}]


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    made, _socketio = create_app(demo_config(database_url, tmp_path, more=two_branches), clock=clock,
                                 publisher=RecordingPublisher())
    yield made
    made.extensions["hall"].uow.engine.dispose()
    made.extensions["hall"].uow.read_engine.dispose()


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    client = app.test_client()
    answer = client.post("/api/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.get_json()
    return client


def error(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.get_json()["error"]


def version_of(client: FlaskClient, username: str) -> int:
    listed = client.get("/api/accounts").get_json()["accounts"]
    return next(a["version"] for a in listed if a["username"] == username)


def test_a_manager_manages_the_staff_of_their_branches_and_an_admin_everyone(app: Flask) -> None:
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    listed = manager.get("/api/accounts").get_json()
    assert {a["username"] for a in listed["accounts"]} == {"zhang.wei", "li.na"}
    assert [r["role"] for r in listed["roles"]] == ["staff"]
    assert [b["code"] for b in listed["branches"]] == [BRANCH]
    admin = signed_in(app, "admin", ADMIN_PASSWORD)
    everyone = {a["username"] for a in admin.get("/api/accounts").get_json()["accounts"]}
    assert {"manager", "gz.boss", "gz.clerk", "admin", "zhang.wei"} <= everyone
    assert error(signed_in(app, "zhang.wei", STAFF_PASSWORD).get("/api/accounts")) == (403, "manager_only")
    assert error(app.test_client().get("/api/accounts")) == (401, "unauthenticated")


def test_a_manager_of_every_branch_manages_every_staff_account(app: Flask) -> None:
    """A manager without branches runs them all: every staff account is theirs, those working everywhere too (the
    demo's manager and staff have no branches); managers, admins and regional readers are still not."""
    everywhere = signed_in(app, "hq.manager", MANAGER_PASSWORD)
    listed = {a["username"] for a in everywhere.get("/api/accounts").get_json()["accounts"]}
    staff = {a.username for a in app.extensions["hall"].config.staff if a.role == "staff"}
    assert listed == staff and {"wang.fang", "gz.clerk", "zhang.wei"} <= listed
    version = version_of(everywhere, "wang.fang")
    renamed = everywhere.patch("/api/accounts/wang.fang", json={"version": version, "display_name": "王芳"})
    assert renamed.status_code == 200
    assert error(everywhere.patch("/api/accounts/gz.boss", json={"version": 1, "disabled": True})) == (
        404, "unknown_account")
    assert "wang.fang" not in {a["username"] for a in
                               signed_in(app, "manager", MANAGER_PASSWORD).get("/api/accounts").get_json()["accounts"]}


def test_a_new_account_chooses_its_password_at_the_first_sign_in(app: Flask) -> None:
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    created = manager.post("/api/accounts", json={"username": "wu.hao", "display_name": "吴浩 Wu Hao",
                                                  "branches": [BRANCH]})
    assert created.status_code == 201, created.get_json()
    temporary = created.get_json()["temporary_password"]
    assert created.get_json()["account"]["must_change_password"] is True
    browser = app.test_client()
    told = browser.post("/api/session", json={"username": "wu.hao", "password": temporary})
    assert error(told) == (403, "password_change_required") and told.get_json()["details"]["reason"] == "reset"
    weak = browser.post("/api/session/password", json={"username": "wu.hao", "current_password": temporary,
                                                       "new_password": "wu.hao12345"})
    assert error(weak) == (400, "weak_password")
    assert weak.get_json()["details"]["field"] == "new_password" and weak.get_json()["details"]["problem"]["zh-CN"]
    changed = browser.post("/api/session/password", json={"username": "wu.hao", "current_password": temporary,
                                                          "new_password": "river-lamp-orchid"})
    assert changed.status_code == 200 and changed.get_json()["username"] == "wu.hao"
    assert browser.get("/api/branches/SZ-FUTIAN/events").status_code == 200  # signed in with the new one
    signed_in(app, "wu.hao", "river-lamp-orchid")
    assert error(app.test_client().post("/api/session", json={"username": "wu.hao", "password": temporary})) == (
        401, "bad_credentials")


def test_a_manager_cannot_make_managers_or_touch_another_branch(app: Flask) -> None:
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    as_manager = manager.post("/api/accounts", json={"username": "x.y", "display_name": "X", "role": "manager",
                                                     "branches": [BRANCH]})
    assert error(as_manager) == (403, "not_your_account")
    elsewhere = manager.post("/api/accounts", json={"username": "x.y", "display_name": "X", "branches": [OTHER]})
    assert error(elsewhere) == (403, "not_your_account")
    assert error(manager.patch("/api/accounts/gz.clerk", json={"version": 1, "disabled": True})) == (
        404, "unknown_account")
    assert error(manager.post("/api/accounts/gz.clerk/password-reset", json={"version": 1})) == (
        404, "unknown_account")


def test_a_disabled_account_is_signed_out_at_once(app: Flask) -> None:
    tablet = signed_in(app, "zhang.wei", STAFF_PASSWORD)
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    answer = manager.patch("/api/accounts/zhang.wei", json={"version": version_of(manager, "zhang.wei"),
                                                            "disabled": True})
    assert answer.status_code == 200 and answer.get_json()["disabled"] is True
    assert tablet.get("/api/branches/SZ-FUTIAN/events").status_code == 401
    assert error(app.test_client().post("/api/session", json={"username": "zhang.wei",
                                                               "password": STAFF_PASSWORD})) == (401, "bad_credentials")
    [entry] = app.extensions["audit"].search(Actor(username="admin", role="admin"),
                                             AuditFilter(actions=(AuditAction.ACCOUNT_CHANGED,)))
    assert entry.username == "manager" and entry.after["disabled"] is True


def test_a_stale_edit_and_the_rules_about_oneself_and_the_last_admin(app: Flask) -> None:
    admin = signed_in(app, "admin", ADMIN_PASSWORD)
    version = version_of(admin, "li.na")
    assert admin.patch("/api/accounts/li.na", json={"version": version, "display_name": "李娜"}).status_code == 200
    stale = admin.patch("/api/accounts/li.na", json={"version": version, "display_name": "Li Na"})
    assert error(stale) == (409, "stale_version")
    assert stale.get_json()["details"]["current_body"]["display_name"] == "李娜"
    mine = version_of(admin, "admin")
    assert error(admin.patch("/api/accounts/admin", json={"version": mine, "disabled": True})) == (409, "not_yourself")
    promoted = admin.patch("/api/accounts/manager", json={"version": version_of(admin, "manager"), "role": "admin"})
    assert promoted.status_code == 200
    other_admin = signed_in(app, "manager", MANAGER_PASSWORD)
    assert other_admin.patch("/api/accounts/admin", json={"version": mine, "role": "staff",
                                                          "branches": [BRANCH]}).status_code == 200
    last = other_admin.patch("/api/accounts/manager", json={"version": version_of(other_admin, "manager"),
                                                            "role": "staff", "branches": [BRANCH]})
    assert error(last) == (409, "not_yourself")


def test_a_reset_ends_the_sessions_and_asks_for_a_new_password(app: Flask) -> None:
    tablet = signed_in(app, "li.na", STAFF_PASSWORD)
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    reset = manager.post("/api/accounts/li.na/password-reset", json={"version": version_of(manager, "li.na")})
    assert reset.status_code == 200
    assert tablet.get("/api/branches/SZ-FUTIAN/events").status_code == 401
    told = app.test_client().post("/api/session", json={"username": "li.na",
                                                         "password": reset.get_json()["temporary_password"]})
    assert error(told) == (403, "password_change_required")


def test_a_signed_in_user_changes_their_own_password_and_stays_signed_in(app: Flask) -> None:
    phone, tablet = signed_in(app, "zhang.wei", STAFF_PASSWORD), signed_in(app, "zhang.wei", STAFF_PASSWORD)
    wrong = tablet.post("/api/session/password", json={"current_password": "nope", "new_password": "x" * 12})
    assert error(wrong) == (401, "bad_credentials")
    changed = tablet.post("/api/session/password", json={"current_password": STAFF_PASSWORD,
                                                         "new_password": "river-lamp-orchid"})
    assert changed.status_code == 200
    assert tablet.get("/api/branches/SZ-FUTIAN/events").status_code == 200
    assert phone.get("/api/branches/SZ-FUTIAN/events").status_code == 401  # the other device signed out


def test_demo_passwords_must_be_changed_unless_the_deployment_allows_them(database_url: str, tmp_path: Path,
                                                                          clock: FakeClock) -> None:
    config = demo_config(database_url, tmp_path, more=lambda d: d["server"].update(allow_demo_passwords=False))
    app, _socketio = create_app(config, clock=clock, publisher=RecordingPublisher())
    try:
        told = app.test_client().post("/api/session", json={"username": "manager", "password": MANAGER_PASSWORD})
        assert error(told) == (403, "password_change_required") and told.get_json()["details"]["reason"] == "demo"
    finally:
        app.extensions["hall"].uow.engine.dispose()
        app.extensions["hall"].uow.read_engine.dispose()


def test_a_regional_account_reads_its_regions_figures_and_changes_nothing(app: Flask) -> None:
    reader = signed_in(app, "south.reader", STAFF_PASSWORD)
    assert reader.get(f"/api/branches/{BRANCH}/days").status_code == 200
    assert reader.get(f"/api/branches/{BRANCH}/estimates/accuracy").status_code == 200
    assert error(reader.get(f"/api/branches/{OTHER}/days")) == (403, "forbidden")
    assert reader.get(f"/api/branches/{BRANCH}/staffing?date=2026-11-25").status_code == 200
    assert error(reader.get(f"/api/branches/{OTHER}/staffing")) == (403, "forbidden")
    assert error(reader.get(f"/api/branches/{BRANCH}/events")) == (403, "read_only_account")  # not staff
    assert error(reader.post(f"/api/branches/{BRANCH}/counters/1/sign-in", json={})) == (403, "read_only_account")
    assert error(reader.get("/api/accounts")) == (403, "read_only_account")
    assert reader.get("/api/session").get_json()["manages"] is False
    assert reader.get("/api/session").get_json()["landing"] == "/overview"  # the live overview of its regions
    page = reader.get("/reports").get_data(as_text=True)
    regions = json.loads(page.split('id="reports-config">', 1)[1].split("</script>", 1)[0])["regions"]
    assert [r["code"] for r in regions] == ["south"]  # only the regions whose branches it reads, not "north"


def test_a_disabled_accounts_counter_closes(app: Flask) -> None:
    tablet = signed_in(app, "zhang.wei", STAFF_PASSWORD)
    assert tablet.post(f"/api/branches/{BRANCH}/counters/2/sign-in", json={}).status_code == 200
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    assert manager.patch("/api/accounts/zhang.wei", json={"version": version_of(manager, "zhang.wei"),
                                                          "disabled": True}).status_code == 200
    counters = {c["number"]: c for c in manager.get(f"/api/branches/{BRANCH}/snapshot?view=staff")
                .get_json()["counters"]}
    assert counters["2"]["status"] == "closed"
    events = manager.get(f"/api/branches/{BRANCH}/events").get_json()["events"]
    [closed] = [e for e in events if e["kind"] == "counter_signed_out"]
    assert closed["reason"] == "account_disabled"


def test_null_fields_leave_an_account_unchanged(app: Flask) -> None:
    admin = signed_in(app, "admin", ADMIN_PASSWORD)
    answer = admin.patch("/api/accounts/li.na", json={"version": version_of(admin, "li.na"), "branches": None,
                                                      "role": None, "display_name": None, "disabled": None})
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["role"], answer.get_json()["branches"]) == ("staff", [BRANCH])
    assert error(admin.patch("/api/accounts/0", json={"version": 1, "branches": None})) == (404, "unknown_account")
