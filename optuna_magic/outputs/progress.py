"""What shows a run's progress: the live panel in a kernel, else the text progress.

Shared by the API, the magic and the callback, so each host gets the same choice.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna_magic.outputs.kernel_output import KernelParent
    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.contract import RunSink

__all__ = ["kernel_shell", "progress_sink", "try_panel"]


def kernel_shell() -> Any:
    """The IPython shell when this runs in a kernel, else None (IPython is not imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if hasattr(shell, "kernel") else None


def progress_sink(widget: bool = True, busy: KernelParent | None = None) -> RunSink:
    """The live panel in a kernel (``widget``), else the text progress (in place in a kernel).

    ``busy``: the request of a cell that waits for the run (see
    :meth:`StudyPanel.keep_kernel_busy`).
    """
    from optuna_magic.outputs.text import TextProgress

    if kernel_shell() is None:
        return TextProgress()
    if busy is not None:
        busy.hold_busy()  # before the panel's comm opens: the front end answers that at once
    if widget:
        panel = try_panel()
        if panel is not None:
            if busy is not None:
                panel.keep_kernel_busy(busy)
            return panel
    from IPython.display import display

    handle = display(  # type: ignore[no-untyped-call]
        {"text/plain": "optuna: starting"}, raw=True, display_id=True
    )
    return TextProgress(update=lambda text: handle.update({"text/plain": text}, raw=True))


def try_panel() -> StudyPanel | None:
    """The live panel when its module and bundle are there, else None (text progress instead)."""
    try:
        from optuna_magic.outputs.panel.widget import StudyPanel
    except ImportError:
        return None
    return StudyPanel.for_run()
