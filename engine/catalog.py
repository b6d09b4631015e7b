"""Deployed definitions and per-force override resolution (force → parents → common, nearest wins)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import runtime
from .org.forces import force_chain as org_force_chain
from .errors import DefinitionError, NotFoundError
from .models import Definition

COMMON = "common"


def force_chain(session: Session, force_code: str) -> list[str]:
    """Scopes searched for ``force_code``, nearest first, ending with 'common'."""
    return org_force_chain(session, force_code) + [COMMON]


class Lookup(Protocol):
    """Something that finds the artefact of (kind, key) nearest along a chain of scopes."""

    def find(self, kind: str, key: str, chain: list[str]) -> "Resolved | None": ...


@dataclass(frozen=True)
class Resolved:
    """One resolved artefact: where it came from and its content."""

    kind: str
    key: str
    scope: str
    version: int
    definition_id: int | None
    filename: str
    content: str
    meta: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def trace(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "scope": self.scope, "version": self.version,
                "id": self.definition_id, "hash": self.content_hash}


class DbLookup:
    """Finds the latest deployed version per scope in the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, kind: str, key: str, chain: list[str]) -> Resolved | None:
        rows = self.session.execute(
            select(Definition).where(Definition.kind == kind, Definition.key == key,
                                     Definition.scope.in_(chain))
            .order_by(Definition.version.desc())
        ).scalars().all()
        best: Definition | None = None
        for row in rows:
            if best is None or chain.index(row.scope) < chain.index(best.scope):
                best = row
        if best is None:
            return None
        return Resolved(best.kind, best.key, best.scope, best.version, best.id, best.filename, best.content,
                        best.meta)


@dataclass
class Bundle:
    """Everything one instance of a process needs, resolved for one force."""

    force: str
    process_key: str
    items: list[Resolved]
    problems: list[dict[str, Any]]

    def get(self, kind: str, key: str) -> Resolved | None:
        for item in self.items:
            if item.kind == kind and item.key == key:
                return item
        return None

    @property
    def trace(self) -> list[dict[str, Any]]:
        return [i.trace() for i in self.items]

    @property
    def cache_key(self) -> tuple[Any, ...]:
        return spec_cache_key([i.trace() for i in self.items])

    def parsed(self) -> runtime.ParsedBundle:
        docs = [runtime.SourceDoc(i.kind, i.filename, i.content) for i in self.items if i.kind != "form"]
        return runtime.parsed_bundle(self.cache_key, self.process_key, lambda: docs)


