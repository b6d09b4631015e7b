"""The only SpiffWorkflow driver: parse bundles (cached), run workflows, (de)serialize state without specs.

SpiffWorkflow objects never leave this module; callers get ReadyTask / TimerInfo dataclasses.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .errors import DefinitionError, WorkflowRunError
from .sandbox import make_script_engine
from .xmlsafe import parse_xml, problem

MAX_TREE_DEPTH = 900  # SpiffWorkflow's task iterators silently stop descending at depth 1000
TIMER_EVENT_TYPES = ("TimerEventDefinition", "DurationTimerEventDefinition", "TimeDateEventDefinition",
                     "CycleTimerEventDefinition")
ACTIVITY_TYPES = ("UserTask", "ManualTask", "ScriptTask", "BusinessRuleTask", "CallActivity",
                  "ServiceTask", "NoneTask", "SendTask", "ReceiveTask", "SubWorkflowTask")
SERIALIZER_VERSION = VERSION
TOO_LONG = ("the process is too long for SpiffWorkflow's parser, which recurses once per element: chains of "
            "more than about 450 elements cannot be parsed. Split it into call activities.")


# --- parsing -------------------------------------------------------------------------------


@dataclass
class ParsedBundle:
    """Parsed, cached specs for one resolved bundle (top process + called processes + decisions)."""

    process_key: str
    spec: Any
    subprocess_specs: dict[str, Any]


@dataclass(frozen=True)
class SourceDoc:
    """A process or decision document handed to the parser."""

    kind: str  # process | decision
    filename: str
    content: str


_cache: OrderedDict[tuple[Any, ...], ParsedBundle] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 256


def parsed_bundle(cache_key: tuple[Any, ...], process_key: str,
                  load_docs: Callable[[], Iterable[SourceDoc]]) -> ParsedBundle:
    """Parse once per cache key (the deployed definition ids); ``load_docs`` is called only on a miss."""
    with _cache_lock:
        hit = _cache.get(cache_key)
        if hit is not None:
            _cache.move_to_end(cache_key)
            return hit
    parsed = parse_docs(process_key, list(load_docs()))
    with _cache_lock:
        _cache[cache_key] = parsed
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return parsed


def parse_docs(process_key: str, docs: list[SourceDoc]) -> ParsedBundle:
    """Parse BPMN and DMN documents with SpiffWorkflow; DefinitionError names file, element and line."""
    parser = SpiffBpmnParser()
    try:
        for d in docs:
            root = parse_xml(d.content.encode(), d.filename)
            if d.kind == "decision":
                parser.add_dmn_xml(root, filename=d.filename)
            else:
                parser.add_bpmn_xml(root, filename=d.filename)
        spec = parser.get_spec(process_key)
        subs = parser.get_subprocess_specs(process_key)
    except ValidationException as exc:
        message = str(exc.args[0] if exc.args else exc)
        if "RecursionError" in message or "recursion" in message.lower():
            message = TOO_LONG
        p = problem(exc.file_name or "?", message, element=exc.id or None, line=exc.line_number or None)
        raise DefinitionError(_fmt(p), details=[p]) from exc
    except RecursionError as exc:
        p = problem(process_key, TOO_LONG)
        raise DefinitionError(_fmt(p), details=[p]) from exc
    except (SpiffWorkflowException, KeyError, ValueError, AttributeError, TypeError) as exc:
        p = problem(process_key, f"SpiffWorkflow could not parse the process: {exc}")
        raise DefinitionError(_fmt(p), details=[p]) from exc
    return ParsedBundle(process_key, spec, subs)


def _fmt(p: dict[str, Any]) -> str:
    where = str(p["file"]) + (f":{p['line']}" if p.get("line") else "")
    element = f" [{p['element']}]" if p.get("element") else ""
    return f"{where}{element}: {p['message']}"


# --- serialization (one serializer per thread: SpiffWorkflow's is not thread-safe) -----------


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the specs out of saved state; they come from the parsed-bundle cache on load."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = super().to_dict(workflow)
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_local = threading.local()


def _serializer() -> BpmnWorkflowSerializer:
    ser = getattr(_local, "serializer", None)
    if ser is None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = _SpeclessWorkflowConverter
        ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        _local.serializer = ser
    return ser


def dump(wf: BpmnWorkflow) -> str:
    """Serialize a workflow's state (tasks, data, subprocesses) without its specs."""
    return json.dumps(_serializer().to_dict(wf), separators=(",", ":"))


