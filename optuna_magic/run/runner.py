"""Run ``study.optimize`` in a worker thread and tell the sinks what happens.

The runner knows nothing of IPython or widgets. It owns the optimize thread so that the same code
serves a blocking cell (the caller waits), an async cell (the caller awaits and the kernel keeps
handling the panel's messages, e.g. a Stop click) and ``--background`` (nobody waits). The
contract it keeps with its sinks is :mod:`optuna_magic.run.contract`; what it shares with a
polled run is :class:`optuna_magic.run.handle.RunHandle`.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import math
import threading
import time
import traceback
import types
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from optuna_magic.run.collector import TICK_TRIALS, RunCollector
from optuna_magic.run.contract import (
    RunControl,
    RunInfo,
    RunResult,
    RunSink,
    TrialError,
    TrialEvent,
    objective_names,
)
from optuna_magic.run.handle import RunDone, RunHandle
from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    import optuna

# The contract's names are re-exported: the runner was their home before run/contract.py.
__all__ = [
    "BaseSink",
    "RunAborted",
    "RunControl",
    "RunDone",
    "RunInfo",
    "RunResult",
    "RunSink",
    "Runner",
    "TrialError",
    "TrialEvent",
    "objective_names",
]


def _hooks(sinks: Sequence[RunSink], name: str) -> list[Callable[..., Any]]:
    """The bound ``name`` methods of the sinks that do something on it."""
    return [getattr(s, name) for s in sinks if _overrides(s, name)]


def _overrides(sink: RunSink, name: str) -> bool:
    """Whether ``sink`` does something on ``name`` (a BaseSink's own method does nothing)."""
    return getattr(type(sink), name) is not getattr(BaseSink, name)


_log = logging.getLogger(__name__)


class RunAborted(KeyboardInterrupt):
    """Raised from a trial to end the whole run with ``error`` (e.g. a wrong search space).

    It derives from ``KeyboardInterrupt`` because that is what ``study.optimize`` re-raises even
    under ``catch=(Exception,)``: a problem with the cell must stop the run, not be recorded as
    one more failed trial for every remaining trial.
    """

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _NotRun(BaseException):
    """Ends Optuna's loop from a trial that never ran, without Optuna telling it anything."""


def fail_untold(trial: optuna.Trial, e: BaseException) -> bool:
    """Record FAIL for a trial that raised what Optuna does not record; True if it did that.

    Optuna tells FAIL for an Exception or a KeyboardInterrupt only: SystemExit, GeneratorExit
    or a BaseException of the user's left the trial RUNNING for ever.
    """
    if isinstance(e, (Exception, KeyboardInterrupt)):
        return False
    from optuna.trial import TrialState

    with contextlib.suppress(Exception):
        trial.study.tell(trial, state=TrialState.FAIL)
    return True


class Runner(RunHandle):
    """Runs one ``study.optimize`` call in its own thread and reports to sinks.

    Args:
        study: the study to optimize.
        objective: ``objective(trial) -> value``; exceptions propagate as Optuna handles them.
        info: the run's description for the sinks.
        sinks: receivers of the run's events.
        n_trials, timeout, n_jobs: as ``study.optimize``.
        catch: exception types recorded as failed trials instead of ending the run.
        thread_setup: called first thing in each thread that runs trials: the optimize thread
            and, with ``n_jobs``, each of Optuna's worker threads (the kernel's output parent,
            so prints from trials land under the right cell).
    """

    def __init__(
        self,
        study: optuna.Study,
        objective: Callable[[optuna.Trial], Any],
        info: RunInfo,
        sinks: Sequence[RunSink],
        *,
        n_trials: int | None,
        timeout: float | None,
        n_jobs: int = 1,
        catch: tuple[type[Exception], ...] = (),
        thread_setup: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(study, info, sinks, thread_setup=thread_setup)
        # Per-trial calls go only to the sinks that do something with them; a sink that reads
        # the running trials from running_trials() is not told of each start.
        self._on_started = _hooks(
            [s for s in self.sinks if not s.reads_running_trials], "trial_started"
        )
        self._on_reported = _hooks(self.sinks, "trial_reported")
        self._on_finished = _hooks(self.sinks, "trial_finished")
        # A completed trial goes to trial_completed where a sink has it (plain values, no
        # TrialEvent; the sink's trial_finished gets one where it declines), else to
        # trial_finished.
        completing = [s for s in self.sinks if _overrides(s, "trial_completed")]
        self._on_completed = [(s.trial_completed, s.trial_finished) for s in completing]
        self._on_finished_complete = _hooks(
            [s for s in self.sinks if not _overrides(s, "trial_completed")], "trial_finished"
        )
        self._objective = objective
        self._call_objective = _direct(objective)  # what the trials call (see _direct)
        self._n_trials = n_trials
        self._timeout = timeout
        self._n_jobs = n_jobs
        self._catch = catch
        self._exited: BaseException | None = None  # a trial's SystemExit & co: the run fails
        # The running trials: number -> (thread ident, time.time() at its start). Written by the
        # trial threads and read elsewhere with single dict operations, atomic: no lock.
        self._in_flight: dict[int, tuple[int, float]] = {}
        self._ended = itertools.count()  # next() per ended trial: atomic, no lock in the hot path
        # Every TICK_TRIALS ended trials the collector looks for a full collection (see
        # run/collector.py); the mask is TICK_TRIALS - 1 because TICK_TRIALS is a power of two.
        self._collector = RunCollector()
        self._tick_mask = TICK_TRIALS - 1
        import optuna

        self._states = optuna.trial.TrialState
        self._pruned = optuna.TrialPruned
        self._n_objectives = len(study.directions)

    # ----------------------------------------------------------------- control
    def _stop_trials(self, *, now: bool) -> None:
        """An interrupt raises ``KeyboardInterrupt`` in every thread that is running a trial."""
        if not now:
            return
        idents = {ident for ident, _ in list(self._in_flight.values())}
        if self._thread is not None and self._thread.ident is not None:
            idents.add(self._thread.ident)
        for ident in idents:
            # The only way to break into Python code running in another thread; it takes effect
            # at the next bytecode, i.e. as soon as a long C call returns to Python.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
            )

    def running_trials(self) -> dict[int, float]:
        """The trials running now: number -> when it started (``time.time()``).

        A sink with ``reads_running_trials = True`` reads this when it wants (the panel, at each
        flush) and is not called for every trial's start.
        """
        return {number: started for number, (_, started) in list(self._in_flight.items())}

    # -------------------------------------------------------------------- run
    def _wound_down(self) -> bool:
        return not self._in_flight and super()._wound_down()

    def _n_trials_run(self) -> int:
        return next(self._ended)

    def _run(self) -> tuple[str, str | None, BaseException | None]:
        import optuna

        state = "finished"
        error: str | None = None
        exc: BaseException | None = None
        try:
            self.study.optimize(
                self._threaded_objective() if self._n_jobs != 1 else self._wrapped_objective,
                n_trials=self._n_trials,
                timeout=self._timeout,
                n_jobs=self._n_jobs,
                catch=self._catch,
                gc_after_trial=False,
                show_progress_bar=False,
            )
            if self._interrupted.is_set():
                state = "interrupted"
            elif self._exited is not None:
                raise self._exited  # with n_jobs, Optuna may not raise what its thread raised
            elif self._stop_requested.is_set():
                state = "stopped"
        except RunAborted as e:
            state, error, exc = "failed", str(e.error), e.error
        except _NotRun:
            state = "interrupted" if self._interrupted.is_set() else "stopped"
        except KeyboardInterrupt:
            state = "interrupted"
        except BaseException as e:
            if self._interrupted.is_set():
                state = "interrupted"
            else:
                state = "failed"
                error = f"{type(e).__name__}: {e}"
                exc = e
        finally:
            self._collector.end()  # every trial thread has ended: thaw what the run froze
            self._fail_orphans(optuna)
        return state, error, exc

    def _threaded_objective(self) -> Callable[[optuna.Trial], Any]:
        """With ``n_jobs``, Optuna runs trials in threads of its own: each gets the setup once."""
        setup = self._thread_setup
        if setup is None:
            return self._wrapped_objective
        ready: set[int] = set()
        wrapped = self._wrapped_objective

        def objective(trial: optuna.Trial) -> Any:
            ident = threading.get_ident()
            if ident not in ready:
                ready.add(ident)
                try:
                    setup()
                except Exception:  # pragma: no cover - where output goes is not worth a trial
                    _log.debug("thread setup failed", exc_info=True)
            return wrapped(trial)

        return objective

    def _fail_orphans(self, optuna: Any) -> None:
        """Mark FAIL the trials this run left RUNNING (an interrupt between objective and tell).

        The sinks already heard of them from :meth:`_wrapped_objective`; the storage must tell
        the same truth.
        """
        numbers = set(self._in_flight)  # the trial threads have ended: nothing adds to it now
        self._in_flight.clear()
        if not numbers:
            return
        storage = self.study._storage
        running = (optuna.trial.TrialState.RUNNING,)
        for t in self.study.get_trials(deepcopy=False, states=running):
            if t.number in numbers:
                with contextlib.suppress(Exception):  # another process may have moved it on
                    storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)

    def _wrapped_objective(self, trial: optuna.Trial) -> Any:
        # The hot path of a fast study (a trial can take ~40 us): no import, no lock, no call
        # to a sink that ignores the event; single dict operations and next() are atomic.
        if self._stopping:
            # The trial was asked for before the stop came (with n_jobs, while the sampler was
            # busy): it goes back to WAITING, which is true (it never ran, a later run may run
            # it), and the loop ends without a tell (PRUNED would claim that it ran).
            self.study.stop()
            try:
                self.study._storage.set_trial_state_values(trial._trial_id, self._states.WAITING)
            except Exception:
                self._emit(trial, self._states.PRUNED, None, None)
                raise self._pruned("the run was stopped before this trial started") from None
            raise _NotRun
        # Per-trial path: Trial.number is two property calls (a Python call each in 3.11); the
        # cached FrozenTrial's _number field is none (the FrozenTrial is set once, in
        # Trial.__init__, and the completed trial is told with it below). The objective is
        # read into a local first: a LOAD_METHOD of an instance attribute is not specialized
        # in Python 3.11, a plain attribute read is.
        cached = trial._cached_frozen_trial
        number = cached._number
        call = self._call_objective
        self._in_flight[number] = (threading.get_ident(), time.time())
        for on_start in self._on_started:
            on_start(number)
        try:
            result = call(trial)
        except self._pruned:
            self._emit(trial, self._states.PRUNED, None, None)
            raise
        except BaseException as e:
            error = TrialError(f"{type(e).__name__}: {e}", "".join(traceback.format_exception(e)))
            self._emit(trial, self._states.FAIL, None, error)
            if fail_untold(trial, e):
                self._exited = e
                self.study.stop()
            raise
        if type(result) is float and self._n_objectives == 1 and result == result:  # not NaN
            values: tuple[float, ...] | None = (result,)
        else:
            values = _as_values(result, self._n_objectives)
        if values is None:
            error = TrialError(
                f"the objective returned {result!r}, which Optuna cannot "
                f"record as {self._n_objectives} value(s)",
                "",
            )
            self._emit(trial, self._states.FAIL, None, error)
            return result
        # _emit, written out for the common case: the call alone cost ~0.5 us a trial in the
        # loop (measured inside study.optimize).
        entry = self._in_flight.pop(number, None)
        n_ended = next(self._ended)
        if not n_ended & self._tick_mask:
            self._collector.tick(n_ended)
        if self._on_completed or self._on_finished_complete:
            started = entry[1] if entry else None
            ended = time.time()
            for on_complete, on_declined in self._on_completed:
                if not on_complete(cached, values, started, ended):
                    complete = self._states.COMPLETE
                    on_declined(TrialEvent(cached, complete, values, number, started, ended), None)
            if self._on_finished_complete:
                event = TrialEvent(cached, self._states.COMPLETE, values, number, started, ended)
                for on_end in self._on_finished_complete:
                    on_end(event, None)
        if self._stopping:
            self.study.stop()
        return result

    def _emit(
        self,
        trial: optuna.Trial,
        state: Any,
        values: tuple[float, ...] | None,
        error: TrialError | None,
    ) -> None:
        number = trial.number
        entry = self._in_flight.pop(number, None)
        n_ended = next(self._ended)
        if not n_ended & self._tick_mask:
            self._collector.tick(n_ended)
        if self._on_finished:
            start = entry[1] if entry else None
            event = TrialEvent(trial._cached_frozen_trial, state, values, number, start)
            for on_end in self._on_finished:
                on_end(event, error)
        if self._stopping:
            self.study.stop()

    def report(self, trial: optuna.Trial, value: float, step: int) -> None:
        """``report(value, step)`` from the cell: record, tell the sinks, raise if pruned."""
        import optuna

        trial.report(value, step)
        for reported in self._on_reported:
            reported(trial.number, step, float(value))
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} with value {value:.6g}")


def _direct(objective: Callable[[optuna.Trial], Any]) -> Callable[[optuna.Trial], Any]:
    """The objective as the cheapest thing to call: an instance's ``__call__`` bound once.

    Python 3.11 calls an instance through its type's ``__call__`` slot without specializing
    the call; the bound method it gets here is called like a function (~630 instructions a
    trial less for the cell's objective, valgrind).
    """
    call = getattr(type(objective), "__call__", None)  # noqa: B004 - the method, not a test
    if isinstance(call, types.FunctionType):
        return types.MethodType(call, objective)
    return objective


def _as_values(result: Any, n: int) -> tuple[float, ...] | None:
    """The values Optuna will record for ``result``, or None where it fails the trial."""
    if n == 1 and type(result) is float:  # the common case, first
        return None if math.isnan(result) else (result,)
    items = result if isinstance(result, (list, tuple)) else (result,)
    if len(items) != n:
        return None
    try:
        values = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        return None
    return None if any(math.isnan(v) for v in values) else values
