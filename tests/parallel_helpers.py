"""Shared pieces of the poller, workers, Dask and resume tests."""

from __future__ import annotations

import linecache
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import optuna

from optuna_magic.cell.compile import build_objective
from optuna_magic.cell.parse import parse_cell
from optuna_magic.run.sink import BaseSink


def cell_objective(code: str, ns: dict[str, Any] | None = None, n_objectives: int = 1) -> Any:
    """Build the objective the magic builds from a cell body (see ``_magic._start``)."""
    ns = {"__name__": "__main__", **(ns or {})}
    filename = f"<optuna-magic-test-{abs(hash(code))}>"
    # The magic caches the cell under its filename (with the %%optuna line first).
    source = ("# %%optuna\n" + code).splitlines(True)
    linecache.cache[filename] = (sum(map(len, source)), None, source, filename)
    parsed = parse_cell(code, filename, line_offset=1, namespace=ns)
    return build_objective(parsed, filename, ns, _no_report, n_objectives)


def _no_report(trial: Any, value: float, step: int) -> None:
    raise AssertionError("report() in the parent: the objective should run in a worker")


class RecordingSink(BaseSink):
    """Keeps every event; thread-safe; counts by kind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[Any, ...]] = []
        self.info: Any = None
        self.control: Any = None
        self.result: Any = None
        self.errors: dict[int, Any] = {}

    def run_started(self, info: Any, control: Any) -> None:
        self.info, self.control = info, control

    def trial_started(self, number: int) -> None:
        with self.lock:
            self.events.append(("started", number))

    def trial_reported(self, number: int, step: int, value: float) -> None:
        with self.lock:
            self.events.append(("reported", number, step, value))

    def trial_finished(self, trial: Any, error: Any) -> None:
        with self.lock:
            self.events.append(("finished", trial.number, trial.state.name))
            if error is not None:
                self.errors[trial.number] = error

    def run_ended(self, result: Any) -> None:
        self.result = result

    def numbers(self, kind: str) -> list[int]:
        with self.lock:
            return [e[1] for e in self.events if e[0] == kind]

    def finished_states(self) -> Counter[str]:
        with self.lock:
            return Counter(e[2] for e in self.events if e[0] == "finished")


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials of the study by state (as stored)."""
    c = Counter(t.state.name for t in study.get_trials(deepcopy=False))
    return {s: c.get(s, 0) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")


def quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
