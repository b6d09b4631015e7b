"""Forms from JSON Schema: which widget each property gets, reading form text back into the schema's types
(pounds to pence, numbers, booleans, enum consts, dates, repeated rows), errors placed on their fields,
drafts and defaults, and every scenario of every process surviving the trip through the HTML form."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import MultiDict

from engine.forms import field_errors
from web import formkit
from web.formkit.parse import parse, pence
from web.formkit.schema import ordered_properties, widget
from web.formkit.values import display, flatten
from web.formkit.view import build

REPO = Path(__file__).resolve().parents[2]
FORMS = REPO / "forms"


def form(name: str) -> dict[str, Any]:
    return json.loads((FORMS / "common" / f"{name}.json").read_text())


def submitted(**fields: Any) -> MultiDict[str, str]:
    """Form text as a browser posts it (lists for repeated names)."""
    out: MultiDict[str, str] = MultiDict()
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            out.add(name.replace("__", "."), v)
    return out


SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-order": ["kind", "amount", "when", "count", "miles", "ok", "sure", "tags", "notes"],
    "required": ["kind", "sure"],
    "properties": {
        "kind": {"title": "Kind", "type": "string", "oneOf": [{"const": "a", "title": "Ay"},
                                                              {"const": "b", "title": "Bee"}]},
        "amount": {"title": "Amount", "type": "integer", "x-widget": "money", "minimum": 0},
        "when": {"title": "When", "type": "string", "format": "date"},
        "count": {"title": "Count", "type": "integer", "maximum": 10},
        "miles": {"title": "Miles", "type": "number"},
        "ok": {"title": "All fine", "type": "boolean", "x-widget": "checkbox"},
        "sure": {"title": "I am sure", "type": "boolean", "const": True, "x-widget": "checkbox"},
        "tags": {"title": "Tags", "type": "array", "uniqueItems": True, "x-widget": "checkbox",
                 "items": {"type": "string", "oneOf": [{"const": "x", "title": "Ex"},
                                                       {"const": "y", "title": "Why"}]}},
        "notes": {"title": "Notes", "type": "string", "x-widget": "textarea"},
        "total": {"title": "Total", "type": "integer", "x-widget": "money", "readOnly": True},
        "rate": {"title": "VAT", "type": "integer", "x-widget": "select",
                 "oneOf": [{"const": 20, "title": "Standard"}, {"const": 0, "title": "Zero"}]},
    },
}


# --- widgets ----------------------------------------------------------------------------------


def test_each_property_gets_the_widget_its_schema_and_hints_ask_for() -> None:
    kinds = {name: widget(prop) for name, prop in ordered_properties(SCHEMA)}
    assert kinds == {"kind": "radios", "amount": "money", "when": "date", "count": "integer",
                     "miles": "number",
                     "ok": "checkbox", "sure": "checkbox", "tags": "checkboxes", "notes": "textarea",
                     "total": "money", "rate": "select"}


def test_long_enums_become_selects_and_objects_and_arrays_of_objects_become_groups_and_rows() -> None:
    start = dict(ordered_properties(form("expense_claim_start")))
    assert widget(start["subsistence"]) == "group" and widget(start["journeys"]) == "rows"
    category = dict(ordered_properties(form("purchase_requisition")))["category"]
    assert widget({**category, "x-widget": None}) == "select"  # eight options


def test_x_order_comes_first_and_unlisted_read_only_fields_join_the_read_only_block() -> None:
    names = [name for name, _prop in ordered_properties(form("expense_approval"))]
    assert names.index("max_amount_pence") == names.index("exception_flags") + 1
    assert names[-2:] == ["decision", "comment"]


# --- reading submitted text -------------------------------------------------------------------


def test_text_is_read_as_the_schema_types() -> None:
    sub = parse(SCHEMA, submitted(kind="b", amount="£1,234.50", when="3/11/2026", count="7", miles="42.5",
                                  ok="true", sure="true", tags=["x", "y"], notes=" line one\r\nline two "))
    assert sub.errors == {}
    assert sub.data == {"kind": "b", "amount": 123450, "when": "2026-11-03", "count": 7, "miles": 42.5,
                        "ok": True,
                        "sure": True, "tags": ["x", "y"], "notes": "line one\nline two"}


def test_integer_consts_and_boolean_radios_come_back_as_their_own_types() -> None:
    assert parse(SCHEMA, submitted(rate="0")).data["rate"] == 0
    radios = {"type": "object", "properties": {"yes": {"type": "boolean", "x-widget": "radios", "oneOf": [
        {"const": True, "title": "Yes"}, {"const": False, "title": "No"}]}}}
    assert parse(radios, submitted(yes="false")).data == {"yes": False}


def test_blank_fields_are_left_out_so_the_schema_reports_them_as_required() -> None:
    sub = parse(SCHEMA, submitted(kind="", amount="  ", notes=""))
    assert "kind" not in sub.data and "amount" not in sub.data and "notes" not in sub.data
    assert sub.data["ok"] is False  # an unticked box is a no...
    assert "sure" not in sub.data  # ...unless it must be ticked: then it is missing
    assert "kind" in formkit.problems(SCHEMA, sub)


@pytest.mark.parametrize(("text", "pennies"), [
    ("12", 1200), ("12.5", 1250), ("0.07", 7), ("£3,000.00", 300000), ("12.50", 1250), ("12.500", 1250)])
def test_pounds_become_integer_pence(text: str, pennies: int) -> None:
    assert pence(text) == pennies


@pytest.mark.parametrize(("field", "text", "message"), [
    ("amount", "12.345", "Enter an amount in pounds and pence"), ("amount", "twelve", "Enter an amount"),
    ("count", "2.5", "Enter a whole number"), ("miles", "far", "Enter a number"),
    ("miles", "nan", "Enter a number"),
    ("kind", "zzz", "Choose one of the options"), ("when", "31/2/2026", "Enter a real date"),
])
def test_text_that_is_not_of_the_type_is_an_error_on_that_field_and_is_kept(field: str, text: str,
                                                                            message: str) -> None:
    sub = parse(SCHEMA, submitted(**{field: text}))
    assert sub.errors[field][0].startswith(message)
    assert sub.values[field] == text and field not in sub.data
    assert formkit.problems(SCHEMA, sub)[field] == sub.errors[field]  # wins over "required" and the like


def test_blank_rows_are_dropped_and_the_rest_renumbered() -> None:
    schema = form("expense_claim_start")
    sub = parse(schema, submitted(**{"journeys__0__date": "", "journeys__0__miles": "",
                                     "journeys__1__date": "2026-11-03", "journeys__1__miles": "x",
                                     "journeys__1__purpose": "Court"}))
    assert sub.data["journeys"] == [{"date": "2026-11-03", "purpose": "Court"}]
    assert sub.errors == {"journeys.0.miles": ["Enter a number, like 12.5"]}
    assert sub.rows == {"journeys": 2, "other_items": 0} and sub.moved == {"journeys.1": "journeys.0"}
    assert sub.data["other_items"] == []  # a rows field is always a list, possibly empty


def test_a_group_left_blank_is_left_out() -> None:
    schema = form("expense_claim_start")
    blank = submitted(**{"subsistence__date": "", "meal_context": "none"})
    assert "subsistence" not in parse(schema, blank).data
    sub = parse(schema, submitted(**{"subsistence__date": "2026-11-03",
                                     "subsistence__amount_pence": "14.50"}))
    assert sub.data["subsistence"] == {"date": "2026-11-03", "amount_pence": 1450, "ongoing_at_20h": False}


def test_read_only_fields_are_never_read_from_the_form() -> None:
    assert "total" not in parse(SCHEMA, submitted(total="1")).data


# --- showing forms ----------------------------------------------------------------------------


def test_errors_sit_on_their_fields_and_in_the_summary_in_form_order() -> None:
    schema = form("expense_claim_start")
    sub = parse(schema, submitted(**{"journeys__0__miles": "far", "journeys__0__date": "2026-11-03"}))
    view = formkit.redisplay(schema, sub, formkit.problems(schema, sub))
    anchors = [anchor for anchor, _message in view.summary]
    assert anchors[0] == "f-claim_month" and anchors[-1] == "f-declaration"
    assert "f-journeys-0-miles" in anchors
    journeys = next(f for f in view.fields if f.name == "journeys")
    miles = next(f for f in journeys.children[0].children if f.name == "journeys.0.miles")
    assert miles.errors == ["Enter a number, like 12.5"] and miles.value == "far"
    assert ("f-journeys-0-miles", "Journey 1: Enter a number, like 12.5") in view.summary  # which row
    assert ("f-declaration", "Tick the box to confirm") in view.summary


def test_messages_that_quote_data_or_patterns_are_reworded() -> None:
    schema = form("purchase_requisition")
    view = build(schema, {}, {"lines": ["[] should be non-empty"],
                              "cost_centre": ["'x' does not match '^[A-Z]'"]})
    messages = dict(view.summary)
    assert messages["f-lines"] == "Add at least 1 to items"
    assert messages["f-cost_centre"] == "Enter cost centre in the format shown"


def test_an_error_for_no_particular_field_goes_in_the_summary_only() -> None:
    view = build(SCHEMA, {}, {"": ["Contains fields this form does not have"], "kind": ["Kind is required"]})
    assert view.summary == [("f-kind", "Kind is required"), ("", "Contains fields this form does not have")]


def test_read_only_fields_show_task_data_in_words() -> None:
    view = formkit.initial(form("expense_approval"), task_data={
        "claim_month": "2026-11", "claim_total_pence": 282800, "exception_flags": ["subsistence_over_cap"],
        "total_miles": 60.8, "secret": "never shown"})
    shown = {f.name: f.shown for block in view.fields if block.kind == "summary" for f in block.children}
    assert shown["claim_total_pence"] == "£2,828.00" and shown["total_miles"] == "60.8"
    assert shown["exception_flags"] == ["Subsistence over cap"] and shown["purpose"] == "Not given"
    assert "secret" not in shown


def test_display_uses_enum_titles_dates_in_words_and_yes_no() -> None:
    assert display("kind", SCHEMA["properties"]["kind"], "b") == "Bee"
    assert display("when", SCHEMA["properties"]["when"], "2026-11-03") == "3 November 2026"
    assert display("ok", SCHEMA["properties"]["ok"], True) == "Yes"


def test_defaults_fill_a_new_form_and_a_draft_replaces_them() -> None:
    schema = form("expense_claim_start")
    fresh = {f.name: f for f in formkit.initial(schema).fields}
    assert [c.value for c in fresh["vehicle"].choices if c.selected] == ["none"]
    assert fresh["ytd_business_miles"].value == "0"
    draft = {"vehicle": "car", "ytd_business_miles": 1200}
    drafted = {f.name: f for f in formkit.initial(schema, draft).fields}
    assert [c.value for c in drafted["vehicle"].choices if c.selected] == ["car"]


def test_a_draft_keeps_unreadable_text_where_it_was_typed() -> None:
    schema = form("expense_claim_start")
    sub = parse(schema, submitted(**{"purpose": "Court", "journeys__0__miles": "far",
                                     "journeys__0__purpose": "Chester"}))
    draft = formkit.draft_data(sub)
    assert draft["journeys"] == [{"purpose": "Chester", "miles": "far"}]
    assert flatten(schema, draft)["journeys.0.miles"] == "far"


def test_add_row_shows_one_more_row_and_remove_row_closes_the_gap() -> None:
    schema = form("expense_claim_start")
    rows = {f"journeys__{i}__purpose": f"Trip {i}" for i in range(3)}
    sub = parse(schema, submitted(**rows))
    added = formkit.redisplay(schema, sub, action=("add", "journeys"))
    assert len(next(f for f in added.fields if f.name == "journeys").children) == 4
    removed = formkit.redisplay(schema, sub, action=("remove", "journeys.1"))
    journeys = next(f for f in removed.fields if f.name == "journeys")
    purposes = [next(c.value for c in row.children if c.name.endswith("purpose"))
                for row in journeys.children]
    assert purposes == ["Trip 0", "Trip 2"]


def test_row_action_reads_only_add_and_remove_buttons() -> None:
    assert formkit.row_action({"_action": "add:journeys"}) == ("add", "journeys")
    assert formkit.row_action({"_action": "remove:journeys.2"}) == ("remove", "journeys.2")
    assert formkit.row_action({"_action": "submit"}) is None and formkit.row_action({}) is None


def test_the_expense_claim_form_renders_an_input_for_every_field(app: Flask) -> None:
    view = formkit.initial(form("expense_claim_start"))
    with app.test_request_context():
        source = '{% from "forms/_fields.html" import fields %}{{ fields(form.fields) }}'
        html = render_template_string(source, form=view)
    for name in ("claim_month", "purpose", "journeys.0.miles", "subsistence.amount_pence",
                 "other_items.0.type", "declaration"):
        assert f'name="{name}"' in html, name
    assert 'value="add:journeys"' in html and 'class="govuk-input__prefix" aria-hidden="true">£' in html
    assert 'type="date"' in html and 'inputmode="decimal"' in html


# --- every scenario of every process survives the HTML form ------------------------------------


def scenario_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """(scenario, form key, data) for each start form and task step of the process scenarios."""
    cases = []
    for path in sorted((REPO / "processes").glob("**/scenarios/*.json")):
        scenario = json.loads(path.read_text())
        bpmn = (path.parent.parent / "process.bpmn")
        text = bpmn.read_text() if bpmn.exists() else ""
        keys = dict(_task_forms(text))
        label = f"{path.parent.parent.name}/{path.stem}"
        if "start" in keys and scenario.get("start"):
            cases.append((label, keys["start"], scenario["start"]))
        for step in scenario.get("steps", []):
            if step.get("task") in keys and step.get("data"):
                cases.append((f"{label}:{step['task']}", keys[step["task"]], step["data"]))
    return cases


def _task_forms(bpmn: str) -> list[tuple[str, str]]:
    import re

    pairs = []
    for match in re.finditer(r'<bpmn:(startEvent|userTask) id="([^"]+)".*?</bpmn:\1>', bpmn, re.S):
        key = re.search(r'name="formKey" value="([^"]+)"', match.group(0))
        if key:
            pairs.append(("start" if match.group(1) == "startEvent" else match.group(2), key.group(1)))
    return pairs


def _comparable(data: Any) -> Any:
    """Data without empty strings (a blank box is 'not given', as the form reads it)."""
    if isinstance(data, dict):
        return {k: _comparable(v) for k, v in data.items() if v != ""}
    if isinstance(data, list):
        return [_comparable(v) for v in data]
    return data


@pytest.mark.parametrize(("label", "form_key", "data"), scenario_cases(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_scenario_data_round_trips_through_the_html_form(label: str, form_key: str,
                                                         data: dict[str, Any]) -> None:
    path = FORMS / "common" / f"{form_key}.json"
    if not path.exists():
        pytest.skip(f"{form_key} is only a force form")
    schema = json.loads(path.read_text())
    editable = {k: v for k, v in data.items() if not schema["properties"].get(k, {}).get("readOnly")}
    text = flatten(schema, editable)
    posted: MultiDict[str, str] = MultiDict()
    for name, value in text.items():
        for v in value if isinstance(value, list) else [value]:
            posted.add(name, v)
    sub = parse(schema, posted)
    assert sub.errors == {}
    assert _comparable(_unticked_removed(sub.data, editable)) == _comparable(editable)
    assert field_errors(schema, sub.data) == field_errors(schema, editable)


def _unticked_removed(parsed: Any, original: Any) -> Any:
    """``parsed`` without the ``False`` of boxes the scenario did not mention (an unticked box is a no)."""
    if isinstance(parsed, dict) and isinstance(original, dict):
        return {k: _unticked_removed(v, original.get(k)) for k, v in parsed.items()
                if not (v is False and k not in original)}
    if isinstance(parsed, list) and isinstance(original, list):
        return [_unticked_removed(p, o) for p, o in zip(parsed, original)]
    return parsed
