"""What a cell's syntax tree shows that a trial would get wrong, found before the first trial.

The cell runs as a function once per trial, with ``hp`` as its argument and each ``hp.*`` call
rewritten to carry its name. So a few things visible in the tree would only break at run time,
and break badly: ``hp`` rebound, or reached other than as ``hp.int(...)`` (that call carries no
name: Optuna stored a parameter named None), IPython syntax such as ``%time`` (it would run in
every trial, in a scope it cannot write), one name declared twice where both run (the second
would reuse the first value), and a choice that is visibly no value Optuna stores.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from optuna_magic.cell.space import OptunaMagicError

__all__ = [
    "OncePerPath",
    "bound_names",
    "branch_path",
    "check_hp_and_magics",
    "visible_choice_problem",
]

_HP = "hp"
_DECLARE = ("int", "float", "choice")
# What IPython's transform_cell writes for %magic, %%magic, !cmd and x = !cmd.
_IPYTHON_CALLS = {"run_line_magic": "%", "run_cell_magic": "%%", "system": "!", "getoutput": "!"}
# (node type, field): the parts that run only sometimes (a branch, a loop, a handler, a body
# that runs when called); the index of a list field counts for exclusive alternatives.
_SOMETIMES = {
    (ast.If, "body"): False,
    (ast.If, "orelse"): False,
    (ast.IfExp, "body"): False,
    (ast.IfExp, "orelse"): False,
    (ast.For, "body"): False,
    (ast.For, "orelse"): False,
    (ast.AsyncFor, "body"): False,
    (ast.AsyncFor, "orelse"): False,
    (ast.While, "body"): False,
    (ast.While, "orelse"): False,
    # A try or with body may stop early with the exception caught: code after it can run
    # without the body's declarations.
    (ast.Try, "body"): False,
    (ast.Try, "handlers"): True,
    (ast.Try, "orelse"): False,
    (getattr(ast, "TryStar", ast.Try), "body"): False,
    (getattr(ast, "TryStar", ast.Try), "handlers"): True,
    (getattr(ast, "TryStar", ast.Try), "orelse"): False,
    (ast.With, "body"): False,
    (ast.AsyncWith, "body"): False,
    (ast.Match, "cases"): True,
    (ast.BoolOp, "values"): True,
    (ast.FunctionDef, "body"): False,
    (ast.AsyncFunctionDef, "body"): False,
    (ast.Lambda, "body"): False,
    (ast.ClassDef, "body"): False,
}
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Builtin containers whose call surely makes one of them (their __new__ is their own).
_CONTAINERS = (dict, list, set, frozenset, tuple, bytes, bytearray, complex, range)


def bound_names(tree: ast.AST) -> set[str]:
    """Every name the cell binds anywhere (assignment, import, def, argument, handler...)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        name = _binding(node)
        if name is not None:
            names.add(name)
    return names


