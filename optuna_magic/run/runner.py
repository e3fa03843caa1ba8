"""Run ``study.optimize`` in a worker thread and tell the sinks what happens.

The runner knows nothing of IPython or widgets. It owns the optimize thread so that the same code
serves a blocking cell (the caller waits), an async cell (the caller awaits and the kernel keeps
handling the panel's messages, e.g. a Stop click) and ``--background`` (nobody waits).
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.cell.space import ParamSpec

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


@dataclass(frozen=True)
class RunInfo:
    """What a sink needs to know about a run before its first trial."""

    study_name: str
    directions: list[str]
    sampler: str
    pruner: str
    storage: str
    n_trials: int | None
    timeout: float | None
    space: list[ParamSpec]
    objective_names: list[str]
    started_at: float
    existing_trials: list[FrozenTrial] = field(default_factory=list)
    n_jobs: int = 1
    # ``%optuna watch``: other processes run the trials; this run only reads them.
    watch: bool = False


def objective_names(n: int) -> list[str]:
    """Names of a study's objective values when it names none: ``value``, or ``values_i``."""
    return ["value"] if n == 1 else [f"values_{i}" for i in range(n)]


@dataclass(frozen=True)
class TrialError:
    """The error of a failed trial, as text."""

    message: str
    traceback: str


class TrialEvent:
    """A finished trial as the run saw it, readable like an ``optuna.trial.FrozenTrial``.

    Built in the trial's thread for every trial, so it costs as little as it can: it keeps the
    trial's own cached state and reads fields from it only when a sink asks. Asking Optuna for a
    FrozenTrial per trial (a callback) costs a deep copy that doubles the run time of a fast
    study, and copying the fields up front cost 1.2-1.4 us a trial (measured), a few percent of
    a 40 us trial. The trial is over, and Optuna writes its cached state only while it runs.
    Attribute names match FrozenTrial, so sinks read either.
    """

    __slots__ = ("_cached", "complete_ts", "number", "start_ts", "state", "values")

    def __init__(
        self,
        cached: FrozenTrial,
        state: Any,
        values: tuple[float, ...] | None,
        number: int,
        start_ts: float | None = None,
        complete_ts: float | None = None,
    ) -> None:
        self._cached = cached  # the trial's own FrozenTrial (Trial._cached_frozen_trial)
        self.state = state
        # The tuple the runner made (a trial's values are not changed after it ends).
        self.values: tuple[float, ...] | None = values
        self.number = number
        self.start_ts = start_ts  # when the runner started it (None: it never ran)
        # A datetime only when asked for (most sinks never do).
        self.complete_ts = time.time() if complete_ts is None else complete_ts

    @property
    def params(self) -> dict[str, Any]:
        """The trial's parameters (shared with the trial, not copied)."""
        return self._cached.params

    @property
    def distributions(self) -> dict[str, Any]:
        """The trial's distributions."""
        return self._cached.distributions

    @property
    def intermediate_values(self) -> dict[int, float]:
        """The values the trial reported, by step."""
        return self._cached.intermediate_values

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The trial's user attributes."""
        return self._cached.user_attrs

    @property
    def datetime_start(self) -> Any:
        """When the trial started, as ``FrozenTrial.datetime_start``."""
        return self._cached.datetime_start

    @property
    def datetime_complete(self) -> Any:
        """When the trial ended, as ``FrozenTrial.datetime_complete``."""
        import datetime

        return datetime.datetime.fromtimestamp(self.complete_ts)

    @property
    def value(self) -> float | None:
        """The single objective value (None unless COMPLETE)."""
        return None if self.values is None else self.values[0]

    @property
    def duration(self) -> Any:
        """Time from start to completion, as ``FrozenTrial.duration``."""
        if self.datetime_start is None:
            return None
        return self.datetime_complete - self.datetime_start


@dataclass
class RunResult:
    """How a run ended."""

    state: str  # "finished" | "stopped" | "interrupted" | "failed"
    study: optuna.Study
    n_trials_run: int
    elapsed: float
    error: str | None = None
    exception: BaseException | None = None


class RunControl(Protocol):
    """The handle a sink gets to steer the run (the panel's Stop button)."""

    def request_stop(self) -> None:
        """Ask the run to stop gracefully: the running trials finish, no new one starts."""


