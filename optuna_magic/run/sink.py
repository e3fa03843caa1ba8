"""The do-nothing sink that sinks derive from (its own module: ``%load_ext`` imports it, and
the contract's dataclasses in :mod:`optuna_magic.run.contract` cost milliseconds to build)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from optuna_magic.run.contract import RunControl, RunInfo, RunResult, TrialError, TrialEvent

__all__ = ["BaseSink"]


class BaseSink:
    """A :class:`~optuna_magic.run.contract.RunSink` that ignores every event; a sink overrides
    what it needs.

    The run does not call a per-trial method that a sink leaves as it is here (a fast trial
    takes ~40 us, and each call costs a little of that).
    """

    # True: trial starts are read from the control's running_trials() instead of being told.
    reads_running_trials: bool = False

    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Nothing to do."""

    def trial_started(self, number: int) -> None:
        """Nothing to do."""

    def trial_reported(self, number: int, step: int, value: float) -> None:
        """Nothing to do."""

    def trial_completed(
        self, trial: FrozenTrial, values: tuple[float, ...], started: float | None, ended: float
    ) -> bool:
        """Not overridden: the run sends completed trials to ``trial_finished`` instead."""
        return False

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """Nothing to do."""

    def run_ended(self, result: RunResult) -> None:
        """Nothing to do."""
