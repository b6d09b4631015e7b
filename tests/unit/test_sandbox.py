"""engine.sandbox: the expressions and scripts modellers write keep working, with plain values in and out."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import pytest

from engine.calendar import reset_clock, set_clock
from engine.errors import SandboxError
from engine.sandbox import HELPERS, check_dmn_input_entry, check_expression, check_script, evaluate, execute
from engine.sandbox_helpers import MAX_LOOP_ITERATIONS


@pytest.fixture(autouse=True)
def _fixed_clock() -> Iterator[None]:
    set_clock(datetime(2026, 12, 24, 10, 30, tzinfo=timezone.utc))
    yield
    reset_clock()


DATA: dict[str, Any] = {
    "amount": 750, "category": "it", "days": 7, "name": "  Jo Bloggs ", "rank": "sergeant",
    "lines": [{"desc": "laptop", "pence": 120000}, {"desc": "bag", "pence": 4550}],
    "limits": {"it": 5000, "estates": 10000}, "start_date": "2026-12-24", "flag": None,
    "tags": ["urgent", "it"],
}


@pytest.mark.parametrize("expression, expected", [
    ("amount > 500 and category in ['it', 'estates']", True),
    ("amount > 500 and category not in ('hr',)", True),
    ("not (amount > 500) or flag is None", True),
    ("amount * 2 + 10 - 5 / 5", 1509.0),
    ("amount // 7, amount % 7, -amount, 2 ** 10", [107, 1, -750, 1024]),
    ("5 <= days < 10", True),
    ("0 < amount <= 500", False),
    ("'manager' if days <= 5 else 'director'", "director"),
    ("limits['it']", 5000),
    ("limits.get('hr', 0)", 0),
    ("limits.get('estates')", 10000),
    ("lines[0]['desc']", "laptop"),
    ("lines[-1]['pence']", 4550),
    ("tags[0:1]", ["urgent"]),
    ("name[2:4]", "Jo"),
    ("{'a': 1, 'b': [1, 2]}", {"a": 1, "b": [1, 2]}),
    ("{**limits, 'hr': 1}", {"it": 5000, "estates": 10000, "hr": 1}),
    ("sum([l['pence'] for l in lines])", 124550),
    ("[l['desc'] for l in lines if l['pence'] > 5000]", ["laptop"]),
    ("{k: v * 2 for k, v in limits.items()}", {"it": 10000, "estates": 20000}),
    ("any(t == 'urgent' for t in tags)", True),
    ("all([amount > 1, days > 1])", True),
    ("sorted(limits.keys())", ["estates", "it"]),
    ("sorted(limits.values(), reverse=True)", [10000, 5000]),
    ("min(3, days, 10), max([1, 5, 2]), len(tags), abs(-4), round(2.567, 2)", [3, 5, 2, 4, 2.57]),
    ("int('42') + int(2.9), float('1.5'), str(12) + 'x', bool(0)", [44, 1.5, "12x", False]),
    ("name.strip().lower()", "jo bloggs"),
    ("name.strip().upper().replace('O', '0')", "J0 BL0GGS"),
    ("rank.title()", "Sergeant"),
    ("rank.startswith('ser') and rank.endswith('eant')", True),
    ("'a,b,c'.split(',')", ["a", "b", "c"]),
    ("', '.join(tags)", "urgent, it"),
    ("tags.count('it'), tags.index('it')", [1, 1]),
    ("'P' + str(days) + 'D'", "P7D"),
    ("\"PT1H\"", "PT1H"),
    ("True", True),
    ("None", None),
])
def test_ordinary_expressions(expression: str, expected: Any) -> None:
    check_expression(expression)
    assert evaluate(expression, DATA) == expected


@pytest.mark.parametrize("expression, expected", [
    ("today()", "2026-12-24"),
    ("now()", "2026-12-24T10:30:00+00:00"),
    ("date('2026-12-01')", "2026-12-01"),
    ("date('2026-12-01T09:00:00+00:00')", "2026-12-01"),
    ("iso('2026-12-01T09:00:00+00:00')", "2026-12-01T09:00:00+00:00"),
    ("add_days(start_date, 8)", "2027-01-01"),
    ("add_days('2026-03-01', -1)", "2026-02-28"),
    ("days_between('2026-12-24', '2027-01-01')", 8),
    ("add_working_days('2026-12-24', 1)", "2026-12-29"),
    ("add_working_days(start_date, 1, ['2026-12-29'])", "2026-12-30"),
    ("add_working_days(today(), 3, force_closures=['2026-12-29'])", "2027-01-04"),
    ("working_days_between('2026-12-24', '2027-01-04')", 4),
    ("pence(12.34)", 1234),
    ("pence('1,234.56')", 123456),
    ("pence(0.1) + pence(0.2)", 30),
    ("pence(19.999)", 2000),
    ("pence(5)", 500),
    ("add_days(today(), 1) > today()", True),
])
def test_helpers(expression: str, expected: Any) -> None:
    assert evaluate(expression, DATA) == expected


def test_pence_never_returns_float() -> None:
    assert type(evaluate("pence(0.29)", {})) is int
    assert evaluate("pence(0.29)", {}) == 29   # float(0.29) * 100 would be 28.999999999999996


def test_helpers_accept_date_objects_from_python() -> None:
    assert HELPERS["add_working_days"](date(2026, 12, 24), 1) == "2026-12-29"
    assert HELPERS["iso"](date(2026, 12, 24)) == "2026-12-24"
    assert HELPERS["date"](datetime(2026, 12, 24, 9)) == "2026-12-24"


def test_dmn_style_expressions_with_external_context() -> None:
    from collections import ChainMap
    names = ChainMap({"amount": 700, "category": "it"}, {"dmninputexpr": 700})
    assert evaluate("500 <= dmninputexpr < 5000", names) is True
    assert evaluate("amount< 500", names) is False
    assert evaluate('(category) == ("it")', names) is True
    assert evaluate('dmninputexpr in ["it","estates"]', {"dmninputexpr": "it"}) is True
    check_dmn_input_entry("amount", "< 500")
    check_dmn_input_entry("amount", "500 <= ? < 5000")
    check_dmn_input_entry("category", '? in ["it", "estates"]')
    check_dmn_input_entry("category", '"officer"')
    check_dmn_input_entry("category", "-")
    check_dmn_input_entry("category", None)
    with pytest.raises(SandboxError, match="__class__"):
        check_dmn_input_entry("category", "?.__class__")


def test_undefined_name_is_a_clear_error() -> None:
    with pytest.raises(SandboxError) as err:
        evaluate("amount > limit", {"amount": 1})
    assert "limit" in err.value.message and "Undefined name" in err.value.message
    assert err.value.details == {"name": "limit"}


def test_runtime_errors_become_sandbox_errors() -> None:
    for expression, fragment in [("1 / 0", "ZeroDivisionError"), ("limits['hr']", "KeyError"),
                                 ("tags[10]", "IndexError"), ("'a' + 1", "TypeError"),
                                 ("date('24/12/2026')", "not an ISO date"), ("pence('lots')", "pence()")]:
        with pytest.raises(SandboxError, match=fragment):
            evaluate(expression, DATA)


def test_syntax_error_has_a_line_number() -> None:
    with pytest.raises(SandboxError) as err:
        check_expression("amount >")
    assert err.value.details["lineno"] == 1 and "Syntax error" in err.value.message
    with pytest.raises(SandboxError) as err:
        check_script("x = 1\ny = (\n")
    assert err.value.details["lineno"] >= 2


def test_expressions_may_have_surrounding_whitespace_and_comments() -> None:
    assert evaluate("\n   amount > 5  # big enough\n", DATA) is True


def test_tuple_results_become_lists() -> None:
    assert evaluate("(1, [2, (3, 4)])", {}) == [1, [2, [3, 4]]]


def test_names_are_not_modified_by_evaluate() -> None:
    data = json.loads(json.dumps(DATA))
    evaluate("{**limits, 'x': 1}", data)
    assert data == DATA


SCRIPT = """
total = 0
count = 0
for line in lines:
    if line['pence'] < 5000:
        continue
    total += line['pence']
    count = count + 1
