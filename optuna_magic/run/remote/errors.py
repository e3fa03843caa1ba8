"""The errors of the runs in other processes (``--workers``, ``--dask``).

Small and free of imports, so a caller can catch them without starting any machinery.
"""

from __future__ import annotations

__all__ = ["CellError", "WorkerError", "WorkersDied"]


class WorkerError(Exception):
    """A trial in a worker raised (without ``--catch``) or a worker could not start.

    Carries the worker's traceback text, which IPython shows instead of a local one.
    """

    def __init__(self, message: str, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback

    def _render_traceback_(self) -> list[str]:
        lines = [
            "A trial raised an exception in a worker process; the run stopped (use "
            "--catch to record such trials as failed and go on)."
        ]
        if self.remote_traceback:
            lines.extend(self.remote_traceback.rstrip("\n").splitlines())
        else:
            lines.append(f"{type(self).__name__}: {self}")
        return lines


class WorkersDied(WorkerError):
    """Every worker process died (killed, out of memory) before the run had all its trials."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class CellError(Exception):
    """A problem with the cell found while a trial ran (a wrong declaration); ends the run."""
