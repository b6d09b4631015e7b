"""Lane routing: which person or role a READY user task goes to, and who may act on a work item."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from .models import Delegation, RoleGrant, User, WorkItem


Manager = aliased(User)


@dataclass(frozen=True)
class Route:
    """Where a task goes: a named user (candidate_user_id) or the holders of a role in a force."""

    candidate_role: str | None
    candidate_user_id: int | None
    needs_reassignment: bool = False


def route(session: Session, lane: str | None, starter_id: int) -> Route:
    """Resolve a lane (a role key) for an instance started by user ``starter_id`` in the starter's force."""
    if lane in (None, "", "requester"):
        return Route(None, starter_id)
    if lane == "line_manager":
        manager_id = session.execute(
            select(User.manager_id).join(Manager, Manager.id == User.manager_id)
            .where(User.id == starter_id, Manager.active.is_(True))).scalar_one_or_none()
        if manager_id is not None:
            return Route(None, manager_id)
        return Route("line_manager", None, needs_reassignment=True)
    return Route(lane, None)


def roles_in(user: User, force: str) -> set[str]:
    """The roles ``user`` holds in ``force``."""
    return {g.role for g in user.roles if g.force_code == force}


def forces_of(user: User) -> set[str]:
    """Forces whose work ``user`` may see: their own plus any cross-force grants."""
    return {user.force_code} | {g.force_code for g in user.roles}


def delegators_query(user: User, on: dt.date) -> Select[tuple[int]]:
    """A subquery of the users whose work goes to ``user`` on ``on`` (out-of-office delegation)."""
    return select(Delegation.user_id).where(Delegation.delegate_id == user.id, Delegation.starts_on <= on,
                                            Delegation.ends_on >= on)


def delegators_of(session: Session, user: User, on: dt.date) -> list[int]:
    """Users whose work goes to ``user`` today (out-of-office delegation)."""
    return list(session.execute(delegators_query(user, on)).scalars())


def can_act(session: Session, user: User, item: WorkItem, on: dt.date) -> bool:
    """May ``user`` claim or complete ``item`` (ignoring who currently holds it)?"""
    if item.force_code not in forces_of(user):
        return False
    if user.id in (item.assignee_id, item.candidate_user_id) or (
            item.candidate_role is not None and item.candidate_user_id is None and item.assignee_id is None
            and item.candidate_role in roles_in(user, item.force_code)):
        return True
    people = {user.id, *delegators_of(session, user, on)}
    if item.assignee_id is not None and item.assignee_id in people:
        return True
    if item.candidate_user_id is not None:
        return item.candidate_user_id in people
    if item.candidate_role is None:
        return False
    if item.candidate_role in roles_in(user, item.force_code):
        return True
    return bool(session.execute(select(RoleGrant.user_id).where(
        RoleGrant.user_id.in_(people - {user.id}), RoleGrant.role == item.candidate_role,
        RoleGrant.force_code == item.force_code)).first())
