"""Dashboard figures: open work per process and step, overdue counts and median cycle times, for one force
and for every force side by side. Aggregates only — no case data leaves this module.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .calendar import utcnow
from .models import Definition, Force, Instance, WorkItem

WINDOW_DAYS = 30


@dataclass(frozen=True)
class StepFigures:
    """Open work items at one step of one process in one force."""

    process_key: str
    step: str
    open: int
    overdue: int


@dataclass
class ProcessFigures:
    """One process in one force: open items, overdue items and cycle times over the window."""

    process_key: str
    open: int = 0
    overdue: int = 0
    completed: int = 0
    median_hours: float | None = None


@dataclass
class ForceFigures:
    """One force's figures, per process."""

    code: str
    name: str
    processes: dict[str, ProcessFigures] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return sum(p.open for p in self.processes.values())

    @property
    def overdue(self) -> int:
        return sum(p.overdue for p in self.processes.values())

    def process(self, key: str) -> ProcessFigures:
        """The figures of ``key`` (zeros when the force has none)."""
        return self.processes.get(key) or ProcessFigures(key)


@dataclass(frozen=True)
class Dashboard:
    """What the force dashboard shows: the own force's steps and every force's process figures."""

    force: str
    steps: list[StepFigures]
    forces: list[ForceFigures]
    process_names: dict[str, str]
    window_days: int = WINDOW_DAYS

    @property
    def own(self) -> ForceFigures:
        return next(f for f in self.forces if f.code == self.force)

    @property
    def process_keys(self) -> list[str]:
        keys = {k for f in self.forces for k in f.processes}
        return sorted(keys, key=lambda k: self.process_names.get(k, k))


def open_steps(session: Session, force: str, now: dt.datetime) -> list[StepFigures]:
    """Open work items of ``force`` grouped by process and step title, busiest first."""
    overdue = _overdue(now)
    rows = session.execute(
        select(WorkItem.process_key, WorkItem.title, func.count(WorkItem.id), overdue)
        .where(WorkItem.force_code == force, WorkItem.status == "open")
        .group_by(WorkItem.process_key, WorkItem.title))
    steps = [StepFigures(key, title, int(count), int(late or 0)) for key, title, count, late in rows]
    return sorted(steps, key=lambda s: (-s.open, s.process_key, s.step))


def force_figures(session: Session, now: dt.datetime, window_days: int = WINDOW_DAYS) -> list[ForceFigures]:
    """Every active force's open, overdue and median cycle time (hours) per process, ordered by code."""
    forces = {f.code: ForceFigures(f.code, f.name) for f in session.execute(
        select(Force).where(Force.active.is_(True)).order_by(Force.code)).scalars()}
    overdue = _overdue(now)
    for code, key, count, late in session.execute(
            select(WorkItem.force_code, WorkItem.process_key, func.count(WorkItem.id), overdue)
            .where(WorkItem.status == "open").group_by(WorkItem.force_code, WorkItem.process_key)):
        if code in forces:
            figures = forces[code].processes.setdefault(key, ProcessFigures(key))
            figures.open, figures.overdue = int(count), int(late or 0)
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    since = now - dt.timedelta(days=window_days)
    for code, key, started, completed in session.execute(
            select(Instance.force_code, Instance.process_key, Instance.started_at, Instance.completed_at)
            .where(Instance.status == "completed", Instance.completed_at >= since)):
        if completed is not None and started is not None:
            durations[(code, key)].append((completed - started).total_seconds() / 3600)
    for (code, key), hours in durations.items():
        if code in forces:
            figures = forces[code].processes.setdefault(key, ProcessFigures(key))
            figures.completed, figures.median_hours = len(hours), statistics.median(hours)
    return list(forces.values())


def process_names(session: Session) -> dict[str, str]:
    """The display name of every deployed process key (its newest version's name)."""
    names: dict[str, str] = {}
    for key, name in session.execute(select(Definition.key, Definition.name).where(
            Definition.kind == "process").order_by(Definition.version)):
        names[key] = name or key.replace("_", " ").capitalize()
    return names


def dashboard(session: Session, force: str, now: dt.datetime | None = None) -> Dashboard:
    """The force dashboard of ``force`` (the caller checks the user may see it)."""
    now = now or utcnow()
    return Dashboard(force, open_steps(session, force, now), force_figures(session, now),
                     process_names(session))


def _overdue(now: dt.datetime) -> Any:
    return func.sum(case((WorkItem.due_at < now, 1), else_=0))
