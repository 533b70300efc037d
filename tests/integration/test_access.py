"""Access, generated from the route table: every route whose ``auth`` is not public, and every socket role that
needs a session, refuses the anonymous, staff of another branch, and staff where a manager is needed.

The hall has a second branch (GZ-TIANHE) with its own staff member and manager; path parameters are real (a
counter, an issued ticket, uploaded media, a notice, an open follow-up of SZ-FUTIAN), so that a refusal comes
from the access rule and not from a missing thing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import server.api  # noqa: F401  (registers every route: the table below is read at import)
from server.api.device_routes import DEVICE_RULES
from server.api.registry import DECLARED, ENDPOINTS, Endpoint, refuse_undeclared, route
from server.app import create_app
from server.domain.errors import NotFound
from server.services import access
from server.services.actor import Actor
from tests.conftest import RecordingPublisher
from tests.device_helpers import paired_client
from tests.media_samples import png_bytes
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
B = f"/api/branches/{BRANCH}"
STAFF_PASSWORD = "demo-staff"
MANAGER_PASSWORD = "demo-manager"
ADMIN_ROUTES = [ep for ep in ENDPOINTS if ep.auth == access.ADMIN]
PRIVATE_ALL = [ep for ep in ENDPOINTS if ep.auth not in (access.PUBLIC, access.ADMIN)]
SCOPED_IN_THE_SERVICE = {
    "/api/accounts": "a manager lists and manages the staff of their own branches (test_accounts_admin.py)",
    "/api/accounts/<username>": "the same",
    "/api/accounts/<username>/password-reset": "the same",
    "/api/reports": "a report over the branches the caller reads: managers theirs, regional accounts their regions' "
                    "(test_reports.py: test_who_reads_which_branches, test_the_all_branch_report_over_http)",
    **{ep.rule: "the same" for ep in ENDPOINTS if ep.rule.startswith("/api/reports/")},
    "/api/overview": "every branch the caller reads, by the reports' rule (test_overview.py: "
                     "test_each_caller_sees_the_branches_it_reads, test_the_overview_over_http)",
}
"""Private routes that name no branch: the service narrows what each caller reaches to their own branches (and
the tests named here check it). A new branch-less route must be added here on purpose."""
PRIVATE = [ep for ep in PRIVATE_ALL if ep.rule not in SCOPED_IN_THE_SERVICE]
BRANCHLESS = [ep for ep in PRIVATE_ALL if ep.rule in SCOPED_IN_THE_SERVICE]
MANAGER_ROUTES = [ep for ep in PRIVATE if ep.auth == access.MANAGER]
SOCKET_ROLES = access.STAFF_VIEWS


def with_a_second_branch(data: dict[str, Any]) -> None:
    """GZ-TIANHE (a copy of SZ-FUTIAN) with one staff member and one manager who work only there."""
    other = copy.deepcopy(data["branches"][0])
    other["code"] = OTHER
    data["branches"].append(other)
    accounts = {a["username"]: a for a in data["staff"]}
    data["staff"] += [
        {**accounts["zhang.wei"], "username": "other.staff", "display_name": "Other Staff", "branches": [OTHER]},
        {**accounts["manager"], "username": "other.manager", "display_name": "Other Manager", "branches": [OTHER]},
    ]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    monkeypatch.delenv("HALL_SECRET_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'hall.sqlite3'}"
    config = demo_config(url, tmp_path, more=with_a_second_branch)
    app, _socketio = create_app(config, clock=FakeClock(), publisher=RecordingPublisher())
    yield app
    app.extensions["hall"].uow.engine.dispose()
    app.extensions["hall"].uow.read_engine.dispose()


def signed_in(app: Flask, username: str, password: str = STAFF_PASSWORD) -> FlaskClient:
    client = app.test_client()
    r = client.post("/api/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return client


def ok(response: TestResponse, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


@pytest.fixture
def params(app: Flask) -> dict[str, str]:
    """Real values for every path parameter of SZ-FUTIAN's private routes (and a customer's ticket token)."""
    staff = signed_in(app, "zhang.wei")
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    customer = app.test_client()
    ok(staff.post(f"{B}/counters/2/sign-in", json={}))
    served = ok(customer.post(f"{B}/tickets", json={"service": "BILL"}), 201)
    ok(staff.post(f"{B}/counters/2/call-next"))
    ok(staff.post(f"{B}/tickets/{served['id']}/start", json={}))
    ok(staff.post(f"{B}/tickets/{served['id']}/finish", json={}))
    ok(staff.post(f"{B}/counters/2/rating", json={"ticket_id": served["id"], "score": 1}), 201)
    [follow_up] = ok(manager.get(f"{B}/follow-ups"))["follow_ups"]
    waiting = ok(customer.post(f"{B}/tickets", json={"service": "BILL"}), 201)
    media = ok(manager.post(f"{B}/media", data=png_bytes(), content_type="image/png"), 201)
    notice = ok(manager.post(f"{B}/notices", json={"text": {"zh-CN": "通知", "en": "Notice"}}), 201)
    stop = ok(manager.post(f"{B}/issue-stops", json={"service": "DEVICE", "reason": "busy", "until": "resumed"}), 201)
    pad = app.test_client()
    code = ok(pad.post("/api/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "3"}), 201)["code"]
    paired_client(app, "pad", "2", manager=manager)
    [device] = ok(manager.get(f"{B}/devices"))["devices"]
    token = ok(manager.post(f"{B}/api-tokens", json={"name": "booking", "scope": "act"}), 201)
    shift = ok(manager.post(f"{B}/roster/shifts", json={"date": "2026-11-24", "username": "zhang.wei", "counter": "2",
                                                         "start": "09:00", "end": "10:00"}), 201)
    webhook = ok(manager.post(f"{B}/webhooks", json={"name": "crm", "url": "http://10.1.2.3/hall-events",
                                                      "events": ["ticket.issued"]}), 201)
    return {"shift_id": str(shift["id"]), "webhook_id": str(webhook["id"]),
            "token_id": str(token["id"]), "branch": BRANCH, "counter": "2", "ticket_id": str(waiting["id"]),
            "media_id": str(media["id"]), "notice_id": str(notice["id"]), "follow_up_id": str(follow_up["id"]),
            "stop_id": str(stop["id"]), "username": "zhang.wei", "device_id": str(device["id"]),
            "code": code.replace(" ", ""), "token": waiting["token"], "seq": "1", "service": "PLAN"}


_PARAM = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def names_branch_in_query(endpoint: Endpoint) -> bool:
    """A route about no one branch in its path (the audit log) that takes the branch as a query parameter."""
    return "<branch>" not in endpoint.rule and any(name == "branch" for name, _, _ in endpoint.query)


def url_of(endpoint: Endpoint, params: dict[str, str]) -> str:
    """The endpoint's rule with every path parameter filled: from ``params``, or an ``any(...)``'s first choice;
    the branch in the query where the route takes it there."""
    def fill(match: re.Match[str]) -> str:
        converter, arguments, name = match.groups()
        if converter == "any":
            return arguments.split(",")[0].strip().strip("'\"")
        return params[name]

    url = _PARAM.sub(fill, endpoint.rule)
    return f"{url}?branch={params['branch']}" if names_branch_in_query(endpoint) else url


def call(client: FlaskClient, endpoint: Endpoint, params: dict[str, str]) -> TestResponse:
    url = url_of(endpoint, params)
    if endpoint.method in ("get", "delete"):
        return client.open(url, method=endpoint.method.upper())
    return client.open(url, method=endpoint.method.upper(), json={})


def refused(response: TestResponse, status: int, code: str) -> None:
    body = response.get_json()
    assert (response.status_code, body["error"]) == (status, code), (response.status_code, body)


def test_the_route_table_has_private_routes_of_both_kinds() -> None:
    assert len(PRIVATE) >= 20 and MANAGER_ROUTES
    assert all(ep.auth in access.AUTH_LEVELS for ep in ENDPOINTS)
    # so every one of them is checked against the branch: in its path, or in its query
    assert all("<branch>" in ep.rule or names_branch_in_query(ep) for ep in PRIVATE)
    assert any(names_branch_in_query(ep) for ep in PRIVATE)  # the audit log's


@pytest.mark.parametrize("endpoint", PRIVATE, ids=lambda ep: f"{ep.method} {ep.rule}")
def test_private_routes_refuse_the_anonymous_other_branches_and_the_wrong_role(
    app: Flask, params: dict[str, str], endpoint: Endpoint
) -> None:
    refused(call(app.test_client(), endpoint, params), 401, "unauthenticated")

    # someone of another branch with the route's own role: refused for the branch alone
    other = (signed_in(app, "other.manager", MANAGER_PASSWORD) if endpoint.auth == access.MANAGER
             else signed_in(app, "other.staff"))
    response = call(other, endpoint, params)
    refused(response, 403, "forbidden")
    assert "does not work at branch" in response.get_json()["message"]
    refused(call(signed_in(app, "other.staff"), endpoint, params), 403, "forbidden")

    if endpoint.auth == access.MANAGER:
        refused(call(signed_in(app, "zhang.wei"), endpoint, params), 403, endpoint.manager_code)


@pytest.mark.parametrize("endpoint", BRANCHLESS, ids=lambda ep: f"{ep.method} {ep.rule}")
def test_branchless_private_routes_refuse_the_anonymous_and_the_wrong_role(
    app: Flask, params: dict[str, str], endpoint: Endpoint
) -> None:
    refused(call(app.test_client(), endpoint, params), 401, "unauthenticated")
    wrong = {access.MANAGER: "manager_only", access.ADMIN: "admin_only", access.REPORTS: endpoint.manager_code}[
        endpoint.auth]
    refused(call(signed_in(app, "zhang.wei"), endpoint, params), 403, wrong)


@pytest.mark.parametrize("endpoint", ADMIN_ROUTES, ids=lambda ep: f"{ep.method} {ep.rule}")
def test_admin_routes_refuse_everyone_but_administrators(app: Flask, params: dict[str, str],
                                                          endpoint: Endpoint) -> None:
    """The hall set-up is the administrators': the anonymous, staff and managers (of any branch) are refused."""
    refused(call(app.test_client(), endpoint, params), 401, "unauthenticated")
    for username, password in (("zhang.wei", STAFF_PASSWORD), ("manager", MANAGER_PASSWORD),
                               ("other.manager", MANAGER_PASSWORD)):
        refused(call(signed_in(app, username, password), endpoint, params), 403, "admin_only")
    assert call(signed_in(app, "admin", "demo-admin"), endpoint, params).status_code not in (401, 403)


