"""The options of one ``%%optuna`` cell, parsed and checked once into a frozen object.

The options are declared (``magic_arguments``) on the magic method itself, so ``%%optuna?``
documents them; :meth:`CellOptions.parse` reads that parser, fills what the line leaves out from
the ``%config OptunaMagics.*`` defaults, unquotes, and refuses a bad combination before anything
else happens. The rest of the code reads fields; nothing rewrites them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring

__all__ = ["DEFAULT_N_TRIALS", "CellOptions", "expand_line"]

DEFAULT_N_TRIALS = 50

# Options whose default comes from `%config OptunaMagics.<name>` when the line leaves them out.
_CONFIGURED = ("timeout", "sampler", "pruner", "seed", "storage", "n_jobs", "out")
# IPython's argument split keeps quotes: --study-name "my study" arrives quoted.
_QUOTED = ("sampler", "pruner", "storage", "study_name", "out", "mlflow", "dask")


@dataclass(frozen=True)
class CellOptions:
    """The checked options of a ``%%optuna`` line, the ``%config`` defaults applied.

    ``directions`` always holds at least one direction, in lower case; ``n_trials`` is None only
    when a ``timeout`` bounds the run.
    """

    directions: tuple[str, ...]
    n_trials: int | None
    timeout: float | None
    sampler: str | None
    pruner: str | None
    seed: int | None
    storage: str | None
    study_name: str | None
    metric_names: tuple[str, ...] | None
    resume: bool
    n_jobs: int
    out: str
    catch: bool
    background: bool
    quiet: bool
    dry_run: bool
    keep_best: bool
    until_stale: int | None
    mlflow: str | None
    workers: int | None
    dask: str | None

    @property
    def elsewhere(self) -> bool:
        """Whether the trials run in other processes (``--workers`` or ``--dask``)."""
        return self.workers is not None or self.dask is not None

    @classmethod
    def parse(cls, line: str, magic: Callable[..., Any], defaults: Any) -> CellOptions:
        """Parse ``line`` with the parser declared on ``magic``; ``defaults`` holds the
        configurable defaults (the ``OptunaMagics`` instance). Raises ``UsageError``.
        """
        from optuna_magic.study.factories import unquote

        try:
            args = parse_argstring(magic, line)
        except UsageError as e:
            raise UsageError(f"%%optuna: {e}") from None
        if args.directions and args.direction:
            raise UsageError("%%optuna: give --direction or --directions, not both")
        given = vars(args)
        for name in _CONFIGURED:
            if given[name] is None:
                given[name] = getattr(defaults, name)
        for name in _QUOTED:
            if isinstance(given[name], str):
                given[name] = unquote(given[name])
        directions = args.directions or [args.direction or defaults.direction]
        n_trials = defaults.n_trials if args.n_trials is None else args.n_trials
        if n_trials is None and given["timeout"] is None:
            n_trials = DEFAULT_N_TRIALS
        options = cls(
            directions=tuple(d.lower() for d in directions),
            n_trials=n_trials,
            timeout=given["timeout"],
            sampler=given["sampler"],
            pruner=given["pruner"],
            seed=given["seed"],
            storage=given["storage"],
            study_name=given["study_name"],
            metric_names=_names(args.metric_names),
            resume=bool(args.resume),
            n_jobs=given["n_jobs"],
            out=given["out"],
            catch=defaults.catch if args.catch is None else args.catch,
            background=bool(args.background),
            quiet=defaults.quiet if args.quiet is None else args.quiet,
            dry_run=bool(args.dry_run),
            keep_best=bool(args.keep_best),
            until_stale=args.until_stale,
            mlflow=given["mlflow"],
            workers=args.workers,
            dask=given["dask"],
        )
        options._check()
        return options

    def _check(self) -> None:
        if self.n_trials is not None and self.n_trials < 1:
            raise UsageError(f"%%optuna: -n must be at least 1, got {self.n_trials}")
        if self.timeout is not None and not 0 < self.timeout < math.inf:
            raise UsageError(
                f"%%optuna: --timeout must be a positive, finite number of seconds, "
                f"got {self.timeout}"
            )
        if self.n_jobs == 0 or self.n_jobs < -1:
            raise UsageError(f"%%optuna: --n-jobs must be >= 1 (or -1), got {self.n_jobs}")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"%%optuna: --workers must be at least 1, got {self.workers}")
        if self.workers is not None and self.dask is not None:
            raise UsageError("%%optuna: give --workers or --dask, not both")
        if self.elsewhere and (self.keep_best or self.n_jobs != 1):
            raise UsageError(
                "%%optuna: --keep-best and --n-jobs run in this process; they do not combine "
                "with --workers / --dask"
            )
        names = self.metric_names
        if names is not None and len(names) != len(self.directions):
            raise UsageError(
                f"%%optuna: --metric-names gives {len(names)} name(s) for "
                f"{len(self.directions)} direction(s); give one name per objective"
            )
        if names is not None and (len(set(names)) < len(names) or not all(names)):
            raise UsageError(f"%%optuna: --metric-names must be distinct, non-empty names: {names}")
        if self.until_stale is not None and self.until_stale < 1:
            raise UsageError(f"%%optuna: --until-stale must be at least 1, got {self.until_stale}")
        if self.until_stale is not None and len(self.directions) > 1:
            raise UsageError(
                "%%optuna: --until-stale needs a single objective (several objectives have no "
                "one best value to improve)"
            )
        if self.keep_best and len(self.directions) > 1:
            raise UsageError("%%optuna: --keep-best needs a single objective")
        # A dry run binds nothing, so its -o is not checked (as before the options object).
        if not self.dry_run and not self.out.isidentifier():
            raise UsageError(f"%%optuna: -o {self.out!r} is not a valid variable name")


def _names(given: list[str] | None) -> tuple[str, ...] | None:
    from optuna_magic.study.factories import unquote

    return None if given is None else tuple(unquote(n) for n in given)


def expand_line(shell: Any, line: str) -> str:
    """``$VAR`` and ``{VAR}`` in the magic line, as IPython's ``run_cell_magic`` expands them.

    In a kernel the cell runs as an awaited call (see :mod:`optuna_magic.magic.transformer`),
    which ``run_cell_magic`` and its ``var_expand`` never see. Such a cell is always top-level
    code, whose locals are the user's namespace, so expanding over that namespace is the same.
    """
    from IPython.utils.text import DollarFormatter

    try:
        return DollarFormatter().vformat(line, args=[], kwargs=shell.user_ns.copy())
    except Exception:
        return line  # as var_expand does: a line that does not format stays as written