def spec_cache_key(trace: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Cache key of the parsed specs of a bundle: its process and decision versions (forms excluded)."""
    return tuple(sorted((t["kind"], t["key"], t["scope"], t["version"], t["id"] or -1, t.get("hash", ""))
                        for t in trace if t["kind"] != "form"))


def resolve_bundle(lookup: Lookup, force: str, chain: list[str], process_key: str) -> Bundle:
    """Resolve a process and, transitively, its called processes, decisions and forms."""
    top = lookup.find("process", process_key, chain)
    if top is None:
        raise NotFoundError(f"No process '{process_key}' is available to force {force}.")
    items: list[Resolved] = []
    problems: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    todo: list[Resolved] = [top]
    while todo:
        item = todo.pop(0)
        if (item.kind, item.key) in seen:
            continue
        seen.add((item.kind, item.key))
        items.append(item)
        if item.kind != "process":
            continue
        wanted = [("process", k) for k in item.meta.get("called_elements", [])] + \
                 [("decision", k) for k in item.meta.get("decisions", [])] + \
                 [("form", k) for k in item.meta.get("forms", [])]
        for kind, key in wanted:
            if (kind, key) in seen:
                continue
            found = lookup.find(kind, key, chain)
            if found is None:
                what = {"process": "called process", "decision": "decision", "form": "form"}[kind]
                problems.append({"file": item.filename, "element": key, "line": None,
                                 "message": f"{what} '{key}' is not available to force {force} "
                                            f"(looked in {', '.join(chain)})"})
            else:
                todo.append(found)
    return Bundle(force, process_key, items, problems)


Signature = dict[tuple[str, str], tuple[int, str]]  # (kind, key) -> (definition id, content hash)
_bundles: dict[tuple[tuple[str, ...], str], tuple[Bundle, Signature]] = {}
BUNDLE_CACHE_SIZE = 512


def bundle_for(session: Session, force: str, process_key: str) -> Bundle:
    """The bundle an instance started now in ``force`` would pin; DefinitionError if incomplete.

    Resolved bundles are cached per (force chain, process). A cached bundle is reused only after one narrow
    query (ids and hashes, no content) shows that every artefact in it still resolves to the same deployed
    version; definitions are immutable, so the same versions mean the same called processes, decisions and
    forms. Anything else (a new version, a new override) resolves afresh."""
    chain = force_chain(session, force)
    key = (tuple(chain), process_key)
    cached = _bundles.get(key)
    if cached is not None and _signature(session, chain, set(cached[1])) == cached[1]:
        return cached[0]
    bundle = resolve_bundle(DbLookup(session), force, chain, process_key)
    if bundle.problems:
        raise DefinitionError("; ".join(p["message"] for p in bundle.problems), details=bundle.problems)
    if len(_bundles) >= BUNDLE_CACHE_SIZE:
        _bundles.clear()
    _bundles[key] = (bundle, _signature(session, chain, {(i.kind, i.key) for i in bundle.items}))
    return bundle


def _signature(session: Session, chain: list[str], wanted: set[tuple[str, str]]) -> Signature:
    """What each (kind, key) in ``wanted`` resolves to along ``chain`` now: nearest scope, newest version."""
    rows = session.execute(
        select(Definition.id, Definition.kind, Definition.key, Definition.scope, Definition.content_hash)
        .where(Definition.key.in_({k for _, k in wanted}), Definition.scope.in_(chain))
        .order_by(Definition.version.desc())).all()
    best: dict[tuple[str, str], tuple[int, int, str]] = {}  # -> (chain index, id, hash)
    for row in rows:
        pair = (row.kind, row.key)
        if pair in wanted and (pair not in best or chain.index(row.scope) < best[pair][0]):
            best[pair] = (chain.index(row.scope), row.id, row.content_hash)
    return {pair: (found[1], found[2]) for pair, found in best.items()}


def bundle_from_trace(session: Session, force: str, process_key: str, trace: list[dict[str, Any]]) -> Bundle:
    """Rebuild the pinned bundle of an instance from its resolution trace."""
    ids = [t["id"] for t in trace]
    rows = {d.id: d for d in session.execute(select(Definition).where(Definition.id.in_(ids))).scalars()}
    items = [Resolved(r.kind, r.key, r.scope, r.version, r.id, r.filename, r.content, r.meta)
             for r in (rows[i] for i in ids)]
    return Bundle(force, process_key, items, [])


def parsed_for_trace(session: Session, process_key: str, trace: list[dict[str, Any]]) -> runtime.ParsedBundle:
    """Cached parsed specs for an instance's pinned bundle; reads definition contents only on a cache miss."""
    key = spec_cache_key(trace)

    def docs() -> list[runtime.SourceDoc]:
        ids = [t["id"] for t in trace if t["kind"] != "form"]
        rows = session.execute(select(Definition).where(Definition.id.in_(ids))).scalars()
        return [runtime.SourceDoc(r.kind, r.filename, r.content) for r in rows]

    return runtime.parsed_bundle(key, process_key, docs)


_form_cache: dict[tuple[int, str], dict[str, Any]] = {}


def form_schema(session: Session, trace: list[dict[str, Any]], form_key: str) -> dict[str, Any] | None:
    """The JSON Schema of ``form_key`` as pinned in an instance's bundle (cached: versions are immutable)."""
    for t in trace:
        if t["kind"] == "form" and t["key"] == form_key:
            key = (t["id"], t.get("hash", ""))
            if key not in _form_cache:
                row = session.get(Definition, t["id"])
                if row is None:
                    return None
                _form_cache[key] = json.loads(row.content)
            return _form_cache[key]
    return None


def json_content(item: Resolved) -> dict[str, Any]:
    """The parsed JSON of a resolved form."""
    data: dict[str, Any] = json.loads(item.content)
    return data


def resolve_form(session: Session, force: str, form_key: str) -> dict[str, Any] | None:
    """The form ``form_key`` as force ``force`` sees it now (nearest scope wins)."""
    found = DbLookup(session).find("form", form_key, force_chain(session, force))
    return json.loads(found.content) if found else None


@dataclass(frozen=True)
class StartableProcess:
    """A process a force can start, after overrides."""

    key: str
    name: str
    scope: str
    version: int
    start_form: str | None


def startable_processes(session: Session, force: str) -> list[StartableProcess]:
    """Processes users of ``force`` can start, resolved through the override chain."""
    chain = force_chain(session, force)
    keys = session.execute(
        select(Definition.key).where(Definition.kind == "process", Definition.scope.in_(chain)).distinct()
    ).scalars().all()
    lookup = DbLookup(session)
    out = []
    for key in sorted(keys):
        found = lookup.find("process", key, chain)
        if found and found.meta.get("startable"):
            out.append(StartableProcess(key, (found.meta.get("title") or _name(session, found)), found.scope,
                                        found.version, found.meta.get("start_form")))
    return out


def _name(session: Session, r: Resolved) -> str:
    row = session.get(Definition, r.definition_id) if r.definition_id else None
    return (row.name if row and row.name else r.key.replace("_", " ").capitalize())


def list_definitions(session: Session) -> list[Definition]:
    """Every deployed version, newest first per (kind, key, scope)."""
    return list(session.execute(
        select(Definition).order_by(Definition.kind, Definition.key, Definition.scope, Definition.version.desc())
    ).scalars())


def latest_version(session: Session, kind: str, key: str, scope: str) -> Definition | None:
    """The newest version of one artefact in one scope."""
    return session.execute(
        select(Definition).where(Definition.kind == kind, Definition.key == key, Definition.scope == scope)
        .order_by(Definition.version.desc()).limit(1)
    ).scalar_one_or_none()


def next_version(session: Session, kind: str, key: str, scope: str) -> int:
    current = session.execute(
        select(func.max(Definition.version)).where(Definition.kind == kind, Definition.key == key,
                                                   Definition.scope == scope)
    ).scalar()
    return int(current or 0) + 1
