"""The kernel's status, as JupyterLab's status bar shows it while a cell waits for its run.

See :meth:`optuna_magic.outputs.kernel_output.KernelParent.hold_busy`. Only the kernel object is
used; nothing here imports ipykernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["StatusGuard"]


class StatusGuard:
    """The kernel's status publisher, with a "busy" after any other request's "idle" while a
    request is held (:meth:`KernelParent.hold_busy`).

    Installed once per kernel in place of ipykernel's ``_publish_status`` (not public: the one
    place every status, shell's or control's, goes through; ipykernel has no hook for it).
    """

    __slots__ = ("held", "kernel", "publish")

    def __init__(self, kernel: Any, publish: Callable[..., None]) -> None:
        self.kernel = kernel
        self.publish = publish
        self.held: dict[str, dict[str, Any]] = {}  # msg_id -> the held request

    @classmethod
    def of(cls, kernel: Any, install: bool = True) -> StatusGuard | None:
        current = getattr(kernel, "_publish_status", None)
        if isinstance(current, cls):
            return current
        if not install or current is None or not hasattr(kernel, "get_parent"):
            return None
        guard = cls(kernel, current)
        kernel._publish_status = guard
        return guard

    def __call__(self, status: str, channel: str, parent: Any = None) -> None:
        self.publish(status, channel, parent)
        held = self.held
        if not held or status != "idle":
            return
        msg = parent or self.kernel.get_parent(channel)
        header = msg.get("header") if isinstance(msg, dict) else None
        msg_id = str(header.get("msg_id")) if isinstance(header, dict) else ""
        if held.pop(msg_id, None) is not None:
            return  # the held request itself has ended
        for request in list(held.values())[-1:]:
            self.publish("busy", "shell", request)  # the kernel is still busy with it
