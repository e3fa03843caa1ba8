"""``--workers K``: run the cell's objective in K processes on one storage.

The objective is shipped to the workers with cloudpickle. The cell's function was exec'd with the
user's namespace as its globals; it travels with only the globals its code reads (each checked, so
an unpicklable variable is named in the error instead of failing deep inside a worker).

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
import dis
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
import traceback
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError

if TYPE_CHECKING:
    import optuna

    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.runner import RunInfo, RunSink

__all__ = [
    "PreShipped",
    "WorkerError",
    "WorkerPool",
    "WorkersDied",
    "portable_function",
    "ship_objective",
    "start_worker_run",
    "temporary_journal",
    "unship_objective",
]

_log = logging.getLogger(__name__)
_TRACEBACK_CHARS = 20_000


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


# -------------------------------------------------------------------- shipping
def _global_names(code: types.CodeType) -> set[str]:
    """The global names a code object (and the code nested in it) reads or writes."""
    names: set[str] = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _is_module_function(fn: types.FunctionType) -> bool:
    """Whether pickle can find ``fn`` by reference (its module is importable and holds it)."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    return (
        module is not None
        and module.__name__ != "__main__"
        and getattr(module, "__dict__", None) is fn.__globals__
    )


def portable_function(fn: Any) -> Any:
    """``fn`` with only the globals its code uses, each checked to pickle with cloudpickle.

    Raises:
        OptunaMagicError: naming every variable that cannot be sent to another process.
    """
    import cloudpickle

    if _is_module_function(fn):
        return fn
    src = fn.__globals__
    used = {n: src[n] for n in sorted(_global_names(fn.__code__)) if n in src}
    problems = []
    for name, value in used.items():
        if isinstance(value, types.ModuleType):
            continue
        try:
            cloudpickle.dumps(value)
        except Exception as e:
            problems.append(f"`{name}` ({type(value).__name__}: {type(e).__name__}: {e})")
    if problems:
        raise OptunaMagicError(
            "the cell uses variables that cannot be sent to worker processes: "
            + "; ".join(problems)
            + ". Create them inside the cell (or in a function the cell calls), or run "
            "without --workers / --dask"
        )
    globs: dict[str, Any] = {"__builtins__": src.get("__builtins__", __builtins__), **used}
    new = types.FunctionType(fn.__code__, globs, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__qualname__ = fn.__qualname__
    new.__module__ = None  # type: ignore[assignment]  # pickled by value, not looked up
    return new


@dataclass
class _Shipped:
    """What a worker needs to rebuild the objective."""

    function: Callable[..., Any]
    cell: Any = None  # ParsedCell for a cell objective; None for a plain `objective(trial)`
    n_objectives: int = 1
    source: list[str] | None = None  # the cell's lines, for tracebacks in the worker


def _source_lines(fn: Any) -> list[str] | None:
    import linecache

    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    return linecache.getlines(code.co_filename) or None


class PreShipped:
    """An objective already serialized for other processes; :func:`ship_objective` passes it on.

    The magic ships the objective before it creates the study, so that a variable that cannot
    travel refuses the cell while nothing is stored yet.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def check(cls, objective: Callable[..., Any], n_objectives: int, *others: Any) -> PreShipped:
        """Ship ``objective``; also check that ``others`` (sampler, pruner) can travel."""
        import cloudpickle

        data = ship_objective(objective, n_objectives)
        for obj in others:
            try:
                cloudpickle.dumps(obj)
            except Exception as e:
                raise OptunaMagicError(
                    f"the {type(obj).__name__} cannot be sent to worker processes: "
                    f"{type(e).__name__}: {e}"
                ) from None
        return cls(data)

    def __call__(self, trial: optuna.Trial) -> Any:
        return unship_objective(self.data)(trial)


def ship_objective(objective: Callable[..., Any], n_objectives: int) -> bytes:
    """Serialize the objective built by ``_objective.build_objective`` for other processes."""
    import cloudpickle

    from optuna_magic.cell.objective import CellObjective

    if isinstance(objective, PreShipped):
        return objective.data
    if isinstance(objective, CellObjective):
        fn = objective._function
        shipped = _Shipped(portable_function(fn), objective.cell, n_objectives, _source_lines(fn))
    elif isinstance(objective, types.FunctionType):
        shipped = _Shipped(
            portable_function(objective), None, n_objectives, _source_lines(objective)
        )
    else:
        shipped = _Shipped(objective, None, n_objectives)
    try:
        return cloudpickle.dumps(shipped)  # type: ignore[no-any-return]
    except Exception as e:
        raise OptunaMagicError(
            f"the objective cannot be sent to worker processes: {type(e).__name__}: {e}"
        ) from None


def report_in_worker(trial: optuna.Trial, value: float, step: int) -> None:
    """``report(value, step)`` in a worker: record, then prune when the pruner says so."""
    import optuna

    trial.report(value, step)
    if trial.should_prune():
        raise optuna.TrialPruned(f"pruned at step {step} with value {value:.6g}")


def unship_objective(data: bytes) -> Callable[[optuna.Trial], Any]:
    """The objective shipped by :func:`ship_objective`, ready to run in this process."""
    import cloudpickle

    shipped: _Shipped = cloudpickle.loads(data)
    code = getattr(shipped.function, "__code__", None)
    if shipped.source and code is not None:
        import linecache

        # The cell exists only in the parent's line cache; tracebacks here show its lines too.
        linecache.cache[code.co_filename] = (
            sum(map(len, shipped.source)),
            None,
            shipped.source,
            code.co_filename,
        )
    if shipped.cell is None:
        return shipped.function
    from optuna_magic.cell.objective import CellObjective

    return CellObjective(shipped.cell, shipped.function, report_in_worker, shipped.n_objectives)


class RecordingObjective:
    """Runs the objective; a failure's message and traceback are stored with the trial.

    Optuna itself stores no error text, so the parent's poller reads these system attributes.
    """

    def __init__(
        self,
        objective: Callable[[optuna.Trial], Any],
        n_objectives: int,
        on_start: Callable[[optuna.Trial], None] | None = None,
    ) -> None:
        self.objective = objective
        self.n_objectives = n_objectives
        self.on_start = on_start

    def __call__(self, trial: optuna.Trial) -> Any:
        import optuna

        from optuna_magic.run.runner import RunAborted, _as_values, fail_untold

        if self.on_start is not None:
            self.on_start(trial)
        try:
            result = self.objective(trial)
        except optuna.TrialPruned:
            raise
        except RunAborted as e:
            _record_failure(trial, f"{type(e.error).__name__}: {e.error}", "")
            raise
        except BaseException as e:
            _record_failure(trial, f"{type(e).__name__}: {e}", user_traceback(e))
            fail_untold(trial, e)
            raise
        if _as_values(result, self.n_objectives) is None:
            _record_failure(
                trial,
                f"the objective returned {result!r}, which Optuna cannot "
                f"record as {self.n_objectives} value(s)",
                "",
            )
        return result


def user_traceback(e: BaseException) -> str:
    """The traceback of ``e`` from the first frame of user code (the cell) down.

    The frames above it are this module's and Optuna's optimize loop: noise to the user.
    """
    import optuna

    import optuna_magic

    # Every frame of this package (the runner's, the worker's) and of Optuna's loop.
    here = os.path.dirname(os.path.abspath(optuna_magic.__file__))
    skip = (here, os.path.dirname(os.path.abspath(optuna.__file__)))
    tb = e.__traceback__
    while (
        tb is not None
        and tb.tb_next is not None
        and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(skip)
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))[-_TRACEBACK_CHARS:]


def _record_failure(trial: optuna.Trial, message: str, tb: str) -> None:
    from optuna_magic.study.liveness import FAIL_REASON_KEY, TRACEBACK_KEY

    with contextlib.suppress(Exception):
        storage = trial.storage
        storage.set_trial_system_attr(trial._trial_id, FAIL_REASON_KEY, message[:2000])
        if tb:
            storage.set_trial_system_attr(trial._trial_id, TRACEBACK_KEY, tb[-_TRACEBACK_CHARS:])


# ------------------------------------------------------------------------ pool
def temporary_journal() -> str:
    """A journal file in a new temporary folder (kept after the run: the study lives there)."""
    folder = tempfile.mkdtemp(prefix="optuna-magic-")
    return "journal:" + os.path.join(folder, "study.log")


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
        from optuna_magic.study.liveness import DEFAULT_HEARTBEAT

        if k < 1:
            raise OptunaMagicError(f"--workers must be at least 1, got {k}")
        if n_trials is None and timeout is None:
            raise OptunaMagicError("--workers needs -n or --timeout")
        self.storage_url = storage_url
        self.study_name = study_name
        self.k = k
        self.n_trials = n_trials
        self.timeout = timeout
        self.heartbeat_interval = (
            DEFAULT_HEARTBEAT if heartbeat_interval is None else heartbeat_interval
        )
        self._payload = {
            "objective": ship_objective(objective, n_objectives),
            "n_objectives": n_objectives,
            "catch": tuple(catch),
            "sampler": sampler,
            "pruner": pruner,
        }
        self._on_output = on_output or _print_output
        self._study = study
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._killed = False
        self._deadline: float | None = None
        self._tickets_left = n_trials
        self.workers: list[_Worker] = []
        self.error: BaseException | None = None
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
        import pickle

        import cloudpickle

        header = {
            "storage": self.storage_url,
            "study_name": self.study_name,
            "heartbeat_interval": self.heartbeat_interval,
            "sys_path": list(sys.path),
        }
        with open(path, "wb") as f:
            pickle.dump((header, cloudpickle.dumps(self._payload)), f)
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
                        "optuna_magic.run.remote.workers",
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
            from optuna_magic.study.liveness import open_storage

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
    from optuna_magic.run.polled import PolledRun, StoragePoller

    pool = WorkerPool(
        storage_url,
        study.study_name,
        objective,
        n_trials,
        k,
        timeout,
        n_objectives=len(study.directions),
        catch=catch,
        sampler=study.sampler,
        pruner=study.pruner,
        heartbeat_interval=heartbeat_interval,
        on_output=on_output,
        study=study,
    )
    poller = StoragePoller(study, sinks, fail_orphans=True)
    poller.baseline()
    run = PolledRun(
        study, info, sinks, source=pool, interval=interval, poller=poller, thread_setup=thread_setup
    )
    run.start()
    return run


# ---------------------------------------------------------------------- worker
class _Channel:
    """The worker's side of the ticket protocol: JSON lines out, ``go`` / ``stop`` in."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._in = sys.stdin.buffer

    def send(self, **msg: Any) -> None:
        self._out.write(json.dumps(msg).encode() + b"\n")

    def ticket(self) -> bool:
        self.send(ask=1)
        return self._in.readline().strip() == b"go"


def _worker_main(path: str, index: int, fd: int) -> int:
    channel = _Channel(fd)
    try:
        header, payload = _load_payload(path)
        import optuna

        from optuna_magic.study.liveness import open_storage

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        storage = open_storage(
            header["storage"], heartbeat_interval=header["heartbeat_interval"] or None
        )
        sampler = payload["sampler"]
        if sampler is not None:
            sampler.reseed_rng()
        study = optuna.load_study(
            study_name=header["study_name"],
            storage=storage,
            sampler=sampler,
            pruner=payload["pruner"],
        )
        objective = unship_objective(payload["objective"])
    except BaseException as e:
        channel.send(
            error=f"worker {index} could not start: {type(e).__name__}: {e}",
            traceback="".join(traceback.format_exception(e))[-_TRACEBACK_CHARS:],
        )
        return 1

    def started(trial: optuna.Trial) -> None:
        channel.send(trial=trial.number, id=trial._trial_id)

    wrapped = RecordingObjective(objective, payload["n_objectives"], started)
    catch = payload["catch"]
    try:
        while channel.ticket():
            study.optimize(wrapped, n_trials=1, catch=catch, gc_after_trial=False)
            channel.send(done=1)
    except BaseException as e:
        from optuna_magic.run.runner import RunAborted

        if isinstance(e, RunAborted):
            channel.send(error=str(e.error), traceback="")
        else:
            channel.send(error=f"{type(e).__name__}: {e}", traceback=user_traceback(e))
        return 1
    return 0


def _load_payload(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header first: it carries the parent's sys.path, which unpickling the rest may need."""
    import pickle

    with open(path, "rb") as f:
        header, blob = pickle.load(f)
    sys.path.extend(p for p in header["sys_path"] if p not in sys.path)
    return header, pickle.loads(blob)


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
