"""Where a run's output goes in a kernel: the output of the cell that started the run.

ipykernel stamps what a thread prints, displays or sends on a comm with the parent request of
that thread's context; a thread that never set one falls back to the latest request the kernel
handled. The threads that run trials (and the panel's own threads) are such threads, and the
latest request is often not the cell: while an awaiting ``%%optuna`` cell runs, the kernel
handles the panel's comm messages, and JupyterLab drops output stamped with those (measured in
Lab: 14 to 41 of 144 printed lines kept). The fallback also decides where the kernel routes
the front end's next comm message (to the subshell of the request a comm last sent under,
ipykernel 7), and a comm message handled on a subshell publishes busy then idle, which is what
JupyterLab's status bar shows.

So each of those threads adopts the cell's request explicitly (:meth:`KernelParent.adopt`),
and two things that no setting of the parent can do are done here as well:

* whole lines with ``--n-jobs``: ``print`` writes its pieces one by one, and two trial threads
  writing to one stream interleave mid-line; each trial thread's writes are held until a
  newline (:class:`_RoutedStream`);
* ``--background``: the cell has ended, and front ends drop output stamped with a request they
  consider done (JupyterLab, nbclient). A background run's trial threads write into an output
  widget shown beneath the background cell instead, which a front end updates at any time.
  A run the panel starts after its cell ended ("Run N more") writes into an output widget too,
  shown in an output its cell reserved when it ran (a new output cannot be added to a cell
  that has ended; an update of one it already has can).

Only the kernel object is used (found through IPython); nothing here imports ipykernel.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from optuna_magic.outputs.kernel_status import StatusGuard
from optuna_magic.run.sink import BaseSink

if TYPE_CHECKING:
    from optuna_magic.run.runner import RunControl, RunInfo, RunResult

__all__ = ["KernelParent", "OutputWidgetWriter", "RunOutput"]


class KernelParent:
    """A kernel request (an ``execute_request``) that threads can make their output belong to.

    Args:
        kernel: the ipykernel ``Kernel``.
        shell: its ``ZMQInteractiveShell``.
        ident: the request's zmq identities (stdin requests are routed by them).
        parent: the request message.
    """

    def __init__(self, kernel: Any, shell: Any, ident: Any, parent: dict[str, Any]) -> None:
        self.kernel = kernel
        self.shell = shell
        self.ident = ident
        self.parent = parent

    @classmethod
    def current(cls) -> KernelParent | None:
        """The request the calling thread works for, when it runs in a kernel; else None."""
        from IPython import get_ipython

        shell = get_ipython()
        kernel = getattr(shell, "kernel", None)
        get_parent = getattr(kernel, "get_parent", None)
        if get_parent is None:
            return None
        parent = get_parent("shell")
        if not isinstance(parent, dict) or not parent.get("header"):
            return None
        ident = None
        var = getattr(kernel, "_shell_parent_ident", None)
        if var is not None and hasattr(var, "get"):
            ident = var.get(None)
        return cls(kernel, shell, ident, parent)

    @property
    def msg_id(self) -> str:
        """The request's message id (what a front end files the output under)."""
        return str(self.parent["header"].get("msg_id", ""))

    def adopt(self) -> list[tuple[Any, Any]]:
        """Make the calling thread's prints, displays and comm messages belong to the request.

        Returns what :meth:`restore` needs to undo it. Each part is skipped where the kernel
        lacks it (ipykernel < 7 has no per-thread parent: output follows the latest request).
        """
        undo: list[tuple[Any, Any]] = []
        display_pub = getattr(self.shell, "display_pub", None)
        for target in (sys.stdout, sys.stderr, display_pub):
            target = getattr(target, "_routed_target", target)  # through our own proxy
            setter = getattr(target, "set_thread_parent", None)
            if setter is not None:
                undo.append((target, setter(self.parent)))
        # The kernel's own record of the request: the parent of comm messages this thread
        # sends, and (ipykernel 7) where the kernel routes the front end's next comm message.
        # Not public; both are ContextVars, set for this thread's context only.
        for name, value in (("_shell_parent", self.parent), ("_shell_parent_ident", self.ident)):
            var = getattr(self.kernel, name, None)
            if var is not None and hasattr(var, "set"):
                undo.append((var, var.set(value)))
        return undo

    @staticmethod
    def restore(undo: list[tuple[Any, Any]]) -> None:
        """Undo :meth:`adopt` in the thread that called it."""
        for target, token in reversed(undo):
            try:
                if hasattr(target, "reset_thread_parent"):
                    target.reset_thread_parent(token)
                else:
                    target.reset(token)
            except (ValueError, LookupError, RuntimeError):
                pass  # set in another context: nothing of ours to undo here

    def hold_busy(self) -> None:
        """Keep the kernel's status "busy" until this request ends or :meth:`release_busy`.

        While a cell awaits its run, the kernel handles the front end's messages: a comm
        message on a subshell, or the control request that creates one (JupyterLab 4.4+ does
        both for the panel's comm), ends with an "idle" status of its own, and JupyterLab's
        status bar shows the latest status whatever request it belongs to. That "idle" must go
        out (JupyterLab's request is done only when it comes), so while a request is held every
        other request's "idle" is followed at once, in the same call, by a "busy" for the held
        one. Saying busy later, from the panel's handler, left the bar reading "Idle" between
        the two (CI saw it). The request's own "idle" ends the hold: a hold never outlives its
        cell, whatever way the cell ends. Held before the panel's comm opens, since JupyterLab
        asks for the subshell as soon as it does.
        """
        guard = StatusGuard.of(self.kernel)
        if guard is not None and self.msg_id not in guard.held:
            guard.held[self.msg_id] = self.parent

    def release_busy(self) -> None:
        """End :meth:`hold_busy` (the run is over; the cell's own idle follows)."""
        guard = StatusGuard.of(self.kernel, install=False)
        if guard is not None:
            guard.held.pop(self.msg_id, None)


