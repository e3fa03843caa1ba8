"""The objective value of a cell.

Its last expression (a tuple for several objectives), a top-level ``return``, or, with neither,
a ``def objective(trial)`` run as the plain Optuna objective.
"""

from __future__ import annotations

import ast

from optuna_magic.cell.parsed import ParsedCell
from optuna_magic.cell.space import OptunaMagicError

__all__ = ["SCOPES", "choose_mode", "value_names"]

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


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


def choose_mode(cell: ParsedCell, tree: ast.Module) -> None:
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
        cell.value_names = value_names(last.value)
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


def value_names(value: ast.expr) -> tuple[str, ...] | None:
    """The names of the objectives as the cell's last expression writes them, if every value
    has one and they differ: a name (``loss``), an attribute (``result.accuracy``) or a key
    (``scores["f1"]``); a tuple of those for several objectives."""
    elements = value.elts if isinstance(value, ast.Tuple) else [value]
    names = [_name_of(e) for e in elements]
    if not names or any(n is None for n in names) or len(set(names)) < len(names):
        return None
    return tuple(n for n in names if n is not None)


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key = node.slice.value
        return key if isinstance(key, str) and key.strip() else None
    return None


def _top_level(target: ast.AST, tree: ast.Module) -> bool:
    """Whether ``target`` sits in the cell's own code, not inside a def/lambda/class."""

    def search(node: ast.AST) -> bool | None:
        for child in ast.iter_child_nodes(node):
            if child is target:
                return True
            if isinstance(child, SCOPES):
                continue
            r = search(child)
            if r:
                return True
        return None

    return bool(search(tree))
