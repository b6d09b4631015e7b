"""Out-of-office delegations: between two dates, work offered to a user goes to their delegate."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ConflictError, NotFoundError
from ..models import Delegation, User
from .users import get_user
from .validation import invalid

MAX_HOPS = 8  # a delegate who is away too hands on to their own delegate, a few times at most


def add_delegation(
    session: Session, force: str, user_id: int, delegate_id: int, starts_on: dt.date, ends_on: dt.date
) -> Delegation:
    """Delegate ``user_id``'s work to ``delegate_id`` (both of ``force``) from ``starts_on`` to ``ends_on``
    inclusive.

    Raises NotFoundError (either user not in ``force``), InvalidInputError (self, inactive delegate,
    bad dates, or a delegate who has delegated back for those dates) and ConflictError (the user
    already has a delegation overlapping those dates)."""
    user = get_user(session, force, user_id)
    delegate = get_user(session, force, delegate_id)
    starts_on, ends_on = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
    if ends_on < starts_on:
        raise invalid("ends_on", "The end date must be on or after the start date.")
    if delegate.id == user.id:
        raise invalid("delegate_id", "Choose someone other than the person who is away.")
    if not delegate.active:
        raise invalid("delegate_id", f"{delegate.full_name} is not active; choose an active delegate.")
    if _overlapping(session, user.id, starts_on, ends_on):
        raise ConflictError(f"{user.full_name} already has a delegate for some of those dates.",
                            details={"starts_on": ["Those dates overlap another delegation."]})
    if any(d.delegate_id == user.id for d in _overlapping(session, delegate.id, starts_on, ends_on)):
        raise invalid("delegate_id", f"{delegate.full_name} has delegated to {user.full_name} then.")
    delegation = Delegation(user_id=user.id, delegate_id=delegate.id, starts_on=starts_on, ends_on=ends_on)
    session.add(delegation)
    session.flush()
    return delegation


def active_delegate(session: Session, user_id: int, on_date: dt.date) -> User | None:
    """Who acts for ``user_id`` on ``on_date``: their delegate (or, if that delegate is away too, theirs),
    or None when nobody is delegated or the chain loops back."""
    seen = {user_id}
    current, delegate = user_id, None
    for _ in range(MAX_HOPS):
        found = _overlapping(session, current, on_date, on_date)
        if not found:
            break
        nxt = session.get(User, found[0].delegate_id)
        if nxt is None or nxt.id in seen or not nxt.active:
            break
        seen.add(nxt.id)
        current, delegate = nxt.id, nxt
    return delegate


def list_delegations(
    session: Session, force: str, *, user_id: int | None = None, on_or_after: dt.date | None = None
) -> list[Delegation]:
    """Delegations by users of ``force`` (optionally one user's, optionally ending on or after a date)."""
    query = select(Delegation).join(User, User.id == Delegation.user_id).where(User.force_code == force)
    if user_id is not None:
        query = query.where(Delegation.user_id == user_id)
    if on_or_after is not None:
        query = query.where(Delegation.ends_on >= on_or_after)
    return list(session.scalars(query.order_by(Delegation.starts_on, Delegation.id)))


def cancel_delegation(session: Session, force: str, delegation_id: int) -> None:
    """Remove a delegation made by a user of ``force``; NotFoundError otherwise."""
    delegation = session.get(Delegation, delegation_id) if isinstance(delegation_id, int) else None
    owner = session.get(User, delegation.user_id) if delegation is not None else None
    if delegation is None or owner is None or owner.force_code != force:
        raise NotFoundError(f"There is no delegation {delegation_id} in {force}.")
    session.delete(delegation)
    session.flush()


def _overlapping(session: Session, user_id: int, starts_on: dt.date, ends_on: dt.date) -> list[Delegation]:
    query = select(Delegation).where(
        Delegation.user_id == user_id, Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on
    )
    return list(session.scalars(query.order_by(Delegation.starts_on, Delegation.id)))


def _date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise invalid(field, "Enter a date.")
    return value
