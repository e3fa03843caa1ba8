"""What the pools of ``--workers`` and ``--dask`` share.

The options a pool takes from the study, and the run that follows the pool's trials in the
storage (a :class:`optuna_magic.run.polled.PolledRun`) and feeds the sinks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from optuna_magic.run.polled import PolledRun, TrialSource
    from optuna_magic.run.runner import RunInfo, RunSink

__all__ = ["follow_pool", "study_options"]


def study_options(
    study: optuna.Study, catch: tuple[type[BaseException], ...], heartbeat_interval: int | None
) -> dict[str, Any]:
    """The keyword arguments a pool (``WorkerPool``, ``DaskPool``) takes from the study."""
    return {
        "n_objectives": len(study.directions),
        "catch": catch,
        "sampler": study.sampler,
        "pruner": study.pruner,
        "heartbeat_interval": heartbeat_interval,
    }


def follow_pool(
    study: optuna.Study,
    info: RunInfo,
    sinks: Sequence[RunSink],
    pool: TrialSource,
    *,
    interval: float,
    thread_setup: Callable[[], None] | None,
    run_type: type[PolledRun] | None = None,
) -> tuple[PolledRun, list[FrozenTrial]]:
    """The run (not started yet) that follows ``pool``'s trials in the storage for ``sinks``.

    Also returns the study's trials before the run (the poller's baseline, read now).
    """
    from optuna_magic.run.polled import PolledRun, StoragePoller

    poller = StoragePoller(study, sinks, fail_orphans=True)
    baseline = poller.baseline()
    run = (run_type or PolledRun)(
        study, info, sinks, source=pool, interval=interval, poller=poller, thread_setup=thread_setup
    )
    return run, baseline
