"""The notifier on SQLite and PostgreSQL, against real local HTTP listeners: a webhook signed by the documented
rule and retried after the listener fails once; a test SMS gateway that gets "3 ahead", "you're next" and "your
turn, counter 2" in the customer's language; a hanging listener that does not delay ticket commands; a
delivery leased by one sender only; opt-in, stop and the retention of the number; webhooks managed and audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from server.domain.audit import AuditAction
from server.domain.errors import DomainError
from server.domain.notifications import SIGNATURE_HEADER, verify
from server.domain.tickets import Action
from server.persistence import notifications as records
from server.persistence.database import make_engine, make_readonly_engine
from server.persistence.tables import AuditEntryRow, CustomerContact
from server.services.actor import Actor
from server.services.hall import HallService
from server.services.live import LiveHall
from server.services.notifications import NotificationService
from server.services.unit_of_work import UnitOfWork
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")
MANAGER = Actor("manager", "manager")
EN_BRANCH = "Xinghe Telecom Futian Central Hall"


class Listener:
    """A local HTTP server that records each POST and answers with the next of ``answers`` (then 200), after
    ``delay_s``."""

    def __init__(self, answers: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.answers = list(answers or [])
        self.delay_s = delay_s
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"headers": dict(self.headers), "body": body, "at": time.time()})
                time.sleep(outer.delay_s)
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def notifying(gateway_url: str, timeout_s: float = 2.0) -> Callable[[dict[str, Any]], None]:
    def more(data: dict[str, Any]) -> None:
        data["notifications"] = {"sms_gateway_url": gateway_url, "timeout_s": timeout_s, "sms_sender": "HALL",
                                 "webhook_allow_loopback": True, "notify_at_ahead": [3, 0]}
    return more


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, gateway: Listener) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=notifying(gateway.url))
    service.counters.sign_in(BRANCH, "2", ZHANG)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def live(hall: HallService, clock: FakeClock) -> LiveHall:
    return LiveHall(hall.config, hall.uow, clock)


@pytest.fixture
def notifier(hall: HallService, live: LiveHall, clock: FakeClock) -> NotificationService:
    def ahead(branch: str, ticket_id: int) -> int | None:
        found = live.ticket_live(branch, ticket_id)
        return None if found is None else int(found["people_ahead"])

    service = NotificationService(hall.config, hall.uow, clock, people_ahead=ahead, jitter=lambda: 0.0)
    service.run_pass()  # the first pass starts the cursor at the log's end
    return service


def serve_one(hall: HallService, ticket: dict[str, Any]) -> None:
    hall.counters.call_ticket(BRANCH, "2", ticket["id"], ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.START, ZHANG)
    hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, ZHANG)


def test_a_webhook_is_signed_and_retried_after_the_listener_fails_once(
        hall: HallService, notifier: NotificationService, clock: FakeClock) -> None:
    listener = Listener(answers=[500])
    try:
        _, secret = notifier.create_webhook(BRANCH, MANAGER, name="booking", url=listener.url,
                                            events=["ticket.issued"], branches=None)
        ticket = hall.tickets.issue(BRANCH, "BILL")
        assert notifier.run_pass() == 1
        assert len(listener.received) == 1
        hook_id = notifier.webhooks(BRANCH, MANAGER)["webhooks"][0]["id"]
        first = notifier.delivery_log(BRANCH, hook_id, MANAGER)["deliveries"][0]
        assert first["state"] == "pending" and first["last_status"] == 500 and first["attempts"] == 1
        assert notifier.run_pass() == 0  # not yet due: the retry waits 10 s
        clock.advance(seconds=11)
        assert notifier.run_pass() == 1
        done = notifier.delivery_log(BRANCH, hook_id, MANAGER)["deliveries"][0]
        assert done["state"] == "sent" and done["last_status"] == 200
        assert [a["status_code"] for a in done["attempt_log"]] == [500, 200]
        assert [a["ok"] for a in done["attempt_log"]] == [False, True]
        for got in listener.received:
            header = got["headers"][SIGNATURE_HEADER]
            assert verify(secret, got["body"], header, int(clock.now.timestamp()))
            assert not verify("whsec_wrong", got["body"], header, int(clock.now.timestamp()))
        body = json.loads(listener.received[1]["body"])
        assert body["event"] == "ticket.issued" and body["data"]["ticket"] == ticket["number"]
        assert "token" not in json.dumps(body)  # nothing private leaves the hall
        assert listener.received[1]["headers"]["X-Hall-Event"] == "ticket.issued"
    finally:
        listener.close()


def test_a_failing_webhook_is_given_up_after_the_last_retry(hall: HallService, notifier: NotificationService,
                                                            clock: FakeClock) -> None:
    listener = Listener(answers=[503] * 20)
    try:
        notifier.create_webhook(BRANCH, MANAGER, name="down", url=listener.url, events=["ticket.issued"],
                                branches=None)
        hall.tickets.issue(BRANCH, "BILL")
        for _ in range(10):
            notifier.run_pass()
            clock.advance(hours=3)
        hook_id = notifier.webhooks(BRANCH, MANAGER)["webhooks"][0]["id"]
        log = notifier.delivery_log(BRANCH, hook_id, MANAGER)["deliveries"][0]
        assert log["state"] == "given_up" and log["attempts"] == 7 and len(listener.received) == 7
    finally:
        listener.close()


def test_the_sms_gateway_gets_three_ahead_next_and_the_call_in_the_customers_language(
        hall: HallService, live: LiveHall, notifier: NotificationService, gateway: Listener) -> None:
    before = [hall.tickets.issue(BRANCH, "BILL") for _ in range(4)]
    mine = hall.tickets.issue(BRANCH, "BILL")
    theirs = hall.tickets.issue(BRANCH, "BILL")
    state = notifier.opt_in(mine["token"], "138 1234 5678", True, "en")
    assert state["subscribed"] and state["phone"] == "138****5678"
    notifier.opt_in(theirs["token"], "13900001111", True, "zh-CN")

    def step() -> list[dict[str, Any]]:
        live.refresh(BRANCH)
        notifier.run_pass()
        return [json.loads(r["body"]) for r in gateway.received]

    assert step() == []  # 4 ahead, 5 ahead: nothing yet
    serve_one(hall, before[0])
    sent = step()
    assert len(sent) == 1 and sent[0]["to"] == "+8613812345678" and sent[0]["sender"] == "HALL"
    assert sent[0]["text"] == f"{EN_BRANCH}: ticket {mine['number']}, 3 ahead of you. Please be ready."
    serve_one(hall, before[1])
    serve_one(hall, before[2])
    sent = step()
    # the other customer's people ahead jumped from 4 to 2: one message, with the count as it is, in Chinese
    assert len(sent) == 2 and sent[1]["to"] == "+8613900001111"
    assert sent[1]["text"] == f"【星河通信 福田中心营业厅】{theirs['number']} 号：您前面还有 2 位，请留意叫号。"
    serve_one(hall, before[3])
    sent = step()
    assert len(sent) == 3 and "you're next" in sent[2]["text"] and mine["number"] in sent[2]["text"]
    hall.counters.call_ticket(BRANCH, "2", mine["id"], ZHANG)
    sent = step()
    to_me = [m["text"] for m in sent if m["to"] == "+8613812345678"]
    assert len(to_me) == 3 and to_me[2] == f"{EN_BRANCH}: ticket {mine['number']}, your turn: please go to counter 2."
    assert "下一位就是您" in sent[-1]["text"]  # the other customer is now next
    hall.tickets.act(BRANCH, mine["id"], Action.RECALL, ZHANG)
    assert len(step()) == len(sent)  # nothing is sent twice


def test_stop_removes_the_number_and_nothing_more_is_sent(hall: HallService, live: LiveHall,
                                                          notifier: NotificationService, gateway: Listener,
                                                          clock: FakeClock) -> None:
    ticket = hall.tickets.issue(BRANCH, "BILL")
    notifier.opt_in(ticket["token"], "13812345678", True, "zh-CN")
    with hall.uow.read() as session:
        contact = session.exec(select(CustomerContact)).one()
    assert contact.purpose == "notification" and contact.language == "zh-CN"
    assert contact.purge_after == clock.now + timedelta(days=1)
    state = notifier.stop(ticket["token"])
    assert not state["subscribed"] and state["phone"] is None
    with hall.uow.read() as session:
        assert session.exec(select(CustomerContact)).all() == []
    live.refresh(BRANCH)
    notifier.run_pass()
    assert gateway.received == []


def test_opt_in_is_refused_without_consent_a_number_or_a_gateway(hall: HallService, notifier: NotificationService,
                                                                 clock: FakeClock) -> None:
    ticket = hall.tickets.issue(BRANCH, "BILL")
    for phone, consent, language, code in [("13812345678", False, "en", "consent_required"),
                                           ("12345", True, "en", "bad_phone"),
                                           ("13812345678", True, "fr", "bad_language")]:
        with pytest.raises(DomainError, check=lambda e, c=code: e.code == c):
            notifier.opt_in(ticket["token"], phone, consent, language)
    serve_one(hall, ticket)
    with pytest.raises(DomainError, check=lambda e: e.code == "ticket_closed"):
        notifier.opt_in(ticket["token"], "13812345678", True, "en")


def test_a_hanging_listener_does_not_delay_ticket_commands(hall: HallService, notifier: NotificationService) -> None:
    listener = Listener(delay_s=3.0)
    try:
        notifier.create_webhook(BRANCH, MANAGER, name="slow", url=listener.url, events=["ticket.issued"],
                                branches=None)
        hall.tickets.issue(BRANCH, "BILL")
        sender = threading.Thread(target=notifier.run_pass)
        sender.start()
        deadline = time.monotonic() + 5
        while not listener.received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listener.received  # the sender is now waiting for the hanging listener
        started = time.monotonic()
        for _ in range(5):
            hall.tickets.issue(BRANCH, "BILL")
        assert time.monotonic() - started < 1.0
        assert sender.is_alive()
        sender.join(10)
        hook_id = notifier.webhooks(BRANCH, MANAGER)["webhooks"][0]["id"]
        attempt = notifier.delivery_log(BRANCH, hook_id, MANAGER)["deliveries"][-1]["attempt_log"][0]
        assert not attempt["ok"] and 1900 <= attempt["duration_ms"] < 3000  # the 2 s timeout, not the 3 s hang
    finally:
        listener.close()


def test_two_senders_never_take_the_same_delivery(hall: HallService, notifier: NotificationService,
                                                  clock: FakeClock) -> None:
    url = hall.config.server.database_url
    with hall.uow.write() as session:
        for i in range(40):
            records.add_delivery(session.connection(), notifier._delivery(
                BRANCH, "webhook", f"load:{i}", "ticket.issued", "{}", clock.now, webhook_id=999))
    other = UnitOfWork(make_engine(url, sqlite_synchronous="normal"), make_readonly_engine(url))
    taken: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def take(uow: UnitOfWork, into: list[int]) -> None:
        barrier.wait()
        for _ in range(10):
            with uow.write() as session:
                rows = records.lease_due(session.connection(), clock.now, clock.now + timedelta(minutes=1), 3)
                time.sleep(0.005)  # hold the lock a moment, so the other sender meets it
            into.extend(int(r.id) for r in rows)

    threads = [threading.Thread(target=take, args=(uow, into)) for uow, into in ((hall.uow, taken[0]),
                                                                                  (other, taken[1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    other.engine.dispose()
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == 40


def test_webhooks_are_managed_and_audited(hall: HallService, notifier: NotificationService) -> None:
    view, secret = notifier.create_webhook(BRANCH, MANAGER, name="crm", url="http://10.0.0.7/hook",
                                           events=["ticket.called", "ticket.finished"], branches=None)
    assert secret.startswith("whsec_") and view["secret_prefix"] == secret[:10] and view["enabled"]
    assert "secret" not in notifier.webhooks(BRANCH, MANAGER)["webhooks"][0]
    assert not notifier.set_enabled(BRANCH, view["id"], MANAGER, False)["enabled"]
    assert notifier.send_test(BRANCH, view["id"], MANAGER)["queued"]
    notifier.delete_webhook(BRANCH, view["id"], MANAGER)
    assert notifier.webhooks(BRANCH, MANAGER)["webhooks"] == []
    for url, code in [("http://169.254.169.254/", "bad_url"), ("file:///etc/passwd", "bad_url")]:
        with pytest.raises(DomainError, check=lambda e, c=code: e.code == c):
            notifier.create_webhook(BRANCH, MANAGER, name="x", url=url, events=["ticket.called"], branches=None)
    with pytest.raises(DomainError, check=lambda e: e.code == "bad_events"):
        notifier.create_webhook(BRANCH, MANAGER, name="x", url="http://10.0.0.7/", events=["booking.paid"],
                                branches=None)
    with pytest.raises(DomainError, check=lambda e: e.code == "manager_only"):
        notifier.webhooks(BRANCH, ZHANG)
    with hall.uow.read() as session:
        actions = [e.action for e in session.exec(select(AuditEntryRow)).all()]
    assert actions.count(AuditAction.WEBHOOK_CHANGED.value) == 4


def test_a_pass_asks_all_branches_at_once_which_have_anything_to_derive(
        hall: HallService, notifier: NotificationService, database_url: str) -> None:
    """The notifier's check of every branch every second is one read for them all, and answers what the per-branch
    check answers: a branch with no cursor yet, with events past its cursor, or with a waiting customer who opted in
    to texts (their people-ahead milestones come without an event of their own)."""
    codes = [branch.code for branch in hall.config.branches]
    other = next((code for code in codes if code != BRANCH), None)

    def per_branch() -> list[str]:
        with hall.uow.read() as session:
            connection = session.connection()
            return [code for code in codes
                    if records.has_work(connection, code, records.cursor(connection, code), True)]

    assert notifier.branches_with_work(codes) == per_branch() == []  # the fixture's pass caught up with every branch
    ticket = hall.tickets.issue(BRANCH, "BILL")
    assert notifier.branches_with_work(codes) == per_branch() == [BRANCH]
    notifier.run_pass()
    assert notifier.branches_with_work(codes) == per_branch() == []
    notifier.opt_in(ticket["token"], "13812345678", True, "en")  # no event: the contact alone makes work
    assert notifier.branches_with_work(codes) == per_branch() == [BRANCH]
    if other is not None:
        assert notifier.branches_with_work([other]) == []
    hall.counters.call_ticket(BRANCH, "2", ticket["id"], ZHANG)  # called: no longer waiting, one event more
    notifier.run_pass()
    assert notifier.branches_with_work(codes) == per_branch() == []
    with hall.uow.write() as session:  # a branch the notifier has never seen (no cursor) has work: its first pass
        session.connection().execute(records.CURSOR.delete().where(records.CURSOR.c.branch_code == BRANCH))
    assert notifier.branches_with_work(codes) == per_branch() == [BRANCH]
