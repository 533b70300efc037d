"""A real server that starts with yesterday's leftovers in its database expires them at once and never calls them."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from server.launcher import ServerProcess, write_config
from tests.system.clients import BRANCH, issue, staff_session

pytestmark = pytest.mark.slow


def test_yesterdays_leftovers_expire_on_start_up_and_are_never_called(tmp_path: Path) -> None:
    database = tmp_path / "hall.sqlite3"
    config = write_config(tmp_path, f"sqlite:///{database}")
    with ServerProcess(config).start() as server:
        left = [issue(server.url) for _ in range(3)]
        staff = staff_session(server.url)
        assert staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/sign-in", json={}).ok
        called = staff.post(f"{server.url}/api/branches/{BRANCH}/counters/2/call-next").json()["ticket"]
        assert called["id"] == left[0]["id"]
    # the server was off over midnight: what it left is now yesterday's
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        for table in ("ticket", "number_sequence"):
            connection.execute(text(f"UPDATE {table} SET service_day = date(service_day, '-1 day')"))
        connection.execute(text("UPDATE ticket SET issued_at = datetime(issued_at, '-1 day'),"
                                " queued_at = datetime(queued_at, '-1 day')"))
        connection.execute(text("UPDATE counter_session SET signed_in_at = datetime(signed_in_at, '-1 day')"
                                " WHERE signed_in_at IS NOT NULL"))
    engine.dispose()

    with ServerProcess(config).start() as server:
        api = f"{server.url}/api"
        for ticket in left:
            assert requests.get(f"{api}/tickets/{ticket['token']}").json()["state"] == "expired"
        snapshot = requests.get(f"{api}/branches/{BRANCH}/snapshot").json()
        assert snapshot["waiting_total"] == 0 and snapshot["recent_calls"] == []
        assert {c["number"]: c["status"] for c in snapshot["counters"]}["2"] == "closed"
        # today's first ticket is A001 again, and the only one a counter calls
        today = issue(server.url)
        assert today["number"] == "A001" and today["people_ahead"] == 0
        staff = staff_session(server.url)
        assert staff.post(f"{api}/branches/{BRANCH}/counters/2/sign-in", json={}).ok
        assert staff.post(f"{api}/branches/{BRANCH}/counters/2/call-next").json()["ticket"]["id"] == today["id"]
        assert staff.post(f"{api}/branches/{BRANCH}/tickets/{today['id']}/no-show", json={}).ok
        assert staff.post(f"{api}/branches/{BRANCH}/counters/2/call-next").json()["ticket"] is None
        # the history says why
        events = staff.get(f"{api}/branches/{BRANCH}/events", params={"after": 0}).json()["events"]
        expired = [e for e in events if e["kind"] == "expired"]
        assert sorted(e["ticket_id"] for e in expired) == sorted(t["id"] for t in left)
        assert all(e["reason"] == "day_ended" for e in expired)
        assert [e["data"]["was"] for e in sorted(expired, key=lambda e: e["ticket_id"])] == [
            "called", "waiting", "waiting"]
        assert any(e["kind"] == "counter_signed_out" and e["reason"] == "day_ended" for e in events)
