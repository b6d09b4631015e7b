"""Two people act on one work item at the same moment: exactly one wins, the other gets a conflict.

The interleaving is controlled, not left to luck: on PostgreSQL both transactions load the item and the
workflow and meet at a barrier before either writes; on SQLite (writers serialised by BEGIN IMMEDIATE)
the first holds its transaction open until the second has started its attempt.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from engine import workitems
from engine.audit import verify
from engine.db import unit_of_work
from engine.errors import ConflictError
from engine.models import AuditEvent, WorkItem

from .conftest import World
from .test_instances_and_work_items import complete, only_item, start


def _race(world: World, db_kind: str, action: Callable[..., object], users: tuple[str, str]) -> list[str]:
    barrier = threading.Barrier(2, timeout=20)
    first_loaded, second_started = threading.Event(), threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def hook() -> None:
        if db_kind == "postgres":
            barrier.wait()  # both have read everything; now both write
        elif not first_loaded.is_set():
            first_loaded.set()
            assert second_started.wait(20)  # keep our transaction open until the rival has begun

    def attempt(username: str, second: bool) -> None:
        if second:
            assert first_loaded.wait(20) or db_kind == "postgres"
            second_started.set()
        try:
            with unit_of_work(world.factory) as s:
                action(s, world.user(s, username), hook)
            result = "ok"
        except ConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(users[0], False)),
               threading.Thread(target=attempt, args=(users[1], db_kind != "postgres"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)


def test_second_completion_of_same_item_is_a_conflict(world: World, db_kind: str) -> None:
    iid = start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    item = only_item(world, "bh", "group")

    def act(s, user, hook):  # type: ignore[no-untyped-def]
        return workitems.complete(s, user=user, item_id=item, data={"decision": "approve"}, on_loaded=hook)

    assert _race(world, db_kind, act, ("bh", "bh2")) == ["conflict", "ok"]
    with unit_of_work(world.factory) as s:
        assert s.get(WorkItem, item).status == "completed"
        completed_events = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.work_item_id == item, AuditEvent.action == "work_item_completed")).scalar()
        assert completed_events == 1
        open_items = s.execute(select(WorkItem.title).where(WorkItem.instance_id == iid,
                                                            WorkItem.status == "open")).scalars().all()
        assert open_items == ["Check and pay"]
        assert verify(s, iid) == []


def test_second_claim_of_same_item_is_a_conflict(world: World, db_kind: str) -> None:
    iid = start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    item = only_item(world, "bh", "group")

    def act(s, user, hook):  # type: ignore[no-untyped-def]
        workitems.get_work_item(s, user=user, item_id=item)
        hook()
        return workitems.claim(s, user=user, item_id=item)

    assert _race(world, db_kind, act, ("bh", "bh2")) == ["conflict", "ok"]
    with unit_of_work(world.factory) as s:
        assert s.get(WorkItem, item).assignee_id is not None
        claims = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.work_item_id == item, AuditEvent.action == "work_item_claimed")).scalar()
        assert claims == 1
        assert verify(s, iid) == []
