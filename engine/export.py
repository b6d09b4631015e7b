"""Writing deployed definitions back as files in the repository layout (``muster export DIR``).

processes/common/<process>/<file>, processes/forces/<FORCE>/<process>/<file>, forms/common/<key>.json,
forms/forces/<FORCE>/<key>.json. A called process or decision goes into the folder of the startable
process that uses it (the first by name when several do).
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .catalog import COMMON
from .errors import NotFoundError
from .models import Definition


def latest_definitions(session: Session) -> list[Definition]:
    """The newest version of every (kind, key, scope)."""
    rows = session.execute(select(Definition).order_by(Definition.kind, Definition.key, Definition.scope,
                                                       Definition.version.desc())).scalars()
    out: dict[tuple[str, str, str], Definition] = {}
    for d in rows:
        out.setdefault((d.kind, d.key, d.scope), d)
    return list(out.values())


def owner_folders(definitions: list[Definition]) -> dict[tuple[str, str], str]:
    """(kind, key) of every process and decision → the folder (startable process key) it lives in."""
    uses: dict[str, set[tuple[str, str]]] = {}
    for d in definitions:
        if d.kind == "process":
            refs = uses.setdefault(d.key, set())
            refs.update(("process", k) for k in d.meta.get("called_elements", []))
            refs.update(("decision", k) for k in d.meta.get("decisions", []))
    mains = sorted(d.key for d in definitions if d.kind == "process" and d.filename == "process.bpmn")
    folders: dict[tuple[str, str], str] = {}
    for main in mains:
        folders[("process", main)] = main
        todo, seen = [("process", main)], set()
        while todo:
            item = todo.pop()
            if item in seen:
                continue
            seen.add(item)
            folders.setdefault(item, main)
            if item[0] == "process":
                todo.extend(uses.get(item[1], ()))
    return folders


def export_path(d: Definition, folders: dict[tuple[str, str], str]) -> Path:
    """Where ``d`` goes, relative to the export root."""
    scope_part = Path("common") if d.scope == COMMON else Path("forces") / d.scope
    if d.kind == "form":
        return Path("forms") / scope_part / f"{d.key}.json"
    return Path("processes") / scope_part / folders.get((d.kind, d.key), d.key) / d.filename


def export_definitions(session: Session, target: Path) -> list[Path]:
    """Write the newest deployed version of every artefact under ``target``; return the files written."""
    definitions = latest_definitions(session)
    folders = owner_folders(definitions)
    written = []
    for d in definitions:
        path = target / export_path(d, folders)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(d.content, encoding="utf-8")
        written.append(path)
    return sorted(written)


def download(session: Session, definition_id: int) -> tuple[str, str]:
    """(file name, content) of one deployed version, for download."""
    d = session.get(Definition, definition_id)
    if d is None:
        raise NotFoundError("No such version.")
    stem, dot, ext = d.filename.rpartition(".")
    name = f"{stem or d.key}.{d.scope}.v{d.version}.{ext}" if dot else f"{d.filename}.{d.scope}.v{d.version}"
    return name, d.content
