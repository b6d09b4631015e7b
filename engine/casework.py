"""Read models for the staff pages: who may see a request or a work item, an item's task data, the names
behind usernames and ids, and an instance's process diagram with its current steps.

Reads only; every function takes the acting user and refuses other forces with NotFoundError.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import catalog, runtime, workitems
from .calendar import utcnow
from .errors import MusterError, NotFoundError
from .instances import InstanceView, may_view, view_instance
from .models import AuditEvent, Definition, Instance, User, WorkItem
from .routing import can_act, delegators_of


def visible_instance(session: Session, *, user: User, instance_id: int) -> InstanceView:
    """An instance with its open items and history, if ``user`` may see it; NotFoundError otherwise."""
    return view_instance(session, user=user, instance_id=instance_id)


def visible_item(session: Session, *, user: User, item_id: int) -> WorkItem:
    """A work item ``user`` may act on or whose request they may see; NotFoundError otherwise."""
    item = workitems.get_work_item(session, user=user, item_id=item_id)
    inst = session.get(Instance, item.instance_id)
    if inst is None or not (can_act(session, user, item, utcnow().date())
                            or may_view(session, user, inst)):
        raise NotFoundError("No such work item.")
    return item


@dataclass(frozen=True)
class ItemAccess:
    """What ``user`` may do with one work item right now."""

    can_complete: bool
    can_claim: bool
    can_unclaim: bool


def item_access(session: Session, user: User, item: WorkItem) -> ItemAccess:
    """Whether the form is theirs to fill in, and whether claim or unclaim applies."""
    if item.status != "open" or not can_act(session, user, item, utcnow().date()):
        return ItemAccess(False, False, False)
    people = {user.id, *delegators_of(session, user, utcnow().date())}
    free = item.assignee_id is None
    mine = item.assignee_id in people
    group = item.candidate_user_id is None
    return ItemAccess(can_complete=free or mine, can_claim=free and group,
                      can_unclaim=item.assignee_id == user.id and group)


def task_data(session: Session, item: WorkItem) -> dict[str, Any]:
    """The data the item's task holds now (for a form's read-only fields); empty when it cannot be read."""
    inst = session.get(Instance, item.instance_id)
    if inst is None or item.status != "open" or not inst.state:
        return {}
    try:
        wf = runtime.load(catalog.parsed_for_trace(session, inst.process_key, inst.bundle), inst.state)
    except (MusterError, ValueError, KeyError):
        return {}
    for task in runtime.ready_user_tasks(wf):
        if task.task_id == item.task_id:
            return copy.deepcopy(dict(task.data))
    return {}


def users_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, User]:
    """The users with these ids (any missing are left out)."""
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    return {u.id: u for u in session.execute(select(User).where(User.id.in_(wanted))).scalars()}


def names_by_username(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Full names for usernames (audit actors); unknown ones are left out."""
    wanted = set(usernames)
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.full_name).where(User.username.in_(wanted)))
    return {username: full_name for username, full_name in rows}


def holder_text(item: WorkItem, people: dict[int, User]) -> str:
    """Who holds an open item, in words: a person's name, or 'any <role>'."""
    person = people.get(item.assignee_id or item.candidate_user_id or -1)
    if person is not None:
        return person.full_name
    if item.candidate_role:
        return "Any " + item.candidate_role.replace("_", " ")
    return "Unassigned"


@dataclass(frozen=True)
class Diagram:
    """A process diagram: the BPMN XML of the instance's pinned process and the steps to highlight."""

    xml: str
    active: list[str]
    completed: list[str]


def diagram(session: Session, *, user: User, instance_id: int) -> Diagram:
    """The pinned top-level BPMN of a visible instance, its open steps and the steps already done."""
    view = visible_instance(session, user=user, instance_id=instance_id)
    inst = view.instance
    definition = session.get(Definition, inst.definition_id)
    if definition is None or definition.kind != "process":
        raise NotFoundError("The diagram of this request is not available.")
    done: list[str] = []
    for event in session.execute(select(AuditEvent).where(
            AuditEvent.instance_id == inst.id, AuditEvent.action.in_(
                ("steps_run", "instance_completed", "work_item_completed")))
            .order_by(AuditEvent.seq)).scalars():
        path = (event.data or {}).get("path") if event.action != "work_item_completed" else [event.task_name]
        done.extend(str(step) for step in path or [] if step and str(step) not in done)
    active = [item.task_name for item in view.open_items]
    return Diagram(definition.content, active, [step for step in done if step not in active])


def instances_by_id(session: Session, ids: Iterable[int]) -> dict[int, Instance]:
    """The instances with these ids (the caller passes ids it already scoped, e.g. from its inbox)."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {i.id: i for i in session.execute(select(Instance).where(Instance.id.in_(wanted))).scalars()}


def open_items_by_instance(session: Session, instance_ids: Iterable[int]) -> dict[int, list[WorkItem]]:
    """The open work items of each instance (for 'current step and who holds it')."""
    wanted = set(instance_ids)
    out: dict[int, list[WorkItem]] = {i: [] for i in wanted}
    if wanted:
        for item in session.execute(select(WorkItem).where(
                WorkItem.instance_id.in_(wanted), WorkItem.status == "open").order_by(WorkItem.id)).scalars():
            out[item.instance_id].append(item)
    return out
