"""``--dask [ADDRESS]``: run the trials on a Dask cluster through ``dask.distributed``.

The cluster and the storage are picked by :mod:`.cluster` (a :class:`~.cluster.DaskPlan`).
Every trial is one Dask task: the scheduler spreads them over the workers' threads, a graceful
stop is a distributed ``Event`` that tasks not yet begun read and return, and the parent follows
the storage with a :class:`optuna_magic.run.polled.PolledRun`, as for ``--workers``.

``dask.distributed`` is imported only when ``--dask`` is used.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.run.polled import PolledRun
from optuna_magic.run.remote.cluster import DaskPlan, import_distributed
from optuna_magic.run.remote.errors import CellError, WorkerError
from optuna_magic.run.remote.pool import follow_pool, study_options

if TYPE_CHECKING:
    import optuna

    from optuna_magic.run.runner import RunInfo, RunSink

__all__ = ["DaskPool", "start_dask_run"]

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------ the tasks
_worker_cache: dict[str, tuple[Any, Any]] = {}  # run id -> (study, objective) in a worker
_worker_lock = threading.Lock()


def _task_study(run_id: str, spec: dict[str, Any]) -> tuple[Any, Any]:
    with _worker_lock:
        cached = _worker_cache.get(run_id)
        if cached is not None:
            return cached
        from optuna_magic.run.remote.shipping import RecordingObjective, open_payload

        storage = spec["storage_url"] if spec["storage_url"] is not None else spec["storage"]
        study, unshipped = open_payload(spec, storage)
        objective = RecordingObjective(unshipped, spec["n_objectives"])
        _worker_cache.clear()  # one run at a time per worker process is enough to keep
        _worker_cache[run_id] = (study, objective)
        return study, objective


def run_one_trial(
    run_id: str, spec: dict[str, Any], deadline: float | None, index: int
) -> int | None:
    """A Dask task: one trial of the study, unless the run was stopped or its time is up.

    Returns the trial's number, or None when it did not start one. An Event per task marks
    that it began its trial, so a re-run after its worker died (Dask re-runs such tasks) starts
    no second trial, and the parent knows whether a lost task needs replacing.
    """
    from optuna_magic.run.runner import RunAborted

    distributed = import_distributed()
    began = distributed.Event(_began(run_id, index))
    if began.is_set():
        return None  # an earlier attempt died while running this task's trial
    if distributed.Event(f"optuna-magic-stop-{run_id}").is_set():
        return None
    if deadline is not None and time.time() >= deadline:
        return None
    study, objective = _task_study(run_id, spec)
    numbers: list[int] = []
    objective.on_start = lambda trial: numbers.append(trial.number)
    began.set()
    try:
        study.optimize(objective, n_trials=1, catch=spec["catch"], gc_after_trial=False)
    except RunAborted as e:
        # A KeyboardInterrupt subclass would take the Dask worker down with it.
        raise CellError(str(e.error)) from None
    return numbers[0] if numbers else None


def _began(run_id: str, index: int) -> str:
    return f"optuna-magic-began-{run_id}-{index}"


class DaskPool:
    """The trials of one run as Dask tasks, at most ``window`` submitted at a time.

    Same surface as :class:`optuna_magic.run.remote.workers.WorkerPool` (a
    :class:`optuna_magic.run.polled.TrialSource`).
    """

    def __init__(
        self,
        plan: DaskPlan,
        study_name: str,
        objective: Callable[..., Any],
        n_trials: int | None,
        timeout: float | None = None,
        *,
        n_objectives: int = 1,
        catch: tuple[type[BaseException], ...] = (),
        sampler: Any = None,
        pruner: Any = None,
        heartbeat_interval: int | None = None,
        window: int | None = None,
    ) -> None:
        from optuna_magic.run.remote.shipping import trial_payload

        if n_trials is None and timeout is None:
            raise OptunaMagicError("--dask needs -n or --timeout")
        self.plan = plan
        self.client = plan.client
        self.n_trials = n_trials
        self.timeout = timeout
        self.run_id = uuid.uuid4().hex[:12]
        self._spec = {
            "storage_url": plan.storage_url,
            "storage": None if plan.storage_url is not None else plan.storage,
            **trial_payload(
                objective,
                study_name,
                n_objectives=n_objectives,
                catch=catch,
                sampler=sampler,
                pruner=pruner,
                heartbeat_interval=heartbeat_interval,
            ),
        }
        self._window = window
        self._stop = threading.Event()
        self._killed = False
        self._thread: threading.Thread | None = None
        self._futures: set[Any] = set()
        self._lock = threading.Lock()
        self._event: Any = None
        self.error: BaseException | None = None
        self.on_end: Callable[[], None] | None = None  # see TrialSource
        self.n_submitted = 0
        self.n_done = 0  # tasks that ran a trial
        self.n_skipped = 0  # tasks that started none (stopped / out of time)
        self.n_lost = 0  # tasks whose worker died mid-trial (the trial is failed, and counted)
        self.n_replaced = 0  # tasks whose worker died before their trial began (run again)
        self._attempt = 0
        self._index: dict[str, int] = {}

    def start(self) -> None:
        """Scatter the objective to every worker and start submitting trials."""
        distributed = import_distributed()
        self._event = distributed.Event(f"optuna-magic-stop-{self.run_id}", client=self.client)
        self._event.clear()
        [spec] = self.client.scatter([self._spec], broadcast=True, hash=False)
        self._spec_future = spec
        nthreads = sum(self.client.nthreads().values()) or 1
        window = self._window or 2 * nthreads
        deadline = None if self.timeout is None else time.time() + self.timeout
        self._thread = threading.Thread(
            target=self._feed, args=(window, deadline), daemon=True, name="optuna-magic-dask"
        )
        self._thread.start()

    def _submit(self, deadline: float | None, index: int | None = None) -> Any:
        if index is None:
            index = self.n_submitted
            self.n_submitted += 1
        self._attempt += 1
        future = self.client.submit(
            run_one_trial,
            self.run_id,
            self._spec_future,
            deadline,
            index,
            key=f"optuna-magic-trial-{self.run_id}-{index}-{self._attempt}",
            pure=False,
            retries=0,
        )
        self._index[future.key] = index
        return future

    def _wants_more(self, deadline: float | None) -> bool:
        if self._stop.is_set() or self.error is not None:
            return False
        if deadline is not None and time.time() >= deadline:
            return False
        return self.n_trials is None or self.n_submitted < self.n_trials

    def _feed(self, window: int, deadline: float | None) -> None:
        try:
            self._feed_loop(window, deadline)
        except BaseException as e:
            if self.error is None:
                self.error = e
            self.request_stop()
        finally:
            if self.on_end is not None:
                self.on_end()

    def _feed_loop(self, window: int, deadline: float | None) -> None:
        distributed = import_distributed()
        pending = distributed.as_completed(loop=self.client.loop)
        for _ in range(window):
            if not self._wants_more(deadline):
                break
            pending.add(self._track(self._submit(deadline)))
        for future in pending:
            replace = self._settle(future)
            with self._lock:
                self._futures.discard(future)
            if replace is not None and not self._stop.is_set() and self.error is None:
                # its worker died before the task began its trial: not a trial, run it again
                pending.add(self._track(self._submit(deadline, replace)))
            elif self._wants_more(deadline):
                pending.add(self._track(self._submit(deadline)))

    def _track(self, future: Any) -> Any:
        with self._lock:
            self._futures.add(future)
        return future

    def _settle(self, future: Any) -> int | None:
        """Count an ended task; return its index when it must run again."""
        import traceback

        distributed = import_distributed()
        if future.status == "cancelled":
            self.n_skipped += 1
            return None
        try:
            number = future.result()
        except distributed.KilledWorker:
            index = self._index[future.key]
            if not distributed.Event(_began(self.run_id, index), client=self.client).is_set():
                self.n_replaced += 1
                return index
            self.n_lost += 1  # its worker died mid-trial; the trial is failed (poller / end)
            return None
        except Exception as e:
            if self.error is None and not self._killed:
                tb = future.traceback()
                text = "".join(traceback.format_exception(type(e), e, tb)) if tb else ""
                message = str(e) if isinstance(e, CellError) else f"{type(e).__name__}: {e}"
                self.error = WorkerError(message, "" if isinstance(e, CellError) else text)
                self.request_stop()
            return None
        if number is None:
            self.n_skipped += 1
        else:
            self.n_done += 1
        return None

    # -------------------------------------------------------------- control
    def alive(self) -> bool:
        """Whether tasks are still submitted or running."""
        return self._thread is not None and self._thread.is_alive()

    def request_stop(self) -> None:
        """Tasks not yet begun return at once; running trials finish."""
        self._stop.set()
        if self._event is not None:
            with contextlib.suppress(Exception):
                self._event.set()

    def kill(self) -> None:
        """Cancel every task; on our local cluster, restart the workers to end running trials."""
        self._killed = True
        self.request_stop()
        with self._lock:
            futures = list(self._futures)
        with contextlib.suppress(Exception):
            self.client.cancel(futures)
        if self.plan.local:
            with contextlib.suppress(Exception):
                self.client.restart(wait_for_workers=False)

    def join(self, timeout: float | None = None) -> None:
        """Wait until every submitted task has ended."""
        if self._thread is not None:
            self._thread.join(timeout)


def start_dask_run(
    plan: DaskPlan,
    study: optuna.Study,
    objective: Callable[..., Any],
    info: RunInfo,
    sinks: Sequence[RunSink],
    *,
    n_trials: int | None,
    timeout: float | None,
    catch: tuple[type[BaseException], ...] = (),
    heartbeat_interval: int | None = None,
    interval: float = 0.5,
    thread_setup: Callable[[], None] | None = None,
) -> PolledRun:
    """Start the trials of ``study`` on the plan's cluster and a poller feeding ``sinks``."""
    pool = DaskPool(
        plan,
        study.study_name,
        objective,
        n_trials,
        timeout,
        **study_options(study, catch, heartbeat_interval),
    )
    run, baseline = follow_pool(
        study, info, sinks, pool, interval=interval, thread_setup=thread_setup, run_type=_DaskRun
    )
    assert isinstance(run, _DaskRun)
    run.before = {t.number for t in baseline}
    run.start()
    return run


class _DaskRun(PolledRun):
    """A PolledRun that, once every task has ended, fails what this run left RUNNING."""

    before: set[int] = set()

    def _run(self) -> tuple[str, str | None, BaseException | None]:
        outcome = super()._run()
        from optuna.trial import TrialState

        from optuna_magic.study.liveness import fail_trial

        # Every task has ended, so a trial of this run still RUNNING lost its worker (a
        # DaskStorage keeps no owner to check).
        try:
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if t.number not in self.before:
                    fail_trial(
                        self.study._storage,
                        t._trial_id,
                        "its Dask worker was lost while running it",
                    )
            self.poller.poll()
        except Exception:
            _log.warning("checking for lost trials failed", exc_info=True)
        return outcome
