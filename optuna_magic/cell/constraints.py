"""``constraint(value)`` / ``constraint(value, name=...)`` in a cell: Optuna's constraints.

A constraint call stores ``trial.set_constraint(name, value)``; the trial is feasible when every
constraint value is <= 0, as in Optuna. A call without ``name=`` is named ``c0``, ``c1``, ... by its
place among the cell's constraint calls in source order (a constraint is a statement, so there is
rarely a keyword or an assignment target to name it by, as DESIGN 1.1 names ``hp.*``). The parser
and ``%optuna export`` both name calls with :func:`constraint_calls`, so the script names what the
magic names.

What the tree shows is checked before any trial runs: the call's arguments, a ``name=`` that is
not a string, a value that is visibly no number, a named call in a loop, and one name set twice
on one path through the cell (Optuna would warn and keep the first value; here it is an error).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass

from optuna_magic.cell.checks import branch_path
from optuna_magic.cell.names import LOOPS, name_keyword, parents
from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.cell.value import SCOPES

__all__ = ["CONSTRAINT", "ConstraintCall", "constraint_calls", "declare_constraints"]

CONSTRAINT = "constraint"


@dataclass
class ConstraintCall:
    """One ``constraint(...)`` call of the cell."""

    index: int
    name: str | None  # None when computed per trial (name=<expression>)
    line: int
    source: str


def constraint_calls(tree: ast.AST) -> list[tuple[ast.Call, ast.expr]]:
    """The cell's ``constraint(...)`` calls in source order, each with the expression naming it.

    No calls when the cell binds ``constraint`` itself: then it is the user's own function. A call
    without ``name=`` is named ``c<i>``, ``i`` its place among the calls.
    """
    if any(_binds(node) for node in ast.walk(tree)):
        return []
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == CONSTRAINT
    ]
    calls.sort(key=lambda c: (c.lineno, c.col_offset))
    out: list[tuple[ast.Call, ast.expr]] = []
    for i, call in enumerate(calls):
        kw = name_keyword(call)
        out.append((call, kw.value if kw is not None else ast.Constant(f"c{i}")))
    return out


def _binds(node: ast.AST) -> bool:
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return node.id == CONSTRAINT
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name == CONSTRAINT
    if isinstance(node, ast.alias):
        return (node.asname or node.name.split(".")[0]) == CONSTRAINT
    return isinstance(node, ast.arg) and node.arg == CONSTRAINT


def declare_constraints(tree: ast.Module, source: Callable[[int], str]) -> list[ConstraintCall]:
    """Check the cell's constraint calls and rewrite each to carry ``name=`` and ``_at=``.

    Raises:
        OptunaMagicError: a call whose arguments, name or value is visibly wrong, naming its line.
    """
    parent_of = parents(tree)
    first: dict[tuple[str, tuple[tuple[int, str, int], ...]], int] = {}
    found: list[ConstraintCall] = []
    for index, (call, name_node) in enumerate(constraint_calls(tree)):
        line = call.lineno
        src = source(line)
        _check_arguments(call, line, src)
        name = _static_name(name_node, line, src)
        chain = _chain(call, parent_of)
        if name is not None:
            if _in_loop(chain):
                raise OptunaMagicError(
                    f"constraint {name!r} is inside a loop: every pass would set {name!r} "
                    f'again. Give each pass its own name, e.g. name=f"{name}_{{i}}"',
                    line,
                    src,
                )
            key = (name, branch_path(chain))
            if key in first:
                raise OptunaMagicError(
                    f"constraint {name!r} is set twice on one path through the cell (line "
                    f"{first[key]} and line {line}): Optuna keeps only the first value. Give "
                    f"each its own name=",
                    line,
                    src,
                )
            first[key] = line
        call.keywords = [k for k in call.keywords if k.arg != "name"]
        call.keywords.append(ast.keyword(arg="name", value=name_node))
        call.keywords.append(ast.keyword(arg="_at", value=ast.Constant(index)))
        for k in call.keywords[-2:]:
            ast.copy_location(k.value, call)
        ast.fix_missing_locations(call)
        found.append(ConstraintCall(index, name, line, src))
    return found


def _check_arguments(call: ast.Call, line: int, src: str) -> None:
    if any(k.arg is None for k in call.keywords) or any(
        isinstance(a, ast.Starred) for a in call.args
    ):
        raise OptunaMagicError(
            "constraint cannot take *args or **kwargs; write constraint(value, name=...)",
            line,
            src,
        )
    extra = [k.arg for k in call.keywords if k.arg not in ("name", "value")]
    given = len(call.args) + sum(k.arg == "value" for k in call.keywords)
    if extra or given != 1 or len(call.args) > 1:
        raise OptunaMagicError(
            "constraint takes one value and an optional name: constraint(value) or "
            'constraint(value, name="...") (feasible when the value is <= 0)',
            line,
            src,
        )
    value = call.args[0] if call.args else next(k.value for k in call.keywords)
    if isinstance(value, ast.Constant) and not _is_number(value.value):
        raise OptunaMagicError(
            f"constraint value must be a number (feasible when <= 0), got {value.value!r}",
            line,
            src,
        )


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))


def _static_name(node: ast.expr, line: int, src: str) -> str | None:
    if not isinstance(node, ast.Constant):
        return None  # computed per trial, e.g. f"mem_{i}"
    if not isinstance(node.value, str):
        raise OptunaMagicError(f"constraint name= must be a string, got {node.value!r}", line, src)
    if not node.value.strip():
        raise OptunaMagicError("constraint name must not be empty", line, src)
    return node.value


def _chain(node: ast.AST, parent_of: dict[int, ast.AST]) -> list[ast.AST]:
    chain = [node]
    while id(chain[-1]) in parent_of:
        chain.append(parent_of[id(chain[-1])])
    return chain[::-1]


def _in_loop(chain: list[ast.AST]) -> bool:
    for p in reversed(chain[:-1]):
        if isinstance(p, SCOPES):
            return False
        if isinstance(p, LOOPS):
            return True
    return False
