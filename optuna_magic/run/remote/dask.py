"""``--dask [ADDRESS]``: run the trials on a Dask cluster through ``dask.distributed``.

The cluster is, in this order: the ``Client`` already in the user's namespace, a client connected
to ADDRESS, or a ``LocalCluster`` started on loopback (kept for the next run in this process).
Every trial is one Dask task: the scheduler spreads them over the workers' threads, a graceful
stop is a distributed ``Event`` that tasks not yet begun read and return, and the parent follows
the storage with a :class:`optuna_magic.run.polled.PolledRun`, as for ``--workers``.

Storage: ``--storage`` when given (the workers must reach it: PostgreSQL for several machines; a
SQLite or journal file only on one machine or a shared file system); without it a journal file in
a temporary folder on a local cluster, or optuna-integration's ``DaskStorage`` (the trials live in
the scheduler's memory) on a remote one.

``dask.distributed`` and ``optuna_integration`` are imported only when ``--dask`` is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.run.polled import PolledRun, StoragePoller

if TYPE_CHECKING:
    import optuna

    from optuna_magic.run.runner import RunInfo, RunSink

__all__ = ["DaskPlan", "DaskPool", "prepare_dask", "start_dask_run"]

_log = logging.getLogger(__name__)
_local: dict[str, Any] = {}  # the LocalCluster this process started, reused by later runs


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise OptunaMagicError(
            "--dask needs dask.distributed: pip install 'optuna-magic[dask]'"
        ) from None
    return distributed


@dataclass
class DaskPlan:
    """Where the trials run and where they are stored.

    Attributes:
        client: the ``distributed.Client``.
        storage: the Optuna storage the parent opens (the study is created on it).
        storage_url: the URL the tasks open, or None when ``storage`` itself travels
            (``DaskStorage``).
        where: a line for the user: which cluster, which storage (credentials masked).
        local: whether the cluster is the loopback ``LocalCluster`` this process started.
    """

    client: Any
    storage: Any
    storage_url: str | None
    where: str
    local: bool


def find_client(user_ns: Mapping[str, Any]) -> Any:
    """The ``distributed.Client`` in the user's namespace, if any (the newest one)."""
    import sys

    if "distributed" not in sys.modules:
        return None
    cls = sys.modules["distributed"].Client
    clients = [v for k, v in user_ns.items() if not k.startswith("_") and isinstance(v, cls)]
    live = [c for c in clients if c.status == "running"]
    return live[-1] if live else None


def local_client(n_workers: int | None = None) -> Any:
    """A client of a loopback ``LocalCluster`` of worker processes, started once per process.

    A task whose worker dies is not re-run (``allowed-failures: 0``): its trial is failed and
    counted, so ``-n`` stays exact.
    """
    import dask

    distributed = _distributed()
    client = _local.get("client")
    if client is not None and client.status == "running":
        return client
    n = n_workers or max(1, min(4, os.cpu_count() or 1))
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster, set_as_default=False)
    _local.update(client=client, cluster=cluster)
    return client


def close_local() -> None:
    """Close the LocalCluster started by :func:`local_client`, if any."""
    client, cluster = _local.pop("client", None), _local.pop("cluster", None)
    with contextlib.suppress(Exception):
        if client is not None:
            client.close()
    with contextlib.suppress(Exception):
        if cluster is not None:
            cluster.close()


def prepare_dask(
    address: str | None,
    user_ns: Mapping[str, Any],
    storage_url: str | None,
    *,
    n_workers: int | None = None,
    heartbeat_interval: int | None = None,
) -> DaskPlan:
    """Pick the cluster and the storage for ``--dask [ADDRESS]``.

    Args:
        address: the scheduler's address (``tcp://host:8786``); None for the namespace's client
            or a local cluster.
        user_ns: the user's namespace, searched for a ``Client``.
        storage_url: ``--storage``, or None.
        n_workers: worker processes of a local cluster (default: CPUs, at most 4).
        heartbeat_interval: for an RDB ``--storage``.
    """
    from optuna_magic.study.factories import mask_url
    from optuna_magic.study.liveness import open_storage

    distributed = _distributed()
    client = None if address else find_client(user_ns)
    local = False
    if client is not None:
        cluster = f"the Client in the namespace ({client.scheduler.address})"
    elif address:
        try:
            client = distributed.Client(address, timeout=10, set_as_default=False)
        except OSError as e:
            raise OptunaMagicError(f"--dask {address}: cannot reach the scheduler ({e})") from None
        cluster = f"the Dask cluster at {address}"
    else:
        client = local_client(n_workers)
        local = True
        n = len(client.scheduler_info(n_workers=-1)["workers"])
        cluster = f"a local Dask cluster ({n} worker processes on 127.0.0.1)"
    if storage_url is None and local:
        from optuna_magic.run.remote.workers import temporary_journal

        storage_url = temporary_journal()
        note = (
            f"--dask without --storage: trials go to the journal file "
            f"{storage_url.removeprefix('journal:')}"
        )
    elif storage_url is None:
        from optuna_integration import DaskStorage

        storage = DaskStorage(client=client)
        return DaskPlan(
            client,
            storage,
            None,
            f"Trials run on {cluster}, stored in the scheduler's memory "
            f"(DaskStorage; give --storage to keep them)",
            False,
        )
    else:
        note = f"storage {mask_url(storage_url)}"
    storage = open_storage(storage_url, heartbeat_interval=heartbeat_interval)
    return DaskPlan(client, storage, storage_url, f"Trials run on {cluster}; {note}", local)


