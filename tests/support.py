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


class PostgresCluster:
    """A throw-away PostgreSQL cluster on a unix socket in its own directory, which a test may stop and start
    again (the same socket, so a server process's URL stays good): a database restart or fail-over."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="hall-pg-"))
        self.data = self.workdir / "data"
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres system user
            shutil.chown(self.workdir, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.run_as, str(bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "hall",
                        "--no-sync"], check=True, capture_output=True)
        self.url = f"postgresql+psycopg://hall@/postgres?host={self.workdir}"

    @classmethod
    def create(cls) -> PostgresCluster | None:
        """A new cluster (not yet started), or None if PostgreSQL is not installed."""
        bin_dir = _pg_bin()
        return None if bin_dir is None else cls(bin_dir)

    def _pg_ctl(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args],
                              capture_output=True)

    def start(self, *, durable: bool = False) -> None:
        """``durable``: commits reach the disk (``fsync`` on, as in production; benchmarks). Tests run without."""
        opts = f"-k {self.workdir} -c listen_addresses='' -c max_connections=200"
        if not durable:
            opts += " -c fsync=off"
        done = self._pg_ctl("-o", opts, "-w", "-l", str(self.workdir / "log"), "start")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.decode()}")
        for _ in range(100):
            if subprocess.run([str(self.bin_dir / "pg_isready"), "-h", str(self.workdir)],
                              capture_output=True).returncode == 0:
                return
            time.sleep(0.1)

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: like a crash (no checkpoint, every connection cut); ``fast``: a clean shutdown."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throw-away PostgreSQL cluster on a unix socket; yields a base URL, or None if not installed.

    ``HALL_TEST_POSTGRES_URL`` points at an existing server instead.
    """
    given = os.environ.get("HALL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    cluster = PostgresCluster.create()
    if cluster is None:
        yield None
        return
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.remove()


def fresh_postgres_database(base_url: str) -> str:
    """Create a new empty database on the server and return its URL."""
    import psycopg

    name = "hall_" + uuid.uuid4().hex[:12]
    conninfo = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.replace("/postgres?", f"/{name}?")


# --- Redis ---------------------------------------------------------------------------------------

class RedisServer:
    """A throw-away Redis server on a loopback port, nothing saved to disk, which a test may stop and start again
    on the same port (a Redis restart)."""

    def __init__(self, binary: str) -> None:
        import socket

        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls) -> RedisServer | None:
        """A new server (not yet started), or None if ``redis-server`` is not installed."""
        binary = shutil.which("redis-server")
        return None if binary is None else cls(binary)

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@contextmanager
def redis_server() -> Iterator[str | None]:
    """A throw-away Redis server on a free loopback port, nothing saved to disk; yields its URL, or None if
    ``redis-server`` is not installed. ``HALL_TEST_REDIS_URL`` points at an existing server instead."""
    given = os.environ.get("HALL_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = RedisServer.create()
    if server is None:
        yield None
        return
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
