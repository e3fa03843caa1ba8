"""A ``%%optuna`` cell with ``constraint(...)`` in a real kernel: Optuna's constraints stored, and
the panel, its snapshot and ``study.best_trial`` agree on the best feasible trial."""

from __future__ import annotations

import json

from kernel_helpers import execute, notebook, texts

CELL = "%%optuna -n 30 --seed 0 --direction maximize\nx = hp.float(0, 6)\nconstraint(x - 3)\nx"
PROBE = """
import gc, json
panel = next(o for o in gc.get_objects() if type(o).__name__ == "StudyPanel")
print("PROBE=" + json.dumps({
    "best": study.best_trial.number,
    "panel_best": panel.status["best"]["number"],
    "constraints_ok": all(t.constraints == {"c0": t.params["x"] - 3} for t in study.trials),
    "infeasible": sum(t.params["x"] > 3 for t in study.trials),
    "panel_infeasible": panel.record.n_infeasible(),
    "unconstrained_best": max(study.trials, key=lambda t: t.value).number,
}))
"""


def test_constraints_from_a_cell_reach_optuna_the_panel_and_the_snapshot() -> None:
    nb = execute(
        notebook(
            "%load_ext optuna_magic",
            CELL,
            PROBE,
        )
    )
    probe = json.loads(texts(nb.cells[2]).split("PROBE=")[1])
    assert probe["constraints_ok"]
    assert probe["infeasible"] > 0 and probe["panel_infeasible"] == probe["infeasible"]
    assert probe["panel_best"] == probe["best"] != probe["unconstrained_best"]
    snapshot = texts(nb.cells[1])
    assert "best feasible" in snapshot and f"at trial {probe['best']}" in snapshot
    assert f"({probe['infeasible']} infeasible)" in snapshot
