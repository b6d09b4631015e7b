"""Use cases on process instances: start, withdraw, read; and the shared save step after every change.

Each function takes a Session inside the caller's unit of work; nothing here commits except where a
refusal or failure must be recorded before the error is raised.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import audit, catalog, runtime
from .calendar import add_working_days, to_date, utcnow
from .errors import ConflictError, InvalidInputError, NotAllowedError, NotFoundError, WorkflowRunError
from .forms import validate_data
from .models import OPEN_STATUSES, Instance, Job, User, WorkItem
from .org.forces import known_force
from .routing import delegators_of, forces_of, roles_in, route

LONDON = ZoneInfo("Europe/London")
PRIORITIES = {"high": 1, "normal": 2, "low": 3}


@dataclass(frozen=True)
class Started:
    """A new instance and its open work items after its first steps ran."""

    instance: Instance
    open_items: list[WorkItem]


def start_instance(session: Session, *, user: User, process_key: str, data: dict[str, Any] | None = None,
                   business_key: str | None = None) -> Instance:
    """Start ``process_key`` for ``user``'s force and run it to its first wait state.

    Raises NotFoundError (no such process for the force), InvalidInputError (start form), ConflictError
    (business key already open), WorkflowRunError (first steps failed; the instance is kept in error).
    """
    return start(session, user=user, process_key=process_key, data=data, business_key=business_key).instance


def start(session: Session, *, user: User, process_key: str, data: dict[str, Any] | None = None,
          business_key: str | None = None) -> Started:
    """``start_instance``, also returning the new instance's open work items (read nothing more)."""
    data = dict(data or {})
    force = user.force_code
    bundle = catalog.bundle_for(session, force, process_key)
    top = bundle.items[0]
    start_form = top.meta.get("start_form")
    if start_form:
        form = bundle.get("form", start_form)
        validate_data(catalog.json_content(form) if form else {"type": "object"}, data)
    if business_key is not None:
        business_key = business_key.strip()
        if not business_key or len(business_key) > 200:
            raise InvalidInputError("The business key must be 1 to 200 characters.",
                                    details={"business_key": ["Must be 1 to 200 characters"]})
        if _open_with_key(session, force, process_key, business_key):
            raise ConflictError(f"An open {process_key} instance with business key '{business_key}' already exists.")
    initial = {**data, "force_code": force, "requester": _requester(user)}
    parsed = bundle.parsed()
    wf = runtime.new_workflow(parsed, initial)
    now = utcnow()
    inst = Instance(reference=uuid.uuid4().hex[:20], force_code=force, process_key=process_key,
                    definition_id=top.definition_id, bundle=bundle.trace, business_key=business_key,
                    title=str(top.meta.get("title") or _title(session, top)), status="running", state="",
                    serializer_version=runtime.SERIALIZER_VERSION, started_by_id=user.id, started_at=now,
                    updated_at=now)
    session.add(inst)
    session.flush()
    inst.reference = f"{force}-{inst.id:06d}"
    audit.record(session, instance=inst, actor=user.username, action="instance_started",
                 data={"process": process_key, "data": data, "business_key": business_key,
                       "resolution": bundle.trace})
    log = runtime.StepLog()
    try:
        runtime.run(wf, log)
    except WorkflowRunError as exc:
        inst.state = runtime.dump(runtime.new_workflow(parsed, initial))
        fail(session, inst, user.username, exc)
        raise
    return Started(inst, save_progress(session, inst, wf, user.username, log, new_instance=True))


def _open_with_key(session: Session, force: str, process_key: str, key: str) -> bool:
    return session.execute(select(Instance.id).where(
        Instance.force_code == force, Instance.process_key == process_key, Instance.business_key == key,
        Instance.status.in_(OPEN_STATUSES))).first() is not None


def _requester(user: User) -> dict[str, Any]:
    return {"username": user.username, "full_name": user.full_name, "force": user.force_code,
            **(user.attributes or {})}


def _title(session: Session, item: catalog.Resolved) -> str:
    return item.key.replace("_", " ").capitalize()


def fail(session: Session, inst: Instance, actor: str, exc: WorkflowRunError) -> None:
    """Put an instance in error (its state stays at the last committed wait state) and commit that."""
    inst.status = "error"
    inst.error_message = exc.message
    inst.updated_at = utcnow()
    audit.record(session, instance=inst, actor=actor, action="step_failed",
                 data={"error": exc.message, "details": exc.details})
    session.commit()


