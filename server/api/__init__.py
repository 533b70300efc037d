"""The JSON HTTP API under ``/api``; every route is registered with its schema for the OpenAPI document."""
