"""``python -m server migrate``: bring the database's schema to this release's newest migration, then exit.

A server process does the same at every start; running it once on its own first is the first step of an upgrade
(docs/deploy.md): the schema changes before any process of the new release serves, while the old ones still run.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import create_engine, text

from server.config import ConfigError, load_config
from server.persistence.database import (
    DatabaseFileError,
    check_database_file,
    database_label,
    failure_kind,
    failure_reason,
    migrate,
)


def schema_revision(url: str) -> str | None:
    """The database's schema revision (``alembic_version``), None before the first migration."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m server migrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.toml", help="configuration file (default: config.toml)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    url = config.server.database_url
    try:
        check_database_file(url)
        migrate(url)
        revision = schema_revision(url)
    except DatabaseFileError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        if failure_kind(exc) is None:
            raise
        print(f"database error: {database_label(url)}: {failure_reason(exc)}", file=sys.stderr)
        return 3
    print(f"schema at revision {revision} ({database_label(url)})", flush=True)
    return 0
