"""One run handle: a local run and a polled run send their sinks the same sequence."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from optuna_magic.run.contract import RunInfo, RunResult, TrialError
from optuna_magic.run.handle import RunHandle
from optuna_magic.run.polled import PolledRun
from optuna_magic.run.runner import Runner
from optuna_magic.run.sink import BaseSink

optuna.logging.set_verbosity(optuna.logging.WARNING)

N = 6


class Recording(BaseSink):
    """Every event a sink hears, in the order it heard them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[Any, ...]] = []
        self.control: Any = None

    def _add(self, *event: Any) -> None:
        with self.lock:
            self.events.append(event)

    def run_started(self, info: RunInfo, control: Any) -> None:
        self.control = control
        self._add("run_started")

    def trial_started(self, number: int) -> None:
        self._add("started", number)

    def trial_finished(self, trial: Any, error: TrialError | None) -> None:
        self._add("finished", trial.number, trial.state.name)

    def run_ended(self, result: RunResult) -> None:
        self._add("run_ended", result.state, result.n_trials_run)


def objective(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def info_for(study: optuna.Study) -> RunInfo:
    return RunInfo(
        study.study_name, ["minimize"], "r", "n", "s", N, None, [], ["value"], time.time()
    )


class ThreadSource:
    """Trials told by another thread, on its own Study object over the same storage."""

    def __init__(self, storage: str, name: str, fail_start: bool = False) -> None:
        self.error: BaseException | None = None
        self._storage, self._name, self._fail_start = storage, name, fail_start
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._fail_start:
            raise RuntimeError("no worker could start")
        study = optuna.load_study(study_name=self._name, storage=self._storage)

        def work() -> None:
            for _ in range(N):
                study.optimize(objective, n_trials=1)
                time.sleep(0.03)  # several polls see the run going

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request_stop(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def shape(events: list[tuple[Any, ...]]) -> list[Any]:
    """The sequence with trial numbers abstracted: the run's ends, and per trial its events."""
    per_trial: dict[int, list[str]] = {}
    for e in events[1:-1]:
        per_trial.setdefault(e[1], []).append(e[0] if e[0] == "started" else f"{e[0]}:{e[2]}")
    return [events[0], sorted(per_trial.items()), events[-1]]


def run_local() -> tuple[RunHandle, Recording]:
    sink = Recording()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    run = Runner(study, objective, info_for(study), [sink], n_trials=N, timeout=None)
    run.start()
    return run, sink


def run_polled(path: Path) -> tuple[RunHandle, Recording]:
    sink = Recording()
    storage = f"sqlite:///{path}"
    study = optuna.create_study(storage=storage, study_name="same")
    source = ThreadSource(storage, "same")
    run = PolledRun(study, info_for(study), [sink], source=source, interval=0.01)
    run.start()
    return run, sink


def test_local_and_polled_runs_send_sinks_the_same_sequence(tmp_path: Path) -> None:
    local, local_sink = run_local()
    polled, polled_sink = run_polled(tmp_path / "s.db")
    for run in (local, polled):
        result = run.wait(60)
        assert result is not None and result.state == "finished" and not run.running
    expected = [
        ("run_started",),
        [(n, ["started", "finished:COMPLETE"]) for n in range(N)],
        ("run_ended", "finished", N),
    ]
    assert shape(local_sink.events) == expected
    assert shape(polled_sink.events) == expected
    # Each sink got the run itself as its control.
    assert local_sink.control is local and polled_sink.control is polled
    assert local.in_memory_study is local.study and polled.in_memory_study is None
    assert local.running_trials() == {} and polled.running_trials() is None


def test_a_polled_run_whose_source_cannot_start_still_ends_once(tmp_path: Path) -> None:
    # A sink that heard run_started hears run_ended too (the panel stops, streams go back).
    sink = Recording()
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="same")
    source = ThreadSource(storage, "same", fail_start=True)
    run = PolledRun(study, info_for(study), [sink], source=source)
    with pytest.raises(RuntimeError, match="no worker could start"):
        run.start()
    assert sink.events == [("run_started",), ("run_ended", "failed", 0)]
    assert run.result is not None and run.result.error == "no worker could start"
    assert not run.running and run.wait(1) is run.result
