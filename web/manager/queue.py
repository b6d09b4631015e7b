"""The team queue: approvals for me and for the people I manage, overdue first; approve or reject one with a
comment, or bulk-approve the selected ones (each completed, checked and audited on its own)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import casework, reports, team, workitems
from engine.errors import MusterError, NotFoundError

from ..auth import login_required
from ..errors import status_for
from ..extensions import unit_of_work
from . import bp
from .decisions import decision_data, quick_options

Page = str | tuple[str, int]
BULK_LIMIT = 100
NO_APPROVE = "This item has no approve option: open it to decide."


@dataclass(frozen=True)
class Outcome:
    """How one item of a bulk approval went."""

    item_id: int
    title: str
    reference: str
    ok: bool
    message: str


def messages(error: MusterError) -> list[str]:
    """An engine error as lines a manager can act on (field messages when there are any)."""
    if isinstance(error.details, Mapping):
        found = [str(m) for msgs in error.details.values() if isinstance(msgs, list | tuple) for m in msgs]
        if found:
            return found
    return [error.message]


def render_queue(errors: Mapping[int, list[str]] | None = None, comments: Mapping[int, str] | None = None,
                 outcomes: list[Outcome] | None = None, status: int = 200) -> Page:
    """The queue page, with per-item errors and kept comments, or the results of a bulk approval."""
    with unit_of_work(read_only=True) as db:
        entries = team.team_queue(db, user=g.user)
        quick = {e.item.id: quick_options(workitems.form_for(db, e.item)) for e in entries}
        people = casework.users_by_id(db, [e.item.assignee_id or e.item.candidate_user_id for e in entries])
        names = reports.process_names(db)
    holders = {e.item.id: casework.holder_text(e.item, people) for e in entries}
    html = render_template("manager/queue.html", entries=entries, quick=quick, holders=holders, names=names,
                           errors=errors or {}, comments=comments or {}, outcomes=outcomes,
                           can_reassign={e.item.id: team.can_reassign(g.user, e.item) for e in entries})
    return (html, status) if status != 200 else html


@bp.get("/")
@login_required
def queue() -> Page:
    """Pending approvals, overdue first."""
    return render_queue()


@bp.post("/items/<int:item_id>/decide")
@login_required
def decide(item_id: int) -> Page | Response:
    """Approve or reject one item with a comment; problems come back on the queue next to the item."""
    decision, comment = request.form.get("decision", ""), request.form.get("comment", "")
    try:
        with unit_of_work() as db:
            done = workitems.complete(db, user=g.user, item_id=item_id, data=decision_data(decision, comment))
    except NotFoundError:
        raise
    except MusterError as exc:
        return render_queue({item_id: messages(exc)}, {item_id: comment}, status=status_for(exc))
    verb = "rejected" if decision in ("reject", "refuse", "decline") else "approved"
    flash(f"{done.instance.reference}: “{done.item.title}” {verb}.")
    return redirect(url_for("manager.queue"))


@bp.post("/bulk-approve")
@login_required
def bulk_approve() -> Page:
    """Approve each selected item separately; report every one, successes and failures."""
    ids = [int(v) for v in request.form.getlist("item_id") if v.isdigit()][:BULK_LIMIT]
    if not ids:
        return render_queue(outcomes=[], status=422)
    with unit_of_work(read_only=True) as db:  # another force's id is never acknowledged: 404 for all
        items = {i: workitems.get_work_item(db, user=g.user, item_id=i) for i in dict.fromkeys(ids)}
        found = casework.instances_by_id(db, {w.instance_id for w in items.values()})
    refs = {key: inst.reference for key, inst in found.items()}
    outcomes = [approve_one(i, item.title, refs.get(item.instance_id, "")) for i, item in items.items()]
    return render_queue(outcomes=outcomes)


def approve_one(item_id: int, title: str, reference: str) -> Outcome:
    """Complete one item with its form's approve decision, in its own transaction."""
    try:
        with unit_of_work() as db:
            item = workitems.get_work_item(db, user=g.user, item_id=item_id)
            approve = quick_options(workitems.form_for(db, item)).approve
            if approve is None:
                return Outcome(item_id, title, reference, False, NO_APPROVE)
            workitems.complete(db, user=g.user, item_id=item_id, data={"decision": approve[0]})
    except MusterError as exc:
        return Outcome(item_id, title, reference, False, " ".join(messages(exc)))
    return Outcome(item_id, title, reference, True, "Approved")
