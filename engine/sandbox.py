"""The expression/script sandbox: gateway conditions, script tasks, DMN cells and timer expressions run here.

It never passes model text to Python eval/exec/compile and exposes no modules, types or attributes beyond
the whitelisted methods in engine.sandbox_helpers.
"""
from __future__ import annotations

import ast
import functools
import re
import textwrap
import time
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import SandboxError
from engine.sandbox_helpers import (
    HELPERS, MAX_AST_DEPTH, MAX_COLLECTION_SIZE, MAX_INT_BITS, MAX_LOOP_ITERATIONS, MAX_OPERATIONS,
    MAX_SECONDS, MAX_SOURCE_LENGTH, MAX_STRING_LENGTH, METHOD_NAMES, OPERATORS, PLAIN_SCALARS,
    call_method, check_runtime_value, refuse, to_stored,
)

__all__ = [
    "HELPERS", "SandboxEnvironment", "check_dmn_input_entry", "check_expression", "check_script",
    "evaluate", "execute", "make_script_engine",
]

EXPRESSIONS, SCRIPTS = "expressions", "scripts"

# --------------------------------------------------------------------------- static check (deploy time)

_REFUSED = {
    ast.Import: "an import statement", ast.ImportFrom: "an import statement",
    ast.FunctionDef: "a function definition (def)", ast.AsyncFunctionDef: "a function definition (def)",
    ast.ClassDef: "a class definition", ast.Lambda: "a lambda function",
    ast.While: "a while loop (use a for loop over a list)", ast.With: "a with statement",
    ast.AsyncWith: "a with statement", ast.AsyncFor: "an async for loop", ast.Try: "a try/except statement",
    ast.TryStar: "a try/except statement", ast.Raise: "a raise statement", ast.Assert: "an assert statement",
    ast.Global: "a global declaration", ast.Nonlocal: "a nonlocal declaration", ast.Delete: "a del statement",
    ast.Return: "a return statement", ast.AnnAssign: "an annotated assignment",
    ast.Match: "a match statement",
    ast.NamedExpr: "the walrus operator ':='", ast.JoinedStr: "an f-string (build strings with + and str())",
    ast.FormattedValue: "an f-string", ast.Starred: "'*' unpacking", ast.Set: "a set literal (use a list)",
    ast.SetComp: "a set comprehension", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}
_SYMBOLS = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
            ast.MatMult: "@", ast.Invert: "~"}
_EXPR_NODES = frozenset({
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.List,
    ast.Tuple, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.comprehension, ast.Compare, ast.Call,
    ast.keyword, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.Name, ast.Load, ast.Store,
    *OPERATORS,
})
_STMT_NODES = frozenset({ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Expr, ast.Pass,
                         ast.Break, ast.Continue})


def _fail(node: ast.AST | None, kind: str, message: str, why: str = "") -> SandboxError:
    line = getattr(node, "lineno", None) or 1
    where = f" (line {line})" if kind == SCRIPTS else ""
    return refuse(f"Refused: {message} is not allowed in {kind}{where}{why}", lineno=line,
                  col=getattr(node, "col_offset", None))


def _check_target(node: ast.AST, kind: str, subscripts: bool) -> None:
    """Assignment/loop targets: a name, (in for/comprehensions) a tuple of names, or d[k]...[k] on a name."""
    if isinstance(node, ast.Tuple) and not subscripts:
        for elt in node.elts:
            _check_target(elt, kind, subscripts)
        return
    root = node
    while subscripts and isinstance(root, ast.Subscript):
        if isinstance(root.slice, ast.Slice):
            raise _fail(root, kind, "assigning to a slice")
        root = root.value
    if not isinstance(root, ast.Name):
        raise _fail(node, kind, "assigning to anything but a name or an item d[key] of a named dict/list")


