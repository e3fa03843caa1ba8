"""Cell text -> AST: the ``hp.*`` declarations, their names, and the objective value.

Everything here works on the syntax tree (never on text with regular expressions), keeps the cell's
own line numbers (shifted by the magic's first line, so they match what the editor shows), and
rewrites each declaration to carry its inferred ``name=`` and its index in the declaration list.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna_magic.cell.checks import (
    OncePerPath,
    bound_names,
    check_hp_and_magics,
    visible_choice_problem,
)
from optuna_magic.cell.space import (
    OptunaMagicError,
    ParamSpec,
    SearchSpace,
    check_declaration,
    plain,
    signature_of,
)

__all__ = ["Declaration", "ParsedCell", "parse_cell"]

_HP_KINDS = {"int": "int", "float": "float", "choice": "categorical"}
_SUGGEST_KINDS = {
    "suggest_int": "int",
    "suggest_float": "float",
    "suggest_uniform": "float",
    "suggest_loguniform": "float",
    "suggest_categorical": "categorical",
}
_LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_MISSING = object()


@dataclass
class Declaration:
    """One ``hp.int`` / ``hp.float`` / ``hp.choice`` call in the cell."""

    index: int
    kind: str  # "int" | "float" | "categorical"
    name: str | None  # None when computed at run time (name=<expression>)
    line: int
    source: str
    in_loop: bool
    static_args: dict[str, Any] | None  # arguments known before the run, else None

    @property
    def checked(self) -> bool:
        """Whether the arguments were checked before the run (no check needed per trial)."""
        return self.static_args is not None


@dataclass
class ParsedCell:
    """The result of :func:`parse_cell`."""

    body: list[ast.stmt]
    mode: str  # "value" (last expression / return) or "objective" (def objective(trial))
    declarations: list[Declaration]
    space: SearchSpace
    value_line: int | None = None
    value_arity: int | None = None  # number of values when the last expression is a tuple
    uses_report: bool = False
    source_lines: list[str] = field(default_factory=list)

    def line_source(self, line: int | None) -> str:
        """The source text of a cell line (editor numbering)."""
        if line is None:
            return ""
        i = line - 1
        return self.source_lines[i] if 0 <= i < len(self.source_lines) else ""


def parse_cell(
    code: str,
    filename: str,
    *,
    line_offset: int = 1,
    namespace: Mapping[str, Any] | None = None,
    magic_line: str = "",
) -> ParsedCell:
    """Parse a cell body into a checked search space and a rewritten function body.

    Args:
        code: the cell body, already through IPython's ``transform_cell``.
        filename: the name tracebacks will show for the cell.
        line_offset: lines above the body in the editor (the ``%%optuna`` line).
        namespace: the user's namespace, to resolve bounds such as ``hp.int(1, N_MAX)``.
        magic_line: the ``%%optuna ...`` line, only to show source lines in errors.

    Raises:
        SyntaxError: with the editor's line number, like a normal cell.
        OptunaMagicError: a declaration or the objective value is not usable.
    """
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as e:
        if e.lineno is not None:
            e.lineno += line_offset
            if getattr(e, "end_lineno", None) is not None:
                e.end_lineno += line_offset  # type: ignore[operator]
        raise
    if line_offset:
        ast.increment_lineno(tree, line_offset)
    source_lines = [magic_line] * line_offset + code.splitlines()
    cell = ParsedCell(
        body=tree.body,
        mode="value",
        declarations=[],
        space=SearchSpace(),
        source_lines=source_lines,
    )
    _Finder(cell, namespace or {}, bound_names(tree)).visit(tree)
    _find_suggest_calls(cell, tree)
    _choose_mode(cell, tree)
    if cell.mode == "value":
        check_hp_and_magics(tree, cell.line_source)
    return cell


class _Finder(ast.NodeTransformer):
    """Finds ``hp.*`` calls, infers their names, and rewrites them with ``name=`` and ``_decl=``."""

    def __init__(self, cell: ParsedCell, namespace: Mapping[str, Any], bound: set[str]) -> None:
        self.cell = cell
        # A name the cell binds is local to every trial: its global value is not what runs.
        self.namespace = {k: v for k, v in namespace.items() if k not in bound}
        self.bound = bound
        self.once = OncePerPath()
        self.parents: list[ast.AST] = []
        self._call: ast.AST | None = None  # the call being visited (a dict value's identity)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        self.parents.append(node)
        try:
            return super().generic_visit(node)
        finally:
            self.parents.pop()

    def visit_Call(self, node: ast.Call) -> ast.AST:
        kind = _hp_kind(node)
        if kind is None:
            if isinstance(node.func, ast.Name) and node.func.id == "report":
                self.cell.uses_report = True
            return self.generic_visit(node)
        self.generic_visit(node)  # nested declarations (e.g. in a choice list) come first
        self._declare(node, kind)
        return node

    def _declare(self, node: ast.Call, kind: str) -> None:
        line = node.lineno
        src = self.cell.line_source(line)
        fn = f"hp.{node.func.attr}"  # type: ignore[attr-defined]
        explicit = next((k for k in node.keywords if k.arg == "name"), None)
        if explicit is not None and _is_none(explicit.value):
            node.keywords.remove(explicit)  # name=None is the signature's default: infer it
            explicit = None
        if any(k.arg is None for k in node.keywords) or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            raise OptunaMagicError(
                f"{fn} cannot take *args or **kwargs; write its arguments out", line, src
            )
        name: str | None
        name_node: ast.expr
        if explicit is not None:
            if isinstance(explicit.value, ast.Constant):
                if not isinstance(explicit.value.value, str):
                    raise OptunaMagicError(
                        f"{fn} name= must be a string, got {explicit.value.value!r}", line, src
                    )
                name = explicit.value.value
            else:
                name = None  # computed per trial, e.g. f"units_{i}"
            name_node = explicit.value
            node.keywords.remove(explicit)
        else:
            name = self._infer_name()
            if name is None:
                raise OptunaMagicError(
                    f"cannot infer a parameter name for {fn}(...): pass it as a keyword "
                    f"(f(x={fn}(...))), assign it (x = {fn}(...)), use it as a dict value "
                    f"({{'x': {fn}(...)}}), or give name='x'",
                    line,
                    src,
                )
            name_node = ast.Constant(name)
        if name is not None and not name.strip():
            raise OptunaMagicError(f"{fn} name must not be empty", line, src)
        in_loop = self._in_loop()
        if in_loop and name is not None:
            raise OptunaMagicError(
                f"{fn} named {name!r} is inside a loop: every pass would reuse the first "
                f'value of {name!r}. Give each pass its own name, e.g. name=f"{name}_{{i}}"',
                line,
                src,
            )
        args = _bind_arguments(node, kind, fn, line, src)
        static = _static_arguments(args, self.namespace)
        if static is not None:
            problem = check_declaration(kind, static)
            if problem is not None:
                raise OptunaMagicError(problem, line, src)
        elif kind == "categorical":
            problem = visible_choice_problem(
                args["choices"], lambda e: _static_value(e, self.namespace), self._lookup
            )
            if problem is not None:
                raise OptunaMagicError(problem, line, src)
        index = len(self.cell.declarations)
        decl = Declaration(index, kind, name, line, src, in_loop, static)
        self.cell.declarations.append(decl)
        self.cell.space.add_static(
            _spec_of(decl, node, name_node),
            None if static is None or name is None else signature_of(kind, static),
        )
        if name is not None:
            self.once.add(name, [*self.parents, node], line, src)
        node.keywords.append(ast.keyword(arg="name", value=name_node))
        node.keywords.append(ast.keyword(arg="_decl", value=ast.Constant(index)))
        ast.copy_location(node.keywords[-1].value, node)
        ast.fix_missing_locations(node)

    def _lookup(self, name: str) -> Any:
        if name in self.bound:
            return None
        return self.namespace.get(name, getattr(builtins, name, None))

    def _infer_name(self) -> str | None:
        # parents[-1] is the node holding the call (the call's own generic_visit already popped).
        parent = self.parents[-1] if self.parents else None
        if isinstance(parent, ast.keyword) and parent.arg:
            return parent.arg
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1:
                return _target_name(targets[0])
            return None
        if isinstance(parent, ast.Dict):
            call = self._call
            for k, v in zip(parent.keys, parent.values, strict=True):
                if v is call and isinstance(k, ast.Constant) and isinstance(k.value, str):
                    return k.value
        return None

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Call):
            prev = self._call
            self._call = node
            try:
                return super().visit(node)
            finally:
                self._call = prev
        return super().visit(node)

    def _in_loop(self) -> bool:
        for p in reversed(self.parents):
            if isinstance(p, _SCOPES):
                return False
            if isinstance(p, _LOOPS):
                return True
        return False


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _hp_kind(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "hp":
        kind = _HP_KINDS.get(f.attr)
        if kind is None:
            raise OptunaMagicError(
                f"hp.{f.attr} is not a declaration; use hp.int, hp.float or hp.choice",
                node.lineno,
            )
        return kind
    return None


def _target_name(t: ast.expr) -> str | None:
    if isinstance(t, ast.Name):
        return t.id
    if isinstance(t, ast.Attribute):
        return t.attr
    if isinstance(t, ast.Subscript):
        s = t.slice
        if isinstance(s, ast.Constant) and isinstance(s.value, str):
            return s.value
    return None


_PARAMS = {
    "int": (("low", "high"), {"step": ast.Constant(1), "log": ast.Constant(False)}),
    "float": (("low", "high"), {"step": ast.Constant(None), "log": ast.Constant(False)}),
    "categorical": (("choices",), {}),
}


def _bind_arguments(node: ast.Call, kind: str, fn: str, line: int, src: str) -> dict[str, ast.expr]:
    positional, optional = _PARAMS[kind]
    if len(node.args) > len(positional):
        raise OptunaMagicError(
            f"{fn} takes {len(positional)} positional argument(s) "
            f"({', '.join(positional)}); pass the others by keyword",
            line,
            src,
        )
    bound: dict[str, ast.expr] = dict(zip(positional, node.args, strict=False))
    for k in node.keywords:
        assert k.arg is not None
        if k.arg not in positional and k.arg not in optional:
            raise OptunaMagicError(f"{fn} got an unexpected argument {k.arg!r}", line, src)
        if k.arg in bound:
            raise OptunaMagicError(f"{fn} got {k.arg!r} twice", line, src)
        bound[k.arg] = k.value
    missing = [p for p in positional if p not in bound]
    if missing:
        raise OptunaMagicError(f"{fn} is missing {', '.join(missing)}", line, src)
    for opt, default in optional.items():
        bound.setdefault(opt, default)
    return bound


def _static_arguments(
    args: dict[str, ast.expr], namespace: Mapping[str, Any]
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for k, node in args.items():
        v = _static_value(node, namespace)
        if v is _MISSING:
            return None
        values[k] = v
    return values


def _static_value(node: ast.expr, ns: Mapping[str, Any]) -> Any:
    """Evaluate literals and arithmetic over plain values in the user's namespace, else _MISSING.

    No calls and no attribute access: nothing the user wrote runs before the first trial.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        v = plain(ns.get(node.id, _MISSING))
        if isinstance(v, (list, tuple)):
            # A copy, with numpy scalars as Python values: what the run will store.
            return list(map(plain, v)) if isinstance(v, list) else tuple(map(plain, v))
        ok = (type(None), bool, int, float, str)
        return v if isinstance(v, ok) else _MISSING
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_static_value(e, ns) for e in node.elts]
        if any(i is _MISSING for i in items):
            return _MISSING
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _static_value(node.operand, ns)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
        return _MISSING
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow)
    ):
        a, b = _static_value(node.left, ns), _static_value(node.right, ns)
        num = (int, float)
        if (
            not (isinstance(a, num) and isinstance(b, num))
            or isinstance(a, bool)
            or isinstance(b, bool)
        ):
            return _MISSING
        if isinstance(node.op, ast.Pow) and _costly_power(a, b):
            return _MISSING
        try:
            return _BINOPS[type(node.op)](a, b)
        except (ArithmeticError, ValueError):
            return _MISSING
    return _MISSING


