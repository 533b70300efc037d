"""``python -m server hall export|import``: the hall set-up (branches, services, counters, accounts, rating and
announcement settings) out of the database as TOML, and a TOML file's set-up into it, validated whole first.

A running server serves an import within a second (it compares the model's revision twice a second).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import tomllib
from pathlib import Path

from server.config import ConfigError, load_config
from server.persistence.database import make_engine, make_readonly_engine, migrate
from server.services.actor import Actor, utc_now
from server.services.audit import AuditLog
from server.services.hall_store import HallStore
from server.services.unit_of_work import UnitOfWork


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m server hall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.toml", help="configuration file (default: config.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the database's hall set-up as TOML")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    imported = commands.add_parser("import", help="replace the database's hall set-up with a TOML file's")
    imported.add_argument("file", help="a TOML file with the hall sections (an export, or a config.toml)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    migrate(config.server.database_url)
    uow = UnitOfWork(make_engine(config.server.database_url, sqlite_synchronous=config.server.sqlite_synchronous),
                     make_readonly_engine(config.server.database_url))
    store = HallStore(uow, utc_now, AuditLog(config, uow, utc_now))
    store.open(config)
    if args.command == "export":
        text = store.export_toml()
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    try:
        data = tomllib.loads(Path(args.file).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        print(f"{args.file}: not valid TOML: {exc}", file=sys.stderr)
        return 2
    actor = Actor(username=f"cli:{getpass.getuser()}"[:64], role="system", device="command line")
    try:
        result = store.import_document(actor, data)
    except ConfigError as exc:
        print(f"{args.file}: {exc} (nothing was changed)", file=sys.stderr)
        return 2
    print(f"hall set-up revision {result.revision}: {result.added} added, {result.changed} changed, "
          f"{result.retired} retired" + (f" (branches {', '.join(result.branches)})" if result.branches else ""))
    return 0