def load(parsed: ParsedBundle, state: str) -> BpmnWorkflow:
    """Rebuild a workflow from saved state and cached specs, with Muster's sandbox re-attached."""
    dct = json.loads(state)
    wf = _serializer().registry.restore(dct, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs)
    _attach_engine(wf)
    return wf


def _attach_engine(wf: BpmnWorkflow) -> None:
    # Sub-workflows read the top workflow's engine; the default unrestricted one must never survive a load.
    wf.script_engine = make_script_engine()


# --- running -------------------------------------------------------------------------------


@dataclass
class ReadyTask:
    """A READY user task as Muster sees it."""

    task_id: str
    name: str
    title: str
    lane: str | None
    process_id: str
    properties: dict[str, str]
    data: dict[str, Any]


@dataclass
class StepLog:
    """Activities completed during one run (for audit and scenario paths)."""

    completed: list[str] = field(default_factory=list)


def new_workflow(parsed: ParsedBundle, data: dict[str, Any]) -> BpmnWorkflow:
    """Create a workflow for the bundle with ``data`` as the start data (not yet run)."""
    wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=make_script_engine())
    start = wf.get_tasks(state=TaskState.READY)
    for t in start:
        t.data.update(copy.deepcopy(data))
    return wf


def run(wf: BpmnWorkflow, log: StepLog | None = None) -> None:
    """Fire due timers and run engine tasks to the next wait state.

    Raises WorkflowRunError (with task id and line) on a script failure or when the task tree grows
    too deep for SpiffWorkflow to follow reliably.
    """
    log = log if log is not None else StepLog()

    def did_complete(task: Any) -> None:
        _guard_depth(task)
        if task.task_spec.__class__.__name__ in ACTIVITY_TYPES or getattr(task.task_spec, "bpmn_id", None) and \
                _is_activity(task):
            log.completed.append(task.task_spec.bpmn_id or task.task_spec.name)

    try:
        wf.refresh_timers()
        wf.do_engine_steps(did_complete_task=did_complete)
        wf.refresh_timers()
        wf.do_engine_steps(did_complete_task=did_complete)
    except WorkflowRunError:
        raise
    except SpiffWorkflowException as exc:
        raise WorkflowRunError(_describe(exc), details=_details(exc)) from exc
    except RecursionError as exc:
        raise WorkflowRunError("The process recursed too deeply; it was stopped.") from exc
    _guard_tree(wf)


def _is_activity(task: Any) -> bool:
    spec = task.task_spec
    if isinstance(spec, CatchingEvent):
        return False
    name = type(spec).__name__
    return any(t in name for t in ("Task", "CallActivity", "SubWorkflow")) and "Gateway" not in name \
        and "Event" not in name and "Start" not in name and "End" not in name


def _guard_depth(task: Any) -> None:
    depth = task.depth
    if depth > MAX_TREE_DEPTH:
        raise WorkflowRunError(
            f"The process looped too many times (task tree depth {depth} at '{task.task_spec.bpmn_id}'); "
            f"SpiffWorkflow cannot follow more than about {MAX_TREE_DEPTH} steps in one branch. "
            "The instance was stopped; redesign the loop as a call activity or a new instance per item.",
            details={"task": task.task_spec.bpmn_id, "depth": depth})


def _guard_tree(wf: BpmnWorkflow) -> None:
    for task in wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        _guard_depth(task)


