"""``--keep-best``: which trial's cell variables go into the namespace, and what to say about it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.run.contract import RunResult, TrialError, TrialEvent

__all__ = ["BindBest", "KeepBest", "kept_variables"]


class KeepBest(BaseSink):
    """Drops the variables of every trial but the best so far (``--keep-best``)."""

    def __init__(self, objective: Any, direction: str) -> None:
        self._objective = objective
        self._sign = 1.0 if direction == "minimize" else -1.0
        self._best: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        kept = self._objective.trial_locals
        with self._lock:
            if trial.state.name == "COMPLETE" and trial.value is not None:
                key = self._sign * trial.value
                if self._best is None or key < self._best[0]:
                    if self._best is not None:
                        kept.pop(self._best[1], None)
                    self._best = (key, trial.number)
                    return
            kept.pop(trial.number, None)


class BindBest(BaseSink):
    """Binds the best trial's kept variables into the namespace when a run ends: for a panel's
    "Run N more", whose cell has ended (the ``%%optuna`` cell binds its own run's itself).

    Args:
        objective: the cell's objective (its ``trial_locals`` are what :class:`KeepBest` kept).
        out: the variable that holds the Study (never overwritten).
        namespace: where the variables go (the kernel's ``user_ns``).
        say: how a note reaches the user (the continued run's output).
    """

    def __init__(
        self,
        objective: Any,
        out: str,
        namespace: dict[str, Any],
        say: Callable[[str], None] = print,
    ) -> None:
        self._objective = objective
        self._out = out
        self._namespace = namespace
        self._say = say

    def run_ended(self, result: RunResult) -> None:
        variables, note = kept_variables(result.study, self._objective.trial_locals, self._out)
        if note is not None:
            self._say(note)
        self._namespace.update(variables)


def kept_variables(
    study: optuna.Study, kept: Mapping[int, dict[str, Any]], out: str
) -> tuple[dict[str, Any], str | None]:
    """The variables to bind after a run, and a note for the user when they are not simply the
    best trial's.

    ``kept`` holds the variables of this run's best trial only (the other trials' are dropped
    as the run goes). After ``--resume`` the study's best may come from an earlier run, whose
    variables no longer exist: then this run's best is kept, and the note says so, since a
    ``model`` that does not match ``study.best_params`` must never pass for the best one. The
    variable named by ``-o`` holds the Study and is never overwritten by a cell variable.
    """
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        return {}, "--keep-best: no trial completed; kept nothing"
    note = None
    number = best.number
    if number not in kept:
        earlier = f"--keep-best: best trial #{number} is from an earlier run, whose variables "
        if not kept:
            return {}, (
                f"{earlier}this run does not have; no trial of this run completed, so kept nothing"
            )
        number = next(iter(kept))
        value = study.get_trials(deepcopy=False)[number].value
        note = (
            f"{earlier}this run does not have; kept the variables of this run's best trial "
            f"#{number} (value {value}) instead"
        )
    variables = dict(kept[number])
    if out in variables:
        del variables[out]
        clash = (
            f"--keep-best: the cell's own `{out}` (trial #{number}) was not kept: `{out}` holds "
            f"the Study (-o {out}); rename the variable in the cell, or give -o another name"
        )
        note = clash if note is None else f"{note}\n{clash}"
    return variables, note
