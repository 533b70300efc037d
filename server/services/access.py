"""Who may do what, in one place: the actor behind a session, "works at this branch", the staff and manager
rules, and the "branch, counter or service, or 404" lookups every entry point and service shares.

HTTP routes declare their rule (``route(auth=...)`` in :mod:`server.api.registry`, one of :data:`AUTH_LEVELS`)
and the socket ``join`` applies the same functions; services check again with the actor they are given, so
a command called from anywhere else (tests, the CLI) is refused the same way.

An integration's API token (:mod:`server.domain.api_tokens`) stands in for a manager of its branches, within its
scope: routes declare the scope a token needs (``route(token=...)``; none: closed to tokens), and the services'
``require_staff`` / ``require_manager`` take a ``token_scope`` (None, the default: no token passes).
"""

from __future__ import annotations

from collections.abc import Sequence

from server.domain.api_tokens import Scope, require_scope
from server.domain.devices import DeviceKind, DeviceState, Role
from server.domain.errors import NotAllowed, NotFound, Unauthenticated
from server.domain.hall import AccountRole, Branch, Counter, Service, StaffAccount
from server.domain.issue_rights import Issuer, PriorityNeedsPairedKiosk, issuable, may_issue
from server.domain.limits import Network, address_in
from server.domain.tickets import PriorityClass
from server.services.actor import Actor
from server.settings import HallConfig

PUBLIC = "public"
STAFF = "staff"  # a signed-in staff member or manager who works at the branch
MANAGER = "manager"  # a signed-in manager who works at the branch (or an admin)
ADMIN = "admin"  # a signed-in administrator: the hall set-up and the accounts of every branch
REPORTS = "reports"  # reads a branch's figures: its managers, an admin, a regional account of its region
AUTH_LEVELS = (PUBLIC, STAFF, MANAGER, ADMIN, REPORTS)
STAFF_ROLES = tuple(role.value for role in AccountRole if role.works_in_branches)
"""The roles that work in branches (sign in to counters, see the staff view): all but the read-only regional one."""
STAFF_VIEWS = (STAFF, MANAGER)
"""The private views of a branch a live socket joins (``join`` with this role), by the rule of the same name."""

SIGN_IN_FIRST = "sign in as staff first (POST /api/session)"


def resolve_actor(config: HallConfig, username: str | None, device: str | None = None,
                  address: str | None = None) -> Actor:
    """The actor a session stands for: its account's name and role, or an anonymous actor when the session names
    nobody or an account the configuration no longer has or has disabled (such an account loses its access at once)."""
    account = config.account(username) if username else None
    if account is None or account.disabled:
        return Actor(username=None, device=device, address=address)
    return Actor(username=account.username, role=account.role, device=device, address=address)


def works_at(config: HallConfig, who: Actor | StaffAccount, branch: Branch | str) -> bool:
    """Whether a staff account (or the signed-in actor's account) works at ``branch``; an account with no
    ``branches`` works at every branch. An actor without an account works nowhere."""
    if isinstance(who, StaffAccount):
        account: StaffAccount | None = who
    else:
        account = config.account(who.username) if who.username else None
    if account is None:
        return False
    code = branch if isinstance(branch, str) else branch.code
    return account.role == AccountRole.ADMIN or not account.branches or code in account.branches


def require_metrics_reader(actor: Actor, networks: Sequence[Network]) -> None:
    """Who may read ``/metrics`` (how busy every branch is): a caller from ``[server] metrics_from``, a signed-in
    admin, or an API token that reads every branch; 403 ``forbidden`` for anyone else."""
    if actor.token is not None:
        require_scope(actor.token, Scope.READ, None)
        if actor.token.branches is not None:
            raise NotAllowed("the metrics cover every branch: only a token for every branch reads them",
                             code="forbidden")
        return
    if actor.role == AccountRole.ADMIN or address_in(actor.address, networks):
        return
    raise NotAllowed("the metrics are read from the addresses in [server] metrics_from, by an admin or with an API "
                     "token for every branch", code="forbidden")


def refuse_the_signed_out(actor: Actor) -> None:
    """Refuse someone who is not signed in as a person working in branches: 401 for nobody, 403
    ``read_only_account`` for a regional account (it reads reports and does nothing else)."""
    if actor.username is not None and actor.role == AccountRole.REGIONAL:
        raise NotAllowed("a regional account only reads reports", code="read_only_account")
    raise Unauthenticated(SIGN_IN_FIRST)


