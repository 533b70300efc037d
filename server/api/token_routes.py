"""API tokens over HTTP: a branch's managers make, list and revoke the tokens of integrations (never a token
itself: tokens do not manage tokens). Registered on the API's one blueprint (``server.api.registry.api``)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import Field

from server.api import responses as R
from server.api.registry import api, current_actor, route
from server.api.schemas import Body
from server.domain.api_tokens import MAX_EXPIRY, MAX_NAME
from server.services.access import MANAGER
from server.web import api_tokens

TOKENS = "/branches/<branch>/api-tokens"


class MakeTokenRequest(Body):
    name: str = Field(min_length=1, max_length=MAX_NAME, description="e.g. 预约系统 / booking system")
    scope: str = Field(min_length=1, max_length=8, description="read or act")
    branches: list[str] | None = Field(default=None, max_length=200,
                                       description="the branches it reaches (this one among them); null: every "
                                                   "branch (only a manager of every branch)")
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_EXPIRY.days, description="null: never expires")


@route(api, TOKENS, "GET", "The API tokens that reach the branch: prefix, scope, branches, last use (managers)",
       tag="api tokens", auth=MANAGER, response=R.ApiTokenList)
def list_tokens(branch: str) -> Any:
    return jsonify(api_tokens().tokens(branch, current_actor()))


@route(api, TOKENS, "POST", "Make an API token for an integration; the answer holds the token, shown this once "
       "(managers, for branches they manage)", tag="api tokens", auth=MANAGER, body=MakeTokenRequest, status=201,
       response=R.ApiTokenMade,
       responses={403: "a branch this manager does not manage, or every branch by a manager of some "
                       "(beyond_your_branches)",
                  422: "a bad name, scope, expiry or branch list (bad_name, bad_scope, bad_expiry, bad_branches)"})
def make_token(branch: str, body: MakeTokenRequest) -> Any:
    view, token = api_tokens().create(branch, current_actor(), name=body.name, scope=body.scope,
                                      branches=body.branches, expires_in_days=body.expires_in_days)
    return jsonify({**view, "token": token}), 201


@route(api, f"{TOKENS}/<id:token_id>/revoke", "POST",
       "Revoke an API token: refused from its next request on (managers of every branch it reaches)",
       tag="api tokens", auth=MANAGER, response=R.ApiTokenView,
       responses={403: "it also reaches a branch this manager does not manage (beyond_your_branches)",
                  404: "no such token at the branch (unknown_token)", 409: "already revoked (already_revoked)"})
def revoke_token(branch: str, token_id: int) -> Any:
    return jsonify(api_tokens().revoke(branch, token_id, current_actor()))
