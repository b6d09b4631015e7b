"""Work-item SLAs: reminders before the due time, escalation on breach, and the notifications of each step.

``after_save`` runs inside ``instances.save_progress`` (same transaction): it notifies new items and
outcomes and keeps one ``reminder`` and one ``escalation`` job per open item that has a due time.
Overdue is not stored: inboxes and dashboards compare ``WorkItem.due_at`` with now.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from . import audit, jobs, notify, runtime
from .calendar import LONDON, add_working_days, utcnow
from .models import Instance, Job, User, WorkItem
from .org import line_manager_of, role_holders

SLA_KINDS = ("reminder", "escalation")
FALLBACK_ROLE = "force_manager"  # who hears about a breach when nobody has a line manager


def after_save(session: Session, inst: Instance, new_items: Sequence[WorkItem],
               ready: Sequence[runtime.ReadyTask], closed_ids: Collection[int]) -> None:
    """Notify and schedule SLA jobs for ``new_items``; cancel the SLA jobs of the items this save closed
    (``closed_ids``); notify the requester when the instance has just completed. ``ready`` are the
    runtime's ReadyTasks (properties)."""
    now = utcnow()
    props = {t.task_id: dict(t.properties) for t in ready}
    holder_ids = [item.assignee_id or item.candidate_user_id for item in new_items]
    wanted = [i for i in (inst.started_by_id, *holder_ids) if i is not None] \
        if new_items or inst.status == "completed" else []
    people = {c.id: c for c in notify.contacts(session, wanted)}  # one narrow query for the whole save
    for item, holder_id in zip(new_items, holder_ids):
        notify.send(session, event="new_item", force=inst.force_code,
                    recipients=holders(session, item, people),
                    values=notify.item_values(session, item, inst, people), link=notify.item_link(item))
        schedule(session, inst, item, props.get(item.task_id, {}), now)
    _cancel_stale(session, inst, closed_ids)
    if inst.status == "completed":
        requester = people.get(inst.started_by_id)
        notify.send(session, event="outcome", force=inst.force_code,
                    recipients=[requester] if requester else [], values=notify.instance_values(session, inst),
                    link=notify.instance_link(inst))


def schedule(session: Session, inst: Instance, item: WorkItem, props: dict[str, str],
             now: dt.datetime) -> None:
    """Create the reminder and escalation jobs of a new item with a due time."""
    if item.due_at is None:
        return
    payload = {"work_item_id": item.id, "escalate_to": props.get("escalateTo") or None}
    remind = reminder_at(item.due_at, props, now)
    if remind is not None:
        jobs.enqueue(session, "reminder", due_at=remind, instance_id=inst.id, force_code=inst.force_code,
                     payload=payload)
    jobs.enqueue(session, "escalation", due_at=item.due_at, instance_id=inst.id, force_code=inst.force_code,
                 payload=payload)


def reminder_at(due: dt.datetime, props: dict[str, str], now: dt.datetime) -> dt.datetime | None:
    """When to remind: ``reminderBefore`` (ISO duration) before due, else one working day before (same
    time of day); halfway to the due time if that has already passed; never once the item is overdue."""
    if due <= now:
        return None
    before = props.get("reminderBefore")
    delta = runtime.iso_duration_before(before, due) if before else None
    at = due - delta if delta is not None else _one_working_day_before(due)  # a bad property: the default
    return at if at > now else now + (due - now) / 2


def _one_working_day_before(due: dt.datetime) -> dt.datetime:
    local = due.astimezone(LONDON)
    day = dt.date.fromisoformat(add_working_days(local.date(), -1))
    return dt.datetime.combine(day, local.time(), LONDON).astimezone(dt.timezone.utc)


def _cancel_stale(session: Session, inst: Instance, closed_ids: Collection[int]) -> None:
    if not closed_ids:
        return
    # A Core UPDATE of the table: no SLA job of this instance is loaded in the session (handlers get a
    # jobs.Claimed copy; this save's new jobs are not written yet), so there is nothing to synchronise.
    jobs_table = Job.__table__.c
    session.execute(update(Job.__table__).where(
        jobs_table.instance_id == inst.id, jobs_table.kind.in_(SLA_KINDS), jobs_table.status == "pending",
        jobs_table.payload["work_item_id"].as_integer().in_(list(closed_ids))).values(status="cancelled"))


def holders(session: Session, item: WorkItem,
            known: Mapping[int, notify.Contact] | None = None) -> list[notify.Contact]:
    """Who should hear about an item: its assignee, else its named candidate, else its role's holders.
    ``known`` contacts (by user id) are used without a query."""
    person = item.assignee_id or item.candidate_user_id
    if person is not None:
        if known is not None and person in known:
            return [known[person]]
        return notify.contacts(session, [person])
    return notify.role_contacts(session, item.force_code, item.candidate_role) if item.candidate_role else []


def escalation_targets(session: Session, item: WorkItem, inst: Instance) -> list[User]:
    """The line manager of the item's holder (or of the requester when it sits in a role queue); when that
    is the holder themself, their manager; when nobody has a manager, the force managers."""
    holder_id = item.assignee_id or item.candidate_user_id
    base = session.get(User, holder_id if holder_id is not None else inst.started_by_id)
    manager = line_manager_of(session, base) if base is not None else None
    if manager is not None and manager.id == holder_id:
        manager = line_manager_of(session, manager)
    if manager is not None:
        return [manager]
    return role_holders(session, inst.force_code, FALLBACK_ROLE)


# --- job handlers ----------------------------------------------------------------------------


def _open_item(session: Session, job: jobs.Claimed) -> tuple[WorkItem, Instance] | None:
    item = session.get(WorkItem, job.payload.get("work_item_id"))
    if item is None or item.status != "open":
        return None  # completed or cancelled since: nothing to remind or escalate
    inst = session.get(Instance, item.instance_id)
    return (item, inst) if inst is not None else None


def handle_reminder(session: Session, job: jobs.Claimed) -> None:
    """Remind the holders of a still-open item that it is due soon."""
    found = _open_item(session, job)
    if found is None:
        return
    item, inst = found
    sent = notify.send(session, event="reminder", force=inst.force_code, recipients=holders(session, item),
                       values=notify.item_values(session, item, inst), link=notify.item_link(item))
    audit.record(session, instance=inst, actor="system", action="work_item_reminded",
                 task_name=item.task_name, work_item_id=item.id, data={"notified": [n.user_id for n in sent]})


def handle_escalation(session: Session, job: jobs.Claimed) -> None:
    """On breach: raise the item's priority, optionally move it to the ``escalateTo`` role, and notify the
    next manager up (and the new role's holders)."""
    found = _open_item(session, job)
    if found is None:
        return
    item, inst = found
    values = notify.item_values(session, item, inst)
    recipients = escalation_targets(session, item, inst)
    role = job.payload.get("escalate_to")
    if role:
        item.candidate_role, item.candidate_user_id, item.assignee_id = role, None, None
        item.needs_reassignment = False
        recipients += role_holders(session, item.force_code, role)
    item.priority = 1
    values["escalated_to"] = role or values["holder_name"]
    sent = notify.send(session, event="escalation", force=inst.force_code, recipients=recipients,
                       values=values, link=notify.item_link(item))
    audit.record(session, instance=inst, actor="system", action="work_item_escalated",
                 task_name=item.task_name, work_item_id=item.id,
                 data={"due_at": item.due_at, "to_role": role, "notified": [n.user_id for n in sent]})


def register() -> None:
    """Register the SLA job handlers."""
    jobs.register("reminder", handle_reminder)
    jobs.register("escalation", handle_escalation)
