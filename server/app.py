"""The application factory: wires configuration, database, service layer, API and Socket.IO."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, render_template
from flask_socketio import SocketIO

from server.config import HallConfig
from server.persistence.database import make_engine, make_readonly_engine, migrate
from server.realtime import SocketIOPublisher
from server.services.hall import Clock, HallService, utc_now
from server.services.unit_of_work import Publisher, UnitOfWork


def create_app(config: HallConfig, *, clock: Clock = utc_now, publisher: Publisher | None = None,
               run_migrations: bool = True) -> tuple[Flask, SocketIO]:
    """Build the Flask app and its Socket.IO server for one configuration."""
    app = Flask(__name__, template_folder="templates", static_folder="../static", static_url_path="/static")
    app.config.update(
        SECRET_KEY=config.server.secret_key,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    socketio = SocketIO(app, message_queue=config.server.redis_url, async_mode=None, cors_allowed_origins=[])

    if run_migrations:
        migrate(config.server.database_url)
    engine = make_engine(config.server.database_url, sqlite_synchronous=config.server.sqlite_synchronous)
    uow = UnitOfWork(engine, make_readonly_engine(config.server.database_url), publisher or SocketIOPublisher(socketio))
    hall = HallService(config, uow, clock=clock)
    hall.ensure_branches()
    hall.purge_idempotency_records()
    app.extensions["hall"] = hall
    app.extensions["hall_socketio"] = socketio
    app.extensions["hall_pages"] = lambda branch_code: [
        ("Live snapshot 快照", f"/api/branches/{branch_code}/snapshot"),
    ]

    from server.api.routes import api, register_error_handlers

    app.register_blueprint(api)
    register_error_handlers(app)

    @app.get("/")
    def index() -> Any:
        return render_template("index.html", config=config)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app, socketio
