"""Temporary self-check for P03 vetting_clearance and P04 purchase_requisition (common and force overrides):
every force combination parses with its called processes and decisions, user tasks have lane roles and
valid forms, every element has diagram interchange, every DMN row has a matching test vector, and scenario
data fits the forms the force would resolve. Only SpiffWorkflow and jsonschema (and lxml, which SpiffWorkflow
uses) are needed, so it runs before the engine's own process suite covers these processes (delete it then)."""
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
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
ROLES = {"requester", "system", "budget_holder", "buyer", "head_of_procurement", "head_of_department",
         "chief_finance_officer", "chief_officer", "vetting_officer", "vetting_supervisor",
         "force_vetting_manager", "appeal_panel_member"}
# (process key, force or None) -> called processes the bundle must contain
COMBINATIONS = {
    ("vetting_clearance", None): {"vetting_appeal", "vetting_clearance_post_decision_hook"},
    ("vetting_clearance", "CNC"): {"vetting_appeal", "vetting_clearance_post_decision_hook"},
    ("vetting_clearance", "NOTT"): {"vetting_appeal", "vetting_clearance_post_decision_hook"},
    ("purchase_requisition", None): {"purchase_requisition_pre_approval_hook"},
    ("purchase_requisition", "NTHN"): {"purchase_requisition_pre_approval_hook"},
    ("purchase_requisition", "NOTT"): {"purchase_requisition_pre_approval_hook"},
}
# What each force folder overrides (and nothing else).
OVERRIDES = {
    ("vetting_clearance", "CNC"): {"vetting_clearance_post_decision_hook.bpmn",
                                   "vetting_force_parameters.dmn"},
    ("vetting_clearance", "NOTT"): {"vetting_force_parameters.dmn"},
    ("purchase_requisition", "NTHN"): {"purchase_approval_chain.dmn"},
    ("purchase_requisition", "NOTT"): {"purchase_requisition_pre_approval_hook.bpmn"},
}


def _ids(combo: tuple[str, str | None]) -> str:
    return f"{combo[0]}-{combo[1] or 'common'}"


def _folder(key: str, force: str | None) -> Path:
    return REPO / "processes" / ("common" if force is None else f"forces/{force}") / key


def _files(key: str, force: str | None, suffix: str) -> list[Path]:
    """Common files whose names the force does not override, plus the force's files."""
    common = {p.name: p for p in _folder(key, None).glob(f"*{suffix}")}
    if force:
        common.update({p.name: p for p in _folder(key, force).glob(f"*{suffix}")})
    return sorted(common.values())


def _form(key: str, force: str | None) -> dict:
    for scope in ([f"forces/{force}"] if force else []) + ["common"]:
        path = REPO / "forms" / scope / f"{key}.json"
        if path.exists():
            return json.loads(path.read_text())
    raise AssertionError(f"form {key} not found for {force or 'common'}")


