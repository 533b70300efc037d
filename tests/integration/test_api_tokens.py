"""API tokens for integrations: the service layer on SQLite and PostgreSQL (make, list, revoke, authenticate, last
use, expiry, the per-token rate), then the API (answers checked against their OpenAPI schemas): a read token cannot
act, another branch is refused, a revoked or expired token is 401 at once, 429 past the rate, a token with a cookie,
and requests from other sites."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.domain.errors import DomainError
from server.domain.limits import Rate
from server.domain.tickets import PriorityClass
from server.services.actor import Actor, token_actor
from server.services.api_tokens import ApiTokenService
from server.services.hall import HallService
from server.services.limits import TokenLimiter
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_api import build_app
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
B = f"/api/branches/{BRANCH}"
MANAGER = Actor("manager", "manager")  # a manager of every branch
SZ_MANAGER = Actor("sz.manager", "manager")  # a manager of SZ-FUTIAN only
ZHANG = Actor("zhang.wei", "staff")


def two_branches(data: dict[str, Any]) -> None:
    """GZ-TIANHE beside SZ-FUTIAN, and a manager of SZ-FUTIAN alone."""
    other = copy.deepcopy(data["branches"][0])
    other["code"] = OTHER
    data["branches"].append(other)
    accounts = {a["username"]: a for a in data["staff"]}
    data["staff"].append({**accounts["manager"], "username": "sz.manager", "display_name": "SZ Manager",
                          "branches": [BRANCH]})


def refused(code: str) -> Any:
    return pytest.raises(DomainError, check=lambda e: e.code == code)


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=two_branches)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def tokens(hall: HallService, clock: FakeClock) -> ApiTokenService:
    return ApiTokenService(hall.config, hall.uow, clock, limiter=TokenLimiter(Rate(5, timedelta(minutes=1))))


# --- the service layer (both databases) --------------------------------------------------------------------------


def test_a_token_is_made_shown_once_used_and_revoked_at_once(tokens: ApiTokenService, clock: FakeClock) -> None:
    view, token = tokens.create(BRANCH, MANAGER, name="booking", scope="act", branches=[BRANCH], expires_in_days=None)
    assert token.startswith("qt_") and view["prefix"] == token[:11] and "token" not in view
    assert view["state"] == "active" and view["last_used_at"] is None and view["created_by"] == "manager"
    assert view["created_by_name"] == "黄经理 Manager Huang"  # what a person reads
    grant = tokens.authenticate(token)
    assert (grant.scope.value, grant.branches, grant.label) == ("act", frozenset({BRANCH}), f"token:{token[:11]}")
    [listed] = tokens.tokens(BRANCH, MANAGER)["tokens"]
    assert listed["last_used_at"] == "2026-11-24T02:00:00+00:00" and "token" not in listed

    clock.advance(seconds=30)
    tokens.authenticate(token)  # within a minute: the last use is not written again
    assert tokens.tokens(BRANCH, MANAGER)["tokens"][0]["last_used_at"] == "2026-11-24T02:00:00+00:00"
    clock.advance(seconds=40)
    tokens.authenticate(token)
    assert tokens.tokens(BRANCH, MANAGER)["tokens"][0]["last_used_at"] == "2026-11-24T02:01:10+00:00"

    revoked = tokens.revoke(BRANCH, view["id"], MANAGER)
    assert (revoked["state"], revoked["revoked_by"], revoked["may_revoke"]) == ("revoked", "manager", False)
    assert revoked["revoked_by_name"] == "黄经理 Manager Huang"
    with refused("token_revoked"):
        tokens.authenticate(token)
    with refused("already_revoked"):
        tokens.revoke(BRANCH, view["id"], MANAGER)
    for nonsense in ("", "qt_", token[:-1], token.replace("qt_", "xx_"), "qt_" + "A" * 43):
        with refused("invalid_token"):
            tokens.authenticate(nonsense)


def test_a_token_expires(tokens: ApiTokenService, clock: FakeClock) -> None:
    _, token = tokens.create(BRANCH, MANAGER, name="report", scope="read", branches=None, expires_in_days=7)
    tokens.authenticate(token)
    clock.advance(days=7)
    with refused("token_expired"):
        tokens.authenticate(token)
    assert tokens.tokens(BRANCH, MANAGER)["tokens"][0]["state"] == "expired"


def test_managers_give_only_their_own_branches(tokens: ApiTokenService) -> None:
    with refused("beyond_your_branches"):
        tokens.create(BRANCH, SZ_MANAGER, name="all", scope="read", branches=None, expires_in_days=None)
    with refused("beyond_your_branches"):
        tokens.create(BRANCH, SZ_MANAGER, name="both", scope="read", branches=[BRANCH, OTHER], expires_in_days=None)
    with refused("bad_branches"):  # made on SZ-FUTIAN's page, for another branch alone
        tokens.create(BRANCH, MANAGER, name="gz", scope="read", branches=[OTHER], expires_in_days=None)
    with refused("bad_scope"):
        tokens.create(BRANCH, MANAGER, name="x", scope="admin", branches=None, expires_in_days=None)
    with refused("manager_only"):
        tokens.create(BRANCH, ZHANG, name="x", scope="read", branches=[BRANCH], expires_in_days=None)
    own, _ = tokens.create(BRANCH, SZ_MANAGER, name="sz", scope="act", branches=[BRANCH], expires_in_days=30)
    every, _ = tokens.create(BRANCH, MANAGER, name="every", scope="read", branches=None, expires_in_days=None)
    gz, _ = tokens.create(OTHER, MANAGER, name="gz", scope="read", branches=[OTHER], expires_in_days=None)

    listed = tokens.tokens(BRANCH, SZ_MANAGER)
    assert {t["name"]: t["may_revoke"] for t in listed["tokens"]} == {"every": False, "sz": True}
    assert listed["may_make_all_branch"] is False and [b["code"] for b in listed["branches"]] == [BRANCH]
    with refused("beyond_your_branches"):  # it also reaches GZ-TIANHE
        tokens.revoke(BRANCH, every["id"], SZ_MANAGER)
    with refused("unknown_token"):  # not a token of this branch
        tokens.revoke(BRANCH, gz["id"], MANAGER)
    assert tokens.revoke(BRANCH, own["id"], SZ_MANAGER)["state"] == "revoked"
    with refused("not_for_tokens"):  # tokens do not manage tokens
        tokens.tokens(BRANCH, token_actor(tokens.authenticate(tokens.create(
            BRANCH, MANAGER, name="t", scope="act", branches=None, expires_in_days=None)[1])))


def test_each_token_has_its_own_rate(tokens: ApiTokenService) -> None:
    _, first = tokens.create(BRANCH, MANAGER, name="a", scope="read", branches=None, expires_in_days=None)
    _, second = tokens.create(BRANCH, MANAGER, name="b", scope="read", branches=None, expires_in_days=None)
    for _ in range(5):
        tokens.authenticate(first)
    with refused("too_many_requests") as past:
        tokens.authenticate(first)
    assert past.value.http_status == 429 and 1 <= past.value.details["retry_after_s"] <= 60
    tokens.authenticate(second)  # another integration is not held back


def test_an_integration_issues_any_class_cancels_and_stops_issue(hall: HallService, tokens: ApiTokenService) -> None:
    _, act = tokens.create(BRANCH, MANAGER, name="booking", scope="act", branches=[BRANCH], expires_in_days=None)
    _, read = tokens.create(BRANCH, MANAGER, name="report", scope="read", branches=[BRANCH], expires_in_days=None)
    booking, report = token_actor(tokens.authenticate(act)), token_actor(tokens.authenticate(read))
    made = hall.tickets.issue(BRANCH, "BILL", priority=PriorityClass.APPOINTMENT, actor=booking,
                              address="10.0.0.9")
    assert made["priority"] == "appointment"
    with refused("insufficient_scope"):
        hall.tickets.issue(BRANCH, "BILL", priority=PriorityClass.VIP, actor=report)
    with refused("insufficient_scope"):
        hall.tickets.cancel(BRANCH, made["id"], report)
    assert hall.tickets.cancel(BRANCH, made["id"], booking)["ticket"]["state"] == "cancelled"
    stop = hall.issuing.stop(BRANCH, booking, reason="maintenance", until="resumed")
    assert hall.issuing.resume(BRANCH, stop["id"], booking)["id"] == stop["id"]
    with refused("forbidden"):  # another branch
        hall.issuing.stop(OTHER, booking, reason="busy", until="resumed")
    with refused("not_for_tokens"):  # a counter needs a person
        hall.counters.sign_in(BRANCH, "2", booking)
    with refused("not_for_tokens"):
        hall.counters.call_next(BRANCH, "2", booking)
    assert hall.days.summaries(BRANCH, report)["days"] == []  # a read: day summaries


# --- the API -----------------------------------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    apps: list[Iterator[Flask]] = []

    def make(limits: dict[str, Any] | None = None) -> Flask:
        def more(data: dict[str, Any]) -> None:
            two_branches(data)
            data["limits"].update(limits or {})

        config = demo_config(f"sqlite:///{tmp_path / f'api{len(apps)}.sqlite3'}", tmp_path, more=more)
        gen = build_app(config, clock, RecordingPublisher())
        apps.append(gen)
        return next(gen)

    yield make
    for gen in apps:
        next(gen, None)


def signed_in(app: Flask, username: str = "manager", password: str = "demo-manager") -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": username, "password": password}).status_code == 200
    return client


def made(manager: FlaskClient, **body: Any) -> dict[str, Any]:
    r = manager.post(f"{B}/api-tokens", json={"name": "booking", "scope": "act", **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error(response: Any, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()["error"]


def test_over_http_read_cannot_act_and_a_revoked_or_expired_token_is_refused_at_once(
    make_app: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make_app()
    manager, client = signed_in(app), app.test_client()
    act, read = made(manager, branches=[BRANCH]), made(manager, scope="read", expires_in_days=1)
    assert client.get(f"{B}/events", headers=bearer(read["token"])).status_code == 200
    assert client.get(f"{B}/snapshot?view=staff", headers=bearer(read["token"])).get_json()["waiting"] == []
    issue = {"service": "BILL", "priority": "appointment"}
    assert error(client.post(f"{B}/tickets", json=issue, headers=bearer(read["token"])), 403) == "insufficient_scope"
    ticket = client.post(f"{B}/tickets", json=issue, headers=bearer(act["token"]))
    assert ticket.status_code == 201 and ticket.get_json()["priority"] == "appointment"
    events = manager.get(f"{B}/events").get_json()["events"]
    assert events[-1]["staff"] == f"token:{act['prefix']}"  # the record says which integration issued it
    assert error(client.get(f"/api/branches/{OTHER}/events", headers=bearer(act["token"])), 403) == "forbidden"
    assert error(client.get("/api/branches/NOWHERE/events", headers=bearer(act["token"])), 404) == "unknown_branch"

    assert manager.post(f"{B}/api-tokens/{act['id']}/revoke").status_code == 200
    refusal = client.get(f"{B}/events", headers=bearer(act["token"]))
    assert error(refusal, 401) == "token_revoked"
    assert refusal.headers["WWW-Authenticate"].startswith('Bearer realm="hall", error="invalid_token"')
    clock.advance(days=1)
    assert error(client.get(f"{B}/events", headers=bearer(read["token"])), 401) == "token_expired"
    listed = signed_in(app).get(f"{B}/api-tokens").get_json()["tokens"]  # a day later: a new session
    assert {t["state"] for t in listed} == {"revoked", "expired"}
    assert all("token" not in t for t in listed)


def test_past_its_rate_a_token_gets_429_with_retry_after(make_app: Callable[..., Flask]) -> None:
    app = make_app({"token_requests": "3/minute"})
    token = made(signed_in(app))["token"]
    client = app.test_client()
    for _ in range(3):
        assert client.get(f"{B}/issue-stops", headers=bearer(token)).status_code == 200
    r = client.get(f"{B}/issue-stops", headers=bearer(token))
    assert error(r, 429) == "too_many_requests" and 1 <= int(r.headers["Retry-After"]) <= 60


def test_a_token_with_a_cookie_is_the_token_alone(make_app: Callable[..., Flask]) -> None:
    """The bearer wins: the manager's session cookie (and a device's) is not read for that request, so a read
    token sent from a manager's browser can still only read, and the session routes are closed to it."""
    app = make_app()
    manager = signed_in(app)
    read = made(manager, scope="read")["token"]
    body = {"service": "PLAN", "reason": "busy", "until": "resumed"}
    assert error(manager.post(f"{B}/issue-stops", json=body, headers=bearer(read)), 403) == "insufficient_scope"
    assert error(manager.get("/api/session", headers=bearer(read)), 403) == "not_for_tokens"
    assert error(manager.delete("/api/session", headers=bearer(read)), 403) == "not_for_tokens"
    assert error(manager.get(f"{B}/api-tokens", headers=bearer(read)), 403) == "not_for_tokens"
    assert manager.get("/api/session").get_json()["username"] == "manager"  # the session itself is untouched


