"""Idempotency keys for mutating API calls: the first response to a (user, key) is stored and replayed.

Pure SQLAlchemy, no Flask. The caller reserves the key in the same transaction as the change it makes,
so the stored response and the change commit (or roll back) together; a concurrent duplicate waits on
the unique key and then replays the stored response, or gets a ConflictError while the first still runs.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import ConflictError, InvalidInputError
from .models import IdempotentRequest, utcnow

PENDING = 0  # status_code of a reservation whose request has not finished yet
HEADER = "Idempotency-Key"
MAX_KEY = 200
BUSY = "Another request with this Idempotency-Key is being processed. Retry it in a moment."


def request_hash(method: str, path: str, body: bytes) -> str:
    """A fingerprint of one request: method, path (with query) and a canonical form of the body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """``key`` if it is 1 to 200 visible ASCII characters; InvalidInputError otherwise."""
    if not 0 < len(key) <= MAX_KEY or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInputError(f"The {HEADER} header must be 1 to {MAX_KEY} visible ASCII characters "
                                "(a UUID is a good choice).",
                                details={HEADER: [f"Must be 1 to {MAX_KEY} visible ASCII characters"]})
    return key


def reserve(session: Session, *, user_id: int, key: str, method: str, path: str,
            fingerprint: str) -> IdempotentRequest:
    """Reserve ``key`` for this request, or find the stored response of the first request with it.

    Returns the row: ``status_code == PENDING`` means the reservation is this transaction's and the
    request should run now (then call ``record``); anything else is the stored response to replay.
    Raises InvalidInputError when the key was used for a different request (method, path or body) and
    ConflictError while the first request with the key is still running."""
    check_key(key)
    row = _find(session, user_id, key)
    if row is None:
        row = IdempotentRequest(user_id=user_id, key=key, method=method.upper()[:8], path=path[:300],
                                request_hash=fingerprint, status_code=PENDING, body="", created_at=utcnow())
        try:
            with session.begin_nested():  # on PostgreSQL this waits for a concurrent holder of the key
                session.add(row)
        except IntegrityError:
            row = _find(session, user_id, key)  # the holder committed (READ COMMITTED sees its row)
            if row is None:
                raise ConflictError(BUSY) from None
        else:
            return row
    if row.request_hash != fingerprint:
        raise InvalidInputError(f"This {HEADER} was already used for a different request. Use a new key "
                                "for a new request.",
                                details={HEADER: ["Already used for a different request"]})
    if row.status_code == PENDING:
        raise ConflictError(BUSY)
    return row


def record(session: Session, row: IdempotentRequest, status_code: int, body: str) -> None:
    """Store the response of the request that holds the reservation ``row`` (same transaction)."""
    if status_code == PENDING:
        raise ValueError("a stored response needs a real HTTP status")
    row.status_code, row.body = status_code, body
    session.flush()


def release(session: Session, *, user_id: int, key: str) -> int:
    """Drop a reservation left pending by a request that failed after its transaction committed part of
    its work (a refusal or failure the engine records before raising); returns how many were dropped."""
    result = session.execute(delete(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key,
        IdempotentRequest.status_code == PENDING))
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, *, older_than: dt.timedelta = dt.timedelta(days=1),
          now: dt.datetime | None = None) -> int:
    """Forget stored responses older than ``older_than`` (clients retry within minutes); returns how many."""
    cutoff = (now or utcnow()) - older_than
    result = session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def _find(session: Session, user_id: int, key: str) -> IdempotentRequest | None:
    return session.execute(select(IdempotentRequest).where(
        IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
        .execution_options(populate_existing=True)).scalar_one_or_none()
