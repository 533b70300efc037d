"""The audit log over HTTP: ``GET /api/audit`` (filters, pages, the answer's schema) and ``GET /api/audit.csv`` (the
bytes a spreadsheet opens), who may read them, and a 400 naming each parameter that is not understood."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import RecordingPublisher
from tests.integration.test_api import build_app
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
B = f"/api/branches/{BRANCH}"


def with_a_second_branch(data: dict[str, Any]) -> None:
    """GZ-TIANHE with a manager of its own; zhang.wei works at Futian only."""
    other = copy.deepcopy(data["branches"][0])
    other["code"] = OTHER
    data["branches"].append(other)
    accounts = {a["username"]: a for a in data["staff"]}
    accounts["zhang.wei"]["branches"] = [BRANCH]
    data["staff"].append({**accounts["manager"], "username": "gz.manager", "display_name": "广州经理",
                          "branches": [OTHER]})


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=with_a_second_branch)
    yield from build_app(config, clock, publisher)


def signed_in(app: Flask, username: str, password: str, device: str | None = None) -> FlaskClient:
    client = app.test_client()
    headers = {"X-Device-Id": device} if device else {}
    response = client.post("/api/session", json={"username": username, "password": password}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return client


def manager(app: Flask) -> FlaskClient:
    return signed_in(app, "manager", "demo-manager", device="back-office")


def ok(response: Any) -> Any:
    assert response.status_code == 200, (response.status_code, response.get_json())
    return response.get_json()


@pytest.fixture
def history(app: Flask, clock: FakeClock) -> FlaskClient:
    """Something of each kind: sign-ins, a refused one (its device id would be a formula), a notice in Chinese, a
    stop of the other branch, an hour apart from a no-show."""
    boss = manager(app)
    app.test_client().post("/api/session", json={"username": "li.na", "password": "guess"},
                           headers={"X-Device-Id": "=1+2"})
    notice = {"text": {"zh-CN": "今日宽带优惠", "en": "Broadband offer"}}
    assert boss.post(f"{B}/notices", json=notice).status_code == 201
    gz = signed_in(app, "gz.manager", "demo-manager")
    assert gz.post(f"/api/branches/{OTHER}/issue-stops", json={"reason": "busy"}).status_code == 201
    clock.advance(hours=1)
    staff = signed_in(app, "zhang.wei", "demo-staff")
    ok(staff.post(f"{B}/counters/1/sign-in", json={}))
    ticket = app.test_client().post(f"{B}/tickets", json={"service": "BILL"}).get_json()
    ok(staff.post(f"{B}/counters/1/call-next"))
    ok(staff.post(f"{B}/tickets/{ticket['id']}/no-show", json={}, headers={"X-Device-Id": "@tablet"}))
    return boss


def actions(answer: dict[str, Any]) -> list[str]:
    return [e["action"] for e in answer["entries"]]


def test_entries_with_names_labels_and_readable_changes(history: FlaskClient) -> None:
    answer = ok(history.get(f"/api/audit?branch={BRANCH}"))
    assert actions(answer) == ["no_show", "sign_in", "notice_changed", "sign_in_refused", "sign_in"]
    no_show = answer["entries"][0]
    assert no_show["at"].endswith("+08:00") and no_show["at"].startswith("2026-11-24T11:00")  # the branch's time
    assert (no_show["username"], no_show["display_name"], no_show["device"]) == ("zhang.wei", "张伟 Zhang Wei",
                                                                                 "@tablet")
    assert no_show["action_label"] == {"zh-CN": "标记过号", "en": "Marked a no-show"}
    assert no_show["target_label"]["zh-CN"].startswith("票号 A")
    assert no_show["changes"] == [{"field": "state", "label": {"zh-CN": "状态", "en": "state"},
                                   "before": {"zh-CN": "已叫号", "en": "called"},
                                   "after": {"zh-CN": "过号", "en": "no-show"}}]
    notice = answer["entries"][2]
    assert notice["before"] is None and notice["after"]["text_zh"] == "今日宽带优惠"
    assert answer["next_before_id"] is None


def test_filters(history: FlaskClient) -> None:
    def found(query: str) -> list[str]:
        return actions(ok(history.get(f"/api/audit?{query}")))

    assert found("action=sign_in&action=no_show") == ["no_show", "sign_in", "sign_in", "sign_in"]
    assert found("user=zhang.wei") == ["no_show", "sign_in"]
    assert found("q=宽带") == ["notice_changed"]
    # the branch's own entries and its people's (gz.manager; li.na and manager work at every branch), not zhang.wei's
    assert found(f"branch={OTHER}") == ["issue_stopped", "sign_in", "sign_in_refused", "sign_in"]
    assert found("from=2026-11-24T02:30:00Z") == ["no_show", "sign_in"]
    assert found("to=2026-11-24T10:30:00%2B08:00") == ["issue_stopped", "sign_in", "notice_changed",
                                                      "sign_in_refused", "sign_in"]
    assert found("from=2026-11-24&to=2026-11-24") == found("")  # a day in the branch's time zone, both included
    assert found("from=2026-11-25") == [] and found("to=2026-11-23") == []


def test_pages_follow_next_before_id(history: FlaskClient) -> None:
    first = ok(history.get("/api/audit?limit=4"))
    assert len(first["entries"]) == 4 and first["next_before_id"] == first["entries"][-1]["id"]
    rest = ok(history.get(f"/api/audit?limit=4&before_id={first['next_before_id']}"))
    assert len(rest["entries"]) == 3 and rest["next_before_id"] is None
    every = ok(history.get("/api/audit"))["entries"]
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in every]


@pytest.mark.parametrize(("path", "parameter"), [
    ("/api/audit?from=2026-02-30", "from"),
    ("/api/audit?from=yesterday", "from"),
    ("/api/audit?from=2026-11-24T10:00:00", "from"),  # an instant needs its offset
    ("/api/audit?to=2026-11-24T25:00:00Z", "to"),
    ("/api/audit?from=2026-11-25&to=2026-11-24", "to"),  # ends before it starts
    ("/api/audit?action=sign_in&action=take_over_the_world", "action"),
    ("/api/audit?user=" + "x" * 65, "user"),
    ("/api/audit?q=a%00b", "q"),
    ("/api/audit?q=" + "x" * 101, "q"),
    ("/api/audit?limit=0", "limit"),
    ("/api/audit?limit=501", "limit"),
    ("/api/audit?before_id=-1", "before_id"),
    ("/api/audit?branch=NOWHERE", "branch"),
    ("/api/audit.csv?lang=fr", "lang"),
    ("/api/audit.csv?action=nope", "action"),
])
def test_a_filter_not_understood_is_400_naming_it(app: Flask, path: str, parameter: str) -> None:
    response = manager(app).get(path)
    body = response.get_json()
    assert (response.status_code, body["error"], body["details"]["parameter"]) == (400, "bad_query", parameter), body


@pytest.mark.parametrize("path", ["/api/audit", "/api/audit.csv", f"/api/audit?branch={BRANCH}"])
def test_only_managers_of_the_branch_read_it(app: Flask, history: FlaskClient, path: str) -> None:
    anonymous = app.test_client().get(path)
    assert (anonymous.status_code, anonymous.get_json()["error"]) == (401, "unauthenticated")
    staff = signed_in(app, "zhang.wei", "demo-staff").get(path)
    assert (staff.status_code, staff.get_json()["error"]) == (403, "manager_only")
    gz = signed_in(app, "gz.manager", "demo-manager")
    if "branch=" in path:
        refused = gz.get(path)
        assert (refused.status_code, refused.get_json()["error"]) == (403, "forbidden")
        assert "does not work at branch SZ-FUTIAN" in refused.get_json()["message"]
    elif path == "/api/audit":  # without a branch: their branch's, and its people's (zhang.wei works elsewhere)
        seen = {(e["branch"], e["username"]) for e in ok(gz.get(path))["entries"]}
        assert seen == {(OTHER, "gz.manager"), (None, "gz.manager"), (None, "manager"), (None, "li.na")}


def test_the_csv_opens_in_a_spreadsheet(app: Flask, history: FlaskClient, clock: FakeClock) -> None:
    response = history.get(f"/api/audit.csv?branch={BRANCH}&from=2026-11-20&lang=zh-CN")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="audit-{BRANCH}-2026-11-20-2026-11-24.csv"'
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel then reads it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "网点", "账号", "姓名", "角色", "操作", "对象", "变更（之前 → 之后）", "设备",
                       "网络地址"]
    body = {row[5]: row for row in rows[1:]}
    assert set(body) == {"导出数据", "标记过号", "登录", "修改通知", "登录被拒"}
    assert body["修改通知"][7] == "中文内容: 今日宽带优惠; 英文内容: Broadband offer; 启用: 是"
    assert body["标记过号"][0] == "2026-11-24T11:00:00+08:00"
    assert body["标记过号"][7] == "状态: 已叫号 → 过号"
    assert body["登录被拒"][8] == "'=1+2"  # a device id that would run as a formula
    assert body["标记过号"][8] == "'@tablet"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    english = history.get("/api/audit.csv?lang=en&action=data_exported")
    rows = list(csv.reader(io.StringIO(english.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Time", "Branch", "Username"]
    [latest, first] = rows[1:]
    assert (latest[5], latest[6]) == ("Exported data", "audit log")
    assert first[7] == f"branch: {BRANCH}; from: 2026-11-20 00:00; language: zh-CN"


def test_the_export_is_recorded_with_its_filter(app: Flask, history: FlaskClient) -> None:
    history.get(f"/api/audit.csv?branch={BRANCH}&action=no_show&action=sign_in&q=宽带&user=zhang.wei",
                headers={"X-Device-Id": "back-office"})
    [exported] = ok(history.get("/api/audit?action=data_exported"))["entries"]
    assert (exported["username"], exported["branch"], exported["device"]) == ("manager", BRANCH, "back-office")
    assert exported["after"] == {"branch": BRANCH, "actions": ["no_show", "sign_in"], "q": "宽带",
                                 "user": "zhang.wei", "lang": "zh-CN"}
    refused = signed_in(app, "zhang.wei", "demo-staff").get("/api/audit.csv")
    assert refused.status_code == 403
    assert len(ok(history.get("/api/audit?action=data_exported"))["entries"]) == 1  # a refused one is not
