"""Declarations compiled to Optuna's own calls, and cells compiled to a plain ``objective(trial)``.

The plain form must be the same study as the hp form: the same distributions, the same values
from the same seeded sampler, the same refusals in our words.
"""

from __future__ import annotations

import ast
import types
from typing import Any

import optuna
import pytest

from optuna_magic.cell.compile import build_objective
from optuna_magic.cell.objective import CellObjective
from optuna_magic.cell.parse import parse_cell
from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.run.runner import RunAborted


def _build(code: str, ns: dict[str, Any] | None = None, n: int = 1, **kw: Any) -> Any:
    ns = {"__name__": "__main__", **(ns or {})}
    parsed = parse_cell(code, "<cell>", line_offset=1, namespace=ns, magic_line="%%optuna")
    return build_objective(parsed, "<cell>", ns, lambda *a: None, n, **kw)


FORMS = [
    ("literal float", "x = hp.float(-10, 10)\n(x - 2) ** 2\n", {}, "plain"),
    ("every kind", "a = hp.int(1, 9, step=2)\nb = hp.choice(['p', None])\nfloat(a)\n", {}, "plain"),
    ("arithmetic bounds", "x = hp.float(-2 ** 3, 1e-1 * 5)\nx\n", {}, "plain"),
    ("only trial.suggest", "x = trial.suggest_float('x', 0, 1)\nx\n", {}, "plain"),
    ("a bound from the namespace", "x = hp.float(0, HIGH)\nx\n", {"HIGH": 2.0}, "cell"),
    ("a bound the cell computes", "h = 2\nx = hp.float(0, h)\nx\n", {}, "cell"),
    ("a declaration in a def", "def f():\n    return hp.float(0, 1, name='x')\nf()\n", {}, "cell"),
    ("a computed name", "for i in range(2):\n    v = hp.int(1, 3, name=f'v{i}')\nv\n", {}, "cell"),
    ("report", "x = hp.float(0, 1)\nreport(x, 0)\nx\n", {}, "cell"),
    ("constraint", "x = hp.float(0, 1)\nconstraint(x - 0.5, name='c')\nx\n", {}, "cell"),
    ("eval", "x = hp.float(0, 1)\neval('x')\n", {}, "cell"),
    ("a cell that binds trial", "x = hp.float(0, 1)\ntrial = None\nx\n", {}, "cell"),
]


