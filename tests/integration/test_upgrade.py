"""Upgrading from the previous release: its database (schema at revision 0011, the hall set-up read from its demo
config.toml) migrates to the head when this release's server starts, keeps every row it had, and the hall looks
the same afterwards, on SQLite and PostgreSQL.

``release_0011/`` holds what that release made (``record.py`` says how it was recorded from its code): its
``config.toml``, every row of its database after a day and a half of a hall (``rows.json``: tickets in every state,
their events, ratings, follow-ups, counter sessions, day summaries, an issue stop...), and its answers about the
hall at one moment (``answers.json``). The rows are inserted into a schema migrated to 0011 with SQL; this
release's server then starts on that database with the same clock.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, func, insert, select, text

from server.app import create_app
from server.config import HALL_SECTIONS, load_config
from server.domain.reports import Group, Section
from server.domain.tickets import Action
from server.persistence.database import alembic_config
from server.services.actor import Actor
from tests.conftest import RecordingPublisher
from tests.support import FakeClock

RELEASE = Path(__file__).parent / "release_0011"
BRANCH = "SZ-FUTIAN"
NOW = datetime(2026, 11, 24, 2, 40, tzinfo=UTC)  # when the release answered (record.py)
KEPT = ("ticket", "ticket_event", "rating", "follow_up")  # above all; every other table of the release is kept too
KEPT_BY_TRIGGERS = ("queue_tally",)  # the database's triggers write it from the tickets (migration 0006)


def decoded(value: Any) -> Any:
    """A value of rows.json as the database takes it (record.py tags dates and times)."""
    if isinstance(value, dict) and len(value) == 1:
        (tag, text_value), = value.items()
        kind = {"datetime": datetime, "date": date, "time": time}.get(tag)
        if kind is not None:
            return kind.fromisoformat(text_value)
    return value


def release_rows() -> dict[str, list[dict[str, Any]]]:
    rows = json.loads((RELEASE / "rows.json").read_text(encoding="utf-8"))
    return {name: [{k: decoded(v) for k, v in row.items()} for row in table] for name, table in rows.items()}


def build_the_release_database(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """The schema at 0011 with the release's rows inserted; the rows as the database gives them back."""
    command.upgrade(alembic_config(database_url), "0011")
    engine = create_engine(database_url)
    metadata = MetaData()
    metadata.reflect(engine)
    rows = release_rows()
    assert set(rows) == {t.name for t in metadata.sorted_tables} - {"alembic_version"}
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if rows.get(table.name) and table.name not in KEPT_BY_TRIGGERS:
                connection.execute(insert(table), rows[table.name])
        for name in KEPT_BY_TRIGGERS:  # the triggers agree with the release; its rows (zeros too) stay as they were
            made = connection.execute(select(metadata.tables[name])).all()
            assert {tuple(r) for r in made} == {tuple(r.values()) for r in rows[name] if r["waiting"]}, name
            connection.execute(metadata.tables[name].delete())
            connection.execute(insert(metadata.tables[name]), rows[name])
        if engine.dialect.name == "postgresql":  # as the release's own inserts would have left the sequences
            for table in metadata.sorted_tables:
                if "id" in table.columns and rows.get(table.name) and table.columns["id"].autoincrement:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                            f"{max(r['id'] for r in rows[table.name])})"))
    before = every_row(engine, tuple(rows))
    engine.dispose()
    for name, table in rows.items():
        assert before[name] == table, name  # what went in comes out: the comparison after the upgrade means something
    return before


