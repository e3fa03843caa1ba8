"""Which study a run goes into: a new one, a stored one to resume, or the one in memory.

:func:`open_study` checks everything first and writes nothing: it returns what creates (or
loads) the study, which the caller calls last, once the objective is built and shipped, so a
refused run leaves no empty study and no FAIL trial behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from optuna_magic.cell.space import OptunaMagicError

if TYPE_CHECKING:
    from optuna import Study
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

    from optuna_magic.cell.parsed import ParsedCell

__all__ = ["OpenedStudy", "StudyRequest", "open_study", "temporary_journal"]


class StudyRequest(Protocol):
    """The options that decide the study (``magic.options.CellOptions`` is one)."""

    @property
    def directions(self) -> Sequence[str]: ...
    @property
    def storage(self) -> str | None: ...
    @property
    def study_name(self) -> str | None: ...
    @property
    def metric_names(self) -> Sequence[str] | None: ...
    @property
    def resume(self) -> bool: ...
    @property
    def out(self) -> str: ...
    @property
    def quiet(self) -> bool: ...
    @property
    def workers(self) -> int | None: ...


class OpenedStudy(NamedTuple):
    """The study of a run, and the storage URL its trials use.

    ``storage`` is the request's ``--storage``, or the temporary journal file of ``--workers``
    without one (None: in memory, or a storage that travels itself).
    """

    study: Study
    storage: str | None


def open_study(
    request: StudyRequest,
    cell: ParsedCell,
    sampler: BaseSampler | None,
    pruner: BasePruner | None,
    user_ns: Mapping[str, Any],
    *,
    heartbeat_interval: int | None = None,
    storage: Any = None,
    default_name: str | None = None,
) -> Callable[[], OpenedStudy]:
    """Check the study ``request`` asks for; return what creates (or loads) it.

    Args:
        request: the options.
        cell: the parsed cell, whose declarations a resumed study must accept.
        sampler, pruner: given to the study (None: Optuna's defaults, or the stored study's).
        user_ns: the namespace whose ``request.out`` holds the study of an in-memory resume.
        heartbeat_interval: for an RDB storage (None: no heartbeat).
        storage: an opened storage to use instead of ``request.storage`` (``--dask``'s).
        default_name: the new study's name without ``--study-name`` (made unique in the
            storage by a ``-2``, ``-3``... suffix); None: Optuna's ``no-name-<uuid>``.

    Raises:
        OptunaMagicError: the study cannot be made or resumed as asked; nothing was written.
    """
    with _optuna_logs_at_warning():
        make = _decide(
            request, cell, sampler, pruner, user_ns, heartbeat_interval, storage, default_name
        )
        named = _named(make, request, cell)

    def make_study() -> OpenedStudy:
        with _optuna_logs_at_warning():
            return named()

    return make_study


def _decide(
    request: StudyRequest,
    cell: ParsedCell,
    sampler: BaseSampler | None,
    pruner: BasePruner | None,
    user_ns: Mapping[str, Any],
    heartbeat_interval: int | None,
    storage: Any,
    default_name: str | None,
) -> Callable[[], OpenedStudy]:
    from optuna_magic.study.storage import open_storage

    url = request.storage
    if storage is None and request.workers is not None and url is None:
        if request.resume:
            raise OptunaMagicError(
                "%%optuna --workers --resume needs the --storage and --study-name of a "
                "stored study (a study in memory cannot be shared with worker processes)"
            )

        def new_in_temporary_journal() -> OpenedStudy:
            temporary, journal = _temporary_storage(request.quiet, heartbeat_interval)
            study = _new_study(request, temporary, sampler, pruner, default_name)
            return OpenedStudy(study, journal)

        return new_in_temporary_journal
    if storage is None and url is not None:
        storage = open_storage(url, heartbeat_interval=heartbeat_interval)
    if request.resume and storage is None:
        bound = _study_in_memory(request, cell, user_ns)
        return lambda: OpenedStudy(_with_sampler_and_pruner(bound, sampler, pruner), url)
    if storage is not None and request.study_name:
        stored = _stored_study(request, cell, storage, sampler, pruner)
        if stored is not None:
            return lambda: OpenedStudy(_without_orphans(stored, request.quiet), url)
    elif request.resume:
        raise OptunaMagicError("%%optuna --resume needs --study-name with --storage")
    return lambda: OpenedStudy(_new_study(request, storage, sampler, pruner, default_name), url)


def _study_in_memory(request: StudyRequest, cell: ParsedCell, user_ns: Mapping[str, Any]) -> Study:
    """``--resume`` without a storage: the study the namespace holds in ``request.out``."""
    import optuna

    from optuna_magic.study.resume import check_stored_space

    study = user_ns.get(request.out)
    if not isinstance(study, optuna.Study):
        raise OptunaMagicError(
            f"%%optuna --resume: `{request.out}` holds no study to continue; "
            f"give --storage and --study-name of a stored study"
        )
    _check_directions(study, request.directions)
    _check_metric_names(study, request.metric_names)
    check_stored_space(study, cell)
    return study


def _stored_study(
    request: StudyRequest,
    cell: ParsedCell,
    storage: Any,
    sampler: BaseSampler | None,
    pruner: BasePruner | None,
) -> Study | None:
    """The stored study named ``request.study_name`` to resume, or None for a new one."""
    import optuna

    from optuna_magic.study.resume import check_stored_space
    from optuna_magic.study.secrets import mask_url

    where = mask_url(request.storage)
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    exists = request.study_name in names
    if exists and not request.resume:
        raise OptunaMagicError(
            f"%%optuna: study {request.study_name!r} already exists in {where}; add "
            f"--resume to add trials to it, or choose another --study-name "
            f"(nothing stored was changed)"
        )
    if not exists and request.resume:
        raise OptunaMagicError(
            f"%%optuna --resume: no study named {request.study_name!r} in {where} "
            f"(studies there: {', '.join(sorted(names)) or 'none'})"
        )
    if not exists:
        return None
    study = optuna.load_study(
        study_name=request.study_name, storage=storage, sampler=sampler, pruner=pruner
    )
    _check_directions(study, request.directions)
    _check_metric_names(study, request.metric_names)
    check_stored_space(study, cell)
    return study


def temporary_journal() -> str:
    """A journal file in a new temporary folder (kept after the run: the study lives there)."""
    folder = tempfile.mkdtemp(prefix="optuna-magic-")
    return "journal:" + os.path.join(folder, "study.log")


def _temporary_storage(quiet: bool, heartbeat_interval: int | None) -> tuple[Any, str]:
    """``--workers`` without ``--storage``: a journal file in a new temporary folder."""
    from optuna_magic.study.storage import open_storage

    url = temporary_journal()
    if not quiet:
        print(
            "--workers without --storage: trials go to the journal file "
            + url.removeprefix("journal:")
        )
    return open_storage(url, heartbeat_interval=heartbeat_interval), url


def _new_study(
    request: StudyRequest,
    storage: Any,
    sampler: BaseSampler | None,
    pruner: BasePruner | None,
    default_name: str | None,
) -> Study:
    import optuna

    kwargs: dict[str, Any] = {
        "storage": storage,
        "sampler": sampler,
        "pruner": pruner,
        "study_name": request.study_name,
    }
    if request.study_name is None and default_name is not None:
        kwargs["study_name"] = _unique_name(default_name, storage)
    directions = list(request.directions)
    if len(directions) == 1:
        kwargs["direction"] = directions[0]
    else:
        kwargs["directions"] = directions
    return optuna.create_study(**kwargs)


def _with_sampler_and_pruner(
    study: Study, sampler: BaseSampler | None, pruner: BasePruner | None
) -> Study:
    """The in-memory study of ``--resume``, with the cell's sampler and pruner if it gives any."""
    if sampler is not None:
        study.sampler = sampler
    if pruner is not None:
        study.pruner = pruner
    return study


