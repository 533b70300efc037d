"""While Redis is down the live side fails every second: one warning when the outage begins, one with the count
when it ends."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from server.services.branch_leases import BranchLeases, MemoryLeaseStore
from server.services.live import LiveHall
from server.services.outage_log import OutageLog


def test_one_line_at_the_first_failure_and_one_with_the_count_when_it_works_again(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outage = OutageLog(logging.getLogger("t"), "poking", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        outage.succeeded()
        for _ in range(30):
            outage.failed("refused")
            now[0] += 1.0
        outage.succeeded()
        outage.succeeded()
        outage.failed("again")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "poking failed: refused" in lines[0]
    assert "after 30.0 s; 30 call(s) failed" in lines[1]
    assert "poking failed: again" in lines[2]


class Down:
    enabled = True
    up = False

    def publish(self, message: dict[str, Any]) -> None:
        if not self.up:
            raise ConnectionError("redis down")


def test_the_live_side_warns_once_per_outage_of_its_channel(caplog: pytest.LogCaptureFixture) -> None:
    share = Down()
    live = LiveHall.__new__(LiveHall)  # only the channel is used here
    live.share, live.owner = share, "p"
    live._share_outage = OutageLog(logging.getLogger("server.services.live"), "sharing the live side's results")
    with caplog.at_level(logging.WARNING, logger="server.services.live"):
        for _ in range(50):
            live.poke("MAIN", urgent=True)
        share.up = True
        live.poke("MAIN", urgent=True)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "50 call(s) failed" in lines[1]


def test_the_leases_warn_once_per_outage_of_their_store(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    store = MemoryLeaseStore(lambda: now[0])
    leases = BranchLeases(store, "p", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="server.services.branch_leases"):
        leases.tick(["A"])
        store.fail = True
        for _ in range(20):
            now[0] += 1.0
            leases.tick(["A"])
        store.fail = False
        leases.tick(["A"])
    lines = [r.getMessage() for r in caplog.records if "store" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "20 call(s) failed" in lines[1]