def every_row(engine: Engine, names: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    """Every row of these tables (the columns they had at 0011), by primary key."""
    metadata = MetaData()
    metadata.reflect(engine, only=names)
    with engine.connect() as connection:
        return {name: [dict(row._mapping) for row in connection.execute(
            select(metadata.tables[name]).order_by(*metadata.tables[name].primary_key.columns))]
            for name in names}


def like_before(before: Any, after: Any, path: str = "") -> list[str]:
    """Where ``after`` differs from ``before``, apart from keys that are new in ``after``."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [problem for key, value in before.items()
                for problem in ([f"{path}.{key}: gone"] if key not in after
                                else like_before(value, after[key], f"{path}.{key}"))]
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{path}: {len(before)} items before, {len(after)} after"]
        return [problem for index, (b, a) in enumerate(zip(before, after, strict=True))
                for problem in like_before(b, a, f"{path}[{index}]")]
    return [] if before == after else [f"{path}: {before!r} before, {after!r} after"]


def test_like_before_allows_new_keys_only() -> None:
    assert like_before({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2, "new": 3}], "c": 4}) == []
    assert like_before({"a": [1, {"b": 2}]}, {"a": [1, {"b": 5}]}) == [".a[1].b: 2 before, 5 after"]
    assert like_before({"a": 1, "b": [1]}, {"b": [1, 2]}) == [".a: gone", ".b: 1 items before, 2 after"]


def test_a_database_of_the_previous_release_is_upgraded_with_every_row_and_the_same_hall(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    before = build_the_release_database(database_url)
    assert {name: len(before[name]) for name in KEPT} == {"ticket": 17, "ticket_event": 57, "rating": 3,
                                                          "follow_up": 2}
    assert {t["state"] for t in before["ticket"]} == {"done", "no_show", "expired", "parked", "serving", "called",
                                                      "waiting", "cancelled"}

    def adjust(data: dict[str, Any]) -> None:
        data["server"]["database_url"] = database_url
        data["server"]["secret_key_file"] = str(tmp_path / "secret_key")

    config = load_config(RELEASE / "config.toml", overrides=adjust)  # the operator's config.toml, as it was
    clock = FakeClock(NOW)
    app, _socketio = create_app(config, clock=clock, publisher=RecordingPublisher())
    hall = app.extensions["hall"]
    engine = hall.uow.engine
    try:
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
            revision, seeded_from = connection.execute(
                text("SELECT revision, seeded_from FROM hall_revision")).one()
            pieces = connection.execute(select(func.count()).select_from(text("hall_item"))).scalar()
        after = every_row(engine, tuple(before))
        for name in before:  # row by row, every column the release had (later migrations may add columns)
            kept = [{column: row[column] for column in old} for row, old in zip(after[name], before[name], strict=True)]
            assert kept == before[name], f"{name} changed in the upgrade"

        # the hall set-up was seeded from config.toml, and the model served is the one the release read from it
        assert (revision, seeded_from) == (1, str(RELEASE / "config.toml"))
        assert pieces > 20
        release_hall = tomllib.loads((RELEASE / "config.toml").read_text(encoding="utf-8"))
        served = hall.config
        assert served.branches == config.branches and served.staff == config.staff
        exported = tomllib.loads(app.extensions["hall_store"].export_toml())
        assert set(exported) <= set(HALL_SECTIONS) and [b["code"] for b in exported["branches"]] == [
            b["code"] for b in release_hall["branches"]]

        # the hall looks as it did: the same answers, apart from fields that are new
        answers = json.loads((RELEASE / "answers.json").read_text(encoding="utf-8"))
        client = app.test_client()
        branches = client.get("/api/branches")
        snapshot = client.get(f"/api/branches/{BRANCH}/snapshot")
        assert (branches.status_code, snapshot.status_code) == (200, 200)
        assert like_before(answers["branches"], branches.get_json()) == []
        assert like_before(answers["snapshot"], snapshot.get_json()) == []

        # and the hall goes on where it was: the next number of the day, the queue as it stood
        clock.advance(minutes=1)
        issued = hall.tickets.issue(BRANCH, "BILL")
        assert issued["number"] == "A006" and issued["id"] == 18
        wang = Actor("wang.fang", "staff")
        hall.counters.sign_in(BRANCH, "3", wang, takeover=True)
        called = hall.counters.call_next(BRANCH, "3", wang)["ticket"]
        assert called["number"] == "B002"  # counter 3 serves PLAN first
        hall.tickets.act(BRANCH, called["id"], Action.START, wang)

        # the reports: the day the release closed is filled by a rebuild, and the day that closes next reads the
        # release's events (its customer's cancel is a walk-out; the unknown estimates it gave count nowhere)
        branches = [hall.branch(BRANCH)]
        assert hall.days.rebuild_reports(BRANCH) == 1
        period = hall.reports.period(branches, date(2026, 11, 23), date(2026, 11, 24))

        def volumes() -> dict[str, dict[str, Any]]:
            answer = hall.reports.report(branches, period, Group.DAY, [Section.VOLUMES, Section.ACCURACY])
            return {row["day"]: row for row in answer["sections"]["volumes"]} | {
                f"accuracy {row['day']}": row for row in answer["sections"]["accuracy"]}

        closed = volumes()
        assert {k: closed["2026-11-23"][k] for k in ("issued", "expired", "walked_out")} == {
            "issued": 6, "expired": 3, "walked_out": 0}
        assert closed["accuracy 2026-11-23"]["estimated"] == 0
        clock.now = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # midnight in Shenzhen
        hall.days.end_due(BRANCH)
        ended = volumes()
        assert {k: ended["2026-11-24"][k] for k in ("issued", "walked_out", "cancelled")} == {
            "issued": 12, "walked_out": 1, "cancelled": 0}
    finally:
        engine.dispose()
        if hall.uow.read_engine is not None:
            hall.uow.read_engine.dispose()
