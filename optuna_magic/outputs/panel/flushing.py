"""The panel's flushes: what one sends (a delta while a view reads them, the status trait when
it is due) and the flusher thread that makes them while no trial ends to (slow trials)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from optuna_magic.outputs.panel.shown import start_importance

if TYPE_CHECKING:
    from optuna_magic.outputs.panel.widget import StudyPanel

__all__ = ["send_changes", "start_flusher"]

_log = logging.getLogger(__name__)

STATUS_EVERY = 5.0  # seconds between status trait updates while a view reads the deltas


def send_changes(panel: StudyPanel) -> None:
    """Send what changed in ``panel``: one delta message and one trait update at most."""
    panel._next_flush = time.monotonic() + panel.flush_interval
    control = panel._control
    running = control.running_trials() if control is not None else None
    if running is not None:
        panel.record.mark_running(running)
    sent = False
    with panel._send_lock:
        viewed = panel._synced or not panel._quiet_until_viewed
        if viewed:
            delta = panel.record.delta()
        else:
            delta = None
            panel.record.skip()  # the whole record, when a view asks, has what it skipped
        status = panel._status()
        now = time.time()
        if delta is not None:
            content, buffers = delta
            # The delta carries the status too, so one message a flush keeps the header
            # (progress, counts, best) as fresh as the trials.
            content["status"] = status
            panel._send_record(content, buffers)
            sent = True
        # The status trait is what a saved widget state and a view's first paint read (the
        # view then asks for the record, whose answer carries a fresh status): it follows at
        # once on a new run state or error, else every STATUS_EVERY seconds. At once a second
        # it was ~1 kB a second beside deltas that carry the same status (~15 B a trial of a
        # TPE run).
        old = panel.status or {}
        urgent = (status.get("state"), status.get("error")) != (
            old.get("state"),
            old.get("error"),
        )
        if urgent or (viewed and now - panel._last_status_at >= STATUS_EVERY):
            panel.status = cast("dict[str, Any]", status)  # a Dict trait: StatusTrait
            panel._last_status_at = now
            sent = True
    if sent:
        panel._link.let_iopub_send(panel.comm)


def start_flusher(panel: StudyPanel) -> None:
    """Start ``panel``'s flusher: a daemon thread that flushes it when no trial did for a
    while and starts its importance refreshes, until ``panel._stop_flusher`` is set."""
    flusher = threading.Thread(target=_flush_loop, args=(panel,), name="optuna-magic-panel")
    flusher.daemon = True
    flusher.start()


def _flush_loop(panel: StudyPanel) -> None:
    panel._link.adopt_parent()
    while not panel._stop_flusher.wait(panel.flush_interval):
        try:
            # Only when overdue by a whole interval: no trial ended to flush it (slow
            # trials), rather than racing the trial thread for a flush that is just due.
            if time.monotonic() >= panel._next_flush + panel.flush_interval:
                panel.flush()
            start_importance(panel)
        except Exception:  # a panel must never take the run down
            _log.warning("panel flush failed", exc_info=True)