def require_staff(config: HallConfig, actor: Actor, branch: Branch, *, token_scope: Scope | None = None) -> None:
    """A signed-in staff member or manager who works at this branch: 401 ``unauthenticated`` when nobody is
    signed in, 403 ``forbidden`` for someone of another branch. An API token passes only where ``token_scope``
    says which scope it needs (and it reaches the branch)."""
    if actor.token is not None:
        require_scope(actor.token, token_scope, branch.code)
        return
    if actor.username is None or actor.role not in STAFF_ROLES:
        refuse_the_signed_out(actor)
    if not works_at(config, actor, branch):
        raise NotAllowed(f"{actor.username} does not work at branch {branch.code}")


def require_manager(config: HallConfig, actor: Actor, branch: Branch, *, code: str = "manager_only",
                    token_scope: Scope | None = None) -> None:
    """A signed-in manager who works at this branch (as :func:`require_staff`, then 403 ``code`` for staff); an
    API token as for :func:`require_staff`.

    ``code`` stays ``forbidden`` where clients have always been told that (the displays' media and notices,
    the estimate accuracy, the manager's socket view)."""
    require_staff(config, actor, branch, token_scope=token_scope)
    if actor.token is not None:
        return
    if not actor.is_manager:
        raise NotAllowed("only a manager may do this", code=code)


def managed_branches(config: HallConfig, actor: Actor, branch_code: str) -> tuple[Branch, frozenset[str] | None]:
    """The branch, for a signed-in manager of it (never an API token: tokens do not manage integrations), and the
    branches that manager works at (None: every branch)."""
    branch = require_branch(config, branch_code)
    require_manager(config, actor, branch)
    account = config.account(actor.username or "")
    assert account is not None
    return branch, frozenset(account.branches) if account.branches else None


def require_previewer(config: HallConfig, actor: Actor, branch: Branch) -> None:
    """Who may open a kiosk or display page of the branch as an inert preview (framed by the back office's displays
    page, past the device's pairing): the branch's managers and the admins, who manage what those screens show;
    401 for nobody, 403 ``forbidden`` for the rest."""
    if actor.token is not None:
        raise NotAllowed("a preview is for a signed-in manager, not an API token", code="forbidden")
    require_manager(config, actor, branch, code="forbidden")


def reads_reports_of(config: HallConfig, actor: Actor, branch: Branch) -> bool:
    """Whether the actor may read the branch's figures: its managers and the admins, and a regional account whose
    regions include the branch's."""
    if actor.username is None:
        return False
    if actor.role == AccountRole.REGIONAL:
        account = config.account(actor.username)
        return account is not None and branch.region is not None and branch.region in account.regions
    return is_manager_of(config, actor, branch)


def links_overview(config: HallConfig, account: StaffAccount) -> bool:
    """Whether the pages offer the account the overview of branches (``/overview``): a regional account (its only
    page), an admin, and a manager who works at more than one branch."""
    role = AccountRole(account.role)
    if role == AccountRole.REGIONAL:
        return True
    if not role.manages:
        return False
    return role == AccountRole.ADMIN or sum(1 for b in config.branches if works_at(config, account, b)) > 1


def require_reports(config: HallConfig, actor: Actor, branch: Branch, *, code: str = "forbidden",
                    token_scope: Scope | None = None) -> None:
    """As :func:`reads_reports_of`: 401 for nobody, 403 ``code`` for anyone else; an API token as for
    :func:`require_staff`."""
    if actor.token is not None:
        require_scope(actor.token, token_scope, branch.code)
        return
    if actor.username is None:
        raise Unauthenticated(SIGN_IN_FIRST)
    if not reads_reports_of(config, actor, branch):
        raise NotAllowed(f"{actor.username} does not read the figures of branch {branch.code}", code=code)


def require_admin(actor: Actor) -> None:
    """A signed-in administrator: 401 for nobody, 403 ``admin_only`` for anyone else."""
    if actor.username is None or actor.role not in STAFF_ROLES:
        refuse_the_signed_out(actor)
    if not actor.is_admin:
        raise NotAllowed("only an administrator may do this", code="admin_only")


def require_owner_or_manager(config: HallConfig, actor: Actor, branch: Branch, owner: str | None, *,
                             doing: str = "see the customer's number") -> None:
    """Who may work a follow-up case (see the customer's contact for a call, add to its thread, change its status):
    a manager of the branch, or the member of staff of the branch who owns it (403 ``not_owner`` for the rest of its
    staff)."""
    require_staff(config, actor, branch)
    if not actor.is_manager and (owner is None or actor.username != owner):
        raise NotAllowed(f"only the follow-up's owner or a manager may {doing}", code="not_owner")


