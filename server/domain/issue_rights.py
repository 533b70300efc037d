"""Who may take which class of ticket: the one rule behind the issue command and the pages that offer the classes.

* **Staff of the branch** and an **integration** whose API token may act at the branch (a booking system) issue
  every class: normal, priority lane (爱心通道), VIP and appointment.
* A **paired kiosk** of the branch issues normal and priority-lane tickets.
* **Anyone else** (a kiosk page that is not paired, a phone, a script) issues normal tickets, and priority-lane
  tickets only where the branch lets anyone (``[branches.devices] priority_from = "anyone"``, and its kiosks need
  not be paired).

VIP and appointment tickets stay with staff and integrations (:attr:`PriorityClass.given_by_staff`). Pure: the
caller's kind is worked out by :func:`server.services.access.issuer_of`.
"""

from __future__ import annotations

from enum import StrEnum

from server.domain.devices import DeviceSettings
from server.domain.errors import NotAllowed
from server.domain.tickets import PriorityClass
from server.domain.values import Text


class Issuer(StrEnum):
    """Who asks for a ticket, as far as the ticket's class is concerned."""

    STAFF = "staff"  # a signed-in staff member or manager of the branch
    INTEGRATION = "integration"  # an API token that may act at the branch
    PAIRED_KIOSK = "paired_kiosk"  # a kiosk a manager of the branch paired
    ANYONE = "anyone"  # an unpaired kiosk page, a phone, a script


PRIORITY_REFUSAL = Text(
    "爱心通道号票只能在本厅已配对的取号机上领取，或请工作人员为您取号。",
    "Priority-lane tickets are given only at this hall's paired kiosks, or by staff: please ask at the "
    "information desk.",
)
"""What a refused priority-lane ticket says, in both languages (the kiosk shows it)."""


def may_issue(issuer: Issuer, priority: PriorityClass, settings: DeviceSettings) -> bool:
    """Whether ``issuer`` may take a ticket of class ``priority`` at a branch with these device rules."""
    if issuer in (Issuer.STAFF, Issuer.INTEGRATION):
        return True
    if priority.given_by_staff:
        return False
    if priority == PriorityClass.PRIORITY and settings.priority_needs_paired_kiosk:
        return issuer == Issuer.PAIRED_KIOSK
    return True


def issuable(issuer: Issuer, settings: DeviceSettings) -> tuple[PriorityClass, ...]:
    """The classes ``issuer`` may take, in the vocabulary's order (what a kiosk page is told to offer)."""
    return tuple(p for p in PriorityClass if may_issue(issuer, p, settings))


class PriorityNeedsPairedKiosk(NotAllowed):
    """403: a priority-lane ticket asked for by someone who is neither a paired kiosk nor staff of the branch."""

    code = "priority_needs_paired_kiosk"

    def __init__(self, branch_code: str) -> None:
        super().__init__(f"at branch {branch_code} a priority-lane ticket comes only from a paired kiosk of the branch "
                         "or from its staff", text=PRIORITY_REFUSAL.as_dict())


__all__ = ["PRIORITY_REFUSAL", "Issuer", "PriorityNeedsPairedKiosk", "issuable", "may_issue"]
