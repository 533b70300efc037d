"""Shared helpers for tests: a controllable clock, configs derived from the demo hall, databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from server.config import load_config
from server.launcher import LIMITS_OFF
from server.settings import HallConfig

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config.toml"
IN_CI = bool(os.environ.get("CI"))


@dataclass
class FakeClock:
    """A clock the test moves by hand. Starts on a Tuesday at 10:00 in Shanghai (02:00 UTC)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 2, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


def open_all_day(data: dict[str, Any]) -> None:
    """Raw config data changed so that every branch and service takes tickets at any hour of any day: no
    weekday hours, no holidays, no last-ticket times (tests that are not about opening hours run at any time of day
    and year)."""
    for branch in data["branches"]:
        branch["hours"] = "00:00-24:00"
        branch.pop("hours_by_day", None)
        branch.pop("exceptions", None)
        for service in branch["services"]:
            service.pop("hours", None)
            service.pop("hours_by_day", None)
            service.pop("last_ticket", None)


def demo_config(database_url: str, tmp_path: Path, *, more: Callable[[dict[str, Any]], None] | None = None,
                limits: dict[str, Any] | None = None, **queue: Any) -> HallConfig:
    """The demo hall with a given database, open all day, optional [queue] overrides, and ``more`` changes
    to the TOML data. The limits on abuse are off (tests issue many tickets from 127.0.0.1) unless ``limits``
    gives ``[limits]`` keys: ``{}`` for the demo's."""

    def adjust(data: dict[str, Any]) -> None:
        data["server"]["database_url"] = database_url
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")
        data.setdefault("limits", {}).update(LIMITS_OFF if limits is None else limits)
        open_all_day(data)
        data.setdefault("queue", {}).update(queue)
        if more is not None:
            more(data)

    saved = os.environ.pop("HALL_DATABASE_URL", None)
    try:
        return load_config(DEMO_CONFIG, overrides=adjust)
    finally:
        if saved is not None:
            os.environ["HALL_DATABASE_URL"] = saved


# --- PostgreSQL ----------------------------------------------------------------------------------

def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throw-away PostgreSQL cluster on a unix socket; yields a base URL, or None if not installed.

    ``HALL_TEST_POSTGRES_URL`` points at an existing server instead.
    """
    given = os.environ.get("HALL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = _pg_bin()
    if bin_dir is None:
        yield None
        return
    workdir = Path(tempfile.mkdtemp(prefix="hall-pg-"))
    data = workdir / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
        shutil.chown(workdir, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "hall", "--no-sync"],
                   check=True, capture_output=True)
    opts = f"-k {workdir} -c listen_addresses='' -c fsync=off -c max_connections=200"
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                    str(workdir / "log"), "start"], check=True, capture_output=True)
    try:
        for _ in range(50):
            done = subprocess.run([str(bin_dir / "pg_isready"), "-h", str(workdir)], capture_output=True)
            if done.returncode == 0:
                break
            time.sleep(0.1)
        yield f"postgresql+psycopg://hall@/postgres?host={workdir}"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_postgres_database(base_url: str) -> str:
    """Create a new empty database on the server and return its URL."""
    import psycopg

    name = "hall_" + uuid.uuid4().hex[:12]
    conninfo = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.replace("/postgres?", f"/{name}?")


# --- Redis ---------------------------------------------------------------------------------------

@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throw-away Redis server on a free loopback port, nothing saved to disk; yields its URL, or None if
    ``redis-server`` is not installed. ``HALL_TEST_REDIS_URL`` points at an existing server instead."""
    given = os.environ.get("HALL_TEST_REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    import socket

    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)
