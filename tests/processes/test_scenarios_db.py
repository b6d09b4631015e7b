"""Every scenario once more, through the database use cases on SQLite and PostgreSQL: the demo seed is
loaded with `seed_demo`, a requester with the scenario's HR attributes starts the instance, and each step
is completed by an eligible seeded person (never the requester, never a repeat approver)."""
from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import catalog, instances, org, runtime, workitems
from engine.db import make_session_factory, unit_of_work
from engine.models import Instance, User, WorkItem
from engine.seed import seed_demo
from tests.conftest import fresh_database

from .test_catalogue import REPO, _scenarios

_counter = itertools.count(1)


def _one_force_per_scenario() -> list[tuple[str, str, Path]]:
    seen: set[Path] = set()
    out = []
    for force, key, path in _scenarios():
        if path not in seen and force != "common":
            seen.add(path)
            out.append((force, key, path))
    return out


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker]:
    _url, engine = fresh_database(request.param, tmp_path_factory.mktemp("seeded"))
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        seed_demo(s, REPO, password=None)  # type: ignore[arg-type]
    yield factory
    engine.dispose()


def _requester(s: Session, force: str, attrs: dict) -> User:
    """A requester with the scenario's HR record, whose line manager holds no other approving role."""
    n = next(_counter)
    second = next(u for u in org.role_holders(s, force, "second_line_manager") if u.force_code == force)
    manager = org.add_user(s, f"scenario{n}mgr", force, "Scenario Manager", roles=["employee", "line_manager"],
                           manager=second.id)
    attrs = {k: v for k, v in attrs.items() if k not in ("username", "full_name", "force")}
    return org.add_user(s, f"scenario{n}", force, "Scenario Requester", roles=["employee"],
                        manager=manager.id, attributes=attrs)


def _actor(s: Session, item: WorkItem, inst: Instance) -> User:
    if item.candidate_user_id is not None:
        user = s.get(User, item.candidate_user_id)
        assert user is not None
        return user
    approvers = set(s.execute(select(WorkItem.completed_by_id).where(
        WorkItem.instance_id == inst.id, WorkItem.is_approval.is_(True),
        WorkItem.status == "completed")).scalars())
    for user in org.role_holders(s, item.force_code, item.candidate_role or ""):
        if user.id != inst.started_by_id and (not item.is_approval or user.id not in approvers):
            return user
    raise AssertionError(f"nobody in {item.force_code} can take {item.task_name} ({item.candidate_role})")


@pytest.mark.parametrize("force,key,path", _one_force_per_scenario(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_scenario_through_the_database(seeded: sessionmaker, force: str, key: str, path: Path) -> None:
    sc = json.loads(path.read_text())
    with unit_of_work(seeded) as s:
        starter = _requester(s, force, sc.get("requester", {}))
        iid = instances.start_instance(s, user=starter, process_key=key, data=sc.get("start", {})).id
    for n, step in enumerate(sc.get("steps", []), start=1):
        with unit_of_work(seeded) as s:
            open_items = list(s.execute(select(WorkItem).where(WorkItem.instance_id == iid,
                                                               WorkItem.status == "open")).scalars())
            if "expect_waiting" in step:
                assert sorted(i.task_name for i in open_items) == sorted(step["expect_waiting"]), f"step {n}"
                continue
            item = next((i for i in open_items if i.task_name == step["task"]), None)
            assert item is not None, f"step {n}: {step['task']} not open ({[i.task_name for i in open_items]})"
            inst = s.get(Instance, iid)
            actor = _actor(s, item, inst)
            workitems.complete(s, user=actor, item_id=item.id, data=step.get("data", {}))
    exp = sc.get("expect", {})
    with unit_of_work(seeded) as s:
        inst = s.get(Instance, iid)
        assert inst.status == exp.get("status", inst.status)
        waiting = sorted(s.execute(select(WorkItem.task_name).where(
            WorkItem.instance_id == iid, WorkItem.status == "open")).scalars())
        if "waiting" in exp:
            assert waiting == sorted(exp["waiting"])
        wf = runtime.load(catalog.parsed_for_trace(s, inst.process_key, inst.bundle), inst.state)
        data = runtime.final_data(wf) if runtime.is_completed(wf) else runtime.ready_user_tasks(wf)[0].data
        for k, v in exp.get("data", {}).items():
            assert data.get(k) == v, f"data[{k!r}] is {data.get(k)!r}, expected {v!r}"
