"""Admin page for a force's org units: the tree as paths, and adding a unit."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from engine import org
from engine.errors import ConflictError, InvalidInputError

from ..extensions import unit_of_work
from ..forms import apply_engine_errors
from . import bp
from .forms import OrgUnitForm
from .scope import choices, chosen_force, optional_id, status_of


@bp.route("/org-units", methods=["GET", "POST"])
def org_units() -> tuple[str, int] | Response:
    """List the chosen force's units and add one."""
    form = OrgUnitForm()
    with unit_of_work(read_only=True) as db:
        force, forces = chosen_force(db)
        paths = org.org_unit_paths(db, force)
    form.parent.choices = choices({str(k): v for k, v in paths.items()}, "Top level")
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                unit = org.add_org_unit(db, force, form.name.data, parent_id=optional_id(form.parent.data))
        except (InvalidInputError, ConflictError) as exc:
            apply_engine_errors(form, exc)
        else:
            flash(f"{unit.name} added to {force}.")
            return redirect(url_for("admin.org_units", force=force))
    page = render_template("admin/org_units.html", form=form, force=force, forces=forces, paths=paths)
    return page, status_of(form)
