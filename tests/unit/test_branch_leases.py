"""The branch leases with a fake clock: one holder per branch, branches spread, a dead holder's branches taken over
within the time to live, a store that stops answering, and the one-process case that asks nobody."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.services.branch_leases import (
    LEASE_TTL_S,
    ORPHAN_AFTER_S,
    AllBranches,
    BranchLeases,
    MemoryLeaseStore,
)

BRANCHES = ["A", "B", "C", "D", "E"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def processes(count: int, clock: Clock, store: MemoryLeaseStore | None = None) -> list[BranchLeases]:
    store = store or MemoryLeaseStore(clock)
    return [BranchLeases(store, f"p{i}", clock=clock) for i in range(count)]


def run(procs: list[BranchLeases], clock: Clock, seconds: float, branches: list[str] = BRANCHES) -> None:
    """Each process ticks once a second (their order changes, as with real processes), the clock moves on."""
    for step in range(int(seconds)):
        for proc in (procs if step % 2 else list(reversed(procs))):
            proc.tick(branches)
        clock.now += 1.0


def holders(procs: list[BranchLeases], branch: str) -> list[str]:
    return [p.owner for p in procs if p.holds(branch)]


def test_one_process_alone_takes_every_branch_at_its_first_tick() -> None:
    clock = Clock()
    [alone] = processes(1, clock)
    assert alone.tick(BRANCHES) == BRANCHES
    assert alone.held() == BRANCHES and alone.takeovers == 0


def test_two_processes_split_the_branches_and_each_branch_has_one_holder() -> None:
    clock = Clock()
    procs = processes(2, clock)
    run(procs, clock, 10)
    assert all(len(holders(procs, b)) == 1 for b in BRANCHES)
    assert sorted(len(p.held()) for p in procs) == [2, 3]


def test_a_process_that_started_alone_hands_branches_to_one_that_starts_later() -> None:
    clock = Clock()
    store = MemoryLeaseStore(clock)
    first = BranchLeases(store, "first", clock=clock)
    run([first], clock, 3)
    assert first.held() == BRANCHES
    second = BranchLeases(store, "second", clock=clock)
    run([first, second], clock, 10)
    assert sorted([len(first.held()), len(second.held())]) == [2, 3]
    assert all(len(holders([first, second], b)) == 1 for b in BRANCHES)


def test_a_killed_holders_branches_move_to_the_other_within_the_time_to_live() -> None:
    clock = Clock()
    a, b = processes(2, clock)
    run([a, b], clock, 6)
    lost = a.held()
    assert lost
    killed_at = clock.now  # a is killed: it ticks no more and says nothing
    while not all(b.holds(branch) for branch in BRANCHES):
        b.tick(BRANCHES)
        clock.now += 1.0
        assert clock.now - killed_at <= LEASE_TTL_S + 2, "the branches did not move within the lease's TTL"
    assert b.takeovers == len(lost)


def test_a_holder_whose_store_stops_answering_stops_acting_before_its_lease_can_expire() -> None:
    clock = Clock()
    store = MemoryLeaseStore(clock)
    [holder] = processes(1, clock, store)
    holder.tick(["A"])
    store.fail = True
    clock.now += 1.0
    assert holder.tick(["A"]) == [] and holder.holds("A")  # one failed renewal changes nothing yet
    clock.now += LEASE_TTL_S - 2.0
    holder.tick(["A"])
    assert not holder.holds("A")  # it stopped acting ...
    store.fail = False
    assert store.holders(["A"]) == {"A": "p0"}  # ... while the lease itself had not yet expired


def test_a_lease_taken_by_another_after_expiry_cannot_be_renewed_by_the_old_holder() -> None:
    clock = Clock()
    store = MemoryLeaseStore(clock)
    old, new = processes(2, clock, store)
    old.tick(["A"])
    clock.now += LEASE_TTL_S + 0.5  # the old holder stalled (a long pause) past its lease
    new.tick(["A"])
    assert new.holds("A")
    old.tick(["A"])
    assert not old.holds("A") and store.holders(["A"]) == {"A": "p1"}


def test_a_branch_removed_from_the_hall_is_given_back() -> None:
    clock = Clock()
    store = MemoryLeaseStore(clock)
    [proc] = processes(1, clock, store)
    proc.tick(["A", "B"])
    proc.tick(["A"])
    assert proc.held() == ["A"] and store.holders(["B"]) == {"B": None}


def test_one_process_without_redis_holds_everything_and_asks_nobody() -> None:
    leases = AllBranches()
    assert leases.holds("anything") and leases.tick(BRANCHES) == [] and not leases.shared


def test_a_renewal_period_that_does_not_fit_the_time_to_live_is_refused() -> None:
    with pytest.raises(ValueError):
        BranchLeases(MemoryLeaseStore(Clock()), "p", ttl_s=2.0, every_s=1.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["tick", "tick", "tick", "pause", "kill", "revive"])),
                min_size=1, max_size=80),
       st.integers(1, 6))
def test_never_two_holders_and_every_branch_held_again_once_the_living_keep_ticking(
        steps: list[tuple[int, str]], count: int) -> None:
    """Whatever the order of ticks, pauses (a process that stalls past its lease) and kills, no branch is ever held
    by two processes at once; and once the processes alive tick for a TTL and a bit, every branch has a holder."""
    clock = Clock()
    store = MemoryLeaseStore(clock)
    branches = [f"b{i}" for i in range(count)]
    procs = [BranchLeases(store, f"p{i}", clock=clock) for i in range(3)]
    alive = [True, True, True]
    for index, action in steps:
        if action == "kill":
            alive[index] = False
        elif action == "revive" and not alive[index]:
            alive[index] = True
            procs[index] = BranchLeases(store, f"p{index}-again-{clock.now}", clock=clock)
        elif action == "pause":
            clock.now += 2.5
        elif alive[index]:
            procs[index].tick(branches)
        clock.now += 0.4
        for branch in branches:
            assert len([p for p, up in zip(procs, alive, strict=True) if up and p.holds(branch)]) <= 1
    if not any(alive):
        alive[0] = True
    living = [p for p, up in zip(procs, alive, strict=True) if up]
    run(living, clock, LEASE_TTL_S + 4, branches)
    for branch in branches:
        assert len(holders(living, branch)) == 1


def test_a_branch_nobody_holds_for_long_is_served_by_every_process_and_by_its_holder_only_otherwise() -> None:
    clock = Clock()
    store = MemoryLeaseStore(clock)
    a, b = processes(2, clock, store)
    run([a, b], clock, 3)
    for branch in BRANCHES:  # the holder serves it, the other does not
        assert [p.owner for p in (a, b) if p.serves(branch)] == holders([a, b], branch)
    store.fail = True  # Redis down: the leases lapse, and after a while both serve every branch
    run([a, b], clock, 4)
    assert not any(p.serves(branch) for p in (a, b) for branch in BRANCHES)
    run([a, b], clock, ORPHAN_AFTER_S)
    assert all(p.serves(branch) for p in (a, b) for branch in BRANCHES)
    store.fail = False  # back: one holder per branch again, and only it serves the branch
    run([a, b], clock, 5)
    for branch in BRANCHES:
        assert [p.owner for p in (a, b) if p.serves(branch)] == holders([a, b], branch) != []


def split_rounds(count: int, branches: list[str], clock: Clock, store: MemoryLeaseStore,
                 procs: list[BranchLeases]) -> int:
    """Rounds until every process holds its fair share, checking each round that no branch has two holders and
    none is left without one for more than a round."""
    share = -(-len(branches) // count)
    unheld_rounds: dict[str, int] = {}
    for rounds in range(1, 200):
        run(procs, clock, 1, branches)
        for branch in branches:
            assert len(holders(procs, branch)) <= 1
            unheld_rounds[branch] = 0 if holders(procs, branch) else unheld_rounds.get(branch, 0) + 1
            assert unheld_rounds[branch] <= 1, f"{branch} waited more than a round for a holder"
        if all(len(p.held()) <= share for p in procs) and all(holders(procs, b) for b in branches):
            return rounds
    raise AssertionError("the branches never split")


def test_five_hundred_branches_split_between_two_then_three_processes_within_ten_rounds() -> None:
    """The hand-back is proportional: one a round took 250 rounds to give a second process its half."""
    clock = Clock()
    store = MemoryLeaseStore(clock)
    branches = [f"b{i:03}" for i in range(500)]
    first = BranchLeases(store, "first", clock=clock)
    run([first], clock, 2, branches)
    assert len(first.held()) == 500
    procs = [first, BranchLeases(store, "second", clock=clock)]
    two = split_rounds(2, branches, clock, store, procs)
    procs.append(BranchLeases(store, "third", clock=clock))
    three = split_rounds(3, branches, clock, store, procs)
    print(f"500 branches: split between 2 processes in {two} rounds, between 3 in {three} rounds")
    assert two <= 10 and three <= 10
    assert sorted(len(p.held()) for p in procs) == [166, 167, 167]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 5), st.integers(1, 4))
def test_the_hand_back_never_makes_two_holders_and_every_branch_is_held_again_within_a_round(
        count: int, started: int, joining: int) -> None:
    """``started`` processes share ``count`` branches, then ``joining`` more start at once: each round no branch
    has two holders, none waits more than a round for a holder, and the shares are fair within a bounded time."""
    clock = Clock()
    store = MemoryLeaseStore(clock)
    branches = [f"b{i}" for i in range(count)]
    procs = [BranchLeases(store, f"p{i}", clock=clock) for i in range(started)]
    split_rounds(started, branches, clock, store, procs)
    procs += [BranchLeases(store, f"q{i}", clock=clock) for i in range(joining)]
    rounds = split_rounds(started + joining, branches, clock, store, procs)
    assert rounds <= 40
