"""Reading a submitted HTML form into data of the schema's types: strings to integers, numbers, booleans,
enum consts, ISO dates and pounds to integer pence. Blank fields are left out; blank repeated rows are
dropped (and the rest renumbered) so field paths match what the schema validator reports.

Field names are dotted paths: ``purpose``, ``subsistence.amount_pence``, ``journeys.0.miles``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .schema import (
    Schema,
    is_read_only,
    item_schema,
    main_type,
    option_value,
    options,
    ordered_properties,
    widget,
)

Values = dict[str, Any]  # field path -> what was typed: str, or list[str] for checkboxes
Getter = Callable[[str], list[str]]
TRUE = frozenset({"true", "on", "y", "yes", "1"})
UK_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


@dataclass
class Submission:
    """A parsed form: typed data, the fields that could not be read, and the typed text for redisplay."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: Values = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # rows field path -> rows submitted, blank ones too
    moved: dict[str, str] = field(default_factory=dict)  # submitted row path -> its path once blanks are gone


@dataclass
class _Part:
    data: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: Values = field(default_factory=dict)
    blank: bool = True
    rows: dict[str, int] = field(default_factory=dict)
    moved: dict[str, str] = field(default_factory=dict)

    def merge(self, key: str, other: _Part) -> None:
        for path, messages in other.errors.items():
            self.errors[_join(key, path)] = messages
        for path, value in other.values.items():
            self.values[_join(key, path)] = value
        self.rows.update(other.rows)  # absolute paths already (rows inside rows are not supported)
        self.moved.update(other.moved)


def parse(schema: Schema, form: Any) -> Submission:
    """Read ``form`` (anything with ``getlist``, e.g. ``request.form``) against ``schema``."""
    part = _object(schema, lambda name: [str(v) for v in form.getlist(name)], "")
    return Submission(part.data or {}, part.errors, part.values, part.rows, part.moved)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _object(schema: Schema, get: Getter, prefix: str) -> _Part:
    out = _Part(data={})
    for key, prop in ordered_properties(schema):
        if is_read_only(prop):
            continue
        part = _property(prop, get, _join(prefix, key))
        out.merge(key, part)
        if part.data is not None:
            out.data[key] = part.data
        out.blank = out.blank and part.blank
    return out


def _property(prop: Schema, get: Getter, path: str) -> _Part:
    kind = widget(prop)
    if kind == "group":
        part = _object(prop, get, path)
        part.data = None if part.blank else part.data
        return part
    if kind == "rows":
        return _rows(prop, get, path)
    if kind == "checkboxes":
        return _checkboxes(prop, get(path))
    if kind == "checkbox":
        return _checkbox(prop, get(path))
    raw = (get(path) or [""])[0]
    if kind == "lines":
        lines = [line.strip() for line in raw.splitlines() if line.strip()]
        return _Part(lines or None, values={"": raw}, blank=not lines)
    text = raw.strip()
    if not text:
        return _Part(values={"": raw})
    try:
        value = coerce(kind, prop, text)
    except ValueError as exc:
        return _Part(errors={"": [str(exc)]}, values={"": raw}, blank=False)
    return _Part(value, values={"": raw}, blank=False)


def _rows(prop: Schema, get_raw: Getter, path: str) -> _Part:
    items = item_schema(prop)
    out = _Part(data=[])
    indexes = row_indexes(get_raw, path, items)
    for index in indexes:
        row = _object(items, get_raw, f"{path}.{index}")
        if row.blank:
            continue
        out.moved[f"{path}.{index}"] = f"{path}.{len(out.data)}"
        out.merge(str(len(out.data)), row)
        out.data.append(row.data)
        out.blank = False
    out.rows[path] = len(indexes)
    return out


def row_indexes(get: Getter, path: str, items: Schema) -> list[int]:
    """The row numbers present in the submission for the rows field at ``path``."""
    found = set()
    names = [key for key, _prop in ordered_properties(items)]
    index = 0
    misses = 0
    while misses < 3 and index < 500:  # rows are numbered from 0; tolerate a few gaps left by removals
        row = f"{path}.{index}"
        if any(get(f"{row}.{name}") for name in names) or _nested_present(get, row, items):
            found.add(index)
            misses = 0
        else:
            misses += 1
        index += 1
    return sorted(found)


def _nested_present(get: Getter, prefix: str, items: Schema) -> bool:
    for key, prop in ordered_properties(items):
        if widget(prop) == "group" and any(get(f"{prefix}.{key}.{k}") for k, _p in ordered_properties(prop)):
            return True
    return False


def _checkboxes(prop: Schema, raw: list[str]) -> _Part:
    known = {option_value(value): value for value, _label in options(item_schema(prop))}
    chosen = [known[r] for r in raw if r in known]
    errors = {"": ["Choose from the options shown"]} if len(chosen) != len(raw) else {}
    return _Part(chosen or None, errors, {"": list(raw)}, blank=not raw)


def _checkbox(prop: Schema, raw: list[str]) -> _Part:
    checked = any(r.strip().lower() in TRUE for r in raw)
    if checked:
        return _Part(True, values={"": "true"}, blank=False)
    # An unticked box that must be ticked is left out, so the form says it is required.
    return _Part(None if prop.get("const") is True else False, values={"": ""})


def coerce(kind: str, prop: Schema, text: str) -> Any:
    """One non-blank typed value from its text; ValueError with a message a person can act on."""
    if kind in ("radios", "select"):
        for value, _label in options(prop):
            if option_value(value) == text:
                return value
        raise ValueError("Choose one of the options")
    if kind == "money":
        return pence(text)
    if kind == "integer" or (kind == "number" and main_type(prop) == "integer"):
        return whole_number(text)
    if kind == "number":
        return number(text)
    if kind == "date":
        return iso_date(text)
    return text.replace("\r\n", "\n")


def pence(text: str) -> int:
    """'£1,234.50' → 123450. Pounds with at most two decimal places."""
    cleaned = text.replace("£", "").replace(",", "").strip()
    message = "Enter an amount in pounds and pence, like 12.50"
    try:
        amount = Decimal(cleaned)
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            raise ValueError(message)
    except InvalidOperation:
        raise ValueError(message) from None
    return int(amount * 100)


def whole_number(text: str) -> int:
    """'1,200' → 1200."""
    cleaned = text.replace(",", "").strip()
    if not re.fullmatch(r"[+-]?\d+", cleaned):
        raise ValueError("Enter a whole number, like 3")
    return int(cleaned)


def number(text: str) -> int | float:
    """'42.5' → 42.5, '42' → 42."""
    cleaned = text.replace(",", "").strip()
    if re.fullmatch(r"[+-]?\d+", cleaned):
        return int(cleaned)
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError("Enter a number, like 12.5") from None
    if not math.isfinite(value):
        raise ValueError("Enter a number, like 12.5")
    return value


def iso_date(text: str) -> str:
    """A date as ISO text; accepts YYYY-MM-DD and D/M/YYYY. Other text is left for the schema to refuse."""
    found = UK_DATE.match(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            raise ValueError("Enter a real date, like 27/3/2027") from None
    return text
