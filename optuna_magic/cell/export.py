"""``%optuna export``: the last ``%%optuna`` cell as a plain, runnable Optuna script.

The cell's text is kept as written (comments and layout included): only the spans of the
``hp.*``, ``report(...)`` and ``constraint(...)`` calls and the final expression are replaced,
using the positions the syntax tree gives, so the script reads like the cell.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from collections.abc import Callable
from typing import Any

from optuna_magic.cell.constraints import CONSTRAINT, constraint_calls
from optuna_magic.cell.names import infer_name, name_keyword, parents
from optuna_magic.cell.parse import parse_cell
from optuna_magic.study.factories import parse_choice, pruner_call, sampler_call, unquote
from optuna_magic.study.secrets import connectable_url, mask_url, password_parts
from optuna_magic.study.storage import is_journal_url

__all__ = ["export_script"]

_SUGGEST = {"int": "suggest_int", "float": "suggest_float", "choice": "suggest_categorical"}


def export_script(
    line_args: Any, code: str, user_ns: dict[str, Any] | None = None, *, with_secrets: bool = False
) -> str:
    """Build the script text for a cell body and its parsed ``%%optuna`` options.

    A storage password is read from an environment variable, unless ``with_secrets``.
    """
    parsed = parse_cell(code, "<export>", line_offset=0, namespace=user_ns or {})
    lines = code.splitlines()
    main, before_main, variables = _study_code(
        line_args, parsed.space.params, user_ns or {}, with_secrets
    )
    free = _free_names(code) | variables
    head = ['"""Exported by optuna-magic from a %%optuna cell."""', ""]
    if any("os.environ" in ln for ln in before_main):
        head += ["import os"]
        head += (
            ["from urllib.parse import quote", ""]
            if any("quote(" in ln for ln in before_main)
            else [""]
        )
    head += ["import optuna", ""]
    if free:
        head += [
            "# The cell uses these names from the notebook; define or import them here:",
            "# " + ", ".join(sorted(free)),
            "",
        ]
    if parsed.mode == "objective":
        body = code.rstrip() + "\n"
        script = "\n".join(head) + "\n" + body
    else:
        body, needs_helper = _rewrite(code, lines)
        if needs_helper:
            head += [
                "",
                "def report(trial, value, step):",
                "    trial.report(value, step)",
                "    if trial.should_prune():",
                "        raise optuna.TrialPruned()",
                "",
            ]
        script = (
            "\n".join(head)
            + "\n\ndef objective(trial):\n"
            + textwrap.indent(body.rstrip() + "\n", "    ")
        )
    return script + "\n\n" + "\n".join([*before_main, main]) + "\n"


def _rewrite(code: str, lines: list[str]) -> tuple[str, bool]:
    """The cell body with its ``hp.*`` / ``report`` calls and final expression rewritten.

    Also returns whether the body needs the ``report(trial, value, step)`` helper.
    """
    tree = ast.parse(code)
    parent_of = parents(tree)
    pos = _positions(code, lines)
    edits, report_stmts = _report_statements(code, tree, pos)
    needs_helper = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_report(node) and id(node) not in report_stmts:
            needs_helper = True
            f = node.func
            edits.append(
                (
                    pos(f.lineno, f.col_offset),
                    pos(f.end_lineno or f.lineno, f.end_col_offset or 0) + 1,
                    "report(trial, ",
                )
            )
        kind = _hp_attr(node)
        if kind is None:
            continue
        assert isinstance(node, ast.Call)
        edits.append(
            (
                pos(node.lineno, node.col_offset),
                pos(node.end_lineno or node.lineno, node.end_col_offset or 0),
                _suggest_text(node, kind, code, parent_of.get(id(node))),
            )
        )
    edits += _constraint_edits(code, tree, pos, edits)
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr):
        p = pos(last.lineno, last.col_offset)
        edits.append((p, p, "return "))
    return _apply(code, edits), needs_helper


def _positions(code: str, lines: list[str]) -> Callable[[int, int], int]:
    """``pos(lineno, col)``: the offset in ``code`` of an AST position."""
    offsets = [0]
    for ln in code.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(ln))

    def pos(lineno: int, col: int) -> int:
        # ast columns count UTF-8 bytes
        text = lines[lineno - 1].encode()[:col].decode(errors="ignore")
        return offsets[lineno - 1] + len(text)

    return pos


def _constraint_edits(
    code: str, tree: ast.Module, pos: Callable[[int, int], int], edits: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Edits that write each ``constraint(v, name=n)`` as ``trial.set_constraint(n, v)``.

    The value keeps the edits made inside it (an ``hp.*`` call in it becomes ``suggest_*``).
    """
    out: list[tuple[int, int, str]] = []
    for call, name_node in constraint_calls(tree):
        value = call.args[0] if call.args else next(k.value for k in call.keywords)
        start = pos(value.lineno, value.col_offset)
        end = pos(value.end_lineno or value.lineno, value.end_col_offset or 0)
        inner = [(s - start, e - start, t) for s, e, t in edits if start <= s and e <= end]
        value_text = _apply(code[start:end], inner)
        if isinstance(name_node, ast.Constant):
            name_text = repr(name_node.value)
        else:
            name_text = ast.get_source_segment(code, name_node) or "''"
        out.append(
            (
                pos(call.lineno, call.col_offset),
                pos(call.end_lineno or call.lineno, call.end_col_offset or 0),
                f"trial.set_constraint({name_text}, {value_text})",
            )
        )
    return out


