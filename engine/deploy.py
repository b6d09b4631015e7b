"""Deploying definitions: validate everything first (XML, conventions, sandbox, resolution, parse), then
store immutable content-hashed versions. An invalid deployment stores nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .artefacts import Artefact, SourceFile, read_artefacts, summary
from .calendar import utcnow
from .catalog import COMMON, DbLookup, Resolved, force_chain, latest_version, next_version, resolve_bundle
from .errors import DefinitionError, NotFoundError, SandboxError
from .models import Definition, Force
from .roles import LANE_SPECIAL, known_roles
from .runtime import iso_duration
from .sandbox import check_dmn_input_entry, check_expression, check_script

HIT_POLICIES = ("UNIQUE", "COLLECT")


@dataclass(frozen=True)
class DeployedItem:
    """What a deployment did with one artefact."""

    kind: str
    key: str
    scope: str
    version: int
    content_hash: str
    status: str  # new | unchanged


def deploy(session: Session, files: list[SourceFile], scope: str = COMMON,
           deployed_by: str | None = None) -> list[DeployedItem]:
    """Validate and store ``files`` as versions in ``scope`` ('common' or a force code).

    Raises DefinitionError listing every problem (file, element, line) and stores nothing, or
    NotFoundError for an unknown force scope.
    """
    if scope != COMMON and session.get(Force, scope) is None:
        raise NotFoundError(f"Unknown force '{scope}'. Add it first with: muster forces add {scope} --name ...")
    if not files:
        raise DefinitionError("Nothing to deploy: no .bpmn, .dmn or form .json files were given.", details=[])
    artefacts = read_artefacts(files)
    problems = [p for a in artefacts for p in lint(a)]
    if not problems:
        problems = check_resolution(session, artefacts, scope)
    if problems:
        raise DefinitionError(summary(problems), details=problems)
    return [_store(session, a, scope, deployed_by) for a in artefacts]


def _store(session: Session, a: Artefact, scope: str, deployed_by: str | None) -> DeployedItem:
    current = latest_version(session, a.kind, a.key, scope)
    if current is not None and current.content_hash == a.content_hash:
        return DeployedItem(a.kind, a.key, scope, current.version, a.content_hash, "unchanged")
    version = next_version(session, a.kind, a.key, scope)
    session.add(Definition(kind=a.kind, key=a.key, scope=scope, version=version, content_hash=a.content_hash,
                           content=a.content, filename=a.filename.rsplit("/", 1)[-1], name=a.name,
                           meta=a.meta, deployed_by=deployed_by))
    session.flush()
    return DeployedItem(a.kind, a.key, scope, version, a.content_hash, "new")


# --- lint: conventions and sandbox -----------------------------------------------------------


def _p(a: Artefact, message: str, element: str | None = None, line: int | None = None) -> dict[str, Any]:
    return {"file": a.filename, "element": element, "line": line, "message": message}


def lint(a: Artefact) -> list[dict[str, Any]]:
    """Convention and sandbox problems in one artefact."""
    if a.kind == "process":
        return _lint_process(a)
    if a.kind == "decision":
        return _lint_decision(a)
    return []


def _lint_process(a: Artefact) -> list[dict[str, Any]]:
    out = []
    roles = known_roles()
    for t in a.meta["user_tasks"]:
        props = t["properties"]
        if not props.get("formKey"):
            out.append(_p(a, "user task has no formKey property; every user task needs a form",
                          t["id"], t["line"]))
        lane = props.get("candidateRole") or t["lane"]
        if lane == "system":
            out.append(_p(a, "user task is in the 'system' lane; put it in a lane naming a role", t["id"], t["line"]))
        elif lane and lane not in roles and lane not in LANE_SPECIAL:
            out.append(_p(a, f"lane/role '{lane}' is not a known role", t["id"], t["line"]))
        due = props.get("dueInWorkingDays")
        if due is not None and not due.isdigit():
            out.append(_p(a, "dueInWorkingDays must be a whole number of days", t["id"], t["line"]))
        for name in ("dueIn", "reminderBefore"):
            if props.get(name) and iso_duration(props[name], utcnow()) is None:
                out.append(_p(a, f"{name} must be an ISO 8601 duration such as P3D or PT4H", t["id"], t["line"]))
        if props.get("escalateTo") and props["escalateTo"] not in roles:
            out.append(_p(a, f"escalateTo role '{props['escalateTo']}' is not a known role", t["id"], t["line"]))
        if props.get("priority", "normal") not in ("high", "normal", "low"):
            out.append(_p(a, "priority must be high, normal or low", t["id"], t["line"]))
    for e in a.meta["expressions"]:
        try:
            (check_script if e["kind"] == "script" else check_expression)(e["text"].strip())
        except SandboxError as exc:
            out.append(_p(a, f"{e['kind']} refused by the sandbox: {exc.message}", e["element"], e["line"]))
    return out


def _lint_decision(a: Artefact) -> list[dict[str, Any]]:
    out = []
    m = a.meta
    if m["hit_policy"] not in HIT_POLICIES:
        out.append(_p(a, f"hit policy {m['hit_policy']} is not supported; use UNIQUE (first match) or COLLECT",
                      a.key))
    for expr in m["inputs"]:
        out.extend(_check(a, expr, a.key, None, "input expression"))
    for rule in m["rules"]:
        if len(rule["inputs"]) != len(m["inputs"]) or len(rule["outputs"]) != len(m["outputs"]):
            out.append(_p(a, f"row {rule['row']} has the wrong number of cells", rule["id"], rule["line"]))
            continue
        for expr, entry in zip(m["inputs"], rule["inputs"]):
            if entry in ("", "-"):
                continue
            try:
                check_dmn_input_entry(expr, entry)
            except SandboxError as exc:
                out.append(_p(a, f"row {rule['row']} input '{entry}' refused by the sandbox: {exc.message}",
                              rule["id"], rule["line"]))
        for entry in rule["outputs"]:
            if entry:
                out.extend(_check(a, entry, rule["id"], rule["line"], f"row {rule['row']} output '{entry}'"))
    return out


def _check(a: Artefact, expr: str, element: str | None, line: int | None, what: str) -> list[dict[str, Any]]:
    try:
        check_expression(expr)
    except SandboxError as exc:
        return [_p(a, f"{what} refused by the sandbox: {exc.message}", element, line)]
    return []


# --- resolution for every force that would use the deployment --------------------------------


class _OverlayLookup:
    """Database lookup with this deployment's artefacts laid over it at their scope."""

    def __init__(self, session: Session, candidates: list[Artefact], scope: str) -> None:
        self.db = DbLookup(session)
        self.scope = scope
        self.candidates = {(a.kind, a.key): a for a in candidates}

    def find(self, kind: str, key: str, chain: list[str]) -> Resolved | None:
        found = self.db.find(kind, key, chain)
        cand = self.candidates.get((kind, key))
        if cand is None or self.scope not in chain:
            return found
        if found is None or chain.index(self.scope) <= chain.index(found.scope):
            return Resolved(cand.kind, cand.key, self.scope, 0, None, cand.filename, cand.content, cand.meta)
        return found