class _Checker:
    def __init__(self, kind: str, tree: ast.AST) -> None:
        self.kind = kind
        self.call_funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

    def visit(self, node: ast.AST, depth: int = 0, loops: int = 0) -> None:
        kind, t = self.kind, type(node)
        if depth > MAX_AST_DEPTH:
            raise _fail(node, kind, f"nesting deeper than {MAX_AST_DEPTH} levels")
        if t in _REFUSED:
            raise _fail(node, kind, _REFUSED[t])
        if t in _SYMBOLS:
            raise _fail(None, kind, f"the operator '{_SYMBOLS[t]}'")
        if not (t in _EXPR_NODES or (kind == SCRIPTS and t in _STMT_NODES)):
            raise _fail(node, kind, f"the Python construct '{t.__name__}'")
        self.check_node(node, loops)
        if isinstance(node, ast.For):
            loops += 1
        for child in ast.iter_child_nodes(node):
            self.visit(child, depth + 1, loops)

    def check_node(self, node: ast.AST, loops: int) -> None:
        kind = self.kind
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise _fail(node, kind, f"the name '{node.id}'", ": names beginning with '_' are reserved")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise _fail(node, kind, f"attribute access to '{node.attr}'",
                            ": names beginning with '_' are reserved")
            if id(node) not in self.call_funcs:
                raise _fail(node, kind, f"attribute access to '{node.attr}'",
                            ": only whitelisted methods of plain values may be called, e.g. name.lower()")
            if node.attr not in METHOD_NAMES:
                allowed = ", ".join(sorted(METHOD_NAMES))
                raise _fail(node, kind, f"the method '{node.attr}'", f" (allowed methods: {allowed})")
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name is not None and name not in HELPERS and not name.startswith("_"):
                allowed = ", ".join(sorted(HELPERS))
                raise _fail(node, kind, f"calling '{name}'", f" (allowed functions: {allowed})")
            if not isinstance(node.func, (ast.Name, ast.Attribute)):
                raise _fail(node, kind, "calling anything but a helper function or a whitelisted method")
            if any(k.arg is None for k in node.keywords):
                raise _fail(node, kind, "'**' unpacking of keyword arguments")
        elif isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in PLAIN_SCALARS:
                raise _fail(node, kind, f"a {type(value).__name__} literal")
            if isinstance(value, str) and len(value) > MAX_STRING_LENGTH:
                raise _fail(node, kind, f"a string literal longer than {MAX_STRING_LENGTH} characters")
            if type(value) is int and value.bit_length() > MAX_INT_BITS:
                raise _fail(node, kind, f"an integer literal above {MAX_INT_BITS} bits")
        elif isinstance(node, ast.comprehension):
            if node.is_async:
                raise _fail(node, kind, "an async comprehension")
            _check_target(node.target, kind, subscripts=False)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                _check_target(target, kind, subscripts=True)
        elif isinstance(node, ast.AugAssign):
            _check_target(node.target, kind, subscripts=True)
        elif isinstance(node, ast.For):
            _check_target(node.target, kind, subscripts=False)
            if node.orelse:
                raise _fail(node, kind, "an else clause on a for loop")
        elif isinstance(node, (ast.Break, ast.Continue)) and not loops:
            raise _fail(node, kind, "break/continue outside a for loop")


def _script_text(source: str) -> str:
    """Dedent script text; also accept text whose first line was stripped but whose block stayed indented."""
    text = textwrap.dedent(source)
    try:
        ast.parse(text)
    except IndentationError:
        first, _, rest = text.partition("\n")
        candidate = first + "\n" + textwrap.dedent(rest)
        try:
            ast.parse(candidate)
            return candidate
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    return text