def save_progress(session: Session, inst: Instance, wf: Any, actor: str, log: runtime.StepLog, *,
                  new_instance: bool = False, open_items: list[WorkItem] | None = None) -> list[WorkItem]:
    """Persist state, status, work items, timer jobs and audit after the workflow moved; returns new items.

    ``new_instance``: the instance was created in this transaction (it has no work items or jobs yet).
    ``open_items``: the instance's items that were open when this command read them (read here if None)."""
    with session.no_autoflush:  # one flush at the end instead of one before every query
        return _save_progress(session, inst, wf, actor, log, [] if new_instance else open_items)


def _save_progress(session: Session, inst: Instance, wf: Any, actor: str, log: runtime.StepLog,
                   open_items: list[WorkItem] | None) -> list[WorkItem]:
    # Everything is set on the objects first and written in one flush: one UPDATE of the instance row.
    now = utcnow()
    ready = runtime.ready_user_tasks(wf)
    timers = runtime.waiting_timers(wf)
    schedule_timer_job(session, inst, timers)
    new_items, closed_ids = _sync(session, inst, ready, now, open_items)
    inst.state = runtime.dump(wf)
    inst.updated_at = now
    inst.error_message = None
    if runtime.is_completed(wf):
        inst.status, inst.completed_at, inst.current_step = "completed", now, None
        inst.data_summary = _summary(runtime.final_data(wf))
        audit.record(session, instance=inst, actor=actor, action="instance_completed",
                     data={"path": log.completed, "outcome": inst.data_summary.get("outcome")})
    else:
        inst.status = "waiting"
        inst.current_step = ", ".join(sorted({t.title for t in ready})) or ("Waiting for a timer" if timers else None)
        if log.completed:
            audit.record(session, instance=inst, actor=actor, action="steps_run", data={"path": log.completed})
    for item in new_items:
        audit.record(session, instance=inst, actor="system", action="work_item_created", task_name=item.task_name,
                     data={"title": item.title, "candidate_role": item.candidate_role,
                           "candidate_user_id": item.candidate_user_id})
    session.flush()
    from . import sla  # notifications and reminder/escalation jobs, in this same transaction

    sla.after_save(session, inst, new_items, ready, closed_ids)
    return new_items


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    keys = ("outcome", "decision", "route", "reason_code", "total_pence", "po_number")
    return {k: data[k] for k in keys if k in data and isinstance(data[k], (str, int, float, bool))}


def _sync(session: Session, inst: Instance, ready: list[runtime.ReadyTask], now: dt.datetime,
          open_rows: list[WorkItem] | None) -> tuple[list[WorkItem], list[int]]:
    """Make the open work items match the READY user tasks exactly; ``open_rows`` are the instance's items
    that were open when the command read them (None: read them here). Returns the created items and the ids
    of the items closed in this transaction (completed by the caller, or cancelled here)."""
    if open_rows is None:
        open_rows = list(session.execute(select(WorkItem).where(
            WorkItem.instance_id == inst.id, WorkItem.status == "open")).scalars())
    open_items = {w.task_id: w for w in open_rows}
    ready_ids = {t.task_id for t in ready}
    for task_id, item in open_items.items():
        if task_id not in ready_ids and item.status == "open":  # not the item being completed right now
            item.status = "cancelled"
    closed = [w.id for w in open_rows if w.status != "open"]
    force = known_force(session, inst.force_code)
    closures = tuple((force.params or {}).get("closure_days", ())) if force is not None else ()
    created = []
    for t in ready:
        if t.task_id in open_items:
            continue
        props = t.properties
        r = route(session, props.get("candidateRole") or t.lane, inst.started_by_id)
        item = WorkItem(instance_id=inst.id, force_code=inst.force_code, task_id=t.task_id, task_name=t.name,
                        process_key=inst.process_key, title=t.title, lane=t.lane,
                        candidate_role=r.candidate_role, candidate_user_id=r.candidate_user_id,
                        assignee_id=r.candidate_user_id, form_key=props.get("formKey"),
                        is_approval=props.get("approval", "").lower() == "true", created_at=now,
                        due_at=due_at(props, now, closures),
                        priority=PRIORITIES.get(props.get("priority", "normal"), 2),
                        status="open", needs_reassignment=r.needs_reassignment)
        session.add(item)
        created.append(item)
    return created, closed


def due_at(props: dict[str, str], now: dt.datetime, closures: tuple[str, ...] = ()) -> dt.datetime | None:
    """A work item's deadline from its task properties: working days skip weekends, England & Wales bank
    holidays and the force's closure days (``params.closure_days``), and end at 17:00 UK time."""
    if props.get("dueInWorkingDays", "").isdigit():
        days = int(props["dueInWorkingDays"])
        day = to_date(add_working_days(now.astimezone(LONDON).date(), days, closures))
        return dt.datetime.combine(day, dt.time(17, 0), LONDON).astimezone(dt.timezone.utc)
    if props.get("dueIn"):
        duration = runtime.iso_duration(props["dueIn"], now)
        return now + duration if duration is not None else None
    return None


