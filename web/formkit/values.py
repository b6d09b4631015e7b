"""Typed data back to form text: for a saved draft, the schema's defaults, and read-only display.

The inverse of ``parse``: integer pence become pounds ('12.50'), consts their option value, lists of
rows dotted paths (``journeys.0.miles``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .parse import Values
from .schema import (
    Schema,
    is_read_only,
    item_schema,
    label_for_value,
    option_value,
    options,
    ordered_properties,
    title_of,
    widget,
)


def flatten(schema: Schema, data: Mapping[str, Any] | None, prefix: str = "") -> Values:
    """Form text by field path for the editable properties found in ``data``."""
    out: Values = {}
    for key, prop in ordered_properties(schema):
        if is_read_only(prop) or not isinstance(data, Mapping) or key not in data:
            continue
        path = f"{prefix}.{key}" if prefix else key
        value, kind = data[key], widget(prop)
        if kind == "group":
            out.update(flatten(prop, value, path))
        elif kind == "rows":
            for index, row in enumerate(value if isinstance(value, list) else []):
                out.update(flatten(item_schema(prop), row, f"{path}.{index}"))
        elif kind == "checkboxes":
            out[path] = [option_value(v) for v in value] if isinstance(value, list) else []
        elif kind == "lines":
            out[path] = "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
        else:
            out[path] = text_of(kind, value)
    return out


def text_of(kind: str, value: Any) -> str:
    """One value as the text an input shows (strings saved in a draft are shown as they are)."""
    if value is None:
        return ""
    if kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return pounds(value)
    if kind == "checkbox":
        return "true" if value is True else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return option_value(value)


def pounds(pence: int) -> str:
    """1250 → '12.50'."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def defaults(schema: Schema) -> dict[str, Any]:
    """The ``default`` of each editable property, nested objects included (rows start empty)."""
    out: dict[str, Any] = {}
    for key, prop in ordered_properties(schema):
        if is_read_only(prop):
            continue
        if widget(prop) == "group":
            nested = defaults(prop)
            if nested:
                out[key] = nested
        elif "default" in prop and widget(prop) != "rows":
            out[key] = prop["default"]
    return out


def display(name: str, prop: Schema, value: Any) -> str | list[str]:
    """A read-only value for people: money in pounds, enum titles, Yes/No, dates in words, lists as lists."""
    if value is None or value == "":
        return "Not given"
    kind = widget(prop)
    if isinstance(value, list):
        return [_item_text(item_schema(prop), item) for item in value] or ["None"]
    if isinstance(value, Mapping):
        return _mapping_text(prop, value)
    labels = {option_value(v): label for v, label in options(prop)}
    if option_value(value) in labels:
        return labels[option_value(value)]
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "money" and isinstance(value, int):
        return "£" + f"{value / 100:,.2f}"
    if kind == "date" or prop.get("format") == "date":
        return long_date(value)
    return text_of(kind, value)


def _item_text(items: Schema, item: Any) -> str:
    if isinstance(item, Mapping):
        return _mapping_text(items, item)
    labels = {option_value(v): label for v, label in options(items)}
    return labels.get(option_value(item), label_for_value(item) if isinstance(item, str) else str(item))


def _mapping_text(schema: Schema, value: Mapping[str, Any]) -> str:
    props = dict(ordered_properties(schema))
    parts = []
    for key, item in value.items():
        prop = props.get(key, {})
        shown = display(key, prop, item)
        parts.append(f"{title_of(key, prop)}: {', '.join(shown) if isinstance(shown, list) else shown}")
    return "; ".join(parts)


def long_date(value: Any) -> str:
    """'2026-11-03' → '3 November 2026' (other text as it is)."""
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {day:%B %Y}"