def _parse(source: str, kind: str) -> tuple[str, ast.AST]:
    if not isinstance(source, str):
        raise refuse(f"Refused: {kind} must be text, got {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise refuse(f"Refused: source longer than {MAX_SOURCE_LENGTH} characters is not allowed in {kind}")
    text = source.strip() if kind == EXPRESSIONS else _script_text(source)
    try:
        tree = ast.parse(text, mode="eval" if kind == EXPRESSIONS else "exec")
    except SyntaxError as exc:
        line = exc.lineno or 1
        raise refuse(f"Syntax error in {kind[:-1]} on line {line}: {exc.msg}",
                     lineno=line, col=exc.offset) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise refuse(f"Refused: cannot parse {kind[:-1]}: {type(exc).__name__}: {exc}", lineno=1) from None
    for node in ast.walk(tree):  # refused constructs and reserved names first: the clearest message
        if type(node) in _REFUSED:
            raise _fail(node, kind, _REFUSED[type(node)])
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if name.startswith("_"):
            what = f"the name '{name}'" if isinstance(node, ast.Name) else f"attribute access to '{name}'"
            raise _fail(node, kind, what, ": names beginning with '_' are reserved")
    _Checker(kind, tree).visit(tree)
    return text, tree


@functools.lru_cache(maxsize=4096)
def _compiled_expression(source: str) -> ast.expr:
    return _parse(source, EXPRESSIONS)[1].body  # type: ignore[attr-defined,no-any-return]


@functools.lru_cache(maxsize=1024)
def _compiled_script(source: str) -> tuple[str, list[ast.stmt]]:
    text, tree = _parse(source, SCRIPTS)
    return text, tree.body  # type: ignore[attr-defined]


def check_expression(expression: str) -> None:
    """Deploy-time check: raise SandboxError if the expression does not parse or uses a refused construct."""
    _compiled_expression(expression)


def check_script(script: str) -> None:
    """Deploy-time check for script-task text (several statements)."""
    _compiled_script(script)


_DMN_QUESTION_MARK = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')  # as SpiffWorkflow's DMNEngine


def check_dmn_input_entry(input_expression: str, entry: str | None) -> None:
    """Deploy-time check of a DMN input cell, combined with its column expression as SpiffWorkflow does."""
    check_expression(input_expression)
    if entry is None or entry.strip() in ("", "-"):
        return
    entry = _DMN_QUESTION_MARK.sub("dmninputexpr", entry)
    if "dmninputexpr" in entry:
        check_expression(entry)
        return
    try:
        ast.parse(entry.strip(), mode="eval")
        check_expression(f"({input_expression}) == ({entry})")
    except SyntaxError:
        check_expression(input_expression + entry)


# --------------------------------------------------------------------------- evaluation


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval, hardened: plain values only, helper calls and whitelisted methods only, budgeted."""

    # AST node type -> simpleeval handler. Deliberately absent: Attribute (only method calls, in _eval_call),
    # Assign/AugAssign/Expr (statements are interpreted by _ScriptRunner), Import, f-strings and Set.
    _HANDLERS = {
        ast.Name: "_eval_name", ast.Constant: "_eval_constant", ast.UnaryOp: "_eval_unaryop",
        ast.BinOp: "_eval_binop", ast.BoolOp: "_eval_boolop", ast.Compare: "_eval_compare",
        ast.IfExp: "_eval_ifexp", ast.Call: "_eval_call", ast.Subscript: "_eval_subscript",
        ast.Slice: "_eval_slice", ast.Dict: "_eval_dict", ast.Tuple: "_eval_tuple", ast.List: "_eval_list",
        ast.ListComp: "_eval_comprehension", ast.GeneratorExp: "_eval_comprehension",
        ast.DictComp: "_eval_comprehension",
    }

    def __init__(self, names: Mapping[str, Any]) -> None:
        # SimpleEval.__init__ is not called: it enters warnings.catch_warnings(), which is not thread-safe,
        # and registers handlers and functions (list, dict, set types...) that we do not want.
        self.operators = OPERATORS
        self.functions: dict[str, Any] = {}
        self.names = names
        self.allowed_attrs = None
        self.nodes = {t: getattr(self, name) for t, name in self._HANDLERS.items()}
        self.deadline = time.monotonic() + MAX_SECONDS
        self.ops = 0

    def tick(self) -> None:
        self.ops += 1
        if self.ops > MAX_OPERATIONS:
            raise refuse(f"Refused: too much work (more than {MAX_OPERATIONS} operations in one evaluation)")
        if time.monotonic() > self.deadline:
            raise refuse(f"Refused: time budget of {MAX_SECONDS} s exceeded")

    def _eval(self, node: ast.AST) -> Any:
        self.tick()
        handler = self.nodes.get(type(node))
        if handler is None:
            raise refuse(f"Refused: the Python construct '{type(node).__name__}' is not allowed")
        return check_runtime_value(handler(node))

    def _eval_tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        items = tuple(self._eval(x) for x in node.elts)
        if any(type(x) is tuple for x in items):  # keeps tuples flat, so hashing one is never deep
            raise refuse("Refused: a tuple inside a tuple is not allowed; use lists")
        return items

    def _eval_name(self, node: ast.Name) -> Any:
        name = node.id
        if name.startswith("_"):
            raise refuse(f"Refused: the name '{name}' is not allowed (names beginning with '_' are reserved)")
        try:
            return self.names[name]
        except KeyError:
            pass
        if name in HELPERS:
            raise refuse(f"Refused: '{name}' is a helper function; it can only be called, e.g. {name}(...)")
        raise refuse(f"Undefined name '{name}' (it is not in the task data)", name=name)

    def _eval_call(self, node: ast.Call) -> Any:
        func = node.func
        obj = None
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("_"):
                raise refuse(f"Refused: attribute access to '{func.attr}' is not allowed in expressions")
            obj = self._eval(func.value)
        elif not isinstance(func, ast.Name) or func.id not in HELPERS:
            raise refuse(f"Refused: calling '{getattr(func, 'id', '?')}' is not allowed in expressions")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise refuse("Refused: '*' unpacking is not allowed in expressions")
        args = [self._eval(a) for a in node.args]
        kwargs = {k.arg: self._eval(k.value) for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute):
            return call_method(obj, func.attr, args, kwargs)
        return HELPERS[func.id](*args, **kwargs)

    def run(self, node: ast.AST) -> Any:
        self.expr = ""
        self._max_count = 0
        return self._eval(node)


def _as_sandbox_error(exc: BaseException, source: str) -> SandboxError:
    if isinstance(exc, SandboxError):
        return exc
    snippet = source.strip() if len(source) <= 200 else source.strip()[:200] + "..."
    if isinstance(exc, InvalidExpression):  # simpleeval's own refusals (comprehension length, ...)
        return refuse(f"Refused: {exc} (in {snippet!r})")
    if isinstance(exc, RecursionError):
        return refuse(f"Refused: too deeply nested (in {snippet!r})")
    if isinstance(exc, MemoryError):
        return refuse(f"Refused: out of memory (in {snippet!r})")
    return refuse(f"{type(exc).__name__}: {exc} (in {snippet!r})", error=type(exc).__name__)


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """Evaluate one expression against ``names`` (read-only); returns a plain JSON-able value."""
    tree = _compiled_expression(expression)
    try:
        return to_stored(_Evaluator(names).run(tree), "the expression result")
    except Exception as exc:
        raise _as_sandbox_error(exc, expression) from exc


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _plain_copy(value: Any) -> Any:
    """Copy lists/dicts/tuples (scalars and anything else are shared; non-plain values are refused on use)."""
    t = type(value)
    if t is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if t is list or t is tuple:
        return [_plain_copy(v) for v in value]
    return value


class _ScriptRunner:
    """Interprets the allowed statements on a private copy of the task data; ``changes()`` is written back
    only when the whole script succeeded. The copy also means no other task's data is changed in place
    (SpiffWorkflow hands child tasks shallow copies, so nested containers are shared between tasks)."""

    def __init__(self, source: str, names: dict[str, Any], external: Mapping[str, Any] | None) -> None:
        self.source = source
        self.original = names
        self.work: dict[str, Any] = {}
        self.data = {k: _plain_copy(v) for k, v in names.items()}
        self.view: ChainMap[str, Any] = ChainMap(self.work, self.data, _plain_copy(dict(external or {})))
        self.ev = _Evaluator(self.view)
        self.iterations = 0

    def changes(self) -> dict[str, Any]:
        """Assigned names, plus task-data names whose contents were changed in place (also via an alias)."""
        changed = dict(self.work)
        for key, value in self.data.items():
            if key not in changed and not (value is self.original[key] or value == self.original[key]):
                changed[key] = value
        return {key: to_stored(value, f"variable '{key}'") for key, value in changed.items()}

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.ev.tick()
            try:
                self.statement(stmt)
            except (_Break, _Continue):
                raise
            except Exception as exc:
                err = _as_sandbox_error(exc, ast.get_source_segment(self.source, stmt) or "")
                details = dict(err.details or {})
                if details.get("statement"):  # already located by an inner statement
                    raise
                details.update(lineno=stmt.lineno, statement=True)
                raise SandboxError(f"{err.message} (line {stmt.lineno})", details=details) from exc

    def statement(self, stmt: ast.stmt) -> None:
        ev = self.ev
        if isinstance(stmt, ast.Assign):
            value = ev.run(stmt.value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, ast.AugAssign):
            operator = OPERATORS[type(stmt.op)]
            value = ev.run(stmt.value)
            if isinstance(stmt.target, ast.Name):
                self.work[stmt.target.id] = check_runtime_value(operator(ev.run(stmt.target), value))
            else:
                container, key = self.item_target(stmt.target)
                self.set_item(container, key, check_runtime_value(operator(container[key], value)))
        elif isinstance(stmt, ast.If):
            self.block(stmt.body if ev.run(stmt.test) else stmt.orelse)
        elif isinstance(stmt, ast.For):
            self.loop(stmt)
        elif isinstance(stmt, ast.Expr):
            ev.run(stmt.value)
        elif isinstance(stmt, ast.Break):
            raise _Break
        elif isinstance(stmt, ast.Continue):
            raise _Continue
        elif not isinstance(stmt, ast.Pass):
            raise refuse(f"Refused: the statement '{type(stmt).__name__}' is not allowed in scripts")

    def loop(self, stmt: ast.For) -> None:
        iterable = self.ev.run(stmt.iter)
        if type(iterable) not in (list, tuple, str, dict):
            raise refuse(f"Refused: a for loop needs a list, dict or string, got {type(iterable).__name__}")
        for item in list(iterable):
            self.iterations += 1
            if self.iterations > MAX_LOOP_ITERATIONS:
                raise refuse(f"Refused: for loops ran more than {MAX_LOOP_ITERATIONS} iterations "
                             "in one script")
            self.assign(stmt.target, item)
            try:
                self.block(stmt.body)
            except _Break:
                break
            except _Continue:
                continue

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.work[target.id] = value
        elif isinstance(target, ast.Tuple):
            if type(value) not in (list, tuple) or len(value) != len(target.elts):
                raise refuse(f"cannot unpack {type(value).__name__} into {len(target.elts)} names")
            for elt, item in zip(target.elts, value):
                self.assign(elt, item)
        else:
            container, key = self.item_target(target)
            self.set_item(container, key, value)

    def item_target(self, target: ast.expr) -> tuple[Any, Any]:
        """Resolve ``root[k1]...[kn]`` to (container, kn) in the private copy."""
        chain: list[ast.expr] = []
        node = target
        while isinstance(node, ast.Subscript):
            chain.append(node.slice)
            node = node.value
        root = node.id  # type: ignore[attr-defined]
        container = self.ev.run(node)
        if root not in self.work and root not in self.data:
            self.work[root] = container  # an external name: changing it makes it task data
        keys = [self.ev.run(k) for k in reversed(chain)]
        for key in keys[:-1]:
            container = check_runtime_value(container[key])
        return container, keys[-1]

    def set_item(self, container: Any, key: Any, value: Any) -> None:
        if type(container) not in (dict, list):
            raise refuse(f"Refused: item assignment is only allowed on dicts and lists, "
                         f"not on {type(container).__name__}")
        if type(container) is dict and key not in container and len(container) >= MAX_COLLECTION_SIZE:
            raise refuse(f"Refused: dict would have more than {MAX_COLLECTION_SIZE} keys")
        container[key] = value


def execute(script: str, names: dict[str, Any], *, external: Mapping[str, Any] | None = None) -> None:
    """Run a script's statements; on success the variables it assigned or changed are written into ``names``.

    On any error ``names`` is left unchanged and SandboxError is raised (``details['lineno']`` is set).
    """
    text, body = _compiled_script(script)
    runner = _ScriptRunner(text, names, external)
    try:
        runner.block(body)
        stored = runner.changes()
    except (_Break, _Continue) as exc:  # pragma: no cover - the static check forbids this
        raise refuse("Refused: break/continue outside a for loop") from exc
    except Exception as exc:
        raise _as_sandbox_error(exc, script) from exc
    names.update(stored)


# --------------------------------------------------------------------------- SpiffWorkflow integration


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment: every expression and script of a workflow runs in the sandbox."""

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        names: Mapping[str, Any] = ChainMap(context, dict(external_context)) if external_context else context
        return evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        execute(script, context, external=external_context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise SandboxError("Refused: service calls are not available from the script sandbox",
                           details={"operation": kwargs.get("operation_name")})


class _SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine that keeps the sandbox's message and line number in SpiffWorkflow's errors."""

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SandboxError as exc:  # the base class would drop our message and keep only the expression
            raise WorkflowTaskException(f"Error evaluating expression '{expression}': {exc.message}",
                                        task=task, exception=exc) from exc

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        details = getattr(err, "details", None)
        if isinstance(err, SandboxError) and isinstance(details, dict) and details.get("lineno"):
            line = int(details["lineno"])
            lines = script.splitlines()
            return line, lines[line - 1] if 0 < line <= len(lines) else ""
        return super().get_error_line_number_and_content(script, err)  # type: ignore[no-any-return]


def make_script_engine() -> PythonScriptEngine:
    """A PythonScriptEngine whose environment is the sandbox. Re-attach it after every deserialization."""
    _warm_calendar()
    return _SandboxScriptEngine(environment=SandboxEnvironment())


@functools.lru_cache(maxsize=1)
def _warm_calendar() -> None:
    # The holidays library takes ~0.7 s to initialise on first use (later years cost ~1 ms each); that must
    # not be charged to the first script that asks for a working day and its 1 s time budget.
    from .calendar import bank_holidays, today

    bank_holidays(today().year)
