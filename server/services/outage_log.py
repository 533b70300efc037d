"""One warning per outage, not one per failed call: while Redis does not answer, the live side fails every second
(pokes, shared results, lease rounds); the log says when it began and, once Redis answers, how many failed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class OutageLog:
    """Logs the first failure of an outage at once, counts the rest, and logs the count when a call succeeds."""

    log: logging.Logger
    what: str  # what failed, as the log says it: "sharing live results"
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    since: float | None = None

    def failed(self, error: BaseException | str) -> None:
        """A call failed: logged if it is the first of an outage, else only counted."""
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            self.log.warning("%s failed: %s (further failures are counted until it works again)", self.what, error)

    def succeeded(self) -> None:
        """A call worked: ends the outage, if there was one, with one line saying how long and how many failed."""
        if self.since is None:
            return
        self.log.warning("%s works again after %.1f s; %d call(s) failed meanwhile", self.what,
                         self.clock() - self.since, self.failures)
        self.since, self.failures = None, 0


__all__ = ["OutageLog"]
