"""The reports on a real database (SQLite and PostgreSQL): the figures a closed day leaves equal what its tickets
say, a rebuild writes the same, who reads which branches, and the CSV bytes."""

from __future__ import annotations

import copy
import csv
import io
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.domain.errors import DomainError, NotAllowed, Unauthenticated
from server.domain.reports import Group, Section
from server.domain.tickets import Action
from server.persistence.tables import REPORT_FIGURE, TicketRow
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.ratings import RatingService
from server.services.reports import FOLLOW_UP_GROUPS, REASON_GROUPS
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_service_day import BRANCH, LI, MANAGER, TUESDAY, ZHANG, busy_day, midnight_after
from tests.support import FakeClock

OTHER = "GZ-TIANHE"
REGIONAL = Actor("region.sz", "regional")
ADMIN = Actor("admin", "admin")


def two_regions(data: dict[str, Any]) -> None:
    """A second branch in another region, and a regional reader of the first branch's region (GD-SZ)."""
    other = copy.deepcopy(data["branches"][0])
    other["code"], other["region"] = OTHER, "GD-GZ"
    data["branches"].append(other)
    data["staff"].append({"username": "region.sz", "display_name": "区域 Region", "role": "regional",
                          "regions": ["GD-SZ"], "password_hash": data["staff"][0]["password_hash"]})


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(database_url, tmp_path, clock, publisher, more=two_regions)


def random_day(hall: HallService, clock: FakeClock, seed: int) -> None:
    """A small day with random arrivals, calls, ends, transfers and ratings at two counters."""
    rng = random.Random(seed)
    ratings = RatingService(hall.config, hall.uow, clock=clock)
    hall.counters.sign_in(BRANCH, "2", ZHANG)
    hall.counters.sign_in(BRANCH, "3", LI)
    waiting: list[dict[str, Any]] = []
    for _ in range(40):
        clock.advance(minutes=rng.uniform(0, 6))
        waiting.append(hall.tickets.issue(BRANCH, rng.choice(["BILL", "PLAN"])))
        if rng.random() < 0.1:
            hall.tickets.cancel_by_customer(waiting.pop(rng.randrange(len(waiting)))["token"])
        if waiting and rng.random() < 0.7:
            actor, counter = rng.choice([(ZHANG, "2"), (LI, "3")])
            ticket = waiting.pop(0)
            try:
                called = hall.counters.call_ticket(BRANCH, counter, ticket["id"], actor)["ticket"]["id"]
            except DomainError:
                continue  # a service the counter does not serve: left to expire
            if rng.random() < 0.15:
                hall.tickets.act(BRANCH, called, Action.NO_SHOW, actor)
                continue
            hall.tickets.act(BRANCH, called, Action.START, actor)
            clock.advance(minutes=rng.uniform(0.5, 15))
            hall.tickets.act(BRANCH, called, Action.FINISH, actor)
            if rng.random() < 0.6:
                score = rng.choice([1, 2, 3])
                ratings.rate_by_token(ticket["token"], score, reasons=["WAIT_LONG"] if score == 1 else [])
    midnight_after(clock)
    hall.days.end_due(BRANCH)


def stored(hall: HallService) -> list[dict[str, Any]]:
    with hall.uow.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(REPORT_FIGURE).order_by(
            *(REPORT_FIGURE.c[k] for k in ("service_day", "grain", "hour", "service_code", "counter_number",
                                           "staff_username")))).mappings()]