summary = {'total': total, 'count': count}
summary['vat'] = total // 5
limits['it'] = limits['it'] + 1
if total > 100000:
    route = 'director'
elif total > 10000:
    route = 'manager'
else:
    route = 'auto'
due = add_working_days(start_date, 1)
label = name.strip().title()
pairs = [(k, v) for k, v in limits.items()]
for k, v in limits.items():
    last_key = k
    break
nothing = None
pass
"""


def test_script_assignments_if_for() -> None:
    data = json.loads(json.dumps(DATA))
    check_script(SCRIPT)
    execute(SCRIPT, data)
    assert data["total"] == 120000 and data["count"] == 1
    assert data["summary"] == {"total": 120000, "count": 1, "vat": 24000}
    assert data["limits"] == {"it": 5001, "estates": 10000}
    assert data["route"] == "director"
    assert data["due"] == "2026-12-29"
    assert data["label"] == "Jo Bloggs"
    assert data["pairs"] == [["it", 5001], ["estates", 10000]]
    assert data["last_key"] == "it" and data["nothing"] is None
    json.dumps(data)  # JSON-able


def test_script_result_is_json_roundtrip_equal() -> None:
    data: dict[str, Any] = {"items": [1, 2, 3]}
    execute("doubled = [i * 2 for i in items]\nmapping = {'a': (1, 2)}\nflag = bool(items)", data)
    assert json.loads(json.dumps(data)) == data
    assert data["mapping"] == {"a": [1, 2]}


def test_script_does_not_mutate_shared_nested_data_in_place() -> None:
    shared = {"subject": {"name": "original"}}
    earlier_task = {"case": shared}
    this_task = {"case": shared}                     # SpiffWorkflow hands children shallow copies
    execute("case['subject']['name'] = 'changed'", this_task)
    assert this_task["case"]["subject"]["name"] == "changed"
    assert earlier_task["case"]["subject"]["name"] == "original"


def test_changes_through_an_alias_are_written_back() -> None:
    data: dict[str, Any] = {"case": {"status": "new"}, "other": [1]}
    execute("c = case\nc['status'] = 'open'", data)
    assert data["case"] == {"status": "open"} and data["c"] == {"status": "open"}
    assert data["other"] == [1]


def test_failed_script_leaves_task_data_unchanged() -> None:
    data = {"a": 1, "d": {"k": 1}}
    with pytest.raises(SandboxError) as err:
        execute("a = 2\nd['k'] = 2\nb = 1 / 0", data)
    assert data == {"a": 1, "d": {"k": 1}}
    assert err.value.details["lineno"] == 3 and "line 3" in err.value.message


def test_script_error_line_inside_blocks() -> None:
    with pytest.raises(SandboxError) as err:
        execute("x = 1\nfor i in [1, 2]:\n    if i == 2:\n        y = missing\n", {})
    assert err.value.details["lineno"] == 4 and "missing" in err.value.message


def test_script_indented_or_first_line_stripped() -> None:
    data: dict[str, Any] = {}
    execute("\n        x = 1\n        if x:\n            y = 2\n", data)
    assert data == {"x": 1, "y": 2}
    data = {}
    execute("x = 1\n        if x:\n            y = 2\n", data)   # text.strip() of an indented block
    assert data == {"x": 1, "y": 2}


def test_external_context_is_readable_not_writable() -> None:
    data: dict[str, Any] = {}
    external = {"config": {"limit": 5}}
    execute("limit = config['limit']\nconfig['limit'] = 6", data, external=external)
    assert data == {"limit": 5, "config": {"limit": 6}}
    assert external == {"config": {"limit": 5}}


def test_loop_cap_allows_ordinary_loops() -> None:
    data: dict[str, Any] = {"xs": list(range(MAX_LOOP_ITERATIONS))}
    execute("n = 0\nfor x in xs:\n    n += 1", data)
    assert data["n"] == MAX_LOOP_ITERATIONS


def test_helper_shadowed_by_data_still_callable() -> None:
    assert evaluate("date(date)", {"date": "2026-01-02"}) == "2026-01-02"


def test_parse_cache_is_keyed_by_source_text() -> None:
    from engine import sandbox
    expression = "amount > 500 and category in ['it', 'estates'] and limits.get('it', 0) > 10"
    evaluate(expression, DATA)
    before = sandbox._compiled_expression.cache_info().hits
    for _ in range(50):
        evaluate(expression, DATA)
    assert sandbox._compiled_expression.cache_info().hits - before == 50
    execute("y = 1", {})
    before = sandbox._compiled_script.cache_info().hits
    execute("y = 1", {})
    assert sandbox._compiled_script.cache_info().hits == before + 1
