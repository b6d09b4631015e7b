"""Reading definition files into artefacts (process, decision, form) with the metadata Muster needs.

Pure parsing over hardened XML and JSON: no database, no SpiffWorkflow.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import DefinitionError
from .forms import load_form
from .xmlsafe import parse_xml, problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_FLOW_NODES = 1500  # SpiffWorkflow's parser and task tree recurse per element
SKIP_DIRS = {"scenarios", "dmn_tests", "node_modules", "__pycache__"}
USER_TASK_TAGS = ("userTask", "manualTask")


@dataclass(frozen=True)
class SourceFile:
    """A definition file as uploaded or read from disk."""

    filename: str
    content: bytes


@dataclass
class Artefact:
    """One deployable artefact parsed from a file."""

    kind: str  # process | decision | form
    key: str
    filename: str
    content: str
    name: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()


def collect_files(paths: list[Path]) -> list[SourceFile]:
    """Read .bpmn, .dmn and form .json files under the given files or folders (scenarios are skipped)."""
    out: list[SourceFile] = []
    for path in paths:
        if not path.exists():
            raise DefinitionError(f"{path}: no such file or folder",
                                  details=[problem(str(path), "no such file or folder")])
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if SKIP_DIRS.intersection(f.parts) or f.suffix not in (".bpmn", ".dmn", ".json"):
                continue
            out.append(SourceFile(str(f), f.read_bytes()))
    return out


def read_artefacts(files: list[SourceFile]) -> list[Artefact]:
    """Parse every file; raise one DefinitionError listing every problem in every file."""
    artefacts: list[Artefact] = []
    problems: list[dict[str, Any]] = []
    for f in files:
        try:
            artefacts.append(read_artefact(f))
        except DefinitionError as exc:
            problems.extend(exc.details or [problem(f.filename, exc.message)])
    seen: dict[tuple[str, str], str] = {}
    for a in artefacts:
        if (a.kind, a.key) in seen:
            problems.append(problem(a.filename, f"{a.kind} id '{a.key}' is also defined in "
                                    f"{seen[(a.kind, a.key)]}", element=a.key))
        seen[(a.kind, a.key)] = a.filename
    if problems:
        raise DefinitionError(summary(problems), details=problems)
    return artefacts


def summary(problems: list[dict[str, Any]]) -> str:
    """A one-line-per-problem message: file:line element: message."""
    return "\n".join(format_problem(p) for p in problems)


def format_problem(p: dict[str, Any]) -> str:
    where = p["file"] + (f":{p['line']}" if p.get("line") else "")
    element = f" [{p['element']}]" if p.get("element") else ""
    return f"{where}{element}: {p['message']}"


def read_artefact(f: SourceFile) -> Artefact:
    """Parse one file into its artefact."""
    name = Path(f.filename).name
    if name.endswith(".bpmn"):
        return _read_bpmn(f)
    if name.endswith(".dmn"):
        return _read_dmn(f)
    if name.endswith(".json"):
        try:
            text = f.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError(f"{f.filename}: not UTF-8 text",
                                  details=[problem(f.filename, "not UTF-8 text")]) from exc
        schema = load_form(text, f.filename)
        key = Path(f.filename).stem
        meta = {"fields": sorted(schema.get("properties", {}))}
        return Artefact("form", key, f.filename, text, schema.get("title"), meta)
    raise DefinitionError(f"{f.filename}: unknown file type (expected .bpmn, .dmn or .json)",
                          details=[problem(f.filename, "unknown file type (expected .bpmn, .dmn or .json)")])


def _text(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{filename}: not UTF-8 text", details=[problem(filename, "not UTF-8 text")]) from exc


def _read_bpmn(f: SourceFile) -> Artefact:
    root = parse_xml(f.content, f.filename)
    if etree.QName(root).namespace != BPMN_NS or etree.QName(root).localname != "definitions":
        raise DefinitionError(f"{f.filename}: not a BPMN 2.0 file (root must be bpmn:definitions)",
                              details=[problem(f.filename, "not a BPMN 2.0 file (root must be bpmn:definitions)")])
    processes = [p for p in root.findall("bpmn:process", NS) if p.get("isExecutable", "true") != "false"]
    if len(processes) != 1:
        msg = f"expected exactly one executable process per file, found {len(processes)}"
        raise DefinitionError(f"{f.filename}: {msg}", details=[problem(f.filename, msg)])
    proc = processes[0]
    pid = proc.get("id") or ""
    flow_nodes = [el for el in proc.iter() if isinstance(el.tag, str) and _is_flow_node(el)]
    if len(flow_nodes) > MAX_FLOW_NODES:
        msg = (f"process has {len(flow_nodes)} elements; the limit is {MAX_FLOW_NODES}. "
               "Split it into call activities.")
        raise DefinitionError(f"{f.filename} [{pid}]: {msg}", details=[problem(f.filename, msg, element=pid)])
    meta = bpmn_meta(root, proc, Path(f.filename).stem)
    return Artefact("process", pid, f.filename, _text(f.content, f.filename), proc.get("name") or pid, meta)


def _is_flow_node(el: etree._Element) -> bool:
    q = etree.QName(el)
    return q.namespace == BPMN_NS and (
        q.localname.endswith(("Task", "Event", "Gateway")) or q.localname in ("callActivity", "subProcess", "task")
    )


def _props(el: etree._Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in el.findall(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}


def bpmn_meta(root: etree._Element, proc: etree._Element, stem: str) -> dict[str, Any]:
    """What Muster needs to know about a process without running it."""
    lanes: dict[str, str] = {}
    for lane in proc.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id") or ""
    user_tasks = []
    for tag in USER_TASK_TAGS:
        for el in proc.iter(f"{{{BPMN_NS}}}{tag}"):
            user_tasks.append({"id": el.get("id"), "name": el.get("name") or el.get("id"),
                               "lane": lanes.get(el.get("id") or ""), "properties": _props(el),
                               "line": el.sourceline})
    start_form = None
    for el in proc.findall("bpmn:startEvent", NS):
        start_form = _props(el).get("formKey") or start_form
    called = sorted({el.get("calledElement") or "" for el in proc.iter(f"{{{BPMN_NS}}}callActivity")})
    decisions = sorted({d.text.strip() for d in proc.iter(f"{{{SPIFF_NS}}}calledDecisionId") if d.text})
    return {
        "user_tasks": user_tasks,
        "lanes": sorted(set(lanes.values())),
        "start_form": start_form,
        "called_elements": called,
        "decisions": decisions,
        "forms": sorted({t["properties"].get("formKey") for t in user_tasks if t["properties"].get("formKey")}
                        | ({start_form} if start_form else set())),
        "startable": stem == "process" or start_form is not None,
        "expressions": list(bpmn_expressions(proc)),
    }


def bpmn_expressions(proc: etree._Element) -> list[dict[str, Any]]:
    """Every script, condition and timer expression, with element id and line, for the sandbox lint."""
    out: list[dict[str, Any]] = []

    def owner(el: etree._Element) -> etree._Element:
        while el.getparent() is not None and not el.get("id"):
            el = el.getparent()
        return el

    for el in proc.iter(f"{{{BPMN_NS}}}script"):
        out.append({"kind": "script", "text": el.text or "", "element": owner(el).get("id"), "line": el.sourceline})
    for tag in ("preScript", "postScript"):
        for el in proc.iter(f"{{{SPIFF_NS}}}{tag}"):
            out.append({"kind": "script", "text": el.text or "", "element": owner(el).get("id"), "line": el.sourceline})
    for el in proc.iter(f"{{{BPMN_NS}}}conditionExpression"):
        out.append({"kind": "expression", "text": el.text or "", "element": owner(el).get("id"), "line": el.sourceline})
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for el in proc.iter(f"{{{BPMN_NS}}}{tag}"):
            out.append({"kind": "expression", "text": el.text or "", "element": owner(el).get("id"),
                        "line": el.sourceline})
    return out


def _read_dmn(f: SourceFile) -> Artefact:
    root = parse_xml(f.content, f.filename)
    ns = etree.QName(root).namespace
    if ns not in DMN_NAMESPACES or etree.QName(root).localname != "definitions":
        msg = "not a DMN 1.x file (root must be dmn:definitions)"
        raise DefinitionError(f"{f.filename}: {msg}", details=[problem(f.filename, msg)])
    decisions = root.findall(f"{{{ns}}}decision")
    if len(decisions) != 1:
        msg = f"expected exactly one decision per file, found {len(decisions)}"
        raise DefinitionError(f"{f.filename}: {msg}", details=[problem(f.filename, msg)])
    dec = decisions[0]
    did = dec.get("id") or ""
    table = dec.find(f"{{{ns}}}decisionTable")
    if table is None:
        msg = "the decision has no decisionTable"
        raise DefinitionError(f"{f.filename} [{did}]: {msg}", details=[problem(f.filename, msg, element=did)])
    inputs = [(i.findtext(f"{{{ns}}}inputExpression/{{{ns}}}text") or "").strip()
              for i in table.findall(f"{{{ns}}}input")]
    outputs = [o.get("name") or "" for o in table.findall(f"{{{ns}}}output")]
    rules = []
    for n, rule in enumerate(table.findall(f"{{{ns}}}rule"), start=1):
        rules.append({
            "row": n, "id": rule.get("id"), "line": rule.sourceline,
            "inputs": [(e.findtext(f"{{{ns}}}text") or "").strip() for e in rule.findall(f"{{{ns}}}inputEntry")],
            "outputs": [(e.findtext(f"{{{ns}}}text") or "").strip() for e in rule.findall(f"{{{ns}}}outputEntry")],
        })
    meta = {"hit_policy": table.get("hitPolicy", "UNIQUE"), "inputs": inputs, "outputs": outputs, "rules": rules}
    return Artefact("decision", did, f.filename, _text(f.content, f.filename), dec.get("name") or did, meta)
