"""Server-side forms rendered from JSON Schema (docs/modelling.md) and read back into typed data.

A view shows ``initial(schema, draft, task_data)``; on a POST it calls ``parse(schema, request.form)``,
handles an add/remove-row button with ``redisplay``, checks ``problems`` (unreadable values and schema
errors together), and only then calls the engine, which validates again. Templates: ``forms/_fields.html``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.forms import field_errors

from .parse import Submission, Values, parse
from .schema import Schema
from .values import defaults, flatten
from .view import FieldView, FormView, build

__all__ = ["FieldView", "FormView", "Submission", "draft_data", "initial", "parse", "problems", "redisplay",
           "row_action"]

ROW_ACTIONS = ("add", "remove")


def initial(schema: Schema, draft: Mapping[str, Any] | None = None,
            task_data: Mapping[str, Any] | None = None) -> FormView:
    """The form as first shown: a saved draft if there is one, else the schema's defaults."""
    values = flatten(schema, draft if draft is not None else defaults(schema))
    return build(schema, values, task_data=task_data)


def problems(schema: Schema, submission: Submission) -> dict[str, list[str]]:
    """Every error by field path: values that could not be read win over what the schema says of the rest."""
    if not submission.errors:
        return field_errors(dict(schema), submission.data)
    return {**field_errors(dict(schema), submission.data), **submission.errors}


def row_action(form: Mapping[str, Any]) -> tuple[str, str] | None:
    """('add', 'journeys') or ('remove', 'journeys.1') from the button pressed, else None."""
    action = str(form.get("_action") or "")
    verb, _sep, path = action.partition(":")
    return (verb, path) if verb in ROW_ACTIONS and path else None


def redisplay(schema: Schema, submission: Submission, errors: Mapping[str, list[str]] | None = None,
              task_data: Mapping[str, Any] | None = None, action: tuple[str, str] | None = None) -> FormView:
    """The submitted form again, with ``errors``, after applying an add/remove-row ``action``."""
    values, totals = dict(submission.values), dict(submission.rows)
    if action is not None:
        verb, path = action
        rows_path = path.rsplit(".", 1)[0] if verb == "remove" else path
        if rows_path in totals and verb == "add":
            totals[rows_path] = max(totals[rows_path], 1) + 1
        elif rows_path in totals and verb == "remove":
            target = submission.moved.get(path)
            if target is not None:
                values = remove_row(values, rows_path, int(target.rsplit(".", 1)[1]))
            totals[rows_path] = max(totals[rows_path] - 1, 0)
    return build(schema, values, errors, task_data, totals)


def remove_row(values: Values, rows_path: str, index: int) -> Values:
    """``values`` without row ``index`` of ``rows_path``; later rows move up one."""
    prefix = rows_path + "."
    out: Values = {}
    for key, value in values.items():
        head, _dot, rest = key[len(prefix):].partition(".") if key.startswith(prefix) else ("", "", "")
        if not head.isdigit():
            out[key] = value
        elif int(head) < index:
            out[key] = value
        elif int(head) > index:
            out[f"{prefix}{int(head) - 1}" + (f".{rest}" if rest else "")] = value
    return out


def draft_data(submission: Submission) -> dict[str, Any]:
    """What to keep as a draft: the typed data, with the text of values that could not be read."""
    data: dict[str, Any] = dict(submission.data)
    for path in submission.errors:
        raw = submission.values.get(path)
        if isinstance(raw, str) and path:
            _put(data, path.split("."), raw)
    return data


def _put(target: Any, parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(target, list):
        if not head.isdigit():
            return
        index = int(head)
        while len(target) <= index:
            target.append({})
        if rest:
            _put(target[index], rest, value)
        return
    if not isinstance(target, dict):
        return
    if not rest:
        target[head] = value
        return
    child = target.setdefault(head, [] if rest[0].isdigit() else {})
    _put(child, rest, value)