def _describe(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    where = f" in '{task.task_spec.bpmn_id}'" if task is not None else ""
    line = getattr(exc, "line_number", None)
    at_line = f" (line {line})" if line else ""
    return f"Step failed{where}{at_line}: {exc}"


def _details(exc: SpiffWorkflowException) -> dict[str, Any]:
    task = getattr(exc, "task", None)
    return {"task": task.task_spec.bpmn_id if task is not None else None,
            "line": getattr(exc, "line_number", None), "error_line": getattr(exc, "error_line", None)}


def ready_user_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    """Every READY manual task (including inside call activities)."""
    out = []
    for t in wf.get_tasks(state=TaskState.READY, manual=True):
        spec = t.task_spec
        props = dict((getattr(spec, "extensions", None) or {}).get("properties", {}))
        out.append(ReadyTask(str(t.id), spec.bpmn_id or spec.name, spec.bpmn_name or spec.bpmn_id or spec.name,
                             spec.lane, t.workflow.spec.name, props, t.data))
    return out


def is_ready(wf: BpmnWorkflow, task_id: str) -> bool:
    """Is the user task ``task_id`` READY (waiting for input)?"""
    task = wf.get_task_from_id(UUID(task_id))
    return task is not None and task.state == TaskState.READY and bool(task.task_spec.manual)


def complete_task(wf: BpmnWorkflow, task_id: str, data: dict[str, Any], log: StepLog | None = None) -> str:
    """Complete a READY user task with form data and run to the next wait state; returns its bpmn id."""
    task = wf.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise WorkflowRunError("That task is not waiting for input any more.")
    task.data.update(copy.deepcopy(data))
    name = task.task_spec.bpmn_id or task.task_spec.name
    log = log if log is not None else StepLog()
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise WorkflowRunError(_describe(exc), details=_details(exc)) from exc
    log.completed.append(name)
    run(wf, log)
    return name


def cancel(wf: BpmnWorkflow) -> None:
    """Cancel every unfinished task."""
    wf.cancel()


def is_completed(wf: BpmnWorkflow) -> bool:
    return bool(wf.is_completed())


def final_data(wf: BpmnWorkflow) -> dict[str, Any]:
    """The data of a completed workflow (or the latest completed task's data)."""
    if wf.is_completed():
        return dict(wf.data or {}) or dict(wf.last_task.data if wf.last_task else {})
    return dict(wf.last_task.data) if wf.last_task else {}


def iso_duration(value: str, start: dt.datetime) -> dt.timedelta | None:
    """An ISO 8601 duration such as ``P3D`` or ``PT4H`` from ``start`` as a timedelta; None when malformed."""
    return _duration(value, start, forwards=True)


def iso_duration_before(value: str, end: dt.datetime) -> dt.timedelta | None:
    """The ISO 8601 duration ``value`` counted back from ``end`` (months differ in length); None if malformed."""
    return _duration(value, end, forwards=False)


def _duration(value: str, anchor: dt.datetime, *, forwards: bool) -> dt.timedelta | None:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value.strip().strip('"'))
        delta: dt.timedelta = (TimerEventDefinition.get_timedelta_from_start if forwards
                               else TimerEventDefinition.get_timedelta_from_end)(parsed, anchor)
        return delta
    except Exception:  # SpiffWorkflow raises bare exceptions for malformed durations
        return None


@dataclass
class TimerInfo:
    """A waiting timer: its event name and when it is due (aware ISO string)."""

    name: str
    due: str


def waiting_timers(wf: BpmnWorkflow) -> list[TimerInfo]:
    """Timers the workflow is waiting on (what the job scheduler must wake it for)."""
    out = []
    for ev in wf.waiting_events():
        if ev.event_type in TIMER_EVENT_TYPES and ev.value:
            value = ev.value
            due = value.get("next") if isinstance(value, dict) else value
            if due:
                out.append(TimerInfo(ev.name or "", str(due)))
    return out
