"""Admin pages for forces: the overview, the list, and adding or editing a force (platform admins)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from engine import org
from engine.errors import ConflictError, InvalidInputError

from ..auth import role_required
from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp
from .forms import ForceForm
from .scope import choices

Page = str | tuple[str, int]


@bp.get("/")
def index() -> Response:
    """The admin area starts at the list of users."""
    return redirect(url_for("admin.users"))


@bp.get("/forces")
def forces() -> str:
    """The forces the signed-in user administers."""
    with unit_of_work(read_only=True) as db:
        shown = org.administered_forces(db, g.user)
    return render_template("admin/forces.html", forces=shown, can_edit=org.is_platform_admin(g.user))


@bp.route("/forces/new", methods=["GET", "POST"])
@role_required("platform_admin")
def new_force() -> Page | Response:
    """Add a force."""
    form = ForceForm()
    with unit_of_work(read_only=True) as db:
        form.parent.choices = choices({f.code: f"{f.code} – {f.name}" for f in org.list_forces(db)}, "None")
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                force = org.add_force(db, form.code.data, form.name.data, parent=form.parent.data or None)
        except (InvalidInputError, ConflictError) as exc:
            apply_engine_errors(form, exc)
        else:
            flash(f"Force {force.code} added.")
            return redirect(url_for("admin.forces"))
    return _form_page(form, None)


@bp.route("/forces/<code>/edit", methods=["GET", "POST"])
@role_required("platform_admin")
def edit_force(code: str) -> Page | Response:
    """Rename a force, change its parent or (de)activate it."""
    with unit_of_work(read_only=True) as db:
        force = org.get_force(db, code)
        others = {f.code: f"{f.code} – {f.name}" for f in org.list_forces(db) if f.code != code}
    form = ForceForm(obj=force, parent=force.parent_code or "")
    form.parent.choices = choices(others, "None")
    form.code.data = force.code  # the code is the key; it is shown, not changed
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                org.update_force(db, code, name=form.name.data, parent=form.parent.data or None,
                                 active=form.active.data)
        except InvalidInputError as exc:
            apply_engine_errors(form, exc)
        else:
            flash(f"Force {code} saved.")
            return redirect(url_for("admin.forces"))
    return _form_page(form, force.code)


def _form_page(form: ForceForm, code: str | None) -> Page:
    page = render_template("admin/force_form.html", form=form, code=code)
    return (page, 422) if form.errors or form.form_errors else page
