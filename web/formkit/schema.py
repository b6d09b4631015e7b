"""Reading a JSON Schema form for rendering: property order, the widget each property gets, and its options.

Knows the modelling conventions (docs/modelling.md): ``x-order``, ``x-widget``, ``x-hint``, ``readOnly``,
``oneOf`` const/title enums, ``format: date`` and integer pence with ``x-widget: money``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
SCALAR_KINDS = frozenset({"text", "textarea", "date", "integer", "number", "money", "radios", "select"})
RADIO_LIMIT = 5  # more options than this become a select unless the form says otherwise


def ordered_properties(schema: Schema) -> list[tuple[str, Schema]]:
    """The object's properties, those named in ``x-order`` first and in that order."""
    props: Mapping[str, Any] = schema.get("properties") or {}
    order = [name for name in schema.get("x-order") or [] if name in props]
    rest = [name for name in props if name not in order]
    # Read-only properties left out of x-order join the last listed read-only one, not the form's end.
    shown = [name for name in order if is_read_only(props[name])]
    if shown:
        at = order.index(shown[-1]) + 1
        order[at:at] = [name for name in rest if is_read_only(props[name])]
        rest = [name for name in rest if name not in order]
    return [(name, props[name]) for name in order + rest]


def main_type(prop: Schema) -> str:
    """The property's type; the first non-null one of a list, or inferred from its options."""
    declared = prop.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "string")
    if isinstance(declared, str):
        return declared
    consts = [value for value, _label in options(prop)]
    if consts and all(isinstance(c, bool) for c in consts):
        return "boolean"
    if consts and all(isinstance(c, int) and not isinstance(c, bool) for c in consts):
        return "integer"
    return "string"


def options(prop: Schema) -> list[tuple[Any, str]]:
    """(value, label) pairs from ``oneOf`` const/title entries or a plain ``enum``."""
    listed = prop.get("oneOf")
    if isinstance(listed, list) and all(isinstance(o, Mapping) and "const" in o for o in listed):
        return [(o["const"], str(o.get("title", o["const"]))) for o in listed]
    if isinstance(prop.get("enum"), list):
        return [(value, label_for_value(value)) for value in prop["enum"]]
    return []


def label_for_value(value: Any) -> str:
    """A readable label for an enum value without a title."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).replace("_", " ").capitalize() if isinstance(value, str) else str(value)


def option_value(value: Any) -> str:
    """How a const travels in HTML: booleans as true/false, None as '', anything else as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def widget(prop: Schema) -> str:
    """The widget kind of an editable property (``readOnly`` is handled by the caller)."""
    kind = main_type(prop)
    hint = prop.get("x-widget")
    if kind == "object":
        return "group"
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        if main_type(items) == "object":
            return "rows"
        return "checkboxes" if options(items) else "lines"
    if hint == "money" and kind in ("integer", "number"):
        return "money"
    if options(prop):
        if hint in ("radios", "select"):
            return str(hint)
        return "radios" if len(options(prop)) <= RADIO_LIMIT else "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return kind
    if prop.get("format") == "date" or hint == "date":
        return "date"
    return "textarea" if hint == "textarea" else "text"


def is_read_only(prop: Schema) -> bool:
    """True for a property shown from task data and never submitted."""
    return bool(prop.get("readOnly"))


def title_of(name: str, prop: Schema) -> str:
    """The property's label: its ``title``, or its name made readable."""
    return str(prop.get("title") or name.replace("_", " ").capitalize())


def hint_of(prop: Schema) -> str:
    """Hint text: the description and the ``x-hint``, when they say different things."""
    parts = [str(p).strip() for p in (prop.get("description"), prop.get("x-hint")) if p]
    return " ".join(dict.fromkeys(parts))


def item_schema(prop: Schema) -> Schema:
    """The ``items`` schema of an array property (empty when missing)."""
    items = prop.get("items")
    return items if isinstance(items, Mapping) else {}
