"""The designer's checks beyond deployment's: diverging gateways without a default flow, and
elements that no path from a start event reaches."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .artefacts import BPMN_NS, NS, Artefact
from .xmlsafe import parse_xml

CHOICE_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")
CONTAINERS = ("subProcess", "transaction", "adHocSubProcess")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _is_node(el: etree._Element) -> bool:
    if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
        return False
    local = _local(el)
    return local.endswith(("Task", "Event", "Gateway")) or local in ("callActivity", "task") + CONTAINERS


def design_problems(a: Artefact) -> list[dict[str, Any]]:
    """Gateway-default and reachability problems in a process artefact (none for other kinds)."""
    if a.kind != "process":
        return []
    root = parse_xml(a.content.encode(), a.filename)
    proc = next(p for p in root.findall("bpmn:process", NS) if p.get("isExecutable", "true") != "false")
    return _gateway_defaults(a, proc) + _unreachable(a, proc)


def _problem(a: Artefact, el: etree._Element, message: str) -> dict[str, Any]:
    return {"file": a.filename, "element": el.get("id"), "line": el.sourceline, "message": message}


def _gateway_defaults(a: Artefact, proc: etree._Element) -> list[dict[str, Any]]:
    out = []
    for tag in CHOICE_GATEWAYS:
        for gw in proc.iter(f"{{{BPMN_NS}}}{tag}"):
            outgoing = gw.findall("bpmn:outgoing", NS)
            if len(outgoing) > 1 and not gw.get("default"):
                out.append(_problem(a, gw, "gateway has several outgoing flows but no default flow; "
                                           "mark one flow as the default so no case can get stuck"))
    return out


def _unreachable(a: Artefact, proc: etree._Element) -> list[dict[str, Any]]:
    nodes = {el.get("id"): el for el in proc.iter() if _is_node(el) and el.get("id")}
    targets: dict[str, list[str]] = {}
    for flow in proc.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        targets.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    boundary: dict[str, list[str]] = {}
    for ev in proc.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        boundary.setdefault(ev.get("attachedToRef") or "", []).append(ev.get("id") or "")
    reached: set[str] = set()
    todo = [i for i, el in nodes.items() if _local(el) == "startEvent" and _entry(el.getparent(), proc)]
    todo += [i for i, el in nodes.items() if _local(el) == "intermediateCatchEvent" and not el.findall(
        "bpmn:incoming", NS)]  # catching link events start their own path
    while todo:
        ident = todo.pop()
        if ident in reached or ident not in nodes:
            continue
        reached.add(ident)
        todo.extend(targets.get(ident, []))
        todo.extend(boundary.get(ident, []))
        el = nodes[ident]
        if _local(el) in CONTAINERS:
            todo.extend(c.get("id") or "" for c in el if _local(c) == "startEvent")
            todo.extend(c.get("id") or "" for c in el if _local(c) == "subProcess"
                        and c.get("triggeredByEvent") == "true")
    return [_problem(a, el, "no path from a start event reaches this element")
            for ident, el in nodes.items() if ident not in reached]


def _entry(parent: etree._Element | None, proc: etree._Element) -> bool:
    """Start events of the process itself and of its event sub-processes begin paths on their own."""
    if parent is None:
        return False
    return parent is proc or (_local(parent) == "subProcess" and parent.get("triggeredByEvent") == "true"
                              and _entry(parent.getparent(), proc))


def references(a: Artefact) -> dict[str, list[str]]:
    """Form keys, called elements and decision ids used by a process → the ids of the elements using them."""
    if a.kind != "process":
        return {}
    root = parse_xml(a.content.encode(), a.filename)
    out: dict[str, list[str]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        used = [el.get("calledElement") or ""]
        used += [p.get("value") or "" for p in el.findall(
            "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='formKey']", NS)]
        decisions = el.findall("bpmn:extensionElements/spiffworkflow:calledDecisionId", NS)
        used += [(d.text or "").strip() for d in decisions]
        for key in filter(None, used):
            out.setdefault(key, []).append(el.get("id") or "")
    return out


def attach_to_elements(a: Artefact, problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolution problems name the missing key; point them at the element that uses it, once per key."""
    refs = references(a)
    out: list[dict[str, Any]] = []
    seen: dict[tuple[Any, Any], dict[str, Any]] = {}
    for p in problems:
        key = p.get("element")
        if key in refs and refs[key][0] != key:
            p = {**p, "element": refs[key][0], "ref": key}
        group = (p.get("element"), p.get("message", "").split(" is not available to force ")[0])
        if group in seen and " is not available to force " in p.get("message", ""):
            seen[group]["others"] = seen[group].get("others", 0) + 1
            continue
        seen[group] = p
        out.append(p)
    for p in out:
        if p.pop("others", 0):
            p["message"] += " (and for other forces too)"
    return out
