"""Jobs: leases, retries with backoff, incidents; schedules, reminder times and notification wording."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine import audit, jobs, notify, org, sla
from engine.db import unit_of_work
from engine.errors import NotFoundError
from engine.models import AuditEvent, Job
from engine.timers import add_period, next_occurrence, parse_cycle, parse_duration

Factory = sessionmaker[Session]
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


# --- pure rules ------------------------------------------------------------------------------


def test_backoff_doubles_from_thirty_seconds_and_is_capped_at_an_hour() -> None:
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert jobs.backoff(30) == dt.timedelta(hours=1)


def test_durations_and_cycles_parse_from_iso_8601() -> None:
    assert parse_duration("P1M") == (1, 0, 0.0)
    assert parse_duration("P1Y2M3W4DT5H6M7S") == (14, 25, 5 * 3600 + 6 * 60 + 7)
    for bad in ("P", "PT", "1D", "P1DT", "every day"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    monthly = parse_cycle("R/2026-01-01T02:00:00/P1M")
    assert monthly.repetitions == -1 and monthly.period == (1, 0, 0.0)
    assert parse_cycle("R3/PT12H").repetitions == 3 and parse_cycle("R3/PT12H").start is None
    assert parse_cycle("2027-01-01T09:00:00Z").period is None
    with pytest.raises(ValueError):
        parse_cycle("R/P1D/2027-01-01T00:00:00Z")


def test_a_monthly_cycle_keeps_uk_wall_clock_time_across_summer_time() -> None:
    monthly = parse_cycle("R/2026-01-01T02:00:00/P1M")  # naive = UK time
    assert next_occurrence(monthly, T0, T0) == dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert next_occurrence(monthly, T0, dt.datetime(2027, 5, 5, tzinfo=UTC)) == \
        dt.datetime(2027, 6, 1, 1, 0, tzinfo=UTC)  # 02:00 BST


def test_month_ends_clamp_without_drifting() -> None:
    start = dt.datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
    assert [add_period(start, (1, 0, 0), k).day for k in range(4)] == [31, 28, 31, 30]


def test_bounded_cycles_end_and_unanchored_cycles_start_one_period_after_the_anchor() -> None:
    three_days = parse_cycle("R3/P1D")
    assert next_occurrence(three_days, T0, T0) == T0 + dt.timedelta(days=1)
    assert next_occurrence(three_days, T0, T0 + dt.timedelta(days=2, hours=12)) == T0 + dt.timedelta(days=3)
    assert next_occurrence(three_days, T0, T0 + dt.timedelta(days=3, hours=1)) is None
    one_off = parse_cycle("2027-01-01T09:00:00Z")
    assert next_occurrence(one_off, T0, T0) == dt.datetime(2027, 1, 1, 9, tzinfo=UTC)
    assert next_occurrence(one_off, T0, dt.datetime(2027, 2, 1, tzinfo=UTC)) is None


def test_reminders_go_one_working_day_before_due_or_halfway_when_that_has_passed() -> None:
    due = dt.datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # Wednesday
    assert sla.reminder_at(due, {}, T0) == dt.datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    monday_due = dt.datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    assert sla.reminder_at(monday_due, {}, T0) == dt.datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # the Friday
    assert sla.reminder_at(due, {"reminderBefore": "PT2H"}, T0) == due - dt.timedelta(hours=2)
    soon = T0 + dt.timedelta(hours=4)
    assert sla.reminder_at(soon, {}, T0) == T0 + dt.timedelta(hours=2)
    assert sla.reminder_at(T0, {}, T0) is None


def test_templates_fill_known_placeholders_and_leave_unknown_ones() -> None:
    msg = notify.render("Subject: Task $task_title\n\nHello $recipient_name, $unknown", {
        "task_title": "Approve", "recipient_name": "Sam"})
    assert msg.subject == "Task Approve"
    assert msg.body == "Hello Sam, $unknown"


# --- the queue, on SQLite and PostgreSQL -----------------------------------------------------


def add_job(factory: Factory, kind: str, *, due: dt.datetime = T0, max_attempts: int = 5) -> int:
    with unit_of_work(factory) as s:
        job = jobs.enqueue(s, kind, due_at=due, payload={"n": 1}, max_attempts=max_attempts)
        s.flush()
        return job.id


def run_due(factory: Factory, now: dt.datetime, worker: str = "w1", kind: str = "test_kind") -> list[str]:
    claimed = jobs.claim(factory, worker, now=now, kinds=[kind])
    return [jobs.run_claimed(factory, c, worker, lambda: now) for c in claimed]


def get(factory: Factory, job_id: int) -> Job:
    with unit_of_work(factory, read_only=True) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def effects(factory: Factory) -> int:
    with unit_of_work(factory, read_only=True) as s:
        return int(s.execute(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "test_effect")).scalar_one())


def record_effect(session: Session, job: jobs.Claimed) -> None:
    audit.record(session, instance=None, actor="test", action="test_effect", data={"job": job.id})


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setitem(jobs.HANDLERS, "test_kind", jobs.Handler(record_effect))
    return jobs.HANDLERS


def test_only_due_unleased_pending_jobs_are_claimed(session_factory: Factory, handlers: Any) -> None:
    due = add_job(session_factory, "test_kind")
    add_job(session_factory, "test_kind", due=T0 + dt.timedelta(minutes=1))
    assert [c.id for c in jobs.claim(session_factory, "w1", now=T0, kinds=["test_kind"])] == [due]
    assert jobs.claim(session_factory, "w2", now=T0, kinds=["test_kind"]) == []  # leased to w1
    job = get(session_factory, due)
    assert (job.locked_by, job.attempts, job.locked_until) == ("w1", 1, T0 + jobs.LEASE)


def test_a_job_runs_once_and_its_effect_commits_with_its_completion(session_factory: Factory,
                                                                    handlers: Any) -> None:
    job_id = add_job(session_factory, "test_kind")
    assert run_due(session_factory, T0) == ["done"]
    assert run_due(session_factory, T0 + dt.timedelta(hours=1)) == []
    job = get(session_factory, job_id)
    assert (job.status, job.done_at, effects(session_factory)) == ("done", T0, 1)


def test_after_the_lease_expires_another_worker_takes_over_and_the_first_cannot_complete(
        session_factory: Factory, handlers: Any) -> None:
    job_id = add_job(session_factory, "test_kind")
    [slow] = jobs.claim(session_factory, "slow", now=T0, kinds=["test_kind"])
    later = T0 + jobs.LEASE + dt.timedelta(seconds=1)
    assert jobs.claim(session_factory, "quick", now=T0 + dt.timedelta(minutes=4), kinds=["test_kind"]) == []
    [quick] = jobs.claim(session_factory, "quick", now=later, kinds=["test_kind"])
    assert jobs.run_claimed(session_factory, slow, "slow", lambda: later) == "lost"
    assert jobs.run_claimed(session_factory, quick, "quick", lambda: later) == "done"
    job = get(session_factory, job_id)
    assert (job.status, job.locked_by, job.attempts, effects(session_factory)) == ("done", "quick", 2, 1)


def test_failed_jobs_retry_with_backoff_then_become_an_incident_that_can_be_retried(
        session_factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    def ledger_down(session: Session, job: jobs.Claimed) -> None:
        record_effect(session, job)  # rolled back with the failure
        raise RuntimeError("ledger service unavailable")

    monkeypatch.setitem(jobs.HANDLERS, "test_kind", jobs.Handler(ledger_down))
    job_id = add_job(session_factory, "test_kind", max_attempts=3)
    assert run_due(session_factory, T0) == ["retry"]
    job = get(session_factory, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("pending", 1, "w1")
    assert job.due_at == T0 + dt.timedelta(seconds=30)
    assert "RuntimeError: ledger service unavailable" in (job.last_error or "")
    assert run_due(session_factory, T0 + dt.timedelta(seconds=29)) == []
    t2 = T0 + dt.timedelta(seconds=30)
    assert run_due(session_factory, t2) == ["retry"]
    assert get(session_factory, job_id).due_at == t2 + dt.timedelta(seconds=60)
    assert run_due(session_factory, t2 + dt.timedelta(seconds=60)) == ["incident"]
    assert run_due(session_factory, T0 + dt.timedelta(days=1)) == []  # incidents wait for a person
    assert effects(session_factory) == 0
    with unit_of_work(session_factory, read_only=True) as s:
        [incident] = jobs.list_incidents(s)
        assert incident.id == job_id and "ledger service unavailable" in (incident.last_error or "")
        assert jobs.list_incidents(s, forces=["NONE"]) == []
        assert s.execute(select(AuditEvent.action).where(AuditEvent.action == "job_incident")).scalar_one()
    monkeypatch.setitem(jobs.HANDLERS, "test_kind", jobs.Handler(record_effect))  # the ledger is back
    retry_at = T0 + dt.timedelta(days=1)
    with unit_of_work(session_factory) as s:
        jobs.retry_incident(s, job_id, actor="admin", now=retry_at)
    assert run_due(session_factory, retry_at) == ["done"]
    job = get(session_factory, job_id)
    assert (job.status, job.attempts, effects(session_factory)) == ("done", 1, 1)


def test_retrying_something_that_is_not_an_incident_is_not_found(session_factory: Factory,
                                                                 handlers: Any) -> None:
    job_id = add_job(session_factory, "test_kind")
    with unit_of_work(session_factory) as s, pytest.raises(NotFoundError):
        jobs.retry_incident(s, job_id, actor="admin", now=T0)


def test_a_job_whose_workers_keep_dying_becomes_an_incident(session_factory: Factory, handlers: Any) -> None:
    job_id = add_job(session_factory, "test_kind", max_attempts=2)
    now = T0
    for _ in range(2):
        assert len(jobs.claim(session_factory, "doomed", now=now, kinds=["test_kind"])) == 1  # then dies
        now += jobs.LEASE + dt.timedelta(seconds=1)
    assert jobs.claim(session_factory, "next", now=now, kinds=["test_kind"]) == []
    job = get(session_factory, job_id)
    assert job.status == "incident" and "lease expired" in (job.last_error or "")


def test_a_job_of_an_unknown_kind_fails_with_a_clear_error(session_factory: Factory) -> None:
    job_id = add_job(session_factory, "no_such_kind", max_attempts=1)
    [claimed] = jobs.claim(session_factory, "w1", now=T0)
    assert jobs.run_claimed(session_factory, claimed, "w1", lambda: T0) == "incident"
    error = get(session_factory, job_id).last_error or ""
    assert "No handler is registered for jobs of kind 'no_such_kind'" in error


def test_a_forces_own_wording_is_found_along_its_chain(session_factory: Factory) -> None:
    with unit_of_work(session_factory) as s:
        org.add_force(s, "MFSS", "Multi-Force Shared Service")
        org.add_force(s, "NTHN", "Northamptonshire Police", parent="MFSS")
        org.add_force(s, "CHES", "Cheshire Constabulary", parent="MFSS")
        org.add_force(s, "NTHX", "A Northamptonshire unit", parent="NTHN")
        assert notify.template_for(s, "NTHN", "reminder").startswith("Subject: Northamptonshire Police")
        assert notify.template_for(s, "NTHX", "reminder").startswith("Subject: Northamptonshire Police")
        assert notify.template_for(s, "CHES", "reminder").startswith("Subject: Reminder:")
        assert notify.template_for(s, "NTHN", "escalation").startswith("Subject: Overdue:")
        with pytest.raises(ValueError):
            notify.template_for(s, "CHES", "../../etc/passwd")
