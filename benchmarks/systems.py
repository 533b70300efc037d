"""The set-ups a benchmark compares, each started for real on this machine.

* ``sqlite``: one server process on a SQLite file (the embedded default: WAL, ``synchronous=FULL``);
* ``postgres``: one process on a throw-away PostgreSQL cluster;
* ``postgres-redis-2``: two processes on one PostgreSQL database, Redis between them (the scaled-out set-up).

PostgreSQL runs with ``fsync`` on, as in production: a benchmark of a database that does not sync would flatter it
against SQLite, which does. The clusters and Redis are the tests' throw-away ones (:mod:`tests.support`): nothing is
installed, nothing outlives the run.
"""

from __future__ import annotations

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

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.name, self.name)


def without_daily_caps(text: str) -> str:
    """The demo hall's daily caps would turn a throughput run into a run of refusals."""
    return re.sub(r"^\s*daily_cap = \d+\n", "", text, flags=re.M)


@contextmanager
def running_system(name: str, tweak: Callable[[str], str] = without_daily_caps) -> Iterator[RunningSystem]:
    """Start the set-up ``name`` (one of :data:`SYSTEMS`) on the demo hall, open all day, with ``tweak`` applied to
    its configuration text; stop everything it started on leaving."""
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
            database_url, redis_url = fresh_postgres_database(cluster.url), ""
            if name == "postgres-redis-2":
                redis = RedisServer.create()
                if redis is None:
                    raise RuntimeError("Redis is not installed (apt-get install redis-server)")
                redis.start()
                stack.callback(redis.stop)
                redis_url = redis.url
        config = write_config(workdir, database_url, redis_url=redis_url)
        config.write_text(tweak(config.read_text(encoding="utf-8")), encoding="utf-8")
        for _ in range(2 if name == "postgres-redis-2" else 1):
            server = ServerProcess(config).start()  # one after the other: the first migrates the database
            stack.callback(server.stop)
            system.servers.append(server)
        yield system
