"""Admin pages for users: the list (with work awaiting reassignment), add, edit, (de)activate."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from engine import org
from engine.errors import ConflictError, InvalidInputError
from engine.models import User

from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp
from .forms import ConfirmForm, NewUserForm, UserDetailsForm
from .scope import choices, chosen_force, optional_id, status_of

Page = tuple[str, int]
ALIASES = {"org_unit_id": "org_unit"}  # engine field name → form field name


@bp.get("/users")
def users() -> str:
    """The users of one force, with their manager, unit, roles and any work to reassign."""
    with unit_of_work(read_only=True) as db:
        force, forces = chosen_force(db)
        people = org.list_users(db, force)
        counts = org.reassignment_counts(db, force)
        units = org.org_unit_paths(db, force)
    names = {person.id: person.full_name for person in people}
    return render_template("admin/users.html", force=force, forces=forces, users=people, counts=counts,
                           units=units, names=names)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Page | Response:
    """Add a user to the chosen force."""
    form = NewUserForm()
    with unit_of_work(read_only=True) as db:
        force, _forces = chosen_force(db)
        fill_choices(db, form, force)
    form.roles.choices = [(role, role) for role in sorted(org.assignable_roles(g.user, force))]
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                user = org.add_user(
                    db, form.username.data, force, form.full_name.data, roles=form.roles.data,
                    manager=optional_id(form.manager.data), password=form.password.data or None,
                    email=form.email.data, org_unit_id=optional_id(form.org_unit.data),
                )
        except (InvalidInputError, ConflictError) as exc:
            apply_engine_errors(form, exc, ALIASES)
        else:
            flash(f"{user.full_name} ({user.username}) added to {force}.")
            return redirect(url_for("admin.users", force=force))
    return render_template("admin/user_new.html", form=form, force=force), status_of(form)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def edit_user(user_id: int) -> Page | Response:
    """Change a user's name, email, line manager, unit or password."""
    with unit_of_work(read_only=True) as db:
        user = org.get_managed_user(db, g.user, user_id)
        form = UserDetailsForm(obj=user, manager=str(user.manager_id or ""),
                               org_unit=str(user.org_unit_id or ""))
        fill_choices(db, form, user.force_code, exclude=user)
    if form.validate_on_submit():
        changes = {"full_name": form.full_name.data, "email": form.email.data,
                   "manager": optional_id(form.manager.data), "org_unit_id": optional_id(form.org_unit.data)}
        if form.password.data:
            changes["password"] = form.password.data
        try:
            with unit_of_work() as db:
                org.update_user(db, user.force_code, user.id, **changes)
        except InvalidInputError as exc:
            apply_engine_errors(form, exc, ALIASES)
        else:
            flash(f"{form.full_name.data} saved.")
            return redirect(url_for("admin.users", force=user.force_code))
    return render_template("admin/user_edit.html", form=form, user=user), status_of(form)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def deactivate_user(user_id: int) -> str | Response:
    """Confirm, then deactivate: the person cannot sign in and their open work is flagged."""
    form = ConfirmForm()
    with unit_of_work(read_only=True) as db:
        user = org.get_managed_user(db, g.user, user_id)
    org.check_can_deactivate(g.user, user)
    if form.validate_on_submit():
        with unit_of_work() as db:
            flagged = org.deactivate_user(db, user.force_code, user.id)
        items = "1 open work item" if flagged == 1 else f"{flagged} open work items"
        flash(f"{user.full_name} deactivated; {items} flagged for reassignment.")
        return redirect(url_for("admin.users", force=user.force_code))
    return render_template("admin/user_deactivate.html", form=form, user=user)


@bp.post("/users/<int:user_id>/reactivate")
def reactivate_user(user_id: int) -> Response:
    """Let a deactivated user sign in again."""
    with unit_of_work() as db:
        user = org.get_managed_user(db, g.user, user_id)
        org.reactivate_user(db, user.force_code, user.id)
    flash(f"{user.full_name} can sign in again.")
    return redirect(url_for("admin.users", force=user.force_code))


def fill_choices(db: Session, form: UserDetailsForm, force: str, exclude: User | None = None) -> None:
    """Line managers (active people of ``force``) and org units of ``force`` for the selects."""
    people = org.list_users(db, force, include_inactive=False)
    managers = {str(u.id): f"{u.full_name} ({u.username})" for u in people
                if exclude is None or u.id != exclude.id}
    if exclude is not None and exclude.manager_id and str(exclude.manager_id) not in managers:
        managers[str(exclude.manager_id)] = "(current manager, inactive)"
    form.manager.choices = choices(managers, "None")
    form.org_unit.choices = choices({str(k): v for k, v in org.org_unit_paths(db, force).items()}, "None")
