"""The manager's page: the live hall, the accuracy of wait estimates, follow-ups and device faults.

Renders only; data comes from the live connection (role ``manager``) and the JSON API with the session.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from server.pages import PAGES, blueprint
from server.services.access import require_branch
from server.services.views import service_view

PAGES.append(("Manager 值班经理", "/manager/{branch}"))


@blueprint.get("/manager/<branch_code>")
def manager_page(branch_code: str) -> Any:
    branch = require_branch(current_app.extensions["hall"].config, branch_code)
    language = request.args.get("lang") if request.args.get("lang") in ("zh-CN", "en") else "zh-CN"
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "services": [service_view(s) for s in branch.services],
        "api": f"/api/branches/{branch.code}",
    }
    return render_template("pages/manager.html", page=page, language=language, branch=branch)