def test_a_closed_days_figures_are_what_its_tickets_say(hall: HallService, clock: FakeClock) -> None:
    random_day(hall, clock, seed=7)
    with hall.uow.engine.connect() as connection:
        tickets = connection.execute(select(TicketRow.__table__)).mappings().all()
    report = hall.reports.report([hall.branch(BRANCH)], hall.reports.period([hall.branch(BRANCH)], TUESDAY,
                                                                          TUESDAY), Group.SERVICE)
    volumes = {row["service"]: row for row in report["sections"]["volumes"]}
    states = Counter((t["issued_service_code"], t["state"]) for t in tickets)
    for service, row in volumes.items():
        assert row["issued"] == sum(n for (s, _), n in states.items() if s == service)
        assert row["served"] == states[(service, "done")]
        assert row["no_shows"] == states[(service, "no_show")]
        assert row["cancelled"] == states[(service, "cancelled")]
        assert row["expired"] == states[(service, "expired")]
    assert sum(r["issued"] for r in volumes.values()) == len(tickets) == 40
    # each grain sums to the same hall: by hour of issue, and what the counters saw
    by_hour = hall.reports.report([hall.branch(BRANCH)], report_period(hall), Group.HOUR, [Section.VOLUMES])
    assert sum(r["issued"] for r in by_hour["sections"]["volumes"]) == 40
    by_counter = hall.reports.report([hall.branch(BRANCH)], report_period(hall), Group.COUNTER,
                                     [Section.VOLUMES, Section.SERVICE_TIMES])
    served = [t for t in tickets if t["state"] == "done"]
    assert sum(r["served"] for r in by_counter["sections"]["volumes"]) == len(served)
    assert all(r["issued"] is None for r in by_counter["sections"]["volumes"])  # not a counter's figure
    assert sum(r["count"] for r in by_counter["sections"]["service_times"]) == len(served)
    # the mean service time is exact (sums of whole seconds), the median within its bin
    total = sum((t["finished_at"] - t["service_started_at"]).total_seconds() for t in served)
    whole = hall.reports.report([hall.branch(BRANCH)], report_period(hall), Group.TOTAL)["sections"]
    assert whole["service_times"][0]["mean_s"] == pytest.approx(total / len(served), abs=1)
    durations = sorted((t["finished_at"] - t["service_started_at"]).total_seconds() for t in served)
    exact = durations[(len(durations) + 1) // 2 - 1]
    assert abs(whole["service_times"][0]["p50_s"] - exact) <= 5 * 60
    assert whole["satisfaction"][0]["goal"] == 0.9
    # the whole month is read from the month rows: the same answer, in every grouping
    november = hall.reports.period([hall.branch(BRANCH)], date(2026, 11, 1), date(2026, 11, 30))
    for group in Group:
        sections = [s for s in Section if (s is not Section.REASONS or group in REASON_GROUPS)
                    and (s is not Section.FOLLOW_UPS or group in FOLLOW_UP_GROUPS)]
        one_day = hall.reports.report([hall.branch(BRANCH)], report_period(hall), group, sections)["sections"]
        month = hall.reports.report([hall.branch(BRANCH)], november, group, sections)["sections"]
        if group is not Group.DAY:
            assert month == {**one_day, "heatmap": month["heatmap"]}, group
        assert month["heatmap"]["issued"] == one_day["heatmap"]["issued"]


def report_period(hall: HallService) -> Any:
    return hall.reports.period([hall.branch(BRANCH)], TUESDAY, TUESDAY)


def test_a_rebuild_writes_what_the_day_end_wrote(hall: HallService, clock: FakeClock) -> None:
    random_day(hall, clock, seed=3)
    written = stored(hall)
    assert written
    with hall.uow.engine.begin() as connection:
        connection.execute(REPORT_FIGURE.delete())
    assert hall.days.rebuild_reports(BRANCH) == 1
    assert stored(hall) == written
    assert hall.days.rebuild_reports(BRANCH, TUESDAY, TUESDAY) == 1  # again: replaced, not doubled
    assert stored(hall) == written


def test_who_reads_which_branches(hall: HallService, clock: FakeClock) -> None:
    busy_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    reports = hall.reports
    assert [b.code for b in reports.readable_scope(REGIONAL)] == [BRANCH]
    assert [b.code for b in reports.readable_scope(ADMIN)] == [BRANCH, OTHER]
    assert [b.code for b in reports.branch_scope(REGIONAL, BRANCH)] == [BRANCH]
    with pytest.raises(NotAllowed):
        reports.branch_scope(REGIONAL, OTHER)  # another region's branch
    with pytest.raises(NotAllowed):
        reports.readable_scope(REGIONAL, "GD-GZ")
    with pytest.raises(NotAllowed):
        reports.branch_scope(ZHANG, BRANCH)  # staff read no reports
    with pytest.raises(NotAllowed):
        reports.readable_scope(ZHANG)
    with pytest.raises(Unauthenticated):
        reports.branch_scope(Actor(None), BRANCH)
    with pytest.raises(DomainError) as unknown:
        reports.readable_scope(ADMIN, "NOWHERE")
    assert unknown.value.http_status == 400
    assert [b.code for b in reports.branch_scope(MANAGER, BRANCH)] == [BRANCH]


def test_bad_ranges_and_groupings_are_refused(hall: HallService) -> None:
    branches = [hall.branch(BRANCH)]
    for first, last in ((TUESDAY, TUESDAY - timedelta(days=1)), (TUESDAY - timedelta(days=400), TUESDAY)):
        with pytest.raises(DomainError) as refused:
            hall.reports.period(branches, first, last)
        assert refused.value.code == "bad_date_range" and refused.value.http_status == 400
    with pytest.raises(DomainError) as refused:
        hall.reports.report(branches, report_period(hall), Group.STAFF, [Section.REASONS])
    assert refused.value.code == "bad_group"


def test_csv_opens_in_excel_with_chinese_and_no_formula(hall: HallService, clock: FakeClock) -> None:
    busy_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    branches = [hall.branch(BRANCH)]
    body = hall.reports.csv(branches, report_period(hall), Group.STAFF, Section.VOLUMES, "zh-CN")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["员工", "取号数", "叫号数"]
    names = {row[0] for row in rows[1:]}
    assert names == {"张伟 Zhang Wei", "李娜 Li Na"}  # display names, never the login names
    assert all(line.endswith(b"\r\n") for line in body.splitlines(keepends=True))
    english = hall.reports.csv(branches, report_period(hall), Group.TOTAL, Section.WAITS, "en")
    assert english.decode("utf-8-sig").splitlines()[0] == ("Total,Count,Mean (s),Median (s),90th percentile (s),"
                                                           "95th percentile (s)")
    heat = hall.reports.csv(branches, report_period(hall), Group.TOTAL, Section.HEATMAP, "en")
    assert heat.decode("utf-8-sig").splitlines()[2].startswith("Tue,")


def test_a_formula_in_a_name_stays_text(database_url: str, tmp_path: Path, clock: FakeClock,
                                        publisher: RecordingPublisher) -> None:
    def formula_name(data: dict[str, Any]) -> None:
        two_regions(data)
        next(s for s in data["staff"] if s["username"] == "zhang.wei")["display_name"] = "=HYPERLINK(\"x\")"

    hall = build_service(database_url, tmp_path, clock, publisher, more=formula_name)
    busy_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    body = hall.reports.csv([hall.branch(BRANCH)], report_period(hall), Group.STAFF, Section.VOLUMES, "en")
    assert "'=HYPERLINK" in body.decode("utf-8-sig")
    assert date(2026, 11, 24) == TUESDAY


def test_the_rebuild_command_fills_days_closed_before(hall: HallService, clock: FakeClock, tmp_path: Path,
                                                     database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from server.launcher import write_config
    from server.reports_cli import main

    random_day(hall, clock, seed=5)
    written = stored(hall)
    with hall.uow.engine.begin() as connection:
        connection.execute(REPORT_FIGURE.delete())
    (tmp_path / "cli").mkdir()
    config_file = write_config(tmp_path / "cli", database_url)
    assert main(["--config", str(config_file), "rebuild", "--from", "2026-11-01", "--branch", BRANCH]) == 0
    assert "figures rebuilt for 1 closed days" in capsys.readouterr().out
    assert stored(hall) == written


def test_the_all_branch_report_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.app import create_app
    from tests.support import demo_config

    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=two_regions)
    clock = FakeClock()
    app, _ = create_app(config, clock=clock, publisher=RecordingPublisher())
    hall = app.extensions["hall"]
    busy_day(hall, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)

    def client(username: str, password: str) -> Any:
        signed = app.test_client()
        assert signed.post("/api/session", json={"username": username, "password": password}).status_code == 200
        return signed

    manager = client("manager", "demo-manager")
    asked = "from=2026-11-24&to=2026-11-24"
    answer = manager.get(f"/api/reports?{asked}&group=branch&section=volumes")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["branches"] == [BRANCH, OTHER]  # the demo manager works at every branch
    assert [row["issued"] for row in body["sections"]["volumes"] if row["branch"] == BRANCH] == [7]
    assert body["labels"]["issued"] == {"zh-CN": "取号数", "en": "Arrivals"}
    regional = client("region.sz", "demo-staff")
    assert regional.get(f"/api/reports?{asked}").get_json()["branches"] == [BRANCH]
    assert regional.get(f"/api/branches/{OTHER}/reports?{asked}").status_code == 403
    assert regional.get(f"/api/reports?{asked}&region=GD-GZ").status_code == 403
    staff = client("zhang.wei", "demo-staff")
    assert staff.get(f"/api/branches/{BRANCH}/reports?{asked}").status_code == 403
    exported = regional.get(f"/api/branches/{BRANCH}/reports/waits.csv?{asked}&group=service&lang=en")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Content-Disposition"] == (
        f'attachment; filename="report-{BRANCH}-waits-2026-11-24-2026-11-24.csv"')
    assert exported.data.startswith(b"\xef\xbb\xbfService,Count,")
    for query, code in (("from=2026-11-25&to=2026-11-24", "bad_date_range"), ("from=2025-01-01&to=2026-11-24",
                        "bad_date_range"), ("group=month", "bad_query"), ("from=24.11.2026", "bad_query"),
                        ("group=staff&section=reasons", "bad_group")):
        refused = manager.get(f"/api/branches/{BRANCH}/reports?{query}")
        assert (refused.status_code, refused.get_json()["error"]) == (400, code), query
