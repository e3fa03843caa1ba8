"""The public API: the magic's run, panel and watch for code that has ``def objective(trial)``.

Nothing here needs IPython: in a kernel the run shows the live panel and its output lands in the
calling cell; in a terminal or a script it prints the text progress. A run is wired in one
place only, :func:`optuna_magic.wiring.start_run`, which the ``%%optuna`` magic uses too.

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

    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.handle import RunHandle
    from optuna_magic.run.polled import PolledRun

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
    from optuna_magic.wiring import start_run

    caught = (catch,) if isinstance(catch, type) else tuple(catch)
    info = run_info(study, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs)
    return start_run(
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
    from optuna_magic.wiring import run_progress

    return start_watch(
        storage,
        study_name,
        [run_progress(panel)],
        interval=interval,
        idle_timeout=idle_timeout,
        thread_setup=_adopt_this_cell(),
    )
