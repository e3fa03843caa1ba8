"""The garbage collector during a long run of fast trials: full collections that walk what is new.

CPython's full collection walks every object the collector tracks, holding the GIL. An in-memory
study keeps each trial's objects for as long as the study lives (~5 tracked objects a trivial
trial), so a full collection grows with the study: at 300,000 trials in a plain Python process the
longest took 0.44 s, and at 1,000,000 trials in a kernel 1.15-1.5 s for plain Optuna. While it
runs nothing else does: not the trial, not the panel's flush, not the kernel's answer to a click
on Stop. The panel's header stood still for as long (``make bench``, suite ``million``).

So during a long run, after each full collection that CPython makes on its own, the objects that
survived it are moved to the permanent generation (``gc.freeze()``): the next full collection
walks only the objects made since. Measured in a plain process over 300,000 trivial trials: the
longest full collection 0.44 s -> 0.015 s, the collector's total 2.1 s -> 0.3 s. At the run's end
the objects go back (``gc.unfreeze()``), and the collector works as it did before the run.

What it costs: a reference cycle among the frozen objects that becomes garbage during the run is
freed by the first full collection after the run, not during it. Objects freed by reference
counting (most objects; a trial's arrays and models unless they sit in a cycle) are freed at once
as always, and the young generations are collected just before each freeze, so a trial's own
short-lived cycles are not kept. Only a run that has finished :data:`FREEZE_AFTER` trials freezes
anything (its trials are fast: slow ones never get there), and nothing is frozen where something
else in the process already froze objects (``gc.get_freeze_count()``), whose frozen generation
is left as it is.

The runner calls :meth:`RunCollector.tick` once every :data:`TICK_TRIALS` ended trials (one
bitwise test a trial) and :meth:`RunCollector.end` once after its last trial.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["FREEZE_AFTER", "TICK_TRIALS", "RunCollector", "frozen_by_runs"]

# The runner ticks when its count of ended trials is a multiple of this (a power of two: one
# bitwise AND a trial): every ~40 ms at ~40 us a trial.
TICK_TRIALS = 1024
# A run freezes nothing before this many of its trials have ended (the full collection a
# 10,000-trial run sets off in a kernel took 120-140 ms for plain Optuna); a run of slow trials
# seldom gets this far.
FREEZE_AFTER = 16 * TICK_TRIALS

# Runs of this process that have frozen objects and not ended yet: the last one to end unfreezes.
_lock = threading.Lock()
_runs_frozen = 0


def frozen_by_runs() -> int:
    """How many runs hold objects frozen now (for tests and for anyone asking)."""
    return _runs_frozen


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


class RunCollector:
    """One run's part in the policy above."""

    def __init__(self) -> None:
        self._seen = _full_collections()
        self._froze = False

    def tick(self, ended: int) -> None:
        """Called in a trial's thread, between trials, when the run has ended ``ended`` trials
        (a multiple of :data:`TICK_TRIALS`)."""
        full = _full_collections()
        if full == self._seen:
            return
        self._seen = full
        if ended < FREEZE_AFTER or not gc.isenabled():
            return
        global _runs_frozen
        with _lock:
            if not self._froze:
                if _runs_frozen == 0 and gc.get_freeze_count():
                    return  # frozen by someone else: not ours to add to or to thaw
                _runs_frozen += 1
                self._froze = True
            # The young generations first: what the last trials left in cycles is freed, not
            # frozen; a collection of generation 1 walks only the objects made since the last
            # one (milliseconds).
            gc.collect(1)
            gc.freeze()
        # collect(1) counts as no full collection; the next tick looks for CPython's next one.

    def end(self) -> None:
        """The run's last trial has ended: thaw once no other run of this process holds objects
        frozen."""
        global _runs_frozen
        with _lock:
            if not self._froze:
                return
            self._froze = False
            _runs_frozen -= 1
            if _runs_frozen == 0:
                gc.unfreeze()
