"""What-if replays of a closed day on a real database (SQLite and PostgreSQL), from a day made by the service layer,
and over the HTTP API (access, bad input, the answer against its OpenAPI model).

The day: Tuesday 2026-11-24 (Shanghai), BILL tickets every 3 minutes from 10:00 to 11:30, one counter (2, zhang.wei)
serving each in 5 minutes, so a queue builds; it pauses for 10 minutes at 10:30; two customers cancel, one is not
there when called. Then the day ends at midnight.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.domain import replay
from server.domain.errors import DomainError, NotAllowed, NotFound, Unauthenticated
from server.domain.tickets import Action
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_api import build_app, error_of, manager_client, staff_client
from tests.integration.test_browser_contract import _texts
from tests.integration.test_service_day import BRANCH, MANAGER, TUESDAY, ZHANG, midnight_after
from tests.support import FakeClock, demo_config

REGIONAL = Actor("region.sz", "regional")
ADDED = [replay.AddCounter(10 * 60, 12 * 60, ("BILL",))]
B = f"/api/branches/{BRANCH}"


def regional(data: dict[str, Any]) -> None:
    data["staff"].append({"username": "region.sz", "display_name": "区域 Region", "role": "regional",
                          "regions": ["GD-SZ"], "password_hash": copy.deepcopy(data["staff"][0]["password_hash"])})


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(database_url, tmp_path, clock, publisher, more=regional)


def queue_day(hall: HallService, clock: FakeClock) -> None:
    """The day in the module's notes, minute by minute."""
    start = clock.now  # 10:00
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    waiting: list[dict[str, Any]] = []
    serving: tuple[int, Any] | None = None
    paused_until = None
    no_show_done = False
    for minute in range(0, 240):
        clock.now = start + timedelta(minutes=minute)
        if minute <= 90 and minute % 3 == 0:
            waiting.append(hall.tickets.issue(BRANCH, "BILL"))
        if minute in (20, 40) and len(waiting) > 1:
            hall.tickets.cancel_by_customer(waiting.pop()["token"])
        if serving is not None and clock.now >= serving[1]:
            hall.tickets.act(BRANCH, serving[0], Action.FINISH, ZHANG)
            serving = None
        if serving is None and minute == 30:
            hall.counters.pause(BRANCH, "2", ZHANG, "break")
            paused_until = minute + 10
        if paused_until == minute:
            hall.counters.resume(BRANCH, "2", ZHANG)
            paused_until = None
        if serving is None and paused_until is None and waiting:
            ticket = hall.counters.call_next(BRANCH, "2", ZHANG)["ticket"]
            waiting = [w for w in waiting if w["id"] != ticket["id"]]
            if minute >= 50 and not no_show_done:
                no_show_done = True
                hall.tickets.act(BRANCH, ticket["id"], Action.NO_SHOW, ZHANG)
                continue
            hall.tickets.act(BRANCH, ticket["id"], Action.START, ZHANG)
            serving = (ticket["id"], clock.now + timedelta(minutes=5))
    hall.counters.sign_out(BRANCH, "2", ZHANG)


def test_a_closed_day_replays_as_it_was_and_one_more_counter_shortens_the_waits(
        hall: HallService, clock: FakeClock) -> None:
    queue_day(hall, clock)
    with pytest.raises(NotFound) as not_closed:
        hall.what_if.run(BRANCH, MANAGER, TUESDAY, [])
    assert not_closed.value.code == "day_not_closed"
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    answer = hall.what_if.run(BRANCH, MANAGER, TUESDAY, ADDED, seed=3)
    actual, again, changed = (answer["runs"][name]["totals"] for name in ("actual", "replay", "what_if"))
    assert actual["issued"] == again["issued"] == changed["issued"] == 31
    assert actual["walk_outs"] == 3  # two cancelled, one no-show
    # the replay with the day's own counter comes close to what happened
    assert again["wait_mean_min"] == pytest.approx(actual["wait_mean_min"], rel=0.2)
    assert changed["wait_mean_min"] < again["wait_mean_min"] / 2
    assert changed["service_level"] > again["service_level"]
    assert [(s["counter"], s["services"]) for s in answer["counters"]] == [("2", ["BILL", "PLAN"])] * 2  # paused
    assert answer["counters"][0]["start"] == "10:00" and answer["counters"][0]["end"] == "10:30"
    assert answer["changes"] == [{"kind": "add_counter", "start": "10:00", "end": "12:00", "services": ["BILL"]}]
    hours = {h["hour"]: h for h in answer["runs"]["what_if"]["hours"]}
    assert sorted(hours) == [10, 11] and sum(h["issued"] for h in hours.values()) == 31
    assert answer["total_ms"] < 1000
    assert hall.what_if.run(BRANCH, MANAGER, TUESDAY, ADDED, seed=3)["runs"] == answer["runs"]  # deterministic
    assert hall.what_if.run(BRANCH, REGIONAL, TUESDAY, [])["runs"]["actual"] == answer["runs"]["actual"]


