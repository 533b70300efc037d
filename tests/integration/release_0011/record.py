"""Record what the previous release (schema at revision 0011, the hall set-up read from config.toml) leaves in its
database and answers about its hall, for tests/integration/test_upgrade.py. Run it with that release's code first
on the path (it imports ``server`` from there), from the project's checkout:

    mkdir -p /tmp/release-0011 && git archive e5533e6 | tar -x -C /tmp/release-0011
    cp /tmp/release-0011/config.toml tests/integration/release_0011/config.toml
    PYTHONPATH=/tmp/release-0011 .venv/bin/python tests/integration/release_0011/record.py \
        tests/integration/release_0011

The release's own server builds a day and a half of a hall through its service layer, each command at its own
moment of a fixed clock: yesterday's tickets (served, rated, a no-show, leftovers that expired when the day ended,
a follow-up resolved) and this morning's (done and rated with a follow-up left open, serving, called, parked,
transferred, cancelled, VIP and priority, waiting), an issue stop. Then ``rows.json`` gets every row of every
table, and a server of that release started afresh on the database answers ``GET /api/branches`` and the
branch's snapshot at the same moment (``answers.json``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select, text

BRANCH = "SZ-FUTIAN"
YESTERDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
NOW = datetime(2026, 11, 24, 2, 40, tzinfo=UTC)  # Tuesday 10:40: when both releases answer


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Publisher:
    def publish(self, branch_code: str, events: list[dict[str, Any]]) -> None:
        return None


def encoded(value: Any) -> Any:
    """A column's value as JSON: dates and times tagged, so that they are inserted as such again."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, time):
        return {"time": value.isoformat()}
    return value


def build_the_hall(hall: Any, ratings: Any, clock: Clock) -> None:
    from server.domain.tickets import Action, PriorityClass
    from server.services.actor import Actor

    zhang, li, wang = Actor("zhang.wei", "staff"), Actor("li.na", "staff"), Actor("wang.fang", "staff")
    manager = Actor("manager", "manager")

    def step(minutes: float = 1) -> None:
        clock.advance(minutes=minutes)

    tokens: dict[int, str] = {}

    def issue(service: str, **kwargs: Any) -> dict[str, Any]:
        step(0.5)
        ticket = hall.tickets.issue(BRANCH, service, **kwargs)
        tokens[ticket["id"]] = ticket["token"]
        return ticket

    def call(counter: str, actor: Actor) -> int:
        step()
        return hall.counters.call_next(BRANCH, counter, actor)["ticket"]["id"]

    def act(ticket_id: int, action: Action, actor: Actor) -> None:
        step(2)
        hall.tickets.act(BRANCH, ticket_id, action, actor)

    # yesterday
    hall.counters.sign_in(BRANCH, "1", zhang)
    hall.counters.sign_in(BRANCH, "2", li)
    issue("BILL", idempotency_key="kiosk-1-0001", device="kiosk-1")
    issue("BILL", channel="mobile", language="en")
    issue("PLAN")
    issue("SIM", idempotency_key="kiosk-1-0002", device="kiosk-1")
    issue("BILL")
    issue("PLAN", language="en")
    first = call("1", zhang)
    act(first, Action.START, zhang)
    act(first, Action.FINISH, zhang)
    ratings.rate_at_counter(BRANCH, "1", first, 3, actor=zhang, reasons=["FRIENDLY", "FAST"])
    missed = call("2", li)
    act(missed, Action.NO_SHOW, li)
    unhappy = call("1", zhang)
    act(unhappy, Action.START, zhang)
    act(unhappy, Action.FINISH, zhang)
    step()
    ratings.rate_at_counter(BRANCH, "1", unhappy, 1, actor=zhang, reasons=["WAIT_LONG"],
                            comment="排队太久 waited too long")
    with hall.uow.engine.connect() as connection:
        follow_up = connection.execute(text("SELECT id FROM follow_up")).scalar_one()
    step(5)
    ratings.assign_follow_up(BRANCH, follow_up, manager, "zhang.wei")
    step(30)
    ratings.resolve_follow_up(BRANCH, follow_up, manager, "called back, apologised")
    hall.counters.pause(BRANCH, "2", li, "break")
    # the rest waits until the day ends, which expires them and signs the counters out

    clock.now = YESTERDAY + timedelta(days=1)
    hall.days.end_due(BRANCH)
    hall.counters.sign_in(BRANCH, "1", zhang)
    hall.counters.sign_in(BRANCH, "2", li)
    hall.counters.sign_in(BRANCH, "3", wang)
    for n in range(5):
        issue("BILL", idempotency_key=f"kiosk-2-{n:04d}", device="kiosk-2")
    plan = [issue("PLAN", channel="mobile", language="en") for _ in range(3)]
    issue("BROADBAND")
    issue("SIM", priority=PriorityClass.PRIORITY)
    issue("VIP", priority=PriorityClass.VIP, actor=manager, channel="staff")
    done = call("1", zhang)
    act(done, Action.START, zhang)
    act(done, Action.FINISH, zhang)
    step()
    ratings.rate_by_token(tokens[done], 1, reasons=["SLOW"], comment="too slow")  # its follow-up stays open
    parked = call("2", li)
    act(parked, Action.START, li)
    act(parked, Action.PARK, li)
    moved = call("3", wang)
    step()
    hall.tickets.transfer(BRANCH, moved, wang, to_service="BROADBAND", note="needs broadband, not a plan")
    serving = call("2", li)
    act(serving, Action.START, li)
    call("1", zhang)  # called, not yet at the counter
    step()
    hall.tickets.cancel_by_customer(plan[-1]["token"])
    step()
    hall.issuing.stop(BRANCH, manager, service="DEVICE", reason="maintenance")
    assert clock.now < NOW


def main(out: Path) -> None:
    os.environ.pop("HALL_DATABASE_URL", None)
    from server.app import create_app
    from server.config import load_config
    from server.services.ratings import RatingService

    work = Path(tempfile.mkdtemp(prefix="release-0011-"))
    database_url = f"sqlite:///{work / 'hall.sqlite3'}"

    def adjust(data: dict[str, Any]) -> None:
        data["server"]["database_url"] = database_url
        data["server"]["secret_key_file"] = str(work / "secret_key")

    config = load_config(out / "config.toml", overrides=adjust)
    clock = Clock(YESTERDAY)
    app, _ = create_app(config, clock=clock, publisher=Publisher())
    hall = app.extensions["hall"]
    build_the_hall(hall, RatingService(config, hall.uow, clock=clock), clock)
    hall.uow.engine.dispose()

    clock.now = NOW  # the release started again, answering at one moment
    app, _ = create_app(config, clock=clock, publisher=Publisher())
    client = app.test_client()
    answers = {"branches": client.get("/api/branches").get_json(),
               "snapshot": client.get(f"/api/branches/{BRANCH}/snapshot").get_json()}
    app.extensions["hall"].uow.engine.dispose()

    engine = create_engine(database_url)
    metadata = MetaData()
    metadata.reflect(engine)
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0011"
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            ordered = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [{k: encoded(v) for k, v in row._mapping.items()}
                                for row in connection.execute(ordered)]
    engine.dispose()
    (out / "rows.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "answers.json").write_text(json.dumps(answers, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print({name: len(table_rows) for name, table_rows in rows.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
