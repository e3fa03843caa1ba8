"""Declarations known in full before the run, compiled to Optuna's own ``trial.suggest_*`` calls.

A declaration whose name is a constant, whose arguments are literals (checked before the run)
and which stands in the cell's own code (not in a ``def``, ``lambda`` or ``class``, and, as the
parser already requires of a constant name, not in a loop) runs at most once a trial: a trial
runs the cell's code once, and the parser refuses one name declared twice on one path. Such a
declaration needs nothing of ``hp`` at run time, so it becomes the very call a plain Optuna
objective makes. A cell left with no ``hp``, ``report`` or ``constraint`` is then compiled to a
plain ``objective(trial)``, with the check of its value written into its own returns.

Why: per trial, ``hp.float`` (a keyword call into a method) and the cell objective's wrapper
cost ~8,000 instructions on top of Optuna's ~380,000 for a trivial trial (valgrind; the plain
form adds ~500, its inline value check).
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from optuna_magic.cell.checks import bound_names
from optuna_magic.cell.parsed import Declaration, ParsedCell
from optuna_magic.cell.space import plain
from optuna_magic.cell.value import SCOPES

__all__ = ["CHECK", "FLOAT", "TYPE", "VALUE", "direct_body", "names_used", "with_checked_returns"]

CHECK = "__optuna_magic_check__"  # the value check a plain-form cell's returns call
VALUE = "__optuna_magic_value__"  # the value being returned, named once to test its type
# builtins.type and builtins.float, under names no cell binds (a cell may well bind `type`).
TYPE, FLOAT = "__optuna_magic_type__", "__optuna_magic_float__"
_SUGGEST = {"int": "suggest_int", "float": "suggest_float", "categorical": "suggest_categorical"}


def direct_body(cell: ParsedCell) -> list[ast.stmt]:
    """The cell's body with every direct declaration as a ``trial.suggest_*`` call.

    A copy where anything changes; the parsed cell keeps its own body.
    """
    direct = _direct_declarations(cell)
    if not direct:
        return cell.body
    body = copy.deepcopy(cell.body)
    _Rewrite(direct).visit(ast.Module(body=body, type_ignores=[]))
    return body


def names_used(body: list[ast.stmt], names: set[str]) -> bool:
    """Whether the code reads or writes any of ``names``, anywhere in it."""
    return any(
        isinstance(node, ast.Name) and node.id in names for stmt in body for node in ast.walk(stmt)
    )


def with_checked_returns(body: list[ast.stmt], n_objectives: int) -> list[ast.stmt]:
    """The body with each of its own returns checked by ``CHECK`` (a float of a
    single-objective study inline, without a call), and a checked ``None`` at its end."""
    rewritten = _Returns(n_objectives).visit(ast.Module(body=body, type_ignores=[])).body
    end = ast.Return(_checked(ast.Constant(None), n_objectives))
    if body:
        ast.copy_location(end, body[-1])
    return [*rewritten, ast.fix_missing_locations(end)]


def _direct_declarations(cell: ParsedCell) -> dict[int, Declaration]:
    """The declarations compiled directly, by index (see the module's note)."""
    decls = cell.declarations
    # A name computed per trial could be any name: hp's check of names reached twice in a
    # trial must then see every declaration. A cell that binds `trial` has its own `trial`.
    if any(d.name is None for d in decls) or _binds(cell.body, "trial"):
        return {}
    calls: dict[int, tuple[ast.Call, bool]] = {}
    _collect(ast.Module(body=cell.body, type_ignores=[]), False, calls)
    candidates = {}
    for d in decls:
        node, nested = calls.get(d.index, (None, True))
        if node is not None and not nested and not d.in_loop and d.static_args is not None:
            if _literal(node):
                candidates[d.index] = d
    # A name also declared where hp checks it (inside a def, which may run twice) stays there.
    shared = {d.name for d in decls if d.index not in candidates}
    return {i: d for i, d in candidates.items() if d.name not in shared}


def _binds(body: list[ast.stmt], name: str) -> bool:
    return name in bound_names(ast.Module(body=body, type_ignores=[]))


def _collect(node: ast.AST, nested: bool, calls: dict[int, tuple[ast.Call, bool]]) -> None:
    """Each ``hp.*`` call under ``node`` by index, and whether a def, lambda or class holds it."""
    for child in ast.iter_child_nodes(node):
        index = _index_of(child)
        if index is not None:
            calls[index] = (child, nested)  # type: ignore[assignment]  # _index_of: a Call
        _collect(child, nested or isinstance(child, SCOPES), calls)


def _index_of(node: ast.AST) -> int | None:
    """The declaration index the parser gave an ``hp.*`` call (its ``_decl=``), else None."""
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "hp"):
        return None
    for k in node.keywords:
        if k.arg == "_decl" and isinstance(k.value, ast.Constant):
            index = k.value.value
            return index if isinstance(index, int) else None
    return None


