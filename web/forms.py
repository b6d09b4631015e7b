"""Helpers shared by every area's forms: putting an engine error's field messages onto a WTForms form."""
from __future__ import annotations

from collections.abc import Mapping

from flask_wtf import FlaskForm

from engine.errors import MusterError


def apply_engine_errors(
    form: FlaskForm, error: MusterError, aliases: Mapping[str, str] | None = None
) -> None:
    """Show ``error`` on ``form``: each ``details`` field message on the matching form field (renamed
    through ``aliases``, engine name → form field name), anything else in ``form.form_errors``."""
    details = error.details if isinstance(error.details, Mapping) else {}
    placed = False
    for name, messages in details.items():
        field = form._fields.get((aliases or {}).get(name, name))
        if field is None or not isinstance(messages, list | tuple):
            continue
        field.errors = [*field.errors, *(str(m) for m in messages)]
        placed = True
    if not placed:
        form.form_errors.append(error.message)
