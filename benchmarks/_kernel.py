"""A real IPython kernel driven through jupyter_client, with every iopub message captured raw.

The shell channel goes through jupyter_client's ``BlockingKernelClient``; iopub is read by a SUB
socket of our own in a thread, so each message's exact wire size (its header, parent header,
metadata, content and binary buffer frames) is known, not only its decoded content.
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client import KernelManager
from jupyter_client.session import Session

REPO = Path(__file__).resolve().parents[1]


@dataclass
class IopubMessage:
    """One iopub message as received: when, its type, content, and size on the wire."""

    received: float  # time.monotonic() at arrival in this process
    msg_type: str
    parent_id: str | None
    date: datetime.datetime | None  # the kernel's header date
    content: dict[str, Any]
    nbytes: int  # header + parent header + metadata + content + buffers
    buffer_bytes: int


@dataclass
class Execution:
    """What one cell did: its kernel-side duration (busy -> idle) and its iopub messages."""

    code: str
    reply: dict[str, Any]
    seconds: float
    messages: list[IopubMessage] = field(default_factory=list)

    def stdout(self) -> str:
        return "".join(
            m.content.get("text", "")
            for m in self.messages
            if m.msg_type == "stream" and m.content.get("name") == "stdout"
        )

    def error(self) -> str | None:
        for m in self.messages:
            if m.msg_type == "error":
                return "\n".join(m.content.get("traceback", [])) or m.content.get("evalue", "")
        return None


class Kernel:
    """A fresh ipykernel of this interpreter in an isolated IPython profile.

    ``view_panels``: act as a page that shows every panel: on a panel's ``comm_open`` ask it
    for its record (``sync``), as each view does as it opens; the magic's panel streams its
    deltas only once one has. Sent from a second client, whose shell socket only the iopub
    thread uses (a zmq socket is not to be shared between threads). It can be turned on and
    off (``view_panels``): a view's request, handled mid-run, publishes a status of its own
    under the cell's request, which the cell timings, read from those statuses, must not see.
    """

    def __init__(self, *, view_panels: bool = False) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="om-bench-kernel-")
        home = Path(self._tmp.name)
        env = dict(os.environ)
        env.update(
            IPYTHONDIR=str(home / "ipython"),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            PYTHONUNBUFFERED="1",
            MPLBACKEND="Agg",
        )
        self.km = KernelManager(kernel_name="python3")
        # This interpreter (the project's venv), whatever kernel spec "python3" points at.
        self.km.kernel_spec.argv[0] = sys.executable
        # Not the repository as working directory: the installed package is what is measured
        # (PYTHONPATH can point the kernel at another copy of optuna_magic to compare).
        self.km.start_kernel(env=env, cwd=str(home))
        self.kc = self.km.blocking_client()
        self.kc.start_channels(iopub=False, stdin=False)
        self.kc.wait_for_ready(timeout=60)
        self.view_panels = view_panels
        self._viewer: Any = None  # made by the iopub thread, at the first panel it views
        self._session = Session(key=self.km.session.key, signature_scheme="hmac-sha256")
        self._ctx = zmq.Context.instance()
        self._lock = threading.Lock()
        self._log: list[IopubMessage] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read_iopub, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        # PUB/SUB "slow joiner": wait until a message of ours is seen on our SUB socket.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ex = self.execute("1", check=False)
            if any(m.msg_type == "status" for m in ex.messages):
                break

    # ------------------------------------------------------------------ iopub
    def _read_iopub(self) -> None:
        sock = self._ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.setsockopt(zmq.RCVHWM, 0)
        info = self.km.get_connection_info()
        sock.connect(f"{info['transport']}://{info['ip']}:{info['iopub_port']}")
        self._ready.set()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        while not self._stop.is_set():
            if not poller.poll(100):
                continue
            frames = sock.recv_multipart(copy=True)
            now = time.monotonic()
            try:
                _idents, msg_frames = self._session.feed_identities(frames, copy=True)
                # [hmac, header, parent, metadata, content, *buffers]
                size = sum(len(f) for f in msg_frames[1:])
                buffers = sum(len(f) for f in msg_frames[5:])
                msg = self._session.deserialize(msg_frames, content=True, copy=True)
            except Exception:  # pragma: no cover - a frame we cannot read
                continue
            if self.view_panels and msg["header"]["msg_type"] == "comm_open":
                self._view(msg["content"])
            parent = msg.get("parent_header") or {}
            date = msg["header"].get("date")
            with self._lock:
                self._log.append(
                    IopubMessage(
                        received=now,
                        msg_type=msg["header"]["msg_type"],
                        parent_id=parent.get("msg_id"),
                        date=date if isinstance(date, datetime.datetime) else None,
                        content=msg["content"],
                        nbytes=size,
                        buffer_bytes=buffers,
                    )
                )
        sock.close(linger=0)

    def _view(self, content: dict[str, Any]) -> None:
        state = (content.get("data") or {}).get("state") or {}
        if "status" not in state or "meta" not in state:
            return  # not a panel
        if self._viewer is None:
            self._viewer = self.km.blocking_client()
            self._viewer.start_channels(iopub=False, stdin=False, hb=False, control=False)
        data = {"method": "custom", "content": {"type": "sync"}}
        msg = self._viewer.session.msg("comm_msg", {"comm_id": content["comm_id"], "data": data})
        self._viewer.shell_channel.send(msg)

    def mark(self) -> int:
        """A position in the iopub log; ``since(mark)`` returns what came after it."""
        with self._lock:
            return len(self._log)

    def since(self, mark: int) -> list[IopubMessage]:
        with self._lock:
            return list(self._log[mark:])

    def quiet_for(self, seconds: float = 0.3, timeout: float = 30) -> None:
        """Wait until no iopub message has come for ``seconds`` (background threads done)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self._log[-1].received if self._log else 0.0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(seconds / 3)

    # ------------------------------------------------------------------ shell
    def execute(self, code: str, *, timeout: float = 600, check: bool = True) -> Execution:
        """Run ``code`` as a cell; returns its busy -> idle time as the kernel stamped it."""
        start = self.mark()
        msg_id = self.kc.execute(code, store_history=False)
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        # The idle status comes on iopub after the reply: wait for it.
        deadline = time.monotonic() + 30
        busy = idle = None
        while time.monotonic() < deadline:
            for m in self.since(start):
                if m.msg_type == "status" and m.parent_id == msg_id:
                    state = m.content.get("execution_state")
                    if state == "busy":
                        busy = m.date
                    elif state == "idle":
                        idle = m.date
            if idle is not None:
                break
            time.sleep(0.005)
        seconds = (idle - busy).total_seconds() if busy and idle else float("nan")
        ex = Execution(code, reply["content"], seconds, self.since(start))
        if check and reply["content"].get("status") != "ok":
            raise RuntimeError(f"cell failed:\n{code}\n{ex.error() or reply['content']}")
        return ex

    def value(self, expr: str) -> Any:
        """Evaluate ``expr`` in the kernel and return it (it must be a Python literal)."""
        import ast

        ex = self.execute(f"print(repr({expr}))")
        return ast.literal_eval(ex.stdout().strip())

    def close(self) -> None:
        self._stop.set()
        try:
            self.kc.stop_channels()
            if self._viewer is not None:
                self._viewer.stop_channels()
            self.km.shutdown_kernel(now=True)
        finally:
            self._thread.join(2)
            self._tmp.cleanup()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
