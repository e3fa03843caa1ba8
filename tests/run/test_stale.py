"""``--until-stale K``: a run ends after K trials in a row without a better value."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from shell_helpers import run

# Better for trials 0..5, then the same value for ever (ties do not improve).
CELL = "x = hp.float(0, 1)\n-min(trial.number, 5) + 0 * x\n"


def test_a_run_ends_after_k_trials_without_improvement(ip: Any, capsys: Any) -> None:
    r = run(ip, f"%%optuna -n 500 --until-stale 10\n{CELL}")
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    # The best is trial #5; trials 6..15 do not improve; the 10th of them stops the run.
    assert len(study.trials) == 16
    assert study.best_trial.number == 5
    assert all(t.state.is_finished() for t in study.trials)
    out = capsys.readouterr().out
    assert "--until-stale 10: 10 trials without a better value (best: trial #5)" in out
    assert "stopped" in out


def test_maximize_and_pruned_trials_count(ip: Any) -> None:
    # Maximize: trial 0 is the best and stays it; pruned trials count toward the patience.
    cell = (
        "x = hp.float(0, 1)\n"
        "if trial.number % 2:\n    report(0.0, 0)\n    raise optuna.TrialPruned()\n"
        "-trial.number + 0 * x\n"
    )
    ip.user_ns["optuna"] = optuna
    r = run(ip, f"%%optuna -n 100 --direction maximize --until-stale 6 --quiet\n{cell}")
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    assert len(study.trials) == 7
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.PRUNED in states


def test_resume_counts_from_the_studys_best(ip: Any) -> None:
    r = run(ip, f"%%optuna -n 8 --quiet\n{CELL}")
    assert r.success, r.error_in_exec
    # Resumed: trials 8.. all give -5, no better than the stored best (#5): 4 trials and out.
    r = run(ip, f"%%optuna -n 100 --resume --until-stale 4 --quiet\n{CELL}")
    assert r.success, r.error_in_exec
    assert len(ip.user_ns["study"].trials) == 12


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ("--until-stale 0", "--until-stale must be at least 1, got 0"),
        ("--directions minimize maximize --until-stale 5", "needs a single objective"),
    ],
)
def test_bad_until_stale_is_refused_before_any_trial(ip: Any, opts: str, message: str) -> None:
    ip.user_ns["probe"] = []
    cell = "probe.append(1)\nx = hp.float(0, 1)\nx\n"
    r = run(ip, f"%%optuna -n 3 --quiet -o never {opts}\n{cell}")
    assert message in str(r.error_in_exec)
    assert ip.user_ns["probe"] == [] and "never" not in ip.user_ns
