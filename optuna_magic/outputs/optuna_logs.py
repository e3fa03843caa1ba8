"""Optuna's own log lines during a run: kept from printing over the progress line."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    from optuna_magic.run.contract import RunResult

__all__ = ["QuietOptunaLogs"]


class QuietOptunaLogs(BaseSink):
    """Keeps Optuna's per-trial log lines from printing over the progress line during a run.

    Runs may overlap (a background run and a cell's run): Optuna's verbosity is lowered by the
    first to start and restored by the last to end.
    """

    _lock = threading.Lock()
    _active = 0
    _saved: int | None = None

    def run_started(self, info: Any, control: Any) -> None:
        import optuna

        with QuietOptunaLogs._lock:
            if QuietOptunaLogs._active == 0:
                QuietOptunaLogs._saved = optuna.logging.get_verbosity()
                optuna.logging.set_verbosity(optuna.logging.ERROR)
            QuietOptunaLogs._active += 1

    def run_ended(self, result: RunResult) -> None:
        import optuna

        with QuietOptunaLogs._lock:
            QuietOptunaLogs._active -= 1
            if QuietOptunaLogs._active == 0 and QuietOptunaLogs._saved is not None:
                optuna.logging.set_verbosity(QuietOptunaLogs._saved)
