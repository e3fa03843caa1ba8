"""The runner's per-trial calls: which sink hears of which trial, and with what."""

from __future__ import annotations

import time
from typing import Any

import optuna
import pytest

from optuna_magic.run.runner import RunInfo, Runner, TrialError
from optuna_magic.run.sink import BaseSink


class _Completing(BaseSink):
    """Takes completed trials as plain values; hears of the others through trial_finished."""

    def __init__(self) -> None:
        self.completed: list[tuple[int, tuple[float, ...], dict[str, Any], float, float]] = []
        self.finished: list[tuple[int, str, bool]] = []

    def trial_completed(
        self, trial: Any, values: tuple[float, ...], started: float | None, ended: float
    ) -> bool:
        assert started is not None
        self.completed.append((trial.number, values, dict(trial.params), started, ended))
        return True

    def trial_finished(self, trial: Any, error: TrialError | None) -> None:
        self.finished.append((trial.number, trial.state.name, error is not None))


class _Finishing(BaseSink):
    """Hears of every trial through trial_finished, completed ones included."""

    def __init__(self) -> None:
        self.finished: list[tuple[int, str, tuple[float, ...] | None, dict[str, Any]]] = []

    def trial_finished(self, trial: Any, error: TrialError | None) -> None:
        values = tuple(trial.values) if trial.values is not None else None
        self.finished.append((trial.number, trial.state.name, values, dict(trial.params)))


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number % 3 == 1:
        raise optuna.TrialPruned()
    if trial.number % 3 == 2:
        raise ValueError("bad luck")
    return x


@pytest.mark.parametrize("n_jobs", [1, 2], ids=["sequential", "n_jobs=2"])
def test_completed_trials_go_to_trial_completed_where_a_sink_has_it(n_jobs: int) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    info = RunInfo("s", ["minimize"], "r", "n", "in memory", 12, None, [], ["value"], time.time())
    completing, finishing = _Completing(), _Finishing()
    before = time.time()
    runner = Runner(
        study,
        _objective,
        info,
        [completing, finishing],
        n_trials=12,
        timeout=None,
        n_jobs=n_jobs,
        catch=(ValueError,),
    )
    runner.start()
    result = runner.wait(60)
    assert result is not None and result.state == "finished"
    stored = {t.number: t for t in study.trials}
    complete = sorted(n for n, t in stored.items() if t.state.name == "COMPLETE")
    assert complete == [0, 3, 6, 9]

    assert sorted(c[0] for c in completing.completed) == complete
    for number, values, params, started, ended in completing.completed:
        assert values == tuple(stored[number].values)
        assert params == stored[number].params
        assert before <= started <= ended <= time.time()
    # The others (pruned, failed with its error) still come through trial_finished, once each.
    assert sorted(completing.finished) == sorted(
        (n, t.state.name, t.state.name == "FAIL")
        for n, t in stored.items()
        if t.state.name != "COMPLETE"
    )
    # A sink without trial_completed hears of every trial, completed ones with their values.
    assert sorted(finishing.finished) == sorted(
        (n, t.state.name, tuple(t.values) if t.state.name == "COMPLETE" else None, t.params)
        for n, t in stored.items()
    )
