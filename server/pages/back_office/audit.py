"""The audit log's page for managers: who did what, when, from where, and what it was before; filters, pages of
entries, and the CSV export.

Renders only; the entries come from ``GET /api/audit`` with the session, the export is ``GET /api/audit.csv``. The
actions it offers and the names of the changed fields are the domain's (:mod:`server.domain.audit`).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from server.domain.audit import AuditAction
from server.pages.back_office import PAGES, blueprint
from server.pages.common import page_branch, page_language

PAGES.append(("Audit log 审计日志", "/manager/{branch}/audit"))
PAGE_SIZE = 50


@blueprint.get("/manager/<branch_code>/audit")
def audit_page(branch_code: str) -> Any:
    branch = page_branch(branch_code)
    language = page_language()
    page = {
        "branch": {"code": branch.code, "name": branch.name.as_dict(), "timezone": branch.timezone.key},
        "language": language,
        "api": "/api/audit",
        "csv": "/api/audit.csv",
        "manager_page": f"/manager/{branch.code}",
        "page_size": PAGE_SIZE,
        "actions": [{"code": action.value, "label": action.label.as_dict()} for action in AuditAction],
        "people": current_app.extensions["audit"].branch_people(branch.code),
    }
    return render_template("back_office/audit.html", page=page, language=language, branch=branch)
