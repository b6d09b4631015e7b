"""Which force an admin page is about: ``?force=`` if the signed-in user administers it, else 404."""
from __future__ import annotations

from flask import g, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from engine import org
from engine.models import Force


def chosen_force(db: Session) -> tuple[str, list[Force]]:
    """The force named by ``?force=`` (default: the user's own, else their first administered force)
    and every force the user administers. Raises NotFoundError for a force they do not administer."""
    forces = org.administered_forces(db, g.user)
    requested = request.values.get("force")
    if requested:
        org.check_can_administer(g.user, requested)
        org.get_force(db, requested)
        return requested, forces
    codes = [force.code for force in forces]
    return (g.user.force_code if g.user.force_code in codes else codes[0]), forces


def choices(items: dict[str, str], none_label: str | None = None) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a select, optionally led by an empty "none" choice."""
    lead = [("", none_label)] if none_label is not None else []
    return lead + list(items.items())


def optional_id(value: str | None) -> int | None:
    """A select's value as an id: ``""`` is None (the choices were validated, so digits are safe)."""
    return int(value) if value and value.isdigit() else None


def status_of(form: FlaskForm) -> int:
    """422 for a form with errors, else 200."""
    return 422 if form.errors or form.form_errors else 200
