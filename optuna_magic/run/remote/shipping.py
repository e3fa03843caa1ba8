"""Shipping a trial's work to other processes: the objective with cloudpickle, and the study.

The cell's function was exec'd with the user's namespace as its globals; it travels with only the
globals its code reads (each checked, so an unpicklable variable is named in the error instead of
failing deep inside a worker). ``--workers`` and ``--dask`` both ship the same payload
(:func:`trial_payload`) and rebuild the study from it the same way (:func:`open_payload`).
"""

from __future__ import annotations

import contextlib
import dis
import os
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna_magic.cell.space import OptunaMagicError

if TYPE_CHECKING:
    import optuna

__all__ = [
    "TRACEBACK_CHARS",
    "PreShipped",
    "RecordingObjective",
    "open_payload",
    "portable_function",
    "report_in_worker",
    "ship_objective",
    "trial_payload",
    "unship_objective",
    "user_traceback",
]

#: The most of a worker's traceback kept (with the trial, and in the error the parent raises).
TRACEBACK_CHARS = 20_000


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
    return "".join(traceback.format_exception(type(e), e, tb))[-TRACEBACK_CHARS:]


def _record_failure(trial: optuna.Trial, message: str, tb: str) -> None:
    from optuna_magic.study.liveness import FAIL_REASON_KEY, TRACEBACK_KEY

    with contextlib.suppress(Exception):
        storage = trial.storage
        storage.set_trial_system_attr(trial._trial_id, FAIL_REASON_KEY, message[:2000])
        if tb:
            storage.set_trial_system_attr(trial._trial_id, TRACEBACK_KEY, tb[-TRACEBACK_CHARS:])


def trial_payload(
    objective: Callable[..., Any],
    study_name: str,
    *,
    n_objectives: int,
    catch: tuple[type[BaseException], ...],
    sampler: Any,
    pruner: Any,
    heartbeat_interval: int | None,
) -> dict[str, Any]:
    """What every remote process needs to run trials of the study; read by :func:`open_payload`.

    ``heartbeat_interval``: None for the default; the payload holds None for no heartbeat.
    """
    from optuna_magic.study.liveness import DEFAULT_HEARTBEAT

    return {
        "study_name": study_name,
        "heartbeat_interval": (
            DEFAULT_HEARTBEAT if heartbeat_interval is None else heartbeat_interval
        )
        or None,
        "objective": ship_objective(objective, n_objectives),
        "n_objectives": n_objectives,
        "catch": tuple(catch),
        "sampler": sampler,
        "pruner": pruner,
    }


def open_payload(
    payload: dict[str, Any], storage: Any
) -> tuple[optuna.Study, Callable[[optuna.Trial], Any]]:
    """In a remote process: the payload's study on ``storage`` (a URL or a storage) and objective.

    The sampler's random generator is reseeded: each process its own stream, or all would
    suggest the same parameters.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if isinstance(storage, str):
        from optuna_magic.study.storage import open_storage

        storage = open_storage(storage, heartbeat_interval=payload["heartbeat_interval"])
    sampler = payload["sampler"]
    if sampler is not None:
        sampler.reseed_rng()
    study = optuna.load_study(
        study_name=payload["study_name"], storage=storage, sampler=sampler, pruner=payload["pruner"]
    )
    return study, unship_objective(payload["objective"])
