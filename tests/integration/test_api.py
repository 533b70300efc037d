"""The JSON API through Flask's test client, on a temporary SQLite database and a fake clock."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from pydantic import ValidationError
from werkzeug.test import TestResponse

from server.api.registry import ENDPOINTS
from server.app import create_app
from server.config import load_config
from server.settings import HallConfig
from tests.conftest import RecordingPublisher
from tests.device_helpers import paired_client
from tests.support import DEMO_CONFIG, FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
B = f"/api/branches/{BRANCH}"
PASSWORD = "demo-staff"
NOTE = "needs passport check NOTE-7f3a"
PAUSE_REASON = "back office PAUSE-91c2"


# --- fixtures and helpers --------------------------------------------------------------------------


def build_app(config: HallConfig, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    app, _socketio = create_app(config, clock=clock, publisher=publisher)
    mismatches = check_answers_against_openapi(app)
    yield app
    assert mismatches == [], "answers that differ from their OpenAPI response schema:\n" + "\n".join(mismatches)
    hall = app.extensions["hall"]
    hall.uow.engine.dispose()
    hall.uow.read_engine.dispose()


def check_answers_against_openapi(app: Flask) -> list[str]:
    """Every success answer of an endpoint with a documented response model is validated against that model
    (unknown fields refused); what does not match is collected, and the test fails at teardown."""
    models = {(ep.rule, ep.method.upper()): ep for ep in ENDPOINTS if ep.response is not None}
    mismatches: list[str] = []

    @app.after_request
    def validate(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule else None
        endpoint = models.get((rule, request.method))
        if endpoint is not None and response.status_code == endpoint.status and endpoint.response is not None:
            try:
                endpoint.response.model_validate(response.get_json())
            except ValidationError as exc:
                mismatches.append(f"{request.method} {request.path}: {exc}")
        return response

    return mismatches


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    """The demo hall, open 24 hours, on a fresh SQLite file."""
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path)
    yield from build_app(config, clock, publisher)


@pytest.fixture
def make_app(
    tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Callable[[dict[str, Any]], None]], Flask]]:
    """An app on the demo config.toml as ``tweak`` changes it (the demo's real opening hours are kept)."""
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    apps: list[Iterator[Flask]] = []

    def _make(tweak: Callable[[dict[str, Any]], None]) -> Flask:
        def overrides(data: dict[str, Any]) -> None:
            data["server"]["database_url"] = f"sqlite:///{tmp_path / 'tweaked.sqlite3'}"
            data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
            tweak(data)

        gen = build_app(load_config(DEMO_CONFIG, overrides=overrides), clock, publisher)
        apps.append(gen)
        return next(gen)

    yield _make
    for gen in apps:
        next(gen, None)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def kiosk(app: Flask) -> FlaskClient:
    """A browser paired as kiosk K1 of the branch: it gives priority-lane tickets."""
    return paired_client(app, "kiosk", "K1")


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    """zhang.wei, signed in to the API and at counter 2 (BILL, PLAN)."""
    c = staff_client(app, "zhang.wei")
    assert sign_in(c, "2").status_code == 200
    return c


def staff_client(app: Flask, username: str) -> FlaskClient:
    c = app.test_client()
    r = c.post("/api/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return c


def sign_in(c: FlaskClient, counter: str, *, takeover: bool = False) -> TestResponse:
    return c.post(f"{B}/counters/{counter}/sign-in", json={"takeover": takeover})


def issue(c: FlaskClient, service: str = "BILL", *, key: str | None = None, **fields: Any) -> TestResponse:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return c.post(f"{B}/tickets", json={"service": service, **fields}, headers=headers)


def issued(c: FlaskClient, service: str = "BILL", **fields: Any) -> dict[str, Any]:
    r = issue(c, service, **fields)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def call_next(c: FlaskClient, counter: str = "2") -> TestResponse:
    return c.post(f"{B}/counters/{counter}/call-next")


def called(c: FlaskClient, counter: str = "2") -> dict[str, Any]:
    r = call_next(c, counter)
    assert r.status_code == 200, r.get_json()
    ticket = r.get_json()["ticket"]
    assert ticket is not None
    return ticket


def act(c: FlaskClient, ticket_id: int, action: str, **body: Any) -> TestResponse:
    return c.post(f"{B}/tickets/{ticket_id}/{action}", json=body)


def snapshot(c: FlaskClient, *, staff: bool = False) -> dict[str, Any]:
    r = c.get(f"{B}/snapshot" + ("?view=staff" if staff else ""))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def counter_in(snap: dict[str, Any], number: str) -> dict[str, Any]:
    return next(c for c in snap["counters"] if c["number"] == number)


def error_of(r: TestResponse, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.is_json, r.get_data(as_text=True)
    body = r.get_json()
    assert set(body) >= {"error", "message"}
    assert body["message"]
    return body


# --- issuing tickets -------------------------------------------------------------------------------


def test_issue_ticket_returns_201_with_first_number_and_token(client: FlaskClient) -> None:
    r = issue(client, "BILL")
    assert r.status_code == 201
    ticket = r.get_json()
    assert ticket["number"] == "A001"
    assert ticket["service"] == "BILL"
    assert ticket["state"] == "waiting"
    assert ticket["priority"] == "normal"
    assert ticket["people_ahead"] == 0
    assert isinstance(ticket["token"], str) and len(ticket["token"]) >= 16
    second = issued(client, "BILL")
    assert second["number"] == "A002"
    assert second["people_ahead"] == 1
    assert second["token"] != ticket["token"]
    assert issued(client, "PLAN")["number"] == "B001"


def test_customer_reads_own_ticket_by_token(client: FlaskClient, kiosk: FlaskClient) -> None:
    ticket = issued(kiosk, "SIM", priority="priority", language="en")
    r = client.get(f"/api/tickets/{ticket['token']}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["number"] == "E001"
    assert body["priority"] == "priority"
    assert body["branch"] == BRANCH
    assert body["people_ahead"] == 0
    assert "token" not in body
    assert error_of(client.get("/api/tickets/not-a-token"), 404)["error"] == "unknown_ticket"


def test_idempotent_retry_returns_the_same_ticket_with_200_and_replayed(client: FlaskClient) -> None:
    first = issue(client, "BILL", key="kiosk-3-0001")
    assert first.status_code == 201
    assert "replayed" not in first.get_json()
    retry = issue(client, "BILL", key="kiosk-3-0001")
    assert retry.status_code == 200
    body = retry.get_json()
    assert body["replayed"] is True
    assert {k: v for k, v in body.items() if k != "replayed"} == first.get_json()
    # only one ticket exists; the next one is A002
    assert snapshot(client)["waiting_total"] == 1
    assert issued(client, "BILL")["number"] == "A002"


def test_same_idempotency_key_with_a_different_body_is_422(kiosk: FlaskClient) -> None:
    assert issue(kiosk, "BILL", key="k-1").status_code == 201
    body = error_of(issue(kiosk, "PLAN", key="k-1"), 422)
    assert body["error"] == "idempotency_key_reused"
    assert error_of(issue(kiosk, "BILL", key="k-1", priority="priority"), 422)["error"] == "idempotency_key_reused"
    assert snapshot(kiosk)["waiting_total"] == 1


def test_the_device_id_is_kept_in_the_event_log_and_a_bad_one_is_400(client: FlaskClient, staff: FlaskClient) -> None:
    assert client.post(f"{B}/tickets", json={"service": "BILL"}, headers={"X-Device-Id": " K1 "}).status_code == 201
    events = staff.get(f"{B}/events").get_json()["events"]
    assert [e["device"] for e in events if e["kind"] == "issued"] == ["K1"]
    for bad in ["k" * 65, "K1\x7f"]:
        r = client.post(f"{B}/tickets", json={"service": "BILL"}, headers={"X-Device-Id": bad})
        assert error_of(r, 400)["error"] == "bad_device_id"
    assert snapshot(client)["waiting_total"] == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{B}/counters/2/pause", {"reason": "back\x00office"}, "reason"),
        (f"{B}/tickets/1/transfer", {"to_service": "PLAN", "note": "a\x1bb"}, "note"),
        (f"{B}/counters/2/sign-in", {"services": ["BILL", "PLAN\x00"]}, "services"),
        (f"{B}/notices", {"text": {"zh-CN": "通知", "en": "\x00"}}, "text.en"),
    ],
)
def test_control_characters_in_text_are_422_naming_the_field(app: Flask, path: str, body: dict[str, Any],
                                                              field: str) -> None:
    manager = app.test_client()
    assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    issued(manager, "BILL")
    err = error_of(manager.post(path, json=body), 422)
    assert [p["field"] for p in err["details"]["problems"]] == [field]
    assert "control characters" in err["message"]


def test_tabs_and_line_breaks_are_kept_in_a_note(staff: FlaskClient) -> None:
    ticket = issued(staff, "BILL")
    r = staff.post(f"{B}/tickets/{ticket['id']}/transfer", json={"to_service": "PLAN", "note": "line one\n\tline two"})
    assert r.status_code == 200 and r.get_json()["ticket"]["transfer_note"] == "line one\n\tline two"


def test_blank_idempotency_key_is_400(client: FlaskClient) -> None:
    assert error_of(issue(client, "BILL", key="   "), 400)["error"] == "bad_idempotency_key"
    assert error_of(issue(client, "BILL", key="x" * 101), 400)["error"] == "bad_idempotency_key"


def test_malformed_json_is_400_with_a_reason(client: FlaskClient) -> None:
    r = client.post(f"{B}/tickets", data='{"service": "BILL",', content_type="application/json")
    body = error_of(r, 400)
    assert body["error"] == "bad_request"
    assert "not valid JSON" in body["message"]


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    r = client.post(f"{B}/tickets", data='{"service": "BILL"}', content_type="text/plain")
    body = error_of(r, 415)
    assert body["error"] == "unsupported_media_type"
    assert "application/json" in body["message"]
    assert snapshot(client)["waiting_total"] == 0


def test_form_encoded_body_is_415_not_silently_ignored(client: FlaskClient) -> None:
    """BUG server/api/registry.py:56: ``request.data`` is empty for form content types (werkzeug parses them into
    ``request.form``), so a form body is treated as ``{}``: here 422 "service: Field required", and for bodies whose
    fields are all optional (e.g. ``version`` of a ticket action) the form is silently ignored."""
    r = client.post(f"{B}/tickets", data="service=BILL", content_type="application/x-www-form-urlencoded")
    assert error_of(r, 415)["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "BILL", "colour": "red"}, "colour"),
        ({"service": "BILL", "priority": "king"}, "priority"),
        ({"service": "BILL", "channel": "fax"}, "channel"),
        ({"service": "BILL", "language": "fr"}, "language"),
        ({}, "service"),
        ({"service": "BILL; DROP"}, "service"),
        ({"service": 7}, "service"),
    ],
    ids=["unknown-field", "bad-priority", "bad-channel", "bad-language", "missing-service", "bad-code", "not-str"],
)
def test_invalid_ticket_request_is_422_naming_the_field(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    r = client.post(f"{B}/tickets", json=body)
    err = error_of(r, 422)
    assert err["error"] == "invalid_request"
    assert [p["field"] for p in err["details"]["problems"]] == [field]
    assert err["message"].startswith(f"{field}: ")


def test_json_that_is_not_an_object_is_422(client: FlaskClient) -> None:
    r = client.post(f"{B}/tickets", data="[1, 2]", content_type="application/json")
    assert error_of(r, 422)["details"]["problems"][0]["field"] == "body"


def test_unknown_branch_or_service_is_404(client: FlaskClient) -> None:
    r = client.post("/api/branches/NOWHERE/tickets", json={"service": "BILL"})
    assert error_of(r, 404)["error"] == "unknown_branch"
    assert error_of(issue(client, "PASSPORT"), 404)["error"] == "unknown_service"
    assert error_of(client.get("/api/branches/NOWHERE/snapshot"), 404)["error"] == "unknown_branch"


TOO_BIG = str(2**63)  # one more than a database row id can hold


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", f"{B}/tickets/{TOO_BIG}/recall"),
        ("post", f"{B}/tickets/{TOO_BIG}/transfer"),
        ("post", f"{B}/tickets/{TOO_BIG}/reactivate"),
        ("get", f"{B}/announcements/{TOO_BIG}"),
        ("get", f"{B}/announcements/{TOO_BIG}/audio/en"),
        ("get", f"{B}/media/{TOO_BIG}/file"),
        ("patch", f"{B}/media/{TOO_BIG}"),
        ("delete", f"{B}/media/{TOO_BIG}"),
        ("patch", f"{B}/notices/{TOO_BIG}"),
        ("delete", f"{B}/notices/{TOO_BIG}"),
        ("post", f"{B}/follow-ups/{TOO_BIG}/assign"),
        ("post", f"{B}/follow-ups/{TOO_BIG}/resolve"),
    ],
)
def test_an_id_too_large_for_the_database_is_404_not_a_crash(app: Flask, method: str, path: str) -> None:
    manager = app.test_client()
    assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    body = {"note": "n", "owner": "li.na", "to_service": "PLAN"}
    assert error_of(getattr(manager, method)(path, json=body), 404)["error"] == "not_found"
    largest = path.replace(TOO_BIG, str(2**63 - 1))  # reaches the service, which knows no such row
    assert getattr(manager, method)(largest, json=body).status_code in {404, 422}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{B}/counters/2/call", {"ticket_id": 2**63}, "ticket_id"),
        (f"{B}/counters/2/call", {"ticket_id": 1, "version": 2**63}, "version"),
        (f"{B}/tickets/1/start", {"version": 2**63}, "version"),
        (f"{B}/tickets/1/transfer", {"to_service": "PLAN", "version": 2**63}, "version"),
        (f"{B}/counters/2/rating", {"ticket_id": 2**63, "score": 3}, "ticket_id"),
    ],
)
def test_an_id_too_large_in_a_body_is_422_naming_the_field(staff: FlaskClient, path: str, body: dict[str, Any],
                                                           field: str) -> None:
    err = error_of(staff.post(path, json=body), 422)
    assert [p["field"] for p in err["details"]["problems"]] == [field]


