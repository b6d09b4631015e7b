"""Admin page for one user's roles: own-force roles, and cross-force grants for shared-service staff."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from engine import org
from engine.errors import InvalidInputError
from engine.models import Force, User

from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp
from .forms import GrantForm, RevokeForm, RolesForm

Page = tuple[str, int]


@bp.route("/users/<int:user_id>/roles", methods=["GET", "POST"])
def user_roles(user_id: int) -> Page | Response:
    """Show and set the roles a user holds in their own force."""
    user, forces = _load(user_id)
    held = sorted(grant.role for grant in user.roles if grant.force_code == user.force_code)
    form = RolesForm(roles=held)
    offered = org.assignable_roles(g.user, user.force_code) | set(held)
    form.roles.choices = [(role, role) for role in sorted(offered)]
    if form.validate_on_submit():
        for role in set(held) ^ set(form.roles.data):
            org.check_can_grant(g.user, role, user.force_code)
        try:
            with unit_of_work() as db:
                org.set_roles(db, user.force_code, user.id, form.roles.data)
        except InvalidInputError as exc:
            apply_engine_errors(form, exc)
        else:
            flash(f"Roles of {user.full_name} saved.")
            return redirect(url_for("admin.user_roles", user_id=user.id))
    return _page(user, forces, form, _grant_form(forces))


@bp.post("/users/<int:user_id>/roles/grant")
def grant_role(user_id: int) -> Page | Response:
    """Grant a role in another force the signed-in user administers."""
    user, forces = _load(user_id)
    grant = _grant_form(forces)
    if grant.validate_on_submit():
        org.check_can_grant(g.user, grant.role.data, grant.force.data)
        try:
            with unit_of_work() as db:
                org.grant_role(db, user.force_code, user.id, grant.role.data, in_force=grant.force.data)
        except InvalidInputError as exc:
            apply_engine_errors(grant, exc, {"roles": "role"})
        else:
            flash(f"{user.full_name} now holds {grant.role.data} in {grant.force.data}.")
            return redirect(url_for("admin.user_roles", user_id=user.id))
    own = RolesForm(roles=[r.role for r in user.roles if r.force_code == user.force_code])
    own.roles.choices = [(role, role) for role in sorted(org.assignable_roles(g.user, user.force_code))]
    return _page(user, forces, own, grant)


@bp.post("/users/<int:user_id>/roles/revoke")
def revoke_role(user_id: int) -> Response:
    """Remove one cross-force grant."""
    user, _forces = _load(user_id)
    form = RevokeForm()
    if form.validate_on_submit():
        org.check_can_grant(g.user, form.role.data, form.force.data)
        with unit_of_work() as db:
            org.revoke_role(db, user.force_code, user.id, form.role.data, in_force=form.force.data)
        flash(f"{user.full_name} no longer holds {form.role.data} in {form.force.data}.")
    return redirect(url_for("admin.user_roles", user_id=user.id))


def _load(user_id: int) -> tuple[User, list[Force]]:
    with unit_of_work(read_only=True) as db:
        user = org.get_managed_user(db, g.user, user_id)
        forces = [force for force in org.administered_forces(db, g.user) if force.code != user.force_code]
    return user, forces


def _grant_form(forces: list[Force]) -> GrantForm:
    form = GrantForm()
    form.role.choices = [(role, role) for role in sorted(org.KNOWN_ROLES - {"platform_admin"})]
    form.force.choices = [(force.code, f"{force.code} – {force.name}") for force in forces]
    return form


def _page(user: User, forces: list[Force], form: RolesForm, grant: GrantForm) -> Page:
    cross = sorted((r.role, r.force_code) for r in user.roles if r.force_code != user.force_code)
    manageable = {force.code for force in forces}
    status = 422 if form.errors or grant.errors else 200
    return render_template("admin/user_roles.html", user=user, form=form, grant=grant, cross=cross,
                           manageable=manageable, revoke=RevokeForm()), status
