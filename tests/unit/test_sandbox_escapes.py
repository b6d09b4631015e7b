"""engine.sandbox: a corpus of escape and resource-exhaustion attempts; every one must end in SandboxError.

"check" cases are refused by the deploy-time static check (and again when run); "run" cases pass the static
check and are stopped while running. MARKER is replaced by a file path that must never be created.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine import sandbox
from engine.errors import SandboxError
from engine.sandbox import check_expression, check_script, evaluate, execute


class Case(NamedTuple):
    kind: str       # "expr" or "script"
    source: str
    when: str       # "check": refused statically; "run": refused while running
    fragment: str   # must appear in the error message ("a|b": one of them)


TOUCH = "__import__('os').system('touch MARKER')"

CASES = {
    # --- imports and dangerous builtins -------------------------------------------------------------
    "dunder_import": Case("expr", TOUCH, "check", "'__import__'"),
    "dunder_import_script": Case("script", TOUCH, "check", "'__import__'"),
    "import_os": Case("script", "import os\nos.system('touch MARKER')", "check", "import statement"),
    "from_os_import": Case("script", "from os import system\nsystem('touch MARKER')", "check",
                           "import statement"),
    "builtins_dict": Case("expr", "__builtins__['open']('MARKER', 'w')", "check", "'__builtins__'"),
    "open_read": Case("expr", "open('/etc/passwd')", "check", "calling 'open'"),
    "open_write": Case("script", "f = open('MARKER', 'w')", "check", "calling 'open'"),
    "eval": Case("expr", "eval(\"__import__('os').system('touch MARKER')\")", "check", "calling 'eval'"),
    "exec": Case("script", "exec(\"import os; os.system('touch MARKER')\")", "check", "calling 'exec'"),
    "compile": Case("expr", "compile('1', 'f', 'eval')", "check", "calling 'compile'"),
    "globals": Case("expr", "globals()", "check", "calling 'globals'"),
    "locals": Case("expr", "locals()", "check", "calling 'locals'"),
    "vars": Case("expr", "vars()", "check", "calling 'vars'"),
    "type": Case("expr", "type(x)", "check", "calling 'type'"),
    "getattr": Case("expr", "getattr(x, '__class__')", "check", "calling 'getattr'"),
    "print": Case("script", "print('hello')", "check", "calling 'print'"),
    # --- object-graph walks ------------------------------------------------------------------------
    "tuple_subclasses": Case("expr", "().__class__.__base__.__subclasses__()", "check", "'__subclasses__'"),
    "str_mro": Case("expr", "''.__class__.__mro__[1].__subclasses__()", "check", "'__subclasses__'"),
    "dunder_dict": Case("expr", "x.__dict__", "check", "attribute access to '__dict__'"),
    "module_chain": Case("expr", "datetime.sys", "check", "attribute access to 'sys'"),
    "helper_globals": Case("expr", "today.__globals__", "check", "attribute access to '__globals__'"),
    "str_type_dict": Case("expr", "str.__dict__", "check", "attribute access to '__dict__'"),
    "method_self": Case("expr", "'x'.join.__self__", "check", "attribute access to '__self__'"),
    "method_value": Case("expr", "'x'.join", "check", "attribute access to 'join'"),
    "generator_frame": Case("expr", "(x for x in []).gi_frame", "check", "attribute access to 'gi_frame'"),
    "generator_frame_back": Case("expr", "(x for x in []).gi_frame.f_back.f_builtins", "check",
                                 "attribute access to 'f_builtins'"),
    "format_attr": Case("expr", "'{0.__class__}'.format(1)", "check", "the method 'format'"),
    "format_map": Case("expr", "'{x}'.format_map(x)", "check", "the method 'format_map'"),
    "fstring": Case("expr", "f'{x.__class__}'", "check", "f-string"),
    "fstring_plain": Case("expr", "f'{xs}'", "check", "f-string"),
    "not_whitelisted_method": Case("expr", "x.pop('a')", "check", "the method 'pop'"),
    "method_on_wrong_type": Case("expr", "x.lower()", "run",
                                 "method 'lower' is not allowed on a value of type 'dict'"),
    "percent_format": Case("expr", "'%s %s' % ('a', 'b')", "run", "'%' string formatting"),
    "percent_width": Case("expr", "'%*d' % (10**9, 1)", "run", "'%' string formatting"),
    "helper_as_value": Case("expr", "sorted(xs, key=len)", "run", "'len' is a helper function"),
    "module_in_data": Case("expr", "os_module", "run", "type 'module' is not a plain value"),
    "function_in_data": Case("expr", "callback", "run", "type 'function' is not a plain value"),
    "call_data_value": Case("expr", "x['a']()", "check", "calling anything but a helper"),
    "lambda": Case("expr", "(lambda: 1)()", "check", "lambda function"),
    "lambda_script": Case("script", "f = lambda: __import__('os')", "check", "lambda function"),
    "walrus": Case("expr", "(y := 1)", "check", "walrus"),
    "starred": Case("expr", "[*xs]", "check", "'*' unpacking"),
    "kwargs_unpack": Case("expr", "sorted(xs, **x)", "check", "'**' unpacking"),
    "set_literal": Case("expr", "{1, 2}", "check", "set literal"),
    "bytes_literal": Case("expr", "b'abc'", "check", "bytes literal"),
    "complex_literal": Case("expr", "1j", "check", "complex literal"),
    "ellipsis_literal": Case("expr", "...", "check", "ellipsis literal"),
    "shift": Case("expr", "1 << 100000", "check", "operator '<<'"),
    "bitand": Case("expr", "1 & 3", "check", "operator '&'"),
    # --- resource exhaustion -----------------------------------------------------------------------
    "power_tower": Case("expr", "9**9**9", "run", "exponent"),
    "huge_power": Case("expr", "10**100000", "run", "exponent"),
    "int_growth": Case("script", "n = 2\nfor i in xs:\n    n = n * n", "run", "integer result is too large"),
    "string_repeat": Case("expr", "'a' * 10**9", "run", "too long"),
    "list_repeat": Case("expr", "[1] * 10**9", "run", "too long"),
    "nested_repeat": Case("script", "a = [1] * 100000\nb = [a] * 100000", "run", "too large"),
    "doubling_dag": Case("script", "a = [1]\nfor i in xs[:40]:\n    a = [a, a]\nb = str(a)", "run",
                         "too large"),
    "replace_blowup": Case("expr", "('a' * 100000).replace('a', 'aa')", "run", "too long"),
    "join_blowup": Case("expr", "' '.join(['a' * 100000, 'b'])", "run", "too long"),
    "range_comprehension": Case("expr", "[x for x in range(10**9)]", "check", "calling 'range'"),
    "huge_comprehension": Case("expr", "[i for i in big]", "run", "too many elements"),
    "nested_comprehension": Case("expr", "[[[1 for a in xs] for b in xs] for c in xs]", "run",
                                 "too many elements"),
    "long_int_parse": Case("expr", "int('9' * 5000)", "run", "longer than 400"),
    "round_digits": Case("expr", "round(1, -10**6)", "run", "ndigits"),
    "deep_nesting": Case("expr", "[" * 150 + "]" * 150, "check", "nesting deeper than"),
    "deep_unary": Case("expr", "-" * 500 + "1", "check", "nesting deeper than"),
    "deep_parentheses": Case("expr", "(" * 300 + "1" + ")" * 300, "check", "Syntax error"),
    "while_true": Case("script", "while True:\n    pass", "check", "while loop"),
    "loop_cap": Case("script", "n = 0\nfor i in xs:\n    for j in xs:\n        n += 1", "run",
                     "more than 10000 iterations"),
    "operation_budget": Case("script", "for i in xs:\n    for j in xs[:45]:\n        n = "
                             + " + ".join(["i"] * 40), "run", "too much work|time budget"),
    "self_containing": Case("script", "d = {}\nd['me'] = d", "run", "contains itself"),
    "self_containing_compare": Case("script", "d = {}\nd['me'] = d\ne = d == {'me': {}}", "run",
                                    "contains itself"),
    "nested_tuples_hash": Case("expr", "{((1, 2), 3): 1}", "run", "tuple inside a tuple"),
    "dag_compare": Case("script", "a = [1]\nb = [1]\nfor i in xs[:40]:\n    a = [a, a]\n    b = [b, b]\n"
                        "same = a == b", "run", "too large"),
    "dag_sorted": Case("script", "a = [1]\nfor i in xs[:40]:\n    a = [a, a]\nb = sorted([a, a])", "run",
                       "too large"),
    "dag_in": Case("script", "a = [1]\nfor i in xs[:40]:\n    a = [a, a]\nb = [[2]] in [a]", "run",
                   "too large"),
    # --- statements that scripts may not use -------------------------------------------------------
    "def": Case("script", "def f():\n    pass", "check", "function definition"),
    "class": Case("script", "class A:\n    pass", "check", "class definition"),
    "with_open": Case("script", "with open('MARKER', 'w') as f:\n    pass", "check", "with statement"),
    "try_except": Case("script", "try:\n    x = 1\nexcept Exception:\n    pass", "check", "try/except"),
    "del": Case("script", "del x", "check", "del statement"),
    "global": Case("script", "global x\nx = 1", "check", "global declaration"),
    "nonlocal": Case("script", "nonlocal x", "check", "nonlocal declaration"),
    "raise": Case("script", "raise SystemExit(1)", "check", "raise statement"),
    "assert": Case("script", "assert False", "check", "assert statement"),
    "return": Case("script", "return 1", "check", "return statement"),
    "match": Case("script", "match x:\n    case _:\n        pass", "check", "match statement"),
    "attribute_store": Case("script", "x.a = 1", "check", "assigning to anything but a name"),
    "dunder_store": Case("script", "x.__class__ = 1", "check", "attribute access to '__class__'"),
    "tuple_assign": Case("script", "a, b = 1, 2", "check", "assigning to anything but a name"),
    "annotated": Case("script", "y: int = 1", "check", "annotated assignment"),
    "slice_store": Case("script", "xs[0:1] = [5]", "check", "assigning to a slice"),
    "str_item_store": Case("script", "s = 'abc'\ns[0] = 'x'", "run", "only allowed on dicts and lists"),
    "for_else": Case("script", "for i in xs:\n    pass\nelse:\n    y = 1", "check", "else clause"),
    "break_outside_loop": Case("script", "break", "check", "break/continue outside"),
    "dunder_name_store": Case("script", "__builtins__ = {}", "check", "'__builtins__'"),
}


def _names() -> dict[str, Any]:
    return {"x": {"a": 1}, "xs": list(range(200)), "big": list(range(20_000)), "datetime": "2026-01-01",
            "os_module": os, "callback": lambda: os.system("true")}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_escape_attempt_is_refused(case: Case, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    source = case.source.replace("MARKER", str(marker))
    check = check_expression if case.kind == "expr" else check_script
    if case.when == "check":
        with pytest.raises(SandboxError) as refused:
            check(source)
        assert any(f in refused.value.message for f in case.fragment.split("|")), refused.value.message
        assert refused.value.message.startswith(("Refused:", "Syntax error"))
        assert "lineno" in refused.value.details
    else:
        check(source)   # statically fine; must be stopped at run time
    names = _names()
    before = {k: v for k, v in names.items() if k not in ("os_module", "callback")}
    before = copy.deepcopy(before)
    started = time.monotonic()
    with pytest.raises(SandboxError) as stopped:
        if case.kind == "expr":
            evaluate(source, names)
        else:
            execute(source, names)
    assert time.monotonic() - started < 3.0
    assert any(f in stopped.value.message for f in case.fragment.split("|")), stopped.value.message
    assert not marker.exists()
    assert {k: v for k, v in names.items() if k not in ("os_module", "callback")} == before


SLOW_SCRIPT = "n = 0\nfor i in xs:\n    for j in xs[:45]:\n        n = " + " + ".join(["i"] * 40)


def test_operation_budget_alone_stops_a_long_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 3600.0)
    names = _names()
    with pytest.raises(SandboxError, match=f"more than {sandbox.MAX_OPERATIONS} operations"):
        execute(SLOW_SCRIPT, names)
    assert "n" not in names


def test_time_budget_alone_stops_a_long_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_OPERATIONS", 10**12)
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.2)
    started = time.monotonic()
    with pytest.raises(SandboxError, match="time budget of 0.2 s exceeded"):
        execute(SLOW_SCRIPT, _names())
    assert time.monotonic() - started < 1.5


def test_time_budget_covers_expensive_single_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sorted() is one operation but costs milliseconds: the clock stops the loop, not the count."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.2)
    names = {"xs": list(range(10_000)), "big": [str(i) for i in range(100_000)]}
    started = time.monotonic()
    with pytest.raises(SandboxError, match="time budget"):
        execute("for i in xs:\n    s = sorted(big, reverse=True)", names)
    assert time.monotonic() - started < 1.5


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert sum(c.when == "run" for c in CASES.values()) >= 10


def test_the_marker_would_detect_an_escape(tmp_path: Path) -> None:
    """Control: SpiffWorkflow's default environment does run the payload, so the marker check is real."""
    marker = tmp_path / "pwned"
    TaskDataEnvironment().execute(TOUCH.replace("MARKER", str(marker)), {})
    assert marker.exists()


def test_whitelisted_methods_cannot_be_reached_on_subclasses() -> None:
    class Sneaky(str):
        def lower(self) -> str:  # pragma: no cover - must never be called
            raise AssertionError("called")

    with pytest.raises(SandboxError, match="not a plain value"):
        evaluate("s.lower()", {"s": Sneaky("A")})


def test_refused_values_cannot_be_stored_by_scripts() -> None:
    names: dict[str, Any] = {}
    with pytest.raises(SandboxError, match="not a string"):
        execute("d = {1: 'a'}", names)
    with pytest.raises(SandboxError, match="non-finite"):
        execute("f = float('inf')", names)
    assert names == {}
