"""``GET /api/branches/{b}/services/{s}/alternatives``: the nearby branches' live waits, their distance and address,
and the self-service ways, as the live side holds them (no estimation per request)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.api import responses as R
from server.app import create_app
from server.domain.estimation import WaitEstimate
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

HERE = "SZ-FUTIAN"


def branch_near(data: dict[str, Any], code: str, latitude: float, **changes: Any) -> None:
    """A copy of the demo branch called ``code`` at ``latitude`` (the demo's longitude)."""
    other = copy.deepcopy(data["branches"][0])
    other.update(code=code, latitude=latitude, name={"zh-CN": f"{code} 营业厅", "en": f"{code} hall"},
                 address={"zh-CN": f"{code} 路 1 号", "en": f"1 {code} Road"}, **changes)
    data["branches"].append(other)


def three_more_branches(data: dict[str, Any]) -> None:
    branch_near(data, "NEAR", 22.550)  # about 1 km north
    branch_near(data, "FAR", 22.700)  # about 18 km: beyond nearby_km
    branch_near(data, "BUSY", 22.545)  # near, but its wait is no shorter


class FixedEstimates:
    """The live side's latest new-ticket estimates, as a refresh would have left them."""

    def __init__(self, minutes: dict[str, float]) -> None:
        self.minutes = minutes
        self.asked: list[tuple[str, str]] = []

    def new_ticket_estimate(self, branch: str, service: str, *_: Any) -> WaitEstimate | None:
        self.asked.append((branch, service))
        m = self.minutes.get(branch)
        return None if m is None else WaitEstimate(timedelta(minutes=m), timedelta(minutes=m * 0.8),
                                                   timedelta(minutes=m * 1.2))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=three_more_branches)
    app, _ = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()


def test_a_long_wait_answers_the_nearby_branches_live_waits_and_the_self_service(app: Flask) -> None:
    app.extensions["overflow"].live = FixedEstimates({HERE: 70, "NEAR": 15, "FAR": 5, "BUSY": 65})
    answer = app.test_client().get(f"/api/branches/{HERE}/services/BILL/alternatives")
    assert answer.status_code == 200
    body = answer.get_json()
    R.Alternatives.model_validate(body)
    assert body["covered"] and body["long_wait"] and body["estimate"]["known"]
    assert [b["branch"] for b in body["nearby"]] == ["NEAR"]
    near = body["nearby"][0]
    assert 0.9 < near["distance_km"] < 1.2 and near["address"]["en"] == "1 NEAR Road"
    assert near["estimate"]["expected_min"] == 15
    assert [s["name"]["en"] for s in body["self_service"]] == ["Xinghe Telecom app", "Self-service terminal"]


def test_a_short_wait_is_not_long_and_an_uncovered_service_offers_nothing(app: Flask) -> None:
    app.extensions["overflow"].live = FixedEstimates({HERE: 10, "NEAR": 2})
    client = app.test_client()
    short = client.get(f"/api/branches/{HERE}/services/BILL/alternatives").get_json()
    assert not short["long_wait"] and short["nearby"] == []
    app.extensions["overflow"].live = FixedEstimates({HERE: 90, "NEAR": 2})
    vip = client.get(f"/api/branches/{HERE}/services/VIP/alternatives").get_json()
    assert not vip["covered"] and not vip["long_wait"] and vip["nearby"] == [] and vip["self_service"] == []
    plan = client.get(f"/api/branches/{HERE}/services/PLAN/alternatives").get_json()
    assert plan["book_url"] == f"/book?branch={HERE}&service=PLAN"
    assert [s["name"]["en"] for s in plan["self_service"]] == ["Xinghe Telecom app"]


def test_before_the_first_refresh_nothing_is_estimated_on_request(app: Flask) -> None:
    answer = app.test_client().get(f"/api/branches/{HERE}/services/BILL/alternatives").get_json()
    assert not answer["estimate"]["known"] and not answer["long_wait"] and answer["nearby"] == []


@pytest.mark.parametrize(("path", "code"), [("/api/branches/NOPE/services/BILL/alternatives", "unknown_branch"),
                                            (f"/api/branches/{HERE}/services/NOPE/alternatives", "unknown_service")])
def test_unknown_branch_or_service_is_404(app: Flask, path: str, code: str) -> None:
    answer = app.test_client().get(path)
    assert answer.status_code == 404 and answer.get_json()["error"] == code


def test_a_customers_ticket_is_judged_by_its_own_wait(app: Flask) -> None:
    client = app.test_client()
    issued = client.post(f"/api/branches/{HERE}/tickets", json={"service": "BILL"})
    assert issued.status_code == 201, issued.get_json()
    token = issued.get_json()["token"]
    live = FixedEstimates({HERE: 70, "NEAR": 15})
    app.extensions["overflow"].live = live
    mine = {"known": True, "expected_min": 65.0, "low_min": 50.0, "high_min": 80.0}
    app.extensions["hall_live"].ticket_live = lambda branch, ticket_id: {"estimate": mine}  # as last pushed
    answer = client.get(f"/api/tickets/{token}/alternatives").get_json()
    R.Alternatives.model_validate(answer)
    assert answer["long_wait"] and answer["estimate"]["high_min"] == 80
    assert [b["branch"] for b in answer["nearby"]] == ["NEAR"]
    mine.update(expected_min=8.0, low_min=5.0, high_min=12.0)  # near the front now, though new tickets wait long
    shorter = client.get(f"/api/tickets/{token}/alternatives").get_json()
    assert not shorter["long_wait"] and shorter["nearby"] == []
    assert client.get("/api/tickets/nope/alternatives").status_code == 404


def test_a_nearby_branch_that_stopped_issuing_or_is_full_today_is_not_offered(tmp_path: Path) -> None:
    """NEAR stops issuing BILL (then the whole branch): NEAR2, a little farther, is offered instead; a branch whose
    BILL has issued its daily cap is not offered either; resumed, NEAR is back."""
    from server.services.actor import Actor

    def more(data: dict[str, Any]) -> None:
        branch_near(data, "NEAR", 22.550)
        branch_near(data, "NEAR2", 22.552)
        branch_near(data, "FULL", 22.549)
        full = next(s for s in data["branches"][-1]["services"] if s["code"] == "BILL")
        full["daily_cap"] = 1

    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=more)
    app, _ = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())
    try:
        overflow = app.extensions["overflow"]
        overflow.live = FixedEstimates({HERE: 70, "NEAR": 15, "NEAR2": 20, "FULL": 5})
        hall = app.extensions["hall"]
        client = app.test_client()

        def offered() -> list[str]:
            body = client.get(f"/api/branches/{HERE}/services/BILL/alternatives").get_json()
            R.Alternatives.model_validate(body)
            return [b["branch"] for b in body["nearby"]]

        assert offered() == ["FULL", "NEAR", "NEAR2"]
        hall.tickets.issue("FULL", "BILL")  # its one ticket of the day: full
        assert offered() == ["NEAR", "NEAR2"]
        manager = Actor("manager", "manager")
        stop = hall.issuing.stop("NEAR", manager, service="BILL", reason="maintenance", until="resumed")
        assert offered() == ["NEAR2"]
        hall.issuing.resume("NEAR", stop["id"], manager)
        assert offered() == ["NEAR", "NEAR2"]
        whole = hall.issuing.stop("NEAR", manager, reason="maintenance", until="resumed")  # the whole branch
        assert offered() == ["NEAR2"]
        hall.issuing.resume("NEAR", whole["id"], manager)
        assert offered() == ["NEAR", "NEAR2"]
    finally:
        app.extensions["hall"].uow.engine.dispose()
