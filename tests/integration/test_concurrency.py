"""Many threads issuing and calling at once on a real database: no duplicate numbers, no double calls."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from server.domain.errors import DomainError
from server.domain.tickets import Action, EventKind
from server.persistence.tables import TicketEvent, TicketRow
from server.services.actor import Actor
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
STAFF = ["zhang.wei", "li.na", "wang.fang", "liu.yang", "chen.jing", "zhao.lei"]


def test_parallel_issue_and_call_never_duplicates(database_url: str, tmp_path: Path) -> None:
    publisher = RecordingPublisher()
    hall: HallService = build_service(database_url, tmp_path, FakeClock(), publisher)
    for i, username in enumerate(STAFF):
        hall.counters.sign_in(BRANCH, str(i + 1), Actor(username, "staff"))
    services = ["BILL", "PLAN", "SIM", "BROADBAND", "DEVICE"]
    issued: list[str] = []
    called: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def issuer(worker: int) -> None:
        start.wait()
        try:
            for n in range(25):
                ticket = hall.tickets.issue(BRANCH, services[(worker + n) % len(services)],
                                           idempotency_key=f"w{worker}-{n}")
                retry = hall.tickets.issue(BRANCH, services[(worker + n) % len(services)],
                                          idempotency_key=f"w{worker}-{n}")
                assert retry["id"] == ticket["id"]
                with lock:
                    issued.append(ticket["number"])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def caller(counter_index: int) -> None:
        actor = Actor(STAFF[counter_index], "staff")
        start.wait()
        try:
            for _ in range(40):
                result = hall.counters.call_next(BRANCH, str(counter_index + 1), actor)
                ticket = result["ticket"]
                if ticket is None:
                    continue
                with lock:
                    called.append(ticket["id"])
                hall.tickets.act(BRANCH, ticket["id"], Action.START, actor)
                hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, actor)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issuer, args=(w,)) for w in range(6)]
    threads += [threading.Thread(target=caller, args=(c,)) for c in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[:3]
    assert len(issued) == 150
    assert len(set(issued)) == 150, [n for n, k in Counter(issued).items() if k > 1]
    assert len(called) == len(set(called))

    with Session(hall.uow.engine) as session:
        tickets = session.execute(select(TicketRow)).scalars().all()
        events = session.execute(select(TicketEvent).order_by(TicketEvent.seq)).scalars().all()
    assert len(tickets) == 150
    call_events = Counter(e.ticket_id for e in events if e.kind == EventKind.CALLED.value)
    assert all(count == 1 for count in call_events.values())
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "the branch sequence has no gaps and no repeats"
    published = [e["seq"] for e in publisher.events]
    assert sorted(published) == seqs


def test_two_counters_racing_get_different_tickets(database_url: str, tmp_path: Path) -> None:
    hall = build_service(database_url, tmp_path, FakeClock(), RecordingPublisher())
    alice, bob = Actor("zhang.wei", "staff"), Actor("li.na", "staff")
    hall.counters.sign_in(BRANCH, "2", alice)
    hall.counters.sign_in(BRANCH, "3", bob)
    for _ in range(30):
        hall.tickets.issue(BRANCH, "BILL")
    got: dict[str, list[int]] = {"2": [], "3": []}
    barrier = threading.Barrier(2)

    def race(counter: str, actor: Actor) -> None:
        barrier.wait()
        for _ in range(15):
            ticket = hall.counters.call_next(BRANCH, counter, actor)["ticket"]
            if ticket is None:
                return
            got[counter].append(ticket["id"])
            hall.tickets.act(BRANCH, ticket["id"], Action.NO_SHOW, actor)

    threads = [threading.Thread(target=race, args=("2", alice)), threading.Thread(target=race, args=("3", bob))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(got["2"]) & set(got["3"])
    assert len(got["2"]) + len(got["3"]) == 30


def test_numbers_restart_at_local_midnight(database_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher())
    clock.now = clock.now.replace(hour=15, minute=58)  # 23:58 in Shanghai
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A001"
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A002"
    clock.advance(minutes=3)  # 00:01 next day in Shanghai, still the same UTC day
    assert hall.tickets.issue(BRANCH, "BILL")["number"] == "A001"


def test_a_failed_command_leaves_no_trace(database_url: str, tmp_path: Path) -> None:
    publisher = RecordingPublisher()
    hall = build_service(database_url, tmp_path, FakeClock(), publisher)
    actor = Actor("zhang.wei", "staff")
    hall.counters.sign_in(BRANCH, "1", actor)
    before = hall.queries.snapshot(BRANCH)["seq"]
    published = len(publisher.events)
    ticket = hall.tickets.issue(BRANCH, "BILL")
    try:
        hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, actor)
    except DomainError as exc:
        assert exc.code in ("illegal_transition",)
    else:
        raise AssertionError("finishing a waiting ticket must be refused")
    assert hall.queries.snapshot(BRANCH)["seq"] == before + 1
    assert len(publisher.events) == published + 1


def test_racing_retries_with_one_idempotency_key_issue_one_ticket(database_url: str, tmp_path: Path) -> None:
    """A kiosk that retries while its first request is still in flight: the retries wait for it and replay it."""
    hall = build_service(database_url, tmp_path, FakeClock(), RecordingPublisher())
    barrier = threading.Barrier(8)
    answers: list[dict] = []
    lock = threading.Lock()

    def retry() -> None:
        barrier.wait()
        answer = hall.tickets.issue(BRANCH, "BILL", idempotency_key="K1-7f3a")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 8
    assert {a["id"] for a in answers} == {answers[0]["id"]} and {a["number"] for a in answers} == {"A001"}
    assert sum(1 for a in answers if a.get("replayed")) == 7
    with Session(hall.uow.engine) as session:
        assert len(session.execute(select(TicketRow)).all()) == 1
