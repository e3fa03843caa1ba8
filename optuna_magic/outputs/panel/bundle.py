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

from optuna_magic.outputs.panel.wire import BundleMessage, BundleRequest

__all__ = ["BUNDLE", "Bundle"]

_STATIC = pathlib.Path(__file__).parents[2] / "static"
_BUNDLE_PATH = _STATIC / "widget.js"
_PLOTLY_PATH = _STATIC / "plotly.js"
_LOADER_PATH = _STATIC / "loader.js"
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
    """``widget.js`` and ``plotly.js``, read once, and the loader (``esm``) that fetches them
    by their ``version``."""

    def __init__(self) -> None:
        # Kept as read, so what a page is sent always matches the version its loader names.
        self.code = b""
        self.plotly = b""
        self.esm = _MISSING_ESM
        self.version = ""
        self._texts: dict[str, str] = {}  # each part decoded, once a host needs it as text
        if _BUNDLE_PATH.is_file() and _PLOTLY_PATH.is_file() and _LOADER_PATH.is_file():
            import hashlib

            self.code = _BUNDLE_PATH.read_bytes()
            self.plotly = _PLOTLY_PATH.read_bytes()
            digest = hashlib.blake2b(digest_size=12)
            digest.update(self.code)
            digest.update(self.plotly)
            self.version = digest.hexdigest()
            loader = _LOADER_PATH.read_text(encoding="utf-8")
            self.esm = loader.replace(_LOADER_VERSION, self.version)

    def reply(
        self, request: BundleRequest, *, buffers: bool = True
    ) -> tuple[BundleMessage, list[bytes]] | None:
        """The answer to a page's ``bundle`` request: the part it names, if the page asks for
        this version (a page that names another keeps waiting for its own kernel).

        ``buffers=False`` (a host that drops binary buffers): the code as text in the message.
        """
        if request.get("version") != self.version:
            return None
        part = request.get("part")
        message: BundleMessage = {"type": "bundle", "version": self.version}
        if part == "plotly":
            message["part"] = "plotly"
        code = self.plotly if part == "plotly" else self.code
        if not buffers:
            message["code"] = self._text(part or "panel", code)
            return message, []
        return message, [code]

    def _text(self, part: str, code: bytes) -> str:
        text = self._texts.get(part)
        if text is None:
            text = self._texts[part] = code.decode("utf-8")  # esbuild writes UTF-8
        return text

    def inline_esm(self) -> str:
        """The whole bundle as one ES module, plotly's text before the panel's code, for a host
        that cannot answer the loader's requests while a cell runs (marimo)."""
        if not self.code:
            return self.esm
        # JSON is a JavaScript string literal (U+2028 included, ES2019).
        plotly = json.dumps(self._text("plotly", self.plotly))
        return f"globalThis[{json.dumps(_INLINE_PLOTLY)}] ??= {plotly};\n" + self._text(
            "panel", self.code
        )


BUNDLE = Bundle()
