"""How the panel's messages travel through the kernel: under the cell's request, without leaving
JupyterLab's status bar "Idle" mid-run, and without making the trials wait for the I/O thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from optuna_magic.outputs.kernel_output import KernelParent

__all__ = ["KernelLink"]


class KernelLink:
    """The request a panel's threads send under (the cell that made it), and the one to say the
    kernel is busy with while a front end's message comes in mid-run (``busy_parent``)."""

    def __init__(self) -> None:
        self.parent = KernelParent.current()
        self._busy: KernelParent | None = None
        self._iopub: Any = None  # the kernel's I/O thread (False: none), found at the first send

    def adopt_parent(self) -> None:
        """Make the calling thread send under the cell's request."""
        if self.parent is not None:
            self.parent.adopt()

    def handle(self, handler: Callable[[], None]) -> None:
        """Run a front end's message ``handler``, replying under the cell's request.

        Replies go out under the cell's request, not the message's: ipykernel routes the
        front end's next message to the subshell a comm last sent from, and a message
        handled there ends with an "idle" status the status bar shows (and, while a cell waits
        for the run, :meth:`KernelParent.hold_busy` keeps from showing).
        """
        undo = self.parent.adopt() if self.parent is not None else []
        try:
            handler()
        finally:
            KernelParent.restore(undo)

    @property
    def busy_parent(self) -> KernelParent | None:
        """The cell that waits for the run: the kernel reads busy until it ends (or None)."""
        return self._busy

    @busy_parent.setter
    def busy_parent(self, parent: KernelParent | None) -> None:
        if self._busy is not None:
            self._busy.release_busy()
        self._busy = parent
        if parent is not None:
            parent.hold_busy()

    def let_iopub_send(self, comm: Any) -> None:
        """Wait (a millisecond or two) until the kernel's I/O thread has sent our messages.

        ipykernel sends every message from its I/O thread, which needs the GIL a dozen times
        to do it. While a trial holds the GIL, each of those waits up to the 5 ms switch
        interval and then forces a switch: measured in a kernel, a flush sent that way cost the
        trials ~20 ms (0.1 s of a 10,000-trial run at four flushes a second), the same flush
        with this wait about as much as not sending at all. ipykernel's own stream flush waits
        the same way. Without an ipykernel (a test's comm, a terminal) it does nothing.
        """
        io = self._iopub
        if io is None:
            # ipykernel's comm and kernel are untyped and optional: a test's comm has neither.
            kernel = getattr(comm, "kernel", None)
            io = self._iopub = getattr(kernel, "iopub_thread", None) or False
        if not io:
            return
        thread = getattr(io, "thread", None)
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return
        sent = threading.Event()
        io.schedule(sent.set)
        sent.wait(0.1)  # bounded: a busy I/O thread must not hold the trials up