@pytest.mark.parametrize("query", ["after=-1", "after=1.5", "after=%C2%B2", f"after={TOO_BIG}", "limit=0",
                                   "limit=1001", "limit=ten"])
def test_a_bad_events_query_is_400_naming_the_parameter(staff: FlaskClient, query: str) -> None:
    err = error_of(staff.get(f"{B}/events?{query}"), 400)
    assert err["error"] == "bad_query"
    assert err["details"]["parameter"] == query.split("=")[0]


# --- staff authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", f"{B}/counters/2/sign-in", {}),
        ("post", f"{B}/counters/2/sign-out", None),
        ("post", f"{B}/counters/2/pause", {"reason": "break"}),
        ("post", f"{B}/counters/2/resume", None),
        ("post", f"{B}/counters/2/call-next", None),
        ("post", f"{B}/counters/2/call", {"ticket_id": 1}),
        ("get", f"{B}/counters/2/queue", None),
        ("post", f"{B}/tickets/1/start", {}),
        ("post", f"{B}/tickets/1/no-show", {}),
        ("post", f"{B}/tickets/1/transfer", {"to_service": "PLAN"}),
        ("post", f"{B}/tickets/1/reactivate", None),
        ("get", f"{B}/events", None),
        ("get", f"{B}/snapshot?view=staff", None),
    ],
)
def test_staff_endpoints_without_sign_in_are_403(
    client: FlaskClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    issued(client, "BILL")
    r = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert error_of(r, 401)["error"] == "unauthenticated"


def test_wrong_password_or_unknown_user_is_401(client: FlaskClient) -> None:
    r = client.post("/api/session", json={"username": "zhang.wei", "password": "wrong"})
    assert error_of(r, 401)["error"] == "bad_credentials"
    r = client.post("/api/session", json={"username": "nobody", "password": PASSWORD})
    assert error_of(r, 401)["error"] == "bad_credentials"
    assert client.get("/api/session").get_json() == {"username": None}
    assert error_of(sign_in(client, "2"), 401)["error"] == "unauthenticated"


def test_five_wrong_passwords_lock_the_name_out_on_that_device_for_five_minutes(app: Flask, clock: FakeClock) -> None:
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    for _ in range(5):
        r = guesser.post("/api/session", json={"username": "manager", "password": "guess"})
        assert error_of(r, 401)["error"] == "bad_credentials"
    r = guesser.post("/api/session", json={"username": "manager", "password": "demo-manager"})
    body = error_of(r, 429)
    assert body["error"] == "too_many_attempts" and body["details"]["retry_after_s"] == 300
    assert r.headers["Retry-After"] == "300" and "5 min" in body["message"]
    office = app.test_client()  # the manager's own PC is not locked out
    assert office.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    clock.advance(minutes=5)
    assert guesser.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200


@pytest.mark.parametrize("proxy_hops", [0, 1])
def test_the_locked_device_is_the_forwarded_client_only_behind_a_trusted_proxy(
        make_app: Callable[[Callable[[dict[str, Any]], None]], Flask], proxy_hops: int) -> None:
    app = make_app(lambda data: data["server"].update(proxy_hops=proxy_hops))
    client = app.test_client()
    guesser, colleague = {"X-Forwarded-For": "10.0.0.99"}, {"X-Forwarded-For": "10.0.0.12"}
    for _ in range(5):
        client.post("/api/session", json={"username": "li.na", "password": "guess"}, headers=guesser)
    r = client.post("/api/session", json={"username": "li.na", "password": PASSWORD}, headers=colleague)
    # without a trusted proxy the header is anybody's to write, so it cannot get round a lockout
    assert r.status_code == (200 if proxy_hops else 429)


def test_sign_in_and_out_of_the_api_session(client: FlaskClient) -> None:
    r = client.post("/api/session", json={"username": "zhang.wei", "password": PASSWORD})
    assert r.status_code == 200
    assert r.get_json() == {"username": "zhang.wei", "display_name": "张伟 Zhang Wei", "role": "staff",
                            "manages": False, "administers": False, "landing": None, "overview": False,
                            "expires_at": "2026-11-24T14:00:00+00:00"}  # 12 hours after sign-in
    assert client.get("/api/session").get_json()["username"] == "zhang.wei"
    assert client.delete("/api/session").get_json() == {"username": None}
    assert client.get("/api/session").get_json() == {"username": None}
    assert error_of(call_next(client), 401)["error"] == "unauthenticated"


# --- the staff flow --------------------------------------------------------------------------------


def test_full_staff_flow_is_reflected_in_the_snapshot(app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    seqs = [snapshot(client)["seq"]]
    staff = staff_client(app, "zhang.wei")
    r = sign_in(staff, "2")
    assert r.status_code == 200
    assert r.get_json()["status"] == "open"
    assert r.get_json()["staff"] == "zhang.wei"
    snap = snapshot(client)
    assert counter_in(snap, "2")["status"] == "open"
    seqs.append(snap["seq"])

    first = issued(client, "BILL")
    issued(client, "PLAN")
    seqs.append(snapshot(client)["seq"])

    clock.advance(minutes=3)
    r = call_next(staff)
    assert r.status_code == 200
    ticket = r.get_json()["ticket"]
    assert r.get_json()["waiting"] == 1
    assert (ticket["id"], ticket["number"], ticket["state"], ticket["counter"]) == (first["id"], "A001", "called", "2")
    assert ticket["staff"] == "zhang.wei"
    snap = snapshot(client)
    seqs.append(snap["seq"])
    assert snap["recent_calls"][0] | {"at": None, "seq": None} == {
        "number": "A001",
        "counter": "2",
        "service": "BILL",
        "kind": "called",
        "at": None,
        "seq": None,
    }
    assert counter_in(snap, "2")["current"]["number"] == "A001"
    assert counter_in(snap, "2")["current"]["state"] == "called"
    assert snap["waiting_total"] == 1
    assert client.get(f"/api/tickets/{first['token']}").get_json()["counter"] == "2"

    clock.advance(seconds=30)
    r = act(staff, ticket["id"], "recall", version=ticket["version"])
    assert r.status_code == 200
    ticket = r.get_json()["ticket"]
    assert ticket["state"] == "called"
    assert ticket["recall_count"] == 1
    snap = snapshot(client)
    seqs.append(snap["seq"])
    assert [(c["number"], c["kind"]) for c in snap["recent_calls"][:2]] == [("A001", "recalled"), ("A001", "called")]
    assert snap["recent_calls"][0]["seq"] > snap["recent_calls"][1]["seq"]

    clock.advance(seconds=30)
    r = act(staff, ticket["id"], "start", version=ticket["version"])
    assert r.status_code == 200
    ticket = r.get_json()["ticket"]
    assert ticket["state"] == "serving"
    snap = snapshot(client)
    seqs.append(snap["seq"])
    assert counter_in(snap, "2")["current"]["state"] == "serving"

    clock.advance(minutes=4)
    r = act(staff, ticket["id"], "finish", version=ticket["version"])
    assert r.status_code == 200
    ticket = r.get_json()["ticket"]
    assert ticket["state"] == "done"
    assert ticket["finished_at"] == clock.now.isoformat()
    snap = snapshot(client)
    seqs.append(snap["seq"])
    assert counter_in(snap, "2")["current"] is None
    assert counter_in(snap, "2")["status"] == "open"
    assert client.get(f"/api/tickets/{first['token']}").get_json()["state"] == "done"

    # the next call takes the PLAN ticket; then nothing is left
    plan = called(staff)
    assert plan["number"] == "B001"
    assert act(staff, plan["id"], "start").status_code == 200
    assert act(staff, plan["id"], "finish").status_code == 200
    r = call_next(staff)
    assert r.status_code == 200
    assert r.get_json() == {"ticket": None, "waiting": 0}
    seqs.append(snapshot(client)["seq"])

    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs), seqs

    events = staff.get(f"{B}/events?after=0").get_json()["events"]
    kinds = [e["kind"] for e in events if e["ticket_number"] == "A001"]
    assert kinds == ["issued", "called", "recalled", "serving", "finished"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_illegal_action_is_409_naming_the_allowed_actions(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    ticket = called(staff)
    err = error_of(act(staff, ticket["id"], "finish"), 409)
    assert err["error"] == "illegal_transition"
    assert "allowed: recall, start, no_show, return_to_queue, transfer" in err["message"]
    assert error_of(act(staff, 999, "start"), 404)["error"] == "unknown_ticket"


def test_counter_occupied_by_another_staff_is_409_and_takeover_works(
    app: Flask, staff: FlaskClient, client: FlaskClient
) -> None:
    other = staff_client(app, "li.na")
    err = error_of(sign_in(other, "2"), 409)
    assert err["error"] == "counter_occupied"
    assert err["details"] == {"signed_in": "zhang.wei"}
    r = sign_in(other, "2", takeover=True)
    assert r.status_code == 200
    assert r.get_json()["staff"] == "li.na"
    assert counter_in(snapshot(other, staff=True), "2")["staff"] == "li.na"
    # the replaced staff member can no longer call at counter 2
    issued(client, "BILL")
    assert error_of(call_next(staff), 403)["error"] == "not_your_counter"
    assert called(other)["number"] == "A001"


def test_call_next_while_a_ticket_is_called_is_counter_busy(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    issued(client, "BILL")
    ticket = called(staff)
    err = error_of(call_next(staff), 409)
    assert err["error"] == "counter_busy"
    assert err["details"]["current"] == ticket["number"]
    assert act(staff, ticket["id"], "start").status_code == 200
    assert error_of(call_next(staff), 409)["error"] == "counter_busy"
    assert act(staff, ticket["id"], "finish").status_code == 200
    assert called(staff)["number"] == "A002"


def test_call_next_while_paused_is_counter_paused(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    r = staff.post(f"{B}/counters/2/pause", json={"reason": "break"})
    assert r.status_code == 200
    assert r.get_json()["status"] == "paused"
    assert counter_in(snapshot(client), "2")["status"] == "paused"
    assert error_of(call_next(staff), 409)["error"] == "counter_paused"
    assert error_of(staff.post(f"{B}/counters/2/pause", json={"reason": "again"}), 409)["error"] == "already_paused"
    assert staff.post(f"{B}/counters/2/resume").status_code == 200
    assert called(staff)["number"] == "A001"


def test_stale_version_is_409(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    ticket = called(staff)
    assert ticket["version"] == 2
    err = error_of(act(staff, ticket["id"], "start", version=1), 409)
    assert err["error"] == "stale"
    assert err["details"] == {"state": "called", "version": 2}
    assert act(staff, ticket["id"], "recall", version=2).status_code == 200
    assert error_of(act(staff, ticket["id"], "start", version=2), 409)["error"] == "stale"
    assert act(staff, ticket["id"], "start", version=3).get_json()["ticket"]["state"] == "serving"


def test_transfer_to_another_service_goes_ahead_with_its_note(
    app: Flask, staff: FlaskClient, client: FlaskClient, clock: FakeClock
) -> None:
    broadband = issued(client, "BROADBAND")  # waits 10 minutes longer than the transferred ticket
    clock.advance(minutes=10)
    issued(client, "BILL")
    ticket = called(staff)
    assert ticket["number"] == "A001"
    r = staff.post(f"{B}/tickets/{ticket['id']}/transfer", json={"to_service": "BROADBAND", "note": NOTE})
    assert r.status_code == 200
    moved = r.get_json()["ticket"]
    assert (moved["state"], moved["service"], moved["issued_service"]) == ("waiting", "BROADBAND", "BILL")
    assert moved["transferred"] is True
    assert moved["transfer_note"] == NOTE
    assert moved["counter"] is None
    # counter 2 is free again, and serves no BROADBAND
    assert call_next(staff).get_json()["ticket"] is None
    # counter 5 (BROADBAND first) calls the transferred ticket first: it has the transfer head start
    other = staff_client(app, "li.na")
    assert sign_in(other, "5").status_code == 200
    order = other.get(f"{B}/counters/5/queue").get_json()["waiting"]
    assert [t["number"] for t in order] == ["A001", "C001"]
    first = called(other, "5")
    assert (first["number"], first["service"], first["transfer_note"]) == ("A001", "BROADBAND", NOTE)
    assert act(other, first["id"], "start").status_code == 200
    assert act(other, first["id"], "finish").status_code == 200
    assert called(other, "5")["id"] == broadband["id"]


def test_transfer_to_a_specific_counter_is_only_called_there(
    app: Flask, staff: FlaskClient, client: FlaskClient
) -> None:
    issued(client, "BILL")
    ticket = called(staff)
    r = staff.post(f"{B}/tickets/{ticket['id']}/transfer", json={"to_counter": "3", "version": ticket["version"]})
    assert r.status_code == 200
    assert r.get_json()["ticket"]["target_counter"] == "3"
    fast_lane = staff_client(app, "li.na")
    assert sign_in(fast_lane, "1").status_code == 200  # serves BILL, but the ticket was sent to counter 3
    assert fast_lane.get(f"{B}/counters/1/queue").get_json()["waiting"] == []
    assert call_next(fast_lane, "1").get_json()["ticket"] is None
    assert call_next(staff, "2").get_json()["ticket"] is None
    counter_3 = staff_client(app, "wang.fang")
    assert sign_in(counter_3, "3").status_code == 200
    got = called(counter_3, "3")
    assert (got["id"], got["counter"], got["target_counter"]) == (ticket["id"], "3", None)


def test_transfer_errors(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    ticket = called(staff)
    path = f"{B}/tickets/{ticket['id']}/transfer"
    assert error_of(staff.post(path, json={}), 422)["error"] == "transfer_target_missing"
    assert error_of(staff.post(path, json={"to_service": "NOPE"}), 404)["error"] == "unknown_service"
    assert error_of(staff.post(path, json={"to_counter": "99"}), 404)["error"] == "unknown_counter"
    assert error_of(staff.post(path, json={"to_service": "PLAN", "version": 1}), 409)["error"] == "stale"


# --- customers: cancel and reactivate ----------------------------------------------------------------


def test_customer_cancels_a_waiting_ticket(client: FlaskClient, staff: FlaskClient) -> None:
    ticket = issued(client, "BILL")
    r = client.post(f"/api/tickets/{ticket['token']}/cancel")
    assert r.status_code == 200
    assert r.get_json()["state"] == "cancelled"
    assert client.get(f"/api/tickets/{ticket['token']}").get_json()["state"] == "cancelled"
    assert snapshot(client)["waiting_total"] == 0
    assert call_next(staff).get_json()["ticket"] is None
    err = error_of(client.post(f"/api/tickets/{ticket['token']}/cancel"), 409)
    assert err["error"] == "illegal_transition"
    assert "final state" in err["message"]
    assert error_of(client.post("/api/tickets/nope/cancel"), 404)["error"] == "unknown_ticket"


def test_customer_cannot_cancel_once_called(client: FlaskClient, staff: FlaskClient) -> None:
    ticket = issued(client, "BILL")
    called(staff)
    assert error_of(client.post(f"/api/tickets/{ticket['token']}/cancel"), 409)["error"] == "illegal_transition"


def test_customer_reactivates_a_no_show_within_the_window(
    client: FlaskClient, staff: FlaskClient, clock: FakeClock
) -> None:
    ticket = issued(client, "BILL")
    called(staff)
    r = act(staff, ticket["id"], "no-show")
    assert r.get_json()["ticket"]["state"] == "no_show"
    assert counter_in(snapshot(client), "2")["current"] is None
    clock.advance(minutes=30)  # the window (reactivate_window_min = 30) is inclusive
    r = client.post(f"/api/tickets/{ticket['token']}/reactivate")
    assert r.status_code == 200
    assert (r.get_json()["state"], r.get_json()["counter"]) == ("waiting", None)
    err = error_of(client.post(f"/api/tickets/{ticket['token']}/reactivate"), 409)
    assert err["error"] == "illegal_transition"
    again = called(staff)
    assert (again["id"], again["queued_at"]) == (ticket["id"], clock.now.isoformat())


def test_reactivate_after_the_window_is_409(client: FlaskClient, staff: FlaskClient, clock: FakeClock) -> None:
    ticket = issued(client, "BILL")
    called(staff)
    assert act(staff, ticket["id"], "no-show").status_code == 200
    clock.advance(minutes=30, seconds=1)
    err = error_of(client.post(f"/api/tickets/{ticket['token']}/reactivate"), 409)
    assert err["error"] == "reactivate_window_passed"
    assert client.get(f"/api/tickets/{ticket['token']}").get_json()["state"] == "no_show"
    assert error_of(staff.post(f"{B}/tickets/{ticket['id']}/reactivate"), 409)["error"] == "reactivate_window_passed"


def test_staff_undo_a_no_show_over_http_once_with_a_retry_and_the_queue_lists_no_shows(
        client: FlaskClient, staff: FlaskClient, clock: FakeClock) -> None:
    ticket = issued(client, "BILL")
    called(staff)
    marked = act(staff, ticket["id"], "no-show").get_json()
    assert datetime.fromisoformat(marked["undo_until"]) == clock.now + timedelta(seconds=10)
    listed = staff.get(f"{B}/counters/2/queue").get_json()["no_shows"]
    assert [(t["number"], t["reactivate_until"]) for t in listed] == [
        (ticket["number"], (clock.now + timedelta(minutes=30)).isoformat())]
    path = f"{B}/tickets/{ticket['id']}/undo-no-show"
    body = {"version": marked["ticket"]["version"]}
    first = staff.post(path, json=body, headers={"Idempotency-Key": "undo-A001"})
    assert first.status_code == 200 and first.get_json()["ticket"]["state"] == "called"
    again = staff.post(path, json=body, headers={"Idempotency-Key": "undo-A001"})
    assert again.get_json() == {**first.get_json(), "replayed": True}
    assert error_of(staff.post(path, json=body), 409)["error"] == "stale"
    assert error_of(staff.post(path, json={"version": 0}), 422)["error"] == "invalid_request"
    assert error_of(client.post(path, json={}), 401)["error"] == "unauthenticated"
    assert counter_in(snapshot(client), "2")["current"]["number"] == ticket["number"]
    assert staff.get(f"{B}/counters/2/queue").get_json()["no_shows"] == []


# --- caps, hours, days ---------------------------------------------------------------------------


def test_daily_cap_reached_is_409(make_app: Callable[..., Flask]) -> None:
    def cap_bill_at_two(data: dict[str, Any]) -> None:
        data["branches"][0]["hours"] = "00:00-24:00"
        data["branches"][0]["services"][0]["daily_cap"] = 2

    client = make_app(cap_bill_at_two).test_client()
    first = issue(client, "BILL", key="one")
    assert first.status_code == 201
    assert issue(client, "BILL").status_code == 201
    err = error_of(issue(client, "BILL"), 409)
    assert err["error"] == "daily_cap_reached"
    assert err["details"] == {"daily_cap": 2}
    # a retry of a ticket issued before the cap was reached still gets its answer
    assert issue(client, "BILL", key="one").get_json()["number"] == first.get_json()["number"]
    bill = next(s for s in snapshot(client)["services"] if s["code"] == "BILL")
    assert (bill["issued_today"], bill["daily_cap_reached"]) == (2, True)
    assert issued(client, "PLAN")["number"] == "B001"  # other services are not affected


def test_service_closed_outside_its_hours_is_409(make_app: Callable[..., Flask], clock: FakeClock) -> None:
    client = make_app(lambda data: None).test_client()  # the demo hours: hall 09:00-21:00, DEVICE 10:00-21:00
    clock.now = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert issued(client, "BILL")["number"] == "A001"
    err = error_of(issue(client, "DEVICE"), 409)
    assert err["error"] == "service_closed"
    assert err["details"] == {"hours": "10:00-21:00", "opens_at": "2026-11-24T02:00:00+00:00", "closed_for": None}
    device = service_now(client, "DEVICE")
    assert (device["open"], device["opens_at"], device["open_until"]) == (False, "2026-11-24T02:00:00+00:00", None)
    assert (device["hours_today"], device["closes_at"]) == ("10:00-21:00", "2026-11-24T13:00:00+00:00")
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00
    assert issued(client, "DEVICE")["number"] == "D001"
    device = service_now(client, "DEVICE")
    assert (device["open"], device["opens_at"], device["open_until"]) == (True, None, "2026-11-24T13:00:00+00:00")
    clock.now = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 21:00: closed (closing time is exclusive)
    err = error_of(issue(client, "BILL"), 409)
    assert (err["error"], err["details"]["opens_at"]) == ("service_closed", "2026-11-25T01:00:00+00:00")
    clock.now = datetime(2026, 11, 24, 0, 59, tzinfo=UTC)  # 08:59
    assert error_of(issue(client, "BILL"), 409)["error"] == "service_closed"


def service_now(client: FlaskClient, code: str) -> dict[str, Any]:
    return next(s for s in snapshot(client)["services"] if s["code"] == code)


def test_a_lunch_break_weekends_and_holidays_refuse_tickets_and_say_when_it_opens(
        make_app: Callable[..., Flask], clock: FakeClock) -> None:
    """The demo's schedule: VIP 09:00-12:00 and 13:30-18:00, closed on Sundays and for National Day 2027;
    DEVICE 10:00-18:00 at weekends; the hall closed on 6 Feb 2027 (Spring Festival)."""
    client = make_app(lambda data: None).test_client()
    clock.now = datetime(2026, 11, 24, 4, 10, tzinfo=UTC)  # Tuesday 12:10 in Shanghai: lunch
    err = error_of(issue(client, "VIP"), 409)
    assert err["details"] == {"hours": "09:00-12:00, 13:30-18:00", "opens_at": "2026-11-24T05:30:00+00:00",
                              "closed_for": None}
    assert issued(client, "BILL")["number"] == "A001"
    clock.now = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)  # 13:30
    assert issued(client, "VIP")["number"] == "V001"
    assert service_now(client, "VIP")["open_until"] == "2026-11-24T10:00:00+00:00"

    clock.now = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)  # Saturday 18:30: DEVICE closed, BILL open
    assert service_now(client, "DEVICE")["opens_at"] == "2026-11-29T02:00:00+00:00"  # Sunday 10:00
    assert issued(client, "BILL")["number"] == "A001"
    clock.now = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # Sunday 10:00
    vip = service_now(client, "VIP")
    assert (vip["open"], vip["hours_today"], vip["opens_at"]) == (False, "closed", "2026-11-30T01:00:00+00:00")

    clock.now = datetime(2027, 10, 1, 2, 0, tzinfo=UTC)  # National Day: VIP only
    err = error_of(issue(client, "VIP"), 409)
    assert err["details"]["closed_for"] == {"zh-CN": "国庆节", "en": "National Day"}
    assert err["details"]["opens_at"] == "2027-10-08T01:00:00+00:00"  # Friday 8 October 09:00
    assert issued(client, "BILL")["number"] == "A001"

    clock.now = datetime(2027, 2, 6, 3, 0, tzinfo=UTC)  # Spring Festival: the whole hall
    for code in ("BILL", "DEVICE", "VIP"):
        err = error_of(issue(client, code), 409)
        assert err["details"]["closed_for"] == {"zh-CN": "春节", "en": "Spring Festival"}
    answer = snapshot(client)
    assert (answer["branch"]["hours_today"], answer["branch"]["closes_at"]) == ("closed", None)
    assert service_now(client, "BILL")["opens_at"] == "2027-02-07T02:00:00+00:00"  # holiday hours from 10:00
    clock.now = datetime(2027, 2, 5, 2, 0, tzinfo=UTC)  # New Year's Eve: closes at 17:00
    answer = snapshot(client)
    assert (answer["branch"]["hours_today"], answer["branch"]["closes_at"]) == (
        "09:00-17:00", "2027-02-05T09:00:00+00:00")
    assert service_now(client, "VIP")["hours_today"] == "09:00-12:00, 13:30-17:00"


def test_numbers_restart_at_local_midnight(client: FlaskClient, clock: FakeClock) -> None:
    assert issued(client, "BILL")["number"] == "A001"
    clock.now = datetime(2026, 11, 24, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert issued(client, "BILL")["number"] == "A002"
    clock.advance(minutes=1)  # 00:00 on the 25th in Shanghai, still the 24th in UTC
    assert issued(client, "BILL")["number"] == "A001"


# --- privacy of the public snapshot ----------------------------------------------------------------


def test_public_snapshot_hides_staff_tokens_and_notes_the_staff_view_shows_them(
    app: Flask, staff: FlaskClient, client: FlaskClient
) -> None:
    first = issued(client, "BILL")
    second = issued(client, "BILL")
    third = issued(client, "PLAN")
    assert called(staff)["id"] == first["id"]
    r = staff.post(f"{B}/tickets/{second['id']}/transfer", json={"to_service": "SIM", "note": NOTE})
    assert r.status_code == 200
    other = staff_client(app, "li.na")
    assert sign_in(other, "4").status_code == 200
    assert other.post(f"{B}/counters/4/pause", json={"reason": PAUSE_REASON}).status_code == 200

    public = snapshot(client)
    text = json.dumps(public, ensure_ascii=False)
    secrets = [
        "zhang.wei",
        "li.na",
        "张伟",
        "Zhang Wei",
        "李娜",
        "Li Na",
        NOTE,
        PAUSE_REASON,
        first["token"],
        second["token"],
        third["token"],
    ]
    for secret in secrets:
        assert secret not in text, secret
    assert "waiting" not in public
    assert "staff" not in counter_in(public, "2")
    assert counter_in(public, "2")["current"]["number"] == "A001"
    assert counter_in(public, "4")["status"] == "paused"
    assert public["waiting_total"] == 2
    # the customer's own ticket page does not show the note either
    mine = json.dumps(client.get(f"/api/tickets/{second['token']}").get_json(), ensure_ascii=False)
    assert NOTE not in mine and "zhang.wei" not in mine

    assert error_of(client.get(f"{B}/snapshot?view=staff"), 401)["error"] == "unauthenticated"
    private = snapshot(staff, staff=True)
    text = json.dumps(private, ensure_ascii=False)
    assert counter_in(private, "2")["staff"] == "zhang.wei"
    assert counter_in(private, "2")["current"]["staff"] == "zhang.wei"
    assert counter_in(private, "4")["staff"] == "li.na"
    assert counter_in(private, "4")["pause_reason"] == PAUSE_REASON
    transferred = next(t for t in private["waiting"] if t["id"] == second["id"])
    assert (transferred["transfer_note"], transferred["service"], transferred["transferred"]) == (NOTE, "SIM", True)
    assert [t["number"] for t in private["waiting"]] == ["A002", "B001"]
    for token in (first["token"], second["token"], third["token"]):
        assert token not in text


# --- documents and errors ----------------------------------------------------------------------------


def test_branches_lists_services_and_counters(client: FlaskClient) -> None:
    branches = client.get("/api/branches").get_json()["branches"]
    assert [b["code"] for b in branches] == [BRANCH]
    assert [c["number"] for c in branches[0]["counters"]] == [str(n) for n in range(1, 9)]
    assert {s["code"] for s in branches[0]["services"]} == {"BILL", "PLAN", "SIM", "BROADBAND", "DEVICE", "VIP"}


def test_branches_describe_the_opening_schedule(make_app: Callable[..., Flask]) -> None:
    branch = make_app(lambda data: None).test_client().get("/api/branches").get_json()["branches"][0]
    assert (branch["hours"], branch["hours_by_day"]) == ("09:00-21:00", {})
    services = {s["code"]: s for s in branch["services"]}
    assert (services["VIP"]["hours"], services["VIP"]["hours_by_day"]) == ("09:00-12:00, 13:30-18:00",
                                                                          {"sun": "closed"})
    assert services["DEVICE"]["hours_by_day"] == {"sat": "10:00-18:00", "sun": "10:00-18:00"}
    assert (services["BILL"]["hours"], services["BILL"]["hours_by_day"]) == ("09:00-21:00", {})
    assert branch["exceptions"][1] == {"date": "2027-02-06", "until": "2027-02-06", "hours": "closed",
                                       "name": {"zh-CN": "春节", "en": "Spring Festival"}, "services": []}
    assert branch["exceptions"][3]["services"] == ["VIP"]


def test_unknown_api_path_is_a_json_404(client: FlaskClient) -> None:
    body = error_of(client.get("/api/no/such/thing"), 404)
    assert body["error"] == "not_found"
    assert error_of(client.post(f"{B}/tickets/1/dance", json={}), 404)["error"] == "not_found"
    assert error_of(client.delete(f"{B}/tickets"), 405)["error"] == "method_not_allowed"


def test_call_a_chosen_ticket_put_a_no_show_back_and_sign_out(app: Flask, staff: FlaskClient) -> None:
    """The answers of these three are checked against their OpenAPI schemas like every other (build_app)."""
    first, second = issued(staff, "BILL"), issued(staff, "PLAN")
    r = staff.post(f"{B}/counters/2/call", json={"ticket_id": second["id"], "version": second["version"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ticket"]["number"] == second["number"] and r.get_json()["ticket"]["state"] == "called"
    assert act(staff, second["id"], "no-show").status_code == 200
    r = staff.post(f"{B}/tickets/{second['id']}/reactivate")
    assert r.status_code == 200 and r.get_json()["ticket"]["state"] == "waiting"
    r = staff.post(f"{B}/counters/2/sign-out")
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    assert snapshot(staff)["waiting_total"] == 2 and first["state"] == "waiting"


def test_openapi_documents_the_answers_of_the_core_commands(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    for path, method, model in [("/api/branches/{branch}/tickets", "post", "IssuedTicket"),
                                ("/api/branches/{branch}/snapshot", "get", "Snapshot"),
                                ("/api/branches/{branch}/counters/{counter}/call-next", "post", "Called")]:
        status = next(iter(paths[path][method]["responses"]))
        schema = paths[path][method]["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}
    ticket = openapi["components"]["schemas"]["IssuedTicket"]
    assert {"number", "token", "people_ahead", "estimate"} <= set(ticket["required"])
    assert openapi["components"]["schemas"]["Ticket"]["additionalProperties"] is False


def test_health_check_is_503_with_the_reason_when_the_database_is_gone(app: Flask, tmp_path: Path) -> None:
    hall = app.extensions["hall"]
    hall.uow.read_engine.dispose()
    (tmp_path / "hall.sqlite3").rename(tmp_path / "moved.sqlite3")
    (tmp_path / "hall.sqlite3").mkdir()  # the database path is now a folder: no connection can open it
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable" and body["database"].startswith("unavailable: "), body


def test_health_and_index_pages(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert client.get("/").status_code == 200


@pytest.fixture
def openapi(client: FlaskClient) -> dict[str, Any]:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.is_json
    return r.get_json()


def flask_routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path template, method) of every /api route the app serves, except the document itself."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        template = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((template, method.lower()))
    return routes


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def test_openapi_document_is_3_1_shaped(openapi: dict[str, Any]) -> None:
    assert openapi["openapi"].startswith("3.1.")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    assert isinstance(openapi["paths"], dict) and openapi["paths"]
    operation_ids = []
    for path, item in openapi["paths"].items():
        assert path.startswith("/api/")
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["summary"] and op["tags"]
            operation_ids.append(op["operationId"])
            assert op["responses"], (method, path)
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status)
                assert response["description"]
            for param in op["parameters"]:
                assert param["in"] in {"path", "query", "header", "cookie"}
                assert "schema" in param
                if param["in"] == "path":
                    assert param["required"] is True
            if "security" in op:
                for requirement in op["security"]:
                    assert set(requirement) <= set(openapi["components"]["securitySchemes"])
    assert len(operation_ids) == len(set(operation_ids))


def test_openapi_refs_and_request_bodies_point_at_existing_schemas(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    for ref in refs_in(openapi):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    with_body = {(ep.rule, ep.method) for ep in ENDPOINTS if ep.body is not None}
    assert with_body
    found = 0
    for item in openapi["paths"].values():
        for op in item.values():
            if "requestBody" in op:
                found += 1
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = schemas[ref.removeprefix("#/components/schemas/")]
                assert schema["type"] == "object"
                assert schema.get("additionalProperties") is False  # unknown fields are refused
    assert found == len(with_body)
    assert "IssueTicketRequest" in schemas
    assert schemas["IssueTicketRequest"]["required"] == ["service"]


def test_openapi_lists_every_registered_route(app: Flask, openapi: dict[str, Any]) -> None:
    """BUG server/api/registry.py:66: ``_PATH_PARAM`` does not match converters with arguments such as
    ``<any(recall,start,...):action>``, so the ticket-action route is listed under a raw werkzeug rule."""
    documented = {(path, method) for path, item in openapi["paths"].items() for method in item}
    missing = flask_routes(app) - documented
    assert not missing, f"routes missing from /api/openapi.json: {sorted(missing)}"


def test_openapi_path_templates_declare_their_parameters(openapi: dict[str, Any]) -> None:
    """Same bug as above: the ``action`` path parameter is not declared and the path keeps ``<any(...)>``."""
    for path, item in openapi["paths"].items():
        assert "<" not in path and ">" not in path, path
        in_template = set(re.findall(r"\{(\w+)\}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert declared == in_template, (method, path)


def test_staff_routes_require_the_session_in_openapi(openapi: dict[str, Any]) -> None:
    call_next_op = openapi["paths"]["/api/branches/{branch}/counters/{counter}/call-next"]["post"]
    assert call_next_op["security"] == [{"staffSession": []}]
    assert "403" in call_next_op["responses"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in call_next_op["parameters"])
    issue_op = openapi["paths"]["/api/branches/{branch}/tickets"]["post"]
    assert issue_op["security"] == [{}, {"apiToken": []}]  # anyone, or an integration's token
    assert issue_op["x-token-scope"] == "act"
    assert "201" in issue_op["responses"]
    assert openapi["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_call_next_idempotency_key_replays_the_call(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    issued(client, "BILL")
    first = staff.post(f"{B}/counters/2/call-next", headers={"Idempotency-Key": "press-1"})
    retry = staff.post(f"{B}/counters/2/call-next", headers={"Idempotency-Key": "press-1"})
    assert first.status_code == retry.status_code == 200
    assert retry.get_json()["replayed"] is True
    assert retry.get_json()["ticket"]["id"] == first.get_json()["ticket"]["id"]
    assert snapshot(client)["waiting_total"] == 1


def test_people_ahead_follows_the_policy(client: FlaskClient, kiosk: FlaskClient, clock: FakeClock) -> None:
    issued(client, "BILL")
    clock.advance(minutes=1)
    elderly = issued(kiosk, "BILL", priority="priority")
    assert elderly["people_ahead"] == 0  # the 15 minute head start puts it first
    assert issued(client, "BILL")["people_ahead"] == 2


def test_finish_and_call_next_over_http(staff: FlaskClient, client: FlaskClient) -> None:
    issued(client, "BILL")
    following = issued(client, "BILL")
    ticket = called(staff)
    started = staff.post(f"{B}/tickets/{ticket['id']}/start", json={}).get_json()["ticket"]
    r = staff.post(f"{B}/counters/2/finish-and-call-next", json={"version": started["version"]},
                   headers={"Idempotency-Key": "tap-1"})
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert (answer["finished"]["id"], answer["finished"]["state"]) == (ticket["id"], "done")
    assert answer["ticket"]["number"] == following["number"]
    assert error_of(staff.post(f"{B}/counters/2/finish-and-call-next", json={"version": "x"}), 422)
    assert error_of(client.post(f"{B}/counters/2/finish-and-call-next", json={}), 401)["error"] == "unauthenticated"


def test_stop_and_resume_issue_over_the_api(app: Flask, client: FlaskClient, staff: FlaskClient) -> None:
    manager = manager_client(app)
    body = {"service": "BILL", "reason": "custom", "text": {"zh-CN": "今天号满", "en": "Full today"}}
    assert error_of(staff.post(f"{B}/issue-stops", json=body), 403)["error"] == "manager_only"
    created = manager.post(f"{B}/issue-stops", json=body)
    assert created.status_code == 201
    stop = created.get_json()
    refused = error_of(issue(client, "BILL"), 409)
    assert refused["error"] == "issuing_stopped" and refused["details"]["reason"]["en"] == "Full today"
    assert manager.get(f"{B}/issue-stops").get_json()["stops"] == [stop]
    assert client.get(f"{B}/snapshot").get_json()["issue_stops"] == [stop]
    # nonsense is refused with the field named, and changes nothing
    assert error_of(manager.post(f"{B}/issue-stops", json={"reason": "custom"}), 422)["details"]["field"] == "text"
    assert error_of(manager.post(f"{B}/issue-stops", json={"reason": "busy", "until": "2026-11-24T09:00:00"}),
                    422)["error"] == "invalid_request"
    assert error_of(manager.post(f"{B}/issue-stops", json={"reason": "busy", "service": "NOPE"}), 404)
    assert len(manager.get(f"{B}/issue-stops").get_json()["stops"]) == 1
    resumed = manager.post(f"{B}/issue-stops/{stop['id']}/resume")
    assert resumed.status_code == 200 and resumed.get_json()["id"] == stop["id"]
    assert error_of(manager.post(f"{B}/issue-stops/{stop['id']}/resume"), 409)["error"] == "not_stopped"
    assert issue(client, "BILL").status_code == 201


def manager_client(app: Flask) -> FlaskClient:
    c = app.test_client()
    assert c.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    return c


def test_day_summaries_over_the_api(app: Flask, client: FlaskClient, staff: FlaskClient, clock: FakeClock) -> None:
    issue(client, "BILL")
    clock.advance(days=1)
    assert issue(client, "BILL").status_code == 201  # the first ticket of the new day ends the old one
    manager = manager_client(app)  # signed in today (yesterday's session would have ended, unused for a day)
    days = manager.get(f"{B}/days").get_json()
    assert [d["day"] for d in days["days"]] == ["2026-11-24"]
    [figures] = days["days"][0]["services"]
    assert (figures["service_code"], figures["issued"], figures["expired"]) == ("BILL", 1, 1)
    assert error_of(staff_client(app, "zhang.wei").get(f"{B}/days"), 403)["error"] == "forbidden"
    assert error_of(manager.get(f"{B}/days?from=2026-11-30&to=2026-11-01"), 400)["error"] == "bad_date_range"
    assert error_of(manager.get(f"{B}/days?from=yesterday"), 400)["details"]["parameter"] == "from"


def test_staffing_advice_over_the_api(app: Flask, client: FlaskClient) -> None:
    issue(client, "BILL")
    manager = manager_client(app)
    advice = manager.get(f"{B}/staffing?date=2026-12-01").get_json()  # validated against its response model
    assert advice["date"] == "2026-12-01" and len(advice["hours"]) == 24 and not advice["today"]
    today = manager.get(f"{B}/staffing").get_json()
    assert today["date"] == "2026-11-24" and today["today"] and today["hours"][10]["open"] == 0
    assert today["hours"][9]["open"] is None  # an hour of today that is over: nothing to say about it
    for day, code in (("2025-11-23", "date_too_early"), ("2027-01-24", "date_too_far")):
        refused = error_of(manager.get(f"{B}/staffing?date={day}"), 400)
        assert refused["error"] == code and refused["details"]["parameter"] == "date"
    assert error_of(manager.get(f"{B}/staffing?date=1.12.2026"), 400)["details"]["parameter"] == "date"
    assert manager.get(f"{B}/staffing?date=2025-11-24").status_code == 200  # a year back, just
    assert error_of(staff_client(app, "zhang.wei").get(f"{B}/staffing"), 403)["error"] == "forbidden"
    assert error_of(app.test_client().get(f"{B}/staffing"), 401)
    assert manager.get(f"{B}/days?from=2026-11-25&to=2026-11-25").get_json()["days"] == []


@pytest.mark.parametrize("priority", ["vip", "appointment"])
def test_only_staff_issue_vip_and_appointment_tickets(client: FlaskClient, kiosk: FlaskClient, staff: FlaskClient,
                                                      priority: str) -> None:
    """A stranger on the hall Wi-Fi cannot give themselves a head start; the paired kiosk's priority lane stays
    open, but not a VIP or appointment ticket."""
    assert error_of(issue(client, "PLAN", priority=priority), 401)["error"] == "unauthenticated"
    assert error_of(issue(kiosk, "PLAN", priority=priority), 401)["error"] == "unauthenticated"
    assert issue(kiosk, "PLAN", priority="priority").status_code == 201
    made = issue(staff, "PLAN", priority=priority)
    assert made.status_code == 201 and made.get_json()["priority"] == priority
    events = staff.get(f"{B}/events?after=0").get_json()["events"]
    assert [e["staff"] for e in events if e["kind"] == "issued"] == [None, "zhang.wei"]