class RunSink(Protocol):
    """Receives the events of a run. Called from the trial's thread: keep it cheap.

    A sink that derives from :class:`BaseSink` and leaves a per-trial method as it is there is
    not called for it at all (a fast trial takes ~40 us; each call costs a little of that). A
    sink with a true ``reads_running_trials`` attribute is not called for trial starts either:
    it asks its control's ``running_trials()`` when it wants to know (the runner has one; a
    control without it calls ``trial_started`` as usual). A sink that overrides
    ``trial_completed`` gets completed trials there, as plain values, and only the other ends
    (pruned, failed) through ``trial_finished``.
    """

    def run_started(self, info: RunInfo, control: RunControl) -> None: ...

    def trial_started(self, number: int) -> None: ...

    def trial_reported(self, number: int, step: int, value: float) -> None: ...

    def trial_completed(
        self, trial: FrozenTrial, values: tuple[float, ...], started: float | None, ended: float
    ) -> None:
        """A trial completed with ``values``; ``trial`` is the trial's own FrozenTrial as it ran
        (params, intermediate values, user attributes; its state and values are not final).
        ``started`` and ``ended`` are ``time.time()`` stamps (``started`` None: not known)."""

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        """A trial ended; ``trial`` reads like a FrozenTrial (number, state, values, params...)."""

    def run_ended(self, result: RunResult) -> None: ...


def _hooks(sinks: Sequence[RunSink], name: str) -> list[Callable[..., None]]:
    """The bound ``name`` methods of the sinks that do something on it."""
    return [getattr(s, name) for s in sinks if _overrides(s, name)]


def _overrides(sink: RunSink, name: str) -> bool:
    return getattr(type(sink), name, None) not in (None, getattr(BaseSink, name))


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


class RunDone:
    """Set once when a run ends; threads wait on it, and so does an event loop, without polling.

    An awaiting cell that woke 20 times a second to check would take the GIL from the trials'
    thread each time, which costs more than it looks on a busy machine.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._wakers: list[Callable[[], None]] = []

    def set(self) -> None:
        """Mark the run ended and wake every waiter."""
        with self._lock:
            self._event.set()
            wakers, self._wakers = self._wakers, []
        for wake in wakers:
            with contextlib.suppress(RuntimeError):  # that waiter's event loop closed meanwhile
                wake()

    def is_set(self) -> bool:
        """Whether the run has ended."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout``); True when it has ended."""
        return self._event.wait(timeout)

    async def wait_async(self) -> None:
        """Await the end of the run; the event loop keeps serving other messages meanwhile."""
        import asyncio

        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        def from_run_thread() -> None:
            loop.call_soon_threadsafe(wake)

        with self._lock:
            if self._event.is_set():
                return
            self._wakers.append(from_run_thread)
        # Woken at once by the end of the run; the 1 s timeout is what lets a kernel interrupt
        # through: ipykernel's SIGINT handling of an awaiting cell was seen to take effect only
        # when the cell's task wakes (a test fails with a bare `await future`).
        while not future.done():
            await asyncio.wait({future}, timeout=1.0)


