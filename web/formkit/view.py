"""What the form templates render: a tree of fields with their text, options, errors and read-only values,
and the error summary. Built from the schema, the typed text, the errors by field path and task data."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .parse import Values
from .schema import (
    Schema,
    hint_of,
    is_read_only,
    item_schema,
    main_type,
    option_value,
    options,
    ordered_properties,
    title_of,
    widget,
)
from .values import display

WIDTHS = {"integer": "govuk-input--width-5", "number": "govuk-input--width-5",
          "money": "govuk-input--width-10", "date": "govuk-input--width-10"}
INPUT_MODES = {"integer": "numeric", "number": "decimal", "money": "decimal"}


@dataclass
class Choice:
    """One radio, checkbox or select option."""

    value: str
    label: str
    selected: bool
    id: str


@dataclass
class FieldView:
    """One field (or group, rows, row or read-only summary) as the templates draw it."""

    name: str
    id: str
    kind: str
    label: str
    hint: str = ""
    value: str = ""
    choices: list[Choice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    children: list[FieldView] = field(default_factory=list)
    shown: str | list[str] = ""
    width: str = ""
    input_mode: str = ""
    item_label: str = ""

    @property
    def described_by(self) -> str:
        """The ids of the hint and error message, for aria-describedby."""
        parts = ((f"{self.id}-hint", self.hint), (f"{self.id}-error", self.errors))
        return " ".join(i for i, on in parts if on)


@dataclass
class FormView:
    """A whole form: its heading, fields and the error summary ((anchor id or '', message) pairs)."""

    title: str
    description: str
    fields: list[FieldView]
    summary: list[tuple[str, str]]

    @property
    def has_errors(self) -> bool:
        return bool(self.summary)


def width(kind: str, prop: Schema) -> str:
    """A GOV.UK input width class that fits the answer (short text gets a short box)."""
    if kind in WIDTHS:
        return WIDTHS[kind]
    longest = prop.get("maxLength")
    if kind == "text" and isinstance(longest, int):
        return next((f"govuk-input--width-{w}" for w in (10, 20, 30) if longest <= w), "")
    return ""


def field_id(name: str) -> str:
    """The HTML id of the field at ``name`` (dots are awkward in CSS selectors and fragment links)."""
    return "f-" + name.replace(".", "-")


def build(schema: Schema, values: Values, errors: Mapping[str, list[str]] | None = None,
          task_data: Mapping[str, Any] | None = None,
          row_totals: Mapping[str, int] | None = None) -> FormView:
    """The form ``schema`` showing ``values``, ``errors`` by field path and read-only ``task_data``;
    ``row_totals`` asks for at least that many rows of a rows field (blank ones at the end)."""
    builder = _Builder(values, dict(errors or {}), task_data or {}, row_totals or {})
    fields = builder.fields(schema, "", task_data or {})
    summary = [(f.id, prefix + message) for f, prefix in _walk(fields) for message in f.errors]
    summary += [("", message) for path, messages in builder.errors.items() if path not in builder.used
                for message in messages]
    return FormView(str(schema.get("title") or ""), str(schema.get("description") or ""), fields, summary)


def _walk(fields: list[FieldView], prefix: str = "") -> list[tuple[FieldView, str]]:
    """Every field in order, with what its summary messages start with ('Journey 2: ' inside a row)."""
    out = []
    for f in fields:
        out.append((f, prefix))
        out.extend(_walk(f.children, f"{f.label}: " if f.kind == "row" else prefix))
    return out


class _Builder:
    def __init__(self, values: Values, errors: dict[str, list[str]], task_data: Mapping[str, Any],
                 row_totals: Mapping[str, int]) -> None:
        self.values, self.errors, self.task_data, self.row_totals = values, errors, task_data, row_totals
        self.used: set[str] = set()

    def errors_for(self, name: str, prop: Schema, label: str) -> list[str]:
        self.used.add(name)
        return [tidy(message, prop, label) for message in self.errors.get(name, [])]

    def fields(self, schema: Schema, prefix: str, data: Mapping[str, Any]) -> list[FieldView]:
        out: list[FieldView] = []
        for key, prop in ordered_properties(schema):
            name = f"{prefix}.{key}" if prefix else key
            if is_read_only(prop):
                value = data.get(key) if isinstance(data, Mapping) else None
                view = FieldView(name, field_id(name), "readonly", title_of(key, prop),
                                 shown=display(key, prop, value))
                if out and out[-1].kind == "summary":
                    out[-1].children.append(view)
                else:
                    out.append(FieldView(name + ".summary", field_id(name) + "-summary", "summary", "",
                                         children=[view]))
                continue
            nested = data.get(key) if isinstance(data, Mapping) else None
            out.append(self.field(key, prop, name, nested if isinstance(nested, Mapping) else {}))
        return out

    def field(self, key: str, prop: Schema, name: str, nested: Mapping[str, Any]) -> FieldView:
        kind, label = widget(prop), title_of(key, prop)
        view = FieldView(name, field_id(name), kind, label, hint_of(prop),
                         errors=self.errors_for(name, prop, label), width=width(kind, prop),
                         input_mode=INPUT_MODES.get(kind, ""))
        if kind == "group":
            view.children = self.fields(prop, name, nested)
        elif kind == "rows":
            view.item_label = str(item_schema(prop).get("title") or "Item")
            count = self.row_count(name, prop)
            view.children = [self.row(prop, name, index, view.item_label) for index in range(count)]
        elif kind in ("radios", "select", "checkboxes"):
            view.choices = self.choices(prop, name, kind)
        else:
            raw = self.values.get(name, "")
            view.value = raw if isinstance(raw, str) else ""
        return view

    def row(self, prop: Schema, name: str, index: int, label: str) -> FieldView:
        row_name = f"{name}.{index}"
        row = FieldView(row_name, field_id(row_name), "row", f"{label} {index + 1}",
                        errors=self.errors_for(row_name, prop, label))
        row.children = self.fields(item_schema(prop), row_name, {})
        return row

    def row_count(self, name: str, prop: Schema) -> int:
        prefix = name + "."
        present = [int(k[len(prefix):].split(".", 1)[0]) for k in self.values
                   if k.startswith(prefix) and k[len(prefix):].split(".", 1)[0].isdigit()]
        least = [1, int(prop.get("minItems") or 0), self.row_totals.get(name, 0)]
        return max([index + 1 for index in present] + least)

    def choices(self, prop: Schema, name: str, kind: str) -> list[Choice]:
        raw = self.values.get(name, [] if kind == "checkboxes" else "")
        picked = set(raw) if isinstance(raw, list) else {raw}
        source = item_schema(prop) if kind == "checkboxes" else prop
        out = []
        for index, (value, label) in enumerate(options(source)):
            text = option_value(value)
            suffix = "" if index == 0 else f"-{index + 1}"
            out.append(Choice(text, label, text in picked, field_id(name) + suffix))
        return out


def tidy(message: str, prop: Schema, label: str) -> str:
    """Plain-English versions of the validator's messages that quote data or use inner field names."""
    if message.endswith(" is required"):
        kind = widget(prop)
        if kind == "checkbox" and prop.get("const") is True:
            return "Tick the box to confirm"
        return f"{label} is required" if kind not in ("group", "rows") else message
    if " does not match " in message:  # a pattern: the hint shows the format wanted
        return f"Enter {label[:1].lower() + label[1:]} in the format shown"
    if not message.startswith("["):
        return message
    noun = "options" if main_type(item_schema(prop)) != "object" else "entries"
    if "non-unique" in message:
        return "Choose each option only once"
    if "expected to be empty" in message:
        return f"Leave the {label.lower()} empty for the answers you gave"
    if "non-empty" in message or "too short" in message:
        return f"Add at least {int(prop.get('minItems') or 1)} to {label.lower()}" if noun == "entries" \
            else f"Choose at least {int(prop.get('minItems') or 1)} {noun}"
    if "too long" in message:
        return f"Give no more than {prop.get('maxItems', 'the allowed number of')} {noun}"
    return "Check this answer"
