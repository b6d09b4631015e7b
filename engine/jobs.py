"""Jobs: due timers, reminders, escalations, emails and schedules, claimed by workers under a lease.

A claim is a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on SQLite).
A job's effect commits in the same transaction as its completion, and only while the worker still holds
the lease, so each job's effect happens once. Failures back off exponentially, then become incidents.
"""
from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import audit
from .db import unit_of_work
from .errors import ConflictError, MusterError, NotFoundError
from .models import Instance, Job

LEASE = dt.timedelta(minutes=5)
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
CONFLICT_RETRY = dt.timedelta(seconds=2)
DIED = "the worker running this job stopped before finishing it (its lease expired)"
MAX_ERROR_LENGTH = 4000

Clock = Callable[[], dt.datetime]


class LeaseLostError(MusterError):
    """The worker's lease on a job expired and another worker took (or finished) it."""

    code = "lease_lost"


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds the lease on (a plain snapshot; no session attached)."""

    id: int
    kind: str
    instance_id: int | None
    force_code: str | None
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    locked_until: dt.datetime


@dataclass
class JobContext:
    """What a handler that manages its own transactions (e.g. SMTP delivery) receives."""

    session_factory: sessionmaker[Session]
    job: Claimed
    worker_id: str
    clock: Clock

    def complete(self, session: Session) -> None:
        """Mark the job done inside ``session``'s transaction; LeaseLostError if it is no longer ours."""
        complete_in(session, self.job.id, self.worker_id, self.clock())


@dataclass(frozen=True)
class Handler:
    """How to run one job kind: ``fn(session, claimed)`` inside the completing transaction, or
    ``fn(JobContext)`` when ``own_transactions`` (the handler must call ``ctx.complete``)."""

    fn: Callable[..., None]
    own_transactions: bool = False


HANDLERS: dict[str, Handler] = {}


def register(kind: str, fn: Callable[..., None], *, own_transactions: bool = False) -> None:
    """Register (or replace) the handler of a job kind."""
    HANDLERS[kind] = Handler(fn, own_transactions)


def enqueue(session: Session, kind: str, *, due_at: dt.datetime, instance_id: int | None = None,
            force_code: str | None = None, payload: dict[str, Any] | None = None,
            max_attempts: int = 5) -> Job:
    """Add a pending job in the caller's transaction."""
    job = Job(kind=kind, instance_id=instance_id, force_code=force_code, due_at=due_at,
              payload=dict(payload or {}), status="pending", attempts=0, max_attempts=max_attempts)
    session.add(job)
    return job


def backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try after ``attempts`` failed tries: 30 s, 1 min, 2 min, ... capped at 1 h."""
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))


# --- claiming --------------------------------------------------------------------------------


def claim(session_factory: sessionmaker[Session], worker_id: str, *, now: dt.datetime, limit: int = 10,
          lease: dt.timedelta = LEASE, kinds: Iterable[str] | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due jobs for ``worker_id`` until ``now + lease``, in one short transaction.

    A job is due when pending, ``due_at <= now`` and not under someone else's live lease. A job whose
    worker died ``max_attempts`` times becomes an incident instead of being claimed again.
    """
    until = now + lease
    with unit_of_work(session_factory) as s:
        query = select(Job.id).where(Job.status == "pending", Job.due_at <= now,
                                     or_(Job.locked_until.is_(None), Job.locked_until <= now))
        if kinds is not None:
            query = query.where(Job.kind.in_(list(kinds)))
        ids = list(s.execute(query.order_by(Job.due_at, Job.id).limit(limit)
                             .with_for_update(skip_locked=True)).scalars())
        if not ids:
            return []
        rows = s.execute(
            update(Job).where(Job.id.in_(ids), Job.status == "pending",
                              or_(Job.locked_until.is_(None), Job.locked_until <= now))
            .values(locked_by=worker_id, locked_until=until, attempts=Job.attempts + 1)
            .returning(Job.id, Job.kind, Job.instance_id, Job.force_code, Job.payload, Job.attempts,
                       Job.max_attempts)
            .execution_options(synchronize_session=False)).all()
        claimed: list[Claimed] = []
        for row in sorted(rows, key=lambda r: ids.index(r.id)):
            if row.attempts > row.max_attempts:
                job = s.get(Job, row.id)
                assert job is not None
                _to_incident(s, job, job.last_error or DIED)
                continue
            claimed.append(Claimed(row.id, row.kind, row.instance_id, row.force_code, dict(row.payload or {}),
                                   row.attempts, row.max_attempts, until))
    return claimed