class Runner:
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
        self.study = study
        self.info = info
        self.sinks = list(sinks)
        # Per-trial calls go only to the sinks that do something with them.
        self._on_started = _hooks(
            [s for s in self.sinks if not getattr(s, "reads_running_trials", False)],
            "trial_started",
        )
        self._on_reported = _hooks(self.sinks, "trial_reported")
        self._on_finished = _hooks(self.sinks, "trial_finished")
        # A completed trial goes to trial_completed where a sink has it (plain values, no
        # TrialEvent), else to trial_finished.
        self._on_completed = _hooks(self.sinks, "trial_completed")
        self._on_finished_complete = _hooks(
            [s for s in self.sinks if not _overrides(s, "trial_completed")], "trial_finished"
        )
        self._objective = objective
        self._n_trials = n_trials
        self._timeout = timeout
        self._n_jobs = n_jobs
        self._catch = catch
        self._thread_setup = thread_setup
        self._exited: BaseException | None = None  # a trial's SystemExit & co: the run fails
        self._stop_requested = threading.Event()
        self._stopping = False  # the same, read per trial (a plain attribute reads faster)
        self._interrupted = threading.Event()
        self._done = RunDone()
        self._thread: threading.Thread | None = None
        # The running trials: number -> (thread ident, time.time() at its start). Written by the
        # trial threads and read elsewhere with single dict operations, atomic: no lock.
        self._in_flight: dict[int, tuple[int, float]] = {}
        self._ended = itertools.count()  # next() per ended trial: atomic, no lock in the hot path
        self._started = 0.0
        self.result: RunResult | None = None
        import optuna

        self._states = optuna.trial.TrialState
        self._pruned = optuna.TrialPruned
        self._n_objectives = len(study.directions)

    # ----------------------------------------------------------------- control
    def request_stop(self) -> None:
        """Stop gracefully: no new trial starts; running trials finish."""
        self._stop_requested.set()
        self._stopping = True

    @property
    def stop_requested(self) -> bool:
        """Whether a graceful stop has been asked for."""
        return self._stop_requested.is_set()

    def interrupt(self) -> None:
        """Stop now: raise ``KeyboardInterrupt`` in every thread that is running a trial."""
        self._interrupted.set()
        self._stop_requested.set()
        self._stopping = True
        idents = {ident for ident, _ in list(self._in_flight.values())}
        if self._thread is not None and self._thread.ident is not None:
            idents.add(self._thread.ident)
        for ident in idents:
            # The only way to break into Python code running in another thread; it takes effect
            # at the next bytecode, i.e. as soon as a long C call returns to Python.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
            )

    @property
    def running(self) -> bool:
        """Whether the optimize thread is still working."""
        return self._thread is not None and not self._done.is_set()

    def running_trials(self) -> dict[int, float]:
        """The trials running now: number -> when it started (``time.time()``).

        A sink with ``reads_running_trials = True`` reads this when it wants (the panel, at each
        flush) and is not called for every trial's start.
        """
        return {number: started for number, (_, started) in list(self._in_flight.items())}

    # -------------------------------------------------------------------- run
    def start(self) -> None:
        """Start the optimize thread and tell the sinks."""
        self._started = time.time()
        for sink in self.sinks:
            sink.run_started(self.info, self)
        self._thread = threading.Thread(target=self._main, name="optuna-magic-run", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Block until the run ends. ``KeyboardInterrupt`` here interrupts the run."""
        try:
            self._done.wait(timeout)
        except KeyboardInterrupt:
            self.interrupt()
            self._wait_after_interrupt()
        return self.result

    async def wait_async(self) -> RunResult | None:
        """Await the end of the run without blocking the event loop (kernel messages flow)."""
        import asyncio

        try:
            await self._done.wait_async()
        except (KeyboardInterrupt, asyncio.CancelledError):
            self.interrupt()
            self._wait_after_interrupt()
        return self.result

    def _wait_after_interrupt(self) -> None:
        # The injected exception lands once the trial returns to Python; a second Ctrl-C while
        # waiting here gives up waiting (the thread is a daemon and ends with its trial).
        while not self._done.wait(0.1):
            if not self._in_flight and self._thread is not None and not self._thread.is_alive():
                break

    def _main(self) -> None:
        import optuna

        if self._thread_setup is not None:
            try:
                self._thread_setup()
            except Exception:  # pragma: no cover - cosmetic only
                _log.debug("thread setup failed", exc_info=True)
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
            self._fail_orphans(optuna)
        self.result = RunResult(
            state=state,
            study=self.study,
            n_trials_run=next(self._ended),
            elapsed=time.time() - self._started,
            error=error,
            exception=exc,
        )
        for sink in self.sinks:
            try:
                sink.run_ended(self.result)
            except Exception:
                _log.warning("a sink failed at the end of the run", exc_info=True)
        self._done.set()

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
        number = trial.number
        self._in_flight[number] = (threading.get_ident(), time.time())
        for on_start in self._on_started:
            on_start(number)
        try:
            result = self._objective(trial)
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
        next(self._ended)
        if self._on_completed or self._on_finished_complete:
            cached = trial._cached_frozen_trial
            started = entry[1] if entry else None
            ended = time.time()
            for on_complete in self._on_completed:
                on_complete(cached, values, started, ended)
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
        next(self._ended)
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
