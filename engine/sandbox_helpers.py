"""Limits, safe operators, whitelisted methods, helper functions and plain-value checks for engine.sandbox.

Everything an expression can call lives here; nothing here may hand a module, type or frame to an expression.
"""
from __future__ import annotations

import ast
import math
import operator as op
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine import calendar
from engine.errors import SandboxError

# --------------------------------------------------------------------------- limits

MAX_SOURCE_LENGTH = 50_000        # characters in one expression or script
MAX_AST_DEPTH = 100               # nesting depth of the parsed source
MAX_STRING_LENGTH = 100_000       # characters in any string produced
MAX_COLLECTION_SIZE = 100_000     # elements in any list/dict/tuple produced by + or *
MAX_VALUE_ITEMS = 250_000         # items in one value, counted as a tree (shared parts count again)
MAX_VALUE_DEPTH = 50              # nesting depth of a list/dict value
MAX_POWER_EXPONENT = 100          # x ** y with |y| above this is refused
MAX_INT_BITS = 1024               # integers beyond +-2**1024 are refused
MAX_OPERATIONS = 200_000          # AST node evaluations + statements per evaluate()/execute() call
MAX_SECONDS = 1.0                 # wall-clock backstop per evaluate()/execute() call
MAX_LOOP_ITERATIONS = 10_000      # total `for` iterations per execute() call

PLAIN_SCALARS = (type(None), bool, int, float, str)
_RUNTIME_TYPES = frozenset({type(None), bool, int, float, str, list, dict, tuple, slice})


def refuse(message: str, **details: Any) -> SandboxError:
    return SandboxError(message, details=details or None)


def check_runtime_value(value: Any) -> Any:
    """Shallow check on every intermediate result: only plain values ever flow through an expression."""
    if type(value) not in _RUNTIME_TYPES:
        raise refuse(f"Refused: a value of type '{type(value).__name__}' is not a plain value "
                     "(only None, bool, int, float, str, list, dict are allowed)", type=type(value).__name__)
    return value


_CONTAINERS = (list, dict, tuple)


def measure(*values: Any) -> None:
    """Refuse values whose tree (shared parts counted each time they appear) is too big or too deep.

    Called before every operation that walks nested values in C (==, <, in, sorted, min, max, str, count,
    index), so ``a = [a, a]`` doubling cannot make one of them walk 2**n elements. Costs O(size), at most
    MAX_VALUE_ITEMS steps; plain scalars cost nothing.
    """
    stack = [(v, 0) for v in values if type(v) in _CONTAINERS]
    count = 0
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_VALUE_DEPTH:
            raise refuse(f"Refused: value is nested too deeply or contains itself (limit {MAX_VALUE_DEPTH})")
        children = list(value.keys()) + list(value.values()) if type(value) is dict else value
        count += 1 + len(children)
        if count > MAX_VALUE_ITEMS:
            raise refuse(f"Refused: value is too large (more than {MAX_VALUE_ITEMS} items)")
        stack.extend((c, depth + 1) for c in children if type(c) in _CONTAINERS)