# ----------------------------------------------------------------- routed streams
class _LineBuffer:
    """One thread's writes to one stream, passed on a whole line at a time."""

    __slots__ = ("pending", "target")

    def __init__(self, target: Any) -> None:
        self.target = target
        self.pending = ""

    def write(self, text: str) -> None:
        text = self.pending + text
        head, newline, tail = text.rpartition("\n")
        self.pending = tail
        if newline:
            self.target.write(head + newline)

    def flush(self) -> None:
        if self.pending:
            text, self.pending = self.pending, ""
            self.target.write(text)


class _RoutedStream:
    """Stands in for ``sys.stdout`` / ``sys.stderr`` while a run needs per-thread output.

    A write from a thread with a route goes to that route; any other write goes straight to
    the stream it replaced, so the rest of the kernel sees no difference.
    """

    def __init__(self, name: str, target: Any) -> None:
        self._name = name
        self._routed_target = target
        self._routes: dict[int, Callable[[str, str], None]] = {}
        self._lines: dict[int, _LineBuffer] = {}

    def write(self, text: str) -> int:
        ident = threading.get_ident()
        route = self._routes.get(ident)
        if route is not None:
            route(self._name, text)
            return len(text)
        lines = self._lines.get(ident)
        if lines is not None:
            lines.write(text)
            return len(text)
        return int(self._routed_target.write(text) or 0)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        lines = self._lines.get(threading.get_ident())
        if lines is not None:
            lines.flush()
        self._routed_target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._routed_target, name)


_streams_lock = threading.Lock()
_streams_users = 0


def _install_streams() -> tuple[_RoutedStream, _RoutedStream]:
    global _streams_users
    with _streams_lock:
        for name in ("stdout", "stderr"):
            if not isinstance(getattr(sys, name), _RoutedStream):
                setattr(sys, name, _RoutedStream(name, getattr(sys, name)))
        _streams_users += 1
        return sys.stdout, sys.stderr  # type: ignore[return-value]


def _release_streams() -> None:
    global _streams_users
    with _streams_lock:
        _streams_users -= 1
        if _streams_users > 0:
            return
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            # Only our own proxy is taken out: a capture (%%capture) that replaced it since
            # puts it back itself, and it passes everything through once nobody routes.
            if isinstance(stream, _RoutedStream):
                setattr(sys, name, stream._routed_target)


