"""Real Socket.IO clients against a real server process: join, snapshot, ordered events, privacy, auth."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from server.launcher import ServerProcess, write_config
from tests.system.clients import BRANCH, Listener, issue, staff_session, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    with ServerProcess(config) as process:
        yield process


def test_join_gives_a_snapshot_then_every_event_in_order(server: ServerProcess) -> None:
    staff = staff_session(server.url)
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/sign-in", json={}).ok
    issue(server.url)
    display = Listener(server.url).connect()
    answer = display.join({"role": "display", "branch": BRANCH})
    assert answer["ok"] and answer["role"] == "display"
    snapshot = answer["snapshot"]
    assert snapshot["seq"] == 2 and snapshot["waiting_total"] == 1
    assert {s["code"] for s in snapshot["services"]} >= {"BILL", "PLAN"}
    assert all("estimate" in s for s in snapshot["services"])

    for _ in range(3):
        issue(server.url)
    called = staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/call-next").json()["ticket"]
    wait_for(lambda: len(display.events) == 4)
    seqs = [e["seq"] for e in display.events]
    assert seqs == [3, 4, 5, 6]
    assert [e["kind"] for e in display.events] == ["issued", "issued", "issued", "called"]
    assert display.events[-1]["counter"] == "2" and display.events[-1]["ticket"]["number"] == called["number"]
    display.close()


def test_summary_and_ticket_updates_follow_the_queue(server: ServerProcess) -> None:
    staff = staff_session(server.url)
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/1/sign-in", json={}).ok
    tickets = [issue(server.url) for _ in range(3)]
    mine = tickets[-1]
    assert mine["people_ahead"] == 2
    customer = Listener(server.url).connect()
    answer = customer.join({"role": "ticket", "branch": BRANCH, "token": mine["token"]})
    assert answer["ok"] and answer["snapshot"]["number"] == mine["number"]
    assert "token" not in answer["snapshot"]
    kiosk = Listener(server.url).connect()
    assert kiosk.join({"role": "kiosk", "branch": BRANCH})["ok"]

    staff.post(f"{server.url}/api/branches/{BRANCH}/counters/1/call-next")
    update = wait_for(lambda: next((u for u in customer.ticket_updates if u["people_ahead"] == 1), None))
    assert update["ticket_id"] == mine["id"] and update["estimate"]["known"] is True
    summary = wait_for(lambda: next((s for s in kiosk.summaries if s["services"]["BILL"]["waiting"] == 2), None))
    assert summary["services"]["BILL"]["estimate"]["text"]["en"]
    # the customer's room carries only their own ticket's events
    assert all(e.get("ticket", {}).get("id") == mine["id"] for e in customer.events)
    customer.close()
    kiosk.close()


def test_public_rooms_never_see_private_data(server: ServerProcess) -> None:
    staff = staff_session(server.url)
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/sign-in", json={}).ok
    public = Listener(server.url).connect()
    assert public.join({"role": "display", "branch": BRANCH})["ok"]
    private = Listener(server.url, http_session=staff).connect()
    assert private.join({"role": "staff", "branch": BRANCH})["ok"]
    ticket = issue(server.url)
    called = staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/call-next").json()["ticket"]
    assert called["id"] == ticket["id"]
    note = "客户手机号 13800138000 needs ID check"
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/tickets/{ticket['id']}/transfer",
                      json={"to_counter": "3", "note": note, "version": called["version"]}).ok
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/pause", json={"reason": "lunch 午饭"}).ok
    wait_for(lambda: len(public.events) >= 4 and len(private.events) >= 4)
    time.sleep(0.3)
    public_text = json.dumps([public.events, public.summaries, public.snapshots], ensure_ascii=False)
    for secret in ("zhang.wei", "13800138000", "ID check", "lunch", "午饭", ticket["token"], "private"):
        assert secret not in public_text, secret
    private_text = json.dumps(private.events, ensure_ascii=False)
    assert "zhang.wei" in private_text and "lunch" in private_text and "ID check" in private_text
    assert "13800138000" not in private_text and "138****8000" in private_text  # staff see the number masked
    public.close()
    private.close()


def test_private_rooms_and_commands_need_a_session(server: ServerProcess) -> None:
    anonymous = Listener(server.url).connect()
    for role in ("staff", "manager"):
        answer = anonymous.join({"role": role, "branch": BRANCH})
        assert answer == {"ok": False, "error": "unauthenticated", "message": answer["message"]}
    staff_only = Listener(server.url, http_session=staff_session(server.url)).connect()
    assert staff_only.join({"role": "manager", "branch": BRANCH})["error"] == "forbidden"
    manager = Listener(server.url, http_session=staff_session(server.url, "manager", "demo-manager")).connect()
    assert manager.join({"role": "manager", "branch": BRANCH})["ok"]

    issue(server.url)
    response = requests.post(f"{server.url}/api/branches/{BRANCH}/counters/2/call-next")
    assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    time.sleep(0.3)
    assert not anonymous.events, "a refused join must not leave the socket in any room"
    for bad in ({"role": "display", "branch": "NOPE"}, {"role": "wizard", "branch": BRANCH}, "display",
                {"role": "ticket", "branch": BRANCH, "token": "guess"},
                {"role": "counter", "branch": BRANCH, "counter": "99"}):
        answer = anonymous.join(bad)  # type: ignore[arg-type]
        assert answer["ok"] is False and answer["error"] and answer["message"]
    for client in (anonymous, staff_only, manager):
        client.close()


def test_clients_resync_after_a_server_restart(server: ServerProcess) -> None:
    staff = staff_session(server.url)
    assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/sign-in", json={}).ok
    first = issue(server.url)
    display = Listener(server.url).connect()
    assert display.join({"role": "display", "branch": BRANCH})["snapshot"]["seq"] == 2

    server.kill()
    server.restart()
    wait_for(lambda: len(display.snapshots) == 2, timeout=15)
    assert display.snapshots[-1]["seq"] == 2 and display.snapshots[-1]["waiting_total"] == 1
    staff = staff_session(server.url)  # the session cookie survives a restart; a new login is fine too
    called = staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/call-next").json()["ticket"]
    assert called["number"] == first["number"]
    event = wait_for(lambda: next((e for e in display.events if e["kind"] == "called"), None))
    assert event["seq"] == 3
    display.close()


def test_display_zone_filters_the_snapshot(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hall.sqlite3'}")
    text = config.read_text(encoding="utf-8")
    text += ('\n[[branches.zones]]\ncode = "VIPROOM"\nname = { "zh-CN" = "贵宾室", en = "VIP room" }\n'
             'services = ["VIP"]\ncounters = ["8"]\n')
    config.write_text(text, encoding="utf-8")
    with ServerProcess(config) as process:
        display = Listener(process.url).connect()
        answer = display.join({"role": "display", "branch": BRANCH, "zone": "VIPROOM"})
        assert answer["ok"], answer
        snapshot = answer["snapshot"]
        assert [s["code"] for s in snapshot["services"]] == ["VIP"]
        assert [c["number"] for c in snapshot["counters"]] == ["8"]
        assert snapshot["zone"]["name"]["en"] == "VIP room"
        assert display.join({"role": "display", "branch": BRANCH, "zone": "NOPE"})["error"] == "unknown_zone"
        display.close()


def test_websockets_decline_per_message_deflate(server: ServerProcess) -> None:
    """Browsers offer compression on every websocket; compressing each message for each display would cost
    the server a zlib pass per message per display (and a zlib context per connection), so it declines."""
    host, port = server.url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = connection.recv(4096)
            assert chunk, response
            response += chunk
    head = response.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 101"), head
    assert "sec-websocket-extensions" not in head


def test_hall_alerts_reach_the_staff_room_only(server: ServerProcess) -> None:
    """A VIP ticket while no counter serves VIP: the staff room's summary carries the alert within the live loop's
    coalescing second (plus a margin for a shared test machine); the public room's summary has no private part."""
    staff = staff_session(server.url)
    public = Listener(server.url).connect()
    assert public.join({"role": "kiosk", "branch": BRANCH})["ok"]
    private = Listener(server.url, http_session=staff).connect()
    assert private.join({"role": "staff", "branch": BRANCH})["ok"]
    issued = time.monotonic()
    issue(server.url, "VIP")

    def vip_alert() -> dict | None:
        with private.lock:
            alerts = [a for s in private.summaries for a in s.get("private", {}).get("alerts", [])]
        return next((a for a in alerts if a["key"] == "hall:unserved_waiting:VIP"), None)

    alert = wait_for(vip_alert, timeout=3)
    assert time.monotonic() - issued < 1.5
    assert alert["severity"] == "critical" and alert["text"]["en"]
    wait_for(lambda: public.summaries)
    time.sleep(0.3)
    assert all("private" not in s for s in public.summaries)
    assert "unserved_waiting" not in json.dumps([public.summaries, public.snapshots, public.events])
    again = Listener(server.url, http_session=staff).connect()
    snapshot = again.join({"role": "staff", "branch": BRANCH})["snapshot"]
    assert [a["key"] for a in snapshot["hall_alerts"]] == ["hall:unserved_waiting:VIP"]
    kiosk = Listener(server.url).connect()
    assert "hall_alerts" not in kiosk.join({"role": "kiosk", "branch": BRANCH})["snapshot"]
    for listener in (public, private, again, kiosk):
        listener.close()
