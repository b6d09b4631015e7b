"""Turning a drift report into what the diff page shows: change lists and diagram markers."""
from __future__ import annotations

from typing import Any

from engine.design_catalog import Drift
from engine.diff import Change


def markers(changes: list[Change]) -> dict[str, str]:
    """Element id → added / changed / removed, for bpmn-js markers."""
    return {c.element: c.change for c in changes}


def diff_context(kind: str, content: str, report: Drift) -> dict[str, Any]:
    """Template context: the override's changes against its base, and what changed upstream since."""
    return {
        "kind": kind,
        "base": report.base,
        "current": report.current,
        "changes": report.override_changes,
        "drift": report.drift_changes,
        "drifted": report.drifted,
        "diagram": {"kind": kind, "xml": content if kind == "process" else "",
                    "markers": markers(report.override_changes),
                    "drift_xml": report.current.content if report.current and kind == "process" else "",
                    "drift_markers": markers(report.drift_changes)},
    }
