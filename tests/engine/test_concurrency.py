"""Two people act on one work item at the same moment: exactly one wins, the other gets a conflict.

The interleaving is controlled, not left to luck. The first command loads and checks everything, then
holds its transaction open until the rival is provably waiting: on PostgreSQL until the rival's
connection shows up blocked on a lock (``pg_stat_activity``), on SQLite (writers serialised by
BEGIN IMMEDIATE) until the rival has started. Only then does the first commit.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from engine import instances, workitems
from engine.audit import verify
from engine.db import unit_of_work
from engine.errors import ConflictError
from engine.models import AuditEvent, Instance, WorkItem

from .conftest import World
from .test_instances_and_work_items import complete, only_item, start


def _rival_is_blocked(world: World) -> bool:
    with world.factory() as s:
        n = s.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")).scalar()
    return bool(n)


def _race(world: World, db_kind: str, action: Callable[..., object], users: tuple[str, str]) -> list[str]:
    first_loaded, rival_started = threading.Event(), threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def hold_until_rival_waits() -> None:
        if first_loaded.is_set():
            return  # the rival passes straight through once it gets the lock
        first_loaded.set()
        assert rival_started.wait(20)
        if db_kind == "postgres":
            deadline = time.monotonic() + 20
            while not _rival_is_blocked(world):
                assert time.monotonic() < deadline, "the rival never blocked on the row lock"
                time.sleep(0.01)

    def attempt(username: str, rival: bool) -> None:
        if rival:
            assert first_loaded.wait(20)
            rival_started.set()
        try:
            with unit_of_work(world.factory) as s:
                action(s, world.user(s, username), hold_until_rival_waits)
            result = "ok"
        except ConflictError:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(users[0], False)),
               threading.Thread(target=attempt, args=(users[1], True))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(outcomes)


def _at_budget_step(world: World) -> tuple[int, int]:
    iid = start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    return iid, only_item(world, "bh", "group")


def test_second_completion_of_same_item_is_a_conflict(world: World, db_kind: str) -> None:
    iid, item = _at_budget_step(world)

    def act(s, user, hook):  # type: ignore[no-untyped-def]
        return workitems.complete(s, user=user, item_id=item, data={"decision": "approve"}, on_loaded=hook)

    assert _race(world, db_kind, act, ("bh", "bh2")) == ["conflict", "ok"]
    _assert_consistent(world, iid, item, "work_item_completed")


def test_same_person_submitting_twice_gets_a_conflict_not_a_refusal(world: World, db_kind: str) -> None:
    iid, item = _at_budget_step(world)

    def act(s, user, hook):  # type: ignore[no-untyped-def]
        return workitems.complete(s, user=user, item_id=item, data={"decision": "approve"}, on_loaded=hook)

    assert _race(world, db_kind, act, ("bh", "bh")) == ["conflict", "ok"]
    _assert_consistent(world, iid, item, "work_item_completed")
    with unit_of_work(world.factory) as s:
        assert s.get(Instance, iid).status == "waiting"  # never put in error by the loser


def test_second_claim_of_same_item_is_a_conflict(world: World, db_kind: str) -> None:
    iid, item = _at_budget_step(world)

    def act(s, user, hook):  # type: ignore[no-untyped-def]
        claimed = workitems.claim(s, user=user, item_id=item)
        hook()
        return claimed

    assert _race(world, db_kind, act, ("bh", "bh2")) == ["conflict", "ok"]
    _assert_consistent(world, iid, item, "work_item_claimed")


def _assert_consistent(world: World, iid: int, item: int, action: str) -> None:
    with unit_of_work(world.factory) as s:
        events = s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.work_item_id == item, AuditEvent.action == action)).scalar()
        assert events == 1
        if action == "work_item_completed":
            assert s.get(WorkItem, item).status == "completed"
            open_items = s.execute(select(WorkItem.title).where(WorkItem.instance_id == iid,
                                                                WorkItem.status == "open")).scalars().all()
            assert open_items == ["Check and pay"]
        assert verify(s, iid) == []


def test_stale_update_of_an_instance_is_a_conflict(world: World) -> None:
    """The optimistic version check: a save based on an old read of the instance is refused."""
    iid = start(world)
    stale = world.factory()
    old_copy = stale.get(Instance, iid)
    stale.commit()  # the read is over; the object keeps the version it was read at
    with unit_of_work(world.factory) as s:
        instances.withdraw_instance(s, user=world.user(s, "pc"), instance_id=iid, reason="changed my mind")
    with pytest.raises(ConflictError), unit_of_work(lambda: stale):  # type: ignore[arg-type]
        old_copy.title = "edited from an old copy"
    with unit_of_work(world.factory) as s:
        assert s.get(Instance, iid).status == "cancelled" and s.get(Instance, iid).title != "edited from an old copy"
