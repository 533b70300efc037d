"""The live results of a branch, shared by the process that holds its lease with every other process.

The holder of a branch (:mod:`server.services.branch_leases`) runs its refresh; the other processes still answer
reads that need its results: the estimate a new ticket is given at issue (and the overflow's waits elsewhere), the
snapshot's estimates, the manager's hall alerts, the overview's glance, a phone's own estimate. After each refresh
the holder sends the branch's **projection** on one channel every process listens to: the summary (per service:
waiting, people ahead and estimate of a new ticket, the alerts), per service and lane what a new ticket gets
(:class:`server.services.live.NewTicket`, so that a ticket issued on any process is promised a wait that grows with the
people ahead of it, as on the holder), and the glance. A few kilobytes, once per refresh, whatever the number of
processes.

The ticket updates of a refresh go on the same channel as one message (the changed tickets, and those no longer
waiting): each process hands them to the phones connected to it, instead of one relayed emit per ticket room, most
of which have no phone. The message carries each changed ticket's **figures** only (:func:`ticket_figures`: numbers,
its estimate in whole seconds), not the texts a phone shows in both languages: every process, the holder included,
builds the update its phones are pushed from the same figures (:func:`server.services.live.live_ticket`), a quarter of
the size of the updates themselves.

A process that is not the holder also **pokes** the holder after a command it committed, so the holder refreshes
as soon as if the command had been its own (rather than at its next look at the ``seq``).

This module holds the protocol and the message formats (plain JSON, readable by another release during an upgrade);
the Redis adapter is :mod:`server.live_redis`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from server.domain.estimation import UnknownReason, WaitEstimate
from server.domain.hall_alerts import HallAlert, HallAlertKind
from server.domain.overview import BranchGlance, ServiceWait
from server.domain.values import Text

FORMAT = 1
"""The messages' format: a process ignores messages of a format it does not know (a later release's)."""


class LiveShare(Protocol):
    """The channel between the processes' live sides."""

    enabled: bool  # False: one process; nothing is encoded or sent

    def publish(self, message: dict[str, Any]) -> None:
        """Send a message (a projection, ticket updates or a poke) to every other process."""
        ...


class NoShare:
    """One process: no channel."""

    enabled = False

    def publish(self, message: dict[str, Any]) -> None:
        return None


# --- message formats ------------------------------------------------------------------------------------------


def estimate_wire(estimate: WaitEstimate, whole_seconds: bool = False) -> list[Any]:
    """An estimate as sent (``whole_seconds``: rounded to the second, for a ticket's figures)."""
    seconds = [estimate.expected.total_seconds(), estimate.low.total_seconds(), estimate.high.total_seconds()]
    if whole_seconds:
        seconds = [round(value) for value in seconds]
    return [*seconds, estimate.level, estimate.known, None if estimate.reason is None else estimate.reason.value]


def estimate_from_wire(data: list[Any]) -> WaitEstimate:
    expected, low, high, level, known, reason = data
    return WaitEstimate(timedelta(seconds=expected), timedelta(seconds=low), timedelta(seconds=high), level=level,
                        known=known, reason=None if reason is None else UnknownReason(reason))


def _text(data: dict[str, str]) -> Text:
    return Text(zh=data["zh-CN"], en=data["en"])


def glance_wire(glance: BranchGlance) -> dict[str, Any]:
    """What the overview needs of a glance (its alerts by key, kind and text: what it lists and ranks by)."""
    worst = glance.worst
    return {
        "at": glance.at.isoformat(), "waiting": glance.waiting,
        "worst": None if worst is None else {
            "code": worst.code, "name": worst.name.as_dict(), "waiting": worst.waiting,
            "longest_s": worst.longest_wait.total_seconds(), "target_s": worst.target.total_seconds(),
            "new_ticket": estimate_wire(worst.new_ticket)},
        "counters": dict(glance.counters),
        "alerts": [{"key": a.key, "kind": a.kind.value, "text": a.text.as_dict()} for a in glance.alerts],
        "open_now": glance.open_now, "stopped_services": list(glance.stopped_services),
        "stopped_all": glance.stopped_all, "service_level": glance.service_level, "satisfaction": glance.satisfaction,
    }


def glance_from_wire(data: dict[str, Any]) -> BranchGlance:
    worst = data["worst"]
    return BranchGlance(
        at=datetime.fromisoformat(data["at"]), waiting=data["waiting"],
        worst=None if worst is None else ServiceWait(
            code=worst["code"], name=_text(worst["name"]), waiting=worst["waiting"],
            longest_wait=timedelta(seconds=worst["longest_s"]), target=timedelta(seconds=worst["target_s"]),
            new_ticket=estimate_from_wire(worst["new_ticket"])),
        counters=dict(data["counters"]),
        alerts=tuple(HallAlert(key=a["key"], kind=HallAlertKind(a["kind"]), text=_text(a["text"]),
                               suggestion=Text("", "")) for a in data["alerts"]),
        open_now=data["open_now"], stopped_services=tuple(data["stopped_services"]),
        stopped_all=data["stopped_all"], service_level=data["service_level"], satisfaction=data["satisfaction"])


def projection_message(owner: str, branch: str, refreshed_at: datetime, seq: int, summary: dict[str, Any],
                       new: dict[tuple[str, str], Any], glance: BranchGlance | None) -> dict[str, Any]:
    """A refresh's results as sent (``new``: :class:`server.services.live.NewTicket` per service and lane)."""
    return {
        "format": FORMAT, "type": "projection", "owner": owner, "branch": branch, "seq": seq,
        "refreshed_at": refreshed_at.isoformat(), "summary": summary,
        "new": [[service, lane, estimate_wire(n.estimate), n.ahead,
                 None if n.per_person is None else n.per_person.total_seconds(), n.booked]
                for (service, lane), n in new.items()],
        "glance": None if glance is None else glance_wire(glance),
    }


def ticket_figures(ticket_id: int, number: str, state: str, people_ahead: int, estimate: WaitEstimate,
                   held_until: datetime | None) -> list[Any]:
    """What a phone's update is built from, for one waiting ticket: its people ahead, its estimate to the second (a
    customer is shown minutes), and until when it is held (an appointment before its slot), else None."""
    return [ticket_id, number, state, people_ahead, estimate_wire(estimate, whole_seconds=True),
            None if held_until is None else held_until.isoformat()]


def ticket_figures_message(owner: str, branch: str, seq: int, figures: list[list[Any]], gone: list[int]
                           ) -> dict[str, Any]:
    """The changed tickets of a refresh (:func:`ticket_figures`, at the branch's ``seq``), and the tickets no longer
    waiting. An earlier release sent the updates themselves as type ``tickets`` (still taken in from such a holder
    during a rolling upgrade); it ignores this type, so its phones hear of a new release's holder at their next
    snapshot only, until it is upgraded too."""
    return {"format": FORMAT, "type": "ticket_figures", "owner": owner, "branch": branch, "seq": seq,
            "tickets": figures, "gone": gone}


def poke_message(owner: str, branch: str, urgent: bool, plans: bool = False) -> dict[str, Any]:
    """A command committed on a process that does not hold the branch: its holder should refresh soon (``plans``:
    the roster or the bookings changed, read them again)."""
    return {"format": FORMAT, "type": "poke", "owner": owner, "branch": branch, "urgent": urgent, "plans": plans}


__all__ = ["FORMAT", "LiveShare", "NoShare", "estimate_from_wire", "estimate_wire", "glance_from_wire",
           "glance_wire", "poke_message", "projection_message", "ticket_figures", "ticket_figures_message"]
