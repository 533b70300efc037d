"""``deploy/nginx/hall.conf`` in front of two real server processes on one PostgreSQL and one Redis
(docs/deploy.md#nginx), over TLS with a self-signed certificate:

* ``/healthz`` passes through; ``/metrics`` is not served to the public, each process's is on the internal block;
* with ``proxy_hops = 1`` the server sees the scheme nginx was reached by (ticket URLs are https);
* a wall display's websocket and a long-polling client (the fallback of ``static/hall/live.js``) both join through
  nginx and receive the events of commands made through nginx: the address hash keeps each poll on its process;
* a process stopped as in a rolling upgrade: requests through nginx go on being answered, and the display gets the
  next event (reconnected to the other process if it was on the stopped one).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
import urllib3

from server.launcher import ServerProcess, write_config
from tests.deploy_support import free_port, nginx_binary, nginx_config
from tests.support import IN_CI, fresh_postgres_database
from tests.system.clients import BRANCH, wait_for

pytestmark = pytest.mark.slow
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test's own self-signed certificate


class Hall:
    def __init__(self, url: str, processes: tuple[ServerProcess, ServerProcess], metrics_url: str) -> None:
        self.url = url
        self.processes = processes
        self.metrics_url = metrics_url  # nginx's internal server block for the Prometheus server

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", verify=False, timeout=10)

    def issue(self) -> dict[str, Any]:
        answer = requests.post(f"{self.url}/api/branches/{BRANCH}/tickets", json={"service": "BILL"}, verify=False,
                               timeout=10)
        assert answer.status_code == 201, answer.text
        return answer.json()


@pytest.fixture
def hall(tmp_path: Path, postgres_base_url: str | None, redis_url: str,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Hall]:
    nginx = nginx_binary()
    if nginx is None or postgres_base_url is None:
        if IN_CI:
            pytest.fail("nginx and PostgreSQL must be installed in CI (apt-get install nginx-light postgresql)")
        pytest.skip("nginx or PostgreSQL is not installed")
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # these win over the clients' verify=False
        monkeypatch.delenv(variable, raising=False)
    config = write_config(tmp_path, fresh_postgres_database(postgres_base_url), redis_url=redis_url)
    config.write_text(re.sub(r"^proxy_hops = \d+", "proxy_hops = 1", config.read_text(encoding="utf-8"), count=1,
                             flags=re.M), encoding="utf-8")
    (tmp_path / "nginx").mkdir()
    with ServerProcess(config) as first, ServerProcess(config) as second:
        port, metrics_port = free_port(), free_port()
        main = nginx_config(tmp_path / "nginx", https_port=port, http_port=free_port(), metrics_port=metrics_port,
                            upstreams=[f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"])
        process = subprocess.Popen([nginx, "-c", str(main), "-g", "daemon off;"], stderr=subprocess.PIPE)
        try:
            url = f"https://127.0.0.1:{port}"
            wait_for(lambda: _answers(f"{url}/healthz"), timeout=10)
            yield Hall(url, (first, second), f"http://127.0.0.1:{metrics_port}")
        finally:
            process.terminate()
            process.wait(10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, verify=False, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _client(url: str, transport: str) -> tuple[socketio.Client, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    client = socketio.Client(ssl_verify=False, reconnection_delay=0.2, reconnection_delay_max=0.5)
    client.on("hall_event", events.append)

    client.snapshot_seqs = []  # type: ignore[attr-defined]  # the seq of each (re-)join's snapshot

    def join_and_note() -> None:
        answer = client.call("join", {"role": "display", "branch": BRANCH}, timeout=10)
        if isinstance(answer, dict) and answer.get("ok"):
            client.snapshot_seqs.append(answer["snapshot"]["seq"])  # type: ignore[attr-defined]

    def join() -> None:
        client.start_background_task(join_and_note)

    client.on("connect", join)
    client.connect(url, transports=[transport])
    return client, events


def test_health_passes_through_and_metrics_stay_inside(hall: Hall) -> None:
    health = hall.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}
    assert hall.get("/metrics").status_code == 404
    for process in hall.processes:  # Prometheus scrapes each process through nginx's internal block
        scraped = requests.get(f"{hall.metrics_url}/metrics/{process.port}", timeout=10)
        assert scraped.status_code == 200 and "hall_socket_clients" in scraped.text
    kiosks = hall.get(f"/api/branches/{BRANCH}/kiosks").json()
    assert kiosks["ticket_url"].startswith("https://127.0.0.1"), "X-Forwarded-Proto is trusted with proxy_hops = 1"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_a_display_joins_through_nginx_and_gets_every_event(hall: Hall, transport: str) -> None:
    client, events = _client(hall.url, transport)
    try:
        time.sleep(0.5)
        numbers = [hall.issue()["number"] for _ in range(5)]
        wait_for(lambda: len(events) >= 5, timeout=10)
        assert [e["ticket"]["number"] for e in events if e["kind"] == "issued"] == numbers
        time.sleep(2)  # long polls come and go: the session holds, on the one process the address hashes to
        assert client.connected
        hall.issue()
        wait_for(lambda: len(events) >= 6, timeout=10)
    finally:
        client.disconnect()


def test_a_process_stopped_for_an_upgrade_leaves_the_hall_served(hall: Hall) -> None:
    client, events = _client(hall.url, "websocket")
    try:
        time.sleep(0.5)
        hall.issue()
        wait_for(lambda: len(events) >= 1, timeout=10)
        first, _second = hall.processes
        first.stop()  # systemctl restart hall@PORT: SIGTERM
        answered = [hall.issue()["number"] for _ in range(10)]  # nginx passes them to the process still running
        assert len(set(answered)) == 10
        # the display reconnects through nginx to the other process and resyncs: it ends up knowing all ten, from
        # their events or (when it came back after them) from its new snapshot
        last_seq = events[0]["seq"] + 10

        def seen() -> int:
            return max([e["seq"] for e in events] + client.snapshot_seqs)  # type: ignore[attr-defined]

        wait_for(lambda: seen() >= last_seq, timeout=15)
        first.start()  # the new release's process comes back on its port
        assert requests.get(f"{first.url}/healthz", timeout=10).status_code == 200
        hall.issue()
    finally:
        client.disconnect()
