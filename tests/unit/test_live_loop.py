"""The live loop's schedule: how often it looks for a hall model changed by another program."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from server.services import live_loop
from server.services.live_loop import LiveLoop


class QuietHall:
    """A live side with nothing to do: no dirty branch, every branch refreshed up to its seq."""

    def take_dirty(self) -> dict[str, bool]:
        return {}

    def branch_seqs(self) -> dict[str, int]:
        return {}

    def refreshed_seq(self, code: str) -> int:
        return 0

    def refresh(self, code: str) -> None:
        return None

    def refresh_cost(self, code: str) -> float:
        return 0.0


@pytest.mark.parametrize("tick_work_s", [0.0, 0.03])
def test_the_hall_model_is_compared_often_enough_to_serve_a_change_within_a_second(
        monkeypatch: pytest.MonkeyPatch, tick_work_s: float) -> None:
    """Every tick takes ``tick_s`` asleep plus its own work; whatever the phase of a change, the next comparison
    comes in under a second (the reload itself then takes milliseconds)."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    checks: list[float] = []
    loop: LiveLoop

    def sleep(seconds: float) -> None:
        now[0] += seconds + tick_work_s
        if now[0] > 1030:
            loop.running = False

    def check() -> Any:
        checks.append(now[0])

    loop = LiveLoop(QuietHall(), ["X"], spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    check_hall=check)
    loop.running = True
    loop.run()
    gaps = [later - earlier for earlier, later in zip([1000.0, *checks], checks, strict=False)]
    assert len(checks) > 30 and max(gaps) < 0.8


def test_each_refresh_is_reported_with_its_cost_and_how_long_its_work_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    """A branch made dirty is refreshed after the coalescing delay: the report says how long that took since the
    work was noticed (its own work included); the refreshes with nothing pending report no lag."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    reports: list[tuple[float, float | None]] = []
    loop: LiveLoop

    class OneIssue(QuietHall):
        issued = False

        def take_dirty(self) -> dict[str, bool]:
            if now[0] >= 1000.5 and not self.issued:  # a ticket issued just after the start-up refresh
                self.issued = True
                return {"X": False}
            return {}

        def refresh(self, code: str) -> None:
            now[0] += 0.004  # the refresh's own work

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 1070:
            loop.running = False

    loop = LiveLoop(OneIssue(), ["X"], spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    on_refresh=lambda cost, lag: reports.append((cost, lag)), jitter=lambda: 0.0)
    loop.running = True
    loop.run()
    assert all(cost == pytest.approx(0.004) for cost, _ in reports)
    lags = [lag for _, lag in reports]
    assert lags[0] is None  # the start-up refresh
    after_issue = [lag for lag in lags if lag is not None]
    assert len(after_issue) == 1 and 0.5 <= after_issue[0] <= 0.75  # coalesced: a second after the last refresh
    assert len(lags) >= 3  # and the once-a-minute refresh


class FakeLeases:
    """This process holds ``held``; at the tick after ``take_at`` it takes ``Y`` over."""

    shared = True
    every_s = 1.0
    takeovers = 0

    def __init__(self, now: list[float], held: set[str], take_at: float) -> None:
        self.now, self.mine, self.take_at = now, held, take_at

    def holds(self, branch: str) -> bool:
        return branch in self.mine

    def serves(self, branch: str) -> bool:
        return branch in self.mine

    def tick(self, branches: Any) -> list[str]:
        if self.now[0] >= self.take_at and "Y" not in self.mine:
            self.mine.add("Y")
            return ["Y"]
        return []

    def held(self) -> list[str]:
        return sorted(self.mine)


def test_with_leases_only_held_branches_are_refreshed_others_poke_their_holder_and_a_taken_one_publishes_all(
        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    refreshed: list[tuple[str, bool]] = []
    poked: list[tuple[str, bool]] = []
    seq_read: list[float] = []
    compared: list[tuple[str, float]] = []
    loop: LiveLoop

    class Hall(QuietHall):
        def take_dirty(self) -> dict[str, bool]:
            return {"X": False, "Y": True} if 1010 <= now[0] < 1010.1 else {}

        def branch_seqs(self) -> dict[str, int]:
            seq_read.append(now[0])
            return {"X": 0, "Y": 0, "Z": 7}  # another process committed in Z, which this one never holds

        def refreshed_seq(self, code: str) -> int:
            compared.append((code, now[0]))
            return 0

        def refresh(self, code: str, force_publish: bool = False) -> None:
            refreshed.append((code, force_publish))

        def poke(self, code: str, urgent: bool) -> None:
            poked.append((code, urgent))

        def orphaned(self, code: str) -> bool:
            return False  # its holder shares its results

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 1030:
            loop.running = False

    loop = LiveLoop(Hall(), ["X", "Y", "Z"], spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    leases=FakeLeases(now, {"X"}, take_at=1020), jitter=lambda: 0.0)
    loop.running = True
    loop.run()
    assert poked == [("Y", True)]  # the command on Y, committed here, goes to Y's holder
    # every branch's seq comes in one read a second (not one read per branch)
    assert 29 <= len(seq_read) <= 31 and all(b - a >= 0.99 for a, b in itertools.pairwise(seq_read))
    # only a held branch is watched for other processes' commands: Y once it is taken over, Z (changed) never
    assert {code for code, at in compared if at < 1020} == {"X"} and ("Y" in {c for c, at in compared if at >= 1020})
    assert "Z" not in {code for code, _ in refreshed}
    assert refreshed[0] == ("X", False) and ("X", False) in refreshed[1:]
    y = [force for code, force in refreshed if code == "Y"]
    assert y == [True]  # taken over at 1020: refreshed at once, publishing everything


def test_with_leases_the_day_end_and_the_device_watch_run_for_the_branches_this_process_serves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """X is held here from the start, Y from 1020 on, Z never: each job runs for a branch from when it is served."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    ended: list[tuple[str, float]] = []
    watched: list[tuple[str, float]] = []
    expiries: list[tuple[list[str], float]] = []
    loop: LiveLoop

    class Hall(QuietHall):
        def orphaned(self, code: str) -> bool:
            return False

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 1030:
            loop.running = False

    loop = LiveLoop(Hall(), ["X", "Y", "Z"], spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    end_days=lambda code: ended.append((code, now[0])),
                    watch_devices=lambda code: watched.append((code, now[0])),
                    expire_holds=lambda codes: expiries.append((list(codes), now[0])),
                    leases=FakeLeases(now, {"X"}, take_at=1020))
    loop.running = True
    loop.run()
    for done in (ended, watched):
        assert {code for code, _ in done} == {"X", "Y"}
        assert min(at for code, at in done if code == "Y") >= 1020
        assert len([at for code, at in done if code == "X"]) > 1
    # the held remote tickets' expiry: one call a second for all the branches served, as they are served then
    assert {tuple(codes) for codes, at in expiries if at < 1020} == {("X",)}
    assert {tuple(codes) for codes, at in expiries if at >= 1021} == {("X", "Y")}
    assert 29 <= len(expiries) <= 31


