"""The hall's pages, grouped by who looks at them (their audience), registered from one list.

Each audience is a package with a Flask blueprint (its routes, templates and scripts) and ``PAGES``, the
(label, path template with ``{branch}``) pairs printed by ``make run`` and linked from ``/``. A new page goes
into its audience's package; a new audience is one more line here.

Pages only render and call the JSON API and the live connection; queue rules stay in the service layer.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from flask import Blueprint

AUDIENCES: tuple[str, ...] = (
    "kiosk",  # customers: the kiosk, the phone ticket, online booking
    "display",  # hall screens: the wall display, the counter display
    "server.pages.counter_devices",  # counter devices: the staff console, the rating pad
    "server.pages.back_office",  # back office: the manager page, the administration
)
"""The audience packages, by import name (imported when the app is built, so that no page module is
imported by merely importing this package)."""


@dataclass(frozen=True)
class Audience:
    """One audience package: its blueprint and its pages as (label, path template with ``{branch}``)."""

    name: str
    blueprint: Blueprint
    pages: tuple[tuple[str, str], ...]


def audiences() -> list[Audience]:
    """The audience packages of :data:`AUDIENCES`, imported, in that order."""
    found = []
    for name in AUDIENCES:
        module = importlib.import_module(name)
        found.append(Audience(name, module.blueprint, tuple(module.PAGES)))
    return found
