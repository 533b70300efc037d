"""Ratings, follow-ups and the staff "my day" summary: the service layer on SQLite and PostgreSQL, then the API."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.app import create_app
from server.domain.errors import DomainError
from server.domain.tickets import Action, EventKind
from server.realtime import public_event
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_client
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")
ZHANG_PAD = Actor("zhang.wei", "staff", "pad-2")  # signed in at counter 2, on a device that calls itself pad-2
MANAGER = Actor("manager", "manager")
ANONYMOUS = Actor(None)
COMMENT = "the printer ate my form COMMENT-5e1d"
NOTE = "called the customer back NOTE-c4a9"
NAMES = ("zhang.wei", "张伟", "Zhang Wei")


def refused(code: str) -> Any:
    """``pytest.raises`` for a DomainError with this code."""
    return pytest.raises(DomainError, check=lambda e: e.code == code)


# --- the service layer on both databases ------------------------------------------------------------


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    service = build_service(database_url, tmp_path, clock, publisher)
    service.counters.sign_in(BRANCH, "2", ZHANG)
    service.counters.sign_in(BRANCH, "3", LI)
    return service


@pytest.fixture
def ratings(hall: HallService, clock: FakeClock) -> Iterator[RatingService]:
    yield RatingService(hall.config, hall.uow, clock=clock)
    hall.uow.engine.dispose()
    hall.uow.read_engine.dispose()


def with_settings(service: RatingService, **changes: Any) -> RatingService:
    config = dataclasses.replace(service.config, ratings=dataclasses.replace(service.config.ratings, **changes))
    return RatingService(config, service.uow, clock=service.clock)


def serve(hall: HallService, clock: FakeClock, *, counter: str = "2", actor: Actor = ZHANG, service: str = "BILL",
          walk_up_min: float = 0.5, service_min: float = 4, finish: bool = True) -> dict[str, Any]:
    """Issue a ticket, call it at ``counter``, start it and (by default) finish it; returns the issued ticket."""
    ticket = hall.tickets.issue(BRANCH, service)
    hall.counters.call_ticket(BRANCH, counter, ticket["id"], actor)
    clock.advance(minutes=walk_up_min)
    hall.tickets.act(BRANCH, ticket["id"], Action.START, actor)
    clock.advance(minutes=service_min)
    if finish:
        hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, actor)
    return ticket


def test_a_ticket_is_rated_once(hall: HallService, ratings: RatingService, clock: FakeClock) -> None:
    ticket = serve(hall, clock)
    before = ratings.rating_state(ticket["token"])
    assert (before["rated"], before["can_rate"], before["state"]) == (False, True, "done")
    assert before["rate_until"] == (clock.now + timedelta(minutes=30)).isoformat()

    clock.advance(minutes=2)
    rating = ratings.rate_by_token(ticket["token"], 3, reasons=["FRIENDLY", "FAST"], comment="  very quick  ")
    assert rating == {"ticket_id": ticket["id"], "number": "A001", "score": 3, "scale": "three",
                      "reasons": ["FRIENDLY", "FAST"], "comment": "very quick", "channel": "mobile",
                      "rated_at": clock.now.isoformat(), "call_back": False, "follow_up_opened": False}
    after = ratings.rating_state(ticket["token"])
    assert (after["rated"], after["can_rate"]) == (True, False)
    assert after["rating"]["score"] == 3

    with refused("already_rated"):
        ratings.rate_by_token(ticket["token"], 1)
    with refused("already_rated"):
        ratings.rate_at_counter(BRANCH, "2", ticket["id"], 2, actor=ZHANG)
    assert ratings.cases.cases(BRANCH, MANAGER)["follow_ups"] == []


def test_only_a_finished_ticket_can_be_rated(hall: HallService, ratings: RatingService, clock: FakeClock) -> None:
    waiting = hall.tickets.issue(BRANCH, "BILL")
    with refused("not_finished"):
        ratings.rate_by_token(waiting["token"], 3)
    hall.counters.call_ticket(BRANCH, "2", waiting["id"], ZHANG)
    with refused("not_finished"):
        ratings.rate_at_counter(BRANCH, "2", waiting["id"], 3, actor=ZHANG)
    hall.tickets.act(BRANCH, waiting["id"], Action.START, ZHANG)
    with refused("not_finished"):
        ratings.rate_at_counter(BRANCH, "2", waiting["id"], 3, actor=ZHANG)
    hall.tickets.act(BRANCH, waiting["id"], Action.FINISH, ZHANG)

    no_show = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.call_ticket(BRANCH, "2", no_show["id"], ZHANG)
    hall.tickets.act(BRANCH, no_show["id"], Action.NO_SHOW, ZHANG)
    with refused("not_finished"):
        ratings.rate_at_counter(BRANCH, "2", no_show["id"], 3, actor=ZHANG)
    cancelled = hall.tickets.issue(BRANCH, "BILL")
    hall.tickets.cancel_by_customer(cancelled["token"])
    with refused("not_finished"):
        ratings.rate_by_token(cancelled["token"], 3)
    state = ratings.rating_state(cancelled["token"])
    assert (state["rated"], state["can_rate"], state["rate_until"]) == (False, False, None)
    with refused("unknown_ticket"):
        ratings.rate_by_token("no-such-token", 3)


def test_pad_rates_only_its_own_counters_ticket_within_the_window(
    hall: HallService, ratings: RatingService, clock: FakeClock
) -> None:
    first = serve(hall, clock)
    finished_at = clock.now
    prompt = ratings.pad_prompt(BRANCH, "2", ZHANG)
    assert prompt["pad_timeout_s"] == 60
    assert prompt["ticket"] == {"id": first["id"], "number": "A001", "service": "BILL",
                                "finished_at": finished_at.isoformat(), "rated": False,
                                "ask_until": (finished_at + timedelta(seconds=60)).isoformat(),
                                "rate_until": (finished_at + timedelta(minutes=30)).isoformat()}
    assert ratings.pad_prompt(BRANCH, "3", LI)["ticket"] is None

    with refused("wrong_counter"):
        ratings.rate_at_counter(BRANCH, "3", first["id"], 3, actor=LI)
    with refused("unknown_counter"):
        ratings.rate_at_counter(BRANCH, "99", first["id"], 3, actor=ZHANG)
    with refused("unknown_ticket"):
        ratings.rate_at_counter(BRANCH, "2", 999_999, 3, actor=ZHANG)

    clock.advance(minutes=30)  # exactly at the end of the window: still accepted
    assert ratings.rate_at_counter(BRANCH, "2", first["id"], 2, actor=ZHANG_PAD)["channel"] == "pad"
    assert ratings.pad_prompt(BRANCH, "2", ZHANG)["ticket"]["rated"] is True

    second = serve(hall, clock)
    clock.advance(minutes=30, seconds=1)
    with refused("rating_window_passed"):
        ratings.rate_at_counter(BRANCH, "2", second["id"], 3, actor=ZHANG)
    with refused("rating_window_passed"):
        ratings.rate_by_token(second["token"], 3)
    assert ratings.rating_state(second["token"])["can_rate"] is False
    assert ratings.pad_prompt(BRANCH, "2", ZHANG)["ticket"] is None


def test_bad_score_reason_or_comment_is_refused_and_nothing_is_written(
    hall: HallService, ratings: RatingService, clock: FakeClock
) -> None:
    ticket = serve(hall, clock)
    for score in (0, 4, 5):
        with refused("bad_score"):
            ratings.rate_by_token(ticket["token"], score)
    with refused("unknown_reason"):
        ratings.rate_by_token(ticket["token"], 3, reasons=["WAIT_LONG"])  # a low reason with a high score
    with refused("unknown_reason"):
        ratings.rate_by_token(ticket["token"], 1, reasons=["NOPE"])
    with refused("duplicate_reason"):
        ratings.rate_by_token(ticket["token"], 1, reasons=["SLOW", "SLOW"])
    with refused("comment_too_long"):
        ratings.rate_by_token(ticket["token"], 3, comment="x" * 201)
    assert ratings.rating_state(ticket["token"])["rated"] is False
    assert ratings.rate_by_token(ticket["token"], 3, comment="x" * 200)["comment"] == "x" * 200


def test_dissatisfied_rating_opens_a_follow_up_that_a_manager_resolves(
    hall: HallService, ratings: RatingService, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    ticket = serve(hall, clock)
    rating = ratings.rate_at_counter(BRANCH, "2", ticket["id"], 1, reasons=["WAIT_LONG", "SLOW"], comment=COMMENT,
                                     actor=ZHANG)
    assert rating["follow_up_opened"] is True
    assert publisher.kinds()[-2:] == [EventKind.RATED.value, EventKind.FOLLOW_UP_OPENED.value]

    for actor, code in ((ZHANG, "manager_only"), (ANONYMOUS, "unauthenticated")):
        with refused(code):
            ratings.cases.cases(BRANCH, actor)
        with refused("not_owner" if actor is ZHANG else code):
            ratings.cases.resolve(BRANCH, 1, actor, "explained", NOTE)
        with refused(code):
            ratings.cases.assign(BRANCH, 1, actor, "li.na")

    [follow_up] = ratings.cases.cases(BRANCH, MANAGER)["follow_ups"]
    assert follow_up["state"] == "open"
    assert follow_up["ticket"]["number"] == "A001"
    assert (follow_up["counter"], follow_up["staff"], follow_up["score"]) == ("2", "zhang.wei", 1)
    assert follow_up["staff_display_name"] == "张伟 Zhang Wei"
    assert [r["code"] for r in follow_up["reasons"]] == ["WAIT_LONG", "SLOW"]
    assert follow_up["reasons"][0]["text"] == {"zh-CN": "等待时间太长", "en": "Waited too long"}
    assert (follow_up["comment"], follow_up["channel"], follow_up["owner"]) == (COMMENT, "pad", None)

    with refused("unknown_owner"):
        ratings.cases.assign(BRANCH, follow_up["id"], MANAGER, "nobody")
    assigned = ratings.cases.assign(BRANCH, follow_up["id"], MANAGER, "li.na")
    assert (assigned["owner"], assigned["state"]) == ("li.na", "open")
    with refused("bad_note"):
        ratings.cases.resolve(BRANCH, follow_up["id"], MANAGER, "explained", "   ")
    with refused("unknown_follow_up"):
        ratings.cases.resolve(BRANCH, follow_up["id"] + 100, MANAGER, "explained", NOTE)

    clock.advance(hours=2)
    resolved = ratings.cases.resolve(BRANCH, follow_up["id"], MANAGER, "explained", NOTE)
    assert (resolved["state"], resolved["owner"], resolved["resolution_note"]) == ("resolved", "li.na", NOTE)
    assert resolved["resolved_at"] == clock.now.isoformat()
    with refused("bad_transition"):
        ratings.cases.resolve(BRANCH, follow_up["id"], MANAGER, "explained", NOTE)
    with refused("already_resolved"):
        ratings.cases.assign(BRANCH, follow_up["id"], MANAGER, "zhang.wei")
    assert ratings.cases.cases(BRANCH, MANAGER)["follow_ups"] == []
    assert [f["id"] for f in ratings.cases.cases(BRANCH, MANAGER, show="resolved")["follow_ups"]] == [follow_up["id"]]
    assert len(ratings.cases.cases(BRANCH, MANAGER, show="all")["follow_ups"]) == 1
    with refused("bad_query"):
        ratings.cases.cases(BRANCH, MANAGER, show="closed")

    kinds = [EventKind.RATED, EventKind.FOLLOW_UP_OPENED, EventKind.FOLLOW_UP_ASSIGNED, EventKind.FOLLOW_UP_RESOLVED]
    events = [e for e in publisher.events if e["kind"] in kinds]
    assert [e["kind"] for e in events] == kinds
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    for event in events:
        public = json.dumps(public_event(event), ensure_ascii=False)
        for secret in (*NAMES, "li.na", COMMENT, NOTE):
            assert secret not in public, (event["kind"], secret)
    assert events[0]["private"]["rating"]["comment"] == COMMENT
    assert events[0]["private"]["rated_staff"] == "zhang.wei"
    assert events[1]["private"]["follow_up"]["staff"] == "zhang.wei"
    assert events[3]["private"]["reason"] == NOTE
    history = hall.queries.events_since(BRANCH, 0)
    rated = next(e for e in history if e["kind"] == "rated")
    assert (rated["data"]["score"], rated["data"]["dissatisfied"], rated["device"]) == (1, True, None)


def test_satisfied_rating_opens_no_follow_up(hall: HallService, ratings: RatingService, clock: FakeClock) -> None:
    ticket = serve(hall, clock)
    assert ratings.rate_by_token(ticket["token"], 2, reasons=["SOLVED"])["follow_up_opened"] is False
    assert ratings.cases.cases(BRANCH, MANAGER, show="all")["follow_ups"] == []


def test_five_star_scale_with_configured_dissatisfied_scores(
    hall: HallService, ratings: RatingService, clock: FakeClock
) -> None:
    stars = with_settings(ratings, scale="five", dissatisfied_scores=(1, 2, 3))
    config = stars.rating_config()
    assert [s["score"] for s in config["scores"]] == [5, 4, 3, 2, 1]
    assert [s["dissatisfied"] for s in config["scores"]] == [False, False, True, True, True]
    assert stars.rate_by_token(serve(hall, clock)["token"], 3, reasons=["NOT_SOLVED"])["follow_up_opened"] is True
    assert stars.rate_by_token(serve(hall, clock)["token"], 4, reasons=["FAST"])["follow_up_opened"] is False
    with refused("bad_score"):
        stars.rate_by_token(serve(hall, clock)["token"], 6)
    day = stars.staff_day(BRANCH, ZHANG)["ratings"]
    assert day == {"count": 2, "scale": "five", "average_score": 3.5, "satisfied_share": 0.5,
                   "by_score": {"5": 0, "4": 1, "3": 1, "2": 0, "1": 0}}


def test_day_summary_counts_the_branch_local_day(
    hall: HallService, ratings: RatingService, clock: FakeClock
) -> None:
    # 23:50-23:55 in Shanghai on the 23rd (15:50 UTC): yesterday, not counted
    clock.now = datetime(2026, 11, 23, 15, 50, tzinfo=UTC)
    yesterday = serve(hall, clock, walk_up_min=1, service_min=4)
    ratings.rate_by_token(yesterday["token"], 1)
    # 00:10 in Shanghai on the 24th is still the 23rd in UTC: counted
    clock.now = datetime(2026, 11, 23, 16, 10, tzinfo=UTC)
    early = serve(hall, clock, walk_up_min=1, service_min=3)
    ratings.rate_by_token(early["token"], 3, reasons=["FRIENDLY"])

    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    serve(hall, clock, walk_up_min=0.5, service_min=6)  # not rated
    late_rated = serve(hall, clock, walk_up_min=2, service_min=9)
    ratings.rate_at_counter(BRANCH, "2", late_rated["id"], 1, reasons=["SLOW"], actor=ZHANG)
    missed = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.call_ticket(BRANCH, "2", missed["id"], ZHANG)
    hall.tickets.act(BRANCH, missed["id"], Action.NO_SHOW, ZHANG)
    hall.tickets.reactivate(BRANCH, missed["id"], ZHANG)  # back in the queue: the no-show still counts
    serving = serve(hall, clock, finish=False)  # still at the counter: not served yet
    others = serve(hall, clock, counter="3", actor=LI, service="PLAN", service_min=20)
    ratings.rate_by_token(others["token"], 2)

    day = ratings.staff_day(BRANCH, ZHANG)
    assert day["day"] == "2026-11-24"
    assert day["timezone"] == "Asia/Shanghai"
    assert (day["staff"], day["display_name"]) == ("zhang.wei", "张伟 Zhang Wei")
    assert day["served"] == 3
    assert day["no_shows"] == 1
    assert day["average_service_min"] == 6.0  # (3 + 6 + 9) / 3, from service start to finish
    assert day["ratings"] == {"count": 2, "scale": "three", "average_score": 2.0, "satisfied_share": 0.5,
                              "by_score": {"3": 1, "2": 0, "1": 1}}
    assert serving["id"]

    li = ratings.staff_day(BRANCH, LI)
    assert (li["served"], li["no_shows"], li["average_service_min"]) == (1, 0, 20.0)
    assert li["ratings"]["count"] == 1 and li["ratings"]["satisfied_share"] == 1.0

    quiet = ratings.staff_day(BRANCH, Actor("wang.fang", "staff"))
    assert (quiet["served"], quiet["no_shows"], quiet["average_service_min"]) == (0, 0, None)
    assert quiet["ratings"]["average_score"] is None and quiet["ratings"]["satisfied_share"] is None
    with refused("unauthenticated"):
        ratings.staff_day(BRANCH, ANONYMOUS)
    with refused("unknown_branch"):
        ratings.staff_day("NOWHERE", ZHANG)


def test_two_ratings_of_one_ticket_in_a_row_leave_one_row(
    hall: HallService, ratings: RatingService, clock: FakeClock
) -> None:
    """The pad and the phone rate the same ticket: the branch lock lets exactly one of them in."""
    ticket = serve(hall, clock)
    ratings.rate_at_counter(BRANCH, "2", ticket["id"], 1, actor=ZHANG)
    with refused("already_rated"):
        ratings.rate_by_token(ticket["token"], 3)
    assert len(ratings.cases.cases(BRANCH, MANAGER)["follow_ups"]) == 1
    assert ratings.rating_state(ticket["token"])["rating"]["channel"] == "pad"


# --- the HTTP API (SQLite) ----------------------------------------------------------------------------

B = f"/api/branches/{BRANCH}"
PASSWORD = "demo-staff"


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path)
    app, _socketio = create_app(config, clock=clock, publisher=publisher)
    yield app
    hall = app.extensions["hall"]
    hall.uow.engine.dispose()
    hall.uow.read_engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def signed_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    c = app.test_client()
    r = c.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return c


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    """zhang.wei, signed in at counter 2."""
    c = signed_in(app, "zhang.wei")
    assert c.post(f"{B}/counters/2/sign-in", json={}).status_code == 200
    return c


@pytest.fixture
def manager(app: Flask) -> FlaskClient:
    return signed_in(app, "manager", "demo-manager")


@pytest.fixture
def pad(app: Flask) -> FlaskClient:
    """The device paired as counter 2's rating pad."""
    return paired_client(app, "pad", "2")


