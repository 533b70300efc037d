"""A long wait's other ways: the nearby branches' live waits and the self-service alternatives (docs/kiosk.md)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from server.api import responses as R
from server.api.registry import api, route
from server.services.access import PUBLIC
from server.services.hall import HallService
from server.services.overflow import OverflowService


def overflow() -> OverflowService:
    return current_app.extensions["overflow"]


def hall() -> HallService:
    return current_app.extensions["hall"]


@route(api, "/branches/<branch>/services/<service>/alternatives", "GET",
       "A service's wait here, and when it is long the nearby branches' waits and the self-service ways",
       tag="hall", auth=PUBLIC, response=R.Alternatives, responses={404: "unknown branch or service"}, token="read")
def alternatives(branch: str, service: str) -> Any:
    return jsonify(overflow().alternatives(branch, service))


@route(api, "/tickets/<token>/alternatives", "GET",
       "A customer's own ticket's wait, and when it is long the nearby branches' waits and the self-service ways",
       tag="tickets", auth=PUBLIC, response=R.Alternatives, responses={404: "unknown token"})
def ticket_alternatives(token: str) -> Any:
    return jsonify(overflow().for_ticket(hall().queries.ticket_by_token(token)))
