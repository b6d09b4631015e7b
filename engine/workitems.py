"""Use cases on work items: inbox queries, claim, unclaim, reassign, drafts and completion.

Inbox queries read only the work_items table; completion loads the workflow, runs it and saves state,
work items and audit in the caller's transaction. Lost races surface as ConflictError.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from . import audit, catalog, runtime
from .calendar import utcnow
from .errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError, WorkflowRunError
from .forms import validate_data
from .instances import fail, save_progress
from .models import Instance, RoleGrant, User, WorkItem
from .routing import can_act, delegators_of, delegators_query, forces_of, roles_in

SORTS = {"due": (WorkItem.due_at.is_(None), WorkItem.due_at), "priority": (WorkItem.priority, WorkItem.created_at),
         "age": (WorkItem.created_at,)}


@dataclass(frozen=True)
class InboxFilter:
    """Inbox filters: scope mine|group|all, process key, due (overdue|soon), sort key."""

    scope: str = "all"
    process: str | None = None
    due: str | None = None
    sort: str = "due"


def inbox(session: Session, *, user: User, flt: InboxFilter = InboxFilter(), now: dt.datetime | None = None,
          limit: int = 500) -> list[WorkItem]:
    """Open work items for ``user``: assigned to them (or their delegators) and claimable by their roles."""
    now = now or utcnow()
    delegators = delegators_query(user, now.date())  # a subquery: no round trip of its own
    mine = or_(WorkItem.assignee_id == user.id, WorkItem.assignee_id.in_(delegators),
               and_(WorkItem.assignee_id.is_(None),
                    or_(WorkItem.candidate_user_id == user.id, WorkItem.candidate_user_id.in_(delegators))))
    role_pairs = [(g.force_code, g.role) for g in user.roles]
    group = and_(WorkItem.assignee_id.is_(None), WorkItem.candidate_user_id.is_(None),
                 or_(false(), *[and_(WorkItem.force_code == f, WorkItem.candidate_role == r)
                                for f, r in role_pairs]))
    cond = {"mine": mine, "group": group}.get(flt.scope, or_(mine, group))
    q = select(WorkItem).where(WorkItem.status == "open", WorkItem.force_code.in_(forces_of(user)), cond)
    if flt.process:
        q = q.where(WorkItem.process_key == flt.process)
    if flt.due == "overdue":
        q = q.where(WorkItem.due_at < now)
    elif flt.due == "soon":
        q = q.where(WorkItem.due_at >= now, WorkItem.due_at < now + dt.timedelta(days=2))
    q = q.order_by(*SORTS.get(flt.sort, SORTS["due"]), WorkItem.id).limit(limit)
    return list(session.execute(q).scalars())


def get_work_item(session: Session, *, user: User, item_id: int) -> WorkItem:
    """A work item in a force the user can see; NotFoundError otherwise (never reveals other forces)."""
    item = session.get(WorkItem, item_id)
    if item is None or item.force_code not in forces_of(user):
        raise NotFoundError("No such work item.")
    return item


def _open_item(session: Session, user: User, item_id: int) -> WorkItem:
    # The row lock makes a rival command on the same item wait for ours to commit and then see its outcome
    # (PostgreSQL, READ COMMITTED); SQLite already serialises writers with BEGIN IMMEDIATE.
    item = session.get(WorkItem, item_id, with_for_update=True, populate_existing=True)
    return _check_open(session, user, item)


def _open_item_and_instance(session: Session, user: User, item_id: int) -> tuple[WorkItem, Instance]:
    """``_open_item``, reading the item's instance in the same statement (one round trip, not two)."""
    found = session.execute(
        select(WorkItem, Instance).join(Instance, Instance.id == WorkItem.instance_id)
        .where(WorkItem.id == item_id).with_for_update(of=WorkItem)
        .execution_options(populate_existing=True)).first()
    return _check_open(session, user, found[0] if found else None), found[1]  # type: ignore[index]


