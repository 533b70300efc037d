"""The administration pages: ``/admin`` (the branches: create one, open one) and ``/admin/<branch>`` (a branch's
set-up: its own settings, categories, services, counters, display zones, kiosks; the rating and announcement
settings; import and export).

Renders only: the set-up comes from ``GET /api/admin/hall`` and every change goes through the administration API,
whose rules (the loader of config.toml, versions, a retired service's tickets) live in the service layer. The page
is told the choices the loader accepts (roles, scales, voices, device kinds), not taught them.
"""

from __future__ import annotations

from typing import Any

from flask import render_template

from server.domain.booking import LatePolicy
from server.domain.devices import OPTIONALLY_PAIRED
from server.domain.hall import ANNOUNCEMENT_VOICES, RATING_SCALES
from server.domain.hall_document import CODE_KEY, KIND_LABELS
from server.domain.policy import CounterRole
from server.domain.schedule import WEEKDAYS
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language

PAGES.append(("Administration 系统管理 (the hall set-up)", "/admin/{branch}"))


def _page(branch: dict[str, Any] | None, language: str | None) -> dict[str, Any]:
    return {
        "branch": branch,
        "language": language,
        "api": "/api/admin/hall",
        "kinds": {kind.value: label.as_dict() for kind, label in KIND_LABELS.items()},
        "code_keys": {kind.value: key for kind, key in CODE_KEY.items()},
        "choices": {
            "counter_roles": [role.value for role in CounterRole],
            "late_policies": [policy.value for policy in LatePolicy],
            "weekdays": list(WEEKDAYS),
            "pairing_kinds": [kind.value for kind in OPTIONALLY_PAIRED],
            "scales": list(RATING_SCALES),
            "voices": list(ANNOUNCEMENT_VOICES),
        },
    }


@blueprint.get("/admin")
def admin_home() -> Any:
    language = page_language()
    return render_template("back_office/admin.html", page=_page(None, language), language=language, branch=None)


@blueprint.get("/admin/<branch_code>")
def admin_branch(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = _page({"code": branch.code, "name": branch.name.as_dict()}, language)
    return render_template("back_office/admin.html", page=page, language=language, branch=branch)
