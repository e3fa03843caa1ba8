"""The public API: the magic's run, panel and watch for code that has ``def objective(trial)``.

Nothing here needs IPython: in a kernel the run shows the live panel and its output lands in the
calling cell; in a terminal or a script it prints the text progress. The ``%%optuna`` magic
starts its local runs through :func:`_start_run` too, so a run is wired in one place only.

Blocking or awaiting, in a kernel: :func:`optimize` blocks the cell, and a blocked cell gets no
message from the front end until it ends, so the panel's Stop button takes effect only once the
cell is over: ipykernel 7 routes a comm's messages to the shell its last message went out under
(see :mod:`optuna_magic.outputs.kernel_output`), and the panel sends under the cell's request,
on the shell the cell blocks (inferred from that routing, not yet checked in a browser).
``await optimize_async(...)`` lets the kernel handle
the panel's messages while the trials run, so Stop works in every front end; Ctrl-C and the
kernel's interrupt stop both (finished trials are kept, :class:`RunInterrupted` is raised).

In a marimo notebook (no IPython kernel) the run shows a panel of its own in the cell's output:
see :mod:`optuna_magic.outputs.panel.marimo` for what marimo delivers while a cell runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from optuna_magic.callback import PanelCallback

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.kernel_output import KernelParent, OutputWidgetWriter
    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.contract import RunInfo, RunSink
    from optuna_magic.run.handle import RunHandle
    from optuna_magic.run.polled import PolledRun
    from optuna_magic.run.runner import Runner

__all__ = [
    "PanelCallback",
    "RunInterrupted",
    "compare",
    "optimize",
    "optimize_async",
    "panel",
    "watch",
]

Catch = Iterable[type[Exception]] | type[Exception]


class RunInterrupted(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C / kernel interrupt); every finished trial is kept."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[33mInterrupted\x1b[0m: {self}"]


# ------------------------------------------------------------------- optimize
def optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    catch: Catch = (),
    panel: bool = True,
) -> optuna.Study:
    """Optimize ``study`` as ``%%optuna`` does: live panel, Stop, interrupt, snapshot.

    In a kernel the panel shows beneath the cell (the text progress with ``panel=False``) and
    what trials print lands in that cell; elsewhere the text progress and a summary are printed.
    The cell blocks: see the module's note on Stop, and :func:`optimize_async`.

    Args:
        study: the study to add trials to.
        objective: ``objective(trial) -> value`` (a tuple for several objectives).
        n_trials, timeout, n_jobs, catch: as ``study.optimize`` (neither ``n_trials`` nor
            ``timeout``: until stopped).
        panel: show the live panel where a widget can render (else the text progress).

    Returns:
        ``study``, with the trials of this run.

    Raises:
        RunInterrupted: Ctrl-C or a kernel interrupt; the finished trials stay in the study.
        Exception: what a trial raised that ``catch`` does not name; the study keeps its trials.
    """
    runner = _start_api_run(study, objective, n_trials, timeout, n_jobs, catch, panel)
    runner.wait()
    return _outcome(runner)


async def optimize_async(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    catch: Catch = (),
    panel: bool = True,
) -> optuna.Study:
    """:func:`optimize` to ``await``: the event loop (a kernel's) keeps running meanwhile.

    In a notebook, ``await optuna_magic.optimize_async(study, objective, n_trials=100)`` keeps
    the panel's Stop button working in every front end, as ``%%optuna`` does: the kernel handles
    the panel's messages while the trials run in the runner's thread.
    """
    runner = _start_api_run(study, objective, n_trials, timeout, n_jobs, catch, panel, True)
    await runner.wait_async()
    return _outcome(runner)


def _start_api_run(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Catch,
    widget: bool,
    awaited: bool = False,
) -> RunHandle:
    from optuna_magic.run.info import run_info

    caught = (catch,) if isinstance(catch, type) else tuple(catch)
    info = run_info(study, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs)
    return _start_run(
        study,
        objective,
        info,
        n_trials=n_trials,
        timeout=timeout,
        n_jobs=n_jobs,
        catch=caught,
        widget=widget,
        awaited=awaited,
    )


def _outcome(runner: RunHandle) -> optuna.Study:
    """The study, or the interrupt / the trial's exception that ended the run."""
    result = runner.result
    assert result is not None
    if result.state == "interrupted":
        done = sum(1 for t in result.study.get_trials(deepcopy=False) if t.state.is_finished())
        raise RunInterrupted(
            f"the run stopped; {done} finished trial(s) kept in study {result.study.study_name!r}"
        )
    if result.state == "failed" and result.exception is not None:
        raise result.exception
    return result.study


# ------------------------------------------------------------- the one wiring
def _start_run(
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
        sink = _progress(widget, busy)
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


def _progress(widget: bool, busy: KernelParent | None = None) -> RunSink:
    """The run's progress: the live panel in a marimo notebook, else what a kernel or a
    terminal gets (:func:`~optuna_magic.outputs.progress.progress_sink`)."""
    from optuna_magic.outputs.panel.marimo import in_marimo, marimo_panel
    from optuna_magic.outputs.progress import progress_sink

    if widget and in_marimo():
        return marimo_panel()

    return progress_sink(widget, busy)


def _adopt_this_cell() -> Callable[[], Any] | None:
    """A thread setup that sends a poll thread's panel updates under this cell's request."""
    if "IPython" not in sys.modules:
        return None
    from optuna_magic.outputs.kernel_output import KernelParent

    parent = KernelParent.current()
    return parent.adopt if parent is not None else None


# ------------------------------------------------------------- panel, watch
def compare(*studies: optuna.Study, names: Sequence[str] | None = None) -> Any:
    """One panel over several studies: their best values so far overlaid, the empirical
    distribution functions of their values, and their best trials side by side.

    Args:
        studies: two or more single-objective studies that go the same way.
        names: their labels (default the study names).

    Returns the panel to display (a cell's value); its text form, where no widget renders, is
    a table of the best trials. Raises ``OptunaMagicError`` for what cannot be compared.
    """
    from optuna_magic.outputs.panel.compare import compare_panel

    return compare_panel(studies, names)


def panel(
    study: optuna.Study,
    *,
    live: bool | None = None,
    interval: float = 1.0,
    idle_timeout: float | None = 600.0,
) -> StudyPanel:
    """The panel of an existing study, to display (a cell's value, ``display()``, marimo).

    Args:
        study: the study, in memory or stored.
        live: follow the study while something else optimizes it (another thread, other
            processes), reading its new trials every ``interval`` seconds; default: live when
            a trial of the study is running now. A live panel only reads; its Stop button ends
            the following, not the optimization.
        interval: seconds between reads of a live panel.
        idle_timeout: a live panel stops following after this long without a change.
    """
    import optuna

    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.info import run_info
    from optuna_magic.run.polled import PolledRun, StoragePoller

    if live is None:
        running = (optuna.trial.TrialState.RUNNING,)
        live = bool(study.get_trials(deepcopy=False, states=running))
    if not live:
        return StudyPanel.for_study(study)
    widget = StudyPanel()
    poller = StoragePoller(study, [widget], fail_orphans=False)
    existing = poller.baseline()
    PolledRun(
        study,
        run_info(study, existing=existing, watch=True),
        [widget],
        interval=interval,
        idle_timeout=idle_timeout,
        poller=poller,
        thread_setup=_adopt_this_cell(),
    ).start()  # its thread keeps it alive; the panel holds it as its control
    return widget


def watch(
    storage: str,
    study_name: str,
    *,
    interval: float = 1.0,
    idle_timeout: float | None = 600.0,
    panel: bool = True,
) -> PolledRun:
    """Follow a stored study that other processes optimize, as ``%optuna watch`` does.

    In a kernel the live panel shows beneath the cell; elsewhere the text progress is printed.
    The watch only reads, and runs in the background: ``run.wait()`` follows it until it ends
    (``idle_timeout`` seconds without a change, or ``run.request_stop()``).

    Args:
        storage: the storage URL (``sqlite:///study.db``, ``journal:study.log``, ...).
        study_name: the study to follow.
        interval: seconds between reads of the storage.
        idle_timeout: end after this long without a change (None: never).
        panel: the live panel where a widget can render (else the text progress).

    Raises:
        OptunaMagicError: the storage holds no such study (the message lists those it holds).
    """
    from optuna_magic.run.polled import start_watch

    return start_watch(
        storage,
        study_name,
        [_progress(panel)],
        interval=interval,
        idle_timeout=idle_timeout,
        thread_setup=_adopt_this_cell(),
    )