def test_a_bearer_request_is_not_a_cross_site_request(make_app: Callable[..., Flask]) -> None:
    """A page of another site cannot make a browser send an Authorization header here (that needs CORS, which
    this server never grants), and a token request reads no cookie: the cross-site check does not apply to it."""
    app = make_app()
    manager = signed_in(app)
    act = made(manager)["token"]
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    ticket = {"service": "BILL"}
    assert error(manager.post(f"{B}/tickets", json=ticket, headers=cross), 403) == "cross_site_request"
    assert app.test_client().post(f"{B}/tickets", json=ticket, headers={**cross, **bearer(act)}).status_code == 201


def test_a_manager_of_one_branch_over_http(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    sz = signed_in(app, "sz.manager")
    assert error(sz.post(f"{B}/api-tokens", json={"name": "all", "scope": "read"}), 403) == "beyond_your_branches"
    r = sz.post(f"{B}/api-tokens", json={"name": "sz", "scope": "read", "branches": [BRANCH], "expires_in_days": 90})
    assert r.status_code == 201 and r.get_json()["branches"] == [BRANCH]
    assert error(sz.post(f"{B}/api-tokens", json={"name": "x", "scope": "read", "branches": [BRANCH],
                                                  "expires_in_days": 0}), 422) == "invalid_request"
    staff = signed_in(app, "zhang.wei", "demo-staff")
    assert error(staff.get(f"{B}/api-tokens"), 403) == "manager_only"