def is_manager_of(config: HallConfig, actor: Actor, branch: Branch) -> bool:
    """Whether the actor is a manager who works at this branch (what a manager may see besides the public)."""
    return actor.username is not None and actor.is_manager and works_at(config, actor, branch)


def require(config: HallConfig, actor: Actor, auth: str, branch: Branch | str | None, *,
            manager_code: str = "manager_only", token: Scope | None = None) -> Branch | None:
    """Apply a declared rule (one of :data:`AUTH_LEVELS`) to a request about ``branch`` (a code from the path, or
    None when it names no branch: then the role alone decides). In order: 401 when nobody is signed in, 404 for
    an unknown branch, 403 for another branch's staff, 403 ``manager_code`` for staff on a manager rule.
    A request made with an API token meets the route's ``token`` scope instead (None: closed to tokens), whatever
    ``auth`` says: 404 for an unknown branch, then 403 ``not_for_tokens``, ``insufficient_scope`` or
    ``forbidden`` (another branch). Returns the branch, if any."""
    if auth not in AUTH_LEVELS:
        raise ValueError(f"unknown access rule {auth!r}; use one of {', '.join(AUTH_LEVELS)}")
    if actor.token is not None:
        found = require_branch(config, branch) if isinstance(branch, str) else branch
        require_scope(actor.token, token, found.code if found is not None else None)
        return found
    if auth == REPORTS and actor.role == AccountRole.REGIONAL and actor.username is not None:
        found = require_branch(config, branch) if isinstance(branch, str) else branch
        if found is not None:
            require_reports(config, actor, found)
        return found
    if auth != PUBLIC and (actor.username is None or actor.role not in STAFF_ROLES):
        refuse_the_signed_out(actor)
    found = require_branch(config, branch) if isinstance(branch, str) else branch
    if auth == PUBLIC:
        return found
    if auth == ADMIN:
        require_admin(actor)
        return found
    if found is not None:
        if auth in (MANAGER, REPORTS):
            require_manager(config, actor, found, code=manager_code)
        else:
            require_staff(config, actor, found)
    elif auth in (MANAGER, REPORTS) and not actor.is_manager:
        raise NotAllowed("only a manager may do this", code=manager_code)
    return found


def require_branch(config: HallConfig, code: str) -> Branch:
    """The configured branch, or 404 ``unknown_branch``."""
    branch = config.branch(code) if isinstance(code, str) else None
    if branch is None:
        raise NotFound(f"no branch {code!r}", code="unknown_branch")
    return branch


def require_counter(branch: Branch, number: str) -> Counter:
    """A counter of the branch, or 404 ``unknown_counter``."""
    counter = branch.counter(number) if isinstance(number, str) else None
    if counter is None:
        raise NotFound(f"branch {branch.code} has no counter {number!r}", code="unknown_counter")
    return counter


def require_service(branch: Branch, code: str) -> Service:
    """A service of the branch, or 404 ``unknown_service``."""
    service = branch.service(code) if isinstance(code, str) else None
    if service is None:
        raise NotFound(f"branch {branch.code} has no service {code!r}", code="unknown_service")
    return service


# --- who may take which class of ticket -------------------------------------------------------------------------


def issuer_of(config: HallConfig, actor: Actor, branch: Branch) -> Issuer:
    """Who the actor is when it asks ``branch`` for a ticket (:mod:`server.domain.issue_rights`)."""
    if actor.token is not None:
        grant = actor.token
        return Issuer.INTEGRATION if grant.covers(branch.code) and grant.scope == Scope.ACT else Issuer.ANYONE
    if actor.username is not None and actor.role in STAFF_ROLES and works_at(config, actor, branch):
        return Issuer.STAFF
    device = actor.paired
    if device is not None and device.paired and device.branch_code == branch.code \
            and device.role.kind == DeviceKind.KIOSK:
        return Issuer.PAIRED_KIOSK
    return Issuer.ANYONE


def ticket_classes(config: HallConfig, actor: Actor, branch: Branch) -> list[str]:
    """The classes of ticket the actor may take at ``branch``: what a kiosk page is told to offer."""
    return [p.value for p in issuable(issuer_of(config, actor, branch), branch.devices)]


