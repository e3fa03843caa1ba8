"""The panel's own work prints nothing: no warning or log line of it lands in any cell.

The panel computes parameter importance (PED-ANOVA warns when its quantiles select the same
trials) on a private in-memory study (Optuna logs "A new study created in memory"), in a thread
of its own, while trials run and after. Both would print into whichever cell owns that thread's
output. Neither ``warnings.catch_warnings`` nor a verbosity change can silence them: both are
process-wide, so they would also swallow what a trial warns or logs meanwhile. What is silenced
here is only what the panel's own threads raise: a thread marks itself with :func:`panel_work`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["panel_work"]

_threads: set[int] = set()
_lock = threading.Lock()
_installed = False
# The Optuna loggers the panel's work logs to (its private study; the importance evaluator).
_LOGGERS = ("optuna.storages._in_memory", "optuna.study.study", "optuna.importance")


class _NotFromPanelThreads(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in _threads


def _install() -> None:
    global _installed
    with _lock:
        if not _installed:
            _installed = True
            for name in _LOGGERS:
                logging.getLogger(name).addFilter(_NotFromPanelThreads())
        # Checked each time: whoever replaced showwarning since (a test's catch_warnings
        # restores its own at the end) gets wrapped in turn.
        shown = warnings.showwarning
        if getattr(shown, "_optuna_magic", False):
            return

        def showwarning(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: Any = None,
            line: str | None = None,
        ) -> None:
            if threading.get_ident() not in _threads:
                shown(message, category, filename, lineno, file, line)

        showwarning._optuna_magic = True  # type: ignore[attr-defined]
        warnings.showwarning = showwarning


@contextlib.contextmanager
def panel_work() -> Iterator[None]:
    """Within this block, the calling thread's warnings and Optuna log lines are not shown."""
    _install()
    ident = threading.get_ident()
    _threads.add(ident)
    try:
        yield
    finally:
        _threads.discard(ident)