def _props(el: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in el.findall(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def _user_tasks(key: str, force: str | None) -> dict[str, tuple[str, dict[str, str]]]:
    """task id -> (lane role, properties) over the process and its called processes."""
    out = {}
    for path in _files(key, force, ".bpmn"):
        root = etree.parse(str(path)).getroot()
        lanes = {ref.text: lane.get("name") for lane in root.iter(f"{{{NS['bpmn']}}}lane")
                 for ref in lane.findall("bpmn:flowNodeRef", NS)}
        for task in root.iter(f"{{{NS['bpmn']}}}userTask"):
            out[task.get("id")] = (lanes.get(task.get("id")), _props(task))
    return out


@pytest.mark.parametrize("combo", sorted(COMBINATIONS, key=_ids), ids=_ids)
def test_bundle_parses_with_called_processes_and_decisions(combo: tuple[str, str | None]) -> None:
    key, force = combo
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_files([str(p) for p in _files(key, force, ".bpmn")])
    parser.add_dmn_files([str(p) for p in _files(key, force, ".dmn")])
    assert parser.get_spec(key).name == key
    assert set(parser.get_subprocess_specs(key)) == COMBINATIONS[combo]
    assert parser.get_dmn_dependencies() == {p.stem for p in _files(key, force, ".dmn")}


@pytest.mark.parametrize("combo", sorted(OVERRIDES, key=_ids), ids=_ids)
def test_force_folders_hold_only_the_overrides(combo: tuple[str, str | None]) -> None:
    key, force = combo
    folder = _folder(key, force)
    assert {p.name for p in folder.iterdir() if p.is_file()} == OVERRIDES[combo]
    for name in OVERRIDES[combo]:
        assert (_folder(key, None) / name).exists(), f"{name} overrides nothing in common"
    scenarios = sorted((folder / "scenarios").glob("*.json"))
    assert scenarios
    assert all(json.loads(s.read_text()).get("force") == force for s in scenarios)
    for dmn in folder.glob("*.dmn"):
        assert (folder / "dmn_tests" / f"{dmn.stem}.json").exists()


@pytest.mark.parametrize("combo", sorted(COMBINATIONS, key=_ids), ids=_ids)
def test_user_tasks_have_roles_and_valid_forms(combo: tuple[str, str | None]) -> None:
    key, force = combo
    root = etree.parse(str(_folder(key, None) / "process.bpmn")).getroot()
    form_keys = [_props(root.find(".//bpmn:startEvent", NS))["formKey"]]
    for task_id, (lane, props) in _user_tasks(key, force).items():
        assert lane in ROLES - {"system"}, task_id
        assert props.get("dueInWorkingDays", "1").isdigit(), task_id
        assert props.get("approval", "true") == "true", task_id
        form_keys.append(props["formKey"])
    for form_key in form_keys:
        assert form_key.startswith(key.split("_")[0]), form_key
        schema = _form(form_key, force)
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["title"] and schema["description"]
        for name, prop in schema["properties"].items():
            assert prop.get("title") and prop.get("description"), (form_key, name)
            if prop.get("x-widget") == "money":
                assert prop["type"] == "integer", (form_key, name)


def test_vetting_detail_never_reaches_the_requester() -> None:
    for force in (None, "CNC", "NOTT"):
        lanes = {lane for lane, _props in _user_tasks("vetting_clearance", force).values()}
        assert "requester" not in lanes and "line_manager" not in lanes


def _bpmn_paths() -> list[Path]:
    return sorted(p for key in ("vetting_clearance", "purchase_requisition")
                  for p in (REPO / "processes").rglob(f"{key}/*.bpmn"))


@pytest.mark.parametrize("path", _bpmn_paths(), ids=lambda p: str(p.relative_to(REPO / "processes")))
def test_every_element_has_diagram_interchange(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    assert {p.get("id") for p in root.iter(f"{{{NS['bpmn']}}}participant")} <= shapes
    assert {lane.get("id") for lane in root.iter(f"{{{NS['bpmn']}}}lane")} <= shapes
    for el in root.find("bpmn:process", NS):
        tag = etree.QName(el).localname
        if tag == "sequenceFlow":
            assert el.get("id") in edges, el.get("id")
        elif tag not in ("documentation", "laneSet", "extensionElements"):
            assert el.get("id") in shapes, el.get("id")


def _dmn_cases() -> list[Path]:
    return sorted(p for key in ("vetting_clearance", "purchase_requisition")
                  for p in (REPO / "processes").rglob(f"{key}/*.dmn"))


@pytest.mark.parametrize("dmn", _dmn_cases(), ids=lambda p: str(p.relative_to(REPO / "processes")))
def test_each_dmn_row_has_a_vector_that_matches_it(dmn: Path) -> None:
    parser = BpmnDmnParser()
    parser.add_dmn_file(str(dmn))
    engine = parser.get_engine(dmn.stem, None)
    rule_ids = [r.id for r in engine.decision_table.rules]
    body = json.loads((dmn.parent / "dmn_tests" / f"{dmn.stem}.json").read_text())
    assert body["decision"] == dmn.stem
    assert {v["row"] for v in body["vectors"]} == set(range(1, len(rule_ids) + 1))
    script_engine = PythonScriptEngine()
    for v in body["vectors"]:
        task = SimpleNamespace(data=dict(v["inputs"]), workflow=SimpleNamespace(script_engine=script_engine))
        task.task_spec = SimpleNamespace(bpmn_id=dmn.stem, name=dmn.stem)
        assert rule_ids.index(engine.decide(task)[0].id) + 1 == v["row"], v
        result = engine.result(task)
        assert {k: result.get(k) for k in v["outputs"]} == v["outputs"], v


def _scenarios() -> list[tuple[str, str | None, Path]]:
    return [(key, force, path) for (key, force) in sorted(COMBINATIONS, key=_ids)
            for path in sorted((_folder(key, force) / "scenarios").glob("*.json"))]


@pytest.mark.parametrize("key,force,path", _scenarios(), ids=lambda x: getattr(x, "stem", str(x)))
def test_scenario_data_fits_the_forms(key: str, force: str | None, path: Path) -> None:
    root = etree.parse(str(_folder(key, None) / "process.bpmn")).getroot()
    forms = {task_id: props["formKey"] for task_id, (_lane, props) in _user_tasks(key, force).items()}
    scenario = json.loads(path.read_text())
    assert scenario.get("force") == force
    checks = [(_props(root.find(".//bpmn:startEvent", NS))["formKey"], scenario["start"])]
    checks += [(forms[s["task"]], s["data"]) for s in scenario["steps"] if "task" in s]
    for form_key, data in checks:
        validator = Draft202012Validator(_form(form_key, force), format_checker=FormatChecker())
        errors = list(validator.iter_errors(data))
        assert not errors, (form_key, [e.message for e in errors])
    assert set(scenario["expect"]) <= {"status", "path", "data", "waiting"}
    assert scenario["expect"]["path"], "expected path missing"
