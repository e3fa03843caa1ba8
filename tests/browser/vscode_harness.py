"""Test host "VS Code's widget manager in Chromium": the parts VS Code uses, on loopback.

VS Code's Jupyter extension renders a notebook's outputs in a webview: an iframe of its own
origin, sandboxed, where Microsoft's ipywidgets 8 widget manager (npm
``@vscode/jupyter-ipywidgets8``) runs with RequireJS and loads third-party widget code (here
anywidget's) from the kernel environment's ``share/jupyter/nbextensions/<module>/index.js``. The
webview never reaches the kernel itself: the extension host holds the kernel connection and
mirrors every kernel frame into the webview, whose own ``KernelConnection`` sends its frames back
the same way. This host is built from exactly those parts:

- ``workbench.html`` (origin A) stands for the extension host: it holds the one websocket to a
  real Jupyter server (which allows origin A), executes cells, keeps each cell's outputs and tells
  the webview what to render, each output by its richest MIME type (the widget view only while
  the kernel holds the widget's model, as VS Code asks before it renders one);
- ``webview.html`` (origin B, an iframe sandboxed as VS Code's is) runs RequireJS, the
  ipywidgets 8 bundle, ``dist/kernel.js`` (a ``@jupyterlab/services`` KernelConnection over
  postMessage, built here with esbuild) and lays outputs out as VS Code's webview does
  (``.cell_container > .output_container > .output``).

``csp="vscode"`` adds the Content-Security-Policy that VS Code puts on notebook webviews when its
``notebook.experimental.enableCsp`` setting is on (its ``webviewGenericCspSource`` is the
webview's resource origin, here origin B); by default VS Code sets none, and neither does this
host. The npm packages live in ``tests/browser/vscode_host`` (``make test`` runs ``npm ci`` there).
"""

from __future__ import annotations

