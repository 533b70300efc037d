"""The application factory: wires configuration, database, service layer, API and Socket.IO."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, render_template
from flask.sessions import SessionInterface, SessionMixin
from flask_socketio import SocketIO
from werkzeug.middleware.proxy_fix import ProxyFix

from server.fanout import DirectFanout, capture_websockets
from server.headers import SecurityHeaders
from server.live_redis import RedisLeaseStore, RedisLiveShare, process_id
from server.live_redis import client as redis_client
from server.message_queue import HallRedisManager
from server.metrics import CONTENT_TYPE, HallMetrics, RequestTimer, socket_client_count
from server.offload import event_loop_thread, eventlet_serves, offload_cpu
from server.overview_sockets import register_overview_handlers
from server.persistence.database import check_database_file, make_engine, make_readonly_engine, migrate
from server.realtime import (
    HeapKeeper,
    SocketIOPublisher,
    WithoutWebSocketCompression,
    drop_clients_that_fall_behind,
    register_socket_handlers,
    use_timerless_socket_queues,
)
from server.services.access import require_metrics_reader
from server.services.accounts import AccountService, warn_of_demo_passwords
from server.services.actor import Clock, utc_now
from server.services.announcements import AnnouncementService
from server.services.api_tokens import ApiTokenService
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.branch_leases import AllBranches, BranchLeases, Leases
from server.services.device_alerts import DeviceAlerts
from server.services.devices import DeviceService
from server.services.follow_ups import FollowUpService
from server.services.hall import HallService
from server.services.hall_store import HallStore
from server.services.limits import AddressLimiter, JoinLimiter, TokenLimiter
from server.services.live import LiveHall
from server.services.live_loop import REFRESH_WORKERS, LiveLoop, PurgeJobs
from server.services.notifications import NotificationService, NotifierLoop
from server.services.overflow import OverflowService
from server.services.overview import Overview, OverviewWatchers
from server.services.printing import PrintingService
from server.services.privacy import PrivacyService
from server.services.public_address import PublicAddressCheck
from server.services.ratings import RatingService
from server.services.sessions import SessionService
from server.services.sign_in_throttle import make_throttle
from server.services.signage import SignageService
from server.services.unit_of_work import Publisher, UnitOfWork
from server.settings import HallConfig
from server.staff_sockets import StaffSockets
from server.web import ChunkedBody, current_actor, refuse_cross_site, socket_origin_check


class NoFlaskSession(SessionInterface):
    """Flask's signed-cookie session is not used: staff sessions live in the database (server/services/sessions.py),
    so that they can be ended. No cookie of Flask's is read or written."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        return None  # Flask then hands out its null session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