def _report_statements(
    code: str, tree: ast.Module, pos: Callable[[int, int], int]
) -> tuple[list[tuple[int, int, str]], set[int]]:
    """Edits that write a ``report(v, s)`` statement as Optuna's report-and-prune lines.

    Also returns the ids of those calls (a ``report`` elsewhere needs the helper instead).
    """
    edits: list[tuple[int, int, str]] = []
    report_stmts: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and _is_report(node.value):
            report_stmts.add(id(node.value))
            call = node.value
            assert isinstance(call, ast.Call)
            args = ", ".join(ast.get_source_segment(code, a) or "" for a in call.args)
            indent = " " * node.col_offset
            text = (
                f"trial.report({args})\n{indent}if trial.should_prune():\n"
                f"{indent}    raise optuna.TrialPruned()"
            )
            edits.append(
                (
                    pos(node.lineno, node.col_offset),
                    pos(node.end_lineno or node.lineno, node.end_col_offset or 0),
                    text,
                )
            )
    return edits, report_stmts


def _apply(code: str, edits: list[tuple[int, int, str]]) -> str:
    """``code`` with the edits ``(start, end, text)`` made; an edit inside another is dropped."""
    out = code
    taken: list[tuple[int, int]] = []
    # Outermost spans win; apply from the end so earlier offsets stay valid.
    for start, end, _text in sorted(edits, key=lambda e: (e[0], -e[1])):
        if any(s <= start and end <= e and (s, e) != (start, end) for s, e in taken):
            continue
        taken.append((start, end))
    for start, end, text in sorted(
        (e for e in edits if (e[0], e[1]) in taken), key=lambda e: e[0], reverse=True
    ):
        out = out[:start] + text + out[end:]
    return out


def _is_report(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "report"
    )


def _hp_attr(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "hp"
        and node.func.attr in _SUGGEST
    ):
        return node.func.attr
    return None


def _suggest_text(node: ast.Call, kind: str, code: str, parent: ast.AST | None) -> str:
    name_kw = name_keyword(node)
    if name_kw is not None:
        name = ast.get_source_segment(code, name_kw.value) or "''"
    else:
        inferred = infer_name(node, parent)
        if inferred is None:  # pragma: no cover - parse_cell refuses such a cell first
            raise ValueError("name could not be inferred")
        name = repr(inferred)
    args = [ast.get_source_segment(code, a) or "" for a in node.args]
    args += [
        f"{k.arg}={ast.get_source_segment(code, k.value)}" for k in node.keywords if k.arg != "name"
    ]
    return f"trial.{_SUGGEST[kind]}({', '.join([name, *args])})"


def _free_names(code: str) -> set[str]:
    """Names the cell reads but never binds (they come from the notebook)."""
    tree = ast.parse(code)
    loaded: set[str] = set()
    bound: set[str] = {"trial", "hp", "report", CONSTRAINT}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                bound.add((a.asname or a.name).split(".")[0])
    return {n for n in loaded - bound if not hasattr(builtins, n)}


