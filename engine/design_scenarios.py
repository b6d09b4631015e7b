"""Running a draft's scenarios: the draft laid over the deployed catalogue at its scope.

Scenarios come from the repository's ``processes/`` folders (the scenario format of docs/modelling.md)
for every startable process whose bundle uses the drafted artefact, plus those recorded on the draft.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .artefacts import SourceFile, read_artefact
from .catalog import COMMON, DbLookup, Resolved, force_chain, resolve_bundle
from .design_models import Draft
from .errors import DefinitionError, MusterError, NotFoundError
from .models import Definition
from .scenarios import ScenarioResult, run_scenario


class DraftLookup:
    """The deployed catalogue with one draft laid over it at the draft's scope."""

    def __init__(self, session: Session, draft: Draft) -> None:
        self.db = DbLookup(session)
        self.scope = draft.scope
        a = read_artefact(SourceFile(draft.filename, draft.content.encode()))
        self.draft = Resolved(a.kind, a.key, draft.scope, 0, None, draft.filename, a.content, a.meta)

    def find(self, kind: str, key: str, chain: list[str]) -> Resolved | None:
        """Nearest along ``chain``; the draft wins at its own scope."""
        found = self.db.find(kind, key, chain)
        if (kind, key) != (self.draft.kind, self.draft.key) or self.scope not in chain:
            return found
        if found is None or chain.index(self.scope) <= chain.index(found.scope):
            return self.draft
        return found


@dataclass
class DraftScenarioResult:
    """One scenario run for one force, with where the scenario came from."""

    source: str
    process_key: str
    result: ScenarioResult


def processes_using(session: Session, lookup: DraftLookup, chain: list[str]) -> list[str]:
    """Startable processes whose bundle (resolved along ``chain``) includes the drafted artefact."""
    keys = sorted(set(session.execute(select(Definition.key).where(Definition.kind == "process")).scalars())
                  | ({lookup.draft.key} if lookup.draft.kind == "process" else set()))
    out = []
    for key in keys:
        top = lookup.find("process", key, chain)
        if top is None or not top.meta.get("startable"):
            continue
        bundle = resolve_bundle(lookup, chain[0], chain, key)
        if any(i.definition_id is None for i in bundle.items):
            out.append(key)
    return out


Source = tuple[str, dict[str, Any], str]


def scenario_sources(repo: Path | None, process_key: str, scope: str) -> list[Source]:
    """(label, scenario, folder scope) from ``processes/common/<key>/scenarios`` and the scope's folder."""
    if repo is None:
        return []
    folders = [(repo / "processes" / "common" / process_key / "scenarios", COMMON)]
    if scope != COMMON:
        folders.append((repo / "processes" / "forces" / scope / process_key / "scenarios", scope))
    out = []
    for folder, folder_scope in folders:
        if folder.is_dir():
            for f in sorted(folder.glob("*.json")):
                out.append((str(f.relative_to(repo)), json.loads(f.read_text()), folder_scope))
    return out


def run_draft_scenarios(session: Session, draft: Draft, repo: Path | None) -> list[DraftScenarioResult]:
    """Run every scenario of every process using the draft, for the draft's scope.

    A common draft runs common scenarios on the common chain (or on the chain of a scenario's
    ``force``); a force draft runs them, and the force folder's scenarios, on that force's chain."""
    try:
        lookup = DraftLookup(session, draft)
    except DefinitionError as exc:
        failed = ScenarioResult("draft does not parse", draft.scope, False, failures=[exc.message])
        return [DraftScenarioResult("draft", draft.key, failed)]
    chain = [COMMON] if draft.scope == COMMON else force_chain(session, draft.scope)
    out = []
    for key in processes_using(session, lookup, chain):
        runs = scenario_sources(repo, key, draft.scope)
        runs += [(f"recorded on draft {draft.id}", sc, draft.scope) for sc in draft.scenarios
                 if sc.get("process", key) == key]
        for label, sc, _folder_scope in runs:
            force = draft.scope if draft.scope != COMMON else (sc.get("force") or COMMON)
            if sc.get("force") and draft.scope != COMMON and sc["force"] != draft.scope:
                continue  # a scenario pinned to another force says nothing about this one
            try:
                sc_chain = chain if force in (draft.scope, COMMON) else force_chain(session, force)
            except NotFoundError as exc:
                out.append(DraftScenarioResult(label, key, ScenarioResult(sc.get("name", "?"), force, False,
                                                                          failures=[exc.message])))
                continue
            out.append(DraftScenarioResult(label, key, _run(lookup, sc, force, sc_chain, key)))
    return out


def _run(lookup: DraftLookup, sc: dict[str, Any], force: str, chain: list[str], key: str) -> ScenarioResult:
    try:
        return run_scenario(lookup, sc, force, chain, key)  # type: ignore[arg-type]
    except MusterError as exc:  # resolution errors surface as a failed scenario, not a crash
        return ScenarioResult(sc.get("name", "?"), force, False, failures=[exc.message])
