"""``--until-stale K``: end a run once K trials in a row have not improved the best value.

A plain rule, with no model of the objective behind it: it counts the trials that finished
since the best value last got better (pruned and failed trials count too: they are trials the
budget paid for). The study's best before the run (``--resume``) is where the count starts from.
Stopping is the graceful stop of the Stop button: the running trials finish, none starts.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from optuna_magic.run.contract import RunControl, RunInfo, TrialError, TrialEvent

__all__ = ["StaleStop"]


class StaleStop(BaseSink):
    """Asks the run to stop after ``patience`` finished trials without a better value.

    Args:
        patience: trials in a row without improvement that end the run (at least 1).
        direction: ``"minimize"`` or ``"maximize"`` (a single objective).
        quiet: say nothing when it stops the run.
    """

    def __init__(self, patience: int, direction: str, *, quiet: bool = False) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience = patience
        self._sign = -1.0 if direction == "maximize" else 1.0
        self._quiet = quiet
        self._best = math.inf  # sign * the best value so far
        self._best_number: int | None = None
        self._since = 0
        self._control: RunControl | None = None
        self._lock = threading.Lock()
        self.stopped = False

    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """The count starts from the study's best before this run (a panel's "Run N more"
        starts its run with this sink again)."""
        self._control = control
        self.stopped = False
        for trial in info.existing_trials:
            self._better(trial)
        self._since = 0

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """Count the trial; stop the run once ``patience`` trials in a row did not improve."""
        with self._lock:
            if self._better(trial):
                self._since = 0
                return
            self._since += 1
            if self.stopped or self._since < self.patience or self._control is None:
                return
            self.stopped = True
            control = self._control
        if not self._quiet:
            since = f" (best: trial #{self._best_number})" if self._best_number is not None else ""
            print(
                f"--until-stale {self.patience}: {self._since} trials without a better "
                f"value{since}; stopping the run"
            )
        control.request_stop()

    def run_ended(self, result: object) -> None:
        """A finished run is not steered any more."""
        self._control = None

    def _better(self, trial: FrozenTrial | TrialEvent) -> bool:
        if trial.state.name != "COMPLETE" or trial.values is None or len(trial.values) != 1:
            return False
        key = self._sign * float(trial.values[0])
        if not key < self._best:  # NaN never improves
            return False
        self._best, self._best_number = key, trial.number
        return True
