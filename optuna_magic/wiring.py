"""The one wiring of a local run: the cell's output routing, quiet Optuna logs, the sinks, the
progress (the live panel or the text one) and a panel's "Run N more".

:func:`optuna_magic.optimize`, the ``%%optuna`` magic and "Run N more"
(:mod:`optuna_magic.continuation`) all start their runs with :func:`start_run`, so how a run is
wired lives in one place. Nothing here imports IPython unless it is already loaded.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.kernel_output import KernelParent, OutputWidgetWriter
    from optuna_magic.run.contract import RunInfo, RunSink
    from optuna_magic.run.handle import RunHandle
    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.runner import Runner

__all__ = ["run_progress", "start_run"]


def start_run(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    info: RunInfo,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int = 1,
    catch: tuple[type[Exception], ...] = (),
    sinks: Sequence[RunSink] = (),
    progress: bool = True,
    widget: bool = True,
    background: bool = False,
    before_start: Callable[[Runner], None] | None = None,
    elsewhere: Callable[[list[RunSink], Callable[[], None] | None], PolledRun] | None = None,
    writer: OutputWidgetWriter | None = None,
    awaited: bool = False,
    more_sinks: Callable[[Callable[[str], None]], list[RunSink]] | None = None,
) -> RunHandle:
    """Start a run: the cell's output routing, quiet Optuna logs, ``sinks``, the progress.

    Used by :func:`optimize`, by the magic and by "Run N more" (:mod:`optuna_magic.continuation`,
    which passes its panel in ``sinks`` and the output widget its prints go to as ``writer``).
    ``before_start`` gets the runner before its first trial (the magic's ``report`` needs it);
    ``elsewhere`` starts a run whose trials run in other processes instead (``--workers``,
    ``--dask``), given the sinks and the thread setup. A live panel among the sinks is given
    what it needs to run more of the same (:func:`_attach_continuation`). ``awaited``: the
    caller awaits the run, so the kernel handles the front end's messages meanwhile (as for a
    ``background`` run); its panel then streams only once a view has opened. ``more_sinks``:
    what a panel's "Run N more" runs with besides the panel (see :class:`RunMore`).
    """
    from optuna_magic.outputs.optuna_logs import QuietOptunaLogs
    from optuna_magic.run.runner import Runner

    output = None
    if "IPython" in sys.modules:  # not loaded: no kernel, and a script does not pay for it
        from optuna_magic.outputs.kernel_output import RunOutput

        # First among the sinks: the streams it routes are in place before any other sink
        # prints, and its last lines are out before theirs.
        output = RunOutput.for_cell(
            background=background, n_jobs=n_jobs if not elsewhere else 1, writer=writer
        )
    every: list[RunSink] = [*([output] if output else []), QuietOptunaLogs(), *sinks]
    if progress:
        busy = output.parent if output is not None and not background else None
        sink = run_progress(widget, busy)
        if awaited or background:
            _quiet_until_viewed(sink)
        every.append(sink)
    setup = output.adopt_thread if output is not None else None
    steer = (study, objective, info, n_jobs, catch, before_start, more_sinks)
    if background and output is not None and output.writer is not None:
        _share_background_writer(every, output.writer)
    if elsewhere is not None:
        _attach_continuation(every, *steer, elsewhere=True)
        return elsewhere(every, setup)
    runner = Runner(
        study,
        objective,
        info,
        every,
        n_trials=n_trials,
        timeout=timeout,
        n_jobs=n_jobs,
        catch=catch,
        thread_setup=setup,
    )
    if before_start is not None:
        before_start(runner)
    _attach_continuation(every, *steer)  # before the start: the panel's meta says it
    runner.start()
    return runner


def _quiet_until_viewed(sink: RunSink) -> None:
    if "optuna_magic.outputs.panel.widget" not in sys.modules:
        return  # no panel was made
    from optuna_magic.outputs.panel.widget import StudyPanel

    if isinstance(sink, StudyPanel):
        sink.quiet_until_viewed()


def _share_background_writer(sinks: Sequence[RunSink], writer: OutputWidgetWriter) -> None:
    """A ``--background`` run's panel: its continued runs print into the run's output widget
    (its cell has ended, so it can reserve no output of its own at the run's end)."""
    if "optuna_magic.outputs.panel.widget" not in sys.modules:
        return
    from optuna_magic.outputs.panel.widget import StudyPanel

    for sink in sinks:
        if isinstance(sink, StudyPanel) and sink.cell_outputs is not None:
            sink.cell_outputs.share_writer(writer)


def _attach_continuation(
    sinks: Sequence[RunSink],
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    info: RunInfo,
    n_jobs: int,
    catch: tuple[type[Exception], ...],
    before_start: Callable[[Runner], None] | None,
    more_sinks: Callable[[Callable[[str], None]], list[RunSink]] | None,
    *,
    elsewhere: bool = False,
) -> None:
    """Give a live panel among ``sinks`` its "Run N more" (once: a continued run keeps it)."""
    if "optuna_magic.outputs.panel.widget" not in sys.modules:
        return  # no panel was made: the widget module is imported with the first one
    from optuna_magic.outputs.progress import kernel_shell

    if kernel_shell() is None:
        return  # marimo, a script: no cell beneath which more trials could print
    from optuna_magic.continuation import RunMore
    from optuna_magic.outputs.panel.widget import StudyPanel

    for sink in sinks:
        if isinstance(sink, StudyPanel) and sink.continuation is None:
            sink.continuation = RunMore(
                study,
                objective,
                info,
                n_jobs=n_jobs,
                catch=catch,
                before_start=before_start,
                elsewhere=elsewhere,
                more_sinks=more_sinks,
            )


def run_progress(widget: bool, busy: KernelParent | None = None) -> RunSink:
    """The run's progress: the live panel in a marimo notebook, else what a kernel or a
    terminal gets (:func:`~optuna_magic.outputs.progress.progress_sink`)."""
    from optuna_magic.outputs.panel.marimo import in_marimo, marimo_panel
    from optuna_magic.outputs.progress import progress_sink

    if widget and in_marimo():
        return marimo_panel()

    return progress_sink(widget, busy)
