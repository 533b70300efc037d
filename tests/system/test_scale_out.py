"""Scaling out for real: two server processes on one PostgreSQL and one Redis serve one hall.

A display, a kiosk and a customer's phone connected to one process see what staff do through the other,
in order and without gaps; tickets issued and called through both processes at once are numbered once and
called once (each branch's commands serialise on its ``branch_sequence`` row, whichever process runs them).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import requests

from server.launcher import ServerProcess
from tests.system.clients import BRANCH, Listener, issue, staff_session, wait_for

pytestmark = pytest.mark.slow

B = f"/api/branches/{BRANCH}"


def test_a_display_on_one_process_sees_every_change_made_through_the_other(
        processes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = processes
    display = Listener(b.url).connect()
    assert display.join({"role": "display", "branch": BRANCH})["ok"]
    start_seq = display.snapshots[-1]["seq"]
    kiosk = Listener(a.url).connect()
    assert kiosk.join({"role": "kiosk", "branch": BRANCH})["ok"]

    staff = staff_session(a.url)  # the session cookie is good at either process: they share the secret key
    assert staff.post(f"{a.url}{B}/counters/2/sign-in", json={}).ok
    first, mine = issue(b.url), issue(a.url)
    phone = Listener(b.url).connect()
    assert phone.join({"role": "ticket", "branch": BRANCH, "token": mine["token"]})["ok"]
    assert mine["people_ahead"] == 1

    called = staff.post(f"{b.url}{B}/counters/2/call-next").json()["ticket"]
    assert called["id"] == first["id"]
    wait_for(lambda: len(display.events) == 4, timeout=10)
    assert [e["seq"] for e in display.events] == list(range(start_seq + 1, start_seq + 5))
    assert [e["kind"] for e in display.events][1:] == ["issued", "issued", "called"]
    assert display.events[-1]["counter"] == "2" and display.events[-1]["ticket"]["number"] == first["number"]

    # the live work runs in the process holding the branch's lease; its summaries and ticket updates reach both
    wait_for(lambda: any(s["services"]["BILL"]["waiting"] == 1 for s in kiosk.summaries), timeout=10)
    update = wait_for(lambda: next((u for u in phone.ticket_updates if u["people_ahead"] == 0), None), timeout=10)
    assert update["ticket_id"] == mine["id"]

    snapshot = requests.get(f"{b.url}{B}/snapshot").json()
    counter = next(c for c in snapshot["counters"] if c["number"] == "2")
    assert counter["current"]["number"] == first["number"] and counter["current"]["state"] == "called"
    assert snapshot["seq"] == requests.get(f"{a.url}{B}/snapshot").json()["seq"] == start_seq + 4
    for listener in (display, kiosk, phone):
        listener.close()


def test_issuing_and_calling_through_both_processes_at_once_numbers_and_calls_each_ticket_once(
        processes: tuple[ServerProcess, ServerProcess]) -> None:
    urls = [p.url for p in processes]
    issued: list[dict] = []
    lock = threading.Lock()

    def take_tickets(worker: int) -> None:
        for _ in range(15):
            ticket = issue(urls[worker % 2])
            with lock:
                issued.append(ticket)

    threads = [threading.Thread(target=take_tickets, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(issued) == 60
    assert len({t["number"] for t in issued}) == 60 and len({t["id"] for t in issued}) == 60

    # counters 1, 2 and 3 all serve BILL; each staff member works through a different process in turn
    staff = [("zhang.wei", "1"), ("li.na", "2"), ("wang.fang", "3")]
    calls: Counter[int] = Counter()
    failures: list[str] = []

    def work(index: int) -> None:
        username, counter = staff[index]
        sessions = [staff_session(url, username) for url in urls]
        assert sessions[0].post(f"{urls[0]}{B}/counters/{counter}/sign-in", json={}).ok
        turn = index
        while True:
            url, session = urls[turn % 2], sessions[turn % 2]
            turn += 1
            response = session.post(f"{url}{B}/counters/{counter}/call-next")
            if response.status_code != 200:
                failures.append(response.text)
                return
            ticket = response.json()["ticket"]
            if ticket is None:
                return
            with lock:
                calls[ticket["id"]] += 1
            done = session.post(f"{url}{B}/tickets/{ticket['id']}/no-show", json={})
            if done.status_code != 200:
                failures.append(done.text)
                return

    workers = [threading.Thread(target=work, args=(index,)) for index in range(len(staff))]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    assert failures == []
    assert set(calls) == {t["id"] for t in issued}
    assert max(calls.values()) == 1
