"""``%%optuna`` and ``%optuna``: parse options, build the study, wire cell -> runner -> sinks."""

from __future__ import annotations

import contextlib
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, CaselessStrEnum, Float, Int, Unicode

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.run.sink import BaseSink
from optuna_magic.study.secrets import hide_line, mask_text, masking, reveal_line, secrets_in

if TYPE_CHECKING:
    import optuna
    from IPython.core.interactiveshell import InteractiveShell
    from optuna import Study
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler
    from optuna.trial import FrozenTrial

    from optuna_magic.cell.parse import ParsedCell
    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.runner import Runner, RunResult, TrialError, TrialEvent

__all__ = ["OptunaMagics", "RunInterrupted", "register", "unregister"]

_DEFAULT_N_TRIALS = 50


class RunInterrupted(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C / kernel interrupt); every finished trial is kept."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[33mInterrupted\x1b[0m: {self}"]


@dataclass
class _Plan:
    """Everything decided before the first trial."""

    args: Any
    cell: ParsedCell
    filename: str
    directions: list[str]
    out: str
    dask: Any = None  # the _dask.DaskPlan of --dask


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
        self.background: list[Runner | PolledRun] = []
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
    @argument("--study-name", default=None, help="Name of the study.")
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
        ``trial`` is the live ``optuna.Trial``. After the run the ``optuna.Study`` is in
        ``study`` (see -o).

        As a line magic: ``%optuna wait`` / ``%optuna stop`` for a --background run;
        ``%optuna export [PATH] [--with-secrets]`` writes the last cell as a plain Optuna
        script; a storage password is read from the ``OPTUNA_STORAGE_PASSWORD`` environment
        variable there, unless ``--with-secrets`` writes it in the script.
        """
        if cell is None:
            return self._line_command(line)
        plan = self._plan(line, cell)
        if plan is None:
            return None
        runner = self._start(plan)
        if runner is None or plan.args.background:
            return None
        runner.wait()
        return self._finish(plan, runner)

    @masking
    async def optuna_async(self, line: str, cell: str) -> None:
        """The cell magic for a kernel: awaits the run so the panel's messages keep flowing."""
        assert self.shell is not None
        plan = self._plan(_expand_line(self.shell, line), cell)
        if plan is None:
            return
        runner = self._start(plan)
        if runner is None or plan.args.background:
            return
        await runner.wait_async()
        self._finish(plan, runner)

    # ---------------------------------------------------------- line commands
    def _line_command(self, line: str) -> Any:
        words = _words(line)
        cmd = words[0] if words else ""
        if cmd == "wait":
            for r in list(self.background):
                r.wait()
            return self._report_background()
        if cmd == "stop":
            for r in list(self.background):
                r.request_stop()
            for r in list(self.background):
                r.wait()
            return self._report_background()
        if cmd == "export":
            flags = {"--with-secrets"}
            paths = [w for w in words[1:] if w not in flags]
            if len(paths) > 1 or any(w.startswith("--") for w in paths):
                raise UsageError("%optuna export [PATH] [--with-secrets]")
            return self._export(paths[0] if paths else None, "--with-secrets" in words)
        if cmd == "watch":
            return self._watch(words[1:])
        raise UsageError(
            f"%optuna {cmd!r} is not a command; use `%optuna wait` or `%optuna stop` for a "
            f"--background run, `%optuna export [PATH] [--with-secrets]`, or `%%optuna` as a "
            f"cell magic "
            f"(see %%optuna?)"
        )

    def _watch(self, words: list[str]) -> None:
        """``%optuna watch``: a live panel on a stored study; it runs in the background."""
        import argparse

        from optuna_magic.run.polled import start_watch
        from optuna_magic.study.factories import unquote

        parser = argparse.ArgumentParser(prog="%optuna watch", add_help=False, exit_on_error=False)
        parser.add_argument("--storage", required=True)
        parser.add_argument("--study-name", required=True)
        parser.add_argument("--idle", type=float, default=600.0)
        parser.add_argument("--interval", type=float, default=None)
        try:
            args = parser.parse_args(words)
        except (argparse.ArgumentError, SystemExit) as e:
            raise UsageError(
                f"%optuna watch --storage URL --study-name NAME [--idle S] [--interval S]: {e}"
            ) from None
        run = start_watch(
            unquote(args.storage),
            unquote(args.study_name),
            [self._progress_sink()],
            interval=args.interval or self.poll_interval,
            idle_timeout=args.idle or None,
            thread_setup=_adopt_this_cell(),
        )
        self.background = [r for r in self.background if r.running] + [run]
        if self.shell is not None and not hasattr(self.shell, "kernel"):
            run.wait()  # a terminal has no live panel: follow it until idle or Ctrl-C

    def _export(self, path: str | None, with_secrets: bool = False) -> None:
        from optuna_magic.cell.export import export_script

        if self.last_cell is None:
            raise UsageError("%optuna export: no %%optuna cell has run in this session yet")
        line, cell = self.last_cell
        args = parse_argstring(self.optuna, line)
        self._apply_defaults(args)
        assert self.shell is not None
        script = export_script(
            args, self.shell.transform_cell(cell), self.shell.user_ns, with_secrets=with_secrets
        )
        if path is None:
            print(script)
            return
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(script)
        except OSError as e:
            raise UsageError(f"%optuna export: cannot write {path}: {e.strerror}") from None
        print(f"Wrote {path}: run it with `python {path}`.")

    def _report_background(self) -> None:
        from optuna_magic.outputs.text import format_summary

        if not self.background:
            print("No background run.")
        for r in self.background:
            if r.result is not None:
                print(format_summary(r.result))
        self.background = [r for r in self.background if r.running]

    # ------------------------------------------------------------------ plan
    def _plan(self, line: str, cell: str) -> _Plan | None:
        from optuna_magic.cell.parse import parse_cell

        try:
            args = parse_argstring(self.optuna, line)
        except UsageError as e:
            raise UsageError(f"%%optuna: {e}") from None
        if args.directions and args.direction:
            raise UsageError("%%optuna: give --direction or --directions, not both")
        self._apply_defaults(args)
        shell = self.shell
        assert shell is not None
        code = shell.transform_cell(cell)
        # Masked: the cached source is what tracebacks and workers' error reports show.
        magic_line = f"%%optuna {mask_text(line, secrets_in(line))}".rstrip()
        # The first line is commented out so that the cached source parses as Python: tools
        # that read it back (stack_data in IPython tracebacks) need valid code to show lines.
        filename = shell.compile.cache("# " + magic_line + "\n" + code, _cell_number(shell))
        parsed = parse_cell(
            code, filename, line_offset=1, namespace=shell.user_ns, magic_line=magic_line
        )
        directions = list(args.directions or [args.direction])
        if parsed.value_arity is not None and parsed.value_arity != len(directions):
            raise OptunaMagicError(
                f"the cell's last expression is a tuple of {parsed.value_arity} values but "
                f"{len(directions)} direction(s) were given; use --directions with "
                f"{parsed.value_arity} directions",
                parsed.value_line,
                parsed.line_source(parsed.value_line),
            )
        if parsed.uses_report and len(directions) > 1:
            raise OptunaMagicError(
                "report() works with a single objective only (Optuna cannot prune "
                "multi-objective trials)"
            )
        if args.keep_best and len(directions) > 1:
            raise UsageError("%%optuna: --keep-best needs a single objective")
        self.last_cell = (line, cell)
        if args.dry_run:
            print(parsed.space.table())
            return None
        if not args.out.isidentifier():
            raise UsageError(f"%%optuna: -o {args.out!r} is not a valid variable name")
        return _Plan(args, parsed, filename, [d.lower() for d in directions], args.out)

    def _apply_defaults(self, args: Any) -> None:
        import math

        from optuna_magic.study.factories import unquote

        for opt in ("timeout", "sampler", "pruner", "seed", "storage", "n_jobs", "out"):
            if getattr(args, opt) is None:
                setattr(args, opt, getattr(self, opt))
        # IPython's argument split keeps quotes: --study-name "my study" arrives quoted.
        for opt in ("sampler", "pruner", "storage", "study_name", "out", "mlflow", "dask"):
            if isinstance(getattr(args, opt, None), str):
                setattr(args, opt, unquote(getattr(args, opt)))
        if args.direction is None and not args.directions:
            args.direction = self.direction
        if args.n_trials is None:
            args.n_trials = self.n_trials
        if args.n_trials is None and args.timeout is None:
            args.n_trials = _DEFAULT_N_TRIALS
        if args.n_trials is not None and args.n_trials < 1:
            raise UsageError(f"%%optuna: -n must be at least 1, got {args.n_trials}")
        if args.timeout is not None and not 0 < args.timeout < math.inf:
            raise UsageError(
                f"%%optuna: --timeout must be a positive, finite number of seconds, "
                f"got {args.timeout}"
            )
        if args.n_jobs == 0 or args.n_jobs < -1:
            raise UsageError(f"%%optuna: --n-jobs must be >= 1 (or -1), got {args.n_jobs}")
        if args.workers is not None and args.workers < 1:
            raise UsageError(f"%%optuna: --workers must be at least 1, got {args.workers}")
        if args.workers is not None and args.dask is not None:
            raise UsageError("%%optuna: give --workers or --dask, not both")
        if (args.workers is not None or args.dask is not None) and (
            args.keep_best or args.n_jobs != 1
        ):
            raise UsageError(
                "%%optuna: --keep-best and --n-jobs run in this process; they do not combine "
                "with --workers / --dask"
            )
        args.catch = self.catch if args.catch is None else args.catch
        args.quiet = self.quiet if args.quiet is None else args.quiet

    # ------------------------------------------------------------------ start
    def _start(self, plan: _Plan) -> Runner | PolledRun | None:
        import time

        from optuna_magic.cell.objective import build_objective
        from optuna_magic.run.runner import RunInfo, Runner, objective_names
        from optuna_magic.study.factories import make_pruner, make_sampler, mask_url

        shell = self.shell
        assert shell is not None
        args, ns = plan.args, shell.user_ns
        space = plan.cell.space.params
        sampler = make_sampler(args.sampler, args.seed, ns, space)
        pruner = make_pruner(args.pruner, ns)
        extra_sinks: list[Any] = []
        if args.mlflow is not None:
            # Checked before the study exists: an unreachable server must change nothing stored.
            from optuna_magic.outputs.mlflow import MlflowSink

            try:
                extra_sinks.append(MlflowSink.create(args.mlflow or None, None))
            except ValueError as e:
                raise UsageError(f"%%optuna: {e}") from None
        with _optuna_logs_at_warning():
            make_study = self._study(plan, sampler, pruner)
        # The objective reaches its runner through a weak reference: a runner -> objective ->
        # runner cycle would keep a finished run's study alive until a full garbage collection
        # (~0.1 s in a kernel) instead of freeing it when `study` is rebound.
        runner_ref: list[weakref.ref[Runner]] = []

        def report(trial: Any, value: float, step: int) -> None:
            runner = runner_ref[0]()
            assert runner is not None  # trials run only while their runner does
            runner.report(trial, value, step)

        objective = build_objective(
            plan.cell, plan.filename, ns, report, len(plan.directions), keep_locals=args.keep_best
        )
        if args.workers is not None or args.dask is not None:
            from optuna_magic.run.remote.workers import PreShipped

            objective = PreShipped.check(objective, len(plan.directions), sampler, pruner)
        # Last: every check has passed, so the study is made (or loaded) only for a real run.
        with _optuna_logs_at_warning():
            study = make_study()
        existing = study.get_trials(deepcopy=False)
        info = RunInfo(
            study_name=study.study_name,
            directions=[d.name.lower() for d in study.directions],
            sampler=_describe(study.sampler, args.seed),
            pruner=_describe(study.pruner, None),
            storage=mask_url(args.storage),
            n_trials=args.n_trials,
            timeout=args.timeout,
            space=space,
            objective_names=objective_names(len(study.directions)),
            started_at=time.time(),
            existing_trials=list(existing),
            n_jobs=args.n_jobs,
        )
        # First among the sinks: the streams it routes are in place before any other sink
        # prints, and its last lines are out before theirs.
        output = _cell_output(args.background, args.n_jobs if args.workers is None else 1)
        sinks: list[Any] = [*([output] if output else []), _QuietOptunaLogs(), *extra_sinks]
        if args.keep_best:
            sinks.append(_KeepBest(objective, plan.directions[0]))
        if not args.quiet:
            progress = self._progress_sink()
            if output is not None and not args.background:
                _keep_kernel_busy(progress, output.parent)
            sinks.append(progress)
        catch: tuple[type[Exception], ...] = (Exception,) if args.catch else ()
        ns[plan.out] = study  # bound first, so an interrupted or background run is inspectable
        if args.workers is not None or args.dask is not None:
            runner: Runner | PolledRun = self._start_elsewhere(
                plan, study, objective, info, sinks, catch, output.adopt_thread if output else None
            )
        else:
            runner = Runner(
                study,
                objective,
                info,
                sinks,
                n_trials=args.n_trials,
                timeout=args.timeout,
                n_jobs=args.n_jobs,
                catch=catch,
                thread_setup=output.adopt_thread if output else None,
            )
            runner_ref.append(weakref.ref(runner))
            runner.start()
        if args.background:
            self.background = [r for r in self.background if r.running] + [runner]
            if not args.quiet:
                print(
                    f"Running in the background into `{plan.out}`; `%optuna wait` or "
                    f"`%optuna stop` to end it."
                )
        return runner

    def _start_elsewhere(
        self,
        plan: _Plan,
        study: Study,
        objective: Any,
        info: Any,
        sinks: list[Any],
        catch: tuple[type[Exception], ...],
        thread_setup: Any = None,
    ) -> PolledRun:
        """``--workers`` / ``--dask``: trials run in other processes; a poller feeds the sinks.

        Returns a ``_poller.PolledRun``, which has the Runner's surface.
        """
        args = plan.args
        hb = self.heartbeat_interval or None
        interval = min(self.poll_interval, 0.5)
        if args.workers is not None:
            from optuna_magic.run.remote.workers import start_worker_run

            return start_worker_run(
                study,
                args.storage,
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

        return start_dask_run(
            plan.dask,
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

    def _study(
        self,
        plan: _Plan,
        sampler: BaseSampler | None,
        pruner: BasePruner | None,
    ) -> Callable[[], Study]:
        """Check the study the cell asks for; return what creates (or loads) it.

        Nothing is written here: the caller builds and ships the objective first and calls the
        result last, so a cell refused on the way leaves no empty study and no FAIL trial.
        """
        import optuna

        from optuna_magic.study.factories import make_storage, mask_url
        from optuna_magic.study.resume import check_stored_space

        args = plan.args
        if args.dask is not None:
            from optuna_magic.run.remote.dask import prepare_dask

            plan.dask = prepare_dask(
                args.dask or None,
                self.shell.user_ns if self.shell else {},
                args.storage,
                heartbeat_interval=self.heartbeat_interval or None,
            )
            storage = plan.dask.storage
            if not args.quiet:
                print(plan.dask.where)
        elif args.workers is not None and args.storage is None:
            if args.resume:
                raise UsageError(
                    "%%optuna --workers --resume needs the --storage and --study-name of a "
                    "stored study (a study in memory cannot be shared with worker processes)"
                )
            return lambda: self._new_study(plan, self._temporary_storage(args), sampler, pruner)
        else:
            storage = make_storage(args.storage, self.heartbeat_interval or None)
        where = mask_url(args.storage)
        if args.resume and storage is None:
            study = self.shell.user_ns.get(plan.out) if self.shell else None
            if not isinstance(study, optuna.Study):
                raise UsageError(
                    f"%%optuna --resume: `{plan.out}` holds no study to continue; "
                    f"give --storage and --study-name of a stored study"
                )
            bound: Study = study
            _check_directions(bound, plan.directions)
            check_stored_space(bound, plan.cell)
            return lambda: _with_sampler_and_pruner(bound, sampler, pruner)
        if storage is not None and args.study_name:
            names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
            exists = args.study_name in names
            if exists and not args.resume:
                raise UsageError(
                    f"%%optuna: study {args.study_name!r} already exists in {where}; add "
                    f"--resume to add trials to it, or choose another --study-name "
                    f"(nothing stored was changed)"
                )
            if not exists and args.resume:
                raise UsageError(
                    f"%%optuna --resume: no study named {args.study_name!r} in {where} "
                    f"(studies there: {', '.join(sorted(names)) or 'none'})"
                )
            if exists:
                study = optuna.load_study(
                    study_name=args.study_name, storage=storage, sampler=sampler, pruner=pruner
                )
                _check_directions(study, plan.directions)
                check_stored_space(study, plan.cell)
                return lambda: _without_orphans(study, args.quiet)
        elif args.resume:
            raise UsageError("%%optuna --resume needs --study-name with --storage")
        return lambda: self._new_study(plan, storage, sampler, pruner)

    def _temporary_storage(self, args: Any) -> Any:
        """``--workers`` without ``--storage``: a journal file in a new temporary folder."""
        from optuna_magic.run.remote.workers import temporary_journal
        from optuna_magic.study.factories import make_storage

        args.storage = temporary_journal()
        if not args.quiet:
            print(
                "--workers without --storage: trials go to the journal file "
                + args.storage.removeprefix("journal:")
            )
        return make_storage(args.storage, self.heartbeat_interval or None)

    @staticmethod
    def _new_study(
        plan: _Plan, storage: Any, sampler: BaseSampler | None, pruner: BasePruner | None
    ) -> Study:
        import optuna

        kwargs: dict[str, Any] = {
            "storage": storage,
            "sampler": sampler,
            "pruner": pruner,
            "study_name": plan.args.study_name,
        }
        if len(plan.directions) == 1:
            kwargs["direction"] = plan.directions[0]
        else:
            kwargs["directions"] = plan.directions
        return optuna.create_study(**kwargs)

    def _progress_sink(self) -> Any:
        from optuna_magic.outputs.text import TextProgress

        shell = self.shell
        if shell is not None and hasattr(shell, "kernel"):
            if self.widget:
                panel = _try_panel()
                if panel is not None:
                    return panel
            from IPython.display import display

            handle = display({"text/plain": "optuna: starting"}, raw=True, display_id=True)
            return TextProgress(update=lambda text: handle.update({"text/plain": text}, raw=True))
        return TextProgress()

    # ---------------------------------------------------------------- finish
    def _finish(self, plan: _Plan, runner: Runner | PolledRun) -> None:
        result = runner.result
        assert result is not None
        if plan.args.keep_best:
            self._bind_best(plan, runner)
        if result.state == "interrupted":
            done = sum(1 for t in result.study.get_trials(deepcopy=False) if t.state.is_finished())
            raise RunInterrupted(f"the run stopped; {done} finished trial(s) kept in `{plan.out}`")
        if result.state == "failed" and result.exception is not None:
            raise _with_cell_traceback(result.exception, plan.filename, self.shell)
        return None

    def _bind_best(self, plan: _Plan, runner: Runner | PolledRun) -> None:
        from optuna_magic.outputs.keep_best import kept_variables

        kept = getattr(runner._objective, "trial_locals", {})
        variables, note = kept_variables(runner.study, kept, plan.out)
        if note is not None:
            print(note)
        if self.shell is not None:
            self.shell.user_ns.update(variables)


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


class _QuietOptunaLogs(BaseSink):
    """Keeps Optuna's per-trial log lines from printing over the progress line during a run."""

    _lock = threading.Lock()
    _active = 0
    _saved: int | None = None

    def run_started(self, info: Any, control: Any) -> None:
        import optuna

        with _QuietOptunaLogs._lock:
            if _QuietOptunaLogs._active == 0:
                _QuietOptunaLogs._saved = optuna.logging.get_verbosity()
                optuna.logging.set_verbosity(optuna.logging.ERROR)
            _QuietOptunaLogs._active += 1

    def run_ended(self, result: RunResult) -> None:
        import optuna

        with _QuietOptunaLogs._lock:
            _QuietOptunaLogs._active -= 1
            if _QuietOptunaLogs._active == 0 and _QuietOptunaLogs._saved is not None:
                optuna.logging.set_verbosity(_QuietOptunaLogs._saved)


class _KeepBest(BaseSink):
    """Drops the variables of every trial but the best so far (``--keep-best``)."""

    def __init__(self, objective: Any, direction: str) -> None:
        self._objective = objective
        self._sign = 1.0 if direction == "minimize" else -1.0
        self._best: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def trial_finished(self, trial: FrozenTrial | TrialEvent, error: TrialError | None) -> None:
        kept = self._objective.trial_locals
        with self._lock:
            if trial.state.name == "COMPLETE" and trial.value is not None:
                key = self._sign * trial.value
                if self._best is None or key < self._best[0]:
                    if self._best is not None:
                        kept.pop(self._best[1], None)
                    self._best = (key, trial.number)
                    return
            kept.pop(trial.number, None)


def _cell_number(shell: Any) -> int:
    """The execution count of the cell running now, as its prompt shows it.

    IPython counts a cell before running it (``execution_count`` is already the next one while
    a cell runs), but not when a magic is called directly (``run_cell_magic``). The cell's
    own code is on the stack in the first case, under the file name IPython gave it.
    """
    import sys

    cells = getattr(shell.compile, "_filename_map", {})
    frame = sys._getframe(1)
    while frame is not None:
        number = cells.get(frame.f_code.co_filename)
        if number is not None:
            return int(number)
        frame = frame.f_back  # type: ignore[assignment]
    return int(shell.execution_count)


def _adopt_this_cell() -> Any:
    """A thread setup that sends a poll thread's panel updates under this cell's request."""
    from optuna_magic.outputs.kernel_output import KernelParent

    parent = KernelParent.current()
    return parent.adopt if parent is not None else None


def _cell_output(background: bool, n_jobs: int) -> Any:
    """Where the trials' output goes in a kernel (see :mod:`optuna_magic.outputs.kernel_output`)."""
    from optuna_magic.outputs.kernel_output import RunOutput

    return RunOutput.for_cell(background=background, n_jobs=n_jobs)


def _keep_kernel_busy(sink: Any, parent: Any) -> None:
    import sys

    widget = sys.modules.get("optuna_magic.outputs.panel.widget")  # not loaded: no panel to tell
    if widget is not None and isinstance(sink, widget.StudyPanel):
        sink.keep_kernel_busy(parent)


def _try_panel() -> Any:
    """The live panel when its module and bundle are there, else None (text progress instead)."""
    try:
        from optuna_magic.outputs.panel.widget import StudyPanel
    except ImportError:
        return None
    return StudyPanel.for_run()


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


def _check_directions(study: optuna.Study, directions: list[str]) -> None:
    have = [d.name.lower() for d in study.directions]
    if have != directions:
        raise UsageError(
            f"%%optuna --resume: study {study.study_name!r} has direction(s) "
            f"{' '.join(have)}, but the cell asks for {' '.join(directions)}"
        )


def _describe(obj: Any, seed: int | None) -> str:
    if obj is None:
        return "default"
    name = type(obj).__name__
    return f"{name}(seed={seed})" if seed is not None and "Sampler" in name else name


def _with_cell_traceback(exc: BaseException, filename: str, shell: Any) -> BaseException:
    """Make IPython show ``exc`` from the cell's own frames down, not from Optuna's loop."""
    if isinstance(exc, OptunaMagicError):
        return exc
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    if tb is None or shell is None:
        return exc
    cell_tb = tb

    def render() -> list[str]:
        return [
            "A trial raised an exception; the run stopped (use --catch to record such trials "
            "as failed and go on).",
            *format_cell_traceback(exc, cell_tb, getattr(shell.compile, "_filename_map", {})),
        ]

    with contextlib.suppress(AttributeError, TypeError):
        exc._render_traceback_ = render  # type: ignore[attr-defined]
    return exc


_RED, _GREEN, _CYAN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m"


def format_cell_traceback(
    exc: BaseException, tb: TracebackType | None, cells: dict[str, int], context: int = 2
) -> list[str]:
    """A traceback whose cell frames read ``Cell In[N], line L`` with the cell's own lines.

    Written here rather than left to IPython's formatter because that one locates a frame's
    function in the cached source, and the cell's function exists only as a syntax tree (the
    source holds the cell as the user wrote it), so it shows the wrong lines.
    """
    import linecache

    out = [
        f"{_RED}{'-' * 75}{_RESET}",
        f"{_RED}{type(exc).__name__}{_RESET}"
        f"{' ' * max(1, 42 - len(type(exc).__name__))}Traceback (most recent call last)",
    ]
    for frame, lineno in traceback.walk_tb(tb):
        code = frame.f_code
        name = code.co_name
        fname = code.co_filename
        if fname in cells:
            where = f"{_CYAN}Cell In[{cells[fname]}], line {lineno}{_RESET}"
            if name == "__optuna_magic_cell__":
                name = "<cell>"
            lo, hi = max(1, lineno - context), lineno + context
        else:
            where = f"File {_GREEN}{fname}:{lineno}{_RESET}"
            lo = hi = lineno
        lines = [f"{where}, in {name}"]
        for n in range(lo, hi + 1):
            text = linecache.getline(fname, n, frame.f_globals).rstrip("\n")
            if not text and n != lineno:
                continue
            if n == 1 and fname in cells and text.startswith("# %%"):
                text = text[2:]  # the magic line, commented out only for the cache
            arrow = f"{_GREEN}---> " if n == lineno else "     "
            lines.append(f"{arrow}{n:<4}{_RESET if n == lineno else ''}{text}")
        out.append("\n".join(lines) + "\n")
    out.extend(line.rstrip("\n") for line in traceback.format_exception_only(exc))
    out[-1] = f"{_RED}{type(exc).__name__}{_RESET}{out[-1][len(type(exc).__name__) :]}"
    return out


def _expand_line(shell: Any, line: str) -> str:
    """``$VAR`` and ``{VAR}`` in the magic line, as IPython's ``run_cell_magic`` expands them.

    In a kernel the cell runs as an awaited call (:func:`_async_cell_transformer`), which
    ``run_cell_magic`` and its ``var_expand`` never see. Such a cell is always top-level code,
    whose locals are the user's namespace, so expanding over that namespace is the same.
    """
    from IPython.utils.text import DollarFormatter

    try:
        return DollarFormatter().vformat(line, args=[], kwargs=shell.user_ns.copy())
    except Exception:
        return line  # as var_expand does: a line that does not format stays as written


def _words(line: str) -> list[str]:
    """The words of a ``%optuna`` line without their quotes (paths and names may hold spaces)."""
    from IPython.utils.process import arg_split  # type: ignore[attr-defined]

    from optuna_magic.study.factories import unquote

    try:
        return [unquote(w) for w in arg_split(line, posix=False)]
    except ValueError:
        raise UsageError("%optuna: a quote in the line is not closed") from None


# ------------------------------------------------------------- registration
def _async_cell_transformer(lines: list[str]) -> list[str]:
    """In a kernel, turn a ``%%optuna`` cell into an awaited call.

    An awaiting cell lets ipykernel dispatch the panel's comm messages (Stop, a second view's
    sync request) while the trials run in the runner's thread; a blocking cell would hold them
    until it ends.
    """
    if not lines:
        return lines
    code = [ln.strip() for ln in lines if ln.strip()]
    if code == ["%optuna wait"]:
        # Waiting on a background run also keeps the panel's Stop button working.
        return ["await __import__('optuna_magic.magic.magics', fromlist=['_']).wait_in_kernel()\n"]
    first = lines[0]
    head = first.strip()
    if not (head == "%%optuna" or head.startswith("%%optuna ")) or head.endswith("?"):
        return _hide_line_magics(lines)
    # IPython keeps the generated source (tracebacks show it, so does `In`): a password in the
    # options stays out of it, in a table the call reads it back from.
    magic_line, key = hide_line(head[len("%%optuna") :].strip())
    body = "".join(lines[1:])
    return [
        f"await __import__('optuna_magic.magic.magics', fromlist=['_']).run_in_kernel("
        f"{magic_line!r}, {body!r}{'' if key is None else f', {key}'})\n"
    ]


def _hide_line_magics(lines: list[str]) -> list[str]:
    """``%optuna LINE`` lines with a credential call the magic through the table of hidden lines."""
    out = []
    for ln in lines:
        stripped = ln.lstrip()
        if stripped.startswith("%optuna ") and not stripped.rstrip().endswith("?"):
            shown, key = hide_line(stripped[len("%optuna ") :].rstrip("\n"))
            if key is not None:
                indent = ln[: len(ln) - len(stripped)]
                ln = (
                    f"{indent}__import__('optuna_magic.magic.magics', fromlist=['_'])"
                    f".line_in_kernel({shown!r}, {key})\n"
                )
        out.append(ln)
    return out


def line_in_kernel(shown: str, key: int | None) -> Any:
    """Entry point of a ``%optuna`` line that held a credential (see :func:`_hide_line_magics`)."""
    from IPython import get_ipython

    return get_ipython().run_line_magic("optuna", reveal_line(shown, key))


async def run_in_kernel(line: str, cell: str, key: int | None = None) -> None:
    """Entry point of the transformed cell (see :func:`_async_cell_transformer`)."""
    from IPython import get_ipython

    line = reveal_line(line, key)

    shell = get_ipython()
    magics = shell.magics_manager.registry.get("OptunaMagics")
    if magics is None:  # pragma: no cover - extension unloaded meanwhile
        raise UsageError("optuna_magic is not loaded")
    await magics.optuna_async(line, cell)


async def wait_in_kernel() -> None:
    """``%optuna wait`` in a kernel: await the background runs (see the transformer)."""
    from IPython import get_ipython

    magics = get_ipython().magics_manager.registry.get("OptunaMagics")
    if magics is None:  # pragma: no cover - extension unloaded meanwhile
        raise UsageError("optuna_magic is not loaded")
    for runner in list(magics.background):
        await runner.wait_async()
    magics._report_background()


def register(shell: InteractiveShell) -> None:
    """Register the magics and, in a kernel, the async cell transformer."""
    magics = OptunaMagics(shell)
    shell.register_magics(magics)
    if hasattr(shell, "kernel") and _async_cell_transformer not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(_async_cell_transformer)


def unregister(shell: InteractiveShell) -> None:
    """Remove what :func:`register` added."""
    mm = shell.magics_manager
    mm.magics["line"].pop("optuna", None)
    mm.magics["cell"].pop("optuna", None)
    mm.registry.pop("OptunaMagics", None)
    with contextlib.suppress(ValueError):
        shell.input_transformers_cleanup.remove(_async_cell_transformer)
