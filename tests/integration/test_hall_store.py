"""The hall model in the database: seeded from config.toml at the first start, the database's afterwards; exported
as TOML and imported back, validated whole before anything is written; a change served by every process on the
database, and announced to the changed branch's screens.

Each test runs on SQLite and on PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from server.app import create_app
from server.config import ConfigError
from server.domain.audit import AuditAction
from server.domain.hall_document import NO_BRANCH, HallItem, HallItemKind
from server.persistence import hall_items
from server.persistence.audit import AuditFilter
from server.services.actor import Actor
from server.services.hall_store import HallStore, InvalidSetup, PieceChange, StaleChange
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
ADMIN = Actor(username="manager", role="manager", device="back-office")


class Processes:
    """Apps on one database, each as a server process would be started."""

    def __init__(self, database_url: str, tmp_path: Path, clock: FakeClock) -> None:
        self.database_url, self.tmp_path, self.clock = database_url, tmp_path, clock
        self.apps: list[Flask] = []
        self.publishers: list[RecordingPublisher] = []

    def start(self, more: Callable[[dict[str, Any]], None] | None = None) -> Flask:
        publisher = RecordingPublisher()
        app, _socketio = create_app(demo_config(self.database_url, self.tmp_path, more=more), clock=self.clock,
                                    publisher=publisher)
        self.apps.append(app)
        self.publishers.append(publisher)
        return app

    def close(self) -> None:
        for app in self.apps:
            app.extensions["hall"].uow.engine.dispose()
            app.extensions["hall"].uow.read_engine.dispose()


@pytest.fixture
def processes(database_url: str, tmp_path: Path, clock: FakeClock,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Processes]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    started = Processes(database_url, tmp_path, clock)
    yield started
    started.close()


def exported(app: Flask) -> dict[str, Any]:
    return tomllib.loads(app.extensions["hall_store"].export_toml())


def with_passport_service(document: dict[str, Any]) -> dict[str, Any]:
    """A new service, "passports" under the first category, served by counter 1 after its own services."""
    branch = document["branches"][0]
    branch["services"].append({"code": "passport", "prefix": "P", "parent": branch["categories"][0]["code"],
                               "name": {"zh-CN": "护照", "en": "Passports"}, "target_wait_min": 20})
    branch["counters"][0]["services"].append("passport")
    return document


def renamed_first_service(data: dict[str, Any]) -> None:
    data["branches"][0]["services"][0]["name"] = {"zh-CN": "改了名", "en": "Renamed in the file"}


def test_the_first_start_seeds_the_database_and_later_starts_serve_it(processes: Processes,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    first = processes.start()
    seeded = first.extensions["hall"].config
    assert first.extensions["hall_store"].model.revision == 1
    with caplog.at_level(logging.WARNING):
        second = processes.start(more=renamed_first_service)  # config.toml edited after the first start
    served = second.extensions["hall"].config
    assert served.branches == seeded.branches  # the database wins
    assert served.branches[0].services[0].name.en != "Renamed in the file"
    assert "differ from the database's model" in caplog.text


def test_an_export_imports_back_to_the_same_hall(processes: Processes) -> None:
    app = processes.start()
    store = app.extensions["hall_store"]
    before = app.extensions["hall"].config
    result = store.import_document(ADMIN, exported(app))
    assert (result.added, result.changed, result.retired) == (0, 0, 0)
    assert store.model.revision == 1  # nothing changed, nothing moved
    assert app.extensions["hall"].config.branches == before.branches
    assert app.extensions["hall"].config.staff == before.staff
    # the online booking's set-up goes out and comes back too (it is part of Branch and Service)
    assert before.branches[0].bookable_services and before.branches[0].location.latitude is not None


def test_an_import_is_validated_whole_before_anything_is_written(processes: Processes) -> None:
    app = processes.start()
    store = app.extensions["hall_store"]
    document = with_passport_service(exported(app))
    document["branches"][0]["services"][-1]["prefix"] = document["branches"][0]["services"][0]["prefix"]
    with pytest.raises(ConfigError, match=r"branches\[0\]\.services\[\d+\]\.prefix: prefix .* used by another"):
        store.import_document(ADMIN, document)
    assert store.model.revision == 1
    with app.extensions["hall"].uow.read() as session:
        found = session.connection().execute(text("SELECT count(*) FROM hall_item WHERE code = 'passport'"))
        assert found.scalar() == 0


def test_a_new_service_is_served_at_once_and_announced_to_the_branch(processes: Processes) -> None:
    app = processes.start()
    store = app.extensions["hall_store"]
    publisher = processes.publishers[0]
    publisher.events.clear()
    result = store.import_document(ADMIN, with_passport_service(exported(app)))
    assert (result.added, result.changed, result.branches) == (1, 1, (BRANCH,))  # the service; the counter
    hall = app.extensions["hall"]
    assert hall.config.branch(BRANCH).service("passport") is not None
    [event] = [e for e in publisher.events if e["kind"] == "hall_changed"]
    assert event["resync"] is True and event["revision"] == store.model.revision == 2
    ticket = hall.tickets.issue(BRANCH, "passport")  # the kiosks can issue it, the counter can call it
    assert ticket["number"] == "P001"
    [entry] = app.extensions["audit"].search(ADMIN, AuditFilter(actions=(AuditAction.HALL_CHANGED,)))
    assert entry.target == "import" and entry.after == {"added": 1, "changed": 1, "retired": 0}


def test_what_an_import_leaves_out_is_retired_not_deleted(processes: Processes) -> None:
    app = processes.start()
    store = app.extensions["hall_store"]
    store.import_document(ADMIN, with_passport_service(exported(app)))
    document = exported(app)
    branch = document["branches"][0]
    branch["services"] = [s for s in branch["services"] if s["code"] != "passport"]
    branch["counters"][0]["services"].remove("passport")
    result = store.import_document(ADMIN, document)
    assert result.retired == 1
    assert app.extensions["hall"].config.branch(BRANCH).service("passport") is None
    with app.extensions["hall"].uow.read() as session:
        retired = session.connection().execute(
            text("SELECT retired, version FROM hall_item WHERE code = 'passport'")).one()
    assert bool(retired[0]) and retired[1] == 2
    again = store.import_document(ADMIN, with_passport_service(exported(app)))  # brought back
    assert again.changed >= 1 and app.extensions["hall"].config.branch(BRANCH).service("passport") is not None


def test_another_process_serves_the_change(processes: Processes) -> None:
    one, other = processes.start(), processes.start()
    one.extensions["hall_store"].import_document(ADMIN, with_passport_service(exported(one)))
    assert other.extensions["hall"].config.branch(BRANCH).service("passport") is None  # not yet looked
    snapshot = other.test_client().get(f"/api/branches/{BRANCH}/snapshot").get_json()  # a screen redrawing
    assert other.extensions["hall_store"].model.revision == 2
    assert "passport" in {s["code"] for s in snapshot["services"]}
    assert other.extensions["hall_store"].check() is False  # already the newest


# --- one piece at a time ---------------------------------------------------------------------------------------

def piece(app: Flask, kind: HallItemKind, code: str, branch: str = BRANCH) -> HallItem:
    with app.extensions["hall"].uow.read() as session:
        items = hall_items.every(session.connection())
    return next(i for i in items if (i.kind, i.code) == (kind, code)
                and i.branch_code in (branch, NO_BRANCH))


def test_a_service_edited_is_served_announced_and_audited(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    bill = piece(app, HallItemKind.SERVICE, "BILL")
    body = dict(bill.body, name={"zh-CN": "缴费", "en": "Pay a bill"})
    processes.publishers[0].events.clear()
    result = store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, "BILL", body, bill.version))
    assert result.item.version == bill.version + 1 and result.revision == 2
    assert app.extensions["hall"].config.branch(BRANCH).service("BILL").name.en == "Pay a bill"
    assert [e["kind"] for e in processes.publishers[0].events] == ["hall_changed"]
    [entry] = app.extensions["audit"].search(ADMIN, AuditFilter(actions=(AuditAction.HALL_CHANGED,)))
    assert entry.target == "service BILL" and entry.branch_code == BRANCH
    assert entry.before["name"]["en"] != "Pay a bill" and entry.after["name"]["en"] == "Pay a bill"


def test_a_save_from_an_older_version_is_refused_with_both_versions(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    bill = piece(app, HallItemKind.SERVICE, "BILL")
    store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, "BILL", dict(bill.body, target_wait_min=12),
                                    bill.version))
    with pytest.raises(StaleChange) as refused:  # a second admin, from the page they opened before
        store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, "BILL", dict(bill.body, target_wait_min=30),
                                        bill.version))
    assert refused.value.details["yours"] == bill.version
    assert refused.value.details["current"] == bill.version + 1
    assert refused.value.details["current_body"]["target_wait_min"] == 12
    assert app.extensions["hall"].config.branch(BRANCH).service("BILL").target_wait.total_seconds() == 12 * 60


def test_a_bad_value_is_refused_at_its_field_and_nothing_is_written(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    bill = piece(app, HallItemKind.SERVICE, "BILL")
    other_prefix = app.extensions["hall"].config.branch(BRANCH).services[1].prefix
    for bad, field in (({"prefix": "a1"}, "prefix"), ({"prefix": other_prefix}, "prefix"),
                       ({"target_wait_min": -1}, "target_wait_min"), ({"colour": "red"}, "colour"),
                       ({"name": {"zh-CN": "名称太长放不进取号机的按钮" * 2, "en": "Bills"}}, "name")):
        with pytest.raises(InvalidSetup) as refused:
            store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, "BILL", dict(bill.body, **bad),
                                            bill.version))
        assert refused.value.details["field"] == field, refused.value.message
    assert store.model.revision == 1
    assert piece(app, HallItemKind.SERVICE, "BILL").version == bill.version


def test_a_new_service_no_counter_serves_is_refused_until_a_counter_does(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    passport = {"code": "passport", "prefix": "P", "name": {"zh-CN": "护照", "en": "Passports"}}
    with pytest.raises(InvalidSetup, match="no counter serves passport"):
        store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, "passport", passport, None))
    counter = piece(app, HallItemKind.COUNTER, "1")
    with pytest.raises(InvalidSetup) as refused:  # the other way round: the counter names an unknown service
        store.change(ADMIN, PieceChange(HallItemKind.COUNTER, BRANCH, "1", dict(
            counter.body, services=[*counter.body["services"], "passport"]), counter.version))
    assert refused.value.details["field"] == "services"


def test_retiring_the_only_counter_of_a_service_is_refused(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    config = app.extensions["hall"].config.branch(BRANCH)
    only = next(c for c in config.counters
                if any(sum(s in k.services for k in config.counters) == 1 for s in c.services))
    counter = piece(app, HallItemKind.COUNTER, only.number)
    with pytest.raises(InvalidSetup, match="no counter serves"):
        store.change(ADMIN, PieceChange(HallItemKind.COUNTER, BRANCH, only.number, None, counter.version))


def test_a_service_moves_to_the_front_of_the_kiosk(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    last = app.extensions["hall"].config.branch(BRANCH).services[-1]
    item = piece(app, HallItemKind.SERVICE, last.code)
    store.change(ADMIN, PieceChange(HallItemKind.SERVICE, BRANCH, last.code, item.body, item.version, position=0))
    assert app.extensions["hall"].config.branch(BRANCH).services[0].code == last.code
    assert exported(app) == tomllib.loads(store.export_toml())  # and the order is what an export writes
    assert exported(app)["branches"][0]["services"][0]["code"] == last.code


def test_an_account_change_keeps_the_password_hash_out_of_the_audit_log(processes: Processes) -> None:
    app = processes.start()
    store: HallStore = app.extensions["hall_store"]
    account = piece(app, HallItemKind.ACCOUNT, "zhang.wei")
    store.change(ADMIN, PieceChange(HallItemKind.ACCOUNT, NO_BRANCH, "zhang.wei",
                                    dict(account.body, display_name="张伟 (Counter lead)"), account.version))
    [entry] = app.extensions["audit"].search(ADMIN, AuditFilter(actions=(AuditAction.ACCOUNT_CHANGED,)))
    assert entry.before["password_hash"] == entry.after["password_hash"] == "(set)"
    assert app.extensions["hall"].config.account("zhang.wei").display_name == "张伟 (Counter lead)"
