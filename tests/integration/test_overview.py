"""The overview of branches on a real database (SQLite and PostgreSQL): who sees which branches, the order worst
first, today's figures from the learnt events, the coalesced push, and the HTTP answer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from server.api import responses as R
from server.domain.errors import DomainError, NotAllowed
from server.domain.tickets import Action
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import LiveHall
from server.services.overview import Overview, OverviewWatchers
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock, demo_config

B = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
ZHANG = Actor("zhang.wei", "staff")
ADMIN = Actor("admin", "admin")
MANAGER = Actor("manager", "manager")  # works at every branch
ONE = Actor("mgr.sz", "manager")  # manages the Futian branch only
REGIONAL = Actor("region.gz", "regional")


def two_regions(data: dict[str, Any]) -> None:
    """A second branch in region GD-GZ, a manager of the first branch only and a regional reader of GD-GZ."""
    other = copy.deepcopy(data["branches"][0])
    other["code"], other["region"] = OTHER, "GD-GZ"
    other["name"] = {"zh-CN": "天河营业厅", "en": "Tianhe Hall"}
    data["branches"].append(other)
    password = data["staff"][0]["password_hash"]
    data["staff"].append({"username": "mgr.sz", "display_name": "深圳经理 SZ Manager", "role": "manager",
                          "branches": [B], "password_hash": password})
    data["staff"].append({"username": "region.gz", "display_name": "广州区域 GZ Region", "role": "regional",
                          "regions": ["GD-GZ"], "password_hash": password})


@pytest.fixture
def live_hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher
              ) -> tuple[HallService, LiveHall, Overview]:
    hall = build_service(database_url, tmp_path, clock, publisher, more=two_regions)
    live = LiveHall(hall.config, hall.uow, clock)
    hall.estimates = live
    return hall, live, Overview(hall.reports, live)


def codes(listing: dict[str, Any]) -> list[str]:
    return [row["code"] for row in listing["branches"]]


def test_each_caller_sees_the_branches_it_reads(live_hall: tuple[HallService, LiveHall, Overview]) -> None:
    _hall, live, overview = live_hall
    for code in (B, OTHER):
        live.refresh(code)
    assert codes(overview.listing(ONE)) == [B]
    assert overview.listing(ONE)["branches"][0]["links"]["manager"] == f"/manager/{B}"
    regional = overview.listing(REGIONAL)
    assert codes(regional) == [OTHER] and regional["regions"] == ["GD-GZ"]
    assert regional["branches"][0]["links"] == {"manager": None, "staffing": f"/manager/{OTHER}/staffing"}
    assert sorted(codes(overview.listing(ADMIN))) == [OTHER, B]
    assert codes(overview.listing(ADMIN, "GD-GZ")) == [OTHER]
    assert sorted(overview.listing(ADMIN)["regions"]) == ["GD-GZ", "GD-SZ"]
    with pytest.raises(NotAllowed):
        overview.listing(ZHANG)  # staff read no branch's figures
    with pytest.raises(NotAllowed):
        overview.listing(REGIONAL, "GD-SZ")  # a region that is not theirs
    with pytest.raises(DomainError) as refused:
        overview.listing(ADMIN, "NOWHERE")
    assert refused.value.http_status == 400


def test_a_long_wait_moves_a_branch_to_the_top_and_today_counts(
        live_hall: tuple[HallService, LiveHall, Overview], clock: FakeClock) -> None:
    hall, live, overview = live_hall
    told: list[str] = []
    live.on_glance(told.append)
    hall.counters.sign_in(B, "1", ZHANG)
    hall.counters.sign_in(OTHER, "1", Actor("li.na", "staff"))
    for code in (B, OTHER):
        live.refresh(code)
    assert set(told) == {B, OTHER}
    # Tianhe: a ticket called within its target and one rated; Futian: three tickets wait
    ticket = hall.tickets.issue(OTHER, "BILL")
    clock.advance(minutes=3)
    called = hall.counters.call_next(OTHER, "1", Actor("li.na", "staff"))["ticket"]["id"]
    hall.tickets.act(OTHER, called, Action.START, Actor("li.na", "staff"))
    hall.tickets.act(OTHER, called, Action.FINISH, Actor("li.na", "staff"))
    RatingService(hall.config, hall.uow, clock=clock).rate_by_token(ticket["token"], 1, reasons=["WAIT_LONG"])
    for _ in range(3):
        hall.tickets.issue(B, "SIM")
    for code in (B, OTHER):
        live.refresh(code)
    row = {r["code"]: r for r in overview.listing(ADMIN)["branches"]}
    tianhe = row[OTHER]["live"]
    assert tianhe["service_level"] == 1.0 and tianhe["satisfaction"] == 0.0
    assert tianhe["counters"] == {"open": 1, "paused": 0, "closed": 7}
    futian = row[B]["live"]
    assert futian["waiting"] == 3 and futian["service_level"] is None and futian["open_now"] is True
    assert futian["worst_wait"]["service"] == "SIM" and futian["worst_wait"]["target_min"] == 15

    # Tianhe's next ticket waits past BILL's 10-minute target: it goes to the top, named by its alert
    hall.tickets.issue(OTHER, "BILL")
    hall.counters.pause(OTHER, "1", Actor("li.na", "staff"), "break")
    clock.advance(minutes=11)  # Futian's tickets have waited 11 of SIM's 15 minutes
    told.clear()
    for code in (B, OTHER):
        live.refresh(code)
    listing = overview.listing(ADMIN)
    assert codes(listing) == [OTHER, B]
    top = listing["branches"][0]["live"]
    assert top["alerts"]["counts"]["critical"] >= 1
    assert top["alerts"]["top"][0]["severity"] == "critical" and top["alerts"]["top"][0]["text"]["en"]
    assert top["worst_wait"]["over_target"] is True and top["worst_wait"]["longest_wait_min"] == 11
    assert OTHER in told
    R.Overview.model_validate(listing)  # the documented schema

    # a stop of issue shows at the next refresh
    hall.issuing.stop(B, MANAGER, service="SIM", reason="all_taken")
    live.refresh(B)
    futian = overview.row(ADMIN, hall.branch(B))["live"]
    assert futian["issuing"] == {"stopped_all": False, "stopped_services": ["SIM"]}


def test_today_is_rebuilt_from_the_event_log_after_a_restart(
        live_hall: tuple[HallService, LiveHall, Overview], clock: FakeClock) -> None:
    hall, _live, _ = live_hall
    hall.counters.sign_in(B, "1", ZHANG)
    hall.tickets.issue(B, "BILL")
    clock.advance(minutes=12)  # past BILL's 10-minute target
    hall.counters.call_next(B, "1", ZHANG)
    restarted = LiveHall(hall.config, hall.uow, clock)
    restarted.refresh(B)
    glance = restarted.glance(B)
    assert glance is not None and glance.service_level == 0.0 and glance.satisfaction is None


class Ticking:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pushes_are_coalesced_per_watcher_and_follow_its_scope(
        live_hall: tuple[HallService, LiveHall, Overview]) -> None:
    hall, live, overview = live_hall
    sent: list[tuple[str, dict[str, Any]]] = []
    ticking = Ticking()
    watchers = OverviewWatchers(overview, lambda sid, message: sent.append((sid, message)), clock=ticking)
    for code in (B, OTHER):
        live.refresh(code)
    assert codes(watchers.watch("admin-sid", ADMIN, None)) and watchers.watch("gz-sid", REGIONAL, None)
    hall.tickets.issue(B, "BILL")
    live.refresh(B)
    assert watchers.tick() == 0  # within a second of the answer to the watch
    ticking.now += 1.0
    assert watchers.tick() == 1  # only the admin reads Futian
    sid, message = sent[-1]
    assert sid == "admin-sid" and [r["code"] for r in message["rows"]] == [B]
    assert sorted(message["order"]) == [OTHER, B]
    for _ in range(3):  # a burst within the second: one push
        hall.tickets.issue(OTHER, "BILL")
        live.refresh(OTHER)
        ticking.now += 0.2
    assert watchers.tick() == 1 and sent[-1][0] == "gz-sid"  # told nothing for over a second: at once
    assert watchers.tick() == 0
    ticking.now += 0.5
    assert watchers.tick() == 1 and sent[-1][0] == "admin-sid"  # a second after its last push: one for the burst
    assert len(sent) == 3 and [r["code"] for r in sent[-1][1]["rows"]] == [OTHER]
    watchers.unwatch("gz-sid")
    assert watchers.watching() == 1


def test_the_overview_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.app import create_app

    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=two_regions)
    app, _ = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())

    def client(username: str, password: str) -> Any:
        signed = app.test_client()
        answer = signed.post("/api/session", json={"username": username, "password": password})
        assert answer.status_code == 200
        return signed, answer.get_json()

    assert app.test_client().get("/api/overview").status_code == 401
    staff, session = client("zhang.wei", "demo-staff")
    assert session["overview"] is False
    assert staff.get("/api/overview").status_code == 403
    one, session = client("mgr.sz", "demo-staff")
    assert session["overview"] is False  # a manager of one branch has the manager page
    assert codes(one.get("/api/overview").get_json()) == [B]
    regional, session = client("region.gz", "demo-staff")
    assert session["overview"] is True
    body = regional.get("/api/overview").get_json()
    assert codes(body) == [OTHER] and body["branches"][0]["live"]["counters"]["closed"] == 8
    R.Overview.model_validate(body)
    assert regional.get("/api/overview?region=GD-SZ").status_code == 403
    admin, session = client("admin", "demo-admin")
    assert session["overview"] is True
    assert codes(admin.get("/api/overview?region=GD-SZ").get_json()) == [B]
    refused = admin.get("/api/overview?region=NOWHERE")
    assert refused.status_code == 400 and refused.get_json()["error"] == "bad_query"
    _manager, session = client("manager", "demo-manager")
    assert session["overview"] is True  # works at both branches
    page = admin.get("/overview?lang=en")
    assert page.status_code == 200 and b"overview.js" in page.data