def test_who_may_ask_and_what_is_refused(hall: HallService, clock: FakeClock) -> None:
    queue_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    with pytest.raises(Unauthenticated):
        hall.what_if.run(BRANCH, Actor(None, "public"), TUESDAY, [])
    with pytest.raises(NotAllowed):
        hall.what_if.run(BRANCH, ZHANG, TUESDAY, [])
    with pytest.raises(NotFound) as empty:
        hall.what_if.run(BRANCH, MANAGER, TUESDAY - timedelta(days=1), [])
    assert empty.value.code == "no_tickets"
    with pytest.raises(DomainError) as bad:
        hall.what_if.run(BRANCH, MANAGER, TUESDAY, [replay.AddService("99", "BILL", 600, 700)])
    assert bad.value.http_status == 400 and bad.value.details["parameter"] == "changes[0].counter"
    hall.what_if._slots.acquire()  # another what-if is running in this process
    try:
        with pytest.raises(DomainError) as busy:
            hall.what_if.run(BRANCH, MANAGER, TUESDAY, [])
        assert busy.value.http_status == 429 and busy.value.code == "what_if_busy"
    finally:
        hall.what_if._slots.release()


# --- over HTTP ----------------------------------------------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=regional)
    yield from build_app(config, clock, publisher)


def test_the_what_if_over_the_api(app: Flask, clock: FakeClock) -> None:
    hall = app.extensions["hall"]
    queue_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    manager = manager_client(app)
    body = {"day": "2026-11-24", "changes": [{"kind": "add_counter", "start": "10:00", "end": "12:00",
                                              "services": ["BILL"]},
                                             {"kind": "add_service", "counter": "3", "service": "BILL",
                                              "start": "11:00", "end": "12:00"},
                                             {"kind": "close_counter", "counter": "2", "start": "11:30",
                                              "end": "12:00"}]}
    answer = manager.post(f"{B}/what-if", json=body)  # validated against its response model at teardown
    assert answer.status_code == 200, answer.get_json()
    assert set(answer.get_json()["runs"]) == {"actual", "replay", "what_if"}
    assert [c["kind"] for c in answer.get_json()["changes"]] == ["add_counter", "add_service", "close_counter"]
    reader = staff_client(app, "region.sz")
    assert reader.post(f"{B}/what-if", json={"day": "2026-11-24"}).status_code == 200
    assert error_of(staff_client(app, "zhang.wei").post(f"{B}/what-if", json=body), 403)["error"] == "forbidden"
    assert error_of(app.test_client().post(f"{B}/what-if", json=body), 401)
    for wrong, status, field in (
            ({"day": "24.11.2026"}, 422, "day"),
            ({"day": "2026-02-30"}, 400, "day"),
            ({"day": "2026-11-24", "seed": -1}, 422, "seed"),
            ({"day": "2026-11-24", "changes": [{"kind": "add_counter", "start": "25:00", "end": "12:00",
                                                "services": ["BILL"]}]}, 422, "changes.0.add_counter.start"),
            ({"day": "2026-11-24", "changes": [{"kind": "open_window", "start": "10:00", "end": "12:00"}]}, 422,
             "changes.0"),
            ({"day": "2026-11-24", "changes": [{"kind": "add_counter", "start": "12:00", "end": "10:00",
                                                "services": ["BILL"]}]}, 400, "changes[0].start"),
            ({"day": "2026-11-24", "changes": [{"kind": "add_service", "counter": "2", "service": "NOPE",
                                                "start": "10:00", "end": "12:00"}]}, 400, "changes[0].service"),
            ({"day": "2026-11-24", "changes": [{"kind": "close_counter", "counter": "2", "start": "10:00",
                                                "end": "12:00"}] * 11}, 422, "changes"),
    ):
        refused = error_of(manager.post(f"{B}/what-if", json=wrong), status)
        named = (refused["details"].get("parameter") if status == 400
                 else [p["field"] for p in refused["details"]["problems"]])
        assert field == named or field in named, refused
    assert error_of(manager.post(f"{B}/what-if", json={"day": "2026-11-23"}), 404)["error"] == "no_tickets"
    today = (clock.now + timedelta(hours=8)).date()
    hall.tickets.issue(BRANCH, "BILL")
    assert error_of(manager.post(f"{B}/what-if", json={"day": today.isoformat()}), 404)["error"] == "day_not_closed"


# --- the page's texts ---------------------------------------------------------------------------------------------

def test_the_what_if_page_has_every_text_it_uses_in_both_languages() -> None:
    root = Path(__file__).resolve().parents[2] / "server" / "pages" / "back_office"
    script = root / "static" / "what-if.js"
    zh, en = _texts("zh-CN", script), _texts("en", script)
    assert len(zh) > 60 and {"run_what_if", "change_add_counter", "what_if_busy"} <= zh  # the whole dictionary
    assert zh == en, f"what-if.js: only zh-CN {sorted(zh - en)}, only en {sorted(en - zh)}"
    template = (root / "templates" / "back_office" / "what_if.html").read_text(encoding="utf-8")
    template += (root / "templates" / "back_office" / "manager_subpage.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([a-z_0-9]+)"', template))
    used |= set(re.findall(r'i18n\.t\("([a-z_0-9]+)"', script.read_text(encoding="utf-8")))
    assert used - zh == set()


def test_the_page_is_listed_and_renders_for_anyone_until_the_api_refuses(app: Flask) -> None:
    page = app.test_client().get(f"/manager/{BRANCH}/what-if?lang=en")
    assert page.status_code == 200 and b'id="what-if-config"' in page.data
    assert app.test_client().get("/manager/NOPE/what-if").status_code == 404
