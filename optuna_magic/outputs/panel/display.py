"""Where a running cell's panel shows: its own output, and the snapshot's beneath it.

The cell gets the panel and a placeholder that the static snapshot fills when the run ends (see
:func:`optuna_magic.outputs.snapshot.html.snapshot_bundle` for who shows which: the live panel
while a kernel runs it, the snapshot everywhere else); what the trials print follows them. At
the end of the run, while the cell still runs, it reserves one more output for what the runs
the panel continues after the cell ended print ("Run N more": an output widget shows there once
one starts; a front end takes updates to an ended cell's outputs, not new ones), so their lines
come after the first run's. A ``--background`` run's cell has ended before its run does: its
continued runs write into the run's own output widget instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna_magic.outputs.kernel_output import OutputWidgetWriter
    from optuna_magic.outputs.panel.record import TrialRecord
    from optuna_magic.run.contract import RunInfo, RunResult

__all__ = ["CellOutputs"]

_log = logging.getLogger(__name__)


class CellOutputs:
    """The display handles of a panel's outputs beneath the running cell."""

    def __init__(self, panel: Any, snapshot: Any, more: Any = None) -> None:
        self.panel = panel
        self.snapshot = snapshot
        self.more = more
        self._more_writer: OutputWidgetWriter | None = None

    def more_writer(self) -> OutputWidgetWriter | None:
        """Where the runs the panel continues print: one output widget for all of them, shown
        in the output the cell reserved or the background run's own (None: neither)."""
        if self._more_writer is None:
            if self.more is None:
                return None
            from optuna_magic.outputs.kernel_output import OutputWidgetWriter

            self._more_writer = OutputWidgetWriter()
            self._more_writer.show_in(self.more)
        return self._more_writer

    @classmethod
    def show(cls, model_id: str) -> CellOutputs:
        """Display the panel of widget ``model_id`` and the snapshot's placeholder now."""
        from IPython.display import display

        from optuna_magic.outputs.snapshot.html import panel_bundle, snapshot_placeholder

        panel = display(  # type: ignore[no-untyped-call]
            panel_bundle(model_id), raw=True, display_id=True
        )
        snapshot = display(  # type: ignore[no-untyped-call]
            snapshot_placeholder(), raw=True, display_id=True
        )
        return cls(panel, snapshot)

    def reserve_more(self) -> None:
        """Reserve the output the continued runs print into, after what the run printed (call
        it from the run's end, while its cell still runs). Once: later runs share it."""
        if self.more is not None or self._more_writer is not None:
            return
        import sys

        from IPython.display import display

        for stream in (sys.stdout, sys.stderr):  # the run's last lines come first
            stream.flush()

        from optuna_magic.outputs.snapshot.html import snapshot_placeholder

        self.more = display(  # type: ignore[no-untyped-call]
            snapshot_placeholder(), raw=True, display_id=True
        )

    def share_writer(self, writer: OutputWidgetWriter) -> None:
        """A ``--background`` run's output widget, where its continued runs print too."""
        if self._more_writer is None and self.more is None:
            self._more_writer = writer

    def show_snapshot(
        self, info: RunInfo | None, result: RunResult, record: TrialRecord | None
    ) -> None:
        """Fill the snapshot's own output (the panel's output is left alone: updating it
        would make JupyterLab rebuild the live view). ``record``: the panel's record, where it
        holds every trial of the study."""
        from optuna_magic.outputs.snapshot.html import snapshot_bundle

        try:
            bundle = snapshot_bundle(result.study, info, result, record=record)
            self.snapshot.update(bundle, raw=True)
        except Exception:  # the live panel already shows the result; the snapshot is extra
            _log.warning("could not write the static snapshot of the run", exc_info=True)
