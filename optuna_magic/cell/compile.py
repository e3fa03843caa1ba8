"""Checked cell -> ``objective(trial)``: compiled once, run once per trial.

Follows IPython's ``%%timeit``: the cell's statements (already parsed with their own line numbers)
become the body of a function template, compiled under the cell's filename so tracebacks show the
cell's lines, and executed with the user's namespace as globals. Names the cell assigns stay local
to each trial; the user's globals are visible.

Two forms. A cell whose declarations all compile to Optuna's own calls (see
:mod:`optuna_magic.cell.direct`) and which uses no ``report``, ``constraint`` or ``--keep-best``
becomes a plain ``objective(trial)``, as cheap to call as one written by hand. Any other cell's
function takes ``(trial, hp, report[, constraint][, capture])`` and runs through
:class:`~optuna_magic.cell.objective.CellObjective`.
"""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.constraints import CONSTRAINT
from optuna_magic.cell.direct import (
    CHECK,
    FLOAT,
    TYPE,
    direct_body,
    with_checked_returns,
)
from optuna_magic.cell.objective import CAPTURE, CellObjective, ValueCheck
from optuna_magic.cell.parsed import ParsedCell
from optuna_magic.cell.space import OptunaMagicError

if TYPE_CHECKING:
    import optuna

__all__ = ["build_objective"]

_FN = "__optuna_magic_cell__"  # the name tracebacks show as <cell>
_OUTER = "__optuna_magic_outer__"  # gives a plain-form cell function its value check
# A cell naming any of these needs the template's parameters: report and constraint by name,
# or hp through the frame's locals (eval("hp.int(1, 3)") is refused by hp in our words).
_NEEDS_THE_TEMPLATE = {"report", CONSTRAINT, "eval", "exec", "locals", "vars"}


def build_objective(
    cell: ParsedCell,
    filename: str,
    user_ns: dict[str, Any],
    report: Callable[[Any, float, int], None],
    n_objectives: int,
    *,
    keep_locals: bool = False,
) -> CellObjective | Callable[[optuna.Trial], Any]:
    """Compile the cell into an objective.

    In ``"objective"`` mode (the cell defines ``def objective(trial)``), the cell runs once as
    ordinary code in the user's namespace and its ``objective`` is returned unchanged.
    """
    if cell.mode == "objective":
        module = ast.Module(body=cell.body, type_ignores=[])
        exec(compile(module, filename, "exec"), user_ns)
        fn = user_ns.get("objective")
        if not callable(fn):
            raise OptunaMagicError("the cell's `objective` is not callable after running the cell")
        return fn  # type: ignore[no-any-return]

    body, no_hp = direct_body(cell)
    if no_hp and not keep_locals and not cell.names & _NEEDS_THE_TEMPLATE:
        return _plain_objective(cell, body, filename, user_ns, ValueCheck(cell, n_objectives))
    params = ["trial", "hp", "report"] + ([CONSTRAINT] if cell.constraints else [])
    params += [CAPTURE] if keep_locals else []
    if keep_locals:
        # try/finally so the variables of a trial are kept even when it returns early.
        capture = ast.Expr(
            ast.Call(
                ast.Name(CAPTURE, ast.Load()),
                [ast.Call(ast.Name("locals", ast.Load()), [], [])],
                [],
            )
        )
        body = [ast.Try(body=body, handlers=[], orelse=[], finalbody=[capture])]
    function = _compiled(_function_def(_FN, params, body, cell.body), filename, user_ns)
    return CellObjective(cell, function, report, n_objectives, keep_locals=keep_locals)


def _plain_objective(
    cell: ParsedCell,
    body: list[ast.stmt],
    filename: str,
    user_ns: dict[str, Any],
    check: ValueCheck,
) -> Callable[[optuna.Trial], Any]:
    """``objective(trial)`` made of the cell alone; its returns call ``check`` where needed.

    The check reaches the function as a closure variable of an outer function (a global would
    be the user's, a default a parameter Optuna could fill).
    """
    inner = _function_def(_FN, ["trial"], with_checked_returns(cell, body, check.n), body)
    outer = _function_def(
        _OUTER, [CHECK, TYPE, FLOAT], [inner, ast.Return(ast.Name(_FN, ast.Load()))], body
    )
    make = _compiled(outer, filename, user_ns, _OUTER)
    return make(check, builtins.type, builtins.float)  # type: ignore[no-any-return]


def _function_def(
    name: str, params: list[str], body: list[ast.stmt], located: list[ast.stmt]
) -> ast.FunctionDef:
    extra: dict[str, Any] = {"type_params": []} if sys.version_info >= (3, 12) else {}
    fdef = ast.FunctionDef(
        name=name,
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p) for p in params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        ),
        body=body,
        decorator_list=[],
        returns=None,
        **extra,
    )
    if located:
        ast.copy_location(fdef, located[0])
    return fdef


def _compiled(
    fdef: ast.FunctionDef, filename: str, user_ns: dict[str, Any], name: str = _FN
) -> Callable[..., Any]:
    """The function ``fdef`` defines, compiled under ``filename`` with the user's globals."""
    module = ast.Module(body=[fdef], type_ignores=[])
    ast.fix_missing_locations(module)
    scope: dict[str, Any] = {}
    exec(compile(module, filename, "exec"), user_ns, scope)
    return scope[name]  # type: ignore[no-any-return]
