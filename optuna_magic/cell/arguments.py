"""The arguments of an ``hp.*`` call: bound to its signature, and known before the run if they can.

Static evaluation takes literals and arithmetic over plain values of the user's namespace: no
calls and no attribute access, so nothing the user wrote runs before the first trial.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from optuna_magic.cell.space import OptunaMagicError, plain

__all__ = ["MISSING", "bind_arguments", "static_arguments", "static_value"]

MISSING = object()  # what static_value gives for a value only the run can know


_PARAMS = {
    "int": (("low", "high"), {"step": ast.Constant(1), "log": ast.Constant(False)}),
    "float": (("low", "high"), {"step": ast.Constant(None), "log": ast.Constant(False)}),
    "categorical": (("choices",), {}),
}


def bind_arguments(node: ast.Call, kind: str, fn: str, line: int, src: str) -> dict[str, ast.expr]:
    """Each parameter of ``fn``'s signature with the expression passed (or its default).

    ``node`` has no ``name=`` left; ``line`` and ``src`` locate the error when the call does not
    fit the signature.
    """
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


def static_arguments(
    args: dict[str, ast.expr], namespace: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The value of every argument, if all are known before the run, else None."""
    values: dict[str, Any] = {}
    for k, node in args.items():
        v = static_value(node, namespace)
        if v is MISSING:
            return None
        values[k] = v
    return values


def static_value(node: ast.expr, ns: Mapping[str, Any]) -> Any:
    """Evaluate literals and arithmetic over plain values in the user's namespace, else MISSING.

    No calls and no attribute access: nothing the user wrote runs before the first trial.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        v = plain(ns.get(node.id, MISSING))
        if isinstance(v, (list, tuple)):
            # A copy, with numpy scalars as Python values: what the run will store.
            return list(map(plain, v)) if isinstance(v, list) else tuple(map(plain, v))
        ok = (type(None), bool, int, float, str)
        return v if isinstance(v, ok) else MISSING
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [static_value(e, ns) for e in node.elts]
        if any(i is MISSING for i in items):
            return MISSING
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = static_value(node.operand, ns)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
        return MISSING
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow)
    ):
        a, b = static_value(node.left, ns), static_value(node.right, ns)
        num = (int, float)
        if (
            not (isinstance(a, num) and isinstance(b, num))
            or isinstance(a, bool)
            or isinstance(b, bool)
        ):
            return MISSING
        if isinstance(node.op, ast.Pow) and _costly_power(a, b):
            return MISSING
        try:
            return _BINOPS[type(node.op)](a, b)
        except (ArithmeticError, ValueError):
            return MISSING
    return MISSING


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
