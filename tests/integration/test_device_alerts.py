"""Equipment alerts: a paired device that goes silent is recorded once (also with two server processes on one
database), heard again, revoked; a branch without devices costs no query between looks; printer problems join the
same list. The service layer on SQLite and PostgreSQL, then the API and the sockets (the staff room gets the
alert, the public room only the event's kind and seq)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from server.app import create_app
from server.domain.devices import DeviceSettings
from server.persistence import devices as device_records
from server.persistence import hall_reads
from server.printing import PrinterError, PrintOutcome
from server.services.actor import Actor
from server.services.device_alerts import DeviceAlerts
from server.services.devices import DeviceService
from server.services.hall import HallService
from server.services.printing import PrintingService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_actor
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
MANAGER = Actor("manager", "manager")
DEVICE_KINDS = ("device_offline", "device_online", "device_revoked")


class Process:
    """One server process's device side: its own engines, publisher and DeviceService, on the shared database."""

    def __init__(self, database_url: str, tmp_path: Path, clock: FakeClock) -> None:
        self.publisher = RecordingPublisher()
        self.hall: HallService = build_service(database_url, tmp_path, clock, self.publisher)
        codes = iter(range(100_000 + 7 * id(self) % 800_000, 999_999, 13))
        self.devices = DeviceService(self.hall.config, self.hall.uow, clock, randbelow=lambda _: next(codes))

    def device_events(self) -> list[dict[str, Any]]:
        return [e for e in self.publisher.events if e["kind"] in DEVICE_KINDS]

    def close(self) -> None:
        self.hall.uow.engine.dispose()
        self.hall.uow.read_engine.dispose()


@pytest.fixture
def processes(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Process, Process]]:
    first, second = Process(database_url, tmp_path, clock), Process(database_url, tmp_path, clock)
    yield first, second
    first.close()
    second.close()


def logged(hall: HallService, kind: str) -> list[dict[str, Any]]:
    return [e for e in hall.queries.events_since(BRANCH, 0) if e["kind"] == kind]