@pytest.mark.parametrize(("code", "ns", "form"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_which_cells_compile_to_a_plain_function(code: str, ns: dict[str, Any], form: str) -> None:
    objective = _build(code, ns)
    assert isinstance(objective, types.FunctionType if form == "plain" else CellObjective)


def test_keep_best_keeps_the_cell_objective() -> None:
    objective = _build("x = hp.float(0, 1)\nx\n", keep_locals=True)
    assert isinstance(objective, CellObjective)
    optuna.create_study().optimize(objective, n_trials=2)
    assert set(objective.trial_locals) == {0, 1} and "x" in objective.trial_locals[0]


SPACE = (
    "a = hp.int({a_low}, 9, step=2)\n"
    "b = hp.int({b_low}, 64, log=True)\n"
    "c = hp.float({c_low}, 1.0, log=True)\n"
    "d = hp.float({d_low}, 1, step=0.25)\n"
    "e = hp.choice([{e_first}, 'y', None, 2.5])\n"
    "f = hp.float({f_low}, 3)\n"
    "a + b + c + d + f + (e is None)\n"
)


def test_the_plain_form_is_the_same_study_as_the_hp_form() -> None:
    literal = SPACE.format(a_low=1, b_low=1, c_low=1e-3, d_low=0, e_first="'x'", f_low=-3)
    named = SPACE.format(a_low="A", b_low="B", c_low="C", d_low="D", e_first="E", f_low="F")
    ns = {"A": 1, "B": 1.0, "C": 1e-3, "D": 0, "E": "x", "F": -3}
    plain, with_hp = _build(literal), _build(named, ns)
    assert isinstance(plain, types.FunctionType) and isinstance(with_hp, CellObjective)
    studies = []
    for objective in (plain, with_hp):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
        study.optimize(objective, n_trials=20)
        studies.append(study)
    for t1, t2 in zip(*(s.trials for s in studies), strict=True):
        assert t1.distributions == t2.distributions
        assert t1.params == t2.params and t1.value == t2.value
        assert type(t1.params["a"]) is int and type(t1.params["b"]) is int


VALUE_ERRORS = [
    ("None", "x = hp.float(0, 1)\nNone\n", 1, "value is None", 3),
    ("a string", "x = hp.float(0, 1)\n'x'\n", 1, "must be a number, got str", 3),
    ("two values", "x = hp.float(0, 1)\nr = [x, x]\nr\n", 1, "returned 2 values", 4),
    ("one of two", "x = hp.float(0, 1)\nr = x\nr\n", 2, "returned one value", 4),
    ("no return", "x = hp.float(0, 1)\nif x > 2:\n    return x\n", 1, "value is None", None),
]


@pytest.mark.parametrize(
    ("code", "n", "message", "line"),
    [e[1:] for e in VALUE_ERRORS],
    ids=[e[0] for e in VALUE_ERRORS],
)
def test_the_plain_form_refuses_a_bad_value_in_our_words(
    code: str, n: int, message: str, line: int | None
) -> None:
    objective = _build(code, n=n)
    assert isinstance(objective, types.FunctionType)
    study = optuna.create_study(directions=["minimize"] * n)
    with pytest.raises(RunAborted) as info:
        study.optimize(objective, n_trials=1)
    error = info.value.error
    assert isinstance(error, OptunaMagicError) and message in str(error)
    assert error.line == line


def test_numbers_of_other_types_are_recorded_as_floats() -> None:
    objective = _build("import numpy as np\nx = hp.int(1, 3)\nnp.float32(x)\n")
    assert isinstance(objective, types.FunctionType)
    study = optuna.create_study()
    study.optimize(objective, n_trials=3)
    assert all(t.value == t.params["x"] for t in study.trials)


def test_a_cell_may_bind_type_and_float_and_return_from_a_def() -> None:
    code = (
        "type = hp.choice(['a', 'bb'])\nfloat = 2\n"
        "def f():\n    return 'not the value'\nf()\nlen(type) * float\n"
    )
    objective = _build(code)
    assert isinstance(objective, types.FunctionType)
    study = optuna.create_study()
    study.optimize(objective, n_trials=4)
    assert all(t.value == 2 * len(t.params["type"]) for t in study.trials)


def test_a_name_also_declared_in_a_def_is_still_refused_when_reached_twice() -> None:
    code = "x = hp.float(0, 1)\ndef g():\n    return hp.float(0, 1, name='x')\ng() + x\n"
    objective = _build(code)
    assert isinstance(objective, CellObjective)  # x stays with hp, which sees both
    with pytest.raises(RunAborted, match="declared twice in one trial"):
        optuna.create_study().optimize(objective, n_trials=1)


def test_the_parsed_cell_keeps_its_own_body() -> None:
    ns = {"__name__": "__main__"}
    parsed = parse_cell("x = hp.float(0, 1)\nx\n", "<cell>", line_offset=1, namespace=ns)
    before = [ast.dump(s) for s in parsed.body]
    assert isinstance(build_objective(parsed, "<cell>", ns, lambda *a: None, 1), types.FunctionType)
    assert [ast.dump(s) for s in parsed.body] == before
    assert ast.unparse(parsed.body[0]).startswith("x = hp.float(")


def test_a_cell_without_declarations_keeps_its_own_body_too() -> None:
    ns = {"__name__": "__main__"}
    code = "x = trial.suggest_float('x', 0, 1)\nif x > 2:\n    return 0.0\nx\n"
    parsed = parse_cell(code, "<cell>", line_offset=1, namespace=ns)
    before = [ast.dump(s) for s in parsed.body]
    for _ in range(2):  # built again (as a second run would): the same objective
        objective = build_objective(parsed, "<cell>", ns, lambda *a: None, 1)
        assert isinstance(objective, types.FunctionType)
        assert [ast.dump(s) for s in parsed.body] == before
    study = optuna.create_study()
    study.optimize(objective, n_trials=3)
    assert all(t.value == t.params["x"] for t in study.trials)
