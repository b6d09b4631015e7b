"""Element-by-element differences between two versions of one artefact.

BPMN: tasks, events, gateways, flows (with conditions) and lanes added, removed or changed;
DMN: rows (by rule id, else by position) and columns; forms: fields, required fields and title.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from lxml import etree

from .artefacts import BPMN_NS, NS, SPIFF_NS, SourceFile, read_artefact
from .errors import DefinitionError
from .xmlsafe import parse_xml

FLOW_NODE_SUFFIXES = ("Task", "Event", "Gateway")
FLOW_NODE_NAMES = ("callActivity", "subProcess", "task", "transaction")


@dataclass(frozen=True)
class Change:
    """One difference: ``change`` is added, removed or changed; ``what`` says what sort of element."""

    element: str
    what: str
    change: str
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def diff(kind: str, old: str, new: str) -> list[Change]:
    """Differences from ``old`` to ``new`` content of an artefact of ``kind``."""
    if kind == "process":
        return diff_bpmn(old, new)
    if kind == "decision":
        return diff_dmn(old, new)
    return diff_form(old, new)


def _compare(what_of: dict[str, str], old: dict[str, dict[str, Any]],
             new: dict[str, dict[str, Any]]) -> list[Change]:
    out: list[Change] = []
    for ident in sorted(set(old) | set(new), key=lambda i: (i not in old, i)):
        what = what_of.get(ident, "element")
        if ident not in new:
            out.append(Change(ident, what, "removed", _label(old[ident])))
        elif ident not in old:
            out.append(Change(ident, what, "added", _label(new[ident])))
        elif old[ident] != new[ident]:
            keys = sorted(set(old[ident]) | set(new[ident]))
            parts = [f"{k}: {_show(old[ident].get(k))} → {_show(new[ident].get(k))}"
                     for k in keys if old[ident].get(k) != new[ident].get(k)]
            out.append(Change(ident, what, "changed", "; ".join(parts)))
    return out


def _label(sig: dict[str, Any]) -> str:
    return str(sig.get("name") or sig.get("title") or "")


def _show(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, sort_keys=True)


# --- BPMN ------------------------------------------------------------------------------------


def _process(content: str) -> etree._Element:
    root = parse_xml(content.encode(), "diff")
    procs = [p for p in root.findall("bpmn:process", NS) if p.get("isExecutable", "true") != "false"]
    if not procs:
        raise DefinitionError("not a BPMN process", details=[])
    return procs[0]


def _is_flow_node(el: etree._Element) -> bool:
    q = etree.QName(el)
    return q.namespace == BPMN_NS and (q.localname.endswith(FLOW_NODE_SUFFIXES)
                                       or q.localname in FLOW_NODE_NAMES)


def bpmn_signatures(content: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Per element id: what matters about it; and per id: its sort (task, gateway, flow, lane …)."""
    proc = _process(content)
    lanes: dict[str, str] = {}
    sigs: dict[str, dict[str, Any]] = {}
    what: dict[str, str] = {}
    for lane in proc.iter(f"{{{BPMN_NS}}}lane"):
        members = sorted((r.text or "").strip() for r in lane.findall("bpmn:flowNodeRef", NS))
        for m in members:
            lanes[m] = lane.get("name") or ""
        sigs[lane.get("id") or ""] = {"name": lane.get("name") or "", "members": members}
        what[lane.get("id") or ""] = "lane"
    for el in proc.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        local = etree.QName(el).localname
        if local == "sequenceFlow":
            cond = el.find("bpmn:conditionExpression", NS)
            sigs[el.get("id")] = {"name": el.get("name") or "", "from": el.get("sourceRef"),
                                  "to": el.get("targetRef"),
                                  "condition": (cond.text or "").strip() if cond is not None else ""}
            what[el.get("id")] = "flow"
        elif _is_flow_node(el):
            sigs[el.get("id")] = _node_signature(el, lanes)
            what[el.get("id")] = _sort_of(local)
    return sigs, what


