"""A request's history as MOJ timeline entries: audit events in words, newest first.

Internal bookkeeping (engine steps run) is left out; comments and reasons people typed are kept as text
(the templates escape them)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.models import AuditEvent, User

from ..formkit.schema import label_for_value

HIDDEN = frozenset({"steps_run"})
DECISIONS = {"approve": "Approved", "reject": "Rejected", "authorise": "Authorised", "refuse": "Refused",
             "adjust": "Adjusted", "propose_alt": "Alternative dates proposed"}


@dataclass(frozen=True)
class Entry:
    """One timeline entry."""

    title: str
    by: str
    at: dt.datetime
    lines: tuple[str, ...] = ()


def entries(events: Iterable[AuditEvent], names: Mapping[str, str],
            people: Mapping[int, User]) -> list[Entry]:
    """Timeline entries for ``events``; ``names`` maps usernames and ``people`` ids to people."""
    out = []
    for event in events:
        if event.action in HIDDEN:
            continue
        title, lines = describe(event, people)
        by = "Muster" if event.actor == "system" else names.get(event.actor, event.actor)
        out.append(Entry(title, by, event.at, tuple(line for line in lines if line)))
    return list(reversed(out))


def describe(event: AuditEvent, people: Mapping[int, User]) -> tuple[str, list[str]]:
    """(title, description lines) of one event."""
    data: Mapping[str, Any] = event.data or {}
    task = str(data.get("title") or event.task_name or "A step")
    action = event.action
    if action == "instance_started":
        return "Request submitted", []
    if action == "work_item_created":
        return f"Waiting for: {task}", [f"With {_holder(data, people)}"]
    if action == "work_item_completed":
        return _completed(task, data.get("data") if isinstance(data.get("data"), Mapping) else {})
    if action == "work_item_reassigned":
        target = people.get(data.get("to")) if isinstance(data.get("to"), int) else None
        return f"{task}: reassigned", [f"To {target.full_name}" if target else ""]
    if action == "instance_completed":
        outcome = data.get("outcome")
        return "Request completed", [f"Outcome: {label_for_value(outcome)}" if outcome else ""]
    if action == "instance_withdrawn":
        return "Request withdrawn", [str(data.get("reason") or "")]
    if action == "step_failed":
        return "A step failed", [str(data.get("error") or "")]
    if action == "segregation_refused":
        return f"{task}: refused", [str(data.get("reason") or "")]
    simple = {"work_item_claimed": f"{task}: claimed",
              "work_item_unclaimed": f"{task}: handed back to the team"}
    return simple.get(action, label_for_value(action)), []


def _completed(task: str, submitted: Mapping[str, Any]) -> tuple[str, list[str]]:
    decision = submitted.get("decision")
    said = DECISIONS.get(str(decision), label_for_value(decision)) if decision else "done"
    title = f"{task}: {said}"
    note = submitted.get("comment") or submitted.get("reason")
    return title, [f"“{note}”" if isinstance(note, str) and note.strip() else ""]


def _holder(data: Mapping[str, Any], people: Mapping[int, User]) -> str:
    candidate = data.get("candidate_user_id")
    person = people.get(candidate) if isinstance(candidate, int) else None
    if person is not None:
        return person.full_name
    role = data.get("candidate_role")
    return "any " + str(role).replace("_", " ") if role else "the team"


def people_ids(events: Iterable[AuditEvent]) -> set[int]:
    """The user ids the events mention (reassignment targets, named candidates)."""
    ids = set()
    for event in events:
        for key in ("to", "candidate_user_id"):
            value = (event.data or {}).get(key)
            if isinstance(value, int):
                ids.add(value)
    return ids
