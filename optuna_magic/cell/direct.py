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
form adds ~400, its inline value check).
"""

from __future__ import annotations

import ast
from typing import Any

from optuna_magic.cell.parsed import Declaration, ParsedCell
from optuna_magic.cell.space import plain
from optuna_magic.cell.value import SCOPES

__all__ = ["CHECK", "FLOAT", "TYPE", "VALUE", "direct_body", "with_checked_returns"]

CHECK = "__optuna_magic_check__"  # the value check a plain-form cell's returns call
VALUE = "__optuna_magic_value__"  # the value being returned, named once to test its type
# builtins.type and builtins.float, under names no cell binds (a cell may well bind `type`).
TYPE, FLOAT = "__optuna_magic_type__", "__optuna_magic_float__"
_SUGGEST = {"int": "suggest_int", "float": "suggest_float", "categorical": "suggest_categorical"}


def direct_body(cell: ParsedCell) -> tuple[list[ast.stmt], bool]:
    """The cell's body with every direct declaration as a ``trial.suggest_*`` call, and
    whether every declaration is (so the body no longer names ``hp``: the parser refuses
    ``hp`` anywhere but in a declaration).

    The statements that change are copies; the parsed cell keeps its own body.
    """
    direct = _direct_declarations(cell)
    all_direct = len(direct) == len(cell.declarations)
    if not direct:
        return cell.body, all_direct
    changed = {d.statement for d in direct.values()}
    return _rewritten(cell.body, changed, _Rewrite(direct)), all_direct


def with_checked_returns(
    cell: ParsedCell, body: list[ast.stmt], n_objectives: int
) -> list[ast.stmt]:
    """``body`` (the cell's, as :func:`direct_body` gives it) with each of the cell's own
    returns checked by ``CHECK`` (a float of a single-objective study inline, without a call),
    and a checked ``None`` at its end; the statements that change are copies."""
    holding = cell.return_statements | {i for i, s in enumerate(body) if isinstance(s, ast.Return)}
    end = ast.Return(_checked(ast.Constant(None), n_objectives))
    if body:
        ast.copy_location(end, body[-1])
    return [*_rewritten(body, holding, _Returns(n_objectives)), ast.fix_missing_locations(end)]


def _rewritten(
    body: list[ast.stmt], changed: set[int], transform: ast.NodeTransformer
) -> list[ast.stmt]:
    """``body`` with the statements at ``changed`` copied, then transformed; the others as
    they are (shared, not copied).

    Not copy.deepcopy and a visit of the whole cell: at 200 lines a deep copy alone took ~20
    ms, at the start of every run, and a transform changes a few statements.
    """
    return [transform.visit(_clone(s)) if i in changed else s for i, s in enumerate(body)]


def _clone(node: Any) -> Any:
    """A copy of a syntax tree: nodes and lists new, the values in them (str, int...) shared."""
    if isinstance(node, list):
        return [_clone(item) for item in node]
    if not isinstance(node, ast.AST):
        return node
    new = type(node)()
    for name in node._fields:
        if hasattr(node, name):
            setattr(new, name, _clone(getattr(node, name)))
    for name in node._attributes:
        if hasattr(node, name):
            setattr(new, name, getattr(node, name))
    return new


def _direct_declarations(cell: ParsedCell) -> dict[int, Declaration]:
    """The declarations compiled directly, by index (see the module's note)."""
    decls = cell.declarations
    # A name computed per trial could be any name: hp's check of names reached twice in a
    # trial must then see every declaration. A cell that binds `trial` has its own `trial`.
    if any(d.name is None for d in decls) or "trial" in cell.bound:
        return {}
    candidates = {
        d.index: d
        for d in decls
        if d.literal and not d.in_loop and not d.in_scope and d.statement >= 0
    }
    # A name also declared where hp checks it (inside a def, which may run twice) stays there.
    shared = {d.name for d in decls if d.index not in candidates}
    return {i: d for i, d in candidates.items() if d.name not in shared}


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
    s: dict[str, Any] = decl.static_args or {}
    args: list[Any]
    keywords: dict[str, Any] = {}
    if decl.kind == "categorical":
        args = [tuple(map(plain, s["choices"]))]
    elif decl.kind == "int":
        args, step = [int(s["low"]), int(s["high"])], int(s["step"])
        if step != 1:
            keywords["step"] = step
        if s["log"]:
            keywords["log"] = True
    else:
        args = [s["low"], s["high"]]
        if s["step"] is not None or s["log"] is not False:  # as hp.float passes them
            keywords = {"step": s["step"], "log": s["log"]}
    return ast.Call(
        func=ast.Attribute(ast.Name("trial", ast.Load()), _SUGGEST[decl.kind], ast.Load()),
        args=[ast.Constant(decl.name), *map(ast.Constant, args)],
        keywords=[ast.keyword(k, ast.Constant(v)) for k, v in keywords.items()],
    )


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
    return ast.IfExp(
        is_float, ast.Name(VALUE, ast.Load()), ast.Call(check, [ast.Name(VALUE, ast.Load())], [])
    )
