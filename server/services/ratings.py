"""Customer ratings of finished tickets, the follow-ups of dissatisfied ones, and the staff "my day" summary.

A customer rates a finished ticket once: from the counter's rating pad (within ``rating_window_min`` of the
finish, only the last ticket that counter finished, and only from the device paired as that counter's pad or by
the member of staff signed in there: :func:`server.services.devices.require_at`) or on the ticket's phone page
(by its private token, within the same window). A dissatisfied score opens a follow-up case
(:mod:`server.services.follow_ups`) that one owner carries until it is resolved.
Each command runs in one transaction of :class:`~server.services.unit_of_work.UnitOfWork` and emits its
events; public events carry no staff names and no comments (those travel in ``private``).
"""

from __future__ import annotations

import json
from collections import Counter as Tally
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from server.domain.devices import DeviceKind, Role
from server.domain.errors import DomainError
from server.domain.hall import RATING_SCALES, Branch, RatingSettings
from server.domain.numbering import service_day
from server.domain.privacy import ContactGiven
from server.domain.ticket import Ticket
from server.domain.tickets import EventKind, TicketState
from server.persistence import ratings as records
from server.persistence import tickets
from server.persistence.tables import Rating, TicketRow
from server.services.access import require_branch, require_counter, require_manager, require_staff
from server.services.actor import Actor, Clock, utc_now
from server.services.devices import require_at
from server.services.follow_ups import FollowUpService, open_for_rating
from server.services.hall_model import HallModel, ReadsHallModel, model_of
from server.services.privacy import (
    add_call_back,
    has_call_back,
    staff_text,
)
from server.services.unit_of_work import Transaction, UnitOfWork
from server.services.views import iso, ticket_public
from server.settings import HallConfig

CHANNEL_PAD = "pad"
CHANNEL_MOBILE = "mobile"
MAX_COMMENT = 200


