"""What the panel does with a front end's request (declared in :mod:`.wire`): send the record,
a trial's detail or the bundle, stop the run, rank the parameters, and steer the study.

Steering (issue 16): ``run_more`` continues the same study with the same objective into the
same panel, through the :class:`Continuation` the magic or ``optimize()`` attached (the panel
knows no cell and no objective); ``enqueue`` puts a trial's edited parameters in the study's
queue (:mod:`.enqueue` checks them). Each is refused in words, answered with a
:class:`~optuna_magic.outputs.panel.wire.SteerMessage`, never a traceback.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from optuna_magic.outputs.panel.bundle import BUNDLE
from optuna_magic.outputs.panel.shown import start_importance
from optuna_magic.outputs.panel.wire import (
    EnqueueRequest,
    RunMoreRequest,
    SteerMessage,
    parse_request,
)

if TYPE_CHECKING:
    import optuna

    from optuna_magic.outputs.panel.widget import StudyPanel

__all__ = ["MAX_MORE", "Continuation", "PanelRequests"]

_log = logging.getLogger(__name__)

MAX_MORE = 100_000  # "Run N more": a typo of a few zeros is refused, not run for days
# A "ready" not confirmed within this long is void: the front end gave up waiting meanwhile.
CONFIRM_WITHIN = 10.0


class Continuation(Protocol):
    """How a panel's run can go on: attached by whoever started it (the magic, ``optimize()``).

    The panel holds it after its run ends; it must not keep the study alive (a weak reference).
    """

    @property
    def study(self) -> optuna.Study | None:
        """The run's study, or None once it is gone (its variable deleted or rebound)."""

    def refusal(self) -> str | None:
        """Why more trials cannot start now (another run, a busy kernel, another process), in
        words; None: they can."""

    def run_more(self, n_trials: int, panel: StudyPanel) -> None:
        """Start ``n_trials`` more trials of the same objective on the study, ``panel`` their
        sink; return at once (the run goes on as a ``--background`` run does)."""


class PanelRequests:
    """Dispatches the front end's messages to one panel (see the module)."""

    def __init__(self, panel: StudyPanel) -> None:
        self.panel = panel
        self._ready: tuple[str, float] | None = None  # the run_more id answered "ready", when

    def on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        """The widget's ``on_msg`` callback: handled under the cell's request."""
        self.panel._link.handle(lambda: self.handle(content))

    def handle(self, content: Any) -> None:
        """Do what ``content`` asks; anything that is not a request is ignored."""
        panel = self.panel
        request = parse_request(content)
        if request is None:
            return
        if request["type"] == "bundle":
            # A view of this page has no panel code yet (its first panel): send it once.
            reply = BUNDLE.reply(request, buffers=panel._buffers)
            if reply is not None:
                panel.send(*reply)
        elif request["type"] == "sync":
            with panel._send_lock:
                content, buffers = panel.record.full()
                content["status"] = panel._status()  # the header as fresh as the trials
                panel._synced = True  # from now on the flushes send what changes
                panel._send_record(content, buffers)
        elif request["type"] == "no_buffers":
            with panel._send_lock:  # a message being sent keeps the form it was made in
                panel._buffers = False
        elif request["type"] == "stop":
            panel.request_stop()
        elif request["type"] == "importance":
            if panel._importance.view(request["view"], request["open"]):
                # Now, not at the next flush; after the run, once (its trials' last state).
                start_importance(panel, final=not panel.running)
        elif request["type"] == "trial":
            with panel._send_lock:
                panel.send({"type": "trial", **panel.record.trial_detail(request["number"])})
        elif request["type"] == "run_more":
            self._reply(request["id"], "run_more", *self._run_more(request))
        elif request["type"] == "enqueue":
            self._reply(request["id"], "enqueue", *self._enqueue(request))

    # ------------------------------------------------------------ steering
    def _refusal(self) -> str | None:
        """Why this panel cannot steer its study at all (the same for both controls)."""
        info = self.panel._info
        if info is not None and info.watch:
            return "this panel watches a study that others optimize: it only reads it"
        return None

    def _run_more(self, request: RunMoreRequest) -> tuple[str, str]:
        panel = self.panel
        refusal = self._refusal()
        continuation = panel.continuation
        if refusal is None and continuation is None:
            refusal = (
                "this panel has no objective to run: continue the study with "
                "optuna_magic.optimize(study, objective) or a %%optuna cell with --resume"
            )
        if refusal is None and panel.running:
            refusal = "the run is still going: Run more is for a run that has ended"
        n = request["n_trials"]
        if refusal is None and not 1 <= n <= MAX_MORE:
            refusal = f"the number of trials must be from 1 to {MAX_MORE:,}, not {n}"
        if refusal is None and continuation is not None:
            refusal = continuation.refusal()
        if refusal is not None:
            self._ready = None
            return "refused", refusal
        assert continuation is not None
        if not request["confirm"]:
            self._ready = (request["id"], time.monotonic())
            return "ready", f"starting {n} more trial(s)"
        ready, self._ready = self._ready, None
        late = ready is None or time.monotonic() - ready[1] > CONFIRM_WITHIN
        if late or ready is None or ready[0] != request["id"]:
            return "refused", "the request came too late (the kernel was busy): click again"
        try:
            continuation.run_more(n, panel)
        except Exception as e:  # refused in our words, never a traceback in the panel
            _log.warning("Run more failed to start", exc_info=True)
            return "refused", f"could not start: {type(e).__name__}: {e}"
        return "started", f"running {n} more trial(s)"

    def _enqueue(self, request: EnqueueRequest) -> tuple[str, str]:
        from optuna_magic.outputs.panel.enqueue import enqueue

        panel = self.panel
        refusal = self._refusal()
        if refusal is not None:
            return "refused", refusal
        study = panel.study()
        if study is None:
            return "refused", "the study is gone (its variable was deleted or rebound)"
        return enqueue(panel, study, request["params"])

    def _reply(self, ident: str, action: str, state: str, message: str) -> None:
        reply: SteerMessage = {
            "type": "steer",
            "id": ident,
            "action": action,  # type: ignore[typeddict-item]
            "state": state,  # type: ignore[typeddict-item]
            "message": message,
        }
        with self.panel._send_lock:
            self.panel.send(reply)
