"""``GET /metrics``: the Prometheus text a monitoring system scrapes, and who may read it (an address of
``[server] metrics_from``, an admin, or an API token for every branch; nobody else on the hall's Wi-Fi)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from server.config import ConfigError, load_config
from server.metrics import BRANCH_LABELLED, HallMetrics
from tests.integration.test_api import app, build_app, client, issued, make_app
from tests.support import DEMO_CONFIG

BRANCH = "SZ-FUTIAN"
HALL_WIFI = {"REMOTE_ADDR": "192.168.10.23"}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in the exposition, or None when it is absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return None


def test_a_scrape_from_the_host_counts_commands_requests_and_the_live_side(app: Flask, client: FlaskClient) -> None:
    for _ in range(3):
        issued(client, "BILL")
    client.get("/no/such/page")
    app.extensions["hall_live"].refresh(BRANCH)
    answer = client.get("/metrics")  # the test client comes from 127.0.0.1
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    assert answer.headers["Cache-Control"] == "no-store"
    text = answer.get_data(as_text=True)
    assert sample(text, "hall_events_total", kind="issued") == 3
    assert sample(text, "hall_http_requests_total", method="POST", route="/api/branches/<branch>/tickets",
                  status="201") == 3
    assert sample(text, "hall_http_request_duration_seconds_count", method="POST",
                  route="/api/branches/<branch>/tickets") == 3
    # a made-up path is one series, whatever the path: a stranger cannot grow the series without bound
    assert sample(text, "hall_http_requests_total", route="(unmatched)", status="404") == 1
    assert "/no/such/page" not in text
    assert sample(text, "hall_waiting_tickets", branch=BRANCH) == 3
    age = sample(text, "hall_estimate_age_seconds", branch=BRANCH)
    assert age is not None and age >= 0
    assert sample(text, "hall_database_up") == 1
    assert sample(text, "hall_socket_clients") == 0
    assert sample(text, "hall_http_requests_in_flight") == 1  # this scrape
    assert sample(text, "process_resident_memory_bytes") is not None


def test_the_scrape_says_how_the_live_refreshes_were_made(app: Flask, client: FlaskClient) -> None:
    """A full re-estimate, a refresh patched after an issue, and a quiet branch's re-aged refresh each count under
    their own ``how``."""
    live = app.extensions["hall_live"]

    def counts() -> dict[str, float | None]:
        text = client.get("/metrics").get_data(as_text=True)
        return {how: sample(text, "hall_live_estimates_total", how=how) for how in ("estimated", "patched", "reaged")}

    issued(client, "BILL")
    live.refresh(BRANCH)
    before = counts()
    issued(client, "BILL")
    live.refresh(BRANCH)  # one issue since the last re-estimate: patched
    live.refresh(BRANCH)  # nothing since: re-aged
    live.refresh(BRANCH, force_publish=True)  # the estimator again
    after = counts()
    assert {how: (after[how] or 0) - (before[how] or 0) for how in after} == {"estimated": 1, "patched": 1,
                                                                              "reaged": 1}


def test_a_stranger_on_the_hall_wifi_is_refused_and_an_admin_or_a_token_for_every_branch_reads(
        app: Flask) -> None:
    stranger = app.test_client()
    refused = stranger.get("/metrics", environ_base=HALL_WIFI)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "forbidden"
    assert "metrics_from" in refused.get_json()["message"]

    manager = app.test_client()
    assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    assert manager.get("/metrics", environ_base=HALL_WIFI).status_code == 403  # a manager reads their branches only
    admin = app.test_client()
    assert admin.post("/api/session", json={"username": "admin", "password": "demo-admin"},
                      environ_base=HALL_WIFI).status_code == 200
    assert admin.get("/metrics", environ_base=HALL_WIFI).status_code == 200

    made = manager.post(f"/api/branches/{BRANCH}/api-tokens",
                        json={"name": "monitoring", "scope": "read", "branches": None})
    assert made.status_code == 201, made.get_json()
    every_branch = {"Authorization": f"Bearer {made.get_json()['token']}"}
    assert stranger.get("/metrics", headers=every_branch, environ_base=HALL_WIFI).status_code == 200
    one = manager.post(f"/api/branches/{BRANCH}/api-tokens",
                       json={"name": "one hall", "scope": "read", "branches": [BRANCH]})
    assert one.status_code == 201, one.get_json()
    answer = stranger.get("/metrics", headers={"Authorization": f"Bearer {one.get_json()['token']}"},
                          environ_base=HALL_WIFI)
    assert answer.status_code == 403 and "every branch" in answer.get_json()["message"]
    assert stranger.get("/metrics", headers={"Authorization": "Bearer qt_made_up"}).status_code == 401


def test_the_addresses_that_may_read_are_configured(make_app: Callable[..., Flask]) -> None:
    def monitoring_network(data: dict[str, Any]) -> None:
        data["server"]["metrics_from"] = ["10.20.0.0/16", "fd00::1"]

    app = make_app(monitoring_network)
    scraper = app.test_client()
    assert scraper.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
    assert scraper.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:10.20.3.4"}).status_code == 200
    assert scraper.get("/metrics", environ_base={"REMOTE_ADDR": "fd00::1"}).status_code == 200
    assert scraper.get("/metrics").status_code == 403  # loopback is no longer in the list


@pytest.mark.parametrize("entries", [["10.0.0.0/33"], ["monitoring.example"], [5]])
def test_a_bad_entry_is_refused_naming_it(tmp_path: Path, entries: list[Any]) -> None:
    def overrides(data: dict[str, Any]) -> None:
        data["server"]["metrics_from"] = entries
        data["server"]["database_url"] = f"sqlite:///{tmp_path / 'hall.sqlite3'}"

    with pytest.raises(ConfigError, match=r"server\.metrics_from\[0\]: must be an address or network"):
        load_config(DEMO_CONFIG, overrides=overrides)


def test_no_address_may_read_when_the_list_is_empty(make_app: Callable[..., Flask]) -> None:
    app = make_app(lambda data: data["server"].__setitem__("metrics_from", []))
    assert app.test_client().get("/metrics").status_code == 403


NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
KINDS = ["issued", "called", "started", "finished", "no_show", "transferred", "recalled", "counter_opened"]


def network_scrape(branches: int, held_every: int, ages: list[int] | None = None) -> str:
    """The exposition of a process of a network of ``branches`` after a busy day: every branch had every kind of
    event and every background job, and the process holds every ``held_every``-th branch's lease."""
    codes = [f"BR-{n:03d}" for n in range(branches)]
    seconds = ages or [n % 7 for n in range(branches)]
    metrics = HallMetrics(in_flight=lambda: 0, socket_clients=lambda: 0, database_up=lambda: True,
                          branches=lambda: [(c, n, NOW - timedelta(seconds=seconds[n])) for n, c in enumerate(codes)],
                          clock=lambda: NOW, process=False)
    held = codes[::held_every]
    metrics.watch_leases(lambda: codes, lambda: [*held, "GONE-01"], lambda: {c: 3 for c in held}, lambda: 2)
    jobs = {job: metrics.counting(job, lambda code: None) for job in ("end_days", "watch_devices")}
    for code in codes:
        metrics.note_events(code, [{"kind": kind} for kind in KINDS])
        for job in jobs.values():
            job(code)
        metrics.note_refresh(0.003, 0.2)
    return metrics.exposition().decode()


