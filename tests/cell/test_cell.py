"""Cell parsing: declarations, name inference, static checks, the objective value."""

from __future__ import annotations

import ast

import pytest

from optuna_magic import OptunaMagicError
from optuna_magic.cell.parse import parse_cell


def parse(code: str, **ns: object):
    return parse_cell(code, "<cell>", line_offset=1, namespace=ns, magic_line="%%optuna")


NAMES = [
    ("keyword", "f(n_estimators=hp.int(10, 100))\n0", ["n_estimators"]),
    ("assign", "lr = hp.float(1e-4, 1e-1, log=True)\nlr", ["lr"]),
    ("annotated", "lr: float = hp.float(0.1, 1)\nlr", ["lr"]),
    ("attribute", "cfg.lr = hp.float(0.1, 1)\n0", ["lr"]),
    ("self attribute", "self.depth = hp.int(1, 3)\n0", ["depth"]),
    ("subscript", "cfg['units'] = hp.int(1, 3)\n0", ["units"]),
    (
        "dict key",
        "p = {'alpha': hp.float(0, 1), 'kind': hp.choice(['a', 'b'])}\n0",
        ["alpha", "kind"],
    ),
    ("explicit", "x = hp.float(0, 1, name='gamma')\nx", ["gamma"]),
    ("explicit wins over keyword", "f(a=hp.int(1, 2, name='b'))\n0", ["b"]),
    ("nested in call", "m = M(opt=Opt(lr=hp.float(0.1, 1)), k=hp.int(1, 5))\n0", ["lr", "k"]),
    (
        "conditional",
        "c = hp.choice(['svc', 'rf'])\nif c == 'svc':\n    C = hp.float(1e-3, 1, log=True)\n"
        "else:\n    depth = hp.int(2, 8)\n0",
        ["c", "C", "depth"],
    ),
]


