"""Demo seeding: forces, org units, users (fictional people) and every definition in the repository.

Idempotent: what exists already is left alone; definitions redeploy as no-ops when unchanged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import instances, org
from .artefacts import collect_files
from .deploy import DeployedItem, deploy
from .models import Force, Instance, OrgUnit, User

DEMO_PASSWORD = "muster-demo"


@dataclass
class SeedReport:
    """What seeding created."""

    forces: int = 0
    org_units: int = 0
    users: int = 0
    requests: int = 0
    deployed: list[DeployedItem] = field(default_factory=list)


def seed_demo(session: Session, repo: Path, *, password: str = DEMO_PASSWORD) -> SeedReport:
    """Load demo/seed.json and deploy processes/ and forms/ (common first, then each force)."""
    data = json.loads((repo / "demo" / "seed.json").read_text())
    report = SeedReport()
    for f in data["forces"]:
        if session.get(Force, f["code"]) is None:
            org.add_force(session, f["code"], f["name"], parent=f.get("parent"), params=f.get("params"))
            report.forces += 1
    session.flush()
    units = {}
    for force, tree in data.get("org_units", {}).items():
        units.update(_add_units(session, force, tree, None, "", report))
    for u in _manager_order(data["users"]):
        if session.execute(select(User.id).where(User.username == u["username"])).first():
            continue
        org.add_user(session, u["username"], u["force"], u["full_name"], roles=u.get("roles", ()),
                     manager=u.get("manager"), password=password, email=u.get("email"),
                     org_unit_id=units.get((u["force"], u.get("org_unit", ""))),
                     attributes=u.get("attributes"), cross_force_roles=[
                         (c["role"], c["force"]) for c in u.get("cross_force_roles", [])])
        report.users += 1
        session.flush()
    report.deployed += deploy_repo(session, repo, deployed_by="seed-demo")
    session.flush()
    report.requests = _demo_requests(session, repo, data.get("requests", []))
    return report


def _demo_requests(session: Session, repo: Path, requests: list[dict[str, Any]]) -> int:
    """Start the demo's example requests (once: only into an empty instance table), so a newcomer's first
    screen has work in it. Start data comes from the processes' own scenario files."""
    if session.execute(select(Instance.id).limit(1)).first() is not None:
        return 0
    for r in requests:
        user = org.get_user_by_username(session, r["as"])
        start = json.loads((repo / r["start_from"]).read_text())["start"]
        instances.start_instance(session, user=user, process_key=r["process"], data=start)
    return len(requests)


def deploy_repo(session: Session, repo: Path, deployed_by: str | None = None) -> list[DeployedItem]:
    """Deploy common definitions, then each force folder whose force exists (parents before children)."""
    out = deploy(session, collect_files([repo / "processes" / "common", repo / "forms" / "common"]),
                 "common", deployed_by)
    forces = {f.code: f for f in session.execute(select(Force)).scalars()}
    for code in _parent_first(forces):
        paths = [p for p in (repo / "processes" / "forces" / code, repo / "forms" / "forces" / code) if p.is_dir()]
        if paths:
            out += deploy(session, collect_files(paths), code, deployed_by)
    return out


def _parent_first(forces: dict[str, Force]) -> list[str]:
    def depth(code: str) -> int:
        n, c = 0, forces[code].parent_code
        while c and n < 50:
            n, c = n + 1, forces[c].parent_code if c in forces else None
        return n
    return sorted(forces, key=lambda c: (depth(c), c))


def _add_units(session: Session, force: str, tree: list[Any], parent: int | None, prefix: str,
               report: SeedReport) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for node in tree:
        name = node["name"] if isinstance(node, dict) else str(node)
        path = f"{prefix}/{name}" if prefix else name
        existing = session.execute(select(OrgUnit).where(
            OrgUnit.force_code == force, OrgUnit.name == name,
            OrgUnit.parent_id.is_(None) if parent is None else OrgUnit.parent_id == parent)).scalar_one_or_none()
        unit = existing or org.add_org_unit(session, force, name, parent_id=parent)
        if existing is None:
            report.org_units += 1
        session.flush()
        out[(force, path)] = unit.id
        if isinstance(node, dict):
            out.update(_add_units(session, force, node.get("children", []), unit.id, path, report))
    return out


def _manager_order(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Users ordered so that each line manager is created before their reports."""
    by_name = {u["username"]: u for u in users}
    done: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(u: dict[str, Any], trail: tuple[str, ...] = ()) -> None:
        if u["username"] in seen or u["username"] in trail:
            return
        mgr = by_name.get(u.get("manager") or "")
        if mgr is not None:
            visit(mgr, trail + (u["username"],))
        seen.add(u["username"])
        done.append(u)

    for u in users:
        visit(u)
    return done
