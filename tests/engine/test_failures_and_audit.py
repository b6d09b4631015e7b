"""Failing steps put an instance in error without half-written state; runaway loops fail loudly;
audit tampering is detected."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine import instances
from engine.audit import verify
from engine.db import unit_of_work
from engine.errors import ConflictError, WorkflowRunError
from engine.models import Instance, WorkItem

from .conftest import World, text_file
from .test_deploy import PROCESS
from .test_instances_and_work_items import complete, only_item, start

LOOP = """<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="dl">
  <bpmn:process id="looper" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:script>i = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="join"><bpmn:incoming>b</bpmn:incoming><bpmn:incoming>back</bpmn:incoming>
      <bpmn:outgoing>c</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:scriptTask id="step"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>d</bpmn:outgoing>
      <bpmn:script>i = i + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="done"><bpmn:incoming>d</bpmn:incoming>
      <bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="init"/>
    <bpmn:sequenceFlow id="b" sourceRef="init" targetRef="join"/>
    <bpmn:sequenceFlow id="c" sourceRef="join" targetRef="step"/>
    <bpmn:sequenceFlow id="d" sourceRef="step" targetRef="more"/>
    <bpmn:sequenceFlow id="back" sourceRef="more" targetRef="join">
      <bpmn:conditionExpression>i &lt; limit</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="more" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


def run_loop(world: World, limit: int) -> Instance:
    world.deploy([text_file("process.bpmn", LOOP)])
    with unit_of_work(world.factory) as s:
        return instances.start_instance(s, user=world.user(s, "pc"), process_key="looper", data={"limit": limit})


def test_short_loop_completes(world: World) -> None:
    assert run_loop(world, 50).status == "completed"


def test_runaway_loop_fails_loudly_instead_of_looking_completed(world: World) -> None:
    with pytest.raises(WorkflowRunError, match="looped too many times"):
        run_loop(world, 600)
    with unit_of_work(world.factory) as s:
        inst = s.query(Instance).one()
        assert inst.status == "error" and "looped too many times" in (inst.error_message or "")


def test_failing_script_puts_instance_in_error_and_keeps_last_wait_state(world: World) -> None:
    world.deploy([text_file("process.bpmn", PROCESS.replace('outcome = "paid"', "outcome = missing_value"))])
    iid = start(world, amount=100)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    item = only_item(world, "ap")
    with unit_of_work(world.factory) as s:
        saved_state = s.get(Instance, iid).state
    with pytest.raises(WorkflowRunError) as err:
        complete(world, "ap", item, {"paid_on": "2026-12-01"})
    assert "finish" in err.value.message and "missing_value" in err.value.message
    with unit_of_work(world.factory) as s:
        inst = s.get(Instance, iid)
        assert inst.status == "error" and inst.state == saved_state
        assert s.get(WorkItem, item).status == "open"
        assert verify(s, iid) == []
    with pytest.raises(ConflictError, match="error"):
        complete(world, "ap", item, {"paid_on": "2026-12-01"})


def _drop_guards(world: World, db_kind: str) -> None:
    with unit_of_work(world.factory) as s:
        if db_kind == "sqlite":
            s.execute(text("DROP TRIGGER audit_events_no_update"))
            s.execute(text("DROP TRIGGER audit_events_no_delete"))
        else:
            s.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))


@pytest.mark.parametrize("tamper,expected", [
    ("UPDATE audit_events SET actor = 'mallory' WHERE instance_id = :i AND seq = 2", "content was changed"),
    ("DELETE FROM audit_events WHERE instance_id = :i AND seq = 2", "missing (deleted)"),
    ("DELETE FROM audit_events WHERE instance_id = :i AND seq = (SELECT max(seq) FROM audit_events "
     "WHERE instance_id = :i)", "newest events were removed"),
])
def test_verification_detects_edited_and_deleted_events(world: World, db_kind: str, tamper: str,
                                                        expected: str) -> None:
    iid = start(world)
    complete(world, "sgt", only_item(world, "sgt"), {"decision": "approve"})
    with unit_of_work(world.factory) as s:
        assert verify(s) == []
    _drop_guards(world, db_kind)  # an attacker with database access bypasses the triggers
    with unit_of_work(world.factory) as s:
        s.execute(text(tamper), {"i": iid})
    with unit_of_work(world.factory) as s:
        problems = verify(s, iid)
    assert problems and any(expected in p.message for p in problems), problems
