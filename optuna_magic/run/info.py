"""The one place a :class:`~optuna_magic.run.contract.RunInfo` is built from a study.

The magic's run, the public API, a watch and a finished study's panel all describe a study the
same way here: its directions, its objective names (the study's own metric names, else
``value`` / ``values_i``), its sampler and pruner, and its storage with any credential masked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optuna_magic.run.contract import RunInfo, objective_names

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["run_info", "storage_label"]


def storage_label(study: optuna.Study) -> str:
    """Where the study is stored, as the panel and the text show it (credentials masked)."""
    from optuna_magic.study.secrets import mask_url

    storage: Any = study._storage
    if type(storage).__name__ == "_CachedStorage":  # how Optuna wraps an RDB storage
        storage = storage._backend
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        return mask_url(url)
    path = getattr(getattr(storage, "_backend", None), "_file_path", None)  # a journal file
    if isinstance(path, str):
        return f"journal:{path}"
    return "in memory" if type(storage).__name__ == "InMemoryStorage" else type(storage).__name__


def run_info(
    study: optuna.Study,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    space: Sequence[Any] = (),
    storage: str | None = None,
    sampler: str | None = None,
    pruner: str | None = None,
    existing: Sequence[FrozenTrial] | None = None,
    watch: bool = False,
    names: Sequence[str] | None = None,
) -> RunInfo:
    """What the sinks of a run on ``study`` are told before its first trial.

    Args:
        study: the study the run adds trials to (or that is watched / shown).
        n_trials, timeout, n_jobs: the run's budget, as ``study.optimize`` takes them.
        space: the declared search space (``ParamSpec`` of a ``%%optuna`` cell), if known.
        storage: the storage as shown, already masked; default :func:`storage_label`.
        sampler, pruner: how to name them; default their class names.
        existing: the trials already in the study; default read from it (no copies).
        watch: other processes run the trials; this run only reads them.
        names: the objectives' names to show where the study stores none (a cell's
            `(loss, accuracy)`).
    """
    n = len(study.directions)
    trials = study.get_trials(deepcopy=False) if existing is None else existing
    return RunInfo(
        study_name=study.study_name,
        directions=[d.name.lower() for d in study.directions],
        sampler=sampler or type(study.sampler).__name__,
        pruner=pruner or type(study.pruner).__name__,
        storage=storage_label(study) if storage is None else storage,
        n_trials=n_trials,
        timeout=timeout,
        space=list(space),
        objective_names=list(
            study.metric_names or (names if names and len(names) == n else objective_names(n))
        ),
        started_at=time.time(),
        existing_trials=list(trials),
        n_jobs=n_jobs,
        watch=watch,
    )
