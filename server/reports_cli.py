"""``python -m server reports rebuild [--from DAY] [--to DAY] [--branch CODE]``: fill the reports' figures of days
that closed before the figures existed (or again after a fix), from their tickets, one day per transaction. Safe
while the server runs: each day's figures are replaced whole."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from server.config import ConfigError, load_config
from server.persistence.database import make_engine, make_readonly_engine, migrate
from server.services.actor import utc_now
from server.services.audit import AuditLog
from server.services.hall import HallService
from server.services.hall_store import HallStore
from server.services.unit_of_work import UnitOfWork


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a day written YYYY-MM-DD, got {text!r}") from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m server reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.toml", help="configuration file (default: config.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild = commands.add_parser("rebuild", help="fill the figures of closed days from their tickets")
    rebuild.add_argument("--from", dest="first", type=_day, help="first day, YYYY-MM-DD (default: the first closed)")
    rebuild.add_argument("--to", dest="last", type=_day, help="last day, included (default: the last closed)")
    rebuild.add_argument("--branch", action="append", help="only this branch (repeatable; default: every branch)")
    args = parser.parse_args(argv)
    if args.first and args.last and args.first > args.last:
        parser.error("--from is after --to")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    migrate(config.server.database_url)
    uow = UnitOfWork(make_engine(config.server.database_url, sqlite_synchronous=config.server.sqlite_synchronous),
                     make_readonly_engine(config.server.database_url))
    model = HallStore(uow, utc_now, AuditLog(config, uow, utc_now)).open(config)
    hall = HallService(model, uow)
    codes = [b.code for b in hall.config.branches]
    for code in args.branch or []:
        if code not in codes:
            parser.error(f"--branch names no branch of this hall: {code!r}")
    total = 0
    for code in args.branch or codes:
        done = hall.days.rebuild_reports(code, args.first, args.last)
        total += done
        print(f"{code}: {done} days")
    print(f"figures rebuilt for {total} closed days")
    return 0
