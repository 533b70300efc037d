"""Notifications over HTTP: the phone page's SMS opt-in and stop (by the ticket's private token), and the
webhooks a branch's managers make, disable, delete, test and watch (never an API token: tokens do not manage
integrations). Registered on the API's one blueprint (``server.api.registry.api``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from pydantic import Field

from server.api import responses as R
from server.api.registry import api, current_actor, route
from server.api.schemas import Body, Flag
from server.services.access import MANAGER, PUBLIC
from server.services.notifications import MAX_NAME, NotificationService

WEBHOOKS = "/branches/<branch>/webhooks"
SMS = "/tickets/<token>/sms"


def notifications() -> NotificationService:
    return current_app.extensions["notifications"]


class SmsOptInRequest(Body):
    phone: str = Field(min_length=1, max_length=32, description="the customer's mobile number")
    consent: Flag = Field(description="the customer ticked the consent line")
    language: str = Field(min_length=2, max_length=8, description="zh-CN or en: the messages' language")


class MakeWebhookRequest(Body):
    name: str = Field(min_length=1, max_length=MAX_NAME, description="e.g. 预约系统 / booking system")
    url: str = Field(min_length=1, max_length=500, description="http(s) URL the events are posted to")
    events: list[str] = Field(min_length=1, max_length=20, description="the events it gets")
    branches: list[str] | None = Field(default=None, max_length=200,
                                       description="the branches whose events it gets (this one among them); "
                                                   "absent: this branch only")


class EnableWebhookRequest(Body):
    enabled: Flag


@route(api, SMS, "GET", "Whether the hall sends text messages and this ticket's subscription (phone page)",
       tag="notifications", auth=PUBLIC, response=R.SmsState, responses={404: "unknown token"})
def sms_state(token: str) -> Any:
    return jsonify(notifications().sms_state(token))


@route(api, SMS, "POST", "Opt in to text messages for this ticket: '3 ahead', 'you're next', 'your turn' "
       "(phone page)", tag="notifications", auth=PUBLIC, body=SmsOptInRequest, response=R.SmsState,
       responses={400: "no consent (consent_required) or not a phone's number (bad_phone, the reason in both "
                       "languages in details.text)",
                  404: "unknown token", 409: "no SMS in this hall (sms_off), or the ticket is over (ticket_closed)",
                  422: "an unknown language (bad_language)"})
def sms_opt_in(token: str, body: SmsOptInRequest) -> Any:
    return jsonify(notifications().opt_in(token, body.phone, body.consent, body.language))


@route(api, f"{SMS}/stop", "POST", "Stop text messages: the number is removed at once (phone page)",
       tag="notifications", auth=PUBLIC, response=R.SmsState, responses={404: "unknown token"})
def sms_stop(token: str) -> Any:
    return jsonify(notifications().stop(token))


@route(api, WEBHOOKS, "GET", "The outgoing webhooks that reach the branch (managers)", tag="notifications",
       auth=MANAGER, response=R.WebhookList)
def list_webhooks(branch: str) -> Any:
    return jsonify(notifications().webhooks(branch, current_actor()))


@route(api, WEBHOOKS, "POST", "Make an outgoing webhook; the answer holds its signing secret, shown this once "
       "(managers)", tag="notifications", auth=MANAGER, body=MakeWebhookRequest, status=201, response=R.WebhookMade,
       responses={403: "a branch this manager does not manage (beyond_your_branches)",
                  422: "a bad name, URL (bad_url: not http(s), or the server itself, a link-local or cloud "
                       "metadata address), event list (bad_events) or branch list (bad_branches)"})
def make_webhook(branch: str, body: MakeWebhookRequest) -> Any:
    view, secret = notifications().create_webhook(branch, current_actor(), name=body.name, url=body.url,
                                                  events=body.events, branches=body.branches)
    return jsonify({**view, "secret": secret}), 201


@route(api, f"{WEBHOOKS}/<id:webhook_id>/enabled", "POST", "Enable or disable a webhook (managers)",
       tag="notifications", auth=MANAGER, body=EnableWebhookRequest, response=R.WebhookView,
       responses={403: "it reaches a branch this manager does not manage", 404: "no such webhook (unknown_webhook)"})
def enable_webhook(branch: str, webhook_id: int, body: EnableWebhookRequest) -> Any:
    return jsonify(notifications().set_enabled(branch, webhook_id, current_actor(), body.enabled))


@route(api, f"{WEBHOOKS}/<id:webhook_id>", "DELETE", "Delete a webhook; what it had pending is not sent (managers)",
       tag="notifications", auth=MANAGER, status=204,
       responses={403: "it reaches a branch this manager does not manage", 404: "no such webhook (unknown_webhook)"})
def delete_webhook(branch: str, webhook_id: int) -> Any:
    notifications().delete_webhook(branch, webhook_id, current_actor())
    return "", 204


@route(api, f"{WEBHOOKS}/<id:webhook_id>/test", "POST", "Send a webhook.test event to a webhook (managers)",
       tag="notifications", auth=MANAGER, status=202, response=R.WebhookTestQueued,
       responses={403: "it reaches a branch this manager does not manage", 404: "no such webhook (unknown_webhook)"})
def test_webhook(branch: str, webhook_id: int) -> Any:
    return jsonify(notifications().send_test(branch, webhook_id, current_actor())), 202


@route(api, f"{WEBHOOKS}/<id:webhook_id>/deliveries", "GET",
       "A webhook's latest deliveries with every attempt and the last answer (managers)", tag="notifications",
       auth=MANAGER, response=R.WebhookLog, responses={404: "no such webhook (unknown_webhook)"})
def webhook_deliveries(branch: str, webhook_id: int) -> Any:
    return jsonify(notifications().delivery_log(branch, webhook_id, current_actor()))