def _check_open(session: Session, user: User, item: WorkItem | None) -> WorkItem:
    if item is None or item.force_code not in forces_of(user):
        raise NotFoundError("No such work item.")
    if item.status != "open":
        raise ConflictError(f"This item is already {item.status}.")
    if not can_act(session, user, item, utcnow().date()):
        raise NotAllowedError("This item is not for you: it belongs to another person or role.")
    return item


def claim(session: Session, *, user: User, item_id: int) -> WorkItem:
    """Take a group item; ConflictError if someone else holds it."""
    item = _open_item(session, user, item_id)
    if item.assignee_id not in (None, user.id):
        raise ConflictError("Someone else has already claimed this item.")
    if item.assignee_id == user.id:
        return item
    item.assignee_id = user.id
    inst = session.get(Instance, item.instance_id)
    audit.record(session, instance=inst, actor=user.username, action="work_item_claimed", task_name=item.task_name,
                 work_item_id=item.id)
    session.flush()
    return item


def unclaim(session: Session, *, user: User, item_id: int) -> WorkItem:
    """Give a claimed group item back to its role."""
    item = _open_item(session, user, item_id)
    if item.assignee_id != user.id:
        raise ConflictError("You do not hold this item.")
    if item.candidate_user_id == user.id:
        raise ConflictError("This item is addressed to you personally; ask a manager to reassign it.")
    item.assignee_id = None
    inst = session.get(Instance, item.instance_id)
    audit.record(session, instance=inst, actor=user.username, action="work_item_unclaimed",
                 task_name=item.task_name, work_item_id=item.id)
    session.flush()
    return item


def reassign(session: Session, *, user: User, item_id: int, to_user_id: int) -> WorkItem:
    """A manager (force_manager or line_manager role) or the holder hands an item to another eligible person."""
    item = get_work_item(session, user=user, item_id=item_id)
    if item.status != "open":
        raise ConflictError(f"This item is already {item.status}.")
    managers = {"force_manager", "line_manager", "second_line_manager"}
    if item.assignee_id != user.id and not (managers & roles_in(user, item.force_code)):
        raise NotAllowedError("Only the holder or a manager in this force can reassign this item.")
    target = session.get(User, to_user_id)
    if target is None or not target.active or item.force_code not in forces_of(target):
        raise NotFoundError("No such person in this force.")
    inst = session.get(Instance, item.instance_id)
    assert inst is not None
    if item.candidate_role and item.candidate_role not in roles_in(target, item.force_code) \
            and item.candidate_user_id is None:
        raise InvalidInputError(f"{target.full_name} does not hold the role '{item.candidate_role}'.",
                                details={"to_user_id": [f"Needs the role {item.candidate_role}"]})
    if item.is_approval and target.id == inst.started_by_id:
        raise InvalidInputError("An approval cannot be given to the person who made the request.",
                                details={"to_user_id": ["Cannot approve their own request"]})
    previous = item.assignee_id
    item.assignee_id = target.id
    item.candidate_user_id = target.id if item.candidate_user_id is not None else None
    item.needs_reassignment = False
    audit.record(session, instance=inst, actor=user.username, action="work_item_reassigned",
                 task_name=item.task_name, work_item_id=item.id, data={"from": previous, "to": target.id})
    session.flush()
    return item


def save_draft(session: Session, *, user: User, item_id: int, data: dict[str, Any]) -> WorkItem:
    """Keep unfinished form data on the item (not validated, not audited as a decision)."""
    item = _open_item(session, user, item_id)
    item.draft = dict(data)
    session.flush()
    return item


def form_for(session: Session, item: WorkItem) -> dict[str, Any] | None:
    """The JSON Schema of the item's form, as pinned in its instance's bundle."""
    inst = session.get(Instance, item.instance_id)
    if inst is None or not item.form_key:
        return None
    return catalog.form_schema(session, inst.bundle, item.form_key)


@dataclass
class Completion:
    """The result of completing a work item."""

    instance: Instance
    item: WorkItem
    next_items: list[WorkItem]


