"""How a ``%%optuna`` cell's run starts: what is checked before the study exists, the cell's
objective, the run's description, and runs in other processes (``--workers`` / ``--dask``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from optuna_magic.magic.options import CellOptions

if TYPE_CHECKING:
    from optuna import Study

    from optuna_magic.cell.parse import ParsedCell
    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.remote.cluster import DaskPlan
    from optuna_magic.run.runner import Runner

__all__ = [
    "Plan",
    "bind_runner",
    "cell_objective",
    "checked_parts",
    "describe",
    "plan_run_info",
    "start_elsewhere",
]


@dataclass(frozen=True)
class Plan:
    """Everything decided before the first trial."""

    options: CellOptions
    cell: ParsedCell
    filename: str

    @property
    def directions(self) -> list[str]:
        return list(self.options.directions)

    @property
    def out(self) -> str:
        return self.options.out


def start_elsewhere(
    plan: Plan,
    study: Study,
    storage_url: str | None,
    dask: DaskPlan | None,
    objective: Any,
    info: Any,
    sinks: list[Any],
    thread_setup: Any = None,
    *,
    catch: tuple[type[Exception], ...],
    heartbeat_interval: int | None,
    poll_interval: float,
) -> PolledRun:
    """``--workers`` / ``--dask``: trials run in other processes; a poller feeds the sinks.

    Returns a ``PolledRun``, which has the Runner's surface.
    """
    args = plan.options
    hb = heartbeat_interval
    interval = min(poll_interval, 0.5)
    if args.workers is not None:
        from optuna_magic.run.remote.workers import start_worker_run

        assert storage_url is not None  # --storage, or the temporary journal
        return start_worker_run(
            study,
            storage_url,
            objective,
            info,
            sinks,
            k=args.workers,
            n_trials=args.n_trials,
            timeout=args.timeout,
            catch=catch,
            heartbeat_interval=hb,
            interval=interval,
            thread_setup=thread_setup,
        )
    from optuna_magic.run.remote.dask import start_dask_run

    assert dask is not None
    return start_dask_run(
        dask,
        study,
        objective,
        info,
        sinks,
        n_trials=args.n_trials,
        timeout=args.timeout,
        catch=catch,
        heartbeat_interval=hb,
        interval=interval,
        thread_setup=thread_setup,
    )


# ---------------------------------------------------------------- finish


def checked_parts(
    options: CellOptions, ns: dict[str, Any], space: list[Any]
) -> tuple[Any, Any, list[Any]]:
    """The sampler, the pruner and the MLflow sink: built (and so checked) before the study."""
    from optuna_magic.study.factories import make_pruner, make_sampler

    sampler = make_sampler(options.sampler, options.seed, ns, space)
    pruner = make_pruner(options.pruner, ns)
    sinks: list[Any] = []
    if options.mlflow is not None:
        # Checked before the study exists: an unreachable server must change nothing stored.
        from optuna_magic.outputs.mlflow import MlflowSink

        try:
            sinks.append(MlflowSink.create(options.mlflow or None, None))
        except ValueError as e:
            raise UsageError(f"%%optuna: {e}") from None
    return sampler, pruner, sinks


def continued_sinks(
    sinks: list[Any], objective: Any, out: str, ns: dict[str, Any]
) -> Callable[[Callable[[str], None]], list[Any]] | None:
    """What a panel's "Run N more" runs with besides the panel: the cell's own sinks, the same
    objects (``--mlflow`` logs into the same parent run, ``--keep-best`` knows the best so far,
    ``--until-stale`` its patience), and with ``--keep-best`` the binding of the best trial's
    variables once the continued run ends (the cell that bound them first has ended). None
    where the cell has no such option."""
    if not sinks:
        return None
    from optuna_magic.outputs.keep_best import BindBest, KeepBest

    def more(say: Callable[[str], None]) -> list[Any]:
        if any(isinstance(s, KeepBest) for s in sinks):
            return [*sinks, BindBest(objective, out, ns, say)]
        return list(sinks)

    return more


def cell_objective(
    plan: Plan, ns: dict[str, Any], sampler: Any, pruner: Any
) -> tuple[Any, list[weakref.ref[Runner]]]:
    """The cell's objective (shipped and checked for --workers / --dask), and where its
    ``report`` finds the runner once there is one.

    The objective reaches its runner through a weak reference: a runner -> objective -> runner
    cycle would keep a finished run's study alive until a full garbage collection (~0.1 s in a
    kernel) instead of freeing it when `study` is rebound.
    """
    from optuna_magic.cell.compile import build_objective

    runner_ref: list[weakref.ref[Runner]] = []

    def report(trial: Any, value: float, step: int) -> None:
        runner = runner_ref[0]()
        assert runner is not None  # trials run only while their runner does
        runner.report(trial, value, step)

    options = plan.options
    objective = build_objective(
        plan.cell, plan.filename, ns, report, len(plan.directions), keep_locals=options.keep_best
    )
    if options.elsewhere:
        from optuna_magic.run.remote.shipping import PreShipped

        objective = PreShipped.check(objective, len(plan.directions), sampler, pruner)
    return objective, runner_ref


def bind_runner(runner_ref: list[weakref.ref[Runner]], runner: Runner) -> None:
    """Where the cell's ``report`` finds its runner: the latest one (a panel's "Run N more"
    runs the same objective again, with a runner of its own)."""
    runner_ref[:] = [weakref.ref(runner)]


def plan_run_info(study: Study, storage_url: str | None, options: CellOptions, plan: Plan) -> Any:
    from optuna_magic.run.info import run_info
    from optuna_magic.study.secrets import mask_url

    return run_info(
        study,
        n_trials=options.n_trials,
        timeout=options.timeout,
        n_jobs=options.n_jobs,
        space=plan.cell.space.params,
        storage=mask_url(storage_url),
        sampler=describe(study.sampler, options.seed),
        pruner=describe(study.pruner, None),
        names=shown_names(plan),
    )


def shown_names(plan: Plan) -> tuple[str, ...] | None:
    """The objectives' names the cell's last expression gives (`(loss, accuracy)`), unless a
    value is a parameter itself (a cell ending in `x`)."""
    names = plan.cell.value_names
    if names is None or any(p.name in names for p in plan.cell.space.params):
        return None
    return names


def describe(obj: Any, seed: int | None) -> str:
    if obj is None:
        return "default"
    name = type(obj).__name__
    return f"{name}(seed={seed})" if seed is not None and "Sampler" in name else name
