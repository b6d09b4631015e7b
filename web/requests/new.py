"""Starting a request: the processes the user's force can start (after overrides), the start form,
and the confirmation with the reference number."""
from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine import casework, catalog, instances
from engine.errors import InvalidInputError, NotFoundError

from .. import formkit
from ..auth import login_required
from ..extensions import unit_of_work
from . import bp

Page = str | tuple[str, int]
EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}


@bp.get("/new")
@login_required
def choose() -> str:
    """The processes the user's force can start."""
    with unit_of_work(read_only=True) as db:
        processes = catalog.startable_processes(db, g.user.force_code)
    return render_template("requests/choose.html", processes=processes)


def start_form(process_key: str) -> tuple[catalog.StartableProcess, dict[str, Any]]:
    """The startable process ``process_key`` and its start form (as the user's force sees them)."""
    with unit_of_work(read_only=True) as db:
        found = {p.key: p for p in catalog.startable_processes(db, g.user.force_code)}.get(process_key)
        if found is None:
            raise NotFoundError("There is no such process to start.")
        schema = catalog.resolve_form(db, g.user.force_code, found.start_form) if found.start_form else None
    return found, schema or EMPTY_FORM


@bp.route("/new/<process_key>", methods=["GET", "POST"])
@login_required
def start(process_key: str) -> Page | Response:
    """Show the start form; on submit start the request, or show the problems with the values kept."""
    process, schema = start_form(process_key)
    if request.method == "GET":
        return render_template("requests/start.html", process=process, form=formkit.initial(schema))
    submission = formkit.parse(schema, request.form)
    action = formkit.row_action(request.form)
    if action is not None:
        form = formkit.redisplay(schema, submission, action=action)
        return render_template("requests/start.html", process=process, form=form)
    errors = formkit.problems(schema, submission)
    if not errors:
        try:
            with unit_of_work() as db:
                inst = instances.start_instance(db, user=g.user, process_key=process.key,
                                                data=submission.data)
        except InvalidInputError as exc:
            errors = exc.details if isinstance(exc.details, dict) else {"": [exc.message]}
        else:
            return redirect(url_for("requests.confirmation", instance_id=inst.id))
    form = formkit.redisplay(schema, submission, errors)
    return render_template("requests/start.html", process=process, form=form), 422


@bp.get("/<int:instance_id>/confirmation")
@login_required
def confirmation(instance_id: int) -> str:
    """The reference number of a request just made, and what happens next."""
    with unit_of_work(read_only=True) as db:
        view = casework.visible_instance(db, user=g.user, instance_id=instance_id)
        people = casework.users_by_id(db, [w.assignee_id or w.candidate_user_id for w in view.open_items])
    holders = [(w.title, casework.holder_text(w, people)) for w in view.open_items]
    return render_template("requests/confirmation.html", instance=view.instance, holders=holders)
