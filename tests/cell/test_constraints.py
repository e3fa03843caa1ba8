"""``constraint(value, name=...)`` in a cell: names, static refusals, run-time refusals, export."""

from __future__ import annotations

import ast
import math
import warnings
from typing import Any

import optuna
import pytest

from optuna_magic import OptunaMagicError
from optuna_magic.cell.compile import build_objective
from optuna_magic.cell.export import _rewrite
from optuna_magic.cell.parse import parse_cell


def parse(code: str, **ns: object) -> Any:
    return parse_cell(code, "<cell>", line_offset=1, namespace=ns, magic_line="%%optuna")


NAMES = [
    (
        "default names in source order",
        "x = hp.float(0, 1)\nconstraint(x)\nconstraint(1 - x)\nx",
        ["c0", "c1"],
    ),
    ("explicit name", "x = hp.float(0, 1)\nconstraint(x - 0.5, name='mem')\nx", ["mem"]),
    ("mixed", "x = hp.float(0, 1)\nconstraint(x, name='a')\nconstraint(-x)\nx", ["a", "c1"]),
    ("value keyword", "x = hp.float(0, 1)\nconstraint(value=x)\nx", ["c0"]),
    ("dynamic name", "for i in range(2):\n    constraint(-i, name=f'k{i}')\n0", [None]),
    (
        "one per branch",
        "x = hp.float(0, 1)\nif x > 0.5:\n    constraint(x)\nelse:\n"
        "    constraint(-x, name='c0')\nx",
        ["c0", "c0"],
    ),
]