@pytest.mark.parametrize("view", sorted(DEVICE_RULES))
def test_device_routes_refuse_the_anonymous_other_devices_and_staff_elsewhere(
    app: Flask, params: dict[str, str], view: str
) -> None:
    """Every route with a device rule (the rating pad's), generated from :data:`DEVICE_RULES`: the anonymous, a
    device paired for another role, a pending device, another branch's staff and staff not at the counter are
    refused; the device paired for it, and the staff member signed in at the counter, are let in."""
    [rule] = [r for r in app.url_map.iter_rules() if r.endpoint == view]
    [method] = [m for m in rule.methods or () if m not in ("HEAD", "OPTIONS")]
    endpoint = next(ep for ep in ENDPOINTS if ep.rule == rule.rule and ep.method == method.lower())
    assert DEVICE_RULES[view].value == "pad" and "<counter>" in rule.rule  # the only kind so far

    def as_(client: FlaskClient) -> TestResponse:
        return call(client, endpoint, params)

    refused(as_(app.test_client()), 401, "device_not_paired")
    pending = app.test_client()
    ok(pending.post("/api/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "2"}), 201)
    refused(as_(pending), 401, "device_not_paired")
    refused(as_(paired_client(app, "pad", "3")), 403, "wrong_device")
    refused(as_(paired_client(app, "counter_display", "2")), 403, "wrong_device")
    refused(as_(paired_client(app, "pad", "2", branch=OTHER)), 403, "wrong_device")
    refused(as_(signed_in(app, "other.staff")), 403, "forbidden")
    refused(as_(signed_in(app, "li.na")), 403, "not_at_counter")  # staff of the branch, not at counter 2
    allowed = {200, 201, 409, 422}  # past the rule: the body or the ticket decides
    assert as_(paired_client(app, "pad", "2")).status_code in allowed
    assert as_(signed_in(app, "zhang.wei")).status_code in allowed  # signed in at counter 2 (params)


def test_the_accounts_of_the_other_branch_work_there(app: Flask) -> None:
    """The refusals above are about the branch: the same accounts are let in at their own."""
    ok(signed_in(app, "other.staff").get(f"/api/branches/{OTHER}/events"))
    ok(signed_in(app, "other.manager", MANAGER_PASSWORD).get(f"/api/branches/{OTHER}/follow-ups"))


@pytest.mark.parametrize("path", [
    f"{B}/events",
    f"{B}/snapshot?view=staff",
    f"{B}/counters/2/queue",
    f"{B}/estimates/accuracy",
])
def test_staff_of_another_branch_see_none_of_its_private_data(app: Flask, params: dict[str, str], path: str) -> None:
    """Event history (transfer notes, pause reasons), the staff snapshot, a counter's waiting list and the
    estimates' accuracy belong to the branch's own staff (the accuracy to its managers)."""
    for other in (signed_in(app, "other.staff"), signed_in(app, "other.manager", MANAGER_PASSWORD)):
        refused(other.get(path), 403, "forbidden")
    own = signed_in(app, "manager", MANAGER_PASSWORD)
    assert own.get(path).status_code == 200
    assert app.test_client().get(f"{B}/snapshot").status_code == 200  # the public snapshot stays public


def join(app: Flask, role: str, client: FlaskClient | None = None, branch: str = BRANCH) -> dict[str, Any]:
    socketio = app.extensions["hall_socketio"]
    socket = socketio.test_client(app, flask_test_client=client)
    try:
        return socket.emit("join", {"role": role, "branch": branch}, callback=True)
    finally:
        socket.disconnect()


@pytest.mark.parametrize("role", SOCKET_ROLES)
def test_private_socket_roles_refuse_the_anonymous_other_branches_and_the_wrong_role(app: Flask, role: str) -> None:
    assert join(app, role)["error"] == "unauthenticated"
    other = (signed_in(app, "other.manager", MANAGER_PASSWORD) if role == access.MANAGER
             else signed_in(app, "other.staff"))
    answer = join(app, role, other)
    assert (answer["ok"], answer["error"]) == (False, "forbidden")
    assert join(app, role, other, branch=OTHER)["ok"] is True
    if role == access.MANAGER:
        assert join(app, role, signed_in(app, "zhang.wei"))["error"] == "forbidden"
    own = signed_in(app, "manager", MANAGER_PASSWORD)
    answer = join(app, role, own)
    assert answer["ok"] is True and "waiting" in answer["snapshot"]  # the staff snapshot


def test_a_route_without_an_access_rule_is_never_registered() -> None:
    blueprint = Blueprint("undeclared", __name__)
    before = len(ENDPOINTS)
    for auth in (None, "", "root", "Staff"):
        with pytest.raises(ValueError, match="auth="):
            route(blueprint, "/undeclared", "GET", "no rule", tag="test", auth=auth)(lambda: None)
    assert len(ENDPOINTS) == before
    assert blueprint.deferred_functions == []


def test_every_view_of_the_api_declares_its_rule(app: Flask) -> None:
    views = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert views and views <= DECLARED


def test_a_view_added_around_route_is_refused(app: Flask) -> None:
    """A blueprint guarded like the API's: a view added to it directly (no declared rule) answers 403."""
    guarded = Blueprint("guarded", __name__, url_prefix="/guarded")
    guarded.before_request(refuse_undeclared)
    guarded.add_url_rule("/secret", "secret", lambda: "the waiting list")
    route(guarded, "/open", "GET", "declared", tag="test", auth=access.PUBLIC, documented=False)(lambda: "ok")
    app.register_blueprint(guarded)
    client = app.test_client()
    assert client.get("/guarded/secret").status_code == 403
    assert client.get("/guarded/open").get_data(as_text=True) == "ok"


def test_the_openapi_document_shows_each_routes_rule(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    for ep in ENDPOINTS:
        path = _PARAM.sub(lambda m: "{" + m.group(3) + "}", ep.rule)
        operation = document["paths"][path][ep.method]
        assert operation["x-access"] == ep.auth
        assert ({"staffSession": []} in operation.get("security", [])) == (ep.auth != access.PUBLIC)
        if ep.auth != access.PUBLIC:
            assert {"401", "403"} <= set(operation["responses"])


def test_works_at_and_the_removed_account(app: Flask) -> None:
    config = app.extensions["hall"].config
    everywhere, there = config.account("zhang.wei"), config.account("other.staff")
    assert everywhere is not None and there is not None
    assert access.works_at(config, everywhere, BRANCH) and access.works_at(config, everywhere, OTHER)
    assert access.works_at(config, there, OTHER) and not access.works_at(config, there, BRANCH)
    assert not access.works_at(config, Actor("nobody", "staff"), BRANCH)
    assert access.resolve_actor(config, "nobody") == Actor(username=None)
    assert access.resolve_actor(config, "manager", "tablet-1") == Actor("manager", "manager", "tablet-1")


def test_branch_counter_and_service_or_404(app: Flask) -> None:
    config = app.extensions["hall"].config
    branch = access.require_branch(config, BRANCH)
    assert access.require_counter(branch, "2").number == "2"
    assert access.require_service(branch, "BILL").code == "BILL"
    for lookup, code in ((lambda: access.require_branch(config, "NOWHERE"), "unknown_branch"),
                         (lambda: access.require_counter(branch, "99"), "unknown_counter"),
                         (lambda: access.require_service(branch, "NOPE"), "unknown_service")):
        with pytest.raises(NotFound) as refused_lookup:
            lookup()
        assert (refused_lookup.value.code, refused_lookup.value.http_status) == (code, 404)


# --- API tokens: generated from each route's token declaration -------------------------------------------------

TOKEN_CODES = ("not_for_tokens", "insufficient_scope", "forbidden")


def make_token(app: Flask, scope: str, branches: list[str] | None = None, *, revoke: bool = False) -> str:
    """A token made by the manager of every branch (on SZ-FUTIAN's page unless it is only for another branch)."""
    manager = signed_in(app, "manager", MANAGER_PASSWORD)
    page = (branches or [BRANCH])[0] if branches is not None and BRANCH not in branches else BRANCH
    made = ok(manager.post(f"/api/branches/{page}/api-tokens",
                           json={"name": f"{scope} {branches}", "scope": scope, "branches": branches}), 201)
    if revoke:
        ok(manager.post(f"/api/branches/{page}/api-tokens/{made['id']}/revoke"))
    return made["token"]


def with_token(app: Flask, token: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def passes_the_rule(response: TestResponse) -> bool:
    """Past the access rule: whatever the body or the thing decides, but no refusal of who is asking."""
    body = response.get_json(silent=True) or {}
    return response.status_code not in (401, 403) or body.get("error") not in (*TOKEN_CODES, "unauthenticated")


def test_every_route_declares_a_token_scope_that_fits_its_method() -> None:
    """``read`` only on GETs, ``act`` only on commands; counter commands, media uploads, follow-ups' commands and the
    management of sessions, devices and tokens are closed to tokens; so are the device routes and the customer's
    private-token routes."""
    for ep in ENDPOINTS:
        if ep.token is not None:
            assert ep.token.value == ("read" if ep.method == "get" else "act"), ep
    closed = [ep for ep in ENDPOINTS if ep.token is None]
    for ep in ENDPOINTS:
        command = ep.method != "get"
        if (command and any(part in ep.rule for part in ("/counters/<counter>/", "/media"))) or any(
                part in ep.rule for part in ("/session", "/devices", "/pairing-requests", "/api-tokens",
                                             "/tickets/<token>", "/follow-ups/<")):
            assert ep in closed, f"{ep.method} {ep.rule} must be closed to tokens"
    assert [ep for ep in ENDPOINTS if ep.token is not None and ep.method != "get"]  # some commands are open


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda ep: f"{ep.method} {ep.rule}")
def test_every_route_with_tokens_of_each_scope_and_of_another_branch(
    app: Flask, params: dict[str, str], endpoint: Endpoint
) -> None:
    """Generated from the route table: a read token, an act token, one of another branch and a revoked one, on
    every route. A route closed to tokens refuses them all (403 ``not_for_tokens``), whatever its ``auth``; a read
    route lets both scopes of the branch in; a command only ``act``; another branch's token is refused like staff of
    another branch; a revoked token is 401 at once."""
    read, act = make_token(app, "read"), make_token(app, "act")
    other, revoked = make_token(app, "act", [OTHER]), make_token(app, "act", revoke=True)
    refused(call(with_token(app, revoked), endpoint, params), 401, "token_revoked")
    refused(call(with_token(app, "qt_" + "x" * 43), endpoint, params), 401, "invalid_token")
    if endpoint.token is None:
        for token in (read, act, other):
            refused(call(with_token(app, token), endpoint, params), 403, "not_for_tokens")
        return
    if "<branch>" in endpoint.rule:
        response = call(with_token(app, other), endpoint, params)
        refused(response, 403, "forbidden")
        assert "not for branch" in response.get_json()["message"]
    if endpoint.token.value == "act":
        refused(call(with_token(app, read), endpoint, params), 403, "insufficient_scope")
    else:
        assert passes_the_rule(call(with_token(app, read), endpoint, params))
    response = call(with_token(app, act), endpoint, params)
    assert passes_the_rule(response), (response.status_code, response.get_json(silent=True))


def test_the_openapi_document_shows_each_routes_token_scope(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    for ep in ENDPOINTS:
        operation = document["paths"][_PARAM.sub(lambda m: "{" + m.group(3) + "}", ep.rule)][ep.method]
        assert operation.get("x-token-scope") == (ep.token.value if ep.token else None)
        assert ({"apiToken": []} in operation.get("security", [])) == (ep.token is not None)
        if ep.token is not None:
            assert {"401", "403", "429"} <= set(operation["responses"])
