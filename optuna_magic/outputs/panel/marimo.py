"""The live panel in a marimo notebook (marimo renders anywidgets itself; it has no kernel
comm of Jupyter's kind and no IPython magics).

marimo is optional and never imported by this module's import: a marimo notebook has imported it.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optuna_magic.outputs.panel.widget import StudyPanel

__all__ = ["in_marimo", "marimo_panel"]


def in_marimo() -> bool:
    """Whether this runs in a marimo notebook's kernel (a cell, or a ``mo.Thread`` it started).

    marimo is optional and never imported here: a marimo notebook has imported it already.
    """
    marimo = sys.modules.get("marimo")
    running = getattr(marimo, "running_in_notebook", None)
    try:
        return bool(running()) if callable(running) else False
    except Exception:  # a marimo this was not written for: the text progress is safe
        return False


def marimo_panel() -> StudyPanel:
    """The live panel, appended to the output of the marimo cell (or ``mo.Thread``) running.

    marimo hands a widget the front end's messages only between cells, never while one runs
    (its kernel handles its requests one at a time): a panel that asked for its code, as every
    Jupyter panel's loader does, would stay "loading" until the run is over. This panel carries
    the whole bundle instead, which marimo serves as a file once per page; its deltas are pushed
    from the run's threads, so it updates during the run. Its Stop click, like any message,
    reaches the run only once no cell is running: a run in a ``mo.Thread`` gets it at once,
    a run that blocks its cell is stopped by marimo's interrupt instead.
    """
    import marimo

    panel = _inline_panel_class()()
    marimo.output.append(panel)  # marimo renders an anywidget natively
    return panel


@functools.cache
def _inline_panel_class() -> type[StudyPanel]:
    from optuna_magic.outputs.panel.bundle import BUNDLE
    from optuna_magic.outputs.panel.widget import StudyPanel

    class InlineStudyPanel(StudyPanel):
        """A :class:`StudyPanel` whose ``_esm`` is its whole bundle, not the loader."""

        _esm = BUNDLE.inline_esm()
        # Its view's "sync" arrives only after the run: the deltas go out from the start.
        hears_views_mid_run = False

    return InlineStudyPanel
