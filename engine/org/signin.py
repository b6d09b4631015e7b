"""Signing in: password check with a growing lock-out after repeated failures. No Flask here."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotAllowedError
from ..models import Force, User
from ..passwords import hash_password, needs_rehash, verify_password

FREE_FAILURES = 5  # the 5th consecutive failure starts the first lock
FIRST_LOCK = dt.timedelta(seconds=30)  # doubles with each further failure…
LONGEST_LOCK = dt.timedelta(minutes=15)  # …up to this
BAD_CREDENTIALS = "The username or password is not right."


def authenticate(session: Session, username: str, password: str, now: dt.datetime) -> User:
    """Return the active user whose ``username`` and ``password`` match.

    Raises NotAllowedError with one generic message for an unknown user, a wrong password, an
    inactive user or force. After ``FREE_FAILURES`` consecutive failures the account is locked
    (30 s, doubling per further failure, at most 15 min); while locked the password is not even
    checked and the error's ``details`` carry ``retry_after_seconds``. A failure is committed on
    ``session`` before raising, so a caller that rolls back cannot wipe the back-off counter."""
    if now.tzinfo is None:
        raise ValueError("authenticate needs a timezone-aware 'now'")
    name = username.strip().lower() if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    user = session.scalar(select(User).where(User.username == name).with_for_update()) if name else None
    if user is None or not user.password_hash:
        verify_password(_decoy_hash(), password)  # the same work whether or not the account exists
        raise NotAllowedError(BAD_CREDENTIALS)
    if user.locked_until is not None and now < user.locked_until:
        raise _locked(user.locked_until, now)
    if not verify_password(user.password_hash, password):
        _record_failure(session, user, now)
        raise _locked(user.locked_until, now) if user.locked_until else NotAllowedError(BAD_CREDENTIALS)
    force = session.get(Force, user.force_code)
    if not user.active or force is None or not force.active:
        raise NotAllowedError(BAD_CREDENTIALS)
    user.failed_logins, user.locked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def lock_period(failures: int) -> dt.timedelta | None:
    """How long the account is locked after ``failures`` consecutive failures (None: not locked)."""
    if failures < FREE_FAILURES:
        return None
    doublings = min(failures - FREE_FAILURES, 16)
    return min(FIRST_LOCK * (2 ** doublings), LONGEST_LOCK)


def _record_failure(session: Session, user: User, now: dt.datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    period = lock_period(user.failed_logins)
    user.locked_until = now + period if period else None
    session.commit()


def _locked(until: dt.datetime, now: dt.datetime) -> NotAllowedError:
    seconds = max(1, int((until - now).total_seconds() + 0.999))
    wait = f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"
    return NotAllowedError(
        f"Too many failed sign-in attempts. Wait {wait} and try again.",
        details={"retry_after_seconds": seconds},
    )


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password("decoy password for unknown accounts")