class RequestGauge:
    """WSGI middleware counting the HTTP requests in progress (the Socket.IO transport is not wrapped)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.in_flight = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.in_flight += 1
        try:
            return self.app(environ, start_response)
        finally:
            self.in_flight -= 1


class EventletPacing:
    """Requests first: see :class:`server.services.live.Pacing`.

    ``cooperate`` runs on the event loop and lets the ready requests run. ``checkpoint`` runs in the
    estimator's native thread: while requests are in progress it sleeps (releasing the interpreter lock
    to them) in short naps. What it may wait is earned by working: ``yield_ratio`` seconds per second of
    estimator work since the last checkpoint, at most ``max_wait_s`` at a time. So under a flood of
    requests the estimator still gets 1 / (1 + yield_ratio) of the time, however often it checks in, and
    all of it when the hall is quiet.
    """

    def __init__(self, gauge: RequestGauge, *, nap_s: float = 0.0005, max_wait_s: float = 0.02,
                 yield_ratio: float = 4.0, green: bool | None = None,
                 native_sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, hub_thread: int | None = None) -> None:
        self.gauge = gauge
        self._hub_thread = hub_thread  # the event loop's OS thread: a checkpoint there never naps
        self.nap_s, self.max_wait_s, self.yield_ratio = nap_s, max_wait_s, yield_ratio
        self._clock = clock
        self._credit = max_wait_s  # seconds the next checkpoint may wait
        self._resumed_at: float | None = None  # when the estimator last went back to work
        self._green = eventlet_serves()
        self._yield: Callable[[], None] = lambda: None
        self._native_sleep: Callable[[float], None] = time.sleep
        if self._green:
            import eventlet
            import eventlet.patcher

            self._yield = lambda: eventlet.sleep(0)
            self._native_sleep = eventlet.patcher.original("time").sleep
        if green is not None:  # tests
            self._green = green
        if native_sleep is not None:
            self._native_sleep = native_sleep
        self._thread_id: Callable[[], int] = threading.get_ident
        if self._green:
            import eventlet.patcher

            self._thread_id = eventlet.patcher.original("threading").get_ident

    def cooperate(self) -> None:
        if self._green:
            self._yield()

    def checkpoint(self) -> None:
        if not self._green or (self._hub_thread is not None and self._thread_id() == self._hub_thread):
            return  # a short computation run on the event loop itself: nothing to let go first, nothing to wait for
        now = self._clock()
        if self._resumed_at is not None:
            self._credit = min(self._credit + (now - self._resumed_at) * self.yield_ratio, self.max_wait_s)
        waited = 0.0
        while self.gauge.in_flight and waited + self.nap_s <= self._credit + 1e-9:
            self._native_sleep(self.nap_s)
            waited += self.nap_s
        self._credit = max(self._credit - waited, 0.0)
        self._resumed_at = self._clock()


def create_app(config: HallConfig, *, clock: Clock = utc_now, publisher: Publisher | None = None,
               run_migrations: bool = True) -> tuple[Flask, SocketIO]:
    """Build the Flask app and its Socket.IO server for one configuration."""
    app = Flask(__name__, template_folder="templates", static_folder="../static", static_url_path="/static")
    app.config.update(
        SECRET_KEY=config.server.secret_key,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.session_interface = NoFlaskSession()
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    gauge = RequestGauge(app.wsgi_app)
    chunked = ChunkedBody(gauge, max_bytes=app.config["MAX_CONTENT_LENGTH"])  # raised to the uploads' limit below
    app.wsgi_app = chunked  # type: ignore[method-assign]
    queue = {"client_manager": HallRedisManager(config.server.redis_url)} if config.server.redis_url else {}
    socketio = SocketIO(app, async_mode=None, cors_allowed_origins=socket_origin_check(config.server.public_url),
                        **queue)
    use_timerless_socket_queues(socketio)
    drop_clients_that_fall_behind(socketio, config.limits.send_queue)
    app.wsgi_app = WithoutWebSocketCompression(app.wsgi_app)  # type: ignore[method-assign]
    if config.server.proxy_hops:  # behind a load balancer: the client's address and host from its headers
        hops = config.server.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]  # outermost: on every answer

    check_database_file(config.server.database_url)  # a damaged file is refused naming it, not met mid-start
    if run_migrations:
        migrate(config.server.database_url)
    engine = make_engine(config.server.database_url, sqlite_synchronous=config.server.sqlite_synchronous)
    socket_publisher = SocketIOPublisher(socketio)
    if socketio.async_mode == "eventlet":
        capture_websockets(socketio)  # also lets a client that fell behind be cut off at once
        if not config.server.redis_url:
            socket_publisher.fanout = DirectFanout(socketio)
    uow = UnitOfWork(engine, make_readonly_engine(config.server.database_url), publisher or socket_publisher)
    audit = AuditLog(config, uow, clock)
    store = HallStore(uow, clock, audit)
    model = store.open(config)  # the database's hall model; config.toml's hall sections seed a new database
    audit.model = model
    owner = process_id()
    leases: Leases = AllBranches()  # one process: every branch is its own, no Redis call
    share: RedisLiveShare | None = None
    if config.server.redis_url:  # several processes: one live loop for the system, a lease per branch
        connection = redis_client(config.server.redis_url)
        leases = BranchLeases(RedisLeaseStore(connection), owner)
        share = RedisLiveShare(config.server.redis_url, connection)
    live = LiveHall(model, uow, clock, publisher=socket_publisher, offload=offload_cpu,
                    pacing=EventletPacing(gauge, hub_thread=event_loop_thread()), leases=leases, share=share,
                    owner=owner)
    if share is not None:
        share.receive = live.receive
    uow.subscribe(live.note_events)  # after the screens' fan-out: estimates follow what the screens were told
    uow.on_plans_changed(live.note_plans_changed)  # a roster change or a booking: the projection reads them again
    metrics = HallMetrics(in_flight=lambda: gauge.in_flight, socket_clients=lambda: socket_client_count(socketio),
                          database_up=lambda: uow.database_problem() is None, branches=live.freshness, clock=clock)
    uow.subscribe(metrics.note_events)
    metrics.watch_estimates(live.estimate_counts)
    if leases.shared:
        metrics.watch_leases(lambda: [b.code for b in model.current.branches], leases.held,
                             lambda: dict(live.refreshes), lambda: leases.takeovers)
    hall = HallService(model, uow, clock=clock, estimates=live, audit=audit)
    hall.hall_changes = store.check
    hall.ensure_branches()
    hall.days.end_all_due()  # a server that was down when a day ended (or for a week) starts on a clean hall
    privacy = PrivacyService(model, uow, audit, clock)

    notifier = NotificationService(model, uow, clock, people_ahead=live.position, audit=audit)
    # personal data past its retention too, and the notifier's old delivery log
    purge = PurgeJobs(hall.purge_old_records, privacy.purge_expired, notifier.purge_old)
    purge()
    for branch in model.current.branches:
        live.refresh(branch.code)

    def follow_the_model(old: HallConfig, new: HallConfig) -> None:
        """A changed hall model: its new and changed branches get their rows, and fresh estimates at once (a
        ticket of a new service, issued the moment after, is promised a wait like any other)."""
        changed = [b for b in new.branches if old.branch(b.code) != b]
        hall.ensure_branches(changed)
        for branch in changed:
            live.refresh(branch.code)

    model.on_change(follow_the_model)
    throttle = make_throttle(config.server.sign_in_attempts, config.server.sign_in_lockout, clock,
                             config.server.redis_url)
    sessions = SessionService(model, uow, clock, audit=audit, throttle=throttle)
    sessions.end_invalid()  # a password changed or an account disabled in the configuration: its sessions end now
    staff_sockets = StaffSockets(socketio, sessions)
    # an account disabled or given a new password: its sessions (and their sockets) end at once
    model.on_change(lambda old, new: sessions.end_invalid("accounts_changed") if old.staff != new.staff else 0)

    def close_counters_of_disabled_accounts(old: HallConfig, new: HallConfig) -> None:
        """A disabled (or removed) account's counters close: nobody could call from them any more."""
        for account in old.staff:
            now = new.account(account.username)
            if not account.disabled and (now is None or now.disabled):
                hall.counters.sign_out_account(account.username)

    model.on_change(close_counters_of_disabled_accounts)
    heap = HeapKeeper()
    limits = config.limits
    joins = JoinLimiter(limits.socket_joins, limits.address_socket_joins, config.server.redis_url or "memory://",
                        refusal_delay_s=limits.refusal_delay_s)
    register_socket_handlers(socketio, hall, live, heap, staff_sockets, joins)
    overview = Overview(hall.reports, live)
    watchers = OverviewWatchers(overview, lambda sid, message: socketio.emit("overview", message, to=sid))
    register_overview_handlers(socketio, hall, watchers, staff_sockets, joins)
    app.extensions["overview"] = overview
    app.extensions["overview_watchers"] = watchers
    app.extensions["audit"] = audit
    app.extensions["sessions"] = sessions
    app.extensions["staff_sockets"] = staff_sockets
    app.extensions["hall"] = hall
    app.extensions["accounts"] = AccountService(model, store, offload_cpu, throttle)
    warn_of_demo_passwords(model.current)
    app.extensions["printing"] = PrintingService(hall)
    app.extensions["ratings"] = RatingService(model, uow, clock=clock)
    app.extensions["follow_ups"] = FollowUpService(model, uow, clock=clock, audit=audit)
    app.extensions["devices"] = DeviceService(model, uow, clock=clock, audit=audit)
    app.extensions["device_alerts"] = DeviceAlerts(app.extensions["devices"], app.extensions["printing"])
    app.extensions["privacy"] = privacy
    storage = config.server.redis_url or "memory://"
    app.extensions["booking"] = BookingService(
        model, uow, audit, clock,
        changes=AddressLimiter("booking_changes", limits.booking_changes, storage, limits.refusal_delay_s),
        lookups=AddressLimiter("booking_lookups", limits.booking_lookups, storage, limits.refusal_delay_s),
        phone_misses=AddressLimiter("phone_checkin_misses", limits.phone_checkin_misses, storage,
                                    limits.refusal_delay_s),
        tickets=hall.tickets, remote=hall.remote)
    app.extensions["announcements"] = AnnouncementService(model, uow)
    app.extensions["signage"] = SignageService(model, uow, clock=clock, audit=audit)
    app.extensions["hall_store"] = store
    chunked.max_bytes = max(chunked.max_bytes, app.extensions["signage"].upload_limit_bytes())
    app.extensions["hall_live"] = live
    app.extensions["overflow"] = OverflowService(model, live, clock, uow)
    app.extensions["public_address"] = PublicAddressCheck(model)
    app.extensions["api_tokens"] = ApiTokenService(
        model, uow, clock, audit=audit,
        limiter=TokenLimiter(limits.token_requests, config.server.redis_url or "memory://"))
    app.extensions["hall_live_loop"] = LiveLoop(
        live, lambda: [b.code for b in model.current.branches], spawn=socketio.start_background_task,
        sleep=socketio.sleep, purge=purge, housekeeping=heap, end_days=metrics.counting("end_days", hall.end_due),
        expire_holds=hall.expire_holds,
        check_sessions=staff_sockets.sweep, check_hall=store.check,
        watch_devices=metrics.counting("watch_devices", app.extensions["devices"].watch),
        on_refresh=metrics.note_refresh, each_tick=watchers.tick, leases=leases,
        refresh_workers=REFRESH_WORKERS if eventlet_serves() else 1,
        listen=None if share is None else share.listen)
    app.extensions["notifications"] = notifier
    app.extensions["notifier_loop"] = NotifierLoop(notifier, spawn=socketio.start_background_task,
                                                   sleep=socketio.sleep, serves=leases.serves)
    app.extensions["metrics"] = metrics
    timer = RequestTimer(metrics)
    app.before_request(timer.start)
    app.after_request(timer.finish)
    app.extensions["hall_heap"] = heap
    app.extensions["hall_socketio"] = socketio
    from server.api import api, register_error_handlers
    from server.api.registry import IdConverter
    from server.pages import audiences

    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(api)
    page_audiences = audiences()
    for audience in page_audiences:
        app.register_blueprint(audience.blueprint)
    register_error_handlers(app)
    app.before_request(refuse_cross_site)  # CSRF: no state change from another site's page (server/web.py)

    def hall_pages(branch_code: str) -> list[tuple[str, str]]:
        """The pages of a branch, as (label, path): printed by ``make run`` and linked from ``/``."""
        pages = [page for audience in page_audiences for page in audience.pages]
        return [(label, path.format(branch=branch_code)) for label, path in pages] + [
            ("Live snapshot 快照", f"/api/branches/{branch_code}/snapshot")]

    app.extensions["hall_pages"] = hall_pages

    @app.get("/")
    def index() -> Any:
        return render_template("index.html", config=model.current, pages=hall_pages)

    @app.get("/healthz")
    def healthz() -> Any:
        """For a load balancer: 200 while this process can reach its database, else 503 with the reason."""
        problem = hall.uow.database_problem()
        if problem is not None:
            return {"status": "unavailable", "database": problem}, 503
        return {"status": "ok", "database": "ok"}

    @app.get("/metrics")
    def metrics_text() -> Any:
        """For a monitoring system, in Prometheus' text format (server/metrics.py says who may read it)."""
        require_metrics_reader(current_actor(), model.current.server.metrics_from)
        return Response(metrics.exposition(), content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    return app, socketio