def test_without_leases_every_job_runs_for_every_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    ended: set[str] = set()
    loop: LiveLoop

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 1005:
            loop.running = False

    loop = LiveLoop(QuietHall(), ["X", "Y"], spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    end_days=ended.add)
    loop.running = True
    loop.run()
    assert ended == {"X", "Y"}


def test_refreshes_run_beside_the_loop_at_most_so_many_at_once_and_never_one_branch_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of changes in many branches: up to ``refresh_workers`` refreshes at once, each in a task of its own;
    a branch being refreshed is not started again, and a change noticed meanwhile is refreshed after it."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    started: list[tuple[str, float]] = []
    tasks: list[Any] = []
    codes = [f"B{i}" for i in range(10)]
    loop: LiveLoop

    class Busy(QuietHall):
        def take_dirty(self) -> dict[str, bool]:
            if 1001.0 <= now[0] < 1001.1:
                return dict.fromkeys(codes, True)
            if 1001.3 <= now[0] < 1001.4:
                return {"B0": True}  # B0 again while its first refresh still runs
            return {}

        def refresh(self, code: str, force_publish: bool = False) -> None:
            started.append((code, now[0]))

    def spawn(work: Any) -> None:
        tasks.append(work)

    def sleep(seconds: float) -> None:
        now[0] += seconds
        in_flight.append(len(tasks))
        if now[0] >= 1001.55:  # from then on, each refresh ends within the tick it began in
            for task in list(tasks):
                task()
            tasks.clear()
        if now[0] > 1003:
            loop.running = False

    in_flight: list[int] = []
    loop = LiveLoop(Busy(), codes, spawn=spawn, sleep=sleep, purge=lambda: None, refresh_workers=4,
                    idle_s=3600)
    loop.running = True
    loop.run()
    assert max(in_flight) == 4  # never more than four at once
    first = [code for code, at in started if at < 1001.6]
    assert first == []  # the tasks ran only when let (they start beside the loop)
    by_code: dict[str, list[float]] = {}
    for code, at in started:
        by_code.setdefault(code, []).append(at)
    assert set(by_code) == set(codes)  # every branch refreshed, four at a time
    assert len(by_code["B0"]) == 2  # B0's second change: a second refresh, after the first