def test_a_silent_device_is_recorded_once_by_two_processes_and_heard_again(
    processes: tuple[Process, Process], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    _, secret = paired_actor(a.devices, "kiosk", "K1", name="by the door")
    paired_at = clock.now
    clock.advance(seconds=60)
    assert (a.devices.watch(BRANCH), b.devices.watch(BRANCH)) == (0, 0)  # heard 60 s ago: not silent

    clock.advance(seconds=31)  # 91 s without a heartbeat
    looked = device_records.paired  # b reads the device as silent before a records it, then records too
    with b.hall.uow.read() as session:
        stale = looked(session, BRANCH)
    assert a.devices.watch(BRANCH) == 1
    monkeypatch.setattr(device_records, "paired", lambda session, branch: stale)
    assert b.devices.watch(BRANCH) == 0  # the conditional update found it recorded: no second event
    monkeypatch.setattr(device_records, "paired", looked)
    assert a.devices.watch(BRANCH) == b.devices.watch(BRANCH) == 0
    [offline] = a.device_events() + b.device_events()
    alert = offline["private"]["alert"]
    assert (alert["key"], alert["active"], alert["type"], alert["kind"], alert["target"], alert["name"]) == (
        f"device:{alert['device_id']}", True, "device_offline", "kiosk", "K1", "by the door")
    assert alert["since"] == paired_at.isoformat() and alert["role_name"]["en"] == "Kiosk · K1 Entrance kiosk"
    [row] = logged(a.hall, "device_offline")  # in the event log once, with the branch's seq
    assert row["seq"] == offline["seq"] and row["data"] == {
        "device_id": alert["device_id"], "kind": "kiosk", "target": "K1", "name": "by the door",
        "last_seen_at": paired_at.isoformat()}
    assert [x["key"] for x in a.devices.offline(BRANCH, MANAGER)] == [alert["key"]]

    clock.advance(seconds=5)
    b.devices.heartbeat(secret)  # heard again, in the other process
    b.devices.heartbeat(secret)
    [online] = b.device_events()[-1:]
    assert online["kind"] == "device_online" and online["private"]["alert"] == {"key": alert["key"], "active": False}
    assert len(logged(a.hall, "device_online")) == 1 and a.devices.offline(BRANCH, MANAGER) == []

    clock.advance(seconds=80)
    assert a.devices.watch(BRANCH) == 0
    clock.advance(seconds=11)  # silent again: a new alert
    assert a.devices.watch(BRANCH) + b.devices.watch(BRANCH) == 1
    assert len(logged(a.hall, "device_offline")) == 2


def test_a_heartbeat_committed_while_another_process_looks_wins(
    processes: tuple[Process, Process], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = processes
    _, secret = paired_actor(a.devices, "pad", "3")
    clock.advance(seconds=100)
    with a.hall.uow.read() as session:
        stale = device_records.paired(session, BRANCH)
    b.devices.heartbeat(secret)  # b hears it between a's read and a's record
    monkeypatch.setattr(device_records, "paired", lambda session, branch: stale)
    assert a.devices.watch(BRANCH) == 0
    assert a.device_events() == b.device_events() == [] and logged(a.hall, "device_offline") == []


def test_revoking_a_silent_device_ends_its_alert(processes: tuple[Process, Process], clock: FakeClock) -> None:
    a, _ = processes
    paired_actor(a.devices, "counter_display", "5")
    clock.advance(seconds=91)
    assert a.devices.watch(BRANCH) == 1
    [device] = a.devices.devices(BRANCH, MANAGER)["devices"]
    a.devices.revoke(BRANCH, device["id"], MANAGER)
    revoked = a.device_events()[-1]
    assert revoked["kind"] == "device_revoked"
    assert revoked["private"]["alert"] == {"key": f"device:{device['id']}", "active": False}
    assert a.devices.offline(BRANCH, MANAGER) == []
    clock.advance(seconds=200)
    assert a.devices.watch(BRANCH) == 0  # a revoked device is never silent


def test_a_branch_without_devices_costs_no_query_between_looks(
    processes: tuple[Process, Process], clock: FakeClock
) -> None:
    a, _ = processes
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):  # SQLite's own transaction control
            statements.append(statement)

    engines: list[Engine] = list({id(e): e for e in (a.hall.uow.engine, a.hall.uow.read_engine)}.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        a.devices.watch(BRANCH)  # the first look: one read of the branch's paired devices
        assert len(statements) == 1 and "FROM device" in statements[0]
        statements.clear()
        for _ in range(20):
            clock.advance(seconds=4.5)  # 90 s in all: nothing can have gone silent yet
            a.devices.watch(BRANCH)
        assert statements == []
        clock.advance(seconds=1)
        a.devices.watch(BRANCH)  # one look per offline_after_s, a read only
        assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")

        # a device paired since: no look before it may have gone silent, then at the first chance
        paired_actor(a.devices, "kiosk", "K1")
        statements.clear()
        for _ in range(18):
            clock.advance(seconds=5)  # heard 90 s ago: on the edge, not silent
            a.devices.watch(BRANCH)
        assert statements == []
        clock.advance(seconds=1)
        assert a.devices.watch(BRANCH) == 1
        assert [e['kind'] for e in a.device_events()] == ['device_offline']
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


class Printer:
    def __init__(self) -> None:
        self.fault: str | None = None
        self.paper_low = False

    def __call__(self, host: str, port: int, payload: bytes, **_: Any) -> PrintOutcome:
        if self.fault:
            raise PrinterError(self.fault, f"printer {host}:{port}: {self.fault}")
        return PrintOutcome(paper_low=self.paper_low, status_checked=True, elapsed_s=0.01)


def test_printer_problems_join_the_alerts_and_end_with_a_good_print(
    processes: tuple[Process, Process], clock: FakeClock
) -> None:
    a, _ = processes
    hall = a.hall
    branches = [dataclasses.replace(branch, kiosks=tuple(
        dataclasses.replace(k, printer="escpos", printer_host="127.0.0.1", printer_port=9100) for k in branch.kiosks),
        devices=DeviceSettings()) for branch in hall.config.branches]
    hall.model.replace(dataclasses.replace(hall.config, branches=tuple(branches)), hall.model.revision + 1)
    printer = Printer()
    printing = PrintingService(hall, send=printer)
    alerts = DeviceAlerts(a.devices, printing)
    paired_actor(a.devices, "pad", "3", name="pad 3")

    def print_one() -> None:
        ticket = hall.tickets.issue(BRANCH, "BILL", device="K1")
        try:
            printing.print_ticket(ticket["token"], "K1", "http://hall.test")
        except Exception as exc:  # a failed print is refused with 503 printer_failed
            assert getattr(exc, "code", None) == "printer_failed"

    printer.fault = "paper_out"
    print_one()
    failed = a.publisher.events[-1]
    assert failed["kind"] == "print_failed"
    assert (failed["private"]["alert"]["key"], failed["private"]["alert"]["problem"],
            failed["private"]["alert"]["problem_name"]["zh-CN"]) == ("printer:K1", "paper_out", "缺纸")
    clock.advance(seconds=91)
    a.devices.watch(BRANCH)
    listed = alerts.alerts(BRANCH, MANAGER)["alerts"]
    assert [(x["type"], x["key"], x["problem"]) for x in listed] == [
        ("device_offline", listed[0]["key"], None), ("printer", "printer:K1", "paper_out")]
    assert listed[0]["name"] == "pad 3" and listed[1]["role_name"]["zh-CN"] == "取号机 · K1 入口取号机"

    printer.fault, printer.paper_low = None, True
    print_one()  # printed, but the paper runs low: the alert stays, with the new problem
    assert a.publisher.events[-1]["private"]["alert"]["problem"] == "paper_low"
    assert [x["problem"] for x in alerts.alerts(BRANCH, MANAGER)["alerts"]][1:] == ["paper_low"]
    printer.paper_low = False
    print_one()
    assert a.publisher.events[-1]["private"]["alert"] == {"key": "printer:K1", "active": False}
    assert [x["type"] for x in alerts.alerts(BRANCH, MANAGER)["alerts"]] == ["device_offline"]
    with hall.uow.read() as session:  # the printing outcome's event keeps what it always kept
        [row] = hall_reads.events_of_kinds(session, BRANCH, ("print_failed",), clock.now.replace(year=2000), 10)
    assert json.loads(row.data or "{}")["fault"] == "paper_out"


# --- the API and the sockets ------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The real app, its socket publisher included (the rooms are what is tested)."""
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    from tests.integration.test_api import check_answers_against_openapi

    app, _ = create_app(demo_config(f"sqlite:///{tmp_path / 'api.sqlite3'}", tmp_path), clock=clock)
    app.extensions["hall_live"].publisher.fanout = None  # test clients have no websocket: emit through Socket.IO
    mismatches = check_answers_against_openapi(app)
    yield app
    assert mismatches == []
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


def hall_events(socket: Any) -> list[dict[str, Any]]:
    return [message["args"][0] for message in socket.get_received() if message["name"] == "hall_event"]


def test_the_staff_room_gets_the_alert_and_the_public_room_only_the_kind_and_seq(
    app: Flask, clock: FakeClock
) -> None:
    from tests.device_helpers import paired_client

    socketio = app.extensions["hall_socketio"]
    manager = app.test_client()
    assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    kiosk = paired_client(app, "kiosk", "K1", manager=manager)
    staff_socket = socketio.test_client(app, flask_test_client=manager)
    display = socketio.test_client(app)
    assert staff_socket.emit("join", {"role": "manager", "branch": BRANCH}, callback=True)["ok"] is True
    joined = display.emit("join", {"role": "display", "branch": BRANCH}, callback=True)
    assert joined["ok"] is True
    staff_socket.get_received()
    display.get_received()

    assert manager.get(f"/api/branches/{BRANCH}/device-alerts").get_json()["alerts"] == []
    clock.advance(seconds=91)
    assert app.extensions["devices"].watch(BRANCH) == 1
    [private] = hall_events(staff_socket)
    [public] = hall_events(display)
    assert private["kind"] == public["kind"] == "device_offline" and private["seq"] == public["seq"]
    assert private["seq"] == joined["snapshot"]["seq"] + 1  # the wall sees no gap: it needs no fresh snapshot
    assert private["private"]["alert"]["target"] == "K1"
    assert "private" not in public and set(public) == {"seq", "kind", "at", "branch", "counter"}
    assert public["counter"] is None
    [listed] = manager.get(f"/api/branches/{BRANCH}/device-alerts").get_json()["alerts"]
    assert listed == private["private"]["alert"]
    assert app.test_client().get(f"/api/branches/{BRANCH}/device-alerts").status_code == 401
    staff = app.test_client()
    assert staff.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"}).status_code == 200
    assert staff.get(f"/api/branches/{BRANCH}/device-alerts").status_code == 403

    assert kiosk.post("/api/devices/me/heartbeat", json={}).status_code == 200
    [back] = hall_events(staff_socket)
    [public_back] = hall_events(display)
    assert back["kind"] == "device_online" and back["private"]["alert"]["active"] is False
    assert "private" not in public_back
    assert manager.get(f"/api/branches/{BRANCH}/device-alerts").get_json()["alerts"] == []
    staff_socket.disconnect()
    display.disconnect()
