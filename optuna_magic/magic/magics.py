"""``%%optuna`` and ``%optuna``: the magics class; it wires cell -> study -> runner -> sinks.

The options are parsed once (:mod:`~optuna_magic.magic.options`), the study is decided in
:mod:`optuna_magic.study.open`, the line commands live in :mod:`~optuna_magic.magic.commands`,
the kernel's cell transformer in :mod:`~optuna_magic.magic.transformer`, and tracebacks in
:mod:`~optuna_magic.magic.tracebacks`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, CaselessStrEnum, Float, Int, Unicode

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.magic.options import CellOptions, expand_line
from optuna_magic.magic.start import (
    Plan,
    bind_runner,
    cell_objective,
    checked_parts,
    continued_sinks,
    plan_run_info,
    start_elsewhere,
)
from optuna_magic.magic.tracebacks import RunInterrupted, cell_number, with_cell_traceback
from optuna_magic.outputs.keep_best import KeepBest
from optuna_magic.outputs.optuna_logs import QuietOptunaLogs
from optuna_magic.run.stale import StaleStop
from optuna_magic.study.secrets import mask_text, masking, secrets_in

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from optuna_magic.cell.parse import ParsedCell
    from optuna_magic.run.handle import RunHandle
    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.remote.cluster import DaskPlan
    from optuna_magic.run.runner import Runner

__all__ = ["OptunaMagics", "RunInterrupted"]

# Kept importable under their old names (they moved to optuna_magic.outputs).
_KeepBest = KeepBest
_QuietOptunaLogs = QuietOptunaLogs


@magics_class
class OptunaMagics(Magics):
    """The ``%%optuna`` cell magic and the ``%optuna`` line magic.

    Defaults of the options are configurable, e.g. ``%config OptunaMagics.n_trials = 100``.
    """

    n_trials = Int(None, allow_none=True, help="Default for -n/--n-trials.").tag(config=True)
    timeout = Float(None, allow_none=True, help="Default for -t/--timeout (s).").tag(config=True)
    direction = CaselessStrEnum(
        ["minimize", "maximize"], "minimize", help="Default for --direction."
    ).tag(config=True)
    sampler = Unicode(None, allow_none=True, help="Default for --sampler.").tag(config=True)
    pruner = Unicode(None, allow_none=True, help="Default for --pruner.").tag(config=True)
    seed = Int(None, allow_none=True, help="Default for --seed.").tag(config=True)
    storage = Unicode(None, allow_none=True, help="Default for --storage.").tag(config=True)
    n_jobs = Int(1, help="Default for --n-jobs.").tag(config=True)
    out = Unicode("study", help="Default for -o/--out.").tag(config=True)
    catch = Bool(False, help="Default for --catch.").tag(config=True)
    quiet = Bool(False, help="Default for --quiet.").tag(config=True)
    widget = Bool(True, help="Show the live panel where a widget can render.").tag(config=True)
    heartbeat_interval = Int(
        10,
        help="Seconds between heartbeats of a running trial in an RDB storage (0: none); a "
        "trial silent for twice as long is stale and --resume fails it.",
    ).tag(config=True)
    poll_interval = Float(
        1.0, help="Seconds between reads of the storage for --workers, --dask and watch."
    ).tag(config=True)

    def __init__(self, shell: InteractiveShell) -> None:
        super().__init__(shell)
        self.background: list[RunHandle] = []
        self.last_cell: tuple[str, str] | None = None

    # ------------------------------------------------------------------ magic
    @magic_arguments()
    @argument(
        "-n",
        "--n-trials",
        type=int,
        default=None,
        help="Number of trials (default 50 unless --timeout).",
    )
    @argument("-t", "--timeout", type=float, default=None, help="Stop after this many seconds.")
    @argument(
        "--direction",
        choices=["minimize", "maximize"],
        default=None,
        help="Direction of a single objective (default minimize).",
    )
    @argument(
        "--directions",
        nargs="+",
        choices=["minimize", "maximize"],
        default=None,
        help="Directions of several objectives; the cell returns a tuple.",
    )
    @argument(
        "--sampler",
        default=None,
        help="tpe, random, cmaes, gp, qmc, nsga2, nsga3, grid, bruteforce; a call with "
        'literal keywords such as "tpe(n_startup_trials=5)"; or a variable name.',
    )
    @argument(
        "--pruner",
        default=None,
        help="median, percentile, hyperband, sha, wilcoxon, threshold, patient, none; a "
        'call such as "median(n_warmup_steps=2)"; or a variable name.',
    )
    @argument("--seed", type=int, default=None, help="Seed of the sampler.")
    @argument(
        "--storage",
        default=None,
        help="Optuna storage URL (sqlite:///study.db, postgresql://...) or a journal "
        "file (journal:study.log). Default: in memory.",
    )
    @argument(
        "--study-name",
        default=None,
        help="Name of the study. Default: the -o variable and the cell's number (study-3), "
        "unique in the storage.",
    )
    @argument(
        "--metric-names",
        nargs="+",
        default=None,
        help="Names of the objectives, one per direction (Optuna's set_metric_names). "
        "Default: the names in the cell's last expression, as in `(loss, accuracy)`.",
    )
    @argument(
        "--resume",
        action="store_true",
        help="Load the named study (or the study in -o without --storage) and add trials.",
    )
    @argument("--n-jobs", type=int, default=None, help="Trials run in parallel threads.")
    @argument("-o", "--out", default=None, help="Variable that receives the Study (study).")
    @argument(
        "--catch",
        action="store_true",
        default=None,
        help="Record a raising trial as failed and go on.",
    )
    @argument(
        "--background",
        action="store_true",
        help="Return at once; the run goes on (%%optuna wait / %%optuna stop).",
    )
    @argument("--quiet", action="store_true", default=None, help="No panel and no progress text.")
    @argument(
        "--dry-run",
        action="store_true",
        help="Print the search space (name, distribution, cell line) and run nothing.",
    )
    @argument(
        "--until-stale",
        type=int,
        default=None,
        metavar="K",
        help="End the run after K finished trials in a row without a better value.",
    )
    @argument(
        "--keep-best",
        action="store_true",
        help="Put the best trial's cell variables (e.g. the fitted model) in the namespace.",
    )
    @argument(
        "--mlflow",
        nargs="?",
        const="",
        default=None,
        metavar="URI",
        help="Log to MLflow: a parent run per study, a nested run per trial. URI: a tracking "
        "URI (default: MLflow's own, MLFLOW_TRACKING_URI or sqlite:///mlflow.db).",
    )
    @argument(
        "--workers",
        type=int,
        default=None,
        metavar="K",
        help="Run the trials in K processes on one storage (a temporary journal file "
        "without --storage).",
    )
    @argument(
        "--dask",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="Run the trials on a Dask cluster: the Client in the namespace, the scheduler "
        "at ADDRESS, or a local cluster.",
    )
    @line_cell_magic
    @masking
    def optuna(self, line: str, cell: str | None = None) -> Any:
        """Turn a cell into an Optuna objective and optimize it.

        Declare hyperparameters inline where they are used -- ``hp.int(low, high)``,
        ``hp.float(low, high, log=True)``, ``hp.choice([...])`` -- and end the cell with the
        objective value. ``report(value, step)`` reports an intermediate value (and prunes);
        ``constraint(value, name=...)`` sets an Optuna constraint (feasible when <= 0);
        ``trial`` is the live ``optuna.Trial``. After the run the ``optuna.Study`` is in
        ``study`` (see -o).

        As a line magic: ``%optuna wait`` / ``%optuna stop`` for a --background run;
        ``%optuna export [PATH] [--with-secrets]`` writes the last cell as a plain Optuna
        script; a storage password is read from the ``OPTUNA_STORAGE_PASSWORD`` environment
        variable there, unless ``--with-secrets`` writes it in the script.
        """
        if cell is None:
            from optuna_magic.magic.commands import line_command

            return line_command(self, line)
        plan = self._plan(line, cell)
        if plan is None:
            return None
        runner = self._start(plan)
        if runner is None or plan.options.background:
            return None
        runner.wait()
        return self._finish(plan, runner)

    @masking
    async def optuna_async(self, line: str, cell: str) -> None:
        """The cell magic for a kernel: awaits the run so the panel's messages keep flowing."""
        assert self.shell is not None
        plan = self._plan(expand_line(self.shell, line), cell)
        if plan is None:
            return
        runner = self._start(plan, awaited=True)
        if runner is None or plan.options.background:
            return
        await runner.wait_async()
        self._finish(plan, runner)

    # ------------------------------------------------------------------ plan
    def _plan(self, line: str, cell: str) -> Plan | None:
        from optuna_magic.cell.parse import parse_cell

        options = CellOptions.parse(line, self.optuna, self)
        shell = self.shell
        assert shell is not None
        code = shell.transform_cell(cell)
        # Masked: the cached source is what tracebacks and workers' error reports show.
        magic_line = f"%%optuna {mask_text(line, secrets_in(line))}".rstrip()
        # The first line is commented out so that the cached source parses as Python: tools
        # that read it back (stack_data in IPython tracebacks) need valid code to show lines.
        filename = shell.compile.cache("# " + magic_line + "\n" + code, cell_number(shell))
        parsed = parse_cell(
            code, filename, line_offset=1, namespace=shell.user_ns, magic_line=magic_line
        )
        _check_value(parsed, len(options.directions))
        self.last_cell = (line, cell)
        if options.dry_run:
            print(parsed.space.table())
            return None
        return Plan(options, parsed, filename)

    # ------------------------------------------------------------------ start
    def _start(self, plan: Plan, *, awaited: bool = False) -> Runner | PolledRun | None:
        from optuna_magic.study.open import open_study
        from optuna_magic.wiring import start_run

        shell = self.shell
        assert shell is not None
        args, ns = plan.options, shell.user_ns
        sampler, pruner, extra_sinks = checked_parts(args, ns, plan.cell.space.params)
        dask = self._prepare_dask(args)
        make_study = open_study(
            args,
            plan.cell,
            sampler,
            pruner,
            ns,
            heartbeat_interval=self.heartbeat_interval or None,
            storage=dask.storage if dask is not None else None,
            default_name=f"{args.out}-{cell_number(shell)}",
        )
        objective, runner_ref = cell_objective(plan, ns, sampler, pruner)
        # Last: every check has passed, so the study is made (or loaded) only for a real run.
        study, storage_url = make_study()
        info = plan_run_info(study, storage_url, args, plan)
        if args.keep_best:
            extra_sinks.append(KeepBest(objective, plan.directions[0]))
        if args.until_stale is not None:
            extra_sinks.append(StaleStop(args.until_stale, plan.directions[0], quiet=args.quiet))
        catch: tuple[type[Exception], ...] = (Exception,) if args.catch else ()
        ns[plan.out] = study  # bound first, so an interrupted or background run is inspectable

        # Given the sinks and the thread setup by start_run, for --workers / --dask.
        elsewhere = functools.partial(
            start_elsewhere,
            *(plan, study, storage_url, dask, objective, info),
            catch=catch,
            heartbeat_interval=self.heartbeat_interval or None,
            poll_interval=self.poll_interval,
        )
        # The same wiring as optuna_magic.optimize: output routing, quiet logs, progress.
        runner: Runner | PolledRun = start_run(  # type: ignore[assignment]
            study,
            objective,
            info,
            n_trials=args.n_trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            catch=catch,
            sinks=extra_sinks,
            progress=not args.quiet,
            widget=self.widget,
            background=args.background,
            before_start=functools.partial(bind_runner, runner_ref),
            elsewhere=elsewhere if args.elsewhere else None,
            awaited=awaited,
            more_sinks=continued_sinks(extra_sinks, objective, plan.out, ns),
        )
        if args.background:
            self.background = [r for r in self.background if r.running] + [runner]
            if not args.quiet:
                print(
                    f"Running in the background into `{plan.out}`; `%optuna wait` or "
                    f"`%optuna stop` to end it."
                )
        return runner

    def _prepare_dask(self, options: CellOptions) -> DaskPlan | None:
        """``--dask``: the cluster and the storage (None without --dask)."""
        if options.dask is None:
            return None
        from optuna_magic.run.remote.cluster import prepare_dask

        assert self.shell is not None
        dask = prepare_dask(
            options.dask or None,
            self.shell.user_ns,
            options.storage,
            heartbeat_interval=self.heartbeat_interval or None,
        )
        if not options.quiet:
            print(dask.where)
        return dask

    def _finish(self, plan: Plan, runner: Runner | PolledRun) -> None:
        result = runner.result
        assert result is not None
        if plan.options.keep_best:
            self._bind_best(plan, runner)
        if result.state == "interrupted":
            done = sum(1 for t in result.study.get_trials(deepcopy=False) if t.state.is_finished())
            raise RunInterrupted(f"the run stopped; {done} finished trial(s) kept in `{plan.out}`")
        if result.state == "failed" and result.exception is not None:
            raise with_cell_traceback(result.exception, plan.filename, self.shell)
        return None

    def _bind_best(self, plan: Plan, runner: Runner | PolledRun) -> None:
        from optuna_magic.outputs.keep_best import kept_variables

        kept = getattr(runner._objective, "trial_locals", {})
        variables, note = kept_variables(runner.study, kept, plan.out)
        if note is not None:
            print(note)
        if self.shell is not None:
            self.shell.user_ns.update(variables)


def _check_value(parsed: ParsedCell, n_directions: int) -> None:
    """The cell's value against the number of directions (a tuple for several objectives)."""
    if parsed.value_arity is not None and parsed.value_arity != n_directions:
        raise OptunaMagicError(
            f"the cell's last expression is a tuple of {parsed.value_arity} values but "
            f"{n_directions} direction(s) were given; use --directions with "
            f"{parsed.value_arity} directions",
            parsed.value_line,
            parsed.line_source(parsed.value_line),
        )
    if parsed.uses_report and n_directions > 1:
        raise OptunaMagicError(
            "report() works with a single objective only (Optuna cannot prune "
            "multi-objective trials)"
        )