def test_the_idle_refreshes_of_branches_started_together_are_spread_over_the_minute(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """At start-up (or a take-over) hundreds of branches are refreshed within seconds; their once-a-minute refreshes
    must not all come back in the same second (a burst of work that holds up the commands of that moment), and each
    still comes within a minute of the last."""
    import random

    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    refreshed: dict[str, list[float]] = {}
    codes = [f"B{i:03}" for i in range(120)]
    loop: LiveLoop

    class Hall(QuietHall):
        def refresh(self, code: str, force_publish: bool = False) -> None:
            refreshed.setdefault(code, []).append(now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 1200:
            loop.running = False

    loop = LiveLoop(Hall(), codes, spawn=lambda work: work(), sleep=sleep, purge=lambda: None,
                    jitter=random.Random(7).random)
    loop.running = True
    loop.run()
    firsts = [times[0] for times in refreshed.values()]
    assert max(firsts) - min(firsts) < 0.5  # all at start-up
    seconds = {int(times[1]) for times in refreshed.values()}
    assert len(seconds) > 40  # the second refreshes: spread over the minute, not in one second
    for times in refreshed.values():
        assert all(b - a <= 60.2 for a, b in itertools.pairwise(times))  # never more than a minute apart
        assert all(b - a >= 59.9 for a, b in itertools.pairwise(times[1:]))  # then once a minute, as before


def test_when_more_branches_are_due_than_workers_each_gets_its_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every branch changes all the time and two workers cannot keep up: the scan goes on after the branch started
    last, so each branch gets its turn and none waits behind the branches before it in the list again and again."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    codes = [f"B{i:02}" for i in range(20)]
    refreshed: list[str] = []
    tasks: list[Any] = []
    loop: LiveLoop

    class Busy(QuietHall):
        def take_dirty(self) -> dict[str, bool]:
            return dict.fromkeys(codes, True)  # a call in every branch, every tick

        def refresh(self, code: str, force_publish: bool = False) -> None:
            refreshed.append(code)

    def sleep(seconds: float) -> None:
        now[0] += seconds
        for task in list(tasks):  # each refresh ends within the tick it began in
            task()
        tasks.clear()
        if now[0] > 1020:
            loop.running = False

    loop = LiveLoop(Busy(), codes, spawn=tasks.append, sleep=sleep, purge=lambda: None, refresh_workers=2,
                    idle_s=3600, jitter=lambda: 0.0)
    loop.running = True
    loop.run()
    counts = {code: refreshed.count(code) for code in codes}
    assert min(counts.values()) >= max(counts.values()) - 1  # fair shares
    assert min(counts.values()) >= 8


def test_the_seq_watch_leaves_a_branch_being_refreshed_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A branch whose ``seq`` moved is refreshed once: while that refresh runs (it has not yet recorded the seq it
    read) the once-a-second watch does not queue another one."""
    now = [1000.0]
    monkeypatch.setattr(live_loop.time, "monotonic", lambda: now[0])
    started: list[float] = []
    tasks: list[Any] = []
    loop: LiveLoop

    class Slow(QuietHall):
        seq = 0
        done_seq = 0

        def branch_seqs(self) -> dict[str, int]:
            return {"X": self.seq}

        def refreshed_seq(self, code: str) -> int:
            return self.done_seq

        def refresh(self, code: str, force_publish: bool = False) -> None:
            started.append(now[0])
            self.done_seq = self.seq

    hall = Slow()

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if 1005.0 <= now[0] < 1005.1:
            hall.seq = 7  # committed by another process
        if not 1005.0 <= now[0] < 1008.5:  # the refresh it starts takes seconds (a long queue, a slow database)
            for task in list(tasks):
                task()
            tasks.clear()
        if now[0] > 1012:
            loop.running = False

    loop = LiveLoop(hall, ["X"], spawn=tasks.append, sleep=sleep, purge=lambda: None, refresh_workers=2,
                    idle_s=3600, jitter=lambda: 0.0)
    loop.running = True
    loop.run()
    assert len(started) == 2  # the start-up refresh, then one for the new seq (not a second one queued meanwhile)
