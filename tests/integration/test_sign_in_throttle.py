"""The sign-in throttle shared by several server processes through a real Redis: a guesser spread over the processes
behind a load balancer meets one count and one lockout; a success on one process clears it for all; records expire by
themselves; with Redis gone, sign-in goes on (unthrottled) rather than locking staff out. And the rule itself, as
properties."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.services.sign_in_throttle import (
    KEPT_AFTER,
    LONGEST_LOCKOUT,
    REDIS_PREFIX,
    Failures,
    RedisFailures,
    SignInThrottle,
    TooManySignIns,
    after_failure,
    make_throttle,
    pair_key,
)
from tests.support import IN_CI, FakeClock, redis_server

LOCKOUT = timedelta(minutes=5)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            if IN_CI:
                pytest.fail("redis-server is not installed; CI must test the shared throttle")
            pytest.skip("redis-server is not installed")
        yield url


def two_processes(url: str, clock: FakeClock) -> tuple[SignInThrottle, SignInThrottle]:
    """Two throttles as two server processes make them: each its own Redis connection, one store."""
    import redis

    redis.Redis.from_url(url).flushdb()
    return make_throttle(3, LOCKOUT, clock, url), make_throttle(3, LOCKOUT, clock, url)


def test_failures_on_two_processes_add_up_to_one_lockout_that_both_enforce(redis_url: str) -> None:
    clock = FakeClock()
    first, second = two_processes(redis_url, clock)
    first.failed("manager", "dev-1")
    second.failed("manager", "dev-1")
    first.check("manager", "dev-1")  # two failures: not yet
    second.failed("manager", "dev-1")  # the third, on the other process
    for process in (first, second):
        with pytest.raises(TooManySignIns) as refused:
            process.check("manager", "dev-1")
        assert refused.value.details["retry_after_s"] == 300
    second.check("manager", "dev-2")  # another device is not locked out
    second.check("zhang.wei", "dev-1")  # nor another name


def test_only_the_first_refusal_of_a_lockout_is_marked_first_whichever_process_refuses(redis_url: str) -> None:
    clock = FakeClock()
    first, second = two_processes(redis_url, clock)
    for _ in range(3):
        first.failed("manager", "dev-1")
    refusals = []
    for process in (second, first, second):
        with pytest.raises(TooManySignIns) as refused:
            process.check("manager", "dev-1")
        refusals.append(refused.value.first)
    assert refusals == [True, False, False]


def test_a_success_on_one_process_clears_the_count_for_every_process(redis_url: str) -> None:
    clock = FakeClock()
    first, second = two_processes(redis_url, clock)
    first.failed("manager", "dev-1")
    first.failed("manager", "dev-1")
    second.succeeded("manager", "dev-1")
    first.failed("manager", "dev-1")
    second.failed("manager", "dev-1")
    first.check("manager", "dev-1")  # two since the success: not locked


def test_lockouts_double_across_processes_and_the_record_expires_by_itself(redis_url: str) -> None:
    import redis

    clock = FakeClock()
    first, second = two_processes(redis_url, clock)
    for process in (first, second, first):
        process.failed("manager", "dev-1")
    clock.advance(seconds=LOCKOUT.total_seconds())
    for process in (second, first, second):
        process.failed("manager", "dev-1")
    with pytest.raises(TooManySignIns) as refused:
        first.check("manager", "dev-1")
    assert refused.value.details["retry_after_s"] == 600  # the second run: twice as long
    ttl = redis.Redis.from_url(redis_url).ttl(REDIS_PREFIX + pair_key("manager", "dev-1"))
    assert 0 < ttl <= (timedelta(minutes=10) + KEPT_AFTER).total_seconds()


def test_neither_the_name_nor_the_device_is_stored_in_the_clear(redis_url: str) -> None:
    import redis

    clock = FakeClock()
    first, _ = two_processes(redis_url, clock)
    first.failed("my secret password typed as a name", "dev-1")
    keys = redis.Redis.from_url(redis_url).keys("*")
    assert keys and all(b"secret" not in key and b"dev-1" not in key for key in keys)
    assert all(b"secret" not in redis.Redis.from_url(redis_url).get(key) for key in keys)


def test_with_redis_unreachable_sign_in_goes_on_unthrottled() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(1, LOCKOUT, clock, RedisFailures("redis://127.0.0.1:9/0"))  # nothing listens there
    throttle.failed("manager", "dev-1")
    throttle.check("manager", "dev-1")  # not refused: staff are not locked out because a cache is down
    throttle.succeeded("manager", "dev-1")


# --- the rule ------------------------------------------------------------------------------------------------------

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@given(attempts=st.integers(1, 10), failures=st.integers(1, 400), lockout_min=st.integers(1, 120),
       gap_s=st.integers(0, 100_000))
def test_every_nth_failure_locks_for_twice_the_last_lockout_at_most_a_day(
        attempts: int, failures: int, lockout_min: int, gap_s: int) -> None:
    lockout = timedelta(minutes=lockout_min)
    record: Failures | None = None
    now = START
    lengths = []
    for _ in range(failures):
        now += timedelta(seconds=gap_s)
        before = record
        record = after_failure(record, now, attempts, lockout)
        if record.count % attempts == 0:
            assert record.locked(now) and record.refused_at is None
            lengths.append(record.locked_until - now)  # type: ignore[operator]
        else:
            assert record.locked_until == (before.locked_until if before else None)
    assert record is not None and record.count == failures
    assert len(lengths) == failures // attempts
    assert all(length <= LONGEST_LOCKOUT for length in lengths)
    for earlier, later in itertools.pairwise(lengths):
        assert later == min(earlier * 2, LONGEST_LOCKOUT)
    assert Failures.from_json(record.to_json()) == record
    assert record.expires_at() >= max(record.last_at, record.locked_until or record.last_at) + KEPT_AFTER