def _factory_code(
    spec: str | None, kind: str, seed: int | None, space: list[Any], user_ns: dict[str, Any]
) -> tuple[str, str | None]:
    """The code of ``--sampler`` / ``--pruner``, and the notebook variable it names (or None)."""
    if spec is None:
        if kind == "sampler" and seed is not None:
            return f"optuna.samplers.TPESampler(seed={seed})", None
        return "None", None
    obj, key, kwargs = parse_choice(spec, kind, user_ns)
    if obj is not None:
        name = unquote(spec).strip()
        return name, name
    call = sampler_call(key, kwargs, seed, space) if kind == "sampler" else pruner_call(key, kwargs)
    return call.source(), None


_PASSWORD_VAR = "OPTUNA_STORAGE_PASSWORD"
_URL_VAR = "OPTUNA_STORAGE"


def _storage_code(url: str | None, with_secrets: bool) -> tuple[str, list[str]]:
    """The ``storage=`` expression, and the lines it needs before the main block."""
    if url is None:
        return "None", []
    url = unquote(url)
    if is_journal_url(url):
        path = url.removeprefix("journal:")
        backend = f"optuna.storages.journal.JournalFileBackend({path!r})"
        return f"optuna.storages.JournalStorage({backend})", []
    if mask_url(url) == url:
        return repr(url), []
    if with_secrets:
        return repr(connectable_url(url)), [
            "# Exported with --with-secrets: the storage URL in this script holds its password.",
            "",
        ]
    before, password, after = password_parts(url)
    if password is not None and mask_url(before[:-1] + after) == before[:-1] + after:
        return "STORAGE", [
            f"# The storage is {mask_url(url)}",
            f"# Its password is not written here: it is read from the {_PASSWORD_VAR}",
            "# environment variable (`%optuna export --with-secrets` writes it here instead).",
            "STORAGE = (",
            f"    {before!r}",
            f'    + quote(os.environ["{_PASSWORD_VAR}"], safe="")',
            f"    + {after!r}",
            ")",
            "",
        ]
    return "STORAGE", [  # secrets in the query string too: the whole URL comes from outside
        f"# The storage is {mask_url(url)}",
        f"# It holds secrets, so it is not written here: set the {_URL_VAR} environment",
        "# variable to the whole URL (`%optuna export --with-secrets` writes it here instead).",
        f'STORAGE = os.environ["{_URL_VAR}"]',
        "",
    ]


def _study_code(
    a: Any, space: list[Any], user_ns: dict[str, Any], with_secrets: bool
) -> tuple[str, list[str], set[str]]:
    """The main block, the lines it needs before it, and the notebook variables it names."""
    directions = a.directions or [a.direction or "minimize"]
    dir_arg = (
        f"direction={directions[0]!r}"
        if len(directions) == 1
        else f"directions={list(directions)!r}"
    )
    sampler, sampler_var = _factory_code(a.sampler, "sampler", a.seed, space, user_ns)
    pruner, pruner_var = _factory_code(a.pruner, "pruner", None, space, user_ns)
    storage, before = _storage_code(a.storage, with_secrets)
    create = [
        dir_arg,
        f"sampler={sampler}",
        f"pruner={pruner}",
        f"storage={storage}",
        f"study_name={unquote(a.study_name) if a.study_name else None!r}",
    ]
    if a.resume:
        create.append("load_if_exists=True")
    optimize = ["objective"]
    if a.n_trials is not None:
        optimize.append(f"n_trials={a.n_trials}")
    if a.timeout is not None:
        optimize.append(f"timeout={a.timeout}")
    if a.n_jobs not in (None, 1):
        optimize.append(f"n_jobs={a.n_jobs}")
    if a.catch:
        optimize.append("catch=(Exception,)")
    best = (
        "print('Best value:', study.best_value)\n    print('Best params:', study.best_params)"
        if len(directions) == 1
        else "for t in study.best_trials:\n        print(t.number, t.values, t.params)"
    )
    metric_names = getattr(a, "metric_names", None)
    names = (
        f"    study.set_metric_names({[unquote(n) for n in metric_names]!r})\n"
        if metric_names
        else ""
    )
    main = (
        'if __name__ == "__main__":\n'
        "    study = optuna.create_study(\n        "
        + ",\n        ".join(create)
        + ",\n    )\n"
        + names
        + f"    study.optimize({', '.join(optimize)})\n"
        + f"    {best}"
    )
    return main, before, {v for v in (sampler_var, pruner_var) if v}
