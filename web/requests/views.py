"""My requests: the list, one request's status, current step, holder, history and diagram; withdraw."""
from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import casework, instances, reports
from engine.errors import InvalidInputError
from engine.models import OPEN_STATUSES
from engine.routing import roles_in

from ..auth import login_required
from ..extensions import unit_of_work
from . import bp
from .timeline import entries, people_ids

REASON_LIMIT = 1000


@bp.get("")
@login_required
def index() -> str:
    """The requests I made, newest first, with where each one is now."""
    with unit_of_work(read_only=True) as db:
        mine = instances.list_my_instances(db, user=g.user)
        open_items = casework.open_items_by_instance(db, [i.id for i in mine])
        people = casework.users_by_id(db, [w.assignee_id or w.candidate_user_id
                                           for items in open_items.values() for w in items])
        names = reports.process_names(db)
    steps = {i.id: [(w.title, casework.holder_text(w, people)) for w in open_items.get(i.id, [])]
             for i in mine}
    return render_template("requests/index.html", requests=mine, steps=steps, names=names)


@bp.get("/<int:instance_id>")
@login_required
def detail(instance_id: int) -> str:
    """One request: status, current steps and who holds them, the diagram and the history."""
    with unit_of_work(read_only=True) as db:
        view = casework.visible_instance(db, user=g.user, instance_id=instance_id)
        people = casework.users_by_id(db, {view.instance.started_by_id, *people_ids(view.history),
                                           *(w.assignee_id or w.candidate_user_id for w in view.open_items)})
        names = casework.names_by_username(db, {e.actor for e in view.history})
    inst = view.instance
    steps = [(w, casework.holder_text(w, people)) for w in view.open_items]
    can_withdraw = inst.status in OPEN_STATUSES and (
        inst.started_by_id == g.user.id or "force_manager" in roles_in(g.user, inst.force_code))
    return render_template("requests/detail.html", instance=inst, steps=steps, requester=people.get(
        inst.started_by_id), history=entries(view.history, names, people), can_withdraw=can_withdraw)


@bp.get("/<int:instance_id>/diagram.json")
@login_required
def diagram(instance_id: int) -> Response:
    """The pinned BPMN XML and the steps to highlight, for the bpmn-js viewer."""
    with unit_of_work(read_only=True) as db:
        found = casework.diagram(db, user=g.user, instance_id=instance_id)
    return jsonify({"xml": found.xml, "active": found.active, "completed": found.completed})


@bp.post("/<int:instance_id>/withdraw")
@login_required
def withdraw(instance_id: int) -> Response:
    """Withdraw an open request (the requester, or a force manager)."""
    reason = request.form.get("reason", "").strip()
    if len(reason) > REASON_LIMIT:
        raise InvalidInputError(f"Give a reason of {REASON_LIMIT} characters or fewer.")
    with unit_of_work() as db:
        casework.visible_instance(db, user=g.user, instance_id=instance_id)
        inst = instances.withdraw_instance(db, user=g.user, instance_id=instance_id, reason=reason)
    flash(f"{inst.reference} has been withdrawn.")
    return redirect(url_for("requests.detail", instance_id=instance_id))
