"""A rolling upgrade with the previous release's code, on a real PostgreSQL and Redis (docs/deploy.md).

The previous release is taken from git: the commit before the one that added this release's newest migration (the
alembic head), exported with ``git archive`` into a temporary directory; ``HALL_TEST_PREVIOUS_RELEASE`` names another
commit or tag instead. What the test does is what the upgrade does: a process of the previous release serves the hall
on its schema; this release's ``python -m server migrate`` brings the database to this release's head while it serves
(additive migrations only); a process of this release starts beside it; both serve one hall through Redis. Tickets are
issued and called through both: every acknowledged ticket is in the database once, no ticket is called twice, each
process's display hears of the other's commands, and both still answer at the end. Pushes between the processes cross
Redis one message per emit while the previous release listens (it cannot unpack this release's batches), and one
message per command once it has stopped.

Skipped, saying why, only when there is no history to take the previous release from: not a git checkout, a shallow
clone, or no commit before the newest migration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from alembic.script import ScriptDirectory

from server.launcher import ROOT, ServerProcess, write_config
from server.message_queue import BATCH_CHANNEL, CHANNEL
from server.persistence.database import alembic_config
from tests.support import IN_CI, fresh_postgres_database
from tests.system.clients import BRANCH, Listener, staff_session, wait_for

pytestmark = pytest.mark.slow

B = f"/api/branches/{BRANCH}"
SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
HEAD = SCRIPTS.get_current_head()


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def previous_release() -> str:
    """The commit to run as the previous release, or a skip saying why there is none."""
    try:
        inside = git("rev-parse", "--is-inside-work-tree") == "true"
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        pytest.skip("not a git checkout: the previous release's code cannot be taken from history")
    if git("rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone: fetch the history (git fetch --unshallow) to test the rolling upgrade")
    chosen = os.environ.get("HALL_TEST_PREVIOUS_RELEASE")
    if chosen:
        return git("rev-parse", "--verify", f"{chosen}^{{commit}}")
    head = SCRIPTS.get_revision(HEAD)
    assert head is not None and head.path is not None
    newest = Path(head.path).resolve().relative_to(ROOT).as_posix()
    added = git("log", "--diff-filter=A", "--format=%H", "HEAD", "--", newest).splitlines()
    if not added:  # not committed yet: the code committed so far is the previous release
        return git("rev-parse", "HEAD")
    try:
        return git("rev-parse", "--verify", f"{added[-1]}^")
    except RuntimeError:
        pytest.skip(f"no commit before the one that added {newest}")
        raise


def export(commit: str, directory: Path) -> Path:
    """The commit's files (no .git, no venv: this interpreter's packages serve it) in ``directory``."""
    archive = directory.with_suffix(".tar")
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, stdout=out, check=True, timeout=120)
    directory.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    archive.unlink()
    return directory


def limits_off(root: Path) -> dict[str, Any]:
    """The ``[limits]`` keys that release's own test launcher turns off: a key of this release's (a limit added
    since) would be refused by the previous release's configuration loader, as an unknown key should be."""
    done = subprocess.run([sys.executable, "-c", "import json; from server.launcher import LIMITS_OFF; "
                           "print(json.dumps(dict(LIMITS_OFF)))"], cwd=root, capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def revision(database_url: str) -> str:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        assert row is not None
        return str(row[0])


@pytest.fixture
def postgres(postgres_base_url: str | None) -> str:
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test the rolling upgrade on it")
        pytest.skip("PostgreSQL is not installed")
    return postgres_base_url


def issue(url: str, service: str = "BILL") -> dict[str, Any]:
    key = str(uuid.uuid4())
    answer = requests.post(f"{url}{B}/tickets", json={"service": service}, headers={"Idempotency-Key": key},
                           timeout=30)
    assert answer.status_code == 201, (url, answer.status_code, answer.text)
    return answer.json()


class Wire:
    """The methods of the messages between the processes (subscribed as a process of this release would be, so
    that it does not change what is sent)."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL, BATCH_CHANNEL)

    def subscribers(self) -> tuple[int, int]:
        """How many connections are subscribed to the channel, and how many of them unpack batches."""
        counts = dict(self.redis.pubsub_numsub(CHANNEL, BATCH_CHANNEL))
        return counts[CHANNEL.encode()], counts[BATCH_CHANNEL.encode()]

    def one_earlier_release_listens(self) -> bool:
        every, batching = self.subscribers()
        return every - batching == 1 and batching >= 2  # the old process; the new one and this wire unpack batches

    def methods(self) -> list[str]:
        seen = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 0.3:  # until nothing more has come for a moment
            raw = self.pubsub.get_message(timeout=0.1)  # None also for the subscriptions' confirmations
            if raw is not None and raw["type"] == "message":
                seen.append(json.loads(raw["data"])["method"])
                quiet_since = time.monotonic()
        return seen


def test_the_previous_release_keeps_serving_beside_this_one_on_the_migrated_schema(
        tmp_path: Path, postgres: str, redis_url: str) -> None:
    commit = previous_release()
    old_root = export(commit, tmp_path / "previous")
    old_scripts = ScriptDirectory(str(old_root / "server" / "migrations"))
    old_head = old_scripts.get_current_head()
    assert old_head != HEAD, f"{commit[:12]} already has this release's schema head {HEAD}"

    database_url = fresh_postgres_database(postgres)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old_config = write_config(tmp_path / "old", database_url, redis_url=redis_url, source=old_root / "config.toml",
                              limits=limits_off(old_root))
    new_config = write_config(tmp_path / "new", database_url, redis_url=redis_url)
    with ServerProcess(old_config, root=old_root) as old:
        assert revision(database_url) == old_head, "the previous release's process migrated to its own head"
        before = [issue(old.url) for _ in range(3)]

        environment = {k: v for k, v in os.environ.items() if k not in ("HALL_DATABASE_URL", "PYTHONPATH")}
        migrated = subprocess.run([sys.executable, "-m", "server", "migrate", "--config", str(new_config)], cwd=ROOT,
                                  env=environment, capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        assert revision(database_url) == HEAD
        during = [issue(old.url)]  # the previous release on this release's schema

        with ServerProcess(new_config) as new:
            displays = {}
            for name, server in (("old", old), ("new", new)):
                display = Listener(server.url, resync_on_gap=True).connect()
                assert display.join({"role": "display", "branch": BRANCH})["ok"]
                displays[name] = display
            wire = Wire(redis_url)
            # each process subscribes at its first socket connection: the old one to the channel only
            assert wait_for(wire.one_earlier_release_listens, timeout=15), wire.subscribers()
            wire.methods()  # what went before both listened
            tickets = before + during
            for _ in range(3):
                tickets += [issue(old.url), issue(new.url), issue(new.url, "PLAN"), issue(old.url, "PLAN")]
            desks = {"old": ("zhang.wei", "1", old.url), "new": ("li.na", "2", new.url)}
            sessions = {}
            for name, (username, counter, url) in desks.items():
                sessions[name] = staff_session(url, username)
                assert sessions[name].post(f"{url}{B}/counters/{counter}/sign-in", json={}, timeout=30).ok
            called: list[int] = []
            for _ in range(4):
                for name, (_user, counter, url) in desks.items():
                    answer = sessions[name].post(f"{url}{B}/counters/{counter}/call-next", timeout=30)
                    assert answer.status_code == 200, (name, answer.status_code, answer.text)
                    called.append(answer.json()["ticket"]["id"])
                    done = sessions[name].post(f"{url}{B}/tickets/{called[-1]}/no-show", json={}, timeout=30)
                    assert done.status_code == 200, (name, done.status_code, done.text)  # the counter is free again

            seq = int(requests.get(f"{new.url}{B}/snapshot", timeout=30).json()["seq"])
            for name, display in displays.items():  # each process's screens hear of the other's commands
                assert wait_for(lambda d=display: d.last_seq() is not None and d.last_seq() >= seq, timeout=15), name
                display.close()
            for server in (old, new):
                assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200
                snapshot = requests.get(f"{server.url}{B}/snapshot", timeout=30).json()
                assert snapshot["seq"] == seq
                assert snapshot["waiting_total"] == len(tickets) - len(called)
            mixed = wire.methods()
            assert "emit" in mixed and "emits" not in mixed, "the previous release's screens got every push"

            old.stop()  # the upgrade done: this release alone sends a command's pushes as one message
            tickets.append(issue(new.url))
            assert wait_for(lambda: "emits" in wire.methods(), timeout=15)

    assert len(called) == len(set(called)) == 8, "no ticket called twice"
    ids = [ticket["id"] for ticket in tickets]
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        stored = {row[0]: row[1] for row in connection.execute(
            "SELECT id, number FROM ticket WHERE branch_code = %s", (BRANCH,))}
        issued_events = connection.execute(
            "SELECT count(*) FROM ticket_event WHERE branch_code = %s AND kind = 'issued'", (BRANCH,)).fetchone()
    assert sorted(stored) == sorted(ids), "every acknowledged ticket is there, once"
    assert {stored[t["id"]] for t in tickets} == {t["number"] for t in tickets}
    assert len(set(stored.values())) == len(ids), "no number issued twice"
    assert issued_events is not None and issued_events[0] == len(ids)