# ------------------------------------------------------------------ the tasks
_worker_cache: dict[str, tuple[Any, Any]] = {}  # run id -> (study, objective) in a worker
_worker_lock = threading.Lock()


def _task_study(run_id: str, spec: dict[str, Any]) -> tuple[Any, Any]:
    with _worker_lock:
        cached = _worker_cache.get(run_id)
        if cached is not None:
            return cached
        import optuna

        from optuna_magic.run.remote.workers import RecordingObjective, unship_objective

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if spec["storage_url"] is not None:
            from optuna_magic.study.liveness import open_storage

            storage = open_storage(
                spec["storage_url"], heartbeat_interval=spec["heartbeat_interval"]
            )
        else:
            storage = spec["storage"]
        sampler = spec["sampler"]
        if sampler is not None:
            sampler.reseed_rng()  # each worker process its own stream
        study = optuna.load_study(
            study_name=spec["study_name"], storage=storage, sampler=sampler, pruner=spec["pruner"]
        )
        objective = RecordingObjective(unship_objective(spec["objective"]), spec["n_objectives"])
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

    distributed = _distributed()
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


class CellError(Exception):
    """A problem with the cell found while a trial ran (a wrong declaration); ends the run."""


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
        from optuna_magic.run.remote.workers import ship_objective
        from optuna_magic.study.liveness import DEFAULT_HEARTBEAT

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
            "heartbeat_interval": (
                DEFAULT_HEARTBEAT if heartbeat_interval is None else heartbeat_interval
            )
            or None,
            "study_name": study_name,
            "objective": ship_objective(objective, n_objectives),
            "n_objectives": n_objectives,
            "catch": tuple(catch),
            "sampler": sampler,
            "pruner": pruner,
        }
        self._window = window
        self._stop = threading.Event()
        self._killed = False
        self._thread: threading.Thread | None = None
        self._futures: set[Any] = set()
        self._lock = threading.Lock()
        self._event: Any = None
        self.error: BaseException | None = None
        self.n_submitted = 0
        self.n_done = 0  # tasks that ran a trial
        self.n_skipped = 0  # tasks that started none (stopped / out of time)
        self.n_lost = 0  # tasks whose worker died mid-trial (the trial is failed, and counted)
        self.n_replaced = 0  # tasks whose worker died before their trial began (run again)
        self._attempt = 0
        self._index: dict[str, int] = {}

    def start(self) -> None:
        """Scatter the objective to every worker and start submitting trials."""
        distributed = _distributed()
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

    def _feed_loop(self, window: int, deadline: float | None) -> None:
        distributed = _distributed()
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

        from optuna_magic.run.remote.workers import WorkerError

        distributed = _distributed()
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
        n_objectives=len(study.directions),
        catch=catch,
        sampler=study.sampler,
        pruner=study.pruner,
        heartbeat_interval=heartbeat_interval,
    )
    poller = StoragePoller(study, sinks, fail_orphans=True)
    baseline = poller.baseline()
    before = {t.number for t in baseline}
    run = _DaskRun(
        study, info, sinks, source=pool, interval=interval, poller=poller, thread_setup=thread_setup
    )
    run.before = before
    run.start()
    return run


class _DaskRun(PolledRun):
    """A PolledRun that, once every task has ended, fails what this run left RUNNING."""

    before: set[int] = set()

    def _end(self, error: BaseException | None) -> None:
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
        super()._end(error)
