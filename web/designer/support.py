"""Small helpers shared by the designer's views."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, g

from engine.errors import NotAllowedError

REPO = Path(__file__).resolve().parents[2]


def scenarios_root() -> Path:
    """Where scenario folders are read from: ``DESIGNER_REPO`` in the config, else this repository."""
    return Path(current_app.config.get("DESIGNER_REPO") or REPO)


def require_designer() -> None:
    """Refuse users without process_designer anywhere."""
    if not any(grant.role == "process_designer" for grant in g.user.roles):
        raise NotAllowedError("Only process designers can change drafts.")


def problem_rows(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Problems ready for the template and the diagram markers (element may be missing)."""
    return [{"element": p.get("element") or "", "line": p.get("line"), "message": p.get("message", ""),
             "file": p.get("file", "")} for p in problems]


def design_scopes(forces: list[str]) -> list[str]:
    """The scopes the signed-in user may draft for: common plus forces where they hold process_designer."""
    held = {grant.force_code for grant in g.user.roles if grant.role == "process_designer"}
    return (["common"] if held else []) + [f for f in forces if f in held]
