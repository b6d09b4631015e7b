"""Every (force × process) in the repository: resolves, parses, has forms and known roles, passes its
scenarios (serializing after every step) and its DMN test vectors (one per row)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalog import COMMON
from engine.roles import LANE_SPECIAL, known_roles
from engine.scenarios import FolderLookup, decision_rows, demo_chains, run_scenario, run_vectors

REPO = Path(__file__).resolve().parents[2]
LOOKUP = FolderLookup(REPO)
CHAINS = {"common": [COMMON], **demo_chains(REPO)}
FORCES = sorted(CHAINS)
STARTABLE = sorted(k for k in LOOKUP.keys("process")
                   if (r := LOOKUP.find("process", k, [COMMON])) is not None and r.meta.get("startable"))


def _scenarios() -> list[tuple[str, str, Path]]:
    """(force, process key, scenario file) for every scenario and every force it applies to."""
    out = []
    for f in sorted((REPO / "processes").glob("**/scenarios/*.json")):
        key = f.parent.parent.name
        scope = f.parent.parent.parent.name if "forces" in f.parts else COMMON
        sc = json.loads(f.read_text())
        if sc.get("force"):
            forces = [sc["force"]]
        elif scope != COMMON:
            forces = [scope]
        else:
            forces = [force for force in FORCES if _same_as_common(force, key)]
        out.extend((force, key, f) for force in forces)
    return out


def _same_as_common(force: str, key: str) -> bool:
    """True when the force resolves every artefact of the process to the common version."""
    from engine.catalog import resolve_bundle

    bundle = resolve_bundle(LOOKUP, force, CHAINS[force], key)
    return all(i.scope == COMMON for i in bundle.items if i.kind != "form")


@pytest.mark.parametrize("force,key,path", _scenarios(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_scenario(force: str, key: str, path: Path) -> None:
    result = run_scenario(LOOKUP, json.loads(path.read_text()), force, CHAINS[force], key)
    assert result.passed, "\n".join(result.failures)


def _vector_files() -> list[tuple[str, Path]]:
    out = []
    for f in sorted((REPO / "processes").glob("**/dmn_tests/*.json")):
        scope = f.parent.parent.parent.name if "forces" in f.parts else COMMON
        out.append((scope, f))
    return out


@pytest.mark.parametrize("scope,path", _vector_files(), ids=lambda v: str(v).split("processes/")[-1])
def test_dmn_vectors_cover_every_row_and_pass(scope: str, path: Path) -> None:
    spec = json.loads(path.read_text())
    decision = LOOKUP.find("decision", spec["decision"], [scope])
    assert decision is not None, f"no decision {spec['decision']} in scope {scope}"
    results = run_vectors(decision, spec["vectors"])
    failures = [f"row {r.row}: {r.message}" for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    covered = {v.get("row") for v in spec["vectors"]}
    missing = set(range(1, decision_rows(decision) + 1)) - covered
    assert not missing, f"rows without a test vector: {sorted(missing)}"


def test_every_decision_has_test_vectors() -> None:
    tested = {(scope, json.loads(p.read_text())["decision"]) for scope, p in _vector_files()}
    for f in sorted((REPO / "processes").glob("**/*.dmn")):
        scope = f.parent.parent.name if "forces" in f.parts else COMMON
        assert (scope, f.stem) in tested, f"{f.relative_to(REPO)} has no dmn_tests/{f.stem}.json"


@pytest.mark.parametrize("force", FORCES)
@pytest.mark.parametrize("key", STARTABLE)
def test_every_user_task_has_a_form_and_every_lane_a_known_role(force: str, key: str) -> None:
    from engine.catalog import resolve_bundle

    bundle = resolve_bundle(LOOKUP, force, CHAINS[force], key)
    assert not bundle.problems, bundle.problems
    roles = known_roles() | LANE_SPECIAL
    for item in bundle.items:
        if item.kind != "process":
            continue
        for task in item.meta["user_tasks"]:
            form = task["properties"].get("formKey")
            assert form and bundle.get("form", form), f"{item.key}/{task['id']}: form {form!r} not resolvable"
            role = task["properties"].get("candidateRole") or task["lane"]
            assert role in roles, f"{item.key}/{task['id']}: lane {role!r} is not a known role"
    bundle.parsed()  # SpiffWorkflow parses the resolved bundle
