"""Scenario and DMN test-vector runners over definition folders (no database).

Used by the process test suite, ``muster test-scenarios`` and the designer. Scenarios run through the
same resolution, sandbox and runtime as production, and serialize/reload the workflow after every step.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from . import runtime
from .artefacts import SourceFile, read_artefact
from .catalog import COMMON, Resolved, resolve_bundle
from .errors import InvalidInputError, MusterError
from .forms import field_errors
from .sandbox import make_script_engine
from .xmlsafe import parse_xml


class FolderLookup:
    """Resolves artefacts from a repository's processes/ and forms/ folders, nearest scope first."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._index: dict[tuple[str, str, str], Resolved] = {}
        for scope_dir, scope in self._scope_dirs():
            for f in sorted(p for p in scope_dir.rglob("*") if p.suffix in (".bpmn", ".dmn", ".json")):
                if {"scenarios", "dmn_tests"} & set(f.parts):
                    continue
                a = read_artefact(SourceFile(str(f), f.read_bytes()))
                self._index[(a.kind, a.key, scope)] = Resolved(a.kind, a.key, scope, 0, None, str(f), a.content,
                                                               a.meta)

    def _scope_dirs(self) -> list[tuple[Path, str]]:
        out = [(self.repo / "processes" / "common", COMMON), (self.repo / "forms" / "common", COMMON)]
        for base in (self.repo / "processes" / "forces", self.repo / "forms" / "forces"):
            if base.is_dir():
                out.extend((d, d.name) for d in sorted(base.iterdir()) if d.is_dir())
        return [(d, s) for d, s in out if d.is_dir()]

    def find(self, kind: str, key: str, chain: list[str]) -> Resolved | None:
        for scope in chain:
            hit = self._index.get((kind, key, scope))
            if hit is not None:
                return hit
        return None

    def keys(self, kind: str) -> set[str]:
        return {k for (kd, k, _s) in self._index if kd == kind}


def demo_chains(repo: Path) -> dict[str, list[str]]:
    """Force → resolution chain, from demo/seed.json."""
    seed = json.loads((repo / "demo" / "seed.json").read_text())
    parents = {f["code"]: f.get("parent") for f in seed["forces"]}
    chains = {}
    for code in parents:
        chain, c = [], code
        while c:
            chain.append(c)
            c = parents.get(c)
        chains[code] = chain + [COMMON]
    return chains


@dataclass
class ScenarioResult:
    """Outcome of one scenario for one force."""

    name: str
    force: str
    passed: bool
    path: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def run_scenario(lookup: FolderLookup, scenario: dict[str, Any], force: str, chain: list[str],
                 process_key: str) -> ScenarioResult:
    """Drive a process through a scenario; never raises for a scenario failure."""
    res = ScenarioResult(scenario.get("name", "?"), force, False)
    try:
        _drive(lookup, scenario, force, chain, process_key, res)
    except MusterError as exc:
        res.failures.append(f"{type(exc).__name__}: {exc.message} {exc.details or ''}".strip())
    res.passed = not res.failures
    return res


def _drive(lookup: FolderLookup, sc: dict[str, Any], force: str, chain: list[str], key: str,
           res: ScenarioResult) -> None:
    bundle = resolve_bundle(lookup, force, chain, key)
    if bundle.problems:
        res.failures.extend(p["message"] for p in bundle.problems)
        return
    start = dict(sc.get("start", {}))
    _validate(bundle, bundle.items[0].meta.get("start_form"), start, "start", res)
    requester = {"username": "scenario.user", "full_name": "Scenario User", "force": force,
                 **sc.get("requester", {})}
    parsed = bundle.parsed()
    wf = runtime.new_workflow(parsed, {**start, "force_code": force, "requester": requester})
    log = runtime.StepLog()
    runtime.run(wf, log)
    for n, step in enumerate(sc.get("steps", []), start=1):
        wf = runtime.load(parsed, runtime.dump(wf))
        ready = runtime.ready_user_tasks(wf)
        if "expect_waiting" in step:
            got = sorted(t.name for t in ready)
            if got != sorted(step["expect_waiting"]):
                res.failures.append(f"step {n}: waiting on {got}, expected {sorted(step['expect_waiting'])}")
            continue
        task = next((t for t in ready if t.name == step["task"]), None)
        if task is None:
            res.failures.append(f"step {n}: task '{step['task']}' is not ready (ready: {[t.name for t in ready]})")
            break
        _validate(bundle, task.properties.get("formKey"), step.get("data", {}), f"step {n} ({task.name})", res)
        runtime.complete_task(wf, task.task_id, step.get("data", {}), log)
    wf = runtime.load(parsed, runtime.dump(wf))
    res.path = log.completed
    res.waiting = sorted(t.name for t in runtime.ready_user_tasks(wf))
    res.data = runtime.final_data(wf) if runtime.is_completed(wf) else \
        (runtime.ready_user_tasks(wf)[0].data if runtime.ready_user_tasks(wf) else runtime.final_data(wf))
    _check_expect(sc.get("expect", {}), wf, res)