def finished(client: FlaskClient, staff: FlaskClient, clock: FakeClock, service_min: float = 4) -> dict[str, Any]:
    r = client.post(f"{B}/tickets", json={"service": "BILL"})
    assert r.status_code == 201, r.get_json()
    ticket = r.get_json()
    assert staff.post(f"{B}/counters/2/call", json={"ticket_id": ticket["id"]}).status_code == 200
    assert staff.post(f"{B}/tickets/{ticket['id']}/start", json={}).status_code == 200
    clock.advance(minutes=service_min)
    assert staff.post(f"{B}/tickets/{ticket['id']}/finish", json={}).status_code == 200
    return ticket


def error_of(r: TestResponse, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    body = r.get_json()
    assert set(body) >= {"error", "message"} and body["message"]
    return body


def test_rating_config_is_public(client: FlaskClient) -> None:
    config = client.get("/api/ratings/config").get_json()
    assert config["scale"] == "three"
    high = ["FRIENDLY", "FAST", "PROFESSIONAL", "SOLVED"]
    assert {k: v for k, v in config["scores"][0].items() if k != "reasons"} == {
        "score": 3, "label": {"zh-CN": "非常满意", "en": "Very satisfied"}, "dissatisfied": False}
    assert config["dissatisfied_scores"] == [1]
    # each score carries the chips offered with it: the pad and the phone page take them from here
    assert [[c["code"] for c in s["reasons"]] for s in config["scores"]] == [
        high, high, ["WAIT_LONG", "ATTITUDE", "SLOW", "NOT_SOLVED", "UNCLEAR"]]
    assert config["scores"][2]["reasons"][0] == {"code": "WAIT_LONG",
                                                 "text": {"zh-CN": "等待时间太长", "en": "Waited too long"}}
    assert (config["pad_timeout_s"], config["rating_window_min"], config["comment_max_length"]) == (60, 30, 200)


def test_customer_rates_once_on_the_phone_page(client: FlaskClient, staff: FlaskClient, clock: FakeClock) -> None:
    ticket = finished(client, staff, clock)
    rating_url = f"/api/tickets/{ticket['token']}/rating"
    state = client.get(rating_url).get_json()
    assert (state["rated"], state["can_rate"]) == (False, True)
    r = client.post(rating_url, json={"score": 3, "reasons": ["FRIENDLY"], "comment": "thanks"})
    assert r.status_code == 201
    assert r.get_json()["score"] == 3 and "staff" not in r.get_json()
    assert error_of(client.post(rating_url, json={"score": 2}), 409)["error"] == "already_rated"
    assert client.get(rating_url).get_json()["rated"] is True
    assert error_of(client.get("/api/tickets/nope/rating"), 404)["error"] == "unknown_ticket"


def test_rating_an_unfinished_ticket_is_409(client: FlaskClient, staff: FlaskClient, pad: FlaskClient) -> None:
    ticket = client.post(f"{B}/tickets", json={"service": "BILL"}).get_json()
    r = client.post(f"/api/tickets/{ticket['token']}/rating", json={"score": 3})
    assert error_of(r, 409)["error"] == "not_finished"
    r = pad.post(f"{B}/counters/2/rating", json={"ticket_id": ticket["id"], "score": 3})
    assert error_of(r, 409)["error"] == "not_finished"


def test_pad_rates_its_counters_ticket_within_the_window(
    app: Flask, client: FlaskClient, staff: FlaskClient, pad: FlaskClient, clock: FakeClock
) -> None:
    ticket = finished(client, staff, clock)
    prompt = pad.get(f"{B}/counters/2/rating").get_json()
    assert prompt["ticket"]["id"] == ticket["id"] and prompt["ticket"]["rated"] is False
    body = {"ticket_id": ticket["id"], "score": 2, "reasons": ["FAST"]}
    pad_3 = paired_client(app, "pad", "3")
    assert error_of(pad_3.post(f"{B}/counters/3/rating", json=body), 409)["error"] == "wrong_counter"
    assert error_of(pad.post(f"{B}/counters/99/rating", json=body), 404)["error"] == "unknown_counter"
    r = pad.post(f"{B}/counters/2/rating", json=body, headers={"X-Device-Id": "pad-2"})
    assert r.status_code == 201 and r.get_json()["channel"] == "pad"

    late = finished(client, staff, clock)
    clock.advance(minutes=31)
    r = pad.post(f"{B}/counters/2/rating", json={"ticket_id": late["id"], "score": 3})
    assert error_of(r, 409)["error"] == "rating_window_passed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "score"),
        ({"score": "3"}, "score"),
        ({"score": True}, "score"),
        ({"score": 0}, "score"),
        ({"score": 9}, "score"),
        ({"score": 3, "comment": "x" * 201}, "comment"),
        ({"score": 3, "reasons": "FAST"}, "reasons"),
        ({"score": 3, "stars": 3}, "stars"),
    ],
    ids=["missing", "string", "bool", "zero", "nine", "long-comment", "reasons-not-list", "unknown-field"],
)
def test_bad_rating_body_is_422_naming_the_field(
    client: FlaskClient, staff: FlaskClient, pad: FlaskClient, clock: FakeClock, body: dict[str, Any], field: str
) -> None:
    ticket = finished(client, staff, clock)
    err = error_of(client.post(f"/api/tickets/{ticket['token']}/rating", json=body), 422)
    assert err["error"] == "invalid_request"
    assert [p["field"] for p in err["details"]["problems"]] == [field]
    refused = error_of(pad.post(f"{B}/counters/2/rating", json=body), 422)
    assert "ticket_id" in [p["field"] for p in refused["details"]["problems"]]
    assert client.get(f"/api/tickets/{ticket['token']}/rating").get_json()["rated"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"score": 5}, "bad_score"),
        ({"score": 3, "reasons": ["WAIT_LONG"]}, "unknown_reason"),
        ({"score": 1, "reasons": ["SLOW", "SLOW"]}, "duplicate_reason"),
    ],
)
def test_rating_outside_the_configuration_is_422_with_a_reason(
    client: FlaskClient, staff: FlaskClient, clock: FakeClock, body: dict[str, Any], code: str
) -> None:
    ticket = finished(client, staff, clock)
    err = error_of(client.post(f"/api/tickets/{ticket['token']}/rating", json=body), 422)
    assert err["error"] == code


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", f"{B}/follow-ups", None),
        ("post", f"{B}/follow-ups/1/resolve", {"note": NOTE}),
        ("post", f"{B}/follow-ups/1/assign", {"owner": "li.na"}),
        ("get", f"{B}/staff/me/today", None),
    ],
)
def test_staff_rating_endpoints_without_sign_in_are_401(
    client: FlaskClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert error_of(r, 401)["error"] == "unauthenticated"


def test_follow_up_flow_through_the_api(
    app: Flask, client: FlaskClient, staff: FlaskClient, manager: FlaskClient, clock: FakeClock,
    publisher: RecordingPublisher,
) -> None:
    ticket = finished(client, staff, clock)
    r = client.post(f"/api/tickets/{ticket['token']}/rating",
                    json={"score": 1, "reasons": ["WAIT_LONG"], "comment": COMMENT})
    assert r.status_code == 201 and r.get_json()["follow_up_opened"] is True

    assert error_of(staff.get(f"{B}/follow-ups"), 403)["error"] == "manager_only"
    assert error_of(staff.post(f"{B}/follow-ups/1/resolve", json={"outcome": "fixed", "note": NOTE}),
                    403)["error"] == "not_owner"
    [follow_up] = manager.get(f"{B}/follow-ups").get_json()["follow_ups"]
    assert (follow_up["comment"], follow_up["staff"], follow_up["state"]) == (COMMENT, "zhang.wei", "open")
    url = f"{B}/follow-ups/{follow_up['id']}"

    r = manager.post(f"{url}/assign", json={"owner": "li.na"})
    assert r.status_code == 200 and r.get_json()["owner"] == "li.na"
    assert error_of(manager.post(f"{url}/assign", json={"owner": "ghost"}), 422)["error"] == "unknown_owner"
    err = error_of(manager.post(f"{url}/resolve", json={}), 422)
    assert [p["field"] for p in err["details"]["problems"]] == ["outcome", "note"]
    done = {"outcome": "explained", "note": NOTE}
    assert error_of(manager.post(f"{url}/resolve", json={**done, "note": "   "}), 422)["error"] == "invalid_request"
    assert error_of(manager.post(f"{B}/follow-ups/999/resolve", json=done), 404)["error"] == "unknown_follow_up"
    r = manager.post(f"{url}/resolve", json=done)
    assert r.status_code == 200
    assert (r.get_json()["state"], r.get_json()["resolution_note"]) == ("resolved", NOTE)
    assert error_of(manager.post(f"{url}/resolve", json=done), 409)["error"] == "bad_transition"
    assert manager.get(f"{B}/follow-ups").get_json()["follow_ups"] == []
    assert len(manager.get(f"{B}/follow-ups?show=resolved").get_json()["follow_ups"]) == 1
    assert error_of(manager.get(f"{B}/follow-ups?show=closed"), 400)["error"] == "bad_query"

    for event in publisher.events:
        if event["kind"] in ("rated", "follow_up_opened", "follow_up_assigned", "follow_up_resolved"):
            public = json.dumps(public_event(event), ensure_ascii=False)
            for secret in (*NAMES, "li.na", COMMENT, NOTE, ticket["token"]):
                assert secret not in public, (event["kind"], secret)
    history = json.dumps(staff.get(f"{B}/events?after=0").get_json(), ensure_ascii=False)
    assert "follow_up_resolved" in history


def test_my_day_through_the_api(client: FlaskClient, staff: FlaskClient, pad: FlaskClient, clock: FakeClock) -> None:
    first = finished(client, staff, clock, service_min=4)
    second = finished(client, staff, clock, service_min=8)
    assert client.post(f"/api/tickets/{first['token']}/rating", json={"score": 3}).status_code == 201
    assert pad.post(f"{B}/counters/2/rating", json={"ticket_id": second["id"], "score": 2}).status_code == 201
    day = staff.get(f"{B}/staff/me/today").get_json()
    assert (day["staff"], day["day"], day["served"], day["no_shows"]) == ("zhang.wei", "2026-11-24", 2, 0)
    assert day["average_service_min"] == 6.0
    assert day["ratings"] == {"count": 2, "scale": "three", "average_score": 2.5, "satisfied_share": 1.0,
                              "by_score": {"3": 1, "2": 1, "1": 0}}


def test_rating_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    config = paths["/api/ratings/config"]["get"]  # public: no credential needed (an API token may come along)
    assert {} in config.get("security", [{}])
    assert set(paths["/api/tickets/{token}/rating"]) == {"get", "post"}
    assert set(paths["/api/branches/{branch}/counters/{counter}/rating"]) == {"get", "post"}
    assert {"staffSession": []} in paths["/api/branches/{branch}/follow-ups"]["get"]["security"]
    resolve = paths["/api/branches/{branch}/follow-ups/{follow_up_id}/resolve"]["post"]
    assert resolve["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("ResolveFollowUpRequest")
    assert {"staffSession": []} in paths["/api/branches/{branch}/staff/me/today"]["get"]["security"]
