"""One way of writing a distribution: a declared parameter and one Optuna stored read the same
(the search space view shows `def objective` cells and `hp.*` cells alike)."""

from __future__ import annotations

import optuna
import pytest

from optuna_magic.cell.space import ParamSpec, describe_distribution
from optuna_magic.outputs.panel.columns import column_for, space_columns

D = optuna.distributions


@pytest.mark.parametrize(
    ("spec", "stored", "text"),
    [
        (ParamSpec("n", "int", 1, 8), D.IntDistribution(1, 8), "int [1, 8]"),
        (
            ParamSpec("n", "int", 2, 20, step=2),
            D.IntDistribution(2, 20, step=2),
            "int [2, 20] step 2",
        ),
        (
            ParamSpec("lr", "float", 1e-5, 0.1, log=True),
            D.FloatDistribution(1e-5, 0.1, log=True),
            "float [1e-05, 0.1] log",
        ),
        (
            ParamSpec("act", "categorical", choices=("relu", "tanh")),
            D.CategoricalDistribution(["relu", "tanh"]),
            "choice ('relu', 'tanh')",
        ),
    ],
)
def test_declared_and_stored_read_the_same(spec: ParamSpec, stored: object, text: str) -> None:
    assert spec.describe() == text
    assert describe_distribution(stored) == text
    # The record's column headers carry it: declared up front, or first seen in a trial.
    assert space_columns([spec])[0].to_json()["distribution"] == text
    assert column_for(spec.name, stored).to_json()["distribution"] == text
