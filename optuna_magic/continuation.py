""" "Run N more" from a panel: the same objective on the same study, into the same panel.

A run's starter (``%%optuna`` and ``optuna_magic.optimize``, both through
:func:`optuna_magic.wiring.start_run`) attaches a :class:`RunMore` to its panel, which holds what
the panel must not know: the objective and how the run was wired. The panel calls it when its
front end asks (:mod:`optuna_magic.outputs.panel.requests`); it starts the trials as
``--background`` does, so the comm handler returns at once and the kernel stays responsive
(Stop works), and what the trials print lands in an output widget beneath the panel's own cell
(see :mod:`optuna_magic.outputs.kernel_output`).

It refuses, in words, where more trials cannot start: the study is gone, its trials ran in
other processes (``--workers`` / ``--dask``), another run of this kernel optimizes, the kernel
is running a cell, or another process is optimizing the stored study now.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.kernel_output import OutputWidgetWriter
    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.contract import RunInfo, RunSink
    from optuna_magic.run.runner import Runner

__all__ = ["CellActivity", "RunMore"]


class CellActivity:
    """Whether the kernel is executing a cell now (IPython's ``pre_run_cell`` /
    ``post_run_cell`` events), for a request handled while a cell awaits: ipykernel handles
    comm messages then, and a run started meanwhile would print into that cell's time."""

    _installed: dict[int, CellActivity] = {}

    def __init__(self) -> None:
        self.executing = False

    @classmethod
    def of(cls, shell: Any) -> CellActivity:
        """The tracker of ``shell``, registered on its events the first time."""
        tracker = cls._installed.get(id(shell))
        if tracker is None:
            tracker = cls._installed[id(shell)] = cls()
            shell.events.register("pre_run_cell", tracker._pre)
            shell.events.register("post_run_cell", tracker._post)
        return tracker

    def _pre(self, *_: Any) -> None:
        self.executing = True

    def _post(self, *_: Any) -> None:
        self.executing = False


class RunMore:
    """A panel's :class:`~optuna_magic.outputs.panel.requests.Continuation`.

    Args:
        study: the run's study (held weakly: a panel lives as long as its output).
        objective: the run's objective.
        info: the run's description; each continued run gets a copy with its own budget.
        n_jobs, catch: as the run had them.
        before_start: what the starter does with each new runner (the magic's ``report``
            finds its runner through it).
        elsewhere: the trials ran in other processes: more of them are refused here.
        more_sinks: the sinks each continued run gets besides the panel (the cell's
            ``--mlflow``, ``--keep-best``, ``--until-stale``), given how to tell the user
            something (into the continued run's output).
    """

    def __init__(
        self,
        study: optuna.Study,
        objective: Callable[[optuna.Trial], Any],
        info: RunInfo,
        *,
        n_jobs: int = 1,
        catch: tuple[type[Exception], ...] = (),
        before_start: Callable[[Runner], None] | None = None,
        elsewhere: bool = False,
        more_sinks: Callable[[Callable[[str], None]], list[RunSink]] | None = None,
    ) -> None:
        self._study = weakref.ref(study)
        self._objective = objective
        # Without the trials it started with: a widget must not keep a study's copies alive.
        self._info = dataclasses.replace(info, existing_trials=[])
        self._n_jobs = n_jobs
        self._catch = catch
        self._before_start = before_start
        self._elsewhere = elsewhere
        self._more_sinks = more_sinks
        from optuna_magic.outputs.progress import kernel_shell

        shell = kernel_shell()
        self._activity = CellActivity.of(shell) if shell is not None else None

    @property
    def study(self) -> optuna.Study | None:
        """The study, while it lives."""
        return self._study()

    def refusal(self) -> str | None:
        """Why more trials cannot start now, in words; None: they can."""
        from optuna_magic.run.handle import RunHandle
        from optuna_magic.study.liveness import others_running

        study = self.study
        if study is None:
            return "the study is gone (its variable was deleted or rebound)"
        if self._elsewhere:
            return (
                "this run's trials ran in other processes (--workers / --dask): run the cell "
                "again with --resume to add trials"
            )
        running = RunHandle.running_here()
        if running:
            name = running[0].info.study_name
            return f"another run of this kernel is optimizing (study {name!r}): wait for it"
        if self._activity is not None and self._activity.executing:
            return "the kernel is running a cell: Run more starts when it is idle"
        others = others_running(study)
        if others:
            shown = ", ".join(str(n) for n in others[:5]) + (", ..." if len(others) > 5 else "")
            return (
                f"another process is optimizing this study now (trial(s) {shown} running "
                "there): watch it with %optuna watch instead"
            )
        return None

    def run_more(self, n_trials: int, panel: StudyPanel) -> None:
        """Start ``n_trials`` more trials into ``panel``; returns at once."""
        from optuna_magic.wiring import start_run

        study = self.study
        if study is None:
            raise RuntimeError("the study is gone")
        info = dataclasses.replace(
            self._info,
            n_trials=n_trials,
            timeout=None,
            started_at=time.time(),
            existing_trials=list(study.get_trials(deepcopy=False)),
        )
        outputs = panel.cell_outputs
        writer = outputs.more_writer() if outputs is not None else None
        more = self._more_sinks(_say_into(writer)) if self._more_sinks is not None else []
        start_run(
            study,
            self._objective,
            info,
            n_trials=n_trials,
            timeout=None,
            n_jobs=self._n_jobs,
            catch=self._catch,
            sinks=[*more, panel],
            progress=False,
            background=True,
            before_start=self._before_start,
            writer=writer,
        )


def _say_into(writer: OutputWidgetWriter | None) -> Callable[[str], None]:
    """A line to the user in the continued run's output (printed where there is none)."""
    if writer is None:
        return print

    def say(text: str) -> None:
        writer.write("stdout", text + "\n")
        writer.send()

    return say
