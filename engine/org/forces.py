"""Forces (tenants, with the parent chain used for overrides) and the org units inside each force."""
from __future__ import annotations

from types import EllipsisType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_pinned
from ..errors import NotFoundError
from ..models import Force, OrgUnit
from .validation import clean_force_code, clean_text, conflict, invalid

MAX_CHAIN = 32  # a sanity bound on the override chain; real chains are 2 or 3 long


def get_force(session: Session, code: str) -> Force:
    """The force ``code``; raises NotFoundError when there is none."""
    force = session.get(Force, code) if isinstance(code, str) else None
    if force is None:
        raise NotFoundError(f"There is no force {code!r}.", details={"force": code})
    return force


def list_forces(session: Session) -> list[Force]:
    """Every force, ordered by code."""
    return list(session.scalars(select(Force).order_by(Force.code)))


def known_force(session: Session, code: str) -> Force | None:
    """The force ``code`` or None, from one read of the whole (small) forces table per session.

    A command walks the override chain and reads force settings several times (resolution, due dates,
    notification templates); reading every force once is one statement instead of one per lookup.
    A force added in this session after that read is fetched on its own."""
    forces: dict[str, Force] | None = session.info.get(_FORCES_KEY)
    if forces is None:
        forces = {f.code: f for f in session.scalars(select(Force))}
        session.info[_FORCES_KEY] = forces
    if code not in forces:
        found = get_pinned(session, Force, code)
        if found is None:
            return None
        forces[code] = found
    return forces[code]


_FORCES_KEY = "muster_forces"


def force_chain(session: Session, code: str) -> list[str]:
    """``[code, parent, grandparent, …]``: the override resolution chain, nearest first."""
    chain: list[str] = []
    force: Force | None = known_force(session, code) if isinstance(code, str) else None
    if force is None:
        raise NotFoundError(f"There is no force {code!r}.", details={"force": code})
    while force is not None and force.code not in chain and len(chain) < MAX_CHAIN:
        chain.append(force.code)
        force = known_force(session, force.parent_code) if force.parent_code else None
    return chain


def add_force(
    session: Session, code: str, name: str, parent: str | None = None, params: dict[str, Any] | None = None
) -> Force:
    """Create a force. Raises InvalidInputError (bad code or name), ConflictError (code taken),
    NotFoundError (unknown parent)."""
    code = clean_force_code(code)
    name = clean_text(name, "name", "the force's name")
    if session.get(Force, code) is not None:
        raise conflict("code", f"A force with the code {code} already exists.")
    if parent:
        get_force(session, parent)
    force = Force(code=code, name=name, parent_code=parent or None, active=True, params=dict(params or {}))
    session.add(force)
    session.flush()
    return force


def update_force(
    session: Session,
    code: str,
    *,
    name: str | None = None,
    parent: str | None | EllipsisType = ...,
    active: bool | None = None,
    params: dict[str, Any] | None = None,
) -> Force:
    """Change a force's name, parent (``None`` removes it; ``...`` leaves it), active flag or params.

    Refuses a parent that would make the chain loop (InvalidInputError)."""
    force = get_force(session, code)
    if name is not None:
        force.name = clean_text(name, "name", "the force's name")
    if not isinstance(parent, EllipsisType):
        if parent:
            _check_no_cycle(session, force.code, parent)
        force.parent_code = parent or None
    if active is not None:
        force.active = bool(active)
    if params is not None:
        force.params = dict(params)
    session.flush()
    return force


def _check_no_cycle(session: Session, code: str, parent: str) -> None:
    if parent == code:
        raise invalid("parent", "A force cannot be its own parent.")
    if code in force_chain(session, parent):
        raise invalid("parent", f"{parent} is already below {code}; choosing it would make a loop.")


# --- org units ----------------------------------------------------------------------------


def add_org_unit(session: Session, force: str, name: str, parent_id: int | None = None) -> OrgUnit:
    """Add a unit (directorate, LPU, team) to ``force``, optionally under ``parent_id`` of the same force.

    Raises NotFoundError (unknown force or parent), ConflictError (same name under the same parent)."""
    get_force(session, force)
    name = clean_text(name, "name", "the unit's name")
    if parent_id is not None:
        get_org_unit(session, force, parent_id)
    same = select(OrgUnit.id).where(
        OrgUnit.force_code == force,
        OrgUnit.name == name,
        OrgUnit.parent_id.is_(None) if parent_id is None else OrgUnit.parent_id == parent_id,
    )
    if session.scalar(same) is not None:
        raise conflict("name", f"There is already a unit called {name} there.")
    unit = OrgUnit(force_code=force, name=name, parent_id=parent_id)
    session.add(unit)
    session.flush()
    return unit


def get_org_unit(session: Session, force: str, unit_id: int) -> OrgUnit:
    """The unit ``unit_id`` of ``force``; NotFoundError when missing or in another force."""
    unit = session.get(OrgUnit, unit_id) if isinstance(unit_id, int) else None
    if unit is None or unit.force_code != force:
        raise NotFoundError(f"There is no org unit {unit_id} in {force}.", details={"org_unit_id": unit_id})
    return unit


def list_org_units(session: Session, force: str) -> list[OrgUnit]:
    """The units of ``force``, ordered by name."""
    return list(session.scalars(select(OrgUnit).where(OrgUnit.force_code == force).order_by(OrgUnit.name)))


def org_unit_paths(session: Session, force: str) -> dict[int, str]:
    """``{unit id: "Northwich LPU › Response Team 2"}`` for every unit of ``force``, sorted by path."""
    units = {unit.id: unit for unit in list_org_units(session, force)}

    def path(unit: OrgUnit) -> str:
        names, seen = [unit.name], {unit.id}
        while unit.parent_id in units and unit.parent_id not in seen:
            unit = units[unit.parent_id]
            seen.add(unit.id)
            names.append(unit.name)
        return " › ".join(reversed(names))

    paths = {unit_id: path(unit) for unit_id, unit in units.items()}
    return dict(sorted(paths.items(), key=lambda item: item[1].lower()))