import contextlib
import html
import http.server
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "vscode_host"
MODULES = HERE / "node_modules"
NBEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "nbextensions"  # the kernel's env
# VS Code's notebook webview policy (backLayerWebView.ts, with notebook.experimental.enableCsp),
# its resource origin written as 'self'.
VSCODE_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' https: http: data:; "
    "font-src 'self' https:; "
    "connect-src https:; "
    "child-src https: data:;"
)
WEBVIEW_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">{csp}
<style>
  body {{ margin: 0; padding: 0 20px; font-family: system-ui, sans-serif; font-size: 13px;
         background: #ffffff; color: #3b3b3b; }}
  .cell_container {{ margin: 8px 0 16px; }}
  .output_container {{ border-left: 2px solid #e0e0e0; margin: 2px 0; }}
  .output {{ padding: 4px 8px; }}
  .output pre {{ margin: 0; white-space: pre-wrap; }}
</style></head>
<body class="vscode-light" data-vscode-theme-kind="vscode-light">
<div id="container" class="widgetarea"></div>
<script src="require.js"></script>
<script src="kernel.js"></script>
<script type="module" src="webview.js"></script>
</body></html>
"""
FILES = {
    "/workbench.html": HERE / "workbench.html",
    "/workbench.js": HERE / "workbench.js",
    "/webview.js": HERE / "webview.js",
    "/require.js": MODULES / "requirejs" / "require.js",
    "/ipywidgets.js": MODULES / "@vscode" / "jupyter-ipywidgets8" / "dist" / "ipywidgets.js",
}
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def missing_reason() -> str | None:
    """Why this host cannot run here, or None."""
    for path in FILES.values():
        if not path.exists():
            return (
                f"{path.relative_to(HERE.parent)} is missing: run `npm ci` in "
                "tests/browser/vscode_host (`make test` does)"
            )
    if not (NBEXTENSIONS / "anywidget" / "index.js").exists():
        return f"anywidget's nbextension is not installed in {NBEXTENSIONS}"
    return None


def build_kernel_bundle(out: Path) -> Path:
    """Bundle ``kernel_entry.js`` (the webview's KernelConnection) with the host's esbuild."""
    target = out / "kernel.js"
    subprocess.run(
        [
            str(MODULES / ".bin" / "esbuild"),
            str(HERE / "kernel_entry.js"),
            "--bundle",
            "--format=iife",
            f"--outfile={target}",
            "--log-level=warning",
        ],
        check=True,
        cwd=HERE,
        timeout=120,
    )
    return target


class _Handler(http.server.BaseHTTPRequestHandler):
    kernel_js: Path

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read the pages, not the access log

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/favicon.ico":  # asked by every page; a 404 would be a console error
            self.send_response(204)
            self.end_headers()
            return None
        if url.path == "/webview.html":
            mode = urllib.parse.parse_qs(url.query).get("csp", [""])[0]
            meta = (
                f'\n<meta http-equiv="Content-Security-Policy" content="{html.escape(VSCODE_CSP)}">'
                if mode == "vscode"
                else ""
            )
            return self._send(WEBVIEW_HTML.format(csp=meta).encode(), "text/html")
        path = FILES.get(url.path)
        if url.path == "/kernel.js":
            path = self.kernel_js
        elif url.path.startswith("/nbextensions/"):
            # VS Code's local widget script source: the kernel environment's nbextensions.
            candidate = (NBEXTENSIONS / url.path.removeprefix("/nbextensions/")).resolve()
            if NBEXTENSIONS.resolve() in candidate.parents:
                path = candidate
        if path is None or not path.is_file():
            self.send_error(404)
            return None
        return self._send(path.read_bytes(), TYPES.get(path.suffix, "application/octet-stream"))

    def _send(self, body: bytes, mime: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@dataclass
class StaticOrigins:
    """Two loopback origins serving the host's files: the workbench's and the webview's."""

    workbench: str
    webview: str
    servers: list[http.server.ThreadingHTTPServer]

    def close(self) -> None:
        for s in self.servers:
            s.shutdown()
            s.server_close()


@contextlib.contextmanager
def static_origins(kernel_js: Path) -> Iterator[StaticOrigins]:
    handler = type("Handler", (_Handler,), {"kernel_js": kernel_js})
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    a, b = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    origins = StaticOrigins(workbench=a, webview=b, servers=servers)
    try:
        yield origins
    finally:
        origins.close()


class VscodeHost:
    """One workbench page with its webview, on one kernel (or none: a notebook opened offline)."""

    def __init__(self, page: Any, origins: StaticOrigins, server: Any, csp: str = "") -> None:
        self.page = page
        self.origins = origins
        self.server = server
        self.csp = csp
        self.kernel_id: str | None = None

    def open(self, *, kernel: bool = True, timeout: float = 60) -> None:
        """Load the workbench, start a kernel (unless ``kernel=False``), wait for the webview."""
        params: dict[str, str] = {"webview": self.origins.webview, "csp": self.csp}
        if kernel:
            self.kernel_id = str(self.server.api("api/kernels", "POST", {"name": "python3"})["id"])
            params.update(server=self.server.url, token=self.server.token, kernel=self.kernel_id)
        # A query of its own: a URL that differs only in its fragment would not load a new page.
        self.page.goto(
            f"{self.origins.workbench}/workbench.html?{uuid.uuid4().hex}"
            f"#{urllib.parse.urlencode(params)}",
            timeout=timeout * 1000,
        )
        self.page.wait_for_function(
            "() => window.__workbench && window.__workbench.webviewReady"
            + (" && window.__workbench.connected" if kernel else ""),
            timeout=timeout * 1000,
        )

    @property
    def webview(self) -> Any:
        """The webview frame (Playwright ``Frame``)."""
        frame = self.page.frame(name=None, url=lambda u: u.startswith(self.origins.webview))
        assert frame is not None, "no webview frame"
        return frame

    @property
    def view(self) -> Any:
        """A locator scope for the webview's DOM."""
        return self.page.frame_locator("#webview")

    def execute(self, code: str) -> str:
        """Run ``code`` as a cell; returns the cell's id at once."""
        return str(self.page.evaluate("(c) => window.workbench.execute(c)", code))

    def cell_done(self, cell: str) -> bool:
        return bool(self.page.evaluate("(c) => window.__workbench.cells[c].done", cell))

    def wait_done(self, cell: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not self.cell_done(cell):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"cell still running after {timeout} s\n{self.server.log_tail()}"
                )
            time.sleep(0.2)

    def run(self, code: str, timeout: float = 120) -> str:
        cell = self.execute(code)
        self.wait_done(cell, timeout)
        return cell

    def outputs(self, cell: str) -> list[dict[str, Any]]:
        """The cell's outputs as the workbench keeps them (and which MIME type each shows)."""
        return list(self.page.evaluate("(c) => window.workbench.outputs(c)", cell))

    def open_offline(self, cells: list[list[dict[str, Any]]]) -> list[str]:
        """Show saved outputs without a kernel (a notebook reopened with no kernel running)."""
        return list(self.page.evaluate("(c) => window.workbench.open(c)", cells))

    def second_view(self, cell: str, index: int) -> None:
        self.page.evaluate("([c, i]) => window.workbench.secondView(c, i)", [cell, index])

    def cell(self, cell: str) -> Any:
        """The locator of the cell's outputs in the webview."""
        return self.view.locator(f"[id='{cell}']")

    def violations(self) -> list[str]:
        return list(self.webview.evaluate("() => window.__vscodeHost.violations"))

    def visible_outputs(self, cell: str) -> list[str]:
        """The text (first 40 characters) of each of the cell's outputs that shows something."""
        return list(
            self.webview.evaluate(
                """(c) => [...document.getElementById(c).querySelectorAll('.output_container')]
                    .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height > 0)
                    .map(e => e.innerText.trim().slice(0, 40))""",
                cell,
            )
        )

    def shutdown(self) -> None:
        if self.kernel_id:
            with contextlib.suppress(Exception):
                self.server.api(f"api/kernels/{self.kernel_id}", method="DELETE")
