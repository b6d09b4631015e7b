"""What the designer shows about deployed definitions: the catalogue (versions per scope, which forces
resolve to which version, running instances), an override's base and drift, and a change's impact."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .catalog import COMMON, DbLookup, force_chain
from .deploy import affected_forces
from .design_models import Draft
from .diff import Change, diff
from .models import OPEN_STATUSES, Definition, Force, Instance


@dataclass
class VersionInfo:
    """One deployed version, with how many open instances pin it."""

    id: int
    version: int
    deployed_at: dt.datetime
    deployed_by: str | None
    running: int = 0


@dataclass
class CatalogueEntry:
    """One artefact across scopes."""

    kind: str
    key: str
    name: str
    versions: dict[str, list[VersionInfo]] = field(default_factory=dict)  # scope → newest first
    resolution: dict[str, tuple[str, int]] = field(default_factory=dict)  # force → (scope, version)
    drift: dict[str, bool] = field(default_factory=dict)  # override scope → common changed since


def running_counts(session: Session) -> Counter[int]:
    """Open instances per pinned definition id (every artefact of each instance's bundle)."""
    counts: Counter[int] = Counter()
    query = select(Instance.bundle).where(Instance.status.in_(OPEN_STATUSES))
    for bundle in session.execute(query).scalars():
        counts.update({t["id"] for t in bundle or [] if t.get("id")})
    return counts


def catalogue(session: Session) -> list[CatalogueEntry]:
    """Every process, decision and form with versions per scope, resolution per force and drift flags."""
    rows = session.execute(select(Definition.id, Definition.kind, Definition.key, Definition.scope,
                                  Definition.version, Definition.deployed_at, Definition.deployed_by,
                                  Definition.name).order_by(Definition.version.desc())).all()
    running = running_counts(session)
    entries: dict[tuple[str, str], CatalogueEntry] = {}
    for r in rows:
        entry = entries.setdefault((r.kind, r.key), CatalogueEntry(r.kind, r.key, r.name or r.key))
        entry.versions.setdefault(r.scope, []).append(
            VersionInfo(r.id, r.version, r.deployed_at, r.deployed_by, running.get(r.id, 0)))
    chains = {f: force_chain(session, f) for f in session.execute(select(Force.code)).scalars()}
    for entry in entries.values():
        for force, chain in sorted(chains.items()):
            scope = next((s for s in chain if s in entry.versions), None)
            if scope is not None:
                entry.resolution[force] = (scope, entry.versions[scope][0].version)
        for scope, versions in entry.versions.items():
            if scope != COMMON:
                entry.drift[scope] = has_drifted(session, session.get(Definition, versions[0].id))
    return sorted(entries.values(), key=lambda e: ({"process": 0, "decision": 1, "form": 2}[e.kind], e.key))


# --- override bases and drift ------------------------------------------------------------------


def parent_chain(session: Session, scope: str) -> list[str]:
    """The scopes above ``scope`` (empty for common)."""
    return [] if scope == COMMON else force_chain(session, scope)[1:]


def parent_base(session: Session, definition: Definition) -> Definition | None:
    """The parent-scope version a force override was made from.

    Known exactly when it was published from a draft; otherwise (deployed from files) taken as the
    newest parent version deployed before the override was."""
    seen: set[int] = set()
    current: Definition | None = definition
    while current is not None and current.id not in seen:
        seen.add(current.id)
        draft = session.execute(select(Draft).where(Draft.published_definition_id == current.id)
                                .order_by(Draft.id.desc()).limit(1)).scalar_one_or_none()
        base = session.get(Definition, draft.based_on_id) if draft and draft.based_on_id else None
        if base is None:
            break
        if base.scope != definition.scope:
            return base
        current = base
    return _parent_at(session, definition.kind, definition.key, definition.scope, definition.deployed_at)


def _parent_at(session: Session, kind: str, key: str, scope: str, when: dt.datetime) -> Definition | None:
    for parent in parent_chain(session, scope):
        found = session.execute(select(Definition).where(
            Definition.kind == kind, Definition.key == key, Definition.scope == parent,
            Definition.deployed_at <= when).order_by(Definition.version.desc()).limit(1)).scalar_one_or_none()
        if found is not None:
            return found
    return None


def draft_base(session: Session, draft: Draft) -> Definition | None:
    """The parent-scope version a force draft is based on (None for common drafts)."""
    if draft.scope == COMMON or draft.based_on_id is None:
        return None
    base = session.get(Definition, draft.based_on_id)
    if base is None or base.scope != draft.scope:
        return base
    return parent_base(session, base)


@dataclass
class Drift:
    """An override against its base, and what changed in the parent scopes since the base."""

    base: Definition | None
    current: Definition | None
    override_changes: list[Change]
    drift_changes: list[Change]

    @property
    def drifted(self) -> bool:
        return self.base is not None and self.current is not None and self.base.id != self.current.id


def parent_current(session: Session, kind: str, key: str, scope: str) -> Definition | None:
    """What the parent scopes of ``scope`` resolve ``(kind, key)`` to now."""
    chain = parent_chain(session, scope)
    found = DbLookup(session).find(kind, key, chain) if chain else None
    return session.get(Definition, found.definition_id) if found and found.definition_id else None


def has_drifted(session: Session, override: Definition | None) -> bool:
    """True when the parent scopes changed ``override``'s artefact after the override was made."""
    if override is None or override.scope == COMMON:
        return False
    base = parent_base(session, override)
    current = parent_current(session, override.kind, override.key, override.scope)
    return base is not None and current is not None and base.id != current.id


def drift_of(session: Session, override: Definition | Draft) -> Drift:
    """Diff of an override (deployed or draft) against its base, and of its base against the parent now."""
    base = draft_base(session, override) if isinstance(override, Draft) else parent_base(session, override)
    current = parent_current(session, override.kind, override.key, override.scope)
    changes = diff(override.kind, base.content, override.content) if base is not None else []
    drift = diff(override.kind, base.content, current.content) if base and current and base.id != current.id \
        else []
    return Drift(base, current, changes, drift)


# --- impact of publishing --------------------------------------------------------------------


@dataclass
class ForceImpact:
    """What publishing into a scope means for one force."""

    force: str
    resolves_now: tuple[str, int] | None
    gets_change: bool
    overridden_in: str | None


@dataclass
class Impact:
    """Which forces get a change, which override it, and running instances per version per force."""

    kind: str
    key: str
    scope: str
    forces: list[ForceImpact]
    running: list[dict[str, Any]]


def impact(session: Session, kind: str, key: str, scope: str) -> Impact:
    """The effect of a new version of ``(kind, key)`` in ``scope``."""
    out = []
    lookup = DbLookup(session)
    for force in affected_forces(session, scope):
        chain = force_chain(session, force)
        found = lookup.find(kind, key, chain)
        nearer = found is not None and chain.index(found.scope) < chain.index(scope)
        out.append(ForceImpact(force, (found.scope, found.version) if found else None, not nearer,
                               found.scope if nearer and found else None))
    counts: Counter[tuple[str, str, int]] = Counter()
    instances = session.execute(select(Instance.force_code, Instance.bundle)
                                .where(Instance.status.in_(OPEN_STATUSES))).all()
    for force, bundle in instances:
        for t in bundle or []:
            if t.get("kind") == kind and t.get("key") == key:
                counts[(force, t["scope"], t["version"])] += 1
    running = [{"force": f, "scope": s, "version": v, "count": n} for (f, s, v), n in sorted(counts.items())]
    return Impact(kind, key, scope, out, running)