class RatingService(ReadsHallModel):
    """Rating commands (pad, phone) and the queries the pad, the phone page and the staff console need."""

    def __init__(self, config: HallConfig | HallModel, uow: UnitOfWork, clock: Clock = utc_now) -> None:
        self.model = model_of(config)
        self.uow = uow
        self.clock = clock
        self.cases = FollowUpService(self.model, uow, clock)  # the case a dissatisfied rating opens

    @property
    def settings(self) -> RatingSettings:
        return self.config.ratings

    # --- public reads ---------------------------------------------------------------------------------

    def rating_config(self) -> dict[str, Any]:
        """What the pad and the phone page show: the scale's scores with their words and, with each score, the
        reason chips offered with it (:meth:`RatingSettings.reasons_for`, the one rule both pages follow)."""
        settings = self.settings
        return {
            "scale": settings.scale,
            "scores": [{"score": score, "label": label.as_dict(), "dissatisfied": settings.is_dissatisfied(score),
                        "reasons": [{"code": c.code, "text": c.text.as_dict()} for c in settings.reasons_for(score)]}
                       for score, label in RATING_SCALES[settings.scale]],
            "dissatisfied_scores": list(settings.dissatisfied_scores),
            "comment_max_length": MAX_COMMENT,
            "pad_timeout_s": settings.pad_timeout_s,
            "rating_window_min": settings.rating_window.total_seconds() / 60,
            # with a dissatisfied score the customer may leave a number to be called back; how long it is kept
            "call_back": {"days_after_resolved": self.config.privacy.contact_days_after_resolved,
                          "max_days": self.config.privacy.contact_max_days},
        }

    def rating_state(self, token: str) -> dict[str, Any]:
        """For the phone page: is the ticket rated, may it still be rated, and until when."""
        now = self.clock()
        with self.uow.read() as session:
            ticket = tickets.by_token(session.connection(), token)
            rating = _rating_of(session, ticket)
            call_back = rating is not None and has_call_back(session, rating.id)
        rate_until = self._rate_until(ticket)
        can_rate = rating is None and rate_until is not None and now <= rate_until
        return {"ticket_id": ticket.id, "number": ticket.number, "state": ticket.state, "rated": rating is not None,
                "can_rate": can_rate, "rate_until": iso(rate_until),
                "rating": None if rating is None else rating_view(rating, ticket, call_back=call_back)}

    def pad_prompt(self, branch_code: str, counter_number: str, actor: Actor) -> dict[str, Any]:
        """For a counter's pad: the ticket it last finished (within the rating window) and whether it is rated."""
        branch = self._branch(branch_code)
        counter = _counter_number(branch, counter_number)
        now = self.clock()
        with self.uow.read() as session:
            require_at(session.connection(), self.config, actor, branch, Role(DeviceKind.PAD, counter))
            ticket = tickets.last_finished_at(session.connection(), branch.code, counter,
                                              now - self.settings.rating_window)
            rated = ticket is not None and _rating_of(session, ticket) is not None
        response: dict[str, Any] = {"counter": counter, "server_time": now.isoformat(),
                                    "pad_timeout_s": self.settings.pad_timeout_s, "ticket": None}
        if ticket is not None and ticket.finished_at is not None:
            response["ticket"] = {
                "id": ticket.id, "number": ticket.number, "service": ticket.service_code,
                "finished_at": iso(ticket.finished_at), "rated": rated,
                "ask_until": iso(ticket.finished_at + timedelta(seconds=self.settings.pad_timeout_s)),
                "rate_until": iso(self._rate_until(ticket)),
            }
        return response

    # --- customer commands ----------------------------------------------------------------------------

    def rate_by_token(self, token: str, score: int, *, reasons: Sequence[str] = (), comment: str | None = None,
                      call_back: ContactGiven | None = None) -> dict[str, Any]:
        """The customer rates their own finished ticket on the phone page (with a dissatisfied score, optionally
        leaving a number to be called back: ``call_back``)."""
        reasons, comment = self._checked(score, reasons, comment, call_back)
        with self.uow.read() as session:
            branch_code, ticket_id = tickets.locate(session.connection(), token)
        branch = self._branch(branch_code)
        with self.uow.command(branch, self.clock()) as tx:
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            return self._rate(tx, ticket, score, reasons, comment, channel=CHANNEL_MOBILE, device=None,
                              call_back=call_back)

    def rate_at_counter(self, branch_code: str, counter_number: str, ticket_id: int, score: int, *, actor: Actor,
                        reasons: Sequence[str] = (), comment: str | None = None,
                        call_back: ContactGiven | None = None) -> dict[str, Any]:
        """The counter's pad (``actor``: the paired pad, or the member of staff signed in at the counter) rates
        the last ticket that counter finished, within the rating window."""
        branch = self._branch(branch_code)
        counter = _counter_number(branch, counter_number)
        reasons, comment = self._checked(score, reasons, comment, call_back)
        with self.uow.command(branch, self.clock()) as tx:
            require_at(tx.connection, self.config, actor, branch, Role(DeviceKind.PAD, counter))
            ticket = tickets.get(tx.connection, branch.code, ticket_id)
            if ticket.counter_number is not None and ticket.counter_number != counter:
                raise DomainError(f"{ticket.number} was not served at counter {counter}; rate it at its own counter",
                                  code="wrong_counter")
            last = tickets.last_finished_at(tx.connection, branch.code, counter, tx.now - self.settings.rating_window)
            if ticket.state == TicketState.DONE.value and last is not None and last.id != ticket.id:
                raise DomainError(f"counter {counter} has finished {last.number} since {ticket.number}; its pad rates "
                                  "only the ticket it finished last", code="not_last_ticket", last=last.number)
            return self._rate(tx, ticket, score, reasons, comment, channel=CHANNEL_PAD, device=actor.device,
                              call_back=call_back)

    # --- staff reads -----------------------------------------------------------------------------------

    def staff_day(self, branch_code: str, actor: Actor) -> dict[str, Any]:
        """The signed-in staff member's day so far (branch-local day): served, no-shows, service time, ratings."""
        branch = self._branch(branch_code)
        self._require_staff(actor, branch)
        now = self.clock()
        day = service_day(now, branch.timezone)
        start = datetime.combine(day, time(0), tzinfo=branch.timezone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=branch.timezone)
        with self.uow.read() as session:
            done = records.finished_by(session, branch.code, actor.username, start, end)
            no_shows = records.no_shows_by(session, branch.code, actor.username, start, end)
            ratings = records.ratings_of(session, branch.code, actor.username, start, end)
        service_minutes = [(finished - (started or called)).total_seconds() / 60
                           for started, called, finished in done if finished and (started or called)]
        scale = self.settings.scale
        scores = [score for score, rated_scale, _ in ratings if rated_scale == scale]
        by_score = Tally(scores)
        satisfied = sum(1 for _, _, dissatisfied in ratings if not dissatisfied)
        account = self.config.account(actor.username or "")
        return {
            "branch": branch.code,
            "staff": actor.username,
            "display_name": account.display_name if account else actor.username,
            "day": day.isoformat(),
            "timezone": branch.timezone.key,
            "generated_at": now.isoformat(),
            "served": len(done),
            "no_shows": no_shows,
            "average_service_min": _mean(service_minutes),
            "ratings": {
                "count": len(ratings),
                "scale": scale,
                "average_score": _mean(scores),
                "satisfied_share": round(satisfied / len(ratings), 4) if ratings else None,
                "by_score": {str(score): by_score.get(score, 0) for score in self.settings.scores},
            },
        }

    # --- internals ------------------------------------------------------------------------------------

    def _rate(self, tx: Transaction, ticket: Ticket | TicketRow, score: int, reasons: list[str], comment: str | None, *,
              channel: str, device: str | None, call_back: ContactGiven | None = None) -> dict[str, Any]:
        if ticket.state != TicketState.DONE.value:
            raise DomainError(f"{ticket.number} is {ticket.state.replace('_', ' ')}; only a finished service can be "
                              "rated", code="not_finished", state=ticket.state)
        existing = _rating_of(tx.session, ticket)
        if existing is not None:
            raise DomainError(f"{ticket.number} was already rated; thank you", code="already_rated",
                              rated_at=iso(existing.created_at))
        rate_until = self._rate_until(ticket)
        if rate_until is None or tx.now > rate_until:
            minutes = f"{self.settings.rating_window.total_seconds() / 60:g}"
            raise DomainError(f"{ticket.number} was finished more than {minutes} min ago; it can no longer be rated",
                              code="rating_window_passed")
        dissatisfied = self.settings.is_dissatisfied(score)
        assert ticket.id is not None
        rating = Rating(ticket_id=ticket.id, branch_code=tx.branch.code, counter_number=ticket.counter_number,
                        staff_username=ticket.staff_username, score=score, scale=self.settings.scale,
                        dissatisfied=dissatisfied, reasons=json.dumps(reasons), comment=comment, channel=channel,
                        created_at=tx.now)
        tx.session.add(rating)
        tx.session.flush()
        tx.emit(EventKind.RATED, ticket=ticket, counter=ticket.counter_number, device=device,
                data={"rating_id": rating.id, "score": score, "scale": rating.scale, "reasons": reasons,
                      "channel": channel, "dissatisfied": dissatisfied, "rated_staff": ticket.staff_username},
                public={"ticket": ticket_public(ticket, tx.branch),
                        "rating": {"ticket_id": ticket.id, "number": ticket.number, "score": score,
                                   "scale": rating.scale, "channel": channel}},
                private={"rated_staff": ticket.staff_username, "rating": rating_view(rating, ticket)})
        follow_up = contact = None
        if dissatisfied:
            assert rating.id is not None
            follow_up = open_for_rating(tx, self.config.follow_ups, rating)
            if call_back is not None:  # the customer's number, with their consent, for the follow-up's owner
                contact = add_call_back(tx, self.config.privacy, call_back, follow_up=follow_up, rating=rating,
                                        channel=channel)
            tx.emit(EventKind.FOLLOW_UP_OPENED, ticket=ticket, counter=ticket.counter_number, device=device,
                    data={"follow_up_id": follow_up.id, "rating_id": rating.id, "score": score,
                          "rated_staff": ticket.staff_username, "call_back": contact is not None},
                    public={"follow_up": {"id": follow_up.id, "state": follow_up.state}},
                    private={"follow_up": self.cases.case_view(follow_up, rating, ticket, tx.branch, contact,
                                                               tx.now)})
        return {**rating_view(rating, ticket, call_back=contact is not None),
                "follow_up_opened": follow_up is not None}

    def _checked(self, score: int, reasons: Sequence[str], comment: str | None,
                 call_back: ContactGiven | None = None) -> tuple[list[str], str | None]:
        """Refuse a score outside the scale, reasons not offered with that score, a long comment, or a call-back
        with a score that opens no follow-up (422)."""
        settings = self.settings
        if isinstance(score, bool) or not isinstance(score, int) or score not in settings.scores:
            raise DomainError(f"score must be one of {', '.join(map(str, sorted(settings.scores)))} on the "
                              f"{settings.scale} scale", code="bad_score", http_status=422, score=score)
        offered = [chip.code for chip in settings.reasons_for(score)]
        unknown = [code for code in reasons if code not in offered]
        if unknown:
            raise DomainError(f"reason {unknown[0][:40]!r} is not offered with score {score} (offered: "
                              f"{', '.join(offered) or 'none'})", code="unknown_reason", http_status=422,
                              reasons=unknown)
        if len(set(reasons)) != len(reasons):
            raise DomainError("a reason is given twice", code="duplicate_reason", http_status=422)
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT:
            raise DomainError(f"the comment is longer than {MAX_COMMENT} characters", code="comment_too_long",
                              http_status=422)
        if call_back is not None and not settings.is_dissatisfied(score):
            raise DomainError("a call-back is offered only with a dissatisfied score", code="call_back_not_offered",
                              http_status=422)
        return list(reasons), comment

    def _rate_until(self, ticket: Ticket | TicketRow) -> datetime | None:
        if ticket.state != TicketState.DONE.value or ticket.finished_at is None:
            return None
        return ticket.finished_at + self.settings.rating_window

    def _display_name(self, username: str | None) -> str | None:
        return self.config.display_name(username)

    def _branch(self, code: str) -> Branch:
        return require_branch(self.config, code)

    def _require_staff(self, actor: Actor, branch: Branch) -> None:
        require_staff(self.config, actor, branch)

    def _require_manager(self, actor: Actor, branch: Branch) -> None:
        require_manager(self.config, actor, branch)


def rating_view(rating: Rating, ticket: Ticket | TicketRow, *, call_back: bool = False) -> dict[str, Any]:
    """A rating as the customer who gave it may see it again (no staff names; whether they left a number, never
    the number; phone-like numbers in the comment masked, as staff see it too)."""
    return {"ticket_id": ticket.id, "number": ticket.number, "score": rating.score, "scale": rating.scale,
            "reasons": json.loads(rating.reasons), "comment": staff_text(rating.comment), "channel": rating.channel,
            "rated_at": iso(rating.created_at), "call_back": call_back}


def _rating_of(session: Session, ticket: Ticket | TicketRow) -> Rating | None:
    return records.of_ticket(session, ticket.id)


def _counter_number(branch: Branch, number: str) -> str:
    return require_counter(branch, number).number


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


__all__ = ["CHANNEL_MOBILE", "CHANNEL_PAD", "RatingService", "rating_view"]