def _node_signature(el: etree._Element, lanes: dict[str, str]) -> dict[str, Any]:
    props = {p.get("name", ""): p.get("value", "") for p in el.findall(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)}
    decision = el.find(f"bpmn:extensionElements/{{{SPIFF_NS}}}calledDecisionId", NS)
    script = el.find("bpmn:script", NS)
    sig: dict[str, Any] = {"name": el.get("name") or "", "type": etree.QName(el).localname,
                           "lane": lanes.get(el.get("id") or "", "")}
    optional = {"properties": props, "calledElement": el.get("calledElement"), "default": el.get("default"),
                "attachedTo": el.get("attachedToRef"),
                "decision": (decision.text or "").strip() if decision is not None else None,
                "script": (script.text or "").strip() if script is not None else None}
    sig.update({k: v for k, v in optional.items() if v})
    return sig


def _sort_of(local: str) -> str:
    if local.endswith("Gateway"):
        return "gateway"
    if local.endswith("Event"):
        return "event"
    if local == "callActivity":
        return "call activity"
    return "task"


def diff_bpmn(old: str, new: str) -> list[Change]:
    """Tasks, events, gateways, flows and lanes added, removed or changed."""
    old_sigs, old_what = bpmn_signatures(old)
    new_sigs, new_what = bpmn_signatures(new)
    return _compare({**old_what, **new_what}, old_sigs, new_sigs)


# --- DMN -------------------------------------------------------------------------------------


def _dmn_meta(content: str) -> dict[str, Any]:
    return read_artefact(SourceFile("decision.dmn", content.encode())).meta


def diff_dmn(old: str, new: str) -> list[Change]:
    """Rows added, removed or changed (matched by rule id when both versions carry ids), and columns."""
    a, b = _dmn_meta(old), _dmn_meta(new)
    out: list[Change] = []
    for part in ("hit_policy", "inputs", "outputs"):
        if a[part] != b[part]:
            out.append(Change(part, "table", "changed", f"{_show(a[part])} → {_show(b[part])}"))
    by_id = all(r["id"] for r in a["rules"] + b["rules"])

    def rows(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {(r["id"] if by_id else f"row {r['row']}"): {"row": r["row"], "inputs": r["inputs"],
                                                            "outputs": r["outputs"]} for r in meta["rules"]}

    old_rows, new_rows = rows(a), rows(b)
    for ident in sorted(set(old_rows) | set(new_rows),
                        key=lambda i: (new_rows.get(i) or old_rows[i])["row"]):
        o, n = old_rows.get(ident), new_rows.get(ident)
        if n is None and o is not None:
            out.append(Change(ident, "row", "removed", f"row {o['row']}: {_cells(o)}"))
        elif o is None and n is not None:
            out.append(Change(ident, "row", "added", f"row {n['row']}: {_cells(n)}"))
        elif o is not None and n is not None and (o["inputs"], o["outputs"]) != (n["inputs"], n["outputs"]):
            detail = f"row {o['row']}: {_cells(o)} → row {n['row']}: {_cells(n)}"
            out.append(Change(ident, "row", "changed", detail))
    return out


def _cells(row: dict[str, Any]) -> str:
    return " | ".join(c or "-" for c in row["inputs"]) + " ⇒ " + " | ".join(row["outputs"])


# --- forms -----------------------------------------------------------------------------------


def diff_form(old: str, new: str) -> list[Change]:
    """Fields added, removed or changed; required fields; title and description."""
    a, b = json.loads(old), json.loads(new)
    out: list[Change] = []
    for part in ("title", "description"):
        if a.get(part) != b.get(part):
            out.append(Change(part, "form", "changed", f"{_show(a.get(part))} → {_show(b.get(part))}"))
    old_fields = {k: dict(v) for k, v in (a.get("properties") or {}).items()}
    new_fields = {k: dict(v) for k, v in (b.get("properties") or {}).items()}
    for fields, schema in ((old_fields, a), (new_fields, b)):
        for name, sig in fields.items():
            sig["required"] = name in (schema.get("required") or [])
    out.extend(_compare({k: "field" for k in set(old_fields) | set(new_fields)}, old_fields, new_fields))
    for part in ("if", "then", "else", "allOf"):
        if a.get(part) != b.get(part):
            out.append(Change(part, "rule", "changed", f"conditional rule '{part}' changed"))
    return out
