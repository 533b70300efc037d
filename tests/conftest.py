"""Fixtures: the service layer on a real database (SQLite file, and PostgreSQL when installed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.persistence.database import make_engine, make_readonly_engine, migrate
from server.services.hall import HallService
from server.services.unit_of_work import UnitOfWork
from tests.support import IN_CI, FakeClock, demo_config, fresh_postgres_database, postgres_server


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        self.events.extend(events)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str | None]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hall.sqlite3'}"
    base = request.getfixturevalue("postgres_base_url")
    if base is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test on it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    return fresh_postgres_database(base)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


def build_service(database_url: str, tmp_path: Path, clock: FakeClock, publisher: Any, *,
                  more: Callable[[dict[str, Any]], None] | None = None, **queue: Any) -> HallService:
    config = demo_config(database_url, tmp_path, more=more, **queue)
    migrate(config.server.database_url)
    engine = make_engine(config.server.database_url, sqlite_synchronous="normal")
    uow = UnitOfWork(engine, make_readonly_engine(config.server.database_url), publisher)
    service = HallService(config, uow, clock=clock)
    service.ensure_branches()
    return service


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> HallService:
    return build_service(database_url, tmp_path, clock, publisher)
