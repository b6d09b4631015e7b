"""Engine objects as the plain dicts the API schemas dump (field names of the API, usernames for ids).

Reads nothing but usernames by id; no business rules here.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from engine.models import AuditEvent, Instance, User, WorkItem

Names = Callable[[int | None], str | None]


def usernames(session: Session, caller: User) -> Names:
    """A lookup from user id to username: the caller and users already in the session need no query,
    others one small query each (not the whole user with its roles)."""
    known: dict[int, str] = {caller.id: caller.username}

    def name(user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in known:
            loaded = session.identity_map.get(identity_key(User, user_id))
            found = loaded.username if isinstance(loaded, User) else session.execute(
                select(User.username).where(User.id == user_id)).scalar()
            known[user_id] = found or str(user_id)
        return known[user_id]

    return name


def work_item(item: WorkItem, names: Names) -> dict[str, Any]:
    """A work item with the API's field names."""
    return {"id": item.id, "instance_id": item.instance_id, "process": item.process_key,
            "task": item.task_name, "title": item.title, "lane": item.lane,
            "assignee": names(item.assignee_id), "candidate_role": item.candidate_role,
            "candidate_user": names(item.candidate_user_id), "force": item.force_code,
            "form_key": item.form_key, "created_at": item.created_at, "due_at": item.due_at,
            "priority": item.priority, "status": item.status}


def instance_summary(inst: Instance) -> dict[str, Any]:
    """An instance as listed."""
    return {"id": inst.id, "reference": inst.reference, "process": inst.process_key,
            "version": top_version(inst), "force": inst.force_code, "title": inst.title,
            "status": inst.status, "business_key": inst.business_key, "current_step": inst.current_step,
            "started_at": inst.started_at, "updated_at": inst.updated_at, "completed_at": inst.completed_at}


def instance(inst: Instance, open_items: list[WorkItem], names: Names) -> dict[str, Any]:
    """An instance in full: who started it, its open work items and its resolution trace."""
    return {**instance_summary(inst), "started_by": names(inst.started_by_id),
            "error_message": inst.error_message, "summary": inst.data_summary or {},
            "open_work_items": [work_item(w, names) for w in open_items],
            "resolution": list(inst.bundle or [])}


def top_version(inst: Instance) -> int | None:
    """The version of the instance's own process definition, from its pinned resolution trace."""
    for entry in inst.bundle or []:
        if entry.get("kind") == "process" and entry.get("key") == inst.process_key:
            return int(entry["version"])
    return None


def audit_event(ev: AuditEvent) -> dict[str, Any]:
    """One audit event."""
    return {"seq": ev.seq, "at": ev.at, "actor": ev.actor, "action": ev.action, "task": ev.task_name,
            "work_item_id": ev.work_item_id, "data": ev.data or {}}
