"""Hall alerts computed where the estimates are (LiveHall's refresh), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.domain.tickets import PriorityClass
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_live import RecordingLivePublisher
from tests.support import FakeClock

B = "SZ-FUTIAN"
LI = Actor("li.na", "staff")
ZHANG = Actor("zhang.wei", "staff")


@pytest.fixture
def live_hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher
              ) -> tuple[HallService, LiveHall, RecordingLivePublisher]:
    pushed = RecordingLivePublisher()
    hall = build_service(database_url, tmp_path, clock, publisher)
    live = LiveHall(hall.config, hall.uow, clock, publisher=pushed)
    hall.estimates = live
    return hall, live, pushed


def alerts(pushed: RecordingLivePublisher) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in pushed.summaries[-1]["private"]["alerts"]}


def test_vip_waiting_with_no_vip_counter_alerts_until_one_serves_it(
        live_hall: tuple[HallService, LiveHall, RecordingLivePublisher], clock: FakeClock) -> None:
    hall, live, pushed = live_hall
    live.refresh(B)
    assert alerts(pushed) == {}
    hall.tickets.issue(B, "VIP", priority=PriorityClass.VIP, actor=LI)
    issued_at = clock()
    live.refresh(B)
    alert = alerts(pushed)["hall:unserved_waiting:VIP"]
    assert alert["severity"] == "critical" and alert["facts"]["open"] == ["8"] and alert["facts"]["waiting"] == 1
    assert alert["since"] == issued_at.isoformat()
    assert {a["kind"] for a in alert["actions"]} == {"post_notice", "stop_issuing"}
    assert alert["text"]["zh-CN"] and alert["text"]["en"]

    clock.advance(minutes=2)
    hall.counters.sign_in(B, "8", LI, services=["PLAN"])  # open, but not for VIP today
    live.refresh(B)
    alert = alerts(pushed)["hall:unserved_waiting:VIP"]
    assert alert["facts"]["add_at"] == ["8"] and alert["since"] == issued_at.isoformat()  # the same episode

    # the private part reaches the staff view only
    assert "hall_alerts" not in live.decorate_snapshot(hall.queries.snapshot(B))
    staff = live.decorate_snapshot(hall.queries.snapshot(B, staff=True), staff=True)
    assert [a["key"] for a in staff["hall_alerts"]] == ["hall:unserved_waiting:VIP"]

    hall.counters.sign_in(B, "8", LI, services=["VIP", "PLAN"])  # the counter's staff add VIP today
    live.refresh(B)
    assert "hall:unserved_waiting:VIP" not in alerts(pushed)


def test_a_long_pause_and_a_wait_over_target(live_hall: tuple[HallService, LiveHall, RecordingLivePublisher],
                                             clock: FakeClock) -> None:
    hall, live, pushed = live_hall
    hall.counters.sign_in(B, "8", LI)
    hall.counters.sign_in(B, "2", ZHANG)
    hall.tickets.issue(B, "VIP", priority=PriorityClass.VIP, actor=LI)
    hall.counters.pause(B, "8", LI, "break")
    paused_at = clock()
    clock.advance(minutes=15)
    live.refresh(B)
    # VIP's 5-minute target is passed; the pause is not yet longer than 15 minutes
    assert set(alerts(pushed)) == {"hall:wait_over_target:VIP"}
    clock.advance(minutes=1)
    live.refresh(B)
    found = pushed.summaries[-1]["private"]["alerts"]
    assert [a["key"] for a in found] == ["hall:wait_over_target:VIP", "hall:counter_paused_long:8"]  # critical first
    paused = found[1]
    assert paused["severity"] == "warning" and paused["facts"]["paused_min"] == 16
    assert paused["since"] == clock().isoformat() and paused["facts"]["paused_since"] == paused_at.isoformat()
    hall.counters.resume(B, "8", LI)
    live.refresh(B)
    assert "hall:counter_paused_long:8" not in alerts(pushed)


def test_pause_alert_follows_the_config(database_url: str, tmp_path: Path, clock: FakeClock,
                                        publisher: RecordingPublisher) -> None:
    hall = build_service(database_url, tmp_path, clock, publisher, pause_alert_min=5)
    pushed = RecordingLivePublisher()
    live = LiveHall(hall.config, hall.uow, clock, publisher=pushed)
    hall.counters.sign_in(B, "2", ZHANG)
    hall.counters.pause(B, "2", ZHANG, "break")
    clock.advance(minutes=6)
    live.refresh(B)
    assert "hall:counter_paused_long:2" in alerts(pushed)
