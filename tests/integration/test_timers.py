"""BPMN timers, SLAs and scheduled starts, run through the worker with a controlled clock (never sleeping)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import catalog, instances, notify, runtime, workitems
from engine.artefacts import SourceFile
from engine.db import unit_of_work
from engine.deploy import deploy
from engine.models import Instance, Job, Notification, OutboxEmail, WorkItem
from engine.worker import run_once
from tests.fixtures.timers.support import (
    HERE, T0, Clock, controlled_clock, count_audit, deploy_fixtures, jobs_of, setup_org, user,
)

Factory = sessionmaker[Session]


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUSTER_SMTP_HOST", raising=False)  # emails stay in the outbox here


@pytest.fixture
def clock() -> Iterator[Clock]:
    with controlled_clock(T0) as c:
        yield c


@pytest.fixture
def world(session_factory: Factory, clock: Clock) -> Factory:
    with unit_of_work(session_factory) as s:
        setup_org(s)
        deploy_fixtures(s)
    return session_factory


def start(factory: Factory, process: str, data: dict[str, Any] | None = None) -> int:
    with unit_of_work(factory) as s:
        return instances.start_instance(s, user=user(s, "requester"), process_key=process,
                                        data=data if data is not None else {"subject": "New radio"}).id


def items(factory: Factory, instance_id: int) -> dict[str, tuple[str, int]]:
    """task name -> (status, work item id)"""
    with unit_of_work(factory, read_only=True) as s:
        rows = s.execute(select(WorkItem).where(WorkItem.instance_id == instance_id)
                         .order_by(WorkItem.id)).scalars()
        return {w.task_name: (w.status, w.id) for w in rows}


def instance(factory: Factory, instance_id: int) -> Instance:
    with unit_of_work(factory, read_only=True) as s:
        inst = s.get(Instance, instance_id)
        assert inst is not None
        return inst


def data_of(factory: Factory, instance_id: int) -> dict[str, Any]:
    with unit_of_work(factory, read_only=True) as s:
        inst = s.get(Instance, instance_id)
        assert inst is not None
        wf = runtime.load(catalog.parsed_for_trace(s, inst.process_key, inst.bundle), inst.state)
        return runtime.final_data(wf)


def complete(factory: Factory, username: str, item_id: int, data: dict[str, Any]) -> None:
    with unit_of_work(factory) as s:
        workitems.complete(s, user=user(s, username), item_id=item_id, data=data)


def test_non_interrupting_reminder_boundary_fires_and_the_user_task_stays(
        world: Factory, clock: Clock) -> None:
    iid = start(world, "timed_review")
    review_before = items(world, iid)["review"]
    assert run_once(world) == 0  # nothing due yet
    clock.advance(minutes=61)
    assert run_once(world) >= 1
    assert items(world, iid) == {"review": review_before}  # same open item: the task was not interrupted
    assert count_audit(world, "timer_fired", iid) == 1
    assert data_of(world, iid)["reminder_noted"] is True
    timer_jobs = jobs_of(world, instance_id=iid, kind="timer")
    assert [j.status for j in timer_jobs] == ["done", "pending"]
    assert timer_jobs[1].due_at == T0 + dt.timedelta(days=1)  # next: the escalation boundary
    assert run_once(world) == 0  # fired once, not again


def test_interrupting_escalation_boundary_cancels_the_task_and_the_next_item_appears(
        world: Factory, clock: Clock) -> None:
    iid = start(world, "timed_review")
    clock.advance(hours=25)
    run_once(world)
    now_items = items(world, iid)
    assert now_items["review"][0] == "cancelled"
    assert now_items["escalated_review"][0] == "open"
    with unit_of_work(world, read_only=True) as s:
        escalated = s.get(WorkItem, now_items["escalated_review"][1])
        assert escalated is not None and escalated.candidate_role == "force_manager"
    assert instance(world, iid).current_step == "Review the escalated request"
    review_sla = [j for j in jobs_of(world, instance_id=iid) if j.kind in ("reminder", "escalation")]
    assert review_sla and all(j.status == "cancelled" for j in review_sla)  # the cancelled item's SLA too
    assert not jobs_of(world, instance_id=iid, kind="timer", status="pending")


def test_intermediate_timer_holds_the_instance_until_due(world: Factory, clock: Clock) -> None:
    iid = start(world, "timed_review")
    complete(world, "manager", items(world, iid)["review"][1], {"decision": "approve"})
    inst = instance(world, iid)
    assert inst.status == "waiting" and inst.current_step == "Waiting for a timer"
    assert inst.next_timer_at == T0 + dt.timedelta(hours=2)
    clock.advance(minutes=119)
    assert run_once(world) == 0
    clock.advance(minutes=2)
    run_once(world)
    inst = instance(world, iid)
    assert inst.status == "completed" and inst.data_summary["outcome"] == "approve"
    assert count_audit(world, "timer_fired", iid) == 1
    with unit_of_work(world, read_only=True) as s:
        requester = user(s, "requester")
        assert [n.kind for n in notify.list_for(s, requester.id)] == ["outcome"]


def test_a_timer_of_an_instance_started_on_v1_fires_on_v1_after_v2_is_deployed(world: Factory,
                                                                               clock: Clock) -> None:
    iid = start(world, "timed_review")
    v1 = instance(world, iid).definition_id
    source = (HERE / "common" / "timed_review" / "process.bpmn").read_text()
    v2_source = source.replace('"PT2H"', '"PT5H"').replace('"PT1H"', '"PT3H"').replace('"v1"', '"v2"')
    with unit_of_work(world) as s:
        deployed = deploy(s, [SourceFile("timed_review/process.bpmn", v2_source.encode())],
                          deployed_by="test")
    assert deployed[0].version == 2
    clock.advance(minutes=61)
    run_once(world)  # v1's reminder (1 h), not v2's (3 h)
    assert count_audit(world, "timer_fired", iid) == 1
    complete(world, "manager", items(world, iid)["review"][1], {"decision": "approve"})
    assert instance(world, iid).next_timer_at == clock.now() + dt.timedelta(hours=2)  # v1's cooling-off
    clock.advance(hours=2, seconds=1)
    run_once(world)
    inst = instance(world, iid)
    assert inst.status == "completed" and inst.definition_id == v1
    assert data_of(world, iid)["version_marker"] == "v1"
    assert instance(world, start(world, "timed_review")).definition_id != v1  # new instances get v2


def test_sla_reminder_before_due_then_escalation_to_the_next_manager_up(world: Factory, clock: Clock) -> None:
    iid = start(world, "sla_review")
    item_id = items(world, iid)["review"][1]
    with unit_of_work(world, read_only=True) as s:
        item = s.get(WorkItem, item_id)
        assert item is not None and item.due_at == dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)
        manager, director, fm = user(s, "manager"), user(s, "director"), user(s, "fm")
        assert item.assignee_id == manager.id
        assert [n.kind for n in notify.list_for(s, manager.id)] == ["new_item"]
    reminder, escalation = (jobs_of(world, instance_id=iid, kind=k)[0] for k in ("reminder", "escalation"))
    assert reminder.due_at == dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.timezone.utc)  # a working day before
    clock.move_to(dt.datetime(2026, 12, 1, 16, 59, tzinfo=dt.timezone.utc))
    assert run_once(world) == 0
    clock.move_to(dt.datetime(2026, 12, 1, 17, 1, tzinfo=dt.timezone.utc))
    assert run_once(world) == 1
    with unit_of_work(world, read_only=True) as s:
        assert [n.kind for n in notify.list_for(s, manager.id)] == ["reminder", "new_item"]
        mails = s.execute(select(OutboxEmail).order_by(OutboxEmail.id)).scalars().all()
        assert mails[-1].to_address == manager.email
        assert mails[-1].subject.startswith("Reminder: Review the request")
    clock.move_to(dt.datetime(2026, 12, 2, 17, 1, tzinfo=dt.timezone.utc))  # breach
    assert run_once(world) == 1
    with unit_of_work(world, read_only=True) as s:
        assert [n.kind for n in notify.list_for(s, director.id)] == ["escalation"]
        assert [n.kind for n in notify.list_for(s, fm.id)] == ["escalation"]  # escalateTo=force_manager
        mail = s.execute(select(OutboxEmail).where(OutboxEmail.to_address == director.email)).scalar_one()
        assert mail.subject.startswith("Overdue: Review the request") and "Morgan Manager" in mail.body
        [send] = [j for j in s.execute(select(Job).where(Job.kind == "send_email")).scalars()
                  if j.payload["email_id"] == mail.id]
        assert send.status == "pending"  # no SMTP server configured here: the mail waits in the outbox
        item = s.get(WorkItem, item_id)
        assert item is not None
        assert (item.candidate_role, item.assignee_id, item.priority) == ("force_manager", None, 1)
        overdue = workitems.inbox(s, user=fm, flt=workitems.InboxFilter(due="overdue"), now=clock.now())
        assert [w.id for w in overdue] == [item_id]
    assert count_audit(world, "work_item_escalated", iid) == 1
    assert jobs_of(world, id=escalation.id)[0].status == "done"
    clock.advance(days=3)
    assert run_once(world) == 0  # escalated once


def test_completing_an_item_cancels_its_reminder_and_escalation(world: Factory, clock: Clock) -> None:
    iid = start(world, "sla_review")
    complete(world, "manager", items(world, iid)["review"][1], {"decision": "approve"})
    sla_jobs = [j for j in jobs_of(world, instance_id=iid) if j.kind in ("reminder", "escalation")]
    assert {j.status for j in sla_jobs} == {"cancelled"}
    clock.advance(days=5)
    assert run_once(world) == 0
    assert count_audit(world, "work_item_escalated") == 0


def test_in_app_notifications_have_an_unread_count(world: Factory) -> None:
    start(world, "sla_review")
    with unit_of_work(world) as s:
        manager = user(s, "manager")
        assert notify.unread_count(s, manager.id) == 1
        [note] = notify.list_for(s, manager.id, unread_only=True)
        assert note.text.startswith("New task: Review the request (CHES-")
        assert (note.link or "").startswith("/inbox/items/")
        assert notify.mark_read(s, manager.id, [note.id]) == 1
    with unit_of_work(world, read_only=True) as s:
        assert notify.unread_count(s, manager.id) == 0
        assert s.get(Notification, note.id).read_at is not None  # type: ignore[union-attr]


def test_a_timer_start_cycle_starts_one_instance_per_occurrence(world: Factory, clock: Clock) -> None:
    assert run_once(world) == 0  # syncs the schedule: first of the month, 02:00 UK time
    [job] = jobs_of(world, kind="scheduled", status="pending")
    assert (job.force_code, job.due_at) == ("CHES", dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc))
    clock.move_to(dt.datetime(2026, 12, 1, 2, 1, tzinfo=dt.timezone.utc))
    assert run_once(world) == 1
    with unit_of_work(world, read_only=True) as s:
        [inst] = s.execute(select(Instance).where(Instance.process_key == "monthly_sweep")).scalars().all()
        assert inst.business_key == "scheduled 2026-12-01T02:00Z" and inst.next_timer_at is None
        assert inst.started_by_id == user(s, "vetting").id
    assert items(world, inst.id)["check_list"][0] == "open"
    [nxt] = jobs_of(world, kind="scheduled", status="pending")
    assert nxt.due_at == dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.timezone.utc)
    clock.move_to(dt.datetime(2027, 2, 1, 3, 0, tzinfo=dt.timezone.utc))  # the worker was down for January
    run_once(world)
    with unit_of_work(world, read_only=True) as s:
        keys = s.execute(select(Instance.business_key).where(Instance.process_key == "monthly_sweep")
                         .order_by(Instance.id)).scalars().all()
    assert keys == ["scheduled 2026-12-01T02:00Z", "scheduled 2027-01-01T02:00Z"]  # missed runs collapse
    [nxt] = jobs_of(world, kind="scheduled", status="pending")
    assert nxt.due_at == dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.timezone.utc)
    complete(world, "vetting", items(world, inst.id)["check_list"][1], {"decision": "approve"})
    assert instance(world, inst.id).status == "completed"


def test_redeploying_a_scheduled_process_replaces_its_schedule(world: Factory, clock: Clock) -> None:
    run_once(world)
    source = (HERE / "common" / "monthly_sweep" / "process.bpmn").read_text()
    with unit_of_work(world) as s:
        deploy(s, [SourceFile("monthly_sweep/process.bpmn", source.replace("/P1M", "/P7D").encode())])
    clock.advance(minutes=2)
    from engine.worker import Worker

    Worker(world, "w").sync_schedules(force=True)
    jobs = jobs_of(world, kind="scheduled")
    assert [j.status for j in jobs] == ["cancelled", "pending"]
    assert jobs[1].due_at == dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)  # weekly from Thu 1 Jan