def _binding(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return node.id
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, ast.alias):
        return node.asname or node.name.split(".")[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
        return node.name
    if isinstance(node, ast.MatchMapping):
        return node.rest
    return None


def check_hp_and_magics(tree: ast.Module, source: Callable[[int | None], str]) -> None:
    """Refuse ``hp`` rebound or reached indirectly, and IPython syntax, naming the cell line.

    Only for a cell whose body is the objective: a ``def objective(trial)`` cell runs once as
    ordinary code, where ``hp`` is just a name and magics work.
    """
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if _binding(node) == _HP:
            raise OptunaMagicError(
                "the cell assigns `hp`; in a %%optuna cell hp is the declaration helper "
                "(hp.int, hp.float, hp.choice): give your variable another name",
                line,
                source(line),
            )
        if isinstance(node, ast.Name) and node.id == _HP and not _declares(node, parents):
            user = parents.get(id(node), node)
            raise OptunaMagicError(
                f"`hp` can be used only as hp.int(...), hp.float(...) or hp.choice(...), "
                f"called right there: reached another way ({ast.unparse(user)}) a declaration "
                f"gets no name. In a helper function, take `trial` and call trial.suggest_*",
                line,
                source(line),
            )
        shown = _ipython_syntax(node)
        if shown is not None:
            raise OptunaMagicError(
                f"`{shown}` is IPython syntax: a %%optuna cell runs as a Python function once "
                f"per trial, where it would run in every trial and could not set the trial's "
                f"variables. Run it in a cell of its own (to time code in a trial, use "
                f"time.perf_counter())",
                line,
                shown,  # the line as written, not as IPython rewrote it
            )


def _declares(name: ast.Name, parents: Mapping[int, ast.AST]) -> bool:
    attr = parents.get(id(name))
    call = parents.get(id(attr))
    return (
        isinstance(attr, ast.Attribute)
        and attr.attr in _DECLARE
        and isinstance(call, ast.Call)
        and call.func is attr
    )


def _ipython_syntax(node: ast.AST) -> str | None:
    """``%time y = 1`` for ``get_ipython().run_line_magic('time', 'y = 1')``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    prefix = _IPYTHON_CALLS.get(node.func.attr)
    inner = node.func.value
    if prefix is None or not (
        isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Name)
        and inner.func.id == "get_ipython"
    ):
        return None
    words = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if prefix.startswith("%"):
        return (prefix + " ".join(words[:1] + [w for w in words[1:2] if w])).strip()
    return prefix + (words[0] if words else "")


class OncePerPath:
    """Refuses one name declared twice where both declarations run in the same trial."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, tuple[tuple[int, str, int], ...]], int] = {}

    def add(self, name: str, chain: list[ast.AST], line: int, source: str) -> None:
        """``chain``: the syntax tree from the cell down to the declaration's call."""
        key = (name, branch_path(chain))
        first = self._first.get(key)
        if first is not None:
            raise OptunaMagicError(
                f"parameter {name!r} is declared twice on one path through the cell (line "
                f"{first} and line {line}): a trial reaches both, and the second would reuse "
                f"the first value. Give each its own name=",
                line,
                source,
            )
        self._first[key] = line


def branch_path(chain: list[ast.AST]) -> tuple[tuple[int, str, int], ...]:
    """The alternatives a node sits in, from the cell down (``chain``: the root to the node).

    Two declarations with the same path run together whenever either runs.
    """
    path: list[tuple[int, str, int]] = []
    for parent, child in itertools.pairwise(chain):
        if isinstance(parent, _COMPREHENSIONS):
            path.append((id(parent), "loop", 0))
            continue
        for field, value in ast.iter_fields(parent):
            indexed = _SOMETIMES.get((type(parent), field))
            if indexed is None:
                continue
            items = value if isinstance(value, list) else [value]
            at = next((i for i, v in enumerate(items) if v is child), None)
            if at is None or (isinstance(parent, ast.BoolOp) and at == 0):
                continue
            path.append((id(parent), field, at if indexed else 0))
    return tuple(path)


def visible_choice_problem(
    node: ast.expr, evaluate: Callable[[ast.expr], Any], lookup: Callable[[str], Any]
) -> str | None:
    """What is visibly wrong with an ``hp.choice`` list whose values are not all known yet.

    ``evaluate`` is the static evaluator (it returns its sentinel for what it cannot know);
    ``lookup`` gives what a name the cell does not bind refers to (None if unknown). Nothing
    the user wrote is called.
    """
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    for e in node.elts:
        made = _made_type(e, evaluate, lookup)
        if made is None or issubclass(made, (type(None), bool, int, float, str)):
            continue
        verb = "makes" if isinstance(e, ast.Call) else "is"
        article = "an" if made.__name__[:1].lower() in "aeiou" else "a"
        return (
            f"hp.choice options must be None, bool, int, float or str; {ast.unparse(e)} "
            f"{verb} {article} {made.__name__} (choose by a string key and map it in the cell "
            f"instead)"
        )
    return None


def _made_type(
    e: ast.expr, evaluate: Callable[[ast.expr], Any], lookup: Callable[[str], Any]
) -> Any:
    """The type ``e`` surely evaluates to, or None when only running it would tell."""
    literal = {
        ast.Dict: dict,
        ast.DictComp: dict,
        ast.Set: set,
        ast.SetComp: set,
        ast.List: list,
        ast.ListComp: list,
        ast.Tuple: tuple,
        ast.Lambda: type(lambda: 0),
    }.get(type(e))
    if literal is not None:
        return literal
    value = evaluate(e)
    if isinstance(value, (type(None), bool, int, float, str)):
        return None  # known and fine; the full check sees it when the list is static
    if isinstance(e, ast.Call) and isinstance(e.func, ast.Name):
        return _instance_type(lookup(e.func.id))
    return None


def _instance_type(cls: Any) -> type | None:
    """The class a call of ``cls`` makes, when that is certain without calling it."""
    if not isinstance(cls, type):
        return None
    if cls in _CONTAINERS:
        return cls
    new: Any = cls.__new__
    if type(cls).__call__ is not type.__call__ or new is not object.__new__:
        return None  # a metaclass or __new__ may return anything
    return cls