def complete_in(session: Session, job_id: int, worker_id: str, now: dt.datetime) -> None:
    """Mark a job done in the caller's transaction, only if ``worker_id`` still holds it."""
    done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job).where(Job.id == job_id, Job.locked_by == worker_id, Job.status == "pending")
        .values(status="done", done_at=now, locked_until=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise LeaseLostError(f"Job {job_id} is no longer held by {worker_id}.")


# --- running ---------------------------------------------------------------------------------


def run_claimed(session_factory: sessionmaker[Session], job: Claimed, worker_id: str, clock: Clock) -> str:
    """Run one claimed job; returns 'done', 'retry', 'incident' or 'lost' (another worker has it)."""
    handler = HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"No handler is registered for jobs of kind '{job.kind}'.")
        if handler.own_transactions:
            handler.fn(JobContext(session_factory, job, worker_id, clock))
        else:
            with unit_of_work(session_factory) as s:
                complete_in(s, job.id, worker_id, clock())
                handler.fn(s, job)
        return "done"
    except LeaseLostError:
        return "lost"
    except Exception as exc:  # noqa: BLE001 - any failure of a job is recorded on the job
        return record_failure(session_factory, job, worker_id, exc, clock())


def record_failure(session_factory: sessionmaker[Session], job: Claimed, worker_id: str, exc: BaseException,
                   now: dt.datetime) -> str:
    """Schedule a retry with backoff, or turn the job into an incident after ``max_attempts`` tries."""
    message = _describe(exc)
    try:
        with unit_of_work(session_factory) as s:
            row = s.get(Job, job.id, with_for_update=True)
            if row is None or row.status != "pending" or row.locked_by != worker_id:
                return "lost"
            row.last_error, row.locked_until = message, None
            if isinstance(exc, ConflictError):
                row.attempts = max(0, row.attempts - 1)  # a lost race is not the job's fault
                row.due_at = now + CONFLICT_RETRY
                return "retry"
            if row.attempts >= row.max_attempts:
                _to_incident(s, row, message)
                return "incident"
            row.due_at = now + backoff(row.attempts)
            return "retry"
    except ConflictError:
        return "lost"  # the lease will expire and the job will be tried again


def _to_incident(session: Session, job: Job, message: str) -> None:
    job.status, job.locked_until, job.last_error = "incident", None, message
    inst = session.get(Instance, job.instance_id) if job.instance_id is not None else None
    if inst is not None and job.kind == "timer" and inst.status in ("running", "waiting"):
        inst.status, inst.error_message = "error", f"A timer step keeps failing: {message[:500]}"
    audit.record(session, instance=inst, actor="worker", action="job_incident", force=job.force_code,
                 data={"job": job.id, "kind": job.kind, "attempts": job.attempts, "error": message[:1000]})


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, MusterError):
        text += "\n" + "".join(traceback.format_exception(exc)[-3:])
    return text[:MAX_ERROR_LENGTH]


# --- incidents -------------------------------------------------------------------------------


def list_incidents(session: Session, *, forces: Iterable[str] | None = None, limit: int = 200) -> list[Job]:
    """Jobs that failed ``max_attempts`` times, newest first; ``forces`` limits them to those forces."""
    query = select(Job).where(Job.status == "incident")
    if forces is not None:
        query = query.where(Job.force_code.in_(list(forces)))
    return list(session.execute(query.order_by(Job.id.desc()).limit(limit)).scalars())


def retry_incident(session: Session, job_id: int, *, actor: str, now: dt.datetime,
                   forces: Iterable[str] | None = None) -> Job:
    """Put an incident back in the queue, due now, with a fresh set of attempts.

    Raises NotFoundError (no such incident, or one in a force outside ``forces``)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "incident" or (forces is not None and job.force_code not in set(forces)):
        raise NotFoundError("No such incident.")
    job.status, job.attempts, job.due_at = "pending", 0, now
    job.locked_by, job.locked_until = None, None
    inst = session.get(Instance, job.instance_id) if job.instance_id is not None else None
    if inst is not None and inst.status == "error":
        inst.status, inst.error_message = "waiting", None
    audit.record(session, instance=inst, actor=actor, action="job_retried", force=job.force_code,
                 data={"job": job.id, "kind": job.kind, "last_error": (job.last_error or "")[:1000]})
    session.flush()
    return job


def counts(session: Session) -> dict[str, int]:
    """How many jobs are in each status (for an operations dashboard)."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    return {str(status): int(n) for status, n in rows}
