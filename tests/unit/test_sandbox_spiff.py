"""engine.sandbox inside SpiffWorkflow: script task, gateway conditions, DMN cells and a timer."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import SandboxError
from engine.sandbox import SandboxEnvironment, make_script_engine

BPMN_NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')

ORDER_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {BPMN_NS} id="defs_order" targetNamespace="http://muster.test">
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="Prepare">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>
        total_pence = sum([line['pence'] for line in lines])
        amount = total_pence // 100
        lines_seen = 0
        for line in lines:
            lines_seen += 1
        if category.lower() in ['it', 'estates']:
            category = category.lower()
        due = add_working_days(submitted, 1)
      </bpmn:script>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="route_rules" name="Route">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>order_routing</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="gw" name="Which route?">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>to_auto</bpmn:outgoing><bpmn:outgoing>to_manager</bpmn:outgoing>
      <bpmn:outgoing>to_director</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="route_rules"/>
    <bpmn:sequenceFlow id="f3" sourceRef="route_rules" targetRef="gw"/>
    <bpmn:sequenceFlow id="to_auto" sourceRef="gw" targetRef="approve_auto">
      <bpmn:conditionExpression>route == "auto"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_manager" sourceRef="gw" targetRef="cool_off">
      <bpmn:conditionExpression>route == "manager" and amount &gt;= 500</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_director" sourceRef="gw" targetRef="approve_director">
      <bpmn:conditionExpression>route not in ["auto", "manager"]</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:scriptTask id="approve_auto"><bpmn:incoming>to_auto</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>outcome = "auto-approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="cool_off" name="Cool-off">
      <bpmn:incoming>to_manager</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="approve_manager"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:script>outcome = "manager-approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="approve_director"><bpmn:incoming>to_director</bpmn:incoming>
      <bpmn:outgoing>f7</bpmn:outgoing>
      <bpmn:script>outcome = "director-approved"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f5" sourceRef="cool_off" targetRef="approve_manager"/>
    <bpmn:endEvent id="end_auto"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_manager"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_director"><bpmn:incoming>f7</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="approve_auto" targetRef="end_auto"/>
    <bpmn:sequenceFlow id="f6" sourceRef="approve_manager" targetRef="end_manager"/>
    <bpmn:sequenceFlow id="f7" sourceRef="approve_director" targetRef="end_director"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _entry(cell: str, text: str) -> str:
    return f'<inputEntry id="ie_{cell}"><text>{text}</text></inputEntry>'


def _output(cell: str, text: str) -> str:
    return f'<outputEntry id="oe_{cell}"><text>{text}</text></outputEntry>'


ROUTING_DMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_routing" name="Routing"
             namespace="http://muster.test">
  <decision id="order_routing" name="Order routing">
    <decisionTable id="table_routing" hitPolicy="UNIQUE">
      <input id="in_amount" label="Amount (pounds)">
        <inputExpression id="ie_amount" typeRef="integer"><text>amount</text></inputExpression>
      </input>
      <input id="in_category" label="Category">
        <inputExpression id="ie_category" typeRef="string"><text>category</text></inputExpression>
      </input>
      <output id="out_route" label="Route" name="route" typeRef="string"/>
      <rule id="r1">{_entry("1a", "&lt; 500")}{_entry("1b", "-")}{_output("1", '"auto"')}</rule>
      <rule id="r2">{_entry("2a", "500 &lt;= ? &lt; 5000")}{_entry("2b", '? in ["it","estates"]')}
        {_output("2", '"manager"')}</rule>
      <rule id="r3">{_entry("3a", "")}{_entry("3b", "")}{_output("3", '"director"')}</rule>
    </decisionTable>
  </decision>
</definitions>
"""


def _workflow(bpmn: str, process_id: str, dmn: str | None = None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.fromstring(bpmn.encode()), filename=f"{process_id}.bpmn")
    if dmn:
        parser.add_dmn_xml(etree.fromstring(dmn.encode()), filename="routing.dmn")
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    return BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())


def _start(data: dict[str, Any]) -> BpmnWorkflow:
    wf = _workflow(ORDER_BPMN, "order", ROUTING_DMN)
    start = wf.get_tasks(state=TaskState.READY)[0]
    start.data.update(data)
    wf.do_engine_steps()
    return wf


def _completed(wf: BpmnWorkflow) -> list[str]:
    done = [t for t in wf.get_tasks(state=TaskState.COMPLETED)]
    done.sort(key=lambda t: t.last_state_change)
    return [t.task_spec.bpmn_id for t in done if t.task_spec.bpmn_id]


