"""The inbox at ``/``: filters, sort, counts and badges; claim and unclaim."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import casework, reports, workitems
from engine.calendar import utcnow
from engine.models import Instance, User, WorkItem

from ..auth import login_required
from ..auth.guards import safe_next
from ..extensions import unit_of_work
from ..requests.display import due_state
from . import bp

SCOPES = {"all": "Mine and my teams'", "mine": "Assigned to me", "group": "My teams' (to claim)"}
DUES = {"": "Any time", "overdue": "Overdue", "soon": "Due in the next 2 days"}
SORTS = {"due": "Due date", "priority": "Priority", "age": "Oldest first"}


@dataclass(frozen=True)
class Row:
    """One inbox line."""

    item: WorkItem
    instance: Instance | None
    requester: User | None
    holder: str
    due: str | None
    mine: bool


@dataclass(frozen=True)
class Counts:
    """The figures above the inbox (before filtering)."""

    total: int
    mine: int
    group: int
    overdue: int
    soon: int


def inbox_filter(args: Mapping[str, str]) -> workitems.InboxFilter:
    """The filter from the query string; unknown values fall back to the defaults."""
    scope = args.get("scope", "all")
    due = args.get("due") or None
    sort = args.get("sort", "due")
    return workitems.InboxFilter(scope=scope if scope in SCOPES else "all",
                                 process=args.get("process") or None,
                                 due=due if due in DUES else None, sort=sort if sort in SORTS else "due")


@bp.get("/")
@login_required
def index() -> str:
    """My work items and my teams' claimable ones."""
    flt, now = inbox_filter(request.args), utcnow()
    with unit_of_work(read_only=True) as db:
        everything = workitems.inbox(db, user=g.user, now=now)
        shown = workitems.inbox(db, user=g.user, flt=flt, now=now)
        instances = casework.instances_by_id(db, {i.instance_id for i in everything})
        people = casework.users_by_id(db, [i.started_by_id for i in instances.values()]
                                      + [w.assignee_id for w in shown] + [w.candidate_user_id for w in shown])
        names = reports.process_names(db)
    rows = [row(item, instances, people, now) for item in shown]
    processes = {key: names.get(key, key) for key in sorted({i.process_key for i in everything})}
    return render_template("inbox/index.html", rows=rows, counts=counts(everything, now), flt=flt,
                           processes=processes, scopes=SCOPES, dues=DUES, sorts=SORTS, names=names)


def row(item: WorkItem, instances: Mapping[int, Instance], people: Mapping[int, User],
        now: dt.datetime) -> Row:
    """An inbox line for ``item``."""
    inst = instances.get(item.instance_id)
    requester = people.get(inst.started_by_id) if inst is not None else None
    return Row(item, inst, requester, casework.holder_text(item, dict(people)), due_state(item.due_at, now),
               item.assignee_id == g.user.id)


def counts(items: list[WorkItem], now: dt.datetime) -> Counts:
    """Totals by kind and due state."""
    states = [due_state(i.due_at, now) for i in items]
    group = sum(1 for i in items if i.assignee_id is None and i.candidate_user_id is None)
    return Counts(len(items), len(items) - group, group, states.count("overdue"), states.count("soon"))


@bp.post("/inbox/items/<int:item_id>/claim")
@login_required
def claim(item_id: int) -> Response:
    """Take a team item, then go back where the button was."""
    with unit_of_work() as db:
        item = workitems.claim(db, user=g.user, item_id=item_id)
    flash(f"You have claimed “{item.title}”.")
    return back()


@bp.post("/inbox/items/<int:item_id>/unclaim")
@login_required
def unclaim(item_id: int) -> Response:
    """Give a claimed item back to the team."""
    with unit_of_work() as db:
        item = workitems.unclaim(db, user=g.user, item_id=item_id)
    flash(f"“{item.title}” is back with the team.")
    return back()


def back() -> Response:
    """To the page the button was on (``next``, a path on this site), else the inbox."""
    target = request.form.get("next")
    return redirect(safe_next(target) if target else url_for("inbox.index"))
