"""Exactly-once under concurrency: several workers over many due timers, and a worker killed mid-job."""
from __future__ import annotations

import datetime as dt
import os
import select as io_select
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import audit, instances, jobs
from engine.db import unit_of_work
from engine.models import AuditEvent, Instance, Job
from engine.worker import Worker
from tests.fixtures.timers.support import T0, controlled_clock, deploy_fixtures, setup_org, user

Factory = sessionmaker[Session]
REPO = Path(__file__).resolve().parents[2]
TIMERS = {"sqlite": 150, "postgres": 1000}


def many_waiting_instances(factory: Factory, n: int) -> list[int]:
    """One real instance waiting on a 1-hour timer, cloned ``n - 1`` times, each with its timer job."""
    with unit_of_work(factory) as s:
        first = instances.start_instance(s, user=user(s, "requester"), process_key="timer_only", data={})
        columns = ("force_code", "process_key", "definition_id", "bundle", "title", "status", "state",
                   "serializer_version", "started_by_id", "started_at", "updated_at", "next_timer_at",
                   "current_step")
        base = {c: getattr(first, c) for c in columns}
        s.execute(insert(Instance), [{**base, "reference": f"CLONE-{i:06d}", "version_id": 1, "audit_seq": 0,
                                      "audit_head": "", "data_summary": {}} for i in range(1, n)])
        ids = list(s.execute(select(Instance.id).order_by(Instance.id)).scalars())
        s.execute(insert(Job), [{"kind": "timer", "instance_id": i, "force_code": "CHES", "status": "pending",
                                 "due_at": T0 + dt.timedelta(hours=1), "payload": {}, "attempts": 0,
                                 "max_attempts": 5, "created_at": T0} for i in ids if i != first.id])
    return ids


def test_three_workers_fire_every_due_timer_exactly_once(session_factory: Factory, db_kind: str) -> None:
    n = TIMERS[db_kind]
    with controlled_clock(T0) as clock:
        with unit_of_work(session_factory) as s:
            setup_org(s, emails=False)
            deploy_fixtures(s, only=("timer_only",))
        ids = many_waiting_instances(session_factory, n)
        assert len(ids) == n
        clock.advance(hours=1, seconds=1)
        errors: list[BaseException] = []

        def work(name: str) -> None:
            try:
                Worker(session_factory, name, batch=10).run_until_idle(max_rounds=10_000)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors and not any(t.is_alive() for t in threads)
    with unit_of_work(session_factory, read_only=True) as s:
        fired = dict(s.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer_fired").group_by(AuditEvent.instance_id)).all())
        assert len(fired) == n and set(fired.values()) == {1}  # each timer's effect happened once
        statuses = dict(s.execute(select(Instance.status, func.count()).group_by(Instance.status)).all())
        assert statuses == {"completed": n}
        job_rows = s.execute(select(Job.kind, Job.status, Job.attempts, Job.last_error, Job.locked_by)).all()
    assert {(kind, status) for kind, status, *_ in job_rows} == {("timer", "done")}
    assert len(job_rows) == n
    assert all(attempts == 1 and error is None for _, _, attempts, error, _ in job_rows)  # no retries
    # Which worker took which job is left to the scheduler, so it is not asserted (it would be luck);
    # what matters above is that every effect happened exactly once with three workers competing.


# --- a worker killed with SIGKILL in the middle of a job ------------------------------------

DOOMED = textwrap.dedent("""
    import sys, threading
    from engine import audit, jobs
    from engine.db import make_engine, make_session_factory
    from engine.worker import run_worker

    def block(session, job):
        audit.record(session, instance=None, actor="test", action="blocking_effect", data={"job": job.id})
        session.flush()
        print("CLAIMED", job.id, flush=True)
        threading.Event().wait()  # until killed

    jobs.register("test_block", block)
    run_worker(make_session_factory(make_engine(sys.argv[1])), "doomed-worker", threading.Event(), 0.05)
""")


def record_effect(session: Session, job: jobs.Claimed) -> None:
    audit.record(session, instance=None, actor="test", action="blocking_effect", data={"job": job.id})


def effects(factory: Factory) -> int:
    with unit_of_work(factory, read_only=True) as s:
        return int(s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "blocking_effect")).scalar_one())


def test_a_job_of_a_worker_killed_mid_job_is_finished_once_by_another_after_the_lease(
        db_engine: Engine, session_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    with unit_of_work(session_factory) as s:
        job = jobs.enqueue(s, "test_block", due_at=now - dt.timedelta(minutes=1))
        s.flush()
        job_id = job.id
    url = db_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MUSTER_SMTP_HOST", None)
    proc = subprocess.Popen([sys.executable, "-c", DOOMED, url], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
    try:
        ready, _, _ = io_select.select([proc.stdout], [], [], 60)
        assert ready, "the worker subprocess never claimed the job"
        assert proc.stdout is not None and proc.stdout.readline().split() == ["CLAIMED", str(job_id)]
    finally:
        proc.kill()  # SIGKILL: no cleanup, no rollback message, the transaction just dies
        proc.wait(timeout=30)
    with unit_of_work(session_factory) as s:  # waits until the database has dropped the dead transaction
        row = s.get(Job, job_id, with_for_update=True)
        assert row is not None
        assert (row.status, row.locked_by, row.attempts) == ("pending", "doomed-worker", 1)
        lease_end = row.locked_until
    assert lease_end is not None and effects(session_factory) == 0  # its half-done effect was rolled back
    monkeypatch.setitem(jobs.HANDLERS, "test_block", jobs.Handler(record_effect))
    assert Worker(session_factory, "early", clock=lambda: lease_end - dt.timedelta(seconds=1)).run_once() == 0
    rescuer = Worker(session_factory, "rescuer", clock=lambda: lease_end + dt.timedelta(seconds=1))
    assert rescuer.run_until_idle() == 1
    assert rescuer.run_until_idle() == 0
    with unit_of_work(session_factory, read_only=True) as s:
        row = s.get(Job, job_id)
        assert row is not None and (row.status, row.locked_by, row.attempts) == ("done", "rescuer", 2)
    assert effects(session_factory) == 1
