"""The garbage collector during a long run (run/collector.py): frozen after a full collection
once the run is long, thawed when it ends, whatever the end; someone else's frozen objects are
left alone; and a cycle that became garbage during the run is freed after it."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import optuna
import pytest

from optuna_magic.run import collector
from optuna_magic.run.runner import RunInfo, Runner

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(autouse=True)
def _short_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A tick every 4 trials and a freeze from the 8th on: the policy is the same, the runs are
    short. Nothing is left frozen for the next test."""
    monkeypatch.setattr(collector, "FREEZE_AFTER", 8)
    monkeypatch.setattr("optuna_magic.run.runner.TICK_TRIALS", 4)
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def _run(objective: Callable[[optuna.Trial], Any], n: int, *, n_jobs: int = 1) -> Any:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    info = RunInfo("s", ["minimize"], "r", "n", "in memory", n, None, [], ["value"], time.time())
    runner = Runner(
        study, objective, info, [], n_trials=n, timeout=None, n_jobs=n_jobs, catch=(ValueError,)
    )
    runner.start()
    result = runner.wait(120)
    assert result is not None
    return result


def _full_collection_at(numbers: set[int], seen: dict[int, tuple[int, int]]) -> Any:
    """An objective that makes a full collection at the given trials (CPython makes them on its
    own as the heap grows; here they come where the test wants them) and notes, at each trial,
    the frozen objects and the runs holding them."""

    def objective(trial: optuna.Trial) -> float:
        seen[trial.number] = (gc.get_freeze_count(), collector.frozen_by_runs())
        if trial.number in numbers:
            gc.collect()
        return trial.suggest_float("x", 0, 1)

    return objective


@pytest.mark.parametrize("n_jobs", [1, 2], ids=["sequential", "n_jobs=2"])
def test_a_long_run_freezes_after_a_full_collection_and_thaws_at_its_end(n_jobs: int) -> None:
    seen: dict[int, tuple[int, int]] = {}
    # A full collection early (before the 8th trial: nothing frozen) and one later (frozen at
    # the next tick, from then on).
    result = _run(_full_collection_at({2, 13}, seen), 40, n_jobs=n_jobs)
    assert result.state == "finished"
    # The first tick at 8 ended trials or more comes after trial 8: none before saw a freeze.
    assert all(frozen == 0 for n, (frozen, _) in seen.items() if n <= 8)
    late = [seen[n] for n in range(24, 40)]
    assert all(frozen > 0 and runs == 1 for frozen, runs in late), late
    assert gc.get_freeze_count() == 0 and collector.frozen_by_runs() == 0


def test_a_disabled_collector_is_left_alone() -> None:
    seen: dict[int, tuple[int, int]] = {}
    gc.disable()  # the user's choice: no collection, and nothing frozen either
    try:
        _run(_full_collection_at({2, 13, 20}, seen), 40)
    finally:
        gc.enable()
    assert {frozen for frozen, _ in seen.values()} == {0}


@pytest.mark.parametrize("end", ["failed", "interrupted"])
def test_thawed_however_the_run_ends(end: str) -> None:
    def objective(trial: optuna.Trial) -> float:
        if trial.number == 13:
            gc.collect()
        if trial.number == 30:
            assert gc.get_freeze_count() > 0
            raise RuntimeError("boom") if end == "failed" else KeyboardInterrupt
        return trial.suggest_float("x", 0, 1)

    result = _run(objective, 40)
    assert result.state == end
    assert gc.get_freeze_count() == 0 and collector.frozen_by_runs() == 0


def test_objects_someone_else_froze_are_left_as_they_are() -> None:
    gc.freeze()  # e.g. a server that froze its heap before forking
    before = gc.get_freeze_count()
    assert before > 0
    seen: dict[int, tuple[int, int]] = {}
    _run(_full_collection_at({2, 13, 20, 30}, seen), 40)
    assert {runs for _, runs in seen.values()} == {0}
    # Not added to, not thawed (a frozen object freed by reference counting leaves the count).
    assert 0.99 * before < gc.get_freeze_count() <= before


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_cycle_that_became_garbage_during_the_run_is_freed_after_it() -> None:
    kept: list[_Cycle] = []
    ref: list[weakref.ref[_Cycle]] = []

    def objective(trial: optuna.Trial) -> float:
        if trial.number == 10:
            kept.append(_Cycle())  # alive when the run freezes...
            ref.append(weakref.ref(kept[0]))
        if trial.number == 13:
            gc.collect()
        if trial.number == 30:
            assert gc.get_freeze_count() > 0
            kept.clear()  # ...garbage from here on, a cycle: only a collection frees it
            gc.collect()
            assert ref[0]() is not None  # frozen: not freed during the run
        return trial.suggest_float("x", 0, 1)

    assert _run(objective, 40).state == "finished"
    gc.collect()
    assert ref[0]() is None


def test_two_runs_at_once_the_last_to_end_thaws() -> None:
    started = time.monotonic()
    release = threading.Event()  # the long run waits at its 20th trial until the short one ended

    def held_tail(trial: optuna.Trial) -> float:
        if trial.number == 13:
            gc.collect()
        if trial.number == 20:
            release.wait(120)
        return trial.suggest_float("x", 0, 1)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    info = RunInfo("s", ["minimize"], "r", "n", "in memory", 30, None, [], ["value"], time.time())
    long_run = Runner(study, held_tail, info, [], n_trials=30, timeout=None)
    long_run.start()
    try:
        while collector.frozen_by_runs() == 0 and time.monotonic() - started < 60:
            time.sleep(0.01)
        assert collector.frozen_by_runs() == 1
        second: dict[int, tuple[int, int]] = {}
        assert _run(_full_collection_at({9, 20}, second), 40).state == "finished"
        assert second[39][1] == 2
        # The short run ended first: the long one's objects stay frozen.
        assert collector.frozen_by_runs() == 1 and gc.get_freeze_count() > 0
    finally:
        release.set()
    result = long_run.wait(120)
    assert result is not None and result.state == "finished"
    assert collector.frozen_by_runs() == 0 and gc.get_freeze_count() == 0
