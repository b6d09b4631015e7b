"""Temporary self-check for P01 leave_request and P06 expense_claim: files parse, forms are valid JSON Schema,
every DMN row has a test vector that matches it, scenario data fits its forms. Only SpiffWorkflow and
jsonschema are used, so it runs before the engine's own process suite exists (delete it then)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

REPO = Path(__file__).resolve().parents[2]
PROCESSES = {"leave_request": REPO / "processes/common/leave_request",
             "expense_claim": REPO / "processes/common/expense_claim"}
FORMS = REPO / "forms/common"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
ROLES = {"requester", "line_manager", "second_line_manager", "rmu_planner", "ssc_payroll_officer",
         "head_of_department", "finance_auditor", "system"}


def _form(key: str) -> dict:
    return json.loads((FORMS / f"{key}.json").read_text())


def _props(el: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in el.findall(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


@pytest.mark.parametrize("key", sorted(PROCESSES))
def test_process_parses_with_its_hook_and_decisions(key: str) -> None:
    folder = PROCESSES[key]
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files(sorted(str(p) for p in folder.glob("*.bpmn")))
    parser.add_dmn_files(sorted(str(p) for p in folder.glob("*.dmn")))
    spec = parser.get_spec(key)
    assert spec.name == key
    hook = f"{key}_pre_approval_hook"
    assert parser.get_subprocess_specs(key) == {hook: parser.get_spec(hook)}


@pytest.mark.parametrize("key", sorted(PROCESSES))
def test_every_user_task_has_a_lane_role_and_a_valid_form(key: str) -> None:
    root = etree.parse(str(PROCESSES[key] / "process.bpmn")).getroot()
    lanes = {ref.text: lane.get("name") for lane in root.iter(f"{{{NS['bpmn']}}}lane")
             for ref in lane.findall("bpmn:flowNodeRef", NS)}
    assert set(lanes.values()) <= ROLES
    start = root.find(".//bpmn:startEvent", NS)
    keys = [_props(start)["formKey"]]
    for task in root.iter(f"{{{NS['bpmn']}}}userTask"):
        props = _props(task)
        assert lanes[task.get("id")] not in (None, "system"), task.get("id")
        assert props.get("dueInWorkingDays", "1").isdigit()
        keys.append(props["formKey"])
    for form_key in keys:
        schema = _form(form_key)
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["title"] and schema["description"]
        assert all("title" in p and "description" in p for p in schema["properties"].values()), form_key


@pytest.mark.parametrize("key", sorted(PROCESSES))
def test_every_flow_node_and_edge_has_diagram_interchange(key: str) -> None:
    for path in PROCESSES[key].glob("*.bpmn"):
        root = etree.parse(str(path)).getroot()
        shapes = {s.get("bpmnElement") for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
        edges = {e.get("bpmnElement") for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
        process = root.find("bpmn:process", NS)
        for el in process:
            tag = etree.QName(el).localname
            if tag == "sequenceFlow":
                assert el.get("id") in edges, el.get("id")
            elif tag not in ("documentation", "laneSet", "extensionElements"):
                assert el.get("id") in shapes, el.get("id")


def _dmn_cases() -> list[tuple[Path, Path]]:
    return [(dmn, folder / "dmn_tests" / f"{dmn.stem}.json")
            for folder in PROCESSES.values() for dmn in sorted(folder.glob("*.dmn"))]


@pytest.mark.parametrize("dmn,tests", _dmn_cases(), ids=lambda p: p.stem)
def test_each_dmn_row_has_a_vector_that_matches_it(dmn: Path, tests: Path) -> None:
    parser = BpmnDmnParser()
    parser.add_dmn_file(str(dmn))
    engine = parser.get_engine(dmn.stem, None)
    rule_ids = [r.id for r in engine.decision_table.rules]
    vectors = json.loads(tests.read_text())["vectors"]
    assert {v["row"] for v in vectors} == set(range(1, len(rule_ids) + 1))
    script_engine = PythonScriptEngine()
    for v in vectors:
        task = SimpleNamespace(data=dict(v["inputs"]), workflow=SimpleNamespace(script_engine=script_engine))
        task.task_spec = SimpleNamespace(bpmn_id=dmn.stem, name=dmn.stem)
        matched = engine.decide(task)
        assert rule_ids.index(matched[0].id) + 1 == v["row"], v
        result = engine.result(task)
        assert {k: result[k] for k in v["outputs"]} == v["outputs"], v


def _scenarios() -> list[tuple[str, Path]]:
    return [(key, f) for key, folder in PROCESSES.items()
            for f in sorted((folder / "scenarios").glob("*.json"))]


@pytest.mark.parametrize("key,path", _scenarios(), ids=lambda x: getattr(x, "stem", x))
def test_scenario_data_fits_the_forms(key: str, path: Path) -> None:
    root = etree.parse(str(PROCESSES[key] / "process.bpmn")).getroot()
    forms = {t.get("id"): _props(t)["formKey"] for t in root.iter(f"{{{NS['bpmn']}}}userTask")}
    scenario = json.loads(path.read_text())
    checks = [(_props(root.find(".//bpmn:startEvent", NS))["formKey"], scenario["start"])]
    checks += [(forms[s["task"]], s["data"]) for s in scenario["steps"] if "task" in s]
    for form_key, data in checks:
        errors = list(Draft202012Validator(_form(form_key), format_checker=FormatChecker()).iter_errors(data))
        assert not errors, (form_key, [e.message for e in errors])
    assert set(scenario["expect"]) <= {"status", "path", "data", "waiting"}