def _costly_power(a: float, b: float) -> bool:
    # 10**400 is cheap to know (and worth refusing early); 10**10**10 is not cheap.
    if isinstance(a, int) and isinstance(b, int):
        return b > 0 and b * abs(a).bit_length() > 4096
    return abs(b) > 64


_BINOPS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Pow: lambda a, b: a**b,
}


def _spec_of(decl: Declaration, node: ast.Call, name_node: ast.expr) -> ParamSpec:
    name = decl.name if decl.name is not None else ast.unparse(name_node)
    s = decl.static_args
    if s is None:
        return ParamSpec(
            name=name, kind=decl.kind, line=decl.line, dynamic=True, source=_unparse_args(node)
        )
    if decl.kind == "categorical":
        return ParamSpec(
            name=name,
            kind="categorical",
            choices=tuple(s["choices"]),
            line=decl.line,
            dynamic=decl.name is None,
        )
    return ParamSpec(
        name=name,
        kind=decl.kind,
        low=s["low"],
        high=s["high"],
        step=s["step"],
        log=bool(s["log"]),
        line=decl.line,
        dynamic=decl.name is None,
    )


def _unparse_args(node: ast.Call) -> str:
    parts = [ast.unparse(a) for a in node.args]
    parts += [
        f"{k.arg}={ast.unparse(k.value)}"
        for k in node.keywords
        if k.arg != "_decl" and k.arg != "name"
    ]
    return "(" + ", ".join(parts) + ")"


