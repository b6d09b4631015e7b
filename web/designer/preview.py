"""The live preview of a form draft.

Drawn with the inbox's server-side renderer (``web.formkit`` and ``forms/_fields.html``) when that
is installed; otherwise with the minimal renderer below (labels, hints and the input each field would
get), so the designer still works on its own."""
from __future__ import annotations

import importlib.util
import json
from typing import Any

from flask import render_template
from jinja2 import TemplateNotFound

from engine.errors import DefinitionError
from engine.forms import load_form


def render_preview(content: str) -> str:
    """HTML of the form as requesters would see it, or the reason it cannot be drawn."""
    try:
        schema = load_form(content, "draft.json")
    except DefinitionError as exc:
        return render_template("designer/_preview.html", error=exc.message, form=None, fields=None)
    if importlib.util.find_spec("web.formkit") is not None:
        try:
            from web import formkit

            form = formkit.initial(schema)
            return render_template("designer/_preview.html", error=None, form=form, fields=None)
        except (TemplateNotFound, ImportError, AttributeError, TypeError, ValueError, KeyError):
            pass  # fall back to the minimal renderer below
    return render_template("designer/_preview.html", error=None, form=None, title=schema.get("title", ""),
                           fields=minimal_fields(schema))


def minimal_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Field name, label, hint, input kind and options in form order (x-order first)."""
    props: dict[str, Any] = schema.get("properties") or {}
    order = [n for n in schema.get("x-order", []) if n in props] + [n for n in props if n not in
                                                                    schema.get("x-order", [])]
    out = []
    for name in order:
        prop = props[name] if isinstance(props[name], dict) else {}
        consts = [o for o in prop.get("oneOf", []) if isinstance(o, dict) and "const" in o]
        options = [(str(o["const"]), str(o.get("title", o["const"]))) for o in consts] or \
            [(str(v), str(v)) for v in prop.get("enum", [])]
        kind = prop.get("x-widget") or ("select" if options else "date" if prop.get("format") == "date"
                                        else "checkbox" if prop.get("type") == "boolean" else "text")
        out.append({"name": name, "label": prop.get("title", name), "hint": prop.get("x-hint") or
                    prop.get("description", ""), "kind": kind, "options": options,
                    "required": name in (schema.get("required") or []),
                    "readonly": bool(prop.get("readOnly")),
                    "example": json.dumps(prop.get("default")) if "default" in prop else ""})
    return out


def formkit_available() -> bool:
    """True when the inbox's form renderer (web.formkit) is installed."""
    return importlib.util.find_spec("web.formkit") is not None


def form_view(schema: dict[str, Any] | None) -> Any:
    """The inbox renderer's view of an empty form (None without web.formkit or without a form)."""
    if schema is None or not formkit_available():
        return None
    from web import formkit

    return formkit.initial(schema)


def read_form(schema: dict[str, Any] | None, form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(data, unreadable fields) from a posted form: the inbox parser, else a JSON ``data`` field."""
    if schema is not None and formkit_available():
        from web import formkit

        submission = formkit.parse(schema, form)
        return dict(submission.data), dict(submission.errors)
    text = str(form.get("data") or "{}")
    try:
        data = json.loads(text)
    except ValueError:
        return {}, {"data": ["Not valid JSON"]}
    return (data, {}) if isinstance(data, dict) else ({}, {"data": ["Expected a JSON object"]})
