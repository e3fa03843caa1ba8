"""The panel's front end: the bundle (``static/widget.js``) and the loader every panel sends.

Every panel's ``_esm`` is the ~1 kB loader (js/src/loader.ts), not the 1.6 MB bundle: a page asks
the kernel for the bundle once, by a ``bundle`` request, and shares it between its panels. The
loader carries a hash of the bundle, so a page that kept an older bundle (the package was
rebuilt, the kernel restarted) asks for the new one. Where the page's host drops binary
buffers, the code goes as text instead (see :mod:`.wire`).
"""

from __future__ import annotations

import pathlib

from optuna_magic.outputs.panel.wire import BundleMessage, BundleRequest

__all__ = ["BUNDLE", "Bundle"]

_STATIC = pathlib.Path(__file__).parents[2] / "static"
_BUNDLE_PATH = _STATIC / "widget.js"
_LOADER_PATH = _STATIC / "loader.js"
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
    """``widget.js``, read once, and the loader (``esm``) that fetches it by its ``version``."""

    def __init__(self) -> None:
        # Kept as read, so what a page is sent always matches the version its loader names.
        self.code = b""
        self.esm = _MISSING_ESM
        self.version = ""
        self._text: str | None = None  # the code decoded, once a host needs it as text
        if _BUNDLE_PATH.is_file() and _LOADER_PATH.is_file():
            import hashlib

            self.code = _BUNDLE_PATH.read_bytes()
            self.version = hashlib.blake2b(self.code, digest_size=12).hexdigest()
            loader = _LOADER_PATH.read_text(encoding="utf-8")
            self.esm = loader.replace(_LOADER_VERSION, self.version)

    def reply(
        self, request: BundleRequest, *, buffers: bool = True
    ) -> tuple[BundleMessage, list[bytes]] | None:
        """The answer to a page's ``bundle`` request: the code, if the page asks for this
        version (a page that names another keeps waiting for its own kernel).

        ``buffers=False`` (a host that drops binary buffers): the code as text in the message.
        """
        if request.get("version") != self.version:
            return None
        if not buffers:
            text = self._text
            if text is None:
                text = self._text = self.code.decode("utf-8")  # esbuild writes UTF-8
            return {"type": "bundle", "version": self.version, "code": text}, []
        return {"type": "bundle", "version": self.version}, [self.code]


BUNDLE = Bundle()
