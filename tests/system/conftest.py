"""Fixtures shared by the system tests: a throw-away Redis server (real, never mocked), and two server processes of
one hall on one PostgreSQL and that Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.launcher import ServerProcess, write_config
from tests.support import IN_CI, PostgresCluster, RedisServer, fresh_postgres_database, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            if IN_CI:
                pytest.fail("redis-server is not installed; CI must test scaling out (apt-get install redis-server)")
            pytest.skip("redis-server is not installed")
        yield url


@pytest.fixture
def processes(tmp_path: Path, postgres_base_url: str | None, redis_url: str) -> Iterator[tuple[ServerProcess, ...]]:
    """Two server processes of one hall; the second starts once the first has migrated and made the secret key."""
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test scaling out on it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    config = write_config(tmp_path, fresh_postgres_database(postgres_base_url), redis_url=redis_url)
    with ServerProcess(config) as first, ServerProcess(config) as second:
        yield first, second


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of this test's own, which it may stop and start again on the same port."""
    server = RedisServer.create()
    if server is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI must test Redis restarts (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test's own, which it may stop and start again (the other tests' shared cluster
    is left alone)."""
    cluster = PostgresCluster.create()
    if cluster is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test database restarts (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()
