"""``--workers K``: run the cell's objective in K processes on one storage.

The objective is shipped to the workers with cloudpickle (:mod:`.shipping`); each worker is a
``python -m optuna_magic.run.remote.processes`` child (:mod:`.processes`).

Trials are counted exactly by tickets: before each trial a worker asks the parent for one over a
pipe; the parent hands out ``n_trials`` of them (none after a graceful stop or the timeout), and
takes back a ticket whose worker died before it created its trial. A worker tells the parent which
trial it runs, so when it dies (killed, out of memory) the parent marks that trial FAIL at once,
for every storage; RDB storages also get Optuna's heartbeat. The other workers go on.

The parent does not hear of trials over the pipes: a :class:`optuna_magic.run.polled.PolledRun`
follows the storage and feeds the sinks, exactly as for a study optimized elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.run.remote.errors import WorkerError, WorkersDied
from optuna_magic.run.remote.pool import follow_pool, study_options
from optuna_magic.run.remote.shipping import trial_payload

if TYPE_CHECKING:
    import optuna

    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.runner import RunInfo, RunSink

__all__ = ["WorkerPool", "start_worker_run"]

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------ pool
@dataclass
class _Worker:
    index: int
    proc: subprocess.Popen[bytes]
    messages: Any  # the read end of the worker's message pipe
    holding: bool = False  # a ticket was given and no trial reported yet
    code: int | None = None  # the exit status, once its end has been handled
    current: tuple[int, int] | None = None  # (number, trial_id) of the running trial
    trials: list[int] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)


class WorkerPool:
    """K worker processes that optimize one stored study, ``n_trials`` trials in all.

    Args:
        storage_url: the storage every process opens (a database URL or a journal file).
        study_name: the study, which must exist in the storage.
        objective: the objective built from the cell (shipped with cloudpickle).
        n_trials: trials in all across the workers (None: until ``timeout`` or a stop).
        k: the number of worker processes.
        timeout: no trial starts after this many seconds.
        n_objectives: the number of values the objective returns.
        catch: exception types recorded as failed trials; any other ends the run.
        sampler, pruner: the study's sampler and pruner, shipped to every worker (their random
            generators are reseeded per worker, or all would suggest the same parameters).
        heartbeat_interval: seconds between heartbeats of a running trial (RDB storages).
        on_output: ``on_output(worker_index, line)`` for what the workers print; default:
            written to this process's stdout with a ``[worker i]`` prefix.
        study: the parent's study on the same storage, used to fail a dead worker's trial.
    """

    def __init__(
        self,
        storage_url: str,
        study_name: str,
        objective: Callable[..., Any],
        n_trials: int | None,
        k: int,
        timeout: float | None = None,
        *,
        n_objectives: int = 1,
        catch: tuple[type[BaseException], ...] = (),
        sampler: Any = None,
        pruner: Any = None,
        heartbeat_interval: int | None = None,
        on_output: Callable[[int, str], None] | None = None,
        study: optuna.Study | None = None,
    ) -> None:
        if k < 1:
            raise OptunaMagicError(f"--workers must be at least 1, got {k}")
        if n_trials is None and timeout is None:
            raise OptunaMagicError("--workers needs -n or --timeout")
        self.storage_url = storage_url
        self.study_name = study_name
        self.k = k
        self.n_trials = n_trials
        self.timeout = timeout
        self._payload = trial_payload(
            objective,
            study_name,
            n_objectives=n_objectives,
            catch=catch,
            sampler=sampler,
            pruner=pruner,
            heartbeat_interval=heartbeat_interval,
        )
        self._on_output = on_output or _print_output
        self._study = study
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._killed = False
        self._deadline: float | None = None
        self._tickets_left = n_trials
        self.workers: list[_Worker] = []
        self.error: BaseException | None = None
        self.on_end: Callable[[], None] | None = None  # see TrialSource
        self.n_started = 0  # trials the workers created
        self.n_done = 0  # trials the workers saw to their end
        self.n_orphaned = 0  # trials of dead workers, failed by the parent
        self.n_refunded = 0  # tickets taken back from workers that died before their trial
        self._dir: str | None = None

    # ---------------------------------------------------------------- start
    def start(self) -> None:
        """Write the payload and start the worker processes."""
        self._dir = tempfile.mkdtemp(prefix="optuna-magic-workers-")
        try:
            self._spawn(os.path.join(self._dir, "payload.pkl"))
        except BaseException:
            self.kill()
            shutil.rmtree(self._dir, ignore_errors=True)  # the last worker's end would not come
            raise

    def _spawn(self, path: str) -> None:
        from optuna_magic.run.remote.processes import write_payload

        write_payload(path, self.storage_url, self._payload)
        if self.timeout is not None:
            self._deadline = time.monotonic() + self.timeout
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for i in range(self.k):
            read_fd, write_fd = os.pipe()
            try:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "optuna_magic.run.remote.processes",
                        path,
                        str(i),
                        str(write_fd),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    pass_fds=(write_fd,),
                    env=env,
                    start_new_session=True,
                )
            finally:
                os.close(write_fd)
            worker = _Worker(i, proc, os.fdopen(read_fd, "rb"))
            self.workers.append(worker)
            for target, name in ((self._serve, "serve"), (self._forward, "out")):
                t = threading.Thread(
                    target=target,
                    args=(worker,),
                    daemon=True,
                    name=f"optuna-magic-worker{i}-{name}",
                )
                worker.threads.append(t)
                t.start()

    # ------------------------------------------------------------- protocol
    def _grant(self) -> bool:
        """Whether a worker may start one more trial (called under the lock)."""
        if self._stop.is_set() or self.error is not None:
            return False
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return False
        if self._tickets_left is None:
            return True
        if self._tickets_left <= 0:
            return False
        self._tickets_left -= 1
        return True

    def _serve(self, w: _Worker) -> None:
        """Answer one worker's messages until its pipe closes, then clean up after it."""
        for raw in w.messages:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            reply = None
            with self._lock:
                if "ask" in msg:
                    ok = self._grant()
                    w.holding = ok
                    reply = b"go\n" if ok else b"stop\n"
                elif "trial" in msg:
                    w.holding = False
                    w.current = (int(msg["trial"]), int(msg["id"]))
                    w.trials.append(int(msg["trial"]))
                    self.n_started += 1
                elif "done" in msg:
                    w.current = None
                    self.n_done += 1
                elif "error" in msg and self.error is None:
                    self.error = WorkerError(msg["error"], msg.get("traceback", ""))
            if reply is not None:
                with contextlib.suppress(OSError, ValueError):
                    assert w.proc.stdin is not None
                    w.proc.stdin.write(reply)
                    w.proc.stdin.flush()
        w.messages.close()
        code = w.proc.wait()
        with self._lock:
            if w.holding and self._tickets_left is not None:
                self._tickets_left += 1  # it died before creating its trial: not a trial
                self.n_refunded += 1
            w.holding = False
            orphan, w.current = w.current, None
        if orphan is not None:
            self._fail_orphan(w, orphan, code)
        elif code != 0 and self.error is None and not self._killed and not w.trials:
            with self._lock:
                if self.error is None:
                    self.error = WorkerError(
                        f"worker {w.index} exited with code {code} before running a trial"
                    )
        with contextlib.suppress(OSError):
            if w.proc.stdin is not None:
                w.proc.stdin.close()
        with self._lock:
            w.code = code
            last = len(self.workers) == self.k and all(x.code is not None for x in self.workers)
        if last:
            self._all_ended()
            if self.on_end is not None:
                self.on_end()

    def _all_ended(self) -> None:
        """The last worker has ended: remove the payload; a run left undone is an error."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        with self._lock:
            if self.error is not None or self._killed or self._stop.is_set():
                return
            if self._tickets_left is not None:
                undone = self._tickets_left > 0
            else:
                undone = self._deadline is not None and time.monotonic() < self._deadline
            if not undone or all(w.code == 0 for w in self.workers):
                return
            how = "; ".join(
                f"worker {w.index} {_exit_text(w.code)}" for w in self.workers if w.code
            )
            planned = f" of {self.n_trials}" if self.n_trials is not None else ""
            self.error = WorkersDied(
                f"all {self.k} worker process(es) died before the run was done ({how}); "
                f"{self.n_started}{planned} trials ran"
            )

    def _fail_orphan(self, w: _Worker, orphan: tuple[int, int], code: int) -> None:
        from optuna_magic.study.liveness import fail_trial

        reason = f"worker {w.index} (pid {w.proc.pid}) {_exit_text(code)} while running this trial"
        if self._killed:
            reason = f"the run was interrupted; worker {w.index} was killed while running it"
        storage = self._study._storage if self._study is not None else None
        if storage is None:
            from optuna_magic.study.storage import open_storage

            storage = open_storage(self.storage_url, heartbeat_interval=None)
        if fail_trial(storage, orphan[1], reason):
            with self._lock:
                self.n_orphaned += 1

    def _forward(self, w: _Worker) -> None:
        assert w.proc.stdout is not None
        for raw in w.proc.stdout:
            with contextlib.suppress(Exception):
                self._on_output(w.index, raw.decode(errors="replace").rstrip("\n"))

    # -------------------------------------------------------------- control
    def alive(self) -> bool:
        """Whether any worker still runs (or its end is still being handled)."""
        return any(t.is_alive() for w in self.workers for t in w.threads[:1])

    def request_stop(self) -> None:
        """No new trial starts; the running ones finish, then the workers exit."""
        self._stop.set()

    def kill(self) -> None:
        """Kill every worker now; their running trials are marked FAIL."""
        self._killed = True
        self._stop.set()
        for w in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(w.proc.pid, signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the workers and the threads that serve them."""
        end = None if timeout is None else time.monotonic() + timeout
        for w in self.workers:
            for t in w.threads:
                t.join(None if end is None else max(0.0, end - time.monotonic()))

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [w.proc.pid for w in self.workers]

    def running_trials(self) -> dict[int, int]:
        """Worker index -> number of the trial it runs now."""
        with self._lock:
            return {w.index: w.current[0] for w in self.workers if w.current is not None}


