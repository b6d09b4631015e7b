"""API bearer tokens: issuing, verifying, expiring and revoking. Stores only SHA-256 hashes of tokens.

Pure SQLAlchemy, no Flask: the web layer reads the ``Authorization`` header and calls ``verify``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from .errors import InvalidInputError, MusterError, NotFoundError
from .models import ApiToken, Force, User, utcnow

PREFIX = "mst_"  # makes a leaked token easy to recognise (and to scan for in logs or repositories)
DEFAULT_LIFETIME = dt.timedelta(hours=8)
LONGEST_LIFETIME = dt.timedelta(days=90)
INVALID = "Send a valid API token: 'Authorization: Bearer <token>' (get one from POST /api/v1/auth/token)."


class TokenError(MusterError):
    """The bearer token is missing, unknown, expired or revoked, or its user can no longer sign in."""

    code = "invalid_token"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``token`` is shown once and never stored."""

    id: int
    token: str
    expires_at: dt.datetime


def token_hash(token: str) -> str:
    """The stored form of a token: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(session: Session, user: User, *, now: dt.datetime | None = None,
          lifetime: dt.timedelta = DEFAULT_LIFETIME) -> IssuedToken:
    """Create a token for ``user`` valid for ``lifetime``; raises InvalidInputError for a bad lifetime."""
    if not dt.timedelta(0) < lifetime <= LONGEST_LIFETIME:
        raise InvalidInputError("A token must live for more than 0 seconds and at most 90 days.",
                                details={"lifetime": ["Must be between 1 second and 90 days"]})
    now = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime)
    session.add(row)
    session.flush()
    return IssuedToken(row.id, token, row.expires_at)


def verify(session: Session, token: str | None, *, now: dt.datetime | None = None) -> User:
    """The active user holding ``token``; TokenError when it is missing, unknown, expired or revoked.

    The lookup is by hash (a unique index), so timing reveals nothing about stored tokens; the final
    comparison is constant-time anyway."""
    if not token or len(token) > 200:
        raise TokenError(INVALID)
    digest = token_hash(token)
    found = session.execute(  # one round trip: the token's state, the user with roles, the force's state
        select(ApiToken.token_hash, ApiToken.revoked_at, ApiToken.expires_at, User, Force.active)
        .join(User, User.id == ApiToken.user_id).join(Force, Force.code == User.force_code)
        .where(ApiToken.token_hash == digest).options(joinedload(User.roles))).unique().first()
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        raise TokenError(INVALID)
    _, revoked_at, expires_at, user, force_active = found
    if revoked_at is not None or expires_at <= (now or utcnow()):
        raise TokenError("This API token has expired or was revoked. "
                         "Get a new one from POST /api/v1/auth/token.")
    if not user.active or not force_active:
        raise TokenError(INVALID)
    return user


def revoke(session: Session, token_or_id: str, *, now: dt.datetime | None = None) -> ApiToken:
    """Revoke one token, given as the token itself or its numeric id; NotFoundError when unknown.

    Revoking a revoked token is a no-op (its first revocation time is kept)."""
    cond = ApiToken.id == int(token_or_id) if token_or_id.isdigit() else \
        ApiToken.token_hash == token_hash(token_or_id)
    row = session.execute(select(ApiToken).where(cond)).scalar_one_or_none()
    if row is None:
        raise NotFoundError("No such API token.", details={"token": ["Unknown token or id"]})
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
    session.flush()
    return row


def revoke_user_tokens(session: Session, user: User, *, now: dt.datetime | None = None) -> int:
    """Revoke every live token of ``user``; returns how many were revoked."""
    now = now or utcnow()
    rows = session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    ).scalars().all()
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """Every stored token of ``user`` (live, expired and revoked), newest first."""
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def is_live(row: ApiToken, now: dt.datetime | None = None) -> bool:
    """True when the token is neither revoked nor expired."""
    return row.revoked_at is None and row.expires_at > (now or utcnow())


def purge_expired(session: Session, *, now: dt.datetime | None = None,
                  keep: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Delete tokens that expired or were revoked more than ``keep`` ago; returns how many."""
    cutoff = (now or utcnow()) - keep
    result = session.execute(delete(ApiToken).where(
        (ApiToken.expires_at < cutoff) | (ApiToken.revoked_at < cutoff)))
    return int(getattr(result, "rowcount", 0) or 0)
