"""Reassigning a work item to another eligible person in the item's force (holder or manager only)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.validators import InputRequired

from engine import casework, team, workitems
from engine.errors import InvalidInputError, NotAllowedError

from ..auth import login_required
from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp

Page = str | tuple[str, int]


class ReassignForm(FlaskForm):
    """Who should have the item."""

    to_user_id = SelectField("Give this item to", validators=[InputRequired(message="Choose a person")])


@bp.route("/items/<int:item_id>/reassign", methods=["GET", "POST"])
@login_required
def reassign(item_id: int) -> Page | Response:
    """Choose someone eligible (holding the item's role in its force) and hand the item over."""
    with unit_of_work(read_only=True) as db:
        item = casework.visible_item(db, user=g.user, item_id=item_id)
        if not team.can_reassign(g.user, item):
            raise NotAllowedError("Only the person holding this item, or a manager in its force, "
                                  "can reassign it.")
        people = [p for p in workitems.eligible_assignees(db, user=g.user, item_id=item_id)
                  if p.id != item.assignee_id]
        inst = casework.instances_by_id(db, [item.instance_id])[item.instance_id]
    form = ReassignForm()
    choices = [(str(p.id), f"{p.full_name} ({p.username})") for p in people]
    form.to_user_id.choices = [("", "Choose…"), *choices]
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                target = int(form.to_user_id.data)
                done = workitems.reassign(db, user=g.user, item_id=item_id, to_user_id=target)
        except InvalidInputError as exc:
            apply_engine_errors(form, exc)
        else:
            flash(f"“{done.title}” on {inst.reference} reassigned.")
            return redirect(url_for("manager.queue"))
    status = 422 if form.errors or form.form_errors else 200
    html = render_template("manager/reassign.html", form=form, item=item, instance=inst, people=people)
    return (html, status) if status != 200 else html