def _without_orphans(study: Study, quiet: bool) -> Study:
    """A stored study to resume, its trials left RUNNING by a process that ended marked FAIL."""
    from optuna_magic.study.liveness import fail_orphaned_trials

    failed = fail_orphaned_trials(study)
    if failed and not quiet:
        print(
            f"{len(failed)} trial(s) left RUNNING by a process that ended marked "
            f"FAIL: #{', #'.join(map(str, failed))}"
        )
    return study


def _named(
    make: Callable[[], OpenedStudy], request: StudyRequest, cell: ParsedCell
) -> Callable[[], OpenedStudy]:
    """``make``, with ``--metric-names`` set on the study it makes (Optuna's
    ``set_metric_names``; a resumed study only when it has none yet).

    Names read from the cell's last expression are not stored: they would rename
    ``trials_dataframe()``'s ``value`` column under the user's code. The outputs show them
    (``magic.start.plan_run_info``).
    """
    import optuna

    def make_named() -> OpenedStudy:
        opened = make()
        study = opened.study
        names = request.metric_names
        if names and not study.metric_names and len(names) == len(study.directions):
            with warnings.catch_warnings():  # set_metric_names is experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(list(names))
        return opened

    return make_named


def _unique_name(base: str, storage: Any) -> str:
    import optuna

    if storage is None:
        return base
    taken = set(optuna.get_all_study_names(storage))
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}-{k}"
    return name


def _check_metric_names(study: Study, names: Sequence[str] | None) -> None:
    if names is not None and study.metric_names and list(study.metric_names) != list(names):
        raise OptunaMagicError(
            f"%%optuna --resume: study {study.study_name!r} names its objectives "
            f"{', '.join(study.metric_names)}, but --metric-names gives {', '.join(names)}"
        )


def _check_directions(study: Study, directions: Sequence[str]) -> None:
    have = [d.name.lower() for d in study.directions]
    if have != list(directions):
        raise OptunaMagicError(
            f"%%optuna --resume: study {study.study_name!r} has direction(s) "
            f"{' '.join(have)}, but the cell asks for {' '.join(directions)}"
        )


@contextlib.contextmanager
def _optuna_logs_at_warning() -> Iterator[None]:
    """No "A new study created" INFO line above the progress (Optuna's own level restored)."""
    import optuna

    saved = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(min(max(saved, optuna.logging.WARNING), optuna.logging.ERROR))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(saved)
