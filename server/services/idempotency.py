"""Commands a device may retry (issue, call-next): the first answer is kept and replayed for a retry.

The answer is stored in the command's own transaction, so a retry after a lost answer sees exactly what was
committed. The same key with a different request is refused rather than answered with someone else's ticket.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from server.domain.errors import DomainError
from server.persistence import idempotency as records
from server.services.unit_of_work import Transaction


@dataclass(frozen=True)
class Request:
    """One retryable command: its name (per counter for call-next), the caller's key and what it asked."""

    command: str
    key: str | None
    fingerprint: str

    @classmethod
    def of(cls, command: str, key: str | None, *parts: str) -> Request:
        return cls(command, key, hashlib.sha256("\x1f".join(parts).encode()).hexdigest())

    def record_key(self, branch_code: str) -> str:
        return f"{branch_code}:{self.command}:{self.key}"


def replay(tx: Transaction, request: Request) -> dict[str, Any] | None:
    """The stored answer to an earlier request with this key (marked ``replayed``), or None to run the command."""
    if request.key is None:
        return None
    found = records.find(tx.connection, request.record_key(tx.branch.code))
    if found is None:
        return None
    fingerprint, response = found
    if fingerprint != request.fingerprint:
        raise DomainError("this Idempotency-Key was already used for a different request",
                          code="idempotency_key_reused", http_status=422)
    return json.loads(response) | {"replayed": True}


def stored(connection: Connection, branch_code: str, request: Request) -> bool:
    """Whether an answer is stored for this request's key (on any connection, e.g. a read before the command)."""
    return request.key is not None and records.find(connection, request.record_key(branch_code)) is not None


def remember(tx: Transaction, request: Request, response: dict[str, Any]) -> None:
    if request.key is not None:
        records.store(tx.connection, request.record_key(tx.branch.code), request.fingerprint,
                      json.dumps(response, ensure_ascii=False), tx.now)