def _find_suggest_calls(cell: ParsedCell, tree: ast.Module) -> None:
    """Add ``trial.suggest_*("name", ...)`` calls to the table, so dry runs show them too."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        f = node.func
        kind = _SUGGEST_KINDS.get(f.attr)
        if kind is None or not (isinstance(f.value, ast.Name) and f.value.id == "trial"):
            continue
        first = (
            node.args[0]
            if node.args
            else next((k.value for k in node.keywords if k.arg == "name"), None)
        )
        static_name = isinstance(first, ast.Constant) and isinstance(first.value, str)
        name = first.value if static_name else (ast.unparse(first) if first else "?")  # type: ignore[union-attr]
        rest = ", ".join(
            [ast.unparse(a) for a in node.args[1:]]
            + [f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords if k.arg != "name"]
        )
        cell.space.params.append(
            ParamSpec(name=name, kind=kind, line=node.lineno, dynamic=True, source=f"({rest})")
        )


def _has_top_level_return(stmts: list[ast.stmt]) -> bool:
    class V(ast.NodeVisitor):
        found = False

        def visit_Return(self, node: ast.Return) -> None:
            self.found = True

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            return

        visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

        def visit_Lambda(self, node: ast.Lambda) -> None:
            return

        def visit_ClassDef(self, node: ast.ClassDef) -> None:
            return

    v = V()
    for s in stmts:
        v.visit(s)
    return v.found


def _choose_mode(cell: ParsedCell, tree: ast.Module) -> None:
    body = tree.body
    for node in ast.walk(tree):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.Await)) and _top_level(node, tree):
            raise OptunaMagicError(
                f"{type(node).__name__.lower()} at the top level of a %%optuna cell is not "
                f"supported; move it into a function",
                node.lineno,
                cell.line_source(node.lineno),
            )
    has_return = _has_top_level_return(body)
    last = body[-1] if body else None
    if isinstance(last, ast.Expr):
        cell.value_line = last.lineno
        if isinstance(last.value, ast.Tuple):
            cell.value_arity = len(last.value.elts)
        ret = ast.Return(value=last.value)
        ast.copy_location(ret, last)
        body[-1] = ret
        return
    if has_return:
        return
    defines_objective = any(
        isinstance(s, ast.FunctionDef) and s.name == "objective" and s.args.args for s in body
    )
    if defines_objective:
        if cell.declarations:
            d = cell.declarations[0]
            raise OptunaMagicError(
                "hp.* declarations are not available in a cell that defines "
                "def objective(trial); use trial.suggest_* there, or drop the def and "
                "let the cell's last expression be the objective",
                d.line,
                d.source,
            )
        cell.mode = "objective"
        return
    line = last.lineno if last is not None else None
    raise OptunaMagicError(
        "the cell has no objective value: end it with an expression (e.g. `accuracy`), "
        "a tuple of values for several objectives, a top-level `return value`, or define "
        "`def objective(trial): ...`",
        line,
        cell.line_source(line),
    )


def _top_level(target: ast.AST, tree: ast.Module) -> bool:
    """Whether ``target`` sits in the cell's own code, not inside a def/lambda/class."""

    def search(node: ast.AST) -> bool | None:
        for child in ast.iter_child_nodes(node):
            if child is target:
                return True
            if isinstance(child, _SCOPES):
                continue
            r = search(child)
            if r:
                return True
        return None

    return bool(search(tree))
