"""The manager's team queue: open approvals a user can decide (personally, by delegation or by role) and
the open approvals on requests made by the people they line-manage, overdue first.

Reads only the work item, instance and user tables; deciding goes through ``workitems.complete``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import workitems
from .calendar import utcnow
from .models import Instance, User, WorkItem
from .routing import can_act, delegators_of, forces_of, roles_in

REASSIGNERS = frozenset({"force_manager", "line_manager", "second_line_manager"})  # as workitems.reassign


@dataclass(frozen=True)
class QueueEntry:
    """One approval in the team queue."""

    item: WorkItem
    instance: Instance
    requester: User | None
    can_decide: bool
    overdue: bool


def team_queue(session: Session, *, user: User, now: dt.datetime | None = None) -> list[QueueEntry]:
    """Open approvals for ``user``: theirs to decide and those on their direct reports' requests."""
    now = now or utcnow()
    actionable = {i.id: i for i in workitems.inbox(session, user=user, now=now) if i.is_approval}
    reports = select(User.id).where(User.manager_id == user.id, User.force_code.in_(forces_of(user)))
    of_reports = session.execute(
        select(WorkItem).join(Instance, Instance.id == WorkItem.instance_id).where(
            WorkItem.status == "open", WorkItem.is_approval.is_(True),
            WorkItem.force_code.in_(forces_of(user)),
            Instance.started_by_id.in_(reports))).scalars()
    items = {**{i.id: i for i in of_reports}, **actionable}
    instances = {i.id: i for i in session.execute(
        select(Instance).where(Instance.id.in_({w.instance_id for w in items.values()}))).scalars()}
    starters = {u.id: u for u in session.execute(
        select(User).where(User.id.in_({i.started_by_id for i in instances.values()}))).scalars()}
    people = {user.id, *delegators_of(session, user, now.date())}
    entries = []
    for item in items.values():
        inst = instances[item.instance_id]
        decide = item.id in actionable and (item.assignee_id is None or item.assignee_id in people)
        entries.append(QueueEntry(item, inst, starters.get(inst.started_by_id), decide and can_act(
            session, user, item, now.date()), item.due_at is not None and item.due_at < now))
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(entries, key=lambda e: (not e.overdue, e.item.due_at or far, e.item.created_at, e.item.id))


def can_reassign(user: User, item: WorkItem) -> bool:
    """The holder, or a manager in the item's force, may hand an open item to someone else."""
    if item.status != "open":
        return False
    return item.assignee_id == user.id or bool(REASSIGNERS & roles_in(user, item.force_code))