def require_ticket_class(config: HallConfig, actor: Actor, branch: Branch, priority: PriorityClass) -> None:
    """The actor may take a ticket of class ``priority`` at ``branch``: VIP and appointment need staff of the
    branch or an integration that may act there (401 ``unauthenticated`` / 403 ``forbidden`` as for staff
    routes); a priority-lane ticket, where the branch wants it so, a paired kiosk of the branch too (else 403
    ``priority_needs_paired_kiosk`` with the text the kiosk shows)."""
    if may_issue(issuer_of(config, actor, branch), priority, branch.devices):
        return
    if priority.given_by_staff:
        require_staff(config, actor, branch, token_scope=Scope.ACT)
        raise NotAllowed(f"a {priority.value} ticket is issued by staff of branch {branch.code}")  # pragma: no cover
    raise PriorityNeedsPairedKiosk(branch.code)


# --- devices ---------------------------------------------------------------------------------------------------

DEVICE_REFUSALS = ("device_not_paired", "device_revoked", "wrong_device", "not_at_counter")
"""The codes :func:`require_device` refuses with; a device page that meets one of them shows its pairing code."""


def require_device(config: HallConfig, actor: Actor, branch: Branch, role: Role, *,
                   staff_counter: str | None = None) -> None:
    """A request from the device paired for ``role`` at ``branch`` (its credential is ``actor.paired``). At a
    rating pad, the member of staff signed in at that counter may stand in for it (``staff_counter``: the counter
    the actor is signed in at). 401 ``device_not_paired`` or ``device_revoked``; 403 ``forbidden`` for another
    branch's staff, ``not_at_counter`` for staff elsewhere, ``wrong_device`` for a device paired for another role."""
    if actor.token is not None:
        require_scope(actor.token, None, branch.code)  # a device's routes are never an integration's
    device = actor.paired
    if device is not None and device.holds(branch.code, role):
        return
    wanted = role.label(branch).en
    if role.kind == DeviceKind.PAD and actor.username is not None and actor.role in STAFF_ROLES:
        if not works_at(config, actor, branch):
            raise NotAllowed(f"{actor.username} does not work at branch {branch.code}")
        if staff_counter is not None and staff_counter == role.target:
            return
        if device is None or not device.paired:
            raise NotAllowed(f"{actor.username} is not signed in at counter {role.target}: sign in there, or pair "
                             f"this device as its {wanted}", code="not_at_counter")
    if device is None or device.state == DeviceState.PENDING:
        raise Unauthenticated(f"this device is not paired as the {wanted}: it shows a pairing code, which a manager "
                              "of the branch approves on the manager page", code="device_not_paired",
                              pairing_code=device.pairing_code if device is not None else None)
    if device.state == DeviceState.REVOKED:
        raise Unauthenticated("a manager revoked this device's pairing; it shows a new pairing code",
                              code="device_revoked")
    paired_as = device.role.label(config.branch(device.branch_code)).en
    raise NotAllowed(f"this device is paired as the {paired_as} of branch {device.branch_code}, not the {wanted} of "
                     f"branch {branch.code}", code="wrong_device", paired_as=device.role.as_dict())


def require_arrival_reader(config: HallConfig, actor: Actor, branch: Branch) -> None:
    """Who may read the wall's arrival code (the proof that a phone is in the hall): the branch's paired wall display
    where its displays must be paired, its staff, or anyone where they need not be (then the code proves only that
    the wall's page was open somewhere: docs/appointments.md, "Joining from a phone")."""
    if not branch.devices.must_pair(DeviceKind.WALL):
        return
    if actor.username is not None and actor.role in STAFF_ROLES and works_at(config, actor, branch):
        return
    device = actor.paired
    if device is not None and device.paired and device.branch_code == branch.code \
            and device.role.kind == DeviceKind.WALL:
        return
    require_device(config, actor, branch, Role(DeviceKind.WALL))


__all__ = [
    "ADMIN",
    "AUTH_LEVELS",
    "DEVICE_REFUSALS",
    "MANAGER",
    "PUBLIC",
    "REPORTS",
    "STAFF",
    "STAFF_ROLES",
    "STAFF_VIEWS",
    "is_manager_of",
    "issuer_of",
    "links_overview",
    "reads_reports_of",
    "require",
    "require_admin",
    "require_arrival_reader",
    "require_branch",
    "require_counter",
    "require_device",
    "require_manager",
    "require_metrics_reader",
    "require_previewer",
    "require_reports",
    "require_service",
    "require_staff",
    "require_ticket_class",
    "resolve_actor",
    "ticket_classes",
    "works_at",
]
