"""The cell objective's per-trial ``hp``: reused where nothing kept it, never elsewhere."""

from __future__ import annotations

from typing import Any

import optuna

from optuna_magic.cell.compile import build_objective
from optuna_magic.cell.objective import CellObjective
from optuna_magic.cell.parse import parse_cell


def _objective(source: str, ns: dict[str, Any]) -> CellObjective:
    parsed = parse_cell(source, "<cell>", line_offset=1, namespace=ns, magic_line="%%optuna")
    objective = build_objective(parsed, "<cell>", ns, lambda *a: None, 1)
    assert isinstance(objective, CellObjective)
    return objective


def test_an_hp_is_reused_and_holds_no_trial_between_trials() -> None:
    # A bound from the namespace keeps the declaration with hp (a literal one needs no hp).
    objective = _objective("x = hp.float(-1, HIGH)\nx * x\n", {"HIGH": 1})
    idle: list[tuple[int, bool]] = []  # not the hp itself: a reference here keeps it in use

    def note(study: optuna.Study, trial: Any) -> None:
        idle.extend((id(hp), hp._trial is None and not hp._seen) for hp in objective._idle_hp)

    optuna.create_study().optimize(objective, n_trials=3, callbacks=[note])
    assert len(idle) == 3 and len({i for i, _ in idle}) == 1
    assert all(clean for _, clean in idle)


def test_an_hp_whose_report_a_cell_kept_goes_on_seeing_its_own_trial() -> None:
    ns: dict[str, Any] = {"kept": [], "HIGH": 1}
    objective = _objective("kept.append((report, trial))\nx = hp.float(-1, HIGH)\nx * x\n", ns)
    optuna.create_study().optimize(objective, n_trials=3)
    hps = [report.__self__ for report, _ in ns["kept"]]
    assert len({id(hp) for hp in hps}) == 3
    for hp, (_, trial) in zip(hps, ns["kept"], strict=True):
        assert hp._trial is trial and hp._seen == {"x"}
    assert not objective._idle_hp
