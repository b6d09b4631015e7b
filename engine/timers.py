"""BPMN timers run by workers: fire an instance's due timers in one transaction (on its pinned bundle), and
start processes whose start event is a timer (``timeCycle``/``timeDate``) on schedule, one instance per
occurrence. SpiffWorkflow's own repeating start events are not used: they fire every missed cycle into
one never-ending instance.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from . import audit, catalog, instances, jobs, runtime
from .calendar import LONDON, utcnow
from .errors import MusterError
from .models import Definition, Force, Instance, Job, User
from .org import role_holders
from .sandbox import evaluate
from .xmlsafe import parse_xml

log = logging.getLogger(__name__)
RECHECK = dt.timedelta(seconds=5)
OPEN = ("waiting", "running")
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
DEFAULT_RUN_AS = "force_manager"
SCHEDULE_LOCK = 7_274_001  # PostgreSQL advisory lock: one schedule sync at a time


@dataclass(frozen=True)
class FiredTimers:
    """What one timer job did to an instance."""

    instance_id: int
    fired: list[str]
    path: list[str]


def fire_due_timers(session: Session, instance_id: int, *, actor: str = "timer") -> FiredTimers:
    """Load the instance on its pinned bundle, fire whatever timers are due, run to the next wait state and
    save (work items, timer jobs, audit) in the caller's transaction. A closed instance is left alone.

    Raises WorkflowRunError when a step after the timer fails (the job is retried, then an incident)."""
    inst = session.get(Instance, instance_id, with_for_update=True)
    if inst is None or inst.status not in OPEN:
        return FiredTimers(instance_id, [], [])
    wf = runtime.load(catalog.parsed_for_trace(session, inst.process_key, inst.bundle), inst.state)
    now = utcnow()
    before = runtime.waiting_timers(wf)
    steps = runtime.StepLog()
    runtime.run(wf, steps)
    after = {(t.name, t.due) for t in runtime.waiting_timers(wf)}
    fired = [t.name for t in before
             if (t.name, t.due) not in after and dt.datetime.fromisoformat(t.due) <= now]
    if fired:
        audit.record(session, instance=inst, actor=actor, action="timer_fired",
                     data={"timers": fired, "path": steps.completed})
    instances.save_progress(session, inst, wf, actor, steps)
    if not fired:
        _defer_recheck(session, inst, now)
    return FiredTimers(instance_id, fired, steps.completed)


def _defer_recheck(session: Session, inst: Instance, now: dt.datetime) -> None:
    """Woken a little early (clock skew): look again shortly instead of spinning on a due job."""
    for job in session.execute(select(Job).where(Job.instance_id == inst.id, Job.kind == "timer",
                                                 Job.status == "pending", Job.due_at <= now)).scalars():
        job.due_at = now + RECHECK


def handle_timer(session: Session, job: jobs.Claimed) -> None:
    """Job handler for kind ``timer``."""
    if job.instance_id is not None:
        fire_due_timers(session, job.instance_id)


# --- timer start events ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimerStart:
    """A process's timer start event: its (sandboxed) expression and the role whose holder starts it."""

    event_id: str
    expression: str
    run_as_role: str


