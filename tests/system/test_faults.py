"""Faults survived by real processes on PostgreSQL and Redis: a server process killed with SIGKILL under load, Redis
restarted, PostgreSQL restarted, and two staff racing call-next through two processes.

Each test waits for conditions, never for fixed times, and reads the database itself at the end: every acknowledged
ticket once, no ticket called twice, the event log without holes. docs/realtime.md "Faults" says what each shows.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from server.launcher import ServerProcess, write_config
from server.services.branch_leases import LEASE_TTL_S
from server.services.live_loop import IDLE_S
from tests.support import IN_CI, PostgresCluster, RedisServer, fresh_postgres_database
from tests.system.clients import BRANCH, Listener, staff_session, wait_for
from tests.system.test_live_leases import metric

pytestmark = pytest.mark.slow

B = f"/api/branches/{BRANCH}"
OUTAGE_S = 8.0
"""How long Redis stays down: long enough for a subscriber's retries to back off past a few seconds."""
IDLE_REFRESH_S = IDLE_S  # the live loop refreshes an idle branch this often, and then sends its summary
RETRYABLE = {"database_unavailable", "database_busy"}


def _conninfo(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def read_log(database_url: str) -> dict[str, Any]:
    """What the database holds for the branch: its tickets, its event log and its sequence number."""
    with psycopg.connect(_conninfo(database_url)) as conn:
        tickets = conn.execute("SELECT id, token, state, counter_number FROM ticket WHERE branch_code = %s",
                               (BRANCH,)).fetchall()
        events = conn.execute("SELECT seq, kind, ticket_id, counter_number FROM ticket_event WHERE branch_code = %s "
                              "ORDER BY seq", (BRANCH,)).fetchall()
        row = conn.execute("SELECT seq FROM branch_sequence WHERE branch_code = %s", (BRANCH,)).fetchone()
        tally = conn.execute("SELECT COALESCE(SUM(waiting), 0) FROM queue_tally WHERE branch_code = %s",
                             (BRANCH,)).fetchone()
    return {"tickets": tickets, "events": events, "seq": row[0], "tally": tally[0]}


def assert_whole(log: dict[str, Any]) -> None:
    """Nothing half-written: the event log runs 1..seq without a hole, every ticket has exactly one ``issued`` event,
    no ticket was called twice, and the waiting tally matches the tickets."""
    seqs = [seq for seq, *_ in log["events"]]
    assert seqs == list(range(1, log["seq"] + 1)), "the event log has a hole or runs past the branch's seq"
    issued = Counter(ticket for _, kind, ticket, _ in log["events"] if kind == "issued")
    assert set(issued) == {t[0] for t in log["tickets"]} and max(issued.values(), default=1) == 1
    called = Counter(ticket for _, kind, ticket, _ in log["events"] if kind == "called")
    assert max(called.values(), default=1) == 1, [t for t, n in called.items() if n > 1][:5]
    assert log["tally"] == sum(1 for t in log["tickets"] if t[2] == "waiting")


class Kiosk:
    """A kiosk that takes tickets with an Idempotency-Key each, and retries a key (on the next process, after a
    503 or a broken connection) until it is acknowledged, as a real kiosk does."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.session = requests.Session()
        self.acknowledged: dict[str, dict[str, Any]] = {}  # key -> the ticket
        self.refusals: list[tuple[int, str, str | None]] = []  # (status, error, Retry-After) of the retryable ones
        self.broken = 0  # requests that got no answer at all
        self.turn = 0

    def issue(self, stop: threading.Event | None = None, deadline_s: float = 40.0) -> dict[str, Any] | None:
        key = uuid.uuid4().hex
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            url = self.urls[self.turn % len(self.urls)]
            try:
                answer = self.session.post(f"{url}{B}/tickets", json={"service": "BILL"},
                                           headers={"Idempotency-Key": key}, timeout=10)
            except requests.RequestException:
                self.broken += 1
                self.turn += 1  # a round-robin in front of the processes sends the retry elsewhere
                time.sleep(0.05)
                continue
            if answer.status_code in (200, 201):
                self.acknowledged[key] = answer.json()
                return answer.json()
            body = answer.json()
            assert answer.status_code == 503 and body["error"] in RETRYABLE, (answer.status_code, answer.text)
            self.refusals.append((answer.status_code, body["error"], answer.headers.get("Retry-After")))
            time.sleep(0.1)  # the kiosk honours Retry-After; a short nap keeps the test quick
        raise AssertionError(f"key {key} was never acknowledged")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.issue()


def assert_each_acknowledged_ticket_once(kiosks: list[Kiosk], log: dict[str, Any]) -> None:
    acknowledged = {k: t for kiosk in kiosks for k, t in kiosk.acknowledged.items()}
    ids = [t["id"] for t in acknowledged.values()]
    assert len(set(ids)) == len(ids), "two keys got the same ticket"
    in_database = {t[0]: t[1] for t in log["tickets"]}
    assert all(in_database.get(t["id"]) == t["token"] for t in acknowledged.values()), "an acknowledged ticket lost"
    assert len(in_database) == len(acknowledged), "a ticket issued that no kiosk was given (a retry issued twice)"


def threads(targets: list[tuple[Any, tuple[Any, ...]]], failures: list[BaseException]) -> list[threading.Thread]:
    """Started threads that record what they raise in ``failures`` (a thread's assertion fails the test)."""

    def guarded(target: Any, args: tuple[Any, ...]) -> None:
        try:
            target(*args)
        except BaseException as exc:
            failures.append(exc)
            raise

    started = [threading.Thread(target=guarded, args=(target, args)) for target, args in targets]
    for thread in started:
        thread.start()
    return started


def need(postgres_base_url: str | None) -> str:
    """The shared PostgreSQL server's URL; without one the test skips, and fails in CI."""
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must run the fault tests (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    return postgres_base_url


@contextmanager
def two_processes(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[tuple[ServerProcess, ...]]:
    config = write_config(tmp_path, database_url, redis_url=redis_url)
    with ServerProcess(config) as first, ServerProcess(config) as second:
        yield first, second


def test_postgresql_restarted_commands_answer_a_retryable_503_then_each_key_issues_once(
        tmp_path: Path, own_postgres: PostgresCluster) -> None:
    database = fresh_postgres_database(own_postgres.url)
    with ServerProcess(write_config(tmp_path, database)) as server:
        kiosks = [Kiosk([server.url]) for _ in range(3)]
        stop = threading.Event()
        failures: list[BaseException] = []
        load = threads([(kiosk.run, (stop,)) for kiosk in kiosks], failures)
        try:
            wait_for(lambda: sum(len(k.acknowledged) for k in kiosks) >= 20, timeout=20)
            own_postgres.stop("immediate")  # a crash: every connection cut, commands in flight among them
            down = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, timeout=10)
            assert down.status_code == 503 and down.json()["error"] == "database_unavailable", down.text
            assert int(down.headers["Retry-After"]) > 0
            wait_for(lambda: sum(len(k.refusals) for k in kiosks) >= 6, timeout=20)
            before = sum(len(k.acknowledged) for k in kiosks)
            own_postgres.start()
            wait_for(lambda: sum(len(k.acknowledged) for k in kiosks) >= before + 20, timeout=30)
        finally:
            stop.set()
            for thread in load:
                thread.join(60)
        assert not failures, failures
        assert all(refusal[2] for kiosk in kiosks for refusal in kiosk.refusals), "a 503 without Retry-After"
        # the same key once more: the same ticket, replayed, and nothing new issued
        key, ticket = next(iter(kiosks[0].acknowledged.items()))
        again = requests.post(f"{server.url}{B}/tickets", json={"service": "BILL"}, headers={"Idempotency-Key": key},
                              timeout=10)
        assert again.ok and again.json()["id"] == ticket["id"] and again.json().get("replayed") is True
        snapshot = requests.get(f"{server.url}{B}/snapshot", timeout=10).json()
    log = read_log(database)
    assert_each_acknowledged_ticket_once(kiosks, log)
    assert_whole(log)
    assert snapshot["seq"] == log["seq"] and snapshot["waiting_total"] == log["tally"]


def test_redis_restarted_pushes_resume_by_themselves_and_a_display_that_missed_events_resyncs(
        tmp_path: Path, postgres_base_url: str | None, own_redis: RedisServer) -> None:
    database = fresh_postgres_database(need(postgres_base_url))
    with two_processes(tmp_path, database, own_redis.url) as (a, b):
        display = Listener(b.url, resync_on_gap=True).connect()
        assert display.join({"role": "display", "branch": BRANCH})["ok"]
        kiosk = Kiosk([a.url])
        first = kiosk.issue()
        wait_for(lambda: any(e["ticket"]["id"] == first["id"] for e in display.events if e["kind"] == "issued"),
                 timeout=10)

        own_redis.stop()
        missed = [kiosk.issue() for _ in range(3)]  # commands do not need Redis: they are committed and answered
        assert not kiosk.refusals
        time.sleep(OUTAGE_S)  # a restart of Redis takes seconds; the processes' subscribers retry meanwhile
        own_redis.start()

        # the processes subscribe again by themselves: a command's push reaches the display within a few seconds.
        # Until they have, a command's events go nowhere; the kiosk keeps issuing, as a hall does
        restarted = time.monotonic()
        after: list[dict[str, Any]] = []

        def pushed_again() -> bool:
            after.append(kiosk.issue())
            with display.lock:
                return any(e["kind"] == "issued" and e["ticket"]["id"] == after[-1]["id"] for e in display.events)

        wait_for(pushed_again, timeout=15)
        took = time.monotonic() - restarted
        print(f"pushes resumed {took:.2f} s after Redis was back")
        assert took < 5, f"pushes resumed only after {took:.1f} s"
        # the display saw the seq jump over what it missed and took a fresh snapshot that holds it
        assert display.gaps, "no event skipped a seq: nothing was missed?"
        snapshot = wait_for(lambda: next((s for s in display.snapshots[1:] if s["seq"] >= display.gaps[0][1]), None),
                            timeout=10)
        log = read_log(database)
        assert snapshot["waiting_total"] >= 1 + len(missed)
        # and from there on events follow one by one again
        kiosk.issue()
        wait_for(lambda: display.events[-1]["seq"] == read_log(database)["seq"], timeout=10)
        assert_whole(log)
        display.close()


def test_a_display_that_missed_events_while_redis_was_down_catches_up_from_the_next_summary_alone(
        tmp_path: Path, postgres_base_url: str | None, own_redis: RedisServer) -> None:
    """The last command's push is lost while Redis is down and no command follows once it is back: no later event
    shows the display a gap. A summary with the branch's ``seq`` tells it that it is behind, and it re-joins (like
    live.js) for a snapshot that holds the missed ticket. Only the branch's holder publishes summaries, through Redis
    (to its own sockets as well); one lost while Redis was down is followed at the latest by the idle refresh's (at
    least once a minute, sent even when the figures did not change), which is what the wait allows for."""
    database = fresh_postgres_database(need(postgres_base_url))
    with two_processes(tmp_path, database, own_redis.url) as (a, b):
        display = Listener(b.url, resync_on_gap=True, resync_on_summary=True).connect()
        assert display.join({"role": "display", "branch": BRANCH})["ok"]
        kiosk = Kiosk([a.url])
        first = kiosk.issue()
        wait_for(lambda: any(e["kind"] == "issued" and e["ticket"]["id"] == first["id"] for e in display.events),
                 timeout=10)

        own_redis.stop()
        missed = kiosk.issue()  # committed and answered; its push (and the summaries that follow it) lost
        time.sleep(OUTAGE_S)
        own_redis.start()
        back = time.monotonic()
        seq = read_log(database)["seq"]

        snapshot = wait_for(lambda: next((s for s in display.snapshots[1:] if s["seq"] >= seq), None),
                            timeout=IDLE_REFRESH_S + 15)
        took = time.monotonic() - back
        print(f"the display caught up {took:.1f} s after Redis was back (0: while it was down)")
        assert snapshot is not None, "the display never learnt of the ticket issued while Redis was down"
        assert not any(e.get("ticket", {}).get("id") == missed["id"] for e in display.events), "its push arrived?"
        assert display.behind and not display.gaps, "a summary, not a later event, brought the re-join"
        assert snapshot["waiting_total"] == 2
        assert read_log(database)["seq"] == seq, "no command ran meanwhile"
        display.close()


def test_a_process_killed_under_load_its_display_moves_to_the_other_and_nothing_is_lost_or_called_twice(
        tmp_path: Path, postgres_base_url: str | None, redis_url: str) -> None:
    database = fresh_postgres_database(need(postgres_base_url))
    with two_processes(tmp_path, database, redis_url) as (a, b):
        urls = [a.url, b.url]
        displays = [Listener(url, failover=urls, resync_on_gap=True).connect() for url in urls]
        for display in displays:
            assert display.join({"role": "display", "branch": BRANCH})["ok"]
        kiosks = [Kiosk(urls[i % 2:] + urls[:i % 2]) for i in range(4)]  # two start on each process
        calls: Counter[int] = Counter()
        refused: list[str] = []
        stop = threading.Event()

        def work(username: str, counter: str, first: int) -> None:
            """A member of staff calling and finishing, through one process and then the other on a failure."""
            sessions = {url: staff_session(url, username) for url in urls}
            turn = first
            assert sessions[urls[turn]].post(f"{urls[turn]}{B}/counters/{counter}/sign-in", json={}).ok
            key = uuid.uuid4().hex
            while not stop.is_set():
                url = urls[turn % 2]
                try:
                    answer = sessions[url].post(f"{url}{B}/counters/{counter}/call-next", timeout=10,
                                                headers={"Idempotency-Key": key})
                    if answer.status_code == 409 and answer.json()["error"] == "counter_busy":
                        # the no-show after an acknowledged call was lost with the process: mark it again
                        view = sessions[url].get(f"{url}{B}/snapshot?view=staff", timeout=10).json()
                        held = next(c for c in view["counters"] if c["number"] == counter)["current"]
                        assert held["number"] == answer.json()["details"]["current"] and calls[held["id"]] == 1
                        sessions[url].post(f"{url}{B}/tickets/{held['id']}/no-show", json={}, timeout=10)
                        continue
                    key = uuid.uuid4().hex  # answered: the next press is a new request
                    if answer.status_code != 200:
                        refused.append(answer.text)
                        continue
                    ticket = answer.json()["ticket"]
                    if ticket is None:
                        time.sleep(0.05)
                        continue
                    calls[ticket["id"]] += 1
                    sessions[url].post(f"{url}{B}/tickets/{ticket['id']}/no-show", json={}, timeout=10)
                except requests.RequestException:
                    turn += 1  # the process is gone: the same press again, through the other (same key)

        failures: list[BaseException] = []
        load = threads([(kiosk.run, (stop,)) for kiosk in kiosks]
                       + [(work, ("zhang.wei", "1", 0)), (work, ("li.na", "2", 1))], failures)
        try:
            wait_for(lambda: sum(len(k.acknowledged) for k in kiosks) >= 40 and len(calls) >= 10, timeout=30)
            a.kill()  # SIGKILL under load: requests in flight get no answer, A's sockets drop
            killed = time.monotonic()
            wait_for(lambda: displays[0].url == b.url and len(displays[0].snapshots) >= 2, timeout=15)
            assert time.monotonic() - killed < 10
            # the branch's live work (its lease) is B's within the lease's time to live, if A held it
            wait_for(lambda: metric(b.url, "hall_live_branch_held") == 1.0, timeout=LEASE_TTL_S + 5)
            summaries_before = len(displays[0].summaries)
            before = sum(len(k.acknowledged) for k in kiosks), len(calls)
            wait_for(lambda: sum(len(k.acknowledged) for k in kiosks) >= before[0] + 20
                     and len(calls) >= before[1] + 5, timeout=30)
        finally:
            stop.set()
            for thread in load:
                thread.join(60)
        assert not failures, failures
        assert not refused, refused[:3]
        log = read_log(database)
        assert_each_acknowledged_ticket_once(kiosks, log)
        assert_whole(log)  # among others: no ticket called twice in the event log
        assert max(calls.values()) == 1

        # the moved display is in step: its snapshot plus the events after it reach the database's seq, and the
        # surviving process's live loop keeps its figures fresh (a summary with the current waiting count)
        moved_display = displays[0]
        wait_for(lambda: moved_display.last_seq() == log["seq"], timeout=10)
        wait_for(lambda: any(s["waiting_total"] == log["tally"] for s in moved_display.summaries[summaries_before:]),
                 timeout=10)
        for display in displays:
            display.close()


RACE_S = 20.0
"""How long the call-next race runs (thousands of presses on this machine)."""
QUEUE = 240
"""Tickets waiting when the race starts: more than the race calls, so that every press may call one."""


def test_two_staff_on_two_processes_racing_call_next_never_call_a_ticket_twice(
        processes: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = processes
    kiosk = Kiosk([a.url, b.url])
    issuing = time.monotonic()
    failures: list[BaseException] = []
    for thread in threads([(lambda k: [k.issue() for _ in range(QUEUE // 4)], (Kiosk([a.url, b.url]),))
                           for _ in range(4)], failures):
        thread.join(60)
    print(f"{QUEUE} tickets issued in {time.monotonic() - issuing:.1f} s")
    # counters 1 and 2 both serve BILL; each member of staff presses through a different process, four presses at a
    # time without pause (a double tap, the keyboard shortcut, a second tab), all eight in flight together
    desks = [("zhang.wei", "1", a.url), ("li.na", "2", b.url)]
    sessions = [staff_session(url, username) for username, _, url in desks]
    for session, (_, counter, url) in zip(sessions, desks, strict=True):
        assert session.post(f"{url}{B}/counters/{counter}/sign-in", json={}).ok
    presses_per_desk = 4
    lock = threading.Lock()
    answers: Counter[str] = Counter()
    called: list[tuple[int, str, int]] = []  # (press, counter, ticket id) of every call-next that called
    stop = threading.Event()
    began = time.monotonic()

    def press(desk: int) -> None:
        session, (_, counter, url) = requests.Session(), desks[desk]
        session.cookies.update(sessions[desk].cookies)  # one session per tab, all signed in as the same person
        turn = 0
        while time.monotonic() - began < RACE_S:
            answer = session.post(f"{url}{B}/counters/{counter}/call-next", timeout=30)
            body = answer.json()
            with lock:
                answers[f"{answer.status_code} {body.get('error', '')}".strip()] += 1
            if answer.status_code == 200 and body["ticket"] is not None:
                with lock:
                    called.append((turn, counter, body["ticket"]["id"]))
                done = session.post(f"{url}{B}/tickets/{body['ticket']['id']}/no-show", json={}, timeout=30)
                assert done.ok, done.text
            turn += 1

    def keep_the_queue_filled() -> None:
        """Tickets go on being issued meanwhile, while the queue is short (the service's daily cap is 600)."""
        while not stop.is_set():
            if QUEUE + len(kiosk.acknowledged) - len(called) < 40:
                kiosk.issue()
            else:
                time.sleep(0.02)

    racers = threads([(press, (desk,)) for desk in range(len(desks)) for _ in range(presses_per_desk)], failures)
    filler = threads([(keep_the_queue_filled, ())], failures)
    for thread in racers:
        thread.join(RACE_S + 60)
    stop.set()
    for thread in filler:
        thread.join(30)
    assert not failures, failures
    presses = sum(answers.values())
    print(f"{presses} call-next presses, {len(called)} calls: {dict(answers)}")
    assert presses >= 300 and len(called) >= 30, "the race did not get going"  # some 1,200–1,600 presses here
    assert set(answers) <= {"200", "409 counter_busy", "503 database_busy"}, answers
    ids = [ticket for _, _, ticket in called]
    assert len(ids) == len(set(ids)), "a ticket was called twice"
    assert {counter for _, counter, _ in called} == {"1", "2"}
    log = read_log(processes_database(a))
    assert_whole(log)
    # and no counter ever held two tickets: in the log each call at a counter follows the no-show of its last one
    holds: dict[str, int | None] = {}
    for seq, kind, ticket, counter in log["events"]:
        if kind == "called":
            assert holds.get(counter) is None, f"counter {counter} called {ticket} while holding {holds[counter]}"
            holds[counter] = ticket
        elif kind == "no_show":
            assert holds.get(counter) == ticket, seq
            holds[counter] = None


def processes_database(server: ServerProcess) -> str:
    """The database URL a server process was started with (from its config file)."""
    import tomllib

    return tomllib.loads(server.config_path.read_text(encoding="utf-8"))["server"]["database_url"]
