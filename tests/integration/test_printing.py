"""Kiosk ticket printing against a real TCP listener standing in for an ESC/POS network printer.

The service-layer tests run on SQLite and PostgreSQL (``database_url``); the HTTP tests on SQLite.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from server.config import load_config
from server.domain.errors import DomainError, NotFound
from server.persistence.database import make_engine, make_readonly_engine, migrate
from server.printing import PrinterError, send_to_printer
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.printing import PrintingService
from server.services.unit_of_work import UnitOfWork
from server.settings import HallConfig
from tests.conftest import RecordingPublisher
from tests.support import DEMO_CONFIG, FakeClock, open_all_day

BRANCH = "SZ-FUTIAN"
BASE = "http://hall.test:8080"
STATUS_OK = 0x12
PAPER_OUT = 0x12 | 0x60
PAPER_LOW = 0x12 | 0x0C
COVER_OPEN = 0x12 | 0x04
QR_PRINT = b"\x1d(k\x03\x001Q0"
CUT = b"\x1dV\x00"


# --- a printer on a local port ----------------------------------------------------------------------


class FakePrinter:
    """Records the bytes it receives and answers ``DLE EOT n`` status requests, or hangs ("never reads")."""

    def __init__(self, *, mode: str = "ok", offline: int = STATUS_OK, paper: int = STATUS_OK) -> None:
        self.mode, self.offline, self.paper = mode, offline, paper
        self.received = bytearray()
        self.connections = 0
        self.stopping = threading.Event()
        printer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                printer.serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def serve(self, conn: socket.socket) -> None:
        self.connections += 1
        if self.mode == "hang":  # accepts the connection, then never reads nor answers
            self.stopping.wait(10)
            return
        conn.settimeout(5)
        mine = bytearray()
        scanned = 0
        while not self.stopping.is_set():
            try:
                chunk = conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            mine += chunk
            self.received += chunk
            while (found := mine.find(b"\x10\x04", scanned)) != -1 and found + 2 < len(mine):
                scanned = found + 3
                if self.mode == "ok":
                    conn.sendall(bytes([self.offline if mine[found + 2] == 2 else self.paper]))

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def printers() -> Iterator[Callable[..., FakePrinter]]:
    started: list[FakePrinter] = []

    def start(**kwargs: Any) -> FakePrinter:
        printer = FakePrinter(**kwargs)
        started.append(printer)
        return printer

    yield start
    for printer in started:
        printer.close()


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kiosk(kiosk_id: str, printer: str, **settings: Any) -> dict[str, Any]:
    return {"id": kiosk_id, "name": {"zh-CN": f"取号机{kiosk_id}", "en": f"Kiosk {kiosk_id}"}, "printer": printer,
            "print_timeout_s": 2, **settings}


def printing_config(database_url: str, tmp_path: Path, kiosks: list[dict[str, Any]],
                    public_url: str | None = None) -> HallConfig:
    """The demo hall, open all day, with these kiosks."""

    def adjust(data: dict[str, Any]) -> None:
        data["server"]["database_url"] = database_url
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
        if public_url is not None:
            data["server"]["public_url"] = public_url
        open_all_day(data)
        for branch in data["branches"]:
            branch["kiosks"] = kiosks

    return load_config(DEMO_CONFIG, overrides=adjust)


@pytest.fixture
def make_printing(
    database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., PrintingService]]:
    """A PrintingService (and its HallService) on the parametrised database with the given kiosks."""
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    engines: list[Any] = []

    def make(*kiosks: dict[str, Any]) -> PrintingService:
        config = printing_config(database_url, tmp_path, list(kiosks))
        migrate(config.server.database_url)
        engine = make_engine(config.server.database_url, sqlite_synchronous="normal")
        read_engine = make_readonly_engine(config.server.database_url)
        engines.extend([engine, read_engine])
        hall = HallService(config, UnitOfWork(engine, read_engine, publisher), clock=clock)
        hall.ensure_branches()
        return PrintingService(hall)

    yield make
    for engine in engines:
        if engine is not None:  # no separate read engine on PostgreSQL
            engine.dispose()


def print_events(service: PrintingService) -> list[dict[str, Any]]:
    return [e for e in service.hall.queries.events_since(BRANCH, 0) if e["kind"] in ("printed", "print_failed")]


def printer_failure(service: PrintingService, token: str, kiosk_id: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        service.print_ticket(token, kiosk_id, BASE)
    assert info.value.code == "printer_failed"
    assert info.value.http_status == 503
    return info.value


# --- the service layer, on SQLite and PostgreSQL -------------------------------------------------------


def test_the_printer_receives_the_ticket_number_qr_and_cut(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
    publisher: RecordingPublisher,
) -> None:
    printer = printers()
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"))
    service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")

    result = service.print_ticket(ticket["token"], "K1", BASE)

    assert result == {"printed": True, "kiosk": "K1", "number": "A002", "url": f"{BASE}/t/{ticket['token']}",
                      "paper_low": False}
    data = bytes(printer.received)
    assert data.startswith(b"\x10\x04\x02\x10\x04\x04")  # asks for cover and paper status first
    assert b"A002" in data
    assert "星河通信 福田中心营业厅".encode("gb18030") in data
    assert "缴费充值".encode("gb18030") in data
    assert f"{BASE}/t/{ticket['token']}".encode() in data  # the QR code's data ...
    assert QR_PRINT in data  # ... printed natively (GS ( k)
    assert CUT in data
    assert data.endswith(CUT + b"\x10\x04\x04")  # then asks again: the printer took the whole ticket
    assert "前面还有 1 人".encode("gb18030") in data
    events = print_events(service)
    assert [(e["kind"], e["device"], e["ticket_number"], e["reason"]) for e in events] == [
        ("printed", "K1", "A002", None)]
    assert events[0]["data"]["printer"] == f"127.0.0.1:{printer.port}"
    assert publisher.kinds()[-1] == "printed"
    assert publisher.events[-1]["device"] == "K1"
    assert "reason" not in publisher.events[-1]  # reasons go to staff only
    assert service.hall.queries.ticket_by_token(ticket["token"])["state"] == "waiting"


def test_printer_down_is_503_recorded_and_the_ticket_stays_waiting(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{closed_port()}"))
    ticket = service.hall.tickets.issue(BRANCH, "PLAN", device="K1")

    error = printer_failure(service, ticket["token"], "K1")

    assert error.details["fault"] == "unreachable"
    assert "unreachable" in error.details["reason"] and "refused" in error.details["reason"].lower()
    assert error.details["kiosk"] == "K1" and error.details["number"] == "B001"
    assert error.details["url"] == f"{BASE}/t/{ticket['token']}"  # the kiosk shows this QR instead
    [event] = print_events(service)
    assert (event["kind"], event["device"], event["ticket_number"]) == ("print_failed", "K1", "B001")
    assert event["reason"] == error.details["reason"]
    assert event["data"]["fault"] == "unreachable"
    again = service.hall.queries.ticket_by_token(ticket["token"])
    assert again["state"] == "waiting" and again["people_ahead"] == 0
    assert service.hall.queries.snapshot(BRANCH)["waiting_total"] == 1


def test_a_printer_that_accepts_but_never_reads_times_out(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers(mode="hang")
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}", print_timeout_s=0.5))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")

    started = time.monotonic()
    error = printer_failure(service, ticket["token"], "K1")

    assert time.monotonic() - started < 3
    assert printer.connections == 1
    assert error.details["fault"] == "timeout"
    assert "0.5 s" in error.details["reason"]
    assert print_events(service)[0]["data"]["fault"] == "timeout"
    assert service.hall.queries.ticket_by_token(ticket["token"])["state"] == "waiting"


def test_the_branch_is_not_locked_while_a_printer_hangs(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers(mode="hang")
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}", print_timeout_s=1.5))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    outcome: list[DomainError] = []

    def attempt() -> None:
        try:
            service.print_ticket(ticket["token"], "K1", BASE)
        except DomainError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attempt)
    worker.start()
    while printer.connections == 0:
        time.sleep(0.01)
    started = time.monotonic()
    other = service.hall.tickets.issue(BRANCH, "BILL", device="K1")  # a command on the same branch meanwhile
    assert time.monotonic() - started < 1.0
    assert worker.is_alive()  # the print is still waiting for the printer
    worker.join(5)
    assert other["number"] == "A002"
    assert [e.code for e in outcome] == ["printer_failed"]


@pytest.mark.parametrize(("status", "fault"), [({"paper": PAPER_OUT}, "paper_out"),
                                               ({"offline": COVER_OPEN}, "cover_open")])
def test_paper_out_or_cover_open_prints_nothing_and_is_a_fault(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
    status: dict[str, int], fault: str,
) -> None:
    printer = printers(**status)
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")

    error = printer_failure(service, ticket["token"], "K1")

    assert error.details["fault"] == fault
    assert b"A001" not in printer.received  # the ticket was never sent
    assert print_events(service)[0]["kind"] == "print_failed"


def test_paper_low_still_prints_and_is_reported(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers(paper=PAPER_LOW)
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    assert service.print_ticket(ticket["token"], "K1", BASE)["paper_low"] is True
    faults = service.device_faults(BRANCH)["kiosks"][0]
    assert (faults["status"], faults["paper_low"]) == ("ok", True)


def test_a_printer_without_status_answers_needs_status_query_off(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    silent = printers(mode="silent")  # reads everything, answers nothing
    service = make_printing(
        kiosk("K1", f"escpos://127.0.0.1:{silent.port}", print_timeout_s=0.5),
        kiosk("K2", f"escpos://127.0.0.1:{silent.port}", print_timeout_s=0.5, status_query=False),
    )
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    assert printer_failure(service, ticket["token"], "K1").details["fault"] == "timeout"
    staff = Actor("zhang.wei", "staff")  # another kiosk than the one that issued it: staff print it there
    assert service.print_ticket(ticket["token"], "K2", BASE, staff)["printed"] is True  # sent, nobody confirmed it
    deadline = time.monotonic() + 2
    while b"A001" not in silent.received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert b"A001" in silent.received
    assert print_events(service)[-1]["data"]["status_checked"] is False


def test_unknown_kiosk_or_ticket_is_not_found_and_records_nothing(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printers().port}"))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    with pytest.raises(NotFound) as info:
        service.print_ticket(ticket["token"], "K404", BASE)
    assert info.value.code == "unknown_kiosk"
    with pytest.raises(NotFound) as info:
        service.print_ticket("no-such-token", "K1", BASE)
    assert info.value.code == "unknown_ticket"
    assert print_events(service) == []


def test_browser_kiosk_and_closed_ticket_are_refused(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers()
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"), kiosk("K2", "browser"))
    ticket = service.hall.tickets.issue(BRANCH, "BILL", device="K1")
    with pytest.raises(DomainError) as info:
        service.print_ticket(ticket["token"], "K2", BASE)
    assert (info.value.code, info.value.http_status) == ("no_network_printer", 409)
    service.hall.tickets.cancel_by_customer(ticket["token"])
    with pytest.raises(DomainError) as info:
        service.print_ticket(ticket["token"], "K1", BASE)
    assert info.value.code == "ticket_closed"
    assert printer.connections == 0


def test_device_faults_per_kiosk(
    make_printing: Callable[..., PrintingService], printers: Callable[..., FakePrinter], clock: FakeClock,
) -> None:
    printer = printers()
    down = closed_port()
    service = make_printing(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"),
                            kiosk("K2", f"escpos://127.0.0.1:{down}"), kiosk("K3", "browser"))
    tokens = [service.hall.tickets.issue(BRANCH, "BILL", device=k)["token"] for k in ("K1", "K2", "K2")]
    service.print_ticket(tokens[0], "K1", BASE)
    printer_failure(service, tokens[1], "K2")
    clock.advance(minutes=1)
    printer_failure(service, tokens[2], "K2")

    report = service.device_faults(BRANCH)

    assert report["faults"] == 1
    by_kiosk = {k["kiosk"]: k for k in report["kiosks"]}
    assert by_kiosk["K1"]["status"] == "ok" and by_kiosk["K1"]["printed"] == 1
    assert by_kiosk["K3"]["status"] == "no_printer"
    k2 = by_kiosk["K2"]
    assert (k2["status"], k2["failed"], k2["printed"]) == ("fault", 2, 0)
    assert [f["ticket_number"] for f in k2["recent_failures"]] == ["A003", "A002"]  # newest first
    assert k2["recent_failures"][0]["fault"] == "unreachable"
    assert k2["recent_failures"][0]["printer"] == f"127.0.0.1:{down}"
    assert k2["name"] == {"zh-CN": "取号机K2", "en": "Kiosk K2"}
    clock.advance(hours=25)  # older than the window
    assert service.device_faults(BRANCH)["faults"] == 0


def test_send_to_printer_reports_refused_connections_directly() -> None:
    with pytest.raises(PrinterError) as info:
        send_to_printer("127.0.0.1", closed_port(), b"x", timeout=1)
    assert info.value.fault == "unreachable"


# --- HTTP, on SQLite --------------------------------------------------------------------------------


@pytest.fixture
def make_client(
    tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[Flask, FlaskClient]]]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    apps: list[Flask] = []

    def make(*kiosks: dict[str, Any], public_url: str | None = None) -> tuple[Flask, FlaskClient]:
        config = printing_config(f"sqlite:///{tmp_path / 'api.sqlite3'}", tmp_path, list(kiosks), public_url)
        app, _socketio = create_app(config, clock=clock, publisher=publisher)
        apps.append(app)
        return app, app.test_client()

    yield make
    for app in apps:
        hall = app.extensions["hall"]
        hall.uow.engine.dispose()
        hall.uow.read_engine.dispose()


def take_ticket(client: FlaskClient, service: str = "BILL", kiosk: str = "K1") -> dict[str, Any]:
    r = client.post(f"/api/branches/{BRANCH}/tickets", json={"service": service}, headers={"X-Device-Id": kiosk})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def signed_in(app: Flask, username: str, password: str) -> FlaskClient:
    c = app.test_client()
    assert c.post("/api/session", json={"username": username, "password": password}).status_code == 200
    return c


def test_api_prints_and_reports_failures(
    make_client: Callable[..., tuple[Flask, FlaskClient]], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers()
    app, client = make_client(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"),
                              kiosk("K2", f"escpos://127.0.0.1:{closed_port()}"), kiosk("K3", "browser"))
    ticket = take_ticket(client)

    r = client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K1"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["printed"] is True
    assert f"http://localhost/t/{ticket['token']}".encode() in printer.received  # from the request's host
    assert b"A001" in printer.received and QR_PRINT in printer.received and CUT in printer.received

    staff = signed_in(app, "zhang.wei", "demo-staff")  # the ticket came from K1: only staff print it at K2
    assert client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K2"}).status_code == 403
    r = staff.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K2"})
    assert r.status_code == 503
    body = r.get_json()
    assert body["error"] == "printer_failed"
    assert "K2" in body["message"] and "unreachable" in body["message"]
    assert body["details"]["fault"] == "unreachable"
    assert body["details"]["url"] == f"http://localhost/t/{ticket['token']}"
    assert client.get(f"/api/tickets/{ticket['token']}").get_json()["state"] == "waiting"

    r = client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K404"})
    assert (r.status_code, r.get_json()["error"]) == (404, "unknown_kiosk")
    r = client.post("/api/tickets/nope/print", json={"kiosk": "K1"})
    assert (r.status_code, r.get_json()["error"]) == (404, "unknown_ticket")
    r = client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K3"})
    assert (r.status_code, r.get_json()["error"]) == (409, "no_network_printer")
    r = client.post(f"/api/tickets/{ticket['token']}/print", json={})
    assert r.status_code == 422 and "kiosk" in r.get_json()["message"]


def test_api_qr_uses_the_configured_public_url(
    make_client: Callable[..., tuple[Flask, FlaskClient]], printers: Callable[..., FakePrinter],
) -> None:
    printer = printers()
    _app, client = make_client(kiosk("K1", f"escpos://127.0.0.1:{printer.port}"),
                               public_url="https://queue.example.cn/hall/")
    ticket = take_ticket(client)
    r = client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K1"})
    assert r.get_json()["url"] == f"https://queue.example.cn/hall/t/{ticket['token']}"
    assert f"https://queue.example.cn/hall/t/{ticket['token']}".encode() in printer.received


def test_api_kiosk_settings(make_client: Callable[..., tuple[Flask, FlaskClient]]) -> None:
    _app, client = make_client(kiosk("K1", "escpos://10.0.0.5:9100", confirmation_s=15),
                               {"id": "K2", "name": {"zh-CN": "二楼", "en": "Upstairs"}, "printer": "none"})
    r = client.get(f"/api/branches/{BRANCH}/kiosks")
    assert r.status_code == 200
    body = r.get_json()
    assert body["ticket_url"] == "http://localhost/t/{token}"
    assert body["kiosks"] == [
        {"id": "K1", "name": {"zh-CN": "取号机K1", "en": "Kiosk K1"}, "printer": "escpos", "print_timeout_s": 2.0,
         "confirmation_s": 15.0, "idle_reset_s": 60.0},
        {"id": "K2", "name": {"zh-CN": "二楼", "en": "Upstairs"}, "printer": "none", "print_timeout_s": 5.0,
         "confirmation_s": 20.0, "idle_reset_s": 60.0},
    ]
    assert "10.0.0.5" not in r.get_data(as_text=True)  # printer addresses stay on the server
    assert client.get("/api/branches/NOPE/kiosks").status_code == 404


def test_api_device_faults_are_for_managers(
    make_client: Callable[..., tuple[Flask, FlaskClient]],
) -> None:
    app, client = make_client(kiosk("K1", f"escpos://127.0.0.1:{closed_port()}"))
    ticket = take_ticket(client)
    assert client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K1"}).status_code == 503
    url = f"/api/branches/{BRANCH}/device-faults"
    anonymous = client.get(url)
    assert anonymous.status_code in (401, 403) and anonymous.get_json()["error"] == "unauthenticated"
    r = signed_in(app, "zhang.wei", "demo-staff").get(url)
    assert (r.status_code, r.get_json()["error"]) == (403, "manager_only")
    r = signed_in(app, "manager", "demo-manager").get(url)
    assert r.status_code == 200
    report = r.get_json()
    assert report["faults"] == 1
    [k1] = report["kiosks"]
    assert (k1["kiosk"], k1["status"], k1["recent_failures"][0]["fault"]) == ("K1", "fault", "unreachable")
    assert signed_in(app, "manager", "demo-manager").get("/api/branches/NOPE/device-faults").status_code == 404
