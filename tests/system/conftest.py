"""Fixtures shared by the system tests: a throw-away Redis server (real, never mocked)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import IN_CI, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        if url is None:
            if IN_CI:
                pytest.fail("redis-server is not installed; CI must test scaling out (apt-get install redis-server)")
            pytest.skip("redis-server is not installed")
        yield url