def _validate(bundle: Any, form_key: str | None, data: dict[str, Any], where: str, res: ScenarioResult) -> None:
    if not form_key:
        return
    form = bundle.get("form", form_key)
    if form is None:
        res.failures.append(f"{where}: form '{form_key}' not found")
        return
    errors = field_errors(json.loads(form.content), data)
    if errors:
        raise InvalidInputError(f"{where}: data fails form '{form_key}'", details=errors)


def _check_expect(exp: dict[str, Any], wf: Any, res: ScenarioResult) -> None:
    status = "completed" if runtime.is_completed(wf) else "waiting"
    if "status" in exp and exp["status"] != status:
        res.failures.append(f"status is {status}, expected {exp['status']}")
    if "path" in exp and exp["path"] != res.path:
        res.failures.append(f"path was {res.path}, expected {exp['path']}")
    if "waiting" in exp and sorted(exp["waiting"]) != res.waiting:
        res.failures.append(f"waiting on {res.waiting}, expected {sorted(exp['waiting'])}")
    for k, v in exp.get("data", {}).items():
        if res.data.get(k) != v:
            res.failures.append(f"data[{k!r}] is {res.data.get(k)!r}, expected {v!r}")


# --- DMN test vectors ----------------------------------------------------------------------


@dataclass
class VectorResult:
    """Outcome of one DMN test vector."""

    decision: str
    row: int
    passed: bool
    message: str = ""


def run_vectors(decision: Resolved, vectors: list[dict[str, Any]]) -> list[VectorResult]:
    """Evaluate each vector with SpiffWorkflow's DMN engine under the sandbox; check the first matching row."""
    parser = BpmnDmnParser()
    parser.add_dmn_xml(parse_xml(decision.content.encode(), decision.filename), filename=decision.filename)
    engine = parser.get_engine(decision.key, None)
    rule_ids = [r.id for r in engine.decision_table.rules]
    script_engine = make_script_engine()
    out = []
    for v in vectors:
        task = SimpleNamespace(data=dict(v.get("inputs", {})), workflow=SimpleNamespace(script_engine=script_engine))
        task.task_spec = SimpleNamespace(bpmn_id=decision.key, name=decision.key)
        try:
            rules = engine.decide(task)
            row = rule_ids.index(rules[0].id) + 1 if rules else 0
            outputs = engine.result(task)
        except Exception as exc:  # a vector that errors is a failed vector, reported with its message
            out.append(VectorResult(decision.key, v.get("row", 0), False, f"error: {exc}"))
            continue
        problems = []
        if "row" in v and v["row"] != row:
            problems.append(f"matched row {row}, expected row {v['row']}")
        for k, want in v.get("outputs", {}).items():
            if outputs.get(k) != want:
                problems.append(f"{k} = {outputs.get(k)!r}, expected {want!r}")
        out.append(VectorResult(decision.key, v.get("row", row), not problems, "; ".join(problems)))
    return out


def decision_rows(decision: Resolved) -> int:
    """How many rules the decision table has."""
    return len(decision.meta.get("rules", []))