def affected_forces(session: Session, scope: str) -> list[str]:
    """Forces whose resolution may pass through ``scope`` (all forces for common)."""
    forces = session.execute(select(Force.code, Force.parent_code)).all()
    if scope == COMMON:
        return sorted(code for code, _ in forces)
    out, frontier = [scope], {scope}
    while frontier:
        frontier = {code for code, parent in forces if parent in frontier and code not in out}
        out.extend(sorted(frontier))
    return out


def check_resolution(session: Session, candidates: list[Artefact], scope: str) -> list[dict[str, Any]]:
    """Problems resolving or parsing any process bundle the deployment would change, for every force."""
    lookup = _OverlayLookup(session, candidates, scope)
    cand_ids = {(a.kind, a.key) for a in candidates}
    db_processes = session.execute(
        select(Definition.key, Definition.meta).where(Definition.kind == "process")).all()
    startable = {k for k, meta in db_processes if meta.get("startable")} | {
        a.key for a in candidates if a.kind == "process" and a.meta.get("startable")}
    chains = [("(common only)", [COMMON])] + [(f, force_chain(session, f)) for f in affected_forces(session, scope)]
    problems: list[dict[str, Any]] = []
    checked: set[tuple[str, str]] = set()
    for force, chain in chains:
        keys = sorted(startable) + sorted(a.key for a in candidates if a.kind == "process")
        for key in dict.fromkeys(keys):
            if lookup.find("process", key, chain) is None:
                continue
            bundle = resolve_bundle(lookup, force, chain, key)
            touched = [i for i in bundle.items if (i.kind, i.key) in cand_ids and i.definition_id is None]
            if not touched:
                continue
            checked.update((i.kind, i.key) for i in touched)
            problems.extend(bundle.problems)
            if not bundle.problems:
                try:
                    bundle.parsed()
                except DefinitionError as exc:
                    problems.extend(exc.details or [])
    return _dedupe(problems)


def _dedupe(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for p in problems:
        k = (p.get("file"), p.get("element"), p.get("message"))
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out