def _literal(node: ast.Call) -> bool:
    """Whether the call's arguments are literals: they run as the values checked before."""
    parts = [*node.args, *(k.value for k in node.keywords if k.arg not in ("name", "_decl"))]
    return not any(isinstance(n, ast.Name) for part in parts for n in ast.walk(part))


class _Rewrite(ast.NodeTransformer):
    def __init__(self, direct: dict[int, Declaration]) -> None:
        self.direct = direct

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        index = _index_of(node)
        decl = self.direct.get(index) if index is not None else None
        if decl is None:
            return node
        return ast.copy_location(_suggest_call(decl), node)


def _suggest_call(decl: Declaration) -> ast.Call:
    """``trial.suggest_*(name, ...)`` with the arguments ``hp`` would pass for ``decl``."""
    s: dict[str, Any] = dict(decl.static_args or {})
    args: list[Any]
    keywords: dict[str, Any] = {}
    if decl.kind == "categorical":
        args = [tuple(map(plain, s["choices"]))]
    elif decl.kind == "int":
        args = [int(s["low"]), int(s["high"])]
        if int(s["step"]) != 1:
            keywords["step"] = int(s["step"])
        if s["log"]:
            keywords["log"] = True
    else:
        args = [s["low"], s["high"]]
        if s["step"] is not None or s["log"] is not False:  # as hp.float passes them
            keywords = {"step": s["step"], "log": s["log"]}
    call = ast.Call(
        func=ast.Attribute(ast.Name("trial", ast.Load()), _SUGGEST[decl.kind], ast.Load()),
        args=[ast.Constant(decl.name), *map(ast.Constant, args)],
        keywords=[ast.keyword(k, ast.Constant(v)) for k, v in keywords.items()],
    )
    return call


class _Returns(ast.NodeTransformer):
    """Checks the cell's own returns; a def, lambda or class in the cell keeps its own."""

    def __init__(self, n_objectives: int) -> None:
        self.n = n_objectives

    def visit_Return(self, node: ast.Return) -> ast.AST:
        value = node.value if node.value is not None else ast.Constant(None)
        return ast.copy_location(ast.Return(_checked(value, self.n)), node)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, SCOPES):
            return node
        return super().generic_visit(node)


def _checked(value: ast.expr, n_objectives: int) -> ast.expr:
    """``CHECK(value)``; for one objective ``v if type(v := value) is float else CHECK(v)``."""
    check = ast.Name(CHECK, ast.Load())
    if n_objectives != 1:
        return ast.Call(check, [value], [])
    named = ast.NamedExpr(ast.Name(VALUE, ast.Store()), value)
    is_float = ast.Compare(
        ast.Call(ast.Name(TYPE, ast.Load()), [named], []),
        [ast.Is()],
        [ast.Name(FLOAT, ast.Load())],
    )
    v = ast.Name(VALUE, ast.Load())
    return ast.IfExp(is_float, v, ast.Call(check, [ast.Name(VALUE, ast.Load())], []))
