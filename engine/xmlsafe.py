"""Hardened XML parsing for BPMN and DMN uploads: no DTD, no entities, size and depth caps.

Everything that reaches SpiffWorkflow's parser goes through ``parse_xml`` first.
"""
from __future__ import annotations

import re

from lxml import etree

from .errors import DefinitionError

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ELEMENTS = 20_000
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def problem(filename: str, message: str, *, element: str | None = None, line: int | None = None) -> dict[str, object]:
    """One definition problem as a plain dict (file, element id, line, message)."""
    return {"file": filename, "element": element, "line": line, "message": message}


def parse_xml(data: bytes, filename: str) -> etree._Element:
    """Parse untrusted XML; raise DefinitionError naming the file and line on anything unsafe or malformed."""
    if len(data) > MAX_BYTES:
        raise DefinitionError(
            f"{filename}: file is {len(data)} bytes; the limit is {MAX_BYTES} bytes",
            details=[problem(filename, f"file is {len(data)} bytes; the limit is {MAX_BYTES} bytes")],
        )
    match = _DOCTYPE.search(data)
    if match:
        line = data[: match.start()].count(b"\n") + 1
        msg = "DOCTYPE and ENTITY declarations are not allowed in BPMN or DMN files"
        raise DefinitionError(f"{filename}:{line}: {msg}", details=[problem(filename, msg, line=line)])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        err_line = exc.lineno if exc.lineno else None
        msg = f"not well-formed XML: {exc.msg}"
        raise DefinitionError(f"{filename}:{err_line}: {msg}",
                              details=[problem(filename, msg, line=err_line)]) from exc
    _check_shape(root, filename)
    return root


def _check_shape(root: etree._Element, filename: str) -> None:
    count: int = 0
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            msg = f"elements nested deeper than {MAX_DEPTH} levels"
            raise DefinitionError(f"{filename}:{node.sourceline}: {msg}",
                                  details=[problem(filename, msg, line=node.sourceline)])
        if count > MAX_ELEMENTS:
            msg = f"more than {MAX_ELEMENTS} XML elements"
            raise DefinitionError(f"{filename}: {msg}", details=[problem(filename, msg)])
        stack.extend((child, depth + 1) for child in node)
