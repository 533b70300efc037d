"""The set-ups a benchmark compares, each started for real on this machine.

* ``sqlite``: one server process on a SQLite file (the embedded default: WAL, ``synchronous=FULL``);
* ``postgres``: one process on a throw-away PostgreSQL cluster;
* ``postgres-redis-2``: two processes on one PostgreSQL database, Redis between them (the scaled-out set-up).

A set-up may hold a network instead of the one demo branch (``branches``): the demo branch and copies of it
(:func:`network_config`, also what ``benchmarks/network_scale.py`` builds), each with its own staff accounts.

PostgreSQL runs with ``fsync`` on, as in production: a benchmark of a database that does not sync would flatter it
against SQLite, which does. The clusters and Redis are the tests' throw-away ones (:mod:`tests.support`): nothing is
installed, nothing outlives the run.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.launcher import ServerProcess, write_config
from tests.support import PostgresCluster, RedisServer, fresh_postgres_database

DEMO_BRANCH = "SZ-FUTIAN"
STAFF_PASSWORD = "bench-staff"  # the password of the accounts network_config adds

SYSTEMS = ("sqlite", "postgres", "postgres-redis-2")
DESCRIPTIONS = {
    "sqlite": "1 process, SQLite (WAL, synchronous=FULL)",
    "postgres": "1 process, PostgreSQL (fsync on)",
    "postgres-redis-2": "2 processes, PostgreSQL (fsync on) + Redis",
}


@dataclass
class RunningSystem:
    """A started set-up: the base URL of each server process (a load balancer would spread clients over them)."""

    name: str
    servers: list[ServerProcess] = field(default_factory=list)
    helpers: dict[str, Callable[[], list[int]]] = field(default_factory=dict)  # "postgres"/"redis": their pids now
    redis_url: str = ""  # the scaled-out set-up's Redis (a benchmark may read its command statistics)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.name, self.name)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (PostgreSQL's postmaster and its backends), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    found, unvisited = [], [pid]
    while unvisited:
        current = unvisited.pop()
        found.append(current)
        unvisited.extend(children.get(current, []))
    return found


def postmaster_pid(data: Path) -> int | None:
    """The cluster's postmaster: the process started with ``-D data``."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(data).encode() in command and os.path.basename(command[0]) == b"postgres":
                return int(entry.name)
    return None


def branch_codes(count: int) -> list[str]:
    """The demo branch first, then ``count - 1`` copies (``BR-001``…)."""
    return [DEMO_BRANCH, *(f"BR-{n:03d}" for n in range(1, count))]


def staff_names(branches: int, counters: int) -> list[str]:
    """The accounts :func:`network_config` adds: ``counters`` per branch, branch by branch."""
    return [f"bench.{b}.{c}" for b in range(branches) for c in range(counters)]


def with_branch_copies(text: str, branches: int, counters: int) -> str:
    """A configuration text with ``branches - 1`` copies of its (demo) branch and ``counters`` staff accounts per
    branch (password :data:`STAFF_PASSWORD`, a cheap hash: hundreds of sign-ins at the demo's would be minutes of
    CPU)."""
    from werkzeug.security import generate_password_hash

    start, end = text.index("[[branches]]\n"), text.index("[[staff]]\n")
    end = text.rindex("\n#", start, end) + 1 if "\n#" in text[start:end] else end
    block = text[start:end]
    copies = []
    for code in branch_codes(branches)[1:]:
        copy = re.sub(rf'^code = "{DEMO_BRANCH}"', f'code = "{code}"', block, count=1, flags=re.M)
        copies.append(re.sub(r'^name = \{.*\}$', f'name = {{ "zh-CN" = "网点 {code}", en = "Branch {code}" }}', copy,
                             count=1, flags=re.M))
    cheap = generate_password_hash(STAFF_PASSWORD, method="pbkdf2:sha256:1000")
    staff = "".join(f'\n[[staff]]\nusername = "{name}"\ndisplay_name = "{name}"\npassword_hash = "{cheap}"\n'
                    for name in staff_names(branches, counters))
    return text[:end] + "".join(copies) + text[end:] + staff


def network_config(directory: Path, database_url: str, redis_url: str, branches: int, counters: int) -> Path:
    """The demo configuration (:func:`server.launcher.write_config`) with :func:`with_branch_copies`."""
    path = write_config(directory, database_url, redis_url=redis_url)
    path.write_text(with_branch_copies(path.read_text(encoding="utf-8"), branches, counters), encoding="utf-8")
    return path


def without_daily_caps(text: str) -> str:
    """The demo hall's daily caps would turn a throughput run into a run of refusals."""
    return re.sub(r"^\s*daily_cap = \d+\n", "", text, flags=re.M)


@contextmanager
def running_system(name: str, tweak: Callable[[str], str] = without_daily_caps, *, branches: int = 1,
                   counters: int = 8) -> Iterator[RunningSystem]:
    """Start the set-up ``name`` (one of :data:`SYSTEMS`) on the demo hall, open all day, with ``tweak`` applied to
    its configuration text; with ``branches`` > 1, the demo branch and copies of it, ``counters`` staff accounts
    each (:func:`with_branch_copies`). Stop everything it started on leaving."""
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r}; one of {', '.join(SYSTEMS)}")
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    system = RunningSystem(name)
    with ExitStack() as stack:
        if name == "sqlite":
            database_url, redis_url = f"sqlite:///{workdir / 'hall.sqlite3'}", ""
        else:
            cluster = PostgresCluster.create()
            if cluster is None:
                raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
            cluster.start(durable=True)
            stack.callback(cluster.remove)
            postmaster = postmaster_pid(cluster.data)
            system.helpers["postgres"] = lambda: [] if postmaster is None else process_tree(postmaster)
            database_url, redis_url = fresh_postgres_database(cluster.url), ""
            if name == "postgres-redis-2":
                redis = RedisServer.create()
                if redis is None:
                    raise RuntimeError("Redis is not installed (apt-get install redis-server)")
                redis.start()
                stack.callback(redis.stop)
                redis_pid = redis.process.pid
                system.helpers["redis"] = lambda: [redis_pid]
                redis_url = system.redis_url = redis.url
        config = (write_config(workdir, database_url, redis_url=redis_url) if branches <= 1
                  else network_config(workdir, database_url, redis_url, branches, counters))
        config.write_text(tweak(config.read_text(encoding="utf-8")), encoding="utf-8")
        for _ in range(2 if name == "postgres-redis-2" else 1):
            server = ServerProcess(config).start(timeout=300)  # one after the other: the first migrates the database
            stack.callback(server.stop)
            system.servers.append(server)
        yield system