@pytest.mark.parametrize(("code", "names"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_constraint_names(code: str, names: list[str | None]) -> None:
    cell = parse(code)
    assert [c.name for c in cell.constraints] == names


def test_a_cell_that_binds_constraint_keeps_its_own() -> None:
    cell = parse("def constraint(v):\n    return v\nx = hp.float(0, 1)\nconstraint(x)")
    assert cell.constraints == []


STATIC_ERRORS = [
    ("name not a string", "x = hp.float(0, 1)\nconstraint(x, name=3)\nx", 3, "must be a string"),
    ("empty name", "x = hp.float(0, 1)\nconstraint(x, name=' ')\nx", 3, "must not be empty"),
    ("value a string", "constraint('a')\n0", 2, "must be a number"),
    ("value None", "constraint(None)\n0", 2, "must be a number"),
    ("no value", "constraint()\n0", 2, "takes one value"),
    ("two values", "constraint(1, 2)\n0", 2, "takes one value"),
    ("unknown keyword", "constraint(1, step=2)\n0", 2, "takes one value"),
    ("starred", "v = [1]\nconstraint(*v)\n0", 3, "*args"),
    ("static name in a loop", "for i in range(3):\n    constraint(i - 1)\n0", 3, "inside a loop"),
    ("same name twice", "constraint(1, name='m')\nconstraint(2, name='m')\n0", 3, "set twice"),
    ("default name given twice", "constraint(1)\nconstraint(2, name='c0')\n0", 3, "set twice"),
]


@pytest.mark.parametrize(
    ("code", "line", "message"),
    [e[1:] for e in STATIC_ERRORS],
    ids=[e[0] for e in STATIC_ERRORS],
)
def test_bad_constraints_are_refused_before_a_trial_with_their_line(
    code: str, line: int, message: str
) -> None:
    with pytest.raises(OptunaMagicError) as info:
        parse(code)
    assert info.value.line == line
    assert message in str(info.value)
    assert f"cell line {line}" in str(info.value)


def _run(code: str, ns: dict[str, Any] | None = None, n: int = 3) -> optuna.Study:
    cell = parse(code)
    objective = build_objective(cell, "<cell>", dict(ns or {}), lambda *a: None, 1)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's "already set" warning must never be reached
        study.optimize(objective, n_trials=n)
    return study


def test_constraints_are_stored_as_optuna_constraints() -> None:
    study = _run("x = hp.float(0, 6)\nconstraint(x - 3)\nconstraint(-x, name='pos')\nx", n=6)
    for t in study.trials:
        assert t.constraints == {"c0": t.params["x"] - 3, "pos": -t.params["x"]}
    feasible = [t for t in study.trials if t.params["x"] <= 3]
    assert study.best_trial.number == min(feasible, key=lambda t: t.params["x"]).number


RUN_ERRORS = [
    (
        "not a number",
        "x = hp.float(0, 1)\nconstraint(str(x))\nx",
        3,
        "must be a number (feasible when <= 0), got str",
    ),
    ("NaN", "import math\nconstraint(math.nan)\n0", 3, "is NaN"),
    (
        "dynamic name twice",
        "for i in range(2):\n    constraint(1, name=f'k{i // 2}')\n0",
        3,
        "set twice in one trial",
    ),
    (
        "helper called twice",
        "def f():\n    constraint(1)\nf()\nf()\n0",
        3,
        "set twice in one trial",
    ),
    (
        "dynamic name not a string",
        "for i in range(1):\n    constraint(1, name=i)\n0",
        3,
        "non-empty string",
    ),
]


@pytest.mark.parametrize(
    ("code", "line", "message"), [e[1:] for e in RUN_ERRORS], ids=[e[0] for e in RUN_ERRORS]
)
def test_bad_constraint_values_stop_the_run_with_their_line(
    code: str, line: int, message: str
) -> None:
    from optuna_magic.run.runner import RunAborted

    with pytest.raises(RunAborted) as info:
        _run(code)
    error = info.value.error
    assert isinstance(error, OptunaMagicError)
    assert error.line == line
    assert message in str(error)


def test_a_cell_without_constraint_calls_sees_the_notebooks_constraint() -> None:
    study = _run("x = hp.float(0, 1)\nx + len(constraint)", {"constraint": [1, 2]})
    assert all(t.constraints == {} for t in study.trials)


EXPORTS = [
    (
        "default name",
        "x = hp.float(0, 6)\nconstraint(x - 3)\nx",
        "trial.set_constraint('c0', x - 3)",
    ),
    (
        "given name",
        "x = hp.float(0, 6)\nconstraint(x - 3, name=f'k{1}')\nx",
        "trial.set_constraint(f'k{1}', x - 3)",
    ),
    (
        "declaration inside",
        "constraint(hp.float(0, 1, name='m') - 0.5, name='mem')\n0",
        "trial.set_constraint('mem', trial.suggest_float('m', 0, 1) - 0.5)",
    ),
]


@pytest.mark.parametrize(("code", "line"), [e[1:] for e in EXPORTS], ids=[e[0] for e in EXPORTS])
def test_export_writes_set_constraint(code: str, line: str) -> None:
    body, _ = _rewrite(code, code.splitlines())
    assert line in body.splitlines()
    assert "constraint(" not in body.replace("set_constraint(", "")
    ast.parse("def objective(trial):\n" + "\n".join("    " + ln for ln in body.splitlines()))


def test_the_constraint_of_an_int_is_a_float() -> None:
    study = _run("k = hp.int(0, 4)\nconstraint(k - 2)\nk")
    assert all(
        isinstance(v, float) and not math.isnan(v)
        for t in study.trials
        for v in t.constraints.values()
    )


def test_constraint_through_an_alias_is_refused_in_our_words() -> None:
    from optuna_magic.run.runner import RunAborted

    with pytest.raises(RunAborted) as info:
        _run("constraint(-1, name='a')\nf = constraint\nf(2)\n0")
    assert "constraint was called without its declaration" in str(info.value.error)


def test_constraints_in_the_shell_with_several_objectives(ip: Any) -> None:
    ip.run_cell_magic(
        "optuna",
        "-n 20 --quiet --seed 0 --directions minimize minimize -o two",
        "x = hp.float(0, 4)\nconstraint(1 - x, name='x_at_least_1')\nx, (x - 4) ** 2",
    )
    study = ip.user_ns["two"]
    assert {tuple(t.constraints) for t in study.trials} == {("x_at_least_1",)}
    assert study.best_trials and all(t.params["x"] >= 1 for t in study.best_trials)
