"""The one rule that names an ``hp.*`` declaration from where it stands (DESIGN 1.1).

In this order: ``name=`` given (any expression; :func:`name_keyword` finds it); the
keyword the call is passed to (``f(lr=hp.float(...))``); the single assignment target
(``lr = ...``, ``cfg.lr = ...``, ``cfg["lr"] = ...``); the string key of a dict literal
(``{"lr": hp.float(...)}``). Anything else has no name, and the parser asks for ``name=``.
Both the parser and ``%optuna export`` use this module, so the script names what the magic names.
"""

from __future__ import annotations

import ast

__all__ = ["LOOPS", "infer_name", "name_keyword", "parents"]

# The nodes whose body a trial may run more than once (a name declared there repeats).
LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def name_keyword(call: ast.Call) -> ast.keyword | None:
    """The call's ``name=`` keyword; None when absent or ``name=None`` (the default: inferred)."""
    kw = next((k for k in call.keywords if k.arg == "name"), None)
    if kw is not None and isinstance(kw.value, ast.Constant) and kw.value.value is None:
        return None
    return kw


def infer_name(call: ast.Call, parent: ast.AST | None) -> str | None:
    """The name ``call`` gets from ``parent``, the node that holds it directly, else None."""
    if isinstance(parent, ast.keyword) and parent.arg:
        return parent.arg
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        if len(targets) == 1:
            return _target_name(targets[0])
        return None
    if isinstance(parent, ast.Dict):
        for k, v in zip(parent.keys, parent.values, strict=True):
            if v is call and isinstance(k, ast.Constant) and isinstance(k.value, str):
                return k.value
    return None


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    """Each node's direct parent, keyed by ``id(node)``."""
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


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