def _exit_text(code: int | None) -> str:
    return f"was killed by signal {-code}" if code and code < 0 else f"exited with code {code}"


def _print_output(index: int, line: str) -> None:
    sys.stdout.write(f"[worker {index}] {line}\n")
    sys.stdout.flush()


def start_worker_run(
    study: optuna.Study,
    storage_url: str,
    objective: Callable[..., Any],
    info: RunInfo,
    sinks: Sequence[RunSink],
    *,
    k: int,
    n_trials: int | None,
    timeout: float | None,
    catch: tuple[type[BaseException], ...] = (),
    heartbeat_interval: int | None = None,
    interval: float = 0.5,
    on_output: Callable[[int, str], None] | None = None,
    thread_setup: Callable[[], None] | None = None,
) -> PolledRun:
    """Start ``--workers k`` on ``study`` and a poller feeding ``sinks``; return the run.

    The returned :class:`~optuna_magic.run.polled.PolledRun` has the Runner's surface (``wait``,
    ``wait_async``, ``request_stop``, ``interrupt``, ``result``).
    """
    pool = WorkerPool(
        storage_url,
        study.study_name,
        objective,
        n_trials,
        k,
        timeout,
        **study_options(study, catch, heartbeat_interval),
        on_output=on_output,
        study=study,
    )
    run, _ = follow_pool(study, info, sinks, pool, interval=interval, thread_setup=thread_setup)
    run.start()
    return run
