"""``GET /metrics``: what a monitoring system (Prometheus, or anything that reads its text format) scrapes from one
server process.

Each process answers for itself; the scraper tells the processes apart by its target, so no series carries a
process label. What is measured:

* **Commands**: ``hall_events_total{kind}``, every committed event (ticket issued, called, finished…), counted after
  its commit; a rate of it is "commands per second" per kind (per branch, the reports say it: a label per branch
  would make hundreds of series per kind in a network).
* **HTTP**: ``hall_http_requests_total{method,route,status}`` and the latency histogram
  ``hall_http_request_duration_seconds{method,route}``, labelled by the route's *rule* (``/api/branches/<branch>/
  tickets``), never by the raw path, so that a stranger's made-up paths cannot grow the series without bound;
  ``hall_http_requests_in_flight``.
* **Sockets**: ``hall_socket_clients``, the Socket.IO clients connected to this process.
* **The live loop**: ``hall_live_refresh_duration_seconds`` (one branch's re-estimate), ``hall_live_refresh_lag_
  seconds`` (from a command's commit to the refresh that took it in), and per branch ``hall_estimate_age_seconds``
  (how old the estimates this process serves are: its own or those the branch's holder shared) and
  ``hall_waiting_tickets``, with the worst branch's age in ``hall_estimate_age_max_seconds``; with several processes,
  the branches this process holds the lease of (``hall_live_branch_held{branch}``, 1, for the held ones only, so that
  the processes together serve one series per branch; ``hall_live_branches_held``, how many), the refreshes it ran
  (``hall_live_refreshes_total``) and the leases it took over from another process
  (``hall_live_lease_takeovers_total``), and the other per-branch background jobs it ran, per job
  (``hall_branch_jobs_total{job}``: the day's end, the device watch; with leases, only the holders' runs count) with
  the time one branch's run took (``hall_branch_job_duration_seconds{job}``, a histogram: the slow branch shows in
  its top buckets). How each refresh was made, in ``hall_live_estimates_total{how}``: ``estimated`` (the estimator
  ran over the whole queue), ``patched`` (the last projection patched with a few issues and calls) or ``reaged`` (a
  quiet branch's last one re-aged): a rising share of ``estimated`` is where the live loop's CPU goes.

At 500 branches a process serves about two series per branch (its waiting tickets and its estimates' age: what an
operator alerts on per branch) and one per branch it holds; everything else is counted per kind, job or route.
* **The event loop**: ``hall_event_loop_lag_seconds``, how late a task asking to wake up every 50 ms was woken: the
  wait every request and push of that moment shared (a long computation, a garbage collection, a native wait).
* **The database**: ``hall_database_up`` (1 when a query and a command would succeed, as ``/healthz`` says).
* The process's own CPU, memory and open files (``process_*``), from the client library.

Who may read it: the addresses in ``[server] metrics_from`` (loopback by default), an API token with the ``read``
scope over every branch, or nobody (``metrics_from = []`` and no token). A hall's Wi-Fi is a public place and these
figures say how busy every branch is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
REFRESH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BRANCH_LABELLED = ("hall_waiting_tickets", "hall_estimate_age_seconds", "hall_live_branch_held")
"""The only series with a ``branch`` label (the tests hold every other to none: see the module's docstring)."""
LOOP_PROBE_S = 0.05
UNMATCHED_ROUTE = "(unmatched)"  # a path no route knows: one series for all of them
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

class _BranchGauges(Collector):
    """Per branch, read at each scrape from what the live side already holds (nothing is queried)."""

    def __init__(self, read: Callable[[], Iterable[tuple[str, int, datetime | None]]],
                 clock: Callable[[], datetime]) -> None:
        self.read = read
        self.clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        waiting = GaugeMetricFamily("hall_waiting_tickets", "Tickets waiting in the branch at its last refresh",
                                    labels=["branch"])
        age = GaugeMetricFamily("hall_estimate_age_seconds", "Seconds since the branch's wait estimates were last "
                                "computed (the live loop's staleness)", labels=["branch"])
        oldest = GaugeMetricFamily("hall_estimate_age_max_seconds", "The oldest branch estimates this process serves "
                                   "(the worst branch's hall_estimate_age_seconds; 0 before any)")
        now = self.clock()
        worst = 0.0
        for branch, count, refreshed_at in self.read():
            waiting.add_metric([branch], count)
            if refreshed_at is not None:
                seconds = max((now - refreshed_at).total_seconds(), 0.0)
                age.add_metric([branch], seconds)
                worst = max(worst, seconds)
        oldest.add_metric([], worst)
        yield waiting
        yield age
        yield oldest


class _LeaseGauges(Collector):
    """Which branches this process runs the live work of, the refreshes it ran, the leases it took over."""

    def __init__(self, branches: Callable[[], Iterable[str]], held: Callable[[], Iterable[str]],
                 refreshes: Callable[[], dict[str, int]], takeovers: Callable[[], int]) -> None:
        self.branches, self.held, self.refreshes, self.takeovers = branches, held, refreshes, takeovers

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        # only the held branches: a 0 for every other one would make each process serve a series per branch of the
        # network, and the processes together N times the branches; absent reads as "not here"
        held = GaugeMetricFamily("hall_live_branch_held", "1 for each branch whose live lease this process holds (runs "
                                 "its refreshes and publishes its summaries); branches it does not hold are absent",
                                 labels=["branch"])
        known = set(self.branches())
        mine = sorted(branch for branch in self.held() if branch in known)
        for branch in mine:
            held.add_metric([branch], 1.0)
        count = GaugeMetricFamily("hall_live_branches_held", "How many branches' live leases this process holds")
        count.add_metric([], len(mine))
        refreshes = CounterMetricFamily("hall_live_refreshes", "Live refreshes (estimator runs) in this process, all "
                                        "branches together")
        refreshes.add_metric([], sum(self.refreshes().values()))
        takeovers = CounterMetricFamily("hall_live_lease_takeovers", "Branch leases this process took after another "
                                        "process held them (it died, or handed them over)")
        takeovers.add_metric([], self.takeovers())
        yield held
        yield count
        yield refreshes
        yield takeovers


class _EstimateCounts(Collector):
    """How this process's refreshes were made: the estimator's full runs, patched projections, re-aged ones."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily("hall_live_estimates", "Live refreshes in this process by how their estimates "
                                     "were made: estimated (the estimator over the whole queue), patched (the last "
                                     "projection patched with a few issues and calls), reaged (a quiet branch's last "
                                     "one, aged)", labels=["how"])
        for how, count in sorted(self.counts().items()):
            family.add_metric([how], count)
        yield family


class HallMetrics:
    """The metrics of one server process, in a registry of its own (several apps in one test process do not mix)."""

    def __init__(self, *, in_flight: Callable[[], int], socket_clients: Callable[[], int],
                 database_up: Callable[[], bool],
                 branches: Callable[[], Iterable[tuple[str, int, datetime | None]]],
                 clock: Callable[[], datetime], process: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter("hall_events", "Committed events (ticket and counter commands) by kind",
                              ["kind"], registry=self.registry)
        self.requests = Counter("hall_http_requests", "HTTP requests answered, by route rule and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("hall_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.refresh_duration = Histogram("hall_live_refresh_duration_seconds",
                                          "Time one branch's live refresh (re-estimate and publish) took",
                                          buckets=REFRESH_BUCKETS, registry=self.registry)
        self.refresh_lag = Histogram("hall_live_refresh_lag_seconds", "From a command's commit being noticed to the "
                                     "live refresh that took it in", buckets=LATENCY_BUCKETS, registry=self.registry)
        self.branch_jobs = Counter("hall_branch_jobs", "Runs of a per-branch background job (end_days, "
                                   "watch_devices) in this process, all branches together", ["job"],
                                   registry=self.registry)
        self.branch_job_duration = Histogram("hall_branch_job_duration_seconds", "Time one branch's run of a "
                                             "background job took", ["job"], buckets=REFRESH_BUCKETS,
                                             registry=self.registry)
        self.loop_lag = Histogram("hall_event_loop_lag_seconds", "How late the event loop ran a task that asked "
                                  "to wake up (every 50 ms): what every request and push waited for then",
                                  buckets=LOOP_LAG_BUCKETS, registry=self.registry)
        Gauge("hall_http_requests_in_flight", "HTTP requests being answered now",
              registry=self.registry).set_function(lambda: float(in_flight()))
        Gauge("hall_socket_clients", "Socket.IO clients connected to this process",
              registry=self.registry).set_function(lambda: float(socket_clients()))
        Gauge("hall_database_up", "1 while the database answers a query and would take a command, else 0",
              registry=self.registry).set_function(lambda: 1.0 if database_up() else 0.0)
        self.registry.register(_BranchGauges(branches, clock))
        if process:
            ProcessCollector(registry=self.registry)

    # --- what the app reports -------------------------------------------------------------------------------------

    def watch_event_loop(self, spawn: Callable[[Callable[[], None]], Any], sleep: Callable[[float], Any],
                         every_s: float = LOOP_PROBE_S) -> None:
        """A background task that asks to wake up every ``every_s`` and records how late it was woken
        (``hall_event_loop_lag_seconds``). Under eventlet one thread serves every request and socket: a request
        answered in 10 ms of its own work can still wait for whatever held that thread before it (a long
        computation, a garbage collection, a native wait), which its own latency histogram does not show."""

        def probe() -> None:
            while True:
                asked = time.monotonic()
                sleep(every_s)
                self.loop_lag.observe(max(0.0, time.monotonic() - asked - every_s))

        spawn(probe)

    def watch_estimates(self, counts: Callable[[], dict[str, int]]) -> None:
        """Expose how the live refreshes were made (``counts``: ``estimated``, ``patched``, ``reaged``)."""
        self.registry.register(_EstimateCounts(counts))

    def watch_leases(self, branches: Callable[[], Iterable[str]], held: Callable[[], Iterable[str]],
                     refreshes: Callable[[], dict[str, int]], takeovers: Callable[[], int]) -> None:
        """With several processes: expose the live leases (:mod:`server.services.branch_leases`)."""
        self.registry.register(_LeaseGauges(branches, held, refreshes, takeovers))

    def counting(self, job: str, work: Callable[[str], Any]) -> Callable[[str], Any]:
        """``work(branch)``, counted in ``hall_branch_jobs_total`` and timed in ``hall_branch_job_duration_seconds``
        each time this process runs it (per job: which branch is in the job's logs when it fails)."""
        runs, duration = self.branch_jobs.labels(job), self.branch_job_duration.labels(job)

        def counted(branch_code: str) -> Any:
            runs.inc()
            started = time.perf_counter()
            try:
                return work(branch_code)
            finally:
                duration.observe(time.perf_counter() - started)

        return counted

    def note_events(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        """A commit's events (subscribed to the unit of work; ``branch_code`` is not a label, see the docstring)."""
        for event in events:
            self.events.labels(str(event.get("kind", "?"))).inc()

    def note_request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        rule = route or UNMATCHED_ROUTE
        self.requests.labels(method, rule, str(status)).inc()
        self.latency.labels(method, rule).observe(seconds)

    def note_refresh(self, seconds: float, lag_s: float | None) -> None:
        """One branch refreshed by the live loop; ``lag_s`` from when its pending work was noticed (None: a
        refresh on the minute, with nothing pending)."""
        self.refresh_duration.observe(seconds)
        if lag_s is not None:
            self.refresh_lag.observe(lag_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def socket_client_count(socketio: Any) -> int:
    """Socket.IO clients connected to this process (its Engine.IO sockets), 0 when unknown."""
    try:
        return len(socketio.server.eio.sockets)
    except AttributeError:
        return 0


class RequestTimer:
    """Flask hooks timing each request by its route rule (registered by the app factory)."""

    def __init__(self, metrics: HallMetrics) -> None:
        self.metrics = metrics

    def start(self) -> None:
        from flask import g

        g.metrics_started = time.perf_counter()

    def finish(self, response: Any) -> Any:
        from flask import g, request

        started = g.pop("metrics_started", None)
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else None
            self.metrics.note_request(request.method, rule, response.status_code, time.perf_counter() - started)
        return response