class OutputWidgetWriter:
    """A background run's trial output, shown in an output widget beneath its cell.

    Writes are gathered and sent at most ~5 times a second (each send carries the widget's
    whole text, as its ``outputs`` trait does). One writer can serve several runs in turn (the
    runs a panel continues): each run's text follows the previous one's.
    """

    interval = 0.2

    def __init__(self) -> None:
        import ipywidgets

        self.widget = ipywidgets.Output()
        self._texts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._order: list[str] = []  # the stream of each output, in order
        self._lock = threading.Lock()
        self._dirty = False
        self._sent_at = 0.0
        self._parent: KernelParent | None = None

    def show(self) -> None:
        from IPython.display import display

        display(self.widget)  # type: ignore[no-untyped-call]

    def show_in(self, handle: Any) -> None:
        """Show the widget in the output of display ``handle`` (one its cell already has)."""
        from optuna_magic.outputs.snapshot.html import WIDGET_VIEW_MIMETYPE

        view = {"version_major": 2, "version_minor": 1, "model_id": self.widget.model_id}
        handle.update({WIDGET_VIEW_MIMETYPE: view, "text/plain": ""}, raw=True)

    def write(self, name: str, text: str) -> None:
        with self._lock:
            if not self._order or self._order[-1] != name:
                self._order.append(name)
                self._texts[name].append("")
            self._texts[name][-1] += text
            self._dirty = True
            due = time.monotonic() - self._sent_at >= self.interval
        if due:
            self.send()

    def send(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            self._sent_at = time.monotonic()
            seen = {"stdout": 0, "stderr": 0}
            outputs = []
            for name in self._order:
                outputs.append(
                    {"output_type": "stream", "name": name, "text": self._texts[name][seen[name]]}
                )
                seen[name] += 1
            self.widget.outputs = tuple(outputs)


class RunOutput(BaseSink):
    """The output of the cell that starts a run, for every thread that runs its trials.

    A sink, so that it takes hold when the run starts and lets go when it ends; the runner
    calls :meth:`adopt_thread` first thing in each thread that runs trials.

    Args:
        parent: the cell's request.
        background: the cell returns at once (``--background``): trial output goes to an
            output widget beneath it, shown now.
        threads: trials run in several threads at once (``--n-jobs``): keep lines whole.
        writer: the output widget a background run writes into, already shown (a panel's
            continued runs share one); default a new one, shown now.
    """

    def __init__(
        self,
        parent: KernelParent,
        *,
        background: bool,
        threads: bool,
        writer: OutputWidgetWriter | None = None,
    ) -> None:
        self.parent = parent
        self.background = background
        self._threads = threads
        self._writer: OutputWidgetWriter | None = writer
        self._adopted: list[int] = []
        self._streams: tuple[_RoutedStream, _RoutedStream] | None = None
        if background and writer is None:
            self._writer = OutputWidgetWriter()
            self._writer.show()

    @classmethod
    def for_cell(
        cls, *, background: bool, n_jobs: int, writer: OutputWidgetWriter | None = None
    ) -> RunOutput | None:
        """For the cell running now (or the one whose panel continues its run: the request a
        panel's message is handled under), in a kernel; None elsewhere (a terminal needs
        nothing)."""
        parent = KernelParent.current()
        if parent is None:
            return None
        return cls(parent, background=background, threads=n_jobs != 1, writer=writer)

    @property
    def writer(self) -> OutputWidgetWriter | None:
        """The output widget a background run's trials print into (None: the cell's own)."""
        return self._writer

    @property
    def routes_threads(self) -> bool:
        """Whether trial threads' writes go through a per-thread route (see the module)."""
        return self._writer is not None or self._threads

    def run_started(self, info: RunInfo, control: RunControl) -> None:
        """Stand in for the streams when trial threads need routes."""
        if self.routes_threads:
            self._streams = _install_streams()

    def adopt_thread(self) -> None:
        """Called first thing in each thread that runs trials."""
        if self._writer is None:
            self.parent.adopt()
        # else a background run: its prints go to the widget; what else it sends (the end of
        # run snapshot's display update) stays under the latest request, which a front end
        # still listens to (nbclient applies an update only while its request runs).
        streams = self._streams
        if streams is None:
            return
        ident = threading.get_ident()
        self._adopted.append(ident)
        for stream in streams:
            if self._writer is not None:
                stream._routes[ident] = self._writer.write
            else:
                stream._lines[ident] = _LineBuffer(stream._routed_target)

    def run_ended(self, result: RunResult) -> None:
        """Let the last partial lines out, and give the streams back."""
        streams, self._streams = self._streams, None
        if streams is None:
            return
        for ident in self._adopted:
            for stream in streams:
                stream._routes.pop(ident, None)
                lines = stream._lines.pop(ident, None)
                if lines is not None:
                    lines.flush()
        self._adopted.clear()
        if self._writer is not None:
            self._writer.send()
        _release_streams()
