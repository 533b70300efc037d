"""A route decorator that enforces each route's declared access rule, validates JSON bodies with pydantic and
records each route for OpenAPI.

Access is deny by default: every route names its rule (``auth=`` one of ``public``, ``staff``, ``manager``;
:mod:`server.services.access`), a route without one fails at import, and the wrapper checks the rule, and
that the actor works at the ``<branch>`` in the path (or, for a route without one that declares a ``branch`` query
parameter, at the branch it names), before the body is read or the view runs.

API tokens too: a route names the scope a token needs to call it (``token="read"`` on reads, ``token="act"`` on
commands; :mod:`server.domain.api_tokens`); a route that names none is closed to tokens, public or not. A request
that carries a token (``Authorization: Bearer qt_…``) is checked against that, and never against ``auth``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, request
from pydantic import BaseModel
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.routing import BaseConverter

from server.api.schemas import ID_MAX
from server.domain.api_tokens import Scope
from server.domain.errors import DomainError, NotAllowed
from server.services import access
from server.web import (
    DEVICE_HEADER,
    DEVICE_ID_MAX,
    DEVICE_ID_PATTERN,
    SESSION_COOKIE,
    bearer_token,
    current_actor,
    device_id,
    forget_actor,
    hall_config,
)

__all__ = ["current_actor", "device_id", "forget_actor", "route"]

def _digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to ``limit`` (leading zeros allowed)."""
    text = str(limit)
    alternatives = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for position, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - position - 1
            alternatives.append(text[:position] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    alternatives.append(text)
    return "(?:" + "|".join(alternatives) + ")"


class IdConverter(BaseConverter):
    """``<id:name>``: a row id or sequence number in a path, 0 to ``ID_MAX``. A larger number matches no route
    (404) where ``<int:>`` would hand it to the database driver, which cannot hold it."""

    regex = _digits_at_most(ID_MAX)
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter in ``[minimum, maximum]``, or 400 ``bad_query`` naming it."""
    text = request.args.get(name)
    if text is None:
        return default
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else None
    if value is None or not minimum <= value <= maximum:
        raise DomainError(f"{name} must be a whole number from {minimum} to {maximum}, got {text!r}",
                          code="bad_query", http_status=400, parameter=name)
    return value


def query_number(name: str, minimum: float, maximum: float) -> float | None:
    """A decimal query parameter in ``[minimum, maximum]`` (None when absent), or 400 ``bad_query`` naming it."""
    text = request.args.get(name)
    if text is None:
        return None
    try:
        if not text.isascii() or len(text) > 24:
            raise ValueError
        value = float(text)
        if not minimum <= value <= maximum:  # also refuses nan
            raise ValueError
    except ValueError:
        raise DomainError(f"{name} must be a number from {minimum:g} to {maximum:g}, got {text[:24]!r}",
                          code="bad_query", http_status=400, parameter=name) from None
    return value


def query_date(name: str) -> date | None:
    """A calendar day query parameter written YYYY-MM-DD, or None when absent; 400 ``bad_query`` naming it."""
    text = request.args.get(name)
    if text is None:
        return None
    try:
        if len(text) != 10 or not text.isascii():
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"{name} must be a day written YYYY-MM-DD, got {text[:20]!r}", code="bad_query",
                          http_status=400, parameter=name) from None


def query_day_or_instant(name: str) -> date | datetime | None:
    """A query parameter that is a calendar day (YYYY-MM-DD) or an instant with its offset (ISO 8601,
    ``2026-12-05T14:30:00+08:00``), or None when absent; 400 ``bad_query`` naming it."""
    text = request.args.get(name)
    if text is None:
        return None
    if len(text) == 10:
        return query_date(name)
    try:
        if not text.isascii() or len(text) > 40:
            raise ValueError
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError
        return moment
    except ValueError:
        raise DomainError(f"{name} must be a day written YYYY-MM-DD or an instant with its offset "
                          f"(2026-12-05T14:30:00+08:00), got {text[:40]!r}", code="bad_query", http_status=400,
                          parameter=name) from None


def query_text(name: str, max_length: int) -> str | None:
    """A printable text query parameter of at most ``max_length`` characters (None when absent or blank); 400
    ``bad_query`` naming it."""
    text = request.args.get(name)
    if text is None or not text.strip():
        return None
    if len(text) > max_length or not text.isprintable():
        raise DomainError(f"{name} must be at most {max_length} printable characters", code="bad_query",
                          http_status=400, parameter=name)
    return text.strip()


def query_choices(name: str, choices: Sequence[str]) -> list[str]:
    """Every value of a repeatable query parameter (``?action=a&action=b``), each one of ``choices``; 400
    ``bad_query`` naming it."""
    values = request.args.getlist(name)
    for value in values:
        if value not in choices:
            raise DomainError(f"{name} must be one of {', '.join(choices)}, got {value[:40]!r}", code="bad_query",
                              http_status=400, parameter=name)
    return list(dict.fromkeys(values))


def query_branch(name: str = "branch") -> str | None:
    """A branch code in the query (None when absent), of a configured branch; 400 ``bad_query`` naming it."""
    code = request.args.get(name)
    if code is None:
        return None
    if hall_config().branch(code) is None:
        raise DomainError(f"{name} names no branch of this hall, got {code[:40]!r}", code="bad_query",
                          http_status=400, parameter=name)
    return code


QuerySchema = str | dict[str, Any]
"""A query parameter's type ("integer", "string") or its whole JSON schema (an array, an enum)."""


@dataclass(frozen=True)
class Endpoint:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    auth: str  # one of access.AUTH_LEVELS: "public", "staff" (staff or manager of the branch), "manager", "admin"...
    idempotent: bool
    status: int
    responses: dict[int, str] = field(default_factory=dict)
    query: tuple[tuple[str, QuerySchema, str], ...] = ()  # (name, type or schema, description)
    response: type[BaseModel] | None = None  # the success answer's shape (server/api/responses.py)
    manager_code: str = "manager_only"  # the error code that refuses staff on a manager route
    produces: tuple[str, ...] = ("application/json",)  # the success answer's media types
    token: Scope | None = None  # the scope an API token needs to call it; None: closed to tokens
    max_body: int | None = None  # bytes this route's body may have, when more than the API's default


_CHANGING = frozenset({"post", "put", "patch", "delete"})
ENDPOINTS: list[Endpoint] = []
DECLARED: set[str] = set()  # "blueprint.view" of every view route() registered, with its rule


def refuse_undeclared() -> None:
    """Run before every request of a blueprint whose views must all come through :func:`route`: a view added
    around it (so with no declared rule) is refused rather than served to anyone."""
    if request.endpoint is not None and request.endpoint not in DECLARED:
        raise NotAllowed("this route declares no access rule, so nobody may call it", code="forbidden")


api = Blueprint("api", __name__, url_prefix="/api")
"""The one blueprint of the JSON API; the route modules register on it through :func:`route`."""
api.before_request(refuse_undeclared)  # deny by default: every view here declares its rule through route()


def route(blueprint: Blueprint, rule: str, method: str, summary: str, *, tag: str, auth: str | None = None,
          body: type[BaseModel] | None = None, idempotent: bool = False, status: int = 200,
          responses: dict[int, str] | None = None,
          query: tuple[tuple[str, QuerySchema, str], ...] = (),
          response: type[BaseModel] | None = None, manager_code: str = "manager_only",
          produces: tuple[str, ...] = ("application/json",),
          max_body: int | None = None, documented: bool = True,
          token: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``rule`` on ``blueprint`` for callers that ``auth`` allows (``public``, ``staff`` or ``manager``,
    refused with 401/403 before anything else; a ``<branch>`` in the rule must be one the actor works at), and for
    API tokens of scope ``token`` (``read`` for a read, ``act`` for a command; None: no token) that reach the
    branch. A body model makes the view receive ``body=`` validated input, a response model documents the success
    answer; ``max_body`` raises the API's body limit for this route (an imported set-up); ``documented=False``
    keeps the route out of the OpenAPI document (the document itself)."""
    if auth not in access.AUTH_LEVELS:
        raise ValueError(f"{method} {rule}: declare who may call it, auth= one of {', '.join(access.AUTH_LEVELS)} "
                         f"(got {auth!r})")
    if token is not None and token != (Scope.ACT if method.lower() in _CHANGING else Scope.READ):
        raise ValueError(f"{method} {rule}: token= is 'read' for a GET and 'act' for a command (got {token!r})")
    rule_auth: str = auth
    branch_in_query = "<branch>" not in rule and any(name == "branch" for name, _, _ in query)
    rule_token = None if token is None else Scope(token)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            if rule_auth != access.PUBLIC or bearer_token() is not None:
                branch = kwargs.get("branch")
                if branch_in_query:  # in the order of a branch in the path: 401, the branch (400 here), then 403
                    access.require(hall_config(), current_actor(), access.STAFF if bearer_token() is None
                                   else rule_auth, None, token=rule_token)
                    branch = query_branch()
                access.require(hall_config(), current_actor(), rule_auth, branch, manager_code=manager_code,
                               token=rule_token)
            if method.lower() in _CHANGING:
                device_id()  # a malformed X-Device-Id is refused on every command, whether or not it is kept
            if max_body is not None:
                request.max_content_length = max_body
            if body is not None:
                kwargs["body"] = body.model_validate(_json_body())
            return view(**kwargs)

        blueprint.add_url_rule(rule, endpoint=view.__name__, view_func=wrapper, methods=[method])
        DECLARED.add(f"{blueprint.name}.{view.__name__}")
        if not documented:
            return wrapper
        ENDPOINTS.append(Endpoint(rule=(blueprint.url_prefix or "") + rule, method=method.lower(), summary=summary,
                                  tag=tag, body=body, auth=rule_auth, idempotent=idempotent, status=status,
                                  responses=responses or {}, query=query, response=response,
                                  manager_code=manager_code, produces=produces, token=rule_token,
                                  max_body=max_body))
        return wrapper

    return decorate


MAX_JSON_DEPTH = 32
"""How deeply a request body may nest arrays and objects: no request of the API needs more than 3 levels, and
the parser's recursion limit (about 1,000) must never be what refuses a body."""


def _json_body() -> Any:
    """The request's JSON body (``{}`` when there is none), or a 4xx saying what is wrong with it. A chunked
    body is read like any other (see :class:`server.web.ChunkedBody`)."""
    if not request.get_data(cache=True, parse_form_data=False):
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json")
    too_deep = f"the body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep"
    try:
        body = request.get_json()
    except BadRequest:
        raise BadRequest("the body is not valid JSON") from None
    except RecursionError:  # far deeper than the limit: the parser gave up
        raise BadRequest(too_deep) from None
    if _nesting(body) > MAX_JSON_DEPTH:
        raise BadRequest(too_deep)
    return body


def _nesting(value: Any) -> int:
    """How many levels of arrays and objects ``value`` has (iteratively: a deep value must not recurse here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


_PATH_PARAM = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def _path_schema(converter: str | None, arguments: str | None) -> dict[str, Any]:
    if converter == "id":
        return {"type": "integer", "minimum": 0, "maximum": ID_MAX}
    if converter == "any" and arguments:
        return {"type": "string", "enum": [a.strip().strip("'\"") for a in arguments.split(",")]}
    return {"type": "string"}


def _component(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    """Put ``model`` (and the models it uses) into ``schemas``; a reference to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different models are both called {name} in the OpenAPI document")
    return {"$ref": f"#/components/schemas/{model.__name__}"}


_ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": _ERROR}}}


def _common_answers(ep: Endpoint, path_names: list[str], has_headers: bool) -> dict[str, dict[str, Any]]:
    """The answers every route of its kind may give besides its own (the wrapper's, the error handlers', the
    database's), so that the document lists each status the server really sends."""
    answers: dict[str, dict[str, Any]] = {}
    malformed = [what for what, present in (("body", ep.body is not None), ("header", has_headers),
                                            ("query parameter", bool(ep.query))) if present]
    if malformed:
        answers["400"] = _answer(f"a malformed {' or '.join(malformed)} (``error`` names what)")
    if ep.auth != access.PUBLIC:
        who = {access.MANAGER: "a manager", access.ADMIN: "an administrator",
               access.REPORTS: "a manager or a regional reader"}.get(ep.auth, "a staff member or manager")
        where = " who works at the branch" if "<branch>" in ep.rule or any(
            name == "branch" for name, _, _ in ep.query) else ""
        answers["401"] = _answer("not signed in, or the session has ended (unauthenticated)")
        answers["403"] = _answer(f"only for {who}{where}")
    if ep.token is not None:
        answers["401"] = _answer("not signed in, the session has ended (unauthenticated), or the API token is "
                                 "unknown (invalid_token), revoked (token_revoked) or expired (token_expired)"
                                 if ep.auth != access.PUBLIC else "the API token is unknown (invalid_token), revoked "
                                 "(token_revoked) or expired (token_expired)")
        answers["403"] = _answer((answers["403"]["description"] + "; " if "403" in answers else "")
                                 + f"an API token that may not {ep.token.value} (insufficient_scope)"
                                 + (" or is not for the branch (forbidden)" if "<branch>" in ep.rule else ""))
        answers["429"] = _answer("too many requests with this API token (too_many_requests, with Retry-After)")
    if path_names:
        answers["404"] = _answer(f"no such {', '.join(path_names)}")
    if ep.body is not None:
        answers["413"] = _answer("the body is larger than the route takes")
        answers["415"] = _answer("the body is not JSON")
        answers["422"] = _answer("the body failed validation (``details.problems`` names each field)")
    answers["503"] = _answer("the database is busy (``database_busy``, with Retry-After) or unavailable")
    return answers


def openapi_document(title: str, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 description of every registered route."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "description": "stable machine-readable code"},
                "message": {"type": "string", "description": "what went wrong, for a person"},
                "details": {"type": "object"},
            },
        }
    }
    for ep in ENDPOINTS:
        path = _PATH_PARAM.sub(lambda m: "{" + m.group(3) + "}", ep.rule)
        path_names = [m.group(3) for m in _PATH_PARAM.finditer(ep.rule)]
        parameters: list[dict[str, Any]] = [
            {"name": m.group(3), "in": "path", "required": True, "schema": _path_schema(m.group(1), m.group(2))}
            for m in _PATH_PARAM.finditer(ep.rule)
        ]
        parameters += [{"name": name, "in": "query", "required": False,
                        "schema": kind if isinstance(kind, dict) else {"type": kind},
                        "description": text} for name, kind, text in ep.query]
        if ep.method in _CHANGING:
            parameters.append({"name": DEVICE_HEADER, "in": "header", "required": False,
                               "schema": {"type": "string", "maxLength": DEVICE_ID_MAX, "pattern": DEVICE_ID_PATTERN},
                               "description": "the calling device (kiosk, rating pad, tablet), kept in the event log"})
        if ep.idempotent:
            parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
                               "description": "a retry with the same key returns the first answer"})
        success = {"description": "success", "content": {
            media: {"schema": (_component(ep.response, schemas) if ep.response else {}) if media == "application/json"
                    else {}} for media in ep.produces}}
        own = {str(code): _answer(text) for code, text in ep.responses.items()}
        if ep.idempotent and ep.status != 200:  # a retry with the same key is answered with the first answer
            own["200"] = {**success, "description": "the same Idempotency-Key again: the first answer, "
                                                    "``replayed: true``"}
        common = _common_answers(ep, path_names, any(p["in"] == "header" for p in parameters))
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "tags": [ep.tag],
            "operationId": f"{ep.method}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_')}",
            "parameters": parameters,
            "responses": {
                str(ep.status): success,
                **dict(sorted({**common, **own}.items())),
            },
        }
        if ep.body is not None:
            required = bool(ep.body.model_json_schema().get("required"))  # no body at all reads as {}
            operation["requestBody"] = {"required": required, "content": {"application/json": {
                "schema": _component(ep.body, schemas)}}}
        operation["x-access"] = ep.auth
        if ep.token is not None:
            operation["x-token-scope"] = ep.token.value
        security = [{"staffSession": []}] if ep.auth != access.PUBLIC else [{}]  # {}: none needed
        if ep.token is not None:
            security.append({"apiToken": []})
        if security != [{}]:
            operation["security"] = security
        paths.setdefault(path, {})[ep.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "staffSession": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                 "description": "set by POST /api/session"},
                "apiToken": {"type": "http", "scheme": "bearer", "bearerFormat": "qt_…",
                             "description": "an integration's API token (a manager makes it on the manager page: "
                                            "API tokens), for the operations whose x-token-scope its scope reaches "
                                            "(act includes read)"},
            },
        },
    }
