"""The panel's front end: the bundle (``static/widget.js`` and ``static/plotly.js``) and the
loader every panel sends.

Every panel's ``_esm`` is the ~1 kB loader (js/src/loader.ts), not the 1.65 MB bundle: a page
asks the kernel for the panel's code once, by a ``bundle`` request, and shares it between its
panels; once a panel is on screen it asks for plotly the same way (``part: "plotly"``), so the
header and the table do not wait for plotly's 1.5 MB. The loader carries a hash of both parts,
so a page that kept an older bundle (the package was rebuilt, the kernel restarted) asks for
the new one. Where the page's host drops binary buffers, the code goes as text instead (see
:mod:`.wire`).
"""

from __future__ import annotations

import json
import pathlib
import threading
from typing import Literal

from optuna_magic.outputs.panel.wire import BundleMessage, BundleRequest

__all__ = ["BUNDLE", "Bundle"]

_STATIC = pathlib.Path(__file__).parents[2] / "static"
_BUNDLE_PATH = _STATIC / "widget.js"
_PLOTLY_PATH = _STATIC / "plotly.js"
_LOADER_PATH = _STATIC / "loader.js"
_VERSION_PATH = _STATIC / "version.txt"  # a hash of both parts, written by js/build.mjs
# Where a bundle served whole finds plotly's text (js/src/widget.ts, INLINE_PLOTLY).
_INLINE_PLOTLY = "optuna-magic:plotly-source"
_LOADER_VERSION = "__OPTUNA_MAGIC_BUNDLE__"
# Without a built bundle (a source checkout before `make js`) the panel says so instead of
# failing to import.
_MISSING_ESM = """
export default { render({ el }) {
  el.classList.add("optuna-magic");
  el.textContent = "optuna-magic: the panel bundle is not built (run `make js`).";
} };
"""


class Bundle:
    """The loader (``esm``) that fetches ``widget.js`` and ``plotly.js`` by their ``version``.

    The parts are read from disk when a page asks for them, never kept: a page asks once, and
    a kernel that no page watches (a batch run) holds none of their 1.65 MB. (A package rebuilt
    under a running kernel is served as rebuilt; its loader keeps asking by the version it
    was given, which only a fresh kernel changes.)
    """

    def __init__(self) -> None:
        self.esm = _MISSING_ESM
        self.version = ""
        self._sent_with_a_panel = False
        self._lock = threading.Lock()
        parts = (_BUNDLE_PATH, _PLOTLY_PATH, _LOADER_PATH, _VERSION_PATH)
        if all(path.is_file() for path in parts):
            self.version = _VERSION_PATH.read_text(encoding="utf-8").strip()
            loader = _LOADER_PATH.read_text(encoding="utf-8")
            self.esm = loader.replace(_LOADER_VERSION, self.version)

    @property
    def code(self) -> bytes:
        """The panel's ES module (``widget.js``); empty where the bundle is not built."""
        return _BUNDLE_PATH.read_bytes() if self.version else b""

    @property
    def plotly(self) -> bytes:
        """plotly's ES module (``plotly.js``); empty where the bundle is not built."""
        return _PLOTLY_PATH.read_bytes() if self.version else b""

    def code_for_first_panel(self) -> str:
        """The panel's code for the first panel this kernel draws for a cell, else empty.

        That panel carries it in its comm_open (the ``_code`` trait): a page without a copy
        imports it at once instead of asking (js/src/loader.ts), which in a kernel's first
        ``%%optuna`` cell had waited for JupyterLab to open the comm's subshell and for the busy
        kernel to answer. Text, not a binary buffer: a host that drops buffers (Colab) fails to
        open a comm whose state names one, and the ~100 kB of JSON cost ~1 ms. Once per kernel:
        the page keeps the code for every later panel, and a page opened later asks as before.
        The panel forgets it when its run ends, so a saved widget state does not keep it.
        """
        with self._lock:
            if self._sent_with_a_panel or not self.version:
                return ""
            self._sent_with_a_panel = True
        return self.code.decode("utf-8")  # esbuild writes UTF-8

    def reply(
        self, request: BundleRequest, *, buffers: bool = True
    ) -> tuple[BundleMessage, list[bytes]] | None:
        """The answer to a page's ``bundle`` request: the part it names, if the page asks for
        this version (a page that names another keeps waiting for its own kernel).

        ``buffers=False`` (a host that drops binary buffers): the code as text in the message.
        """
        if request.get("version") != self.version or not self.version:
            return None
        part: Literal["plotly"] | None = request.get("part")
        message: BundleMessage = {"type": "bundle", "version": self.version}
        if part == "plotly":
            message["part"] = "plotly"
        code = self.plotly if part == "plotly" else self.code
        if not buffers:
            message["code"] = code.decode("utf-8")  # esbuild writes UTF-8
            return message, []
        return message, [code]

    def inline_esm(self) -> str:
        """The whole bundle as one ES module, plotly's text before the panel's code, for a host
        that cannot answer the loader's requests while a cell runs (marimo)."""
        if not self.version:
            return self.esm
        # JSON is a JavaScript string literal (U+2028 included, ES2019).
        plotly = json.dumps(self.plotly.decode("utf-8"))
        panel = self.code.decode("utf-8")
        return f"globalThis[{json.dumps(_INLINE_PLOTLY)}] ??= {plotly};\n" + panel


BUNDLE = Bundle()