@pytest.mark.parametrize(("code", "names"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_name_inference(code: str, names: list[str]) -> None:
    cell = parse(code)
    assert [d.name for d in cell.declarations] == names
    assert cell.space.names() == names


# Cells whose names export must write as the magic infers them (one rule, cell/names.py).
SAME_NAMES = [
    *NAMES,
    ("name=None is inferred", "x = hp.int(1, 3, name=None)\nx", ["x"]),
    ("choice in a choice", "c = hp.choice([1, 2])\nd = {'k': f(v=hp.int(1, c))}\n0", ["c", "v"]),
    ("dynamic name", "for i in range(2):\n    f(u=hp.int(1, 9, name=f'u{i}'))\n0", ["f'u{i}'"]),
    ("subscript of attribute", "self.cfg['depth'] = hp.int(1, 3)\n0", ["depth"]),
    ("report and return", "lr = hp.float(0.1, 1)\nreport(lr, 0)\nreturn lr", ["lr"]),
]


@pytest.mark.parametrize(
    ("code", "names"), [c[1:] for c in SAME_NAMES], ids=[c[0] for c in SAME_NAMES]
)
def test_export_writes_the_names_the_magic_infers(code: str, names: list[str]) -> None:
    from types import SimpleNamespace

    from optuna_magic.cell.export import export_script

    options = SimpleNamespace(
        directions=("minimize",),
        direction=None,
        n_trials=1,
        timeout=None,
        sampler=None,
        pruner=None,
        seed=None,
        storage=None,
        study_name=None,
        resume=False,
        n_jobs=1,
        catch=False,
    )
    script = ast.parse(export_script(options, code))
    exported = [
        a.value if isinstance(a, ast.Constant) else ast.unparse(a)
        for node in ast.walk(script)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith("suggest_")
        for a in node.args[:1]
    ]
    assert [p.name for p in parse(code).space.params] == names
    assert sorted(exported) == sorted(names)


def test_dynamic_names_in_loops_and_comprehensions() -> None:
    cell = parse(
        "for i in range(3):\n    u = hp.int(1, 9, name=f'units_{i}')\n"
        "ws = [hp.float(0, 1, name=f'w{j}') for j in range(2)]\n0"
    )
    assert [d.name for d in cell.declarations] == [None, None]
    assert [p.name for p in cell.space.params] == ["f'units_{i}'", "f'w{j}'"]
    assert all(p.dynamic for p in cell.space.params)


def test_rewritten_call_carries_name_and_index() -> None:
    cell = parse("lr = hp.float(0.1, 1)\nlr")
    call = cell.body[0].value
    kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert kw == {"name": "lr", "_decl": 0}


def test_lines_follow_the_editor() -> None:
    # Line 1 of the editor is the %%optuna line; the body starts at line 2.
    cell = parse("a = 1\nb = hp.int(1, 3)\nb")
    assert cell.declarations[0].line == 3
    assert cell.value_line == 4


ERRORS = [
    ("bounds out of order", "x = hp.float(10, 1)\nx", 2, "out of order"),
    ("int bounds out of order", "x = hp.int(5, 1)\nx", 2, "out of order"),
    ("log with zero low", "x = hp.float(0, 1, log=True)\nx", 2, "log=True needs low > 0"),
    ("log with negative low", "y = 1\nx = hp.int(-1, 5, log=True)\nx", 3, "low > 0"),
    ("step with log", "x = hp.float(0.1, 1, step=0.1, log=True)\nx", 2, "step and log"),
    ("empty choice", "x = hp.choice([])\nx", 2, "at least one option"),
    ("unsupported choice", "x = hp.choice([[1], [2]])\nx", 2, "must be None, bool, int"),
    ("choice not a list", "x = hp.choice('abc')\nx", 2, "list or tuple"),
    ("non-integer int bound", "x = hp.int(0.5, 3)\nx", 2, "must be an integer"),
    ("name cannot be inferred", "f(hp.int(1, 2))\n0", 2, "cannot infer a parameter name"),
    ("name in an expression", "x = 2 ** hp.int(1, 5)\nx", 2, "cannot infer"),
    (
        "two distributions",
        "a = hp.int(1, 5, name='k')\nb = hp.int(1, 9, name='k')\na",
        3,
        "two different distributions",
    ),
    ("static name in a loop", "for i in range(3):\n    u = hp.int(1, 5)\n0", 3, "inside a loop"),
    ("no objective value", "x = hp.float(0, 1)\ny = x * 2", 3, "no objective value"),
    ("unknown hp function", "x = hp.uniform(0, 1)\nx", 2, "not a declaration"),
    ("too many positional", "x = hp.float(0, 1, 0.1)\nx", 2, "positional"),
    ("unknown keyword", "x = hp.float(0, 1, base=2)\nx", 2, "unexpected argument"),
    ("missing bound", "x = hp.int(1)\nx", 2, "missing high"),
    ("bounds from globals", "x = hp.int(LOW, 1)\nx", 2, "out of order"),
    ("top-level await", "x = hp.float(0, 1)\nawait f()\nx", 3, "not supported"),
    (
        "hp in def objective",
        "x = hp.float(0, 1)\ndef objective(trial):\n    return 1",
        2,
        "not available in a cell that defines",
    ),
]


@pytest.mark.parametrize(
    ("code", "line", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_bad_declarations_name_the_line(code: str, line: int, message: str) -> None:
    with pytest.raises(OptunaMagicError) as info:
        parse(code, LOW=10)
    assert info.value.line == line
    assert message in str(info.value)
    assert f"cell line {line}" in str(info.value)


def test_syntax_error_uses_editor_line() -> None:
    with pytest.raises(SyntaxError) as info:
        parse("x = 1\ny = (\n")
    assert info.value.lineno == 3


def test_bounds_from_globals_are_checked_statically() -> None:
    cell = parse("x = hp.int(LOW, HIGH, step=STEP)\nx", LOW=2, HIGH=10, STEP=2)
    assert cell.declarations[0].static_args == {"low": 2, "high": 10, "step": 2, "log": False}


def test_bounds_computed_in_the_cell_are_checked_later() -> None:
    cell = parse("n = len(data)\nk = hp.int(1, n)\nk")
    assert cell.declarations[0].static_args is None
    assert cell.space.params[0].dynamic


MODES = [
    ("last expression", "x = hp.float(0, 1)\nx", "value", None),
    ("tuple", "a = hp.float(0, 1)\na, 1 - a", "value", 2),
    ("top-level return", "a = hp.float(0, 1)\nif a > 0.5:\n    return a\nreturn -a", "value", None),
    (
        "def objective",
        "import math\ndef objective(trial):\n    return trial.suggest_float('x', 0, 1)",
        "objective",
        None,
    ),
]


@pytest.mark.parametrize(
    ("code", "mode", "arity"), [m[1:] for m in MODES], ids=[m[0] for m in MODES]
)
def test_objective_value_forms(code: str, mode: str, arity: int | None) -> None:
    cell = parse(code)
    assert cell.mode == mode
    assert cell.value_arity == arity


def test_suggest_calls_appear_in_the_table() -> None:
    cell = parse("x = trial.suggest_float('x', 0, 1)\ny = hp.int(1, 3)\nx + y")
    table = cell.space.table()
    assert "x" in table and "y" in table and "int [1, 3]" in table


def test_report_usage_is_found() -> None:
    assert parse("x = hp.float(0, 1)\nreport(x, 0)\nx").uses_report
    assert not parse("x = hp.float(0, 1)\nx").uses_report