def complete(session: Session, *, user: User, item_id: int, data: dict[str, Any],
             on_loaded: Callable[[], None] | None = None) -> Completion:
    """Validate ``data`` against the item's form, complete the task and run to the next wait state.

    Raises NotFoundError, NotAllowedError (role or segregation of duties; the refusal is audited),
    InvalidInputError (errors by field; nothing changes), ConflictError (someone else acted first),
    WorkflowRunError (a later step failed; the instance is put in error and the item stays open).
    ``on_loaded`` is a test hook called after everything is loaded and checked, before any write.
    """
    item, inst = _open_item_and_instance(session, user, item_id)
    if item.assignee_id not in (None, user.id) and item.assignee_id not in delegators_of(
            session, user, utcnow().date()):
        raise ConflictError("Someone else has claimed this item.")
    if inst.status not in ("waiting", "running"):
        raise ConflictError(f"This request is {inst.status}; the item can no longer be completed.")
    if not isinstance(data, dict):
        raise InvalidInputError("The submitted data must be an object of field values.",
                                details={"": ["Not an object"]})
    schema = form_for(session, item)
    if schema is not None:
        validate_data(schema, data)
    items = list(session.execute(select(WorkItem).where(WorkItem.instance_id == inst.id)).scalars())
    _check_segregation(session, user, item, inst, items)
    parsed = catalog.parsed_for_trace(session, inst.process_key, inst.bundle)
    wf = runtime.load(parsed, inst.state)
    if on_loaded is not None:
        on_loaded()
    log = runtime.StepLog()
    if not runtime.is_ready(wf, item.task_id):
        raise ConflictError("This step has already moved on. Reload the request to see where it is now.")
    try:
        runtime.complete_task(wf, item.task_id, data, log)
    except WorkflowRunError as exc:
        fail(session, inst, user.username, exc)
        raise
    now = utcnow()
    item.status, item.completed_by_id, item.completed_at = "completed", user.id, now
    item.assignee_id = user.id
    item.outcome = str(data.get("decision"))[:64] if data.get("decision") is not None else None
    item.draft = None
    audit.record(session, instance=inst, actor=user.username, action="work_item_completed", task_name=item.task_name,
                 work_item_id=item.id, data={"data": data, "title": item.title})
    # The item row is locked and the instance row is version-checked, so no rival command can add or close
    # items of this instance before we commit: the items read above are still the open ones.
    next_items = save_progress(session, inst, wf, user.username, log,
                               open_items=[w for w in items if w.status == "open" or w is item])
    session.flush()
    return Completion(inst, item, next_items)


def _check_segregation(session: Session, user: User, item: WorkItem, inst: Instance,
                       items: list[WorkItem]) -> None:
    if not item.is_approval:
        return
    reason = None
    if inst.started_by_id == user.id:
        reason = "You cannot approve your own request (segregation of duties)."
    elif any(w.is_approval and w.status == "completed" and w.completed_by_id == user.id and w.id != item.id
             for w in items):
        reason = "You have already approved a step of this request; a second approval must come from someone else."
    if reason:
        audit.record(session, instance=inst, actor=user.username, action="segregation_refused",
                     task_name=item.task_name, work_item_id=item.id, data={"reason": reason})
        session.commit()
        raise NotAllowedError(reason)


def eligible_assignees(session: Session, *, user: User, item_id: int) -> list[User]:
    """People in the item's force who could take it (for the reassign picker)."""
    item = get_work_item(session, user=user, item_id=item_id)
    q = select(User).where(User.active.is_(True))
    if item.candidate_role and item.candidate_user_id is None:
        q = q.join(RoleGrant, RoleGrant.user_id == User.id).where(
            RoleGrant.force_code == item.force_code, RoleGrant.role == item.candidate_role)
    else:
        q = q.where(User.force_code == item.force_code)
    return list(session.execute(q.order_by(User.full_name)).scalars().unique())
