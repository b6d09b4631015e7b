"""Out-of-office delegation: for a date range, work for the person away goes to a named delegate and comes
back after it. Everyone can set their own; force managers can set one for anyone in their force."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, SelectField
from wtforms.validators import InputRequired

from engine import org
from engine.calendar import today
from engine.errors import ConflictError, InvalidInputError, NotFoundError
from engine.models import User
from engine.routing import roles_in

from ..auth import login_required
from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp

Page = str | tuple[str, int]
ALIASES = {"delegate_id": "delegate", "user_id": "away"}


class DelegationForm(FlaskForm):
    """Who is away, who covers, and when."""

    away = SelectField("Who is away")
    delegate = SelectField("Who covers their work", validators=[InputRequired(message="Choose who covers")])
    starts_on = DateField("First day away", validators=[InputRequired(message="Enter the first day away")])
    ends_on = DateField("Last day away", validators=[InputRequired(message="Enter the last day away")])


def is_force_manager() -> bool:
    """Force managers may set delegations for anyone in their force."""
    return "force_manager" in roles_in(g.user, g.user.force_code)


def delegation_form(people: list[User]) -> DelegationForm:
    """The form, offering the force's active people (and only oneself as 'away' unless a force manager)."""
    form = DelegationForm(away=str(g.user.id))
    form.away.choices = [(str(p.id), p.full_name) for p in people] if is_force_manager() \
        else [(str(g.user.id), g.user.full_name)]
    form.delegate.choices = [("", "Choose…")] + [(str(p.id), f"{p.full_name} ({p.username})") for p in people]
    return form


@bp.route("/out-of-office", methods=["GET", "POST"])
@login_required
def out_of_office() -> Page | Response:
    """Current and future delegations, and a form to add one."""
    force = g.user.force_code
    with unit_of_work(read_only=True) as db:
        people = org.list_users(db, force, include_inactive=False)
        current = org.list_delegations(db, force, on_or_after=today())
    names = {p.id: p.full_name for p in people}
    form = delegation_form(people)
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                org.add_delegation(db, force, int(form.away.data), int(form.delegate.data),
                                   form.starts_on.data, form.ends_on.data)
        except (InvalidInputError, ConflictError) as exc:
            apply_engine_errors(form, exc, ALIASES)
        else:
            away, delegate = names.get(int(form.away.data)), names.get(int(form.delegate.data))
            flash(f"{away}'s work goes to {delegate} from {form.starts_on.data:%-d %B} "
                  f"to {form.ends_on.data:%-d %B %Y}.")
            return redirect(url_for("manager.out_of_office"))
    visible = [d for d in current if is_force_manager() or g.user.id in (d.user_id, d.delegate_id)]
    status = 422 if form.errors or form.form_errors else 200
    html = render_template("manager/out_of_office.html", form=form, delegations=visible, names=names,
                           manager=is_force_manager())
    return (html, status) if status != 200 else html


@bp.post("/out-of-office/<int:delegation_id>/cancel")
@login_required
def cancel_delegation(delegation_id: int) -> Response:
    """End a delegation early (its owner or a force manager); another force's is not found."""
    force = g.user.force_code
    with unit_of_work() as db:
        found = next((d for d in org.list_delegations(db, force) if d.id == delegation_id), None)
        if found is None or not (found.user_id == g.user.id or is_force_manager()):
            raise NotFoundError("There is no such delegation.")
        org.cancel_delegation(db, force, delegation_id)
    flash("The delegation is cancelled; work goes to the person again.")
    return redirect(url_for("manager.out_of_office"))
