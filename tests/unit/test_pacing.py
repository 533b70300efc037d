"""The live refresh gives way to requests: the estimator's checkpoints wait while HTTP requests run."""

from __future__ import annotations

from typing import Any

import pytest

from server.app import EventletPacing, RequestGauge


def _gauge() -> RequestGauge:
    return RequestGauge(lambda environ, start_response: [b""])


def test_checkpoint_waits_while_requests_are_in_flight_but_never_longer_than_the_bound() -> None:
    gauge = _gauge()
    naps: list[float] = []
    pacing = EventletPacing(gauge, nap_s=0.001, max_wait_s=0.01, green=True, native_sleep=naps.append)
    gauge.in_flight = 1
    pacing.checkpoint()
    assert len(naps) == 10 and sum(naps) >= 0.01 - 1e-9  # a flood of requests cannot starve the estimator


def test_under_a_flood_of_requests_the_estimator_keeps_its_share_however_often_it_checks_in() -> None:
    """Waiting is earned by working (4 s per second of work here), so a thousand checkpoints a second do not
    starve the estimator any more than ten do."""
    gauge = _gauge()
    gauge.in_flight = 5
    now = [0.0]
    waited: list[float] = []

    def nap(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    pacing = EventletPacing(gauge, nap_s=0.0001, max_wait_s=0.02, yield_ratio=4.0, green=True,
                            native_sleep=nap, clock=lambda: now[0])
    started = now[0]
    for _ in range(1000):  # a checkpoint every 0.3 ms of work
        now[0] += 0.0003
        pacing.checkpoint()
    assert 3.5 * 0.3 <= sum(waited) <= 4 * 0.3 + 0.02 + 1e-6
    assert now[0] - started == pytest.approx(0.3 + sum(waited))
    for _ in range(10):  # long stretches of work: no single wait beyond the bound
        waited.clear()
        now[0] += 0.03
        pacing.checkpoint()
        assert sum(waited) == pytest.approx(0.02, abs=0.0002)


def test_checkpoint_goes_on_at_once_when_the_hall_is_quiet_or_not_under_eventlet() -> None:
    gauge = _gauge()
    naps: list[float] = []
    EventletPacing(gauge, green=True, native_sleep=naps.append).checkpoint()
    gauge.in_flight = 3
    EventletPacing(gauge, green=False, native_sleep=naps.append).checkpoint()
    assert naps == []


def test_a_checkpoint_on_the_event_loop_itself_never_naps() -> None:
    """A short computation run on the event loop's thread: napping there would hold up every request it means to
    let go first; from a worker thread, the same pacing naps while requests are in flight."""
    import threading

    gauge = _gauge()
    gauge.in_flight = 2
    naps: list[float] = []
    pacing = EventletPacing(gauge, nap_s=0.001, max_wait_s=0.01, green=True, native_sleep=naps.append,
                            hub_thread=threading.get_ident())
    pacing.checkpoint()
    assert naps == []
    worker = threading.Thread(target=pacing.checkpoint)
    worker.start()
    worker.join()
    assert naps and sum(naps) <= 0.01 + 1e-9


def test_checkpoint_stops_waiting_when_the_requests_finish() -> None:
    gauge = _gauge()
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            gauge.in_flight = 0

    gauge.in_flight = 2
    EventletPacing(gauge, nap_s=0.001, max_wait_s=1.0, green=True, native_sleep=nap).checkpoint()
    assert len(naps) == 3


def test_the_gauge_counts_requests_while_they_run_even_when_they_fail() -> None:
    seen: list[int] = []
    gauge: RequestGauge

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(gauge.in_flight)
        if environ.get("fail"):
            raise RuntimeError("boom")
        return [b"ok"]

    gauge = RequestGauge(app)
    assert gauge({}, None) == [b"ok"]
    with pytest.raises(RuntimeError):
        gauge({"fail": True}, None)
    assert seen == [1, 1] and gauge.in_flight == 0