def series(text: str) -> list[tuple[str, dict[str, str]]]:
    return [(m.group(1), dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
            for m in re.finditer(r"^(\w+)(?:\{(.*)\})? \S+$", text, flags=re.M)]


def test_a_network_of_500_branches_makes_two_series_a_branch_and_one_per_branch_held() -> None:
    text = network_scrape(500, 2)
    per_branch = [name for name, labels in series(text) if "branch" in labels]
    assert set(per_branch) == set(BRANCH_LABELLED)
    assert len(per_branch) == 500 + 500 + 250  # waiting, age, the held half (a job per branch made 1,000 alone)
    assert len(series(text)) < 1_500
    assert sample(text, "hall_branch_jobs_total", job="end_days") == 500  # per job, all branches together
    assert sample(text, "hall_branch_job_duration_seconds_count", job="watch_devices") == 500
    assert sample(text, "hall_events_total", kind="issued") == 500
    assert sample(text, "hall_live_refreshes_total") == 250 * 3
    assert sample(text, "hall_live_branches_held") == 250
    assert sample(text, "hall_live_branch_held", branch="BR-000") == 1
    assert sample(text, "hall_live_branch_held", branch="BR-001") is None  # another process's: absent, not 0
    assert sample(text, "hall_live_branch_held", branch="GONE-01") is None  # a lease of a branch no longer there
    assert sample(text, "hall_estimate_age_max_seconds") == 6


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3600), min_size=1, max_size=40), st.integers(1, 5))
def test_per_branch_series_grow_by_two_a_branch_and_one_a_held_branch_and_the_worst_age_is_the_maximum(
        ages: list[int], held_every: int) -> None:
    text = network_scrape(len(ages), held_every, ages)
    labelled = [labels["branch"] for _name, labels in series(text) if "branch" in labels]
    held = len(range(0, len(ages), held_every))
    assert len(labelled) == 2 * len(ages) + held
    assert sample(text, "hall_estimate_age_max_seconds") == max(ages)
    assert sample(text, "hall_live_branches_held") == held


__all__ = ["app", "build_app", "client", "make_app"]


def test_the_event_loop_probe_records_how_late_it_was_woken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked to wake every 50 ms: woken on time, then 200 ms late (the event loop was held), then on time."""
    import server.metrics as metrics_module

    now = [100.0]
    monkeypatch.setattr(metrics_module.time, "monotonic", lambda: now[0])
    metrics = HallMetrics(in_flight=lambda: 0, socket_clients=lambda: 0, database_up=lambda: True,
                          branches=lambda: [], clock=lambda: NOW, process=False)
    late = iter([0.0, 0.2, 0.0])

    class Stop(Exception):
        pass

    def sleep(seconds: float) -> None:
        try:
            now[0] += seconds + next(late)
        except StopIteration:
            raise Stop from None

    tasks: list[Callable[[], None]] = []
    metrics.watch_event_loop(tasks.append, sleep, every_s=0.05)
    with pytest.raises(Stop):
        tasks[0]()
    text = metrics.exposition().decode()
    assert sample(text, "hall_event_loop_lag_seconds_count") == 3
    assert sample(text, "hall_event_loop_lag_seconds_sum") == pytest.approx(0.2)
    assert sample(text, "hall_event_loop_lag_seconds_bucket", le="0.001") == 2
    assert sample(text, "hall_event_loop_lag_seconds_bucket", le="0.25") == 3