@functools.lru_cache(maxsize=512)
def _timer_start(content: str) -> TimerStart | None:
    root = parse_xml(content.encode(), "process.bpmn")
    for proc in root.findall("bpmn:process", NS):
        if proc.get("isExecutable", "true") == "false":
            continue
        for start in proc.findall("bpmn:startEvent", NS):
            timer = start.find("bpmn:timerEventDefinition", NS)
            if timer is None:
                continue
            expr = next((el.text or "" for el in timer if isinstance(el.tag, str)), "")
            props = {p.get("name"): p.get("value") for p in start.findall(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
            return TimerStart(start.get("id") or "", expr.strip(), props.get("runAsRole") or DEFAULT_RUN_AS)
    return None


def timer_start(definition: Definition | catalog.Resolved) -> TimerStart | None:
    """The timer start event of a deployed process, if it has one."""
    return _timer_start(definition.content) if definition.kind == "process" else None


def cycle_of(start: TimerStart) -> Cycle:
    """Evaluate the start event's expression in the sandbox and parse the ISO 8601 cycle or date."""
    return parse_cycle(str(evaluate(start.expression, {})))


def strip_start_timers(content: str) -> str:
    """The process XML with its start events' timer definitions removed (the scheduler already fired them)."""
    root = parse_xml(content.encode(), "process.bpmn")
    for start in root.iterfind("bpmn:process/bpmn:startEvent", NS):
        for timer in start.findall("bpmn:timerEventDefinition", NS):
            start.remove(timer)
    return etree.tostring(root, encoding="unicode")


def sync_schedules(session: Session, now: dt.datetime) -> int:
    """Keep one pending ``scheduled`` job per (force, process with a timer start event) whose run-as role
    has a holder; cancel jobs of schedules that were removed or replaced. Returns how many jobs changed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEDULE_LOCK})
    wanted = _wanted_schedules(session)
    pending = session.execute(select(Job).where(
        Job.kind == "scheduled", Job.status.in_(("pending", "incident")))).scalars().all()
    have: dict[tuple[str, str], list[Job]] = {}
    for job in pending:
        have.setdefault((job.force_code or "", job.payload.get("process_key", "")), []).append(job)
    changed = 0
    for key, (definition, start) in wanted.items():
        current = have.pop(key, [])
        if any(j.payload.get("definition_id") == definition.definition_id for j in current):
            continue
        for job in current:
            job.status, changed = "cancelled", changed + 1
        changed += _schedule_next(session, key[0], definition, start, after=now)
    for stale in have.values():
        for job in stale:
            if job.status == "pending":
                job.status, changed = "cancelled", changed + 1
    session.flush()
    return changed


def _wanted_schedules(session: Session) -> dict[tuple[str, str], tuple[catalog.Resolved, TimerStart]]:
    keys = sorted(set(session.execute(select(Definition.key).where(
        Definition.kind == "process", Definition.content.contains("timerEventDefinition"))).scalars()))
    wanted: dict[tuple[str, str], tuple[catalog.Resolved, TimerStart]] = {}
    if not keys:
        return wanted
    lookup = catalog.DbLookup(session)
    for force in session.execute(select(Force.code).where(Force.active.is_(True))).scalars():
        chain = catalog.force_chain(session, force)
        for key in keys:
            found = lookup.find("process", key, chain)
            start = timer_start(found) if found is not None else None
            if found is not None and start is not None and role_holders(session, force, start.run_as_role):
                wanted[(force, key)] = (found, start)
    return wanted


def _schedule_next(session: Session, force: str, definition: catalog.Resolved, start: TimerStart, *,
                   after: dt.datetime) -> int:
    try:
        cycle = cycle_of(start)
    except (MusterError, ValueError) as exc:
        log.warning("process %s: timer start event %s is not a usable schedule: %s", definition.key,
                    start.event_id, exc)
        return 0
    row = session.get(Definition, definition.definition_id)
    anchor = row.deployed_at if row is not None else after
    occurrence = next_occurrence(cycle, anchor, after)
    if occurrence is None:
        return 0
    jobs.enqueue(session, "scheduled", due_at=occurrence, force_code=force,
                 payload={"process_key": definition.key, "definition_id": definition.definition_id,
                          "occurrence": occurrence.isoformat(), "run_as_role": start.run_as_role})
    return 1


def handle_scheduled(session: Session, job: jobs.Claimed) -> None:
    """Job handler for kind ``scheduled``: start this occurrence's instance and schedule the next one."""
    force, key = job.force_code or "", job.payload["process_key"]
    found = catalog.DbLookup(session).find("process", key, catalog.force_chain(session, force))
    start = timer_start(found) if found is not None else None
    if found is None or start is None or found.definition_id != job.payload.get("definition_id"):
        return  # the schedule was replaced or removed; sync_schedules keeps the new one
    holders = role_holders(session, force, start.run_as_role)
    if not holders:
        raise MusterError(f"Nobody in {force} holds the role '{start.run_as_role}' that runs the scheduled "
                          f"process '{key}'. Grant the role, then retry this incident.")
    occurrence = dt.datetime.fromisoformat(job.payload["occurrence"])
    start_scheduled(session, force, key, holders[0], occurrence)
    _schedule_next(session, force, found, start, after=max(utcnow(), occurrence))


def start_scheduled(session: Session, force: str, process_key: str, run_as: User,
                    occurrence: dt.datetime) -> Instance:
    """Start one scheduled instance past its (already fired) timer start event, pinned like any other."""
    bundle = catalog.bundle_for(session, force, process_key)
    top = bundle.items[0]

    def docs() -> list[runtime.SourceDoc]:
        return [runtime.SourceDoc(i.kind, i.filename,
                                  strip_start_timers(i.content) if i is top else i.content)
                for i in bundle.items if i.kind != "form"]

    parsed = runtime.parsed_bundle(bundle.cache_key + ("timer-start-fired",), process_key, docs)
    initial: dict[str, Any] = {"force_code": force, "scheduled_for": occurrence.isoformat(),
                               "requester": {"username": run_as.username, "full_name": run_as.full_name,
                                             "force": run_as.force_code}}
    wf = runtime.new_workflow(parsed, initial)
    now = utcnow()
    inst = Instance(reference=f"pending-{now.timestamp()}-{run_as.id}", force_code=force,
                    process_key=process_key, definition_id=top.definition_id, bundle=bundle.trace,
                    business_key=f"scheduled {occurrence:%Y-%m-%dT%H:%M}Z",
                    title=str(top.meta.get("title") or process_key.replace("_", " ").capitalize()),
                    status="running", state="", serializer_version=runtime.SERIALIZER_VERSION,
                    started_by_id=run_as.id, started_at=now, updated_at=now)
    session.add(inst)
    session.flush()
    inst.reference = f"{force}-{inst.id:06d}"
    audit.record(session, instance=inst, actor="scheduler", action="instance_started",
                 data={"process": process_key, "scheduled_for": occurrence.isoformat(),
                       "run_as": run_as.username, "business_key": inst.business_key,
                       "resolution": bundle.trace})
    steps = runtime.StepLog()
    runtime.run(wf, steps)
    instances.save_progress(session, inst, wf, "scheduler", steps, new_instance=True)
    return inst


# --- ISO 8601 schedules ----------------------------------------------------------------------

_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
MAX_STEPS = 10_000


@dataclass(frozen=True)
class Cycle:
    """A schedule: ``repetitions`` occurrences (-1 = unbounded) from ``start`` (None: one period after the
    anchor) every ``period`` = (months, days, seconds); a one-off date has no period."""

    repetitions: int
    start: dt.datetime | None
    period: tuple[int, int, float] | None


def parse_duration(value: str) -> tuple[int, int, float]:
    """An ISO 8601 duration as (months, days, seconds), e.g. 'P1M' -> (1, 0, 0.0)."""
    m = _DURATION.match(value.strip().upper())
    if not m or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {value!r} (expected e.g. P1M, P7D, PT12H)")
    y, mo, w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return int(y * 12 + mo), int(w * 7 + d), h * 3600 + mi * 60 + s


def _parse_time(value: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value.strip())
    return when.replace(tzinfo=LONDON) if when.tzinfo is None else when  # naive = UK wall-clock time


def parse_cycle(value: str) -> Cycle:
    """'R/2026-01-01T02:00:00Z/P1M', 'R12/P1D', 'R/P1W', a date ('2027-01-01T09:00:00Z') or a duration.

    Raises ValueError for anything else (e.g. an end date instead of a start)."""
    value = value.strip()
    if value.upper().startswith("R"):
        parts = value.split("/")
        reps = int(parts[0][1:]) if parts[0][1:] else -1
        if len(parts) == 2:
            return Cycle(reps, None, parse_duration(parts[1]))
        if len(parts) == 3 and not parts[1].upper().startswith("P"):
            return Cycle(reps, _parse_time(parts[1]), parse_duration(parts[2]))
        raise ValueError(f"unsupported cycle {value!r}: use R[n]/<start>/<duration> or R[n]/<duration>")
    if value.upper().startswith("P"):
        return Cycle(1, None, parse_duration(value))
    return Cycle(1, _parse_time(value), None)


def add_period(start: dt.datetime, period: tuple[int, int, float], times: int) -> dt.datetime:
    """``start`` plus ``times`` periods. Months and days move the wall-clock date in ``start``'s own time zone
    (UK time for a naive cycle start, so '02:00 on the 1st' stays 02:00 across summer time); the time part
    of the period is added as elapsed seconds."""
    months, days, seconds = (p * times for p in period)
    tz = start.tzinfo or LONDON
    local = start.astimezone(tz)
    year, month = divmod(local.month - 1 + int(months), 12)
    day = min(local.day, _month_days(local.year + year, month + 1))
    moved = dt.datetime.combine(dt.date(local.year + year, month + 1, day) + dt.timedelta(days=days),
                                local.time().replace(tzinfo=None), tz)
    return moved.astimezone(dt.timezone.utc) + dt.timedelta(seconds=seconds)


def _month_days(year: int, month: int) -> int:
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def next_occurrence(cycle: Cycle, anchor: dt.datetime, after: dt.datetime) -> dt.datetime | None:
    """The first occurrence strictly after ``after`` (None once the repetitions are used up)."""
    if cycle.period is None:
        start = cycle.start or anchor
        return start.astimezone(dt.timezone.utc) if start > after else None
    start = cycle.start or add_period(anchor, cycle.period, 1)
    approx = dt.timedelta(days=cycle.period[0] * 30.44 + cycle.period[1], seconds=cycle.period[2])
    if approx <= dt.timedelta(0):
        raise ValueError("a schedule's period must be longer than zero")
    k = max(0, math.floor((after - start) / approx) - 2) if after > start else 0
    for _ in range(MAX_STEPS):
        if 0 <= cycle.repetitions <= k:
            return None
        occurrence = add_period(start, cycle.period, k)
        if occurrence > after:
            return occurrence
        k += 1
    raise ValueError("the schedule's period is too short")


def register() -> None:
    """Register the timer job handlers."""
    jobs.register("timer", handle_timer)
    jobs.register("scheduled", handle_scheduled)