def schedule_timer_job(session: Session, inst: Instance, timers: list[runtime.TimerInfo]) -> None:
    """Keep one pending 'timer' job per instance, due at its earliest waiting timer."""
    due = min((dt.datetime.fromisoformat(t.due) for t in timers), default=None)
    if due is None and inst.next_timer_at is None:
        return  # no timer now and none scheduled before: there is no pending timer job to touch
    pending = session.execute(select(Job).where(Job.instance_id == inst.id, Job.kind == "timer",
                                                Job.status == "pending")).scalars().all()
    inst.next_timer_at = due
    if due is None:
        for job in pending:
            job.status = "cancelled"
        return
    if pending:
        pending[0].due_at = due
        for job in pending[1:]:
            job.status = "cancelled"
    else:
        session.add(Job(kind="timer", instance_id=inst.id, force_code=inst.force_code, due_at=due,
                        payload={"timers": [t.name for t in timers]}))


def withdraw_instance(session: Session, *, user: User, instance_id: int, reason: str = "") -> Instance:
    """The requester (or a force manager) withdraws an open request; its work items and timers are cancelled."""
    inst = get_instance(session, user=user, instance_id=instance_id)
    if inst.started_by_id != user.id and "force_manager" not in roles_in(user, inst.force_code):
        raise NotAllowedError("Only the person who made the request, or a force manager, can withdraw it.")
    if inst.status not in OPEN_STATUSES:
        raise ConflictError(f"This request is already {inst.status}; it cannot be withdrawn.")
    parsed = catalog.parsed_for_trace(session, inst.process_key, inst.bundle)
    wf = runtime.load(parsed, inst.state)
    runtime.cancel(wf)
    inst.state = runtime.dump(wf)
    inst.status, inst.completed_at, inst.current_step, inst.updated_at = "cancelled", utcnow(), None, utcnow()
    for item in session.execute(select(WorkItem).where(WorkItem.instance_id == inst.id,
                                                       WorkItem.status == "open")).scalars():
        item.status = "cancelled"
    schedule_timer_job(session, inst, [])
    audit.record(session, instance=inst, actor=user.username, action="instance_withdrawn",
                 data={"reason": reason[:1000]})
    return inst


OVERSEERS = frozenset({"force_manager"})  # see every request of their force


def may_view(session: Session, user: User, inst: Instance) -> bool:
    """Who may see a request: its requester, anyone offered, holding or having done one of its items, the
    requester's line manager, and force managers. Everyone else (other forces included) may not."""
    if inst.force_code not in forces_of(user):
        return False
    if inst.started_by_id == user.id or OVERSEERS & roles_in(user, inst.force_code):
        return True
    manager_id = session.execute(select(User.manager_id).where(User.id == inst.started_by_id)).scalar()
    if manager_id == user.id:
        return True
    people = [user.id, *delegators_of(session, user, utcnow().date())]
    roles = list(roles_in(user, inst.force_code))
    involved = select(WorkItem.id).where(WorkItem.instance_id == inst.id, or_(
        WorkItem.assignee_id.in_(people), WorkItem.candidate_user_id.in_(people),
        WorkItem.completed_by_id == user.id, WorkItem.candidate_role.in_(roles)))
    return session.execute(involved.limit(1)).first() is not None


def get_instance(session: Session, *, user: User, instance_id: int) -> Instance:
    """An instance the user may see (``may_view``); NotFoundError otherwise, never saying which."""
    inst = session.get(Instance, instance_id)
    if inst is None or not may_view(session, user, inst):
        raise NotFoundError("No such request.")
    return inst


def list_my_instances(session: Session, *, user: User, limit: int = 200) -> list[Instance]:
    """Instances the user started, newest first."""
    return list(session.execute(select(Instance).where(Instance.started_by_id == user.id)
                                .order_by(Instance.started_at.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class InstanceView:
    """What a requester sees of one instance."""

    instance: Instance
    open_items: list[WorkItem]
    history: list[Any]


def open_work_items(session: Session, inst: Instance) -> list[WorkItem]:
    """The instance's open work items."""
    return list(session.execute(select(WorkItem).where(WorkItem.instance_id == inst.id,
                                                       WorkItem.status == "open")).scalars())


def view_instance(session: Session, *, user: User, instance_id: int) -> InstanceView:
    """A visible instance with its open work items and its audit history (NotFoundError otherwise)."""
    inst = get_instance(session, user=user, instance_id=instance_id)
    return InstanceView(inst, open_work_items(session, inst), audit.history(session, inst.id))
