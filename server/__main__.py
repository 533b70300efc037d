"""``python -m server``: start the hall server (eventlet, one process) on a configuration file."""

import eventlet

eventlet.monkey_patch()

from server.green_db import install as green_postgresql_waits  # noqa: E402

green_postgresql_waits()  # a query waiting for PostgreSQL holds up its own request only (server/green_db.py)

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import unicodedata  # noqa: E402

from server.config import ConfigError, load_config  # noqa: E402

MAX_CONNECTIONS = 10_000  # green threads, one per connected screen or request


def _pad(label: str, width: int) -> str:
    """Pad to a width in terminal columns: Chinese characters take two."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(width - columns, 1)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["hall"]:  # python -m server hall export|import: the hall set-up in and out of the database
        from server.hall_cli import main as hall_main

        return hall_main(argv[1:])
    if argv[:1] == ["reports"]:  # python -m server reports rebuild: the reports' figures of days already closed
        from server.reports_cli import main as reports_main

        return reports_main(argv[1:])
    if argv[:1] == ["migrate"]:  # python -m server migrate: the schema to this release's newest, then exit
        from server.migrate_cli import main as migrate_main

        return migrate_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m server", description="Run the hall queue server "
                                     "(`python -m server hall -h`: export or import the hall set-up; "
                                     "`python -m server reports -h`: rebuild the reports' figures; "
                                     "`python -m server migrate`: migrate the database and exit).")
    parser.add_argument("--config", default="config.toml", help="configuration file (default: config.toml)")
    parser.add_argument("--host", help="override server.host")
    parser.add_argument("--port", type=int, help="override server.port (0 picks a free port)")
    parser.add_argument("--quiet", action="store_true", help="no per-request access log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin at every start
    from server.web import mask_tokens_in_access_log

    mask_tokens_in_access_log()

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2

    from server.app import create_app
    from server.persistence.database import DatabaseFileError, database_label, failure_kind, failure_reason
    from server.services.unit_of_work import DatabaseUnavailable

    try:
        app, _socketio = create_app(config)
    except DatabaseFileError as exc:  # one line naming the file, no traceback: the operator knows what to do
        print(f"database error: {exc}", file=sys.stderr)
        return 3
    except DatabaseUnavailable as exc:
        print(f"database error: {database_label(config.server.database_url)}: {exc.message} "
              f"({exc.details['reason']})", file=sys.stderr)
        return 3
    except Exception as exc:
        if failure_kind(exc) is None:
            raise
        print(f"database error: {database_label(config.server.database_url)}: {failure_reason(exc)}",
              file=sys.stderr)
        return 3
    app.extensions["hall_live_loop"].start()
    app.extensions["notifier_loop"].start()
    app.extensions["hall_heap"].start()
    socketio = app.extensions["hall_socketio"]
    app.extensions["metrics"].watch_event_loop(socketio.start_background_task, socketio.sleep)
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    from server.serving import listen, serve

    listener = listen(host, port)
    port = listener.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base = f"http://{shown}:{port}"
    print(f"Hall queue server listening on {base}  (database: {config.server.database_url})", flush=True)
    for branch in app.extensions["hall"].config.branches:  # the database's model (config.toml seeds a new one)
        print(f"  {branch.name.zh} · {branch.name.en} [{branch.code}]", flush=True)
        for label, path in app.extensions["hall_pages"](branch.code):
            print(f"    {_pad(label, 27)} {base}{path}", flush=True)
    print(f"  {_pad('API (OpenAPI)', 29)} {base}/api/openapi.json", flush=True)
    unreachable = app.extensions["public_address"].warn_at_start(port)
    if unreachable:  # the QR codes on tickets would point where no customer's phone can go
        print(unreachable, flush=True)
    print(f"READY {base}", flush=True)
    # every connected screen holds one green thread; eventlet's default pool (1,024) would cap a process there.
    # Header and body deadlines and a cap per client address keep one client from taking them all (serving.py).
    serve(listener, app, config.limits, max_connections=MAX_CONNECTIONS, log_output=not args.quiet,
          access_log=logging.getLogger("access"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
