"""Recording a scenario by stepping through a draft form by form.

Nothing is kept between steps but the data entered so far (start data and each completed task's data):
every step replays them from the start through the same resolution, sandbox and runtime as scenario
runs, with the draft laid over the deployed catalogue. Finishing turns the recording into a scenario in
the format of ``processes/<key>/scenarios/*.json``, with the outcome as its expectation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from . import runtime
from .catalog import COMMON, force_chain, resolve_bundle
from .design_models import Draft
from .design_scenarios import DraftLookup, processes_using
from .errors import DefinitionError, InvalidInputError
from .forms import field_errors


@dataclass
class Recording:
    """What has been entered so far."""

    process_key: str
    force: str
    start: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    requester: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> str:
        return json.dumps({"process_key": self.process_key, "force": self.force, "start": self.start,
                           "steps": self.steps, "requester": self.requester})

    @classmethod
    def from_json(cls, text: str) -> "Recording":
        raw = json.loads(text)
        return cls(str(raw["process_key"]), str(raw["force"]), raw.get("start"), list(raw.get("steps") or []),
                   dict(raw.get("requester") or {}))


@dataclass
class Position:
    """Where the replayed recording stands: the next form to fill in, or the end."""

    form_key: str | None
    form: dict[str, Any] | None
    task: str | None  # None before the start form and at the end
    title: str
    completed: bool
    path: list[str]
    waiting: list[str]
    data: dict[str, Any]


def recordable_processes(session: Session, draft: Draft) -> list[str]:
    """Startable processes whose bundle uses the draft (what a recording can start)."""
    chain = [COMMON] if draft.scope == COMMON else force_chain(session, draft.scope)
    return processes_using(session, DraftLookup(session, draft), chain)


def replay(session: Session, draft: Draft, rec: Recording) -> Position:
    """Run the recording so far and say what comes next (InvalidInputError for data a form refuses)."""
    lookup = DraftLookup(session, draft)
    chain = [COMMON] if rec.force == COMMON else force_chain(session, rec.force)
    bundle = resolve_bundle(lookup, rec.force, chain, rec.process_key)
    if bundle.problems:
        raise DefinitionError("; ".join(p["message"] for p in bundle.problems), details=bundle.problems)

    def schema(form_key: str | None) -> dict[str, Any] | None:
        item = bundle.get("form", form_key) if form_key else None
        return json.loads(item.content) if item else None

    start_key = bundle.items[0].meta.get("start_form")
    if rec.start is None:
        return Position(start_key, schema(start_key), None, "Start", False, [], [], {})
    _check(schema(start_key), rec.start, "start")
    requester = {"username": "scenario.user", "full_name": "Scenario User", "force": rec.force,
                 **rec.requester}
    parsed = bundle.parsed()
    wf = runtime.new_workflow(parsed, {**rec.start, "force_code": rec.force, "requester": requester})
    log = runtime.StepLog()
    runtime.run(wf, log)
    for n, step in enumerate(rec.steps, start=1):
        task = next((t for t in runtime.ready_user_tasks(wf) if t.name == step["task"]), None)
        if task is None:
            raise InvalidInputError(f"step {n}: task '{step['task']}' is not waiting any more")
        _check(schema(task.properties.get("formKey")), step.get("data", {}), f"step {n}")
        runtime.complete_task(wf, task.task_id, step.get("data", {}), log)
    ready = runtime.ready_user_tasks(wf)
    waiting = sorted(t.name for t in ready)
    if not ready:
        return Position(None, None, None, "Finished", runtime.is_completed(wf), log.completed, [],
                        runtime.final_data(wf))
    nxt = ready[0]
    key = nxt.properties.get("formKey")
    return Position(key, schema(key), nxt.name, nxt.title, False, log.completed, waiting, dict(nxt.data))


def _check(schema: dict[str, Any] | None, data: dict[str, Any], where: str) -> None:
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        raise InvalidInputError(f"{where}: the data does not fit the form", details=errors)


def to_scenario(rec: Recording, pos: Position, name: str) -> dict[str, Any]:
    """The recording as a scenario whose expectation is what happened."""
    expect: dict[str, Any] = {"status": "completed" if pos.completed else "waiting", "path": pos.path,
                              "waiting": pos.waiting}  # data left out: it may depend on today's date
    scenario: dict[str, Any] = {"name": name or "Recorded scenario", "process": rec.process_key,
                                "start": rec.start or {}, "steps": rec.steps, "expect": expect}
    if rec.force != COMMON:
        scenario["force"] = rec.force
    if rec.requester:
        scenario["requester"] = rec.requester
    return scenario