def _fire_timers(wf: BpmnWorkflow) -> None:
    """Move every waiting timer's due time into the past (SpiffWorkflow reads the real clock)."""
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    for task in wf.get_tasks(state=TaskState.WAITING):
        task.internal_data["event_value"] = past
    wf.refresh_timers()
    wf.do_engine_steps()
    wf.do_engine_steps()


def test_small_order_is_auto_approved() -> None:
    wf = _start({"lines": [{"pence": 12000}, {"pence": 3050}], "category": "Uniform",
                 "submitted": "2026-12-24"})
    assert wf.is_completed()
    data = wf.last_task.data
    assert data["route"] == "auto" and data["outcome"] == "auto-approved"
    assert data["total_pence"] == 15050 and data["amount"] == 150 and data["lines_seen"] == 2
    assert data["due"] == "2026-12-29"       # Christmas + substitute Boxing Day skipped
    assert _completed(wf) == ["start", "prepare", "route_rules", "gw", "approve_auto", "end_auto"]


def test_mid_value_it_order_waits_for_the_timer_then_manager() -> None:
    wf = _start({"lines": [{"pence": 250000}], "category": "IT", "submitted": "2026-12-01"})
    assert not wf.is_completed()
    waiting = wf.waiting_events()
    assert [e.name for e in waiting] == ["Cool-off"]
    due = datetime.fromisoformat(waiting[0].value)
    assert timedelta(minutes=59) < due - datetime.now(timezone.utc) <= timedelta(hours=1)
    _fire_timers(wf)
    assert wf.is_completed()
    assert wf.last_task.data["route"] == "manager"
    assert wf.last_task.data["outcome"] == "manager-approved"
    assert wf.last_task.data["category"] == "it"
    assert "approve_manager" in _completed(wf) and "approve_auto" not in _completed(wf)


@pytest.mark.parametrize("lines, category", [([{"pence": 250000}], "Vehicles"), ([{"pence": 900000}], "it")])
def test_other_orders_go_to_the_director(lines: list[dict[str, int]], category: str) -> None:
    wf = _start({"lines": lines, "category": category, "submitted": "2026-12-01"})
    assert wf.is_completed()
    assert wf.last_task.data["route"] == "director"
    assert wf.last_task.data["outcome"] == "director-approved"


ATTACK_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {BPMN_NS} id="defs_attack" targetNamespace="http://muster.test">
  <bpmn:process id="attack" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="evil">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>x = 1
__import__('os').system('touch MARKER')</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="evil"/>
    <bpmn:sequenceFlow id="f2" sourceRef="evil" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_escape_in_a_script_task_ends_in_an_error_without_side_effect(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    wf = _workflow(ATTACK_BPMN.replace("MARKER", str(marker)), "attack")
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert not marker.exists()
    assert err.value.error_type == "SandboxError" and "Refused" in str(err.value)
    assert "__import__" in str(err.value)
    assert err.value.line_number == 2
    task = err.value.task
    assert task.task_spec.bpmn_id == "evil" and task.state == TaskState.ERROR
    assert "x" not in task.data                              # nothing of the failed script was kept


def test_runtime_error_reports_line_number() -> None:
    bpmn = ATTACK_BPMN.replace("__import__('os').system('touch MARKER')", "y = missing_value")
    wf = _workflow(bpmn, "attack")
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert err.value.line_number == 2 and err.value.error_line == "y = missing_value"
    assert "missing_value" in str(err.value)


def test_refused_gateway_condition_keeps_the_sandbox_message() -> None:
    wf = _workflow(ORDER_BPMN.replace('route == "auto"', "route.__class__"), "order", ROUTING_DMN)
    wf.get_tasks(state=TaskState.READY)[0].data.update(
        {"lines": [{"pence": 100}], "category": "x", "submitted": "2026-12-01"})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert "attribute access to '__class__' is not allowed" in str(err.value)
    assert err.value.error_type == "SandboxError"


def test_environment_contract() -> None:
    env = SandboxEnvironment()
    context: dict[str, Any] = {"a": 1}
    assert env.evaluate("a + dmninputexpr", context, {"dmninputexpr": 2}) == 3
    assert env.evaluate("a == 1", context) is True
    assert env.execute("b = a + 1", context) is True
    assert context == {"a": 1, "b": 2}
    with pytest.raises(SandboxError, match="service"):
        env.call_service(context, operation_name="http/GetRequest")
    engine = make_script_engine()
    assert isinstance(engine.environment, SandboxEnvironment)
