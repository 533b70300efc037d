"""The JSON HTTP API under ``/api``; every route is registered with its access rule and its schema for the
OpenAPI document.

Importing this package registers every route module on the one blueprint (:data:`registry.api`).
"""

from server.api import (
    account_routes,
    admin_routes,
    audit_routes,
    booking_routes,
    device_routes,
    display_routes,
    follow_up_routes,
    notification_routes,
    overflow_routes,
    overview_routes,
    printing_routes,
    privacy_routes,
    rating_routes,
    remote_routes,
    report_routes,
    roster_routes,
    routes,
    token_routes,
    what_if_routes,
)
from server.api.errors import register_error_handlers
from server.api.registry import api

__all__ = ["account_routes", "admin_routes", "api", "audit_routes", "booking_routes", "device_routes", "display_routes",
           "follow_up_routes", "notification_routes", "overflow_routes", "overview_routes", "printing_routes",
           "privacy_routes", "rating_routes", "register_error_handlers", "remote_routes", "report_routes",
           "roster_routes", "routes", "token_routes", "what_if_routes"]
