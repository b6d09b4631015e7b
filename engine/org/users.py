"""People: adding, changing and deactivating users, and their line-manager chain. No Flask here."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import EllipsisType
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..models import ApiToken, User, WorkItem, utcnow
from ..passwords import hash_password
from .forces import get_force, get_org_unit
from .grants import CrossForceRoles, replace_grants, resolve_grants
from .validation import check_password, clean_email, clean_text, clean_username, conflict, invalid

ManagerRef = int | str | User  # a user id, a username or the user itself
MAX_CHAIN = 64  # line-management chains are short; this only guards against bad data


def get_user(session: Session, force: str, user_id: int) -> User:
    """The user ``user_id`` of ``force``; NotFoundError when missing or in another force."""
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.force_code != force:
        raise NotFoundError(f"There is no user {user_id} in {force}.", details={"user_id": user_id})
    return user


def get_user_by_username(session: Session, username: str) -> User:
    """The user called ``username`` (any force, case-insensitive); NotFoundError when none."""
    name = username.strip().lower() if isinstance(username, str) else ""
    user = session.scalar(select(User).where(User.username == name)) if name else None
    if user is None:
        raise NotFoundError(f"There is no user {username!r}.", details={"username": username})
    return user


def find_active_user(session: Session, user_id: int) -> User | None:
    """The user ``user_id`` if it exists and is active, else None (for loading a signed-in user)."""
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.active else None


def list_users(session: Session, force: str, *, include_inactive: bool = True) -> list[User]:
    """The users of ``force``, ordered by full name."""
    query = select(User).where(User.force_code == force)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    return list(session.scalars(query.order_by(User.full_name, User.username)))


def add_user(
    session: Session,
    username: str,
    force: str,
    full_name: str,
    roles: Iterable[str] = (),
    manager: ManagerRef | None = None,
    password: str | None = None,
    email: str | None = None,
    org_unit_id: int | None = None,
    attributes: dict[str, Any] | None = None,
    cross_force_roles: CrossForceRoles = (),
) -> User:
    """Create an active user in ``force`` with ``roles`` there and any ``cross_force_roles``.

    ``manager`` is a user id, username or User of the same force. Raises InvalidInputError (bad
    username, name, email, password or role), NotFoundError (unknown force, manager, org unit or a
    manager in another force) and ConflictError (username taken)."""
    username = clean_username(username)
    get_force(session, force)
    full_name = clean_text(full_name, "full_name", "the person's full name")
    email = clean_email(email)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise conflict("username", f"The username {username} is already taken.")
    user = User(username=username, force_code=force, full_name=full_name, email=email, active=True,
                failed_logins=0, attributes=dict(attributes or {}))
    if manager is not None:
        user.manager_id = _manager(session, force, manager).id
    if org_unit_id is not None:
        user.org_unit_id = get_org_unit(session, force, org_unit_id).id
    if password is not None:
        user.password_hash = hash_password(check_password(password))
    grants = resolve_grants(session, force, roles, cross_force_roles)
    replace_grants(user, grants)
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    force: str,
    user_id: int,
    *,
    full_name: str | EllipsisType = ...,
    email: str | None | EllipsisType = ...,
    manager: ManagerRef | None | EllipsisType = ...,
    org_unit_id: int | None | EllipsisType = ...,
    attributes: dict[str, Any] | EllipsisType = ...,
    password: str | EllipsisType = ...,
) -> User:
    """Change the given fields of a user (``...`` leaves a field as it is; ``None`` clears it).

    Refuses a line manager that would make the management chain loop (InvalidInputError)."""
    user = get_user(session, force, user_id)
    if not isinstance(full_name, EllipsisType):
        user.full_name = clean_text(full_name, "full_name", "the person's full name")
    if not isinstance(email, EllipsisType):
        user.email = clean_email(email)
    if not isinstance(manager, EllipsisType):
        if manager is None:
            user.manager_id = None
        elif not (isinstance(manager, int) and manager == user.manager_id):  # unchanged needs no checks
            user.manager_id = _new_manager_for(session, user, manager).id
    if not isinstance(org_unit_id, EllipsisType):
        user.org_unit_id = None if org_unit_id is None else get_org_unit(session, force, org_unit_id).id
    if not isinstance(attributes, EllipsisType):
        user.attributes = dict(attributes)
    if not isinstance(password, EllipsisType):
        user.password_hash = hash_password(check_password(password))
        user.failed_logins, user.locked_until = 0, None
    session.flush()
    return user


def deactivate_user(session: Session, force: str, user_id: int, now: dt.datetime | None = None) -> int:
    """Stop a user signing in, revoke their API tokens and flag their open work items for reassignment.

    Returns how many open work items (assigned to them, or offered to them by name) were flagged."""
    user = get_user(session, force, user_id)
    now = now or utcnow()
    user.active = False
    items = session.scalars(
        select(WorkItem).where(
            WorkItem.status == "open",
            or_(WorkItem.assignee_id == user.id, WorkItem.candidate_user_id == user.id),
        )
    ).all()
    for item in items:  # through the ORM, so each item's optimistic version moves on
        item.needs_reassignment = True
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    for token in tokens:
        token.revoked_at = now
    session.flush()
    return len(items)


def reactivate_user(session: Session, force: str, user_id: int) -> User:
    """Let a deactivated user sign in again (their flagged work items stay flagged)."""
    user = get_user(session, force, user_id)
    user.active, user.failed_logins, user.locked_until = True, 0, None
    session.flush()
    return user


def reassignment_counts(session: Session, force: str) -> dict[int, int]:
    """``{user id: open work items flagged for reassignment}`` for the users of ``force``."""
    members = select(User.id).where(User.force_code == force)
    rows = session.execute(
        select(WorkItem.id, WorkItem.assignee_id, WorkItem.candidate_user_id).where(
            WorkItem.status == "open",
            WorkItem.needs_reassignment.is_(True),
            or_(WorkItem.assignee_id.in_(members), WorkItem.candidate_user_id.in_(members)),
        )
    )
    items: dict[int, set[int]] = {}
    for item_id, assignee_id, candidate_id in rows:
        for user_id in (assignee_id, candidate_id):
            if user_id is not None:
                items.setdefault(user_id, set()).add(item_id)
    return {user_id: len(ids) for user_id, ids in items.items()}


def line_manager_of(session: Session, user: User) -> User | None:
    """The user's nearest active line manager (skipping inactive ones up the chain), or None."""
    seen = {user.id}
    manager_id = user.manager_id
    while manager_id is not None and manager_id not in seen and len(seen) < MAX_CHAIN:
        manager = session.get(User, manager_id)
        if manager is None:
            return None
        if manager.active:
            return manager
        seen.add(manager.id)
        manager_id = manager.manager_id
    return None


def _manager(session: Session, force: str, ref: ManagerRef) -> User:
    if isinstance(ref, User):
        found: User | None = ref
    elif isinstance(ref, int):
        found = session.get(User, ref)
    else:
        name = ref.strip().lower() if isinstance(ref, str) else ""
        found = session.scalar(select(User).where(User.username == name)) if name else None
    if found is None or found.force_code != force:  # another force's user is "not found" too
        raise NotFoundError(f"There is no user {ref!r} in {force} to be the line manager.",
                            details={"manager": ["Choose a line manager from the same force."]})
    if not found.active:
        raise invalid("manager", f"{found.full_name} is not active; choose an active line manager.")
    return found


def _new_manager_for(session: Session, user: User, ref: ManagerRef) -> User:
    manager = _manager(session, user.force_code, ref)
    step: User | None = manager
    for _ in range(MAX_CHAIN):
        if step is None:
            return manager
        if step.id == user.id:
            raise invalid("manager", "That line manager reports to this person; choose someone else.")
        step = session.get(User, step.manager_id) if step.manager_id is not None else None
    return manager
