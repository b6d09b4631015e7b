"""The work item page: who asked and for what, the history, and the item's form; submit or save a draft."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine import casework, instances, workitems
from engine.errors import ConflictError, InvalidInputError, NotAllowedError
from engine.models import Instance, User, WorkItem

from .. import formkit
from ..auth import login_required
from ..extensions import unit_of_work
from ..requests.timeline import Entry, entries, people_ids
from . import bp

Page = str | tuple[str, int]


@dataclass
class ItemPage:
    """Everything the item page shows apart from the form."""

    item: WorkItem
    instance: Instance
    requester: User | None
    holder: str
    schema: dict[str, Any] | None
    task_data: dict[str, Any]
    access: casework.ItemAccess
    history: list[Entry]
    completed_by: User | None


def load(db: Session, item_id: int) -> ItemPage:
    """The item (if the signed-in user may see it) with its request, form, task data and history."""
    item = casework.visible_item(db, user=g.user, item_id=item_id)
    view = instances.view_instance(db, user=g.user, instance_id=item.instance_id)  # seen via the item
    inst, events = view.instance, view.history
    people = casework.users_by_id(db, {inst.started_by_id, item.assignee_id, item.candidate_user_id,
                                       item.completed_by_id, *people_ids(events)})
    names = casework.names_by_username(db, {e.actor for e in events})
    data = casework.task_data(db, item) if item.status == "open" else {}
    return ItemPage(item, inst, people.get(inst.started_by_id), casework.holder_text(item, people),
                    workitems.form_for(db, item), data, casework.item_access(db, g.user, item),
                    entries(events, names, people), people.get(item.completed_by_id or -1))


def render(page: ItemPage, form: formkit.FormView | None, status: int = 200, problem: str = "") -> Page:
    """The item page with ``form`` (None when the user cannot fill it in)."""
    html = render_template("inbox/item.html", page=page, form=form, problem=problem)
    return (html, status) if status != 200 else html


@bp.get("/inbox/items/<int:item_id>")
@login_required
def item(item_id: int) -> Page:
    """Show the item; its form is restored from a saved draft when there is one."""
    with unit_of_work(read_only=True) as db:
        page = load(db, item_id)
    form = None
    if page.access.can_complete and page.schema is not None:
        form = formkit.initial(page.schema, page.item.draft, page.task_data)
    return render(page, form)


@bp.post("/inbox/items/<int:item_id>")
@login_required
def submit(item_id: int) -> Page | Response:
    """Complete the item, save a draft, or add/remove a row, depending on the button pressed."""
    with unit_of_work(read_only=True) as db:
        page = load(db, item_id)
    if not page.access.can_complete:
        raise ConflictError("This item is not open for you to complete; it may have been done or claimed.")
    schema = page.schema or {"type": "object"}
    submission = formkit.parse(schema, request.form)
    action = formkit.row_action(request.form)
    if action is not None:
        return render(page, formkit.redisplay(schema, submission, task_data=page.task_data, action=action))
    if request.form.get("_action") == "draft":
        with unit_of_work() as db:
            workitems.save_draft(db, user=g.user, item_id=item_id, data=formkit.draft_data(submission))
        flash("Your draft is saved. It will be here when you come back.")
        return redirect(url_for("inbox.item", item_id=item_id))
    return complete(page, schema, submission)


def complete(page: ItemPage, schema: dict[str, Any], submission: formkit.Submission) -> Page | Response:
    """Check the form, then hand it to the engine; errors come back inline with the values kept."""
    errors = formkit.problems(schema, submission)
    if not errors:
        try:
            with unit_of_work() as db:
                workitems.complete(db, user=g.user, item_id=page.item.id, data=submission.data)
        except InvalidInputError as exc:
            errors = exc.details if isinstance(exc.details, dict) else {"": [exc.message]}
        except NotAllowedError as exc:
            form = formkit.redisplay(schema, submission, task_data=page.task_data)
            return render(page, form, 403, exc.message)
        else:
            flash(f"Done: “{page.item.title}” for {page.instance.reference}.")
            return redirect(url_for("inbox.index"))
    return render(page, formkit.redisplay(schema, submission, errors, page.task_data), 422)