def _deep(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def guarded(a: Any, b: Any) -> Any:
        if type(a) in _CONTAINERS or type(b) in _CONTAINERS:
            measure(a, b)
        return fn(a, b)
    return guarded


def _check_int(value: Any) -> Any:
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise refuse(f"Refused: integer result is too large (more than {MAX_INT_BITS} bits)")
    return value


def _check_size(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
        raise refuse(f"Refused: string result is too long (more than {MAX_STRING_LENGTH} characters)")
    if isinstance(value, (list, tuple, dict)) and len(value) > MAX_COLLECTION_SIZE:
        raise refuse(f"Refused: collection is too large (more than {MAX_COLLECTION_SIZE} elements)")
    return value


def to_stored(value: Any, what: str = "value") -> Any:
    """Deep-check a value leaving the sandbox: JSON-able only (tuples become lists), bounded in size/depth."""
    budget = [MAX_VALUE_ITEMS]
    path: set[int] = set()

    def walk(v: Any, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise refuse(f"Refused: {what} is too large (more than {MAX_VALUE_ITEMS} items)")
        if depth > MAX_VALUE_DEPTH:
            raise refuse(f"Refused: {what} is nested too deeply (more than {MAX_VALUE_DEPTH} levels)")
        t = type(v)
        if t is float and not math.isfinite(v):
            raise refuse(f"Refused: {what} contains a non-finite number ({v!r}), which is not JSON")
        if t in PLAIN_SCALARS:
            return v
        if t is list or t is tuple or t is dict:
            if id(v) in path:
                raise refuse(f"Refused: {what} contains itself")
            path.add(id(v))
            if t is dict:
                bad = [k for k in v if type(k) is not str]
                if bad:
                    raise refuse(f"Refused: {what} has a dict key {bad[0]!r} that is not a string "
                                 "(task data is JSON)")
                out: Any = {k: walk(x, depth + 1) for k, x in v.items()}
            else:
                out = [walk(x, depth + 1) for x in v]
            path.discard(id(v))
            return out
        raise refuse(f"Refused: {what} contains a value of type '{t.__name__}'; only None, bool, int, float, "
                     "str, list and dict can be stored", type=t.__name__)

    return walk(value, 0)


# --------------------------------------------------------------------------- operators


def _safe_add(a: Any, b: Any) -> Any:
    if hasattr(a, "__len__") and hasattr(b, "__len__"):
        _check_size_pair(len(a) + len(b), a)
    return _check_int(a + b)


def _check_size_pair(n: int, sample: Any) -> None:
    limit = MAX_STRING_LENGTH if isinstance(sample, str) else MAX_COLLECTION_SIZE
    if n > limit:
        raise refuse(f"Refused: result would be too long ({n} > {limit} elements/characters)")


def _safe_mult(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            _check_size_pair(len(seq) * max(times, 0), seq)
    return _check_int(a * b)


def _safe_pow(a: Any, b: Any) -> Any:
    if isinstance(b, (int, float)) and abs(b) > MAX_POWER_EXPONENT:
        raise refuse(f"Refused: exponent {b} is too large (the limit is {MAX_POWER_EXPONENT})")
    if type(a) is int and type(b) is int and b > 0 and a.bit_length() * b > MAX_INT_BITS:
        raise refuse(f"Refused: integer result of ** would be too large (more than {MAX_INT_BITS} bits)")
    return _check_int(a ** b)


def _safe_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):
        raise refuse("Refused: '%' string formatting is not allowed in expressions; use + and str()")
    return a % b


def _checked(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: _check_int(fn(a, b))


OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: _safe_add, ast.Sub: _checked(op.sub), ast.Mult: _safe_mult, ast.Div: op.truediv,
    ast.FloorDiv: op.floordiv, ast.Mod: _safe_mod, ast.Pow: _safe_pow,
    ast.USub: lambda a: _check_int(-a), ast.UAdd: op.pos, ast.Not: op.not_,
    ast.Eq: _deep(op.eq), ast.NotEq: _deep(op.ne), ast.Lt: _deep(op.lt), ast.LtE: _deep(op.le),
    ast.Gt: _deep(op.gt), ast.GtE: _deep(op.ge),
    ast.In: _deep(lambda a, b: a in b), ast.NotIn: _deep(lambda a, b: a not in b),
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}

# --------------------------------------------------------------------------- whitelisted methods


def _safe_replace(s: str, old: str, new: str, count: int = -1) -> str:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = s.count(old) if count < 0 else min(count, s.count(old))
        _check_size_pair(len(s) + hits * (len(new) - len(old)), s)
    return s.replace(old, new, count)


def _safe_join(sep: str, items: Iterable[Any]) -> str:
    items = list(items)
    if any(type(x) is not str for x in items):
        raise refuse("join() needs a list of strings")
    _check_size_pair(sum(map(len, items)) + len(sep) * max(len(items) - 1, 0), sep)
    return sep.join(items)


_STR_METHODS: dict[str, Callable[..., Any]] = {
    "lower": str.lower, "upper": str.upper, "strip": str.strip, "title": str.title,
    "startswith": str.startswith, "endswith": str.endswith, "split": str.split,
    "replace": _safe_replace, "join": _safe_join,
}


def _count(seq: Any, x: Any) -> int:
    measure(seq, x)
    return int(seq.count(x))


def _index(seq: Any, x: Any, *bounds: int) -> int:
    measure(seq, x)
    return int(seq.index(x, *bounds))


_SEQ_METHODS: dict[str, Callable[..., Any]] = {"count": _count, "index": _index}
METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    str: _STR_METHODS,
    dict: {"get": dict.get, "keys": lambda d: list(d), "values": lambda d: list(d.values()),
           "items": lambda d: [[k, v] for k, v in d.items()]},
    list: _SEQ_METHODS,
    tuple: _SEQ_METHODS,
}
METHOD_NAMES = frozenset(name for table in METHODS.values() for name in table)


def call_method(obj: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Call a whitelisted method on a plain value; the method is looked up in METHODS, never via getattr."""
    table = METHODS.get(type(obj))
    if table is None or name not in table:
        allowed = ", ".join(sorted(table)) if table else "none"
        raise refuse(f"Refused: method '{name}' is not allowed on a value of type '{type(obj).__name__}' "
                     f"(allowed: {allowed})", method=name)
    return _check_size(table[name](obj, *args, **kwargs))


# --------------------------------------------------------------------------- helper functions


def _today() -> str:
    return calendar.today().isoformat()


def _now() -> str:
    return calendar.utcnow().isoformat()


def _date(value: Any) -> str:
    return calendar.to_date(value).isoformat()


def _iso(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"not an ISO date or date-time: {value!r}") from None
    raise TypeError(f"iso() needs a date or an ISO string, got {type(value).__name__}")


def _int_arg(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an integer, got {type(n).__name__}")
    return n


def _add_days(d: Any, n: Any) -> str:
    n = _int_arg(n, "the number of days")
    if abs(n) > 366_000:
        raise ValueError("too many days")
    return (calendar.to_date(d) + timedelta(days=n)).isoformat()


def _days_between(a: Any, b: Any) -> int:
    return (calendar.to_date(b) - calendar.to_date(a)).days


def _add_working_days(d: Any, n: Any, force_closures: Iterable[Any] | None = None) -> str:
    return calendar.add_working_days(d, _int_arg(n, "the number of working days"), force_closures or ())


def _working_days_between(a: Any, b: Any, force_closures: Iterable[Any] | None = None) -> int:
    return calendar.working_days_between(a, b, force_closures or ())


def _pence(x: Any) -> int:
    """Pounds to integer pence via Decimal, rounding half up to the nearest penny."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        raise TypeError(f"pence() needs a number or a numeric string, got {type(x).__name__}")
    try:
        amount = Decimal(x.replace("£", "").replace(",", "").strip() if isinstance(x, str) else str(x))
    except InvalidOperation:
        raise ValueError(f"pence() cannot read {x!r} as an amount of pounds") from None
    if not amount.is_finite() or abs(amount) > Decimal(10) ** 15:
        raise ValueError(f"pence() amount out of range: {x!r}")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _numbers(values: Iterable[Any], fn: str) -> list[Any]:
    values = list(values)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise TypeError(f"{fn}() needs a list of numbers")
    return values


def _sum(values: Iterable[Any]) -> Any:
    return _check_int(sum(_numbers(values, "sum")))


def _round(x: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and abs(_int_arg(ndigits, "round()'s ndigits")) > 100:
        raise ValueError("round() ndigits must be between -100 and 100")
    return round(x, ndigits)


def _int(x: Any = 0) -> int:
    if isinstance(x, str) and len(x) > 400:
        raise ValueError("int() of a string longer than 400 characters")
    return _check_int(int(x))


def _float(x: Any = 0.0) -> float:
    return float(x)


def _str(x: Any = "") -> str:
    measure(x)
    return _check_size(str(x))


def _bool(x: Any = False) -> bool:
    return bool(x)


def _sorted(values: Iterable[Any], reverse: bool = False) -> list[Any]:
    measure(values)
    return sorted(values, reverse=bool(reverse))


def _min(*args: Any, **kwargs: Any) -> Any:
    measure(args, kwargs)
    return min(*args, **kwargs)


def _max(*args: Any, **kwargs: Any) -> Any:
    measure(args, kwargs)
    return max(*args, **kwargs)


HELPERS: dict[str, Callable[..., Any]] = {
    "today": _today, "now": _now, "date": _date, "iso": _iso,
    "add_days": _add_days, "days_between": _days_between,
    "add_working_days": _add_working_days, "working_days_between": _working_days_between,
    "sum": _sum, "min": _min, "max": _max, "len": len, "round": _round, "abs": abs,
    "int": _int, "float": _float, "str": _str, "bool": _bool, "sorted": _sorted,
    "any": any, "all": all, "pence": _pence,
}
