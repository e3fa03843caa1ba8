"""Browser test harness: a real JupyterLab / Notebook 7 server and Debian's Chromium via Playwright.

This module holds the helpers; ``conftest.py`` holds the fixtures that use them.

One server per kind and one browser per test session (starting JupyterLab takes seconds); each
test gets a fresh browser context and its own notebook file and workspace, so tests don't share
tabs, kernels or cookies. Everything the servers write lives in a temporary directory; screenshots
go to ``artifacts/screenshots/`` (git-ignored).

Chromium comes from Debian (``apt-get install chromium``) because Playwright's own browser
download is not reachable here; without it every browser test is skipped with that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("OPTUNA_MAGIC_CHROMIUM", "/usr/bin/chromium")
# The background-networking flags matter here, not only for speed: without them Chromium's own
# connections (component updates, sync) are refused by this sandbox and its start gets flaky.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
SERVER_START_TIMEOUT = 90.0
# Console messages that come from the test setup, not from the page under test.
BENIGN_CONSOLE = (
    re.compile(r"favicon", re.I),
    # JupyterLab asks the server for news/updates; the server answers 4xx/5xx offline.
    re.compile(r"/lab/api/(news|update)", re.I),
    # Notebook 7.6's shortcuts plugin reacts to a settings change of a plugin it has not loaded
    # (notebook_core, `t.plugins[i].schema`); it happens on every page load, panel or not.
    re.compile(r"reading 'schema'\).*static/notebook/notebook_core", re.S),
)


def missing_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return (
            f"no Chromium at {CHROMIUM} (install Debian's: `apt-get install chromium`, or "
            "`make browser-deps`; or set OPTUNA_MAGIC_CHROMIUM)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


# ----------------------------------------------------------------------- server
@dataclass
class JupyterServer:
    """A running Jupyter server: JupyterLab (``kind="lab"``) or Notebook 7 (``"notebook"``)."""

    kind: str
    url: str
    token: str
    root: Path
    settings_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    def notebook_url(self, name: str) -> str:
        """The address that opens notebook ``name`` (relative to the root) in this front end."""
        if self.kind == "lab":
            # A workspace of its own per page: JupyterLab restores no other test's tabs.
            return (
                f"{self.url}lab/workspaces/t{uuid.uuid4().hex[:10]}/tree/{name}?token={self.token}"
            )
        return f"{self.url}notebooks/{name}?token={self.token}"

    def api(self, path: str, method: str = "GET", body: Any = None) -> Any:
        """Call the server's REST API (``api/...``); JSON in, JSON out."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log_tail(self, n: int = 80) -> str:
        """The last ``n`` lines of the server's log (kernel errors show up here too)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-n:])

    def shutdown_kernels(self) -> None:
        """Stop every kernel the server runs (a test's long run must not slow the next test)."""
        with contextlib.suppress(Exception):
            for k in self.api("api/kernels"):
                self.api(f"api/kernels/{k['id']}", method="DELETE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(kind: str, base: Path, extra_args: list[str] | None = None) -> JupyterServer:
    """Start a server of ``kind``: ``"lab"``, ``"notebook"``, or ``"server"`` (a bare Jupyter
    server, no front end: the VS Code host talks to it through its kernel websocket)."""
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    settings = base / "settings"
    write_theme(settings, dark=False)
    home = base / "home"
    for d in ("config", "data", "runtime", "ipython"):
        (home / d).mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    port = _free_port()
    log_path = base / f"{kind}-server.log"
    env = dict(os.environ)
    env.update(
        # Isolated from the user's own Jupyter and IPython configuration and trust database.
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        # The kernel spec runs "python": make that this interpreter, whatever PATH was.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    app = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}.get(kind)
    module = {"lab": "jupyterlab", "notebook": "notebook"}.get(kind, "jupyter_server")
    cmd = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if app:
        cmd += [
            # Tests drive the app through window.jupyterapp (commands, the notebook model).
            f"--{app}.expose_app_in_browser=True",
            f"--{app}.user_settings_dir={settings}",
            f"--{app}.workspaces_dir={base / 'workspaces'}",
        ]
    cmd += extra_args or []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root
    if kind == "lab":
        cmd += [
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    server = JupyterServer(
        kind=kind,
        url=f"http://127.0.0.1:{port}/",
        token=token,
        root=root,
        settings_dir=settings,
        log_path=log_path,
        proc=proc,
    )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited ({proc.returncode}):\n{server.log_tail()}")
        try:
            server.api("api/status")
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                stop_server(server)
                raise RuntimeError(
                    f"{kind} server not up after {SERVER_START_TIMEOUT:.0f} s:\n{server.log_tail()}"
                ) from None
            time.sleep(0.25)
    return server


def end_process(proc: subprocess.Popen[Any]) -> None:
    """Terminate a server process, and kill it if it has not ended within 15 s."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def stop_server(server: JupyterServer) -> None:
    server.shutdown_kernels()
    end_process(server.proc)


def write_theme(settings_dir: Path, *, dark: bool) -> None:
    """JupyterLab's user setting for the theme (read when a page loads)."""
    path = settings_dir / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    path.write_text(json.dumps({"theme": theme, "adaptive-theme": False}))
    # No "get notified about Jupyter news?" toast over the screenshots (and no news fetch).
    news = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.write_text(json.dumps({"fetchNews": "false"}))


@dataclass
class Console:
    """Console errors and uncaught exceptions a page produced."""

    errors: list[str] = field(default_factory=list)

    def relevant(self) -> list[str]:
        """The errors that are not about the test setup (see ``BENIGN_CONSOLE``)."""
        return [e for e in self.errors if not any(p.search(e) for p in BENIGN_CONSOLE)]


def shot(pg: Any, name: str, locator: Any = None) -> Path:
    """Save a PNG of the page (or of ``locator``) as ``artifacts/screenshots/<name>.png``."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    (locator or pg).screenshot(path=str(path))
    return path


# -------------------------------------------------------------------- notebooks
def write_notebook(server: JupyterServer, cells: list[str], name: str | None = None) -> str:
    """Write a notebook of code cells into the server's root; returns its name."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    name = name or f"t_{uuid.uuid4().hex[:8]}.ipynb"
    nbformat.write(nb, server.root / name)
    return name


class NotebookPage:
    """One notebook open in JupyterLab or Notebook 7, driven through ``window.jupyterapp``."""

    def __init__(self, server: JupyterServer, pg: Any, name: str) -> None:
        self.server = server
        self.page = pg
        self.name = name

    # The current notebook panel, whichever shell (Lab's or Notebook 7's) shows it.
    _PANEL = """(() => {
        const app = window.jupyterapp;
        const w = app.shell.currentWidget;
        if (w && w.content && w.content.widgets && w.sessionContext) return w;
        for (const x of app.shell.widgets ? app.shell.widgets('main') : []) {
            if (x.content && x.content.widgets && x.sessionContext) return x;
        }
        return null;
    })()"""

    def open(self, timeout: float = 90) -> None:
        """Load the notebook page and wait until its kernel is idle."""
        self.page.goto(self.server.notebook_url(self.name), timeout=timeout * 1000)
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.started !== undefined",
            timeout=timeout * 1000,
        )
        self.page.wait_for_function(
            f"() => {{ const p = {self._PANEL}; return p && p.content.widgets.length > 0; }}",
            timeout=timeout * 1000,
        )
        self.wait_idle(timeout)

    def kernel_status(self) -> str:
        """``idle``, ``busy``, ``starting``... or ``none`` before a kernel is attached."""
        return str(
            self.page.evaluate(
                f"() => {{ const p = {self._PANEL};"
                " const k = p && p.sessionContext.session && p.sessionContext.session.kernel;"
                " return k ? k.status : 'none'; }"
            )
        )

    def wait_idle(self, timeout: float = 60) -> None:
        """Wait for the kernel to be idle (raises with the server log on timeout)."""
        deadline = time.monotonic() + timeout
        while (status := self.kernel_status()) != "idle":
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"kernel still {status!r} after {timeout} s\n{self.server.log_tail()}"
                )
            time.sleep(0.2)

    def cell_count(self) -> int:
        """How many cells the notebook has."""
        return int(self.page.evaluate(f"() => {self._PANEL}.content.widgets.length"))

    def cell(self, index: int) -> Any:
        """The Playwright locator of cell ``index`` (0-based; negative counts from the end)."""
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        return cells.nth(index if index >= 0 else self.cell_count() + index)

    def output(self, index: int) -> Any:
        """The output area of cell ``index``."""
        return self.cell(index).locator(".jp-OutputArea")

    def run_cell(self, index: int, *, wait: bool = True, timeout: float = 120) -> None:
        """Run cell ``index`` as a user would: select it, then the notebook's run command.

        With ``wait=False`` it returns as soon as the cell is running (for long runs).
        """
        index = index if index >= 0 else self.cell_count() + index
        before = self.execution_count(index)
        self.page.evaluate(
            f"""(i) => {{
                const p = {self._PANEL};
                p.content.activeCellIndex = i;
                p.content.deselectAll();
                // Not awaited: the command resolves only when the cell ends.
                window.jupyterapp.commands.execute('notebook:run-cell');
            }}""",
            index,
        )
        self.page.wait_for_function(
            f"""([i, before]) => {{
                const m = {self._PANEL}.content.widgets[i].model;
                return m.executionState === 'running' || m.executionCount !== before;
            }}""",
            arg=[index, before],
            timeout=30_000,
        )
        if wait:
            self.wait_cell_done(index, timeout)

    def execution_count(self, index: int) -> int | None:
        """The cell's execution count (``None`` before it ran)."""
        value = self.page.evaluate(
            f"(i) => {self._PANEL}.content.widgets[i].model.executionCount", index
        )
        return None if value is None else int(value)

    def is_running(self, index: int) -> bool:
        """Whether cell ``index`` is still executing."""
        return bool(
            self.page.evaluate(
                f"(i) => {self._PANEL}.content.widgets[i].model.executionState === 'running'",
                index,
            )
        )

    def wait_cell_done(self, index: int, timeout: float = 120) -> None:
        """Wait until cell ``index`` has finished executing."""
        index = index if index >= 0 else self.cell_count() + index
        deadline = time.monotonic() + timeout
        while self.is_running(index):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"cell {index} still running after {timeout} s\n{self.server.log_tail()}"
                )
            time.sleep(0.2)

    def run_code(self, code: str, timeout: float = 60) -> str:
        """Append a cell with ``code``, run it, and return its output's text."""
        n = self.page.evaluate(
            f"""(code) => {{
                const p = {self._PANEL};
                const nb = p.content.model.sharedModel;
                nb.insertCell(nb.cells.length, {{cell_type: 'code', source: code}});
                return nb.cells.length - 1;
            }}""",
            code,
        )
        self.page.wait_for_function(
            f"(n) => {self._PANEL}.content.widgets.length > n", arg=n, timeout=10_000
        )
        self.run_cell(int(n), timeout=timeout)
        return str(self.output(int(n)).inner_text())

    def execute_command(self, command: str, args: dict[str, Any] | None = None) -> Any:
        """Run a JupyterLab command (e.g. ``notebook:create-output-view``) and await it."""
        return self.page.evaluate(
            "([c, a]) => window.jupyterapp.commands.execute(c, a).then(() => null)",
            [command, args or {}],
        )

    def select_cell(self, index: int) -> None:
        """Make cell ``index`` the active cell (what commands act on)."""
        self.page.evaluate(f"(i) => {{ {self._PANEL}.content.activeCellIndex = i; }}", index)

    def save(self) -> None:
        """Save the notebook (the server signs it: the same user reopening it trusts it)."""
        self.execute_command("docmanager:save")

    def set_theme(self, dark: bool) -> None:
        """Switch JupyterLab's theme and wait until the page shows it."""
        theme = "JupyterLab Dark" if dark else "JupyterLab Light"
        self.execute_command("apputils:change-theme", {"theme": theme})
        self.page.wait_for_function(
            "(dark) => document.body.dataset.jpThemeLight === String(!dark)", arg=dark
        )
        time.sleep(0.3)  # let restyled canvases and plots repaint before a screenshot


# ------------------------------------------------------------------ panel reads
PANEL = ".optuna-magic"


def panel_text(panel: Any, role: str) -> str:
    """The text of ``[data-role=<role>]`` within ``panel`` (a locator of ``.optuna-magic``)."""
    return str(panel.locator(f"[data-role={role}]").first.inner_text())


def wait_for_panel(scope: Any, timeout: float = 60) -> Any:
    """Wait for a panel to be visible in ``scope``; returns its locator."""
    loc = scope.locator(PANEL).first
    loc.wait_for(state="visible", timeout=timeout * 1000)
    return loc


def run_panel_cell(
    nb: NotebookPage, index: int = 1, *, wait: bool = False, timeout: float = 120
) -> Any:
    """Run the notebook's ``%load_ext`` cell (the first), then cell ``index`` (a ``%%optuna``
    cell), waiting for it to end or not; returns the locator of its panel."""
    nb.run_cell(0)
    nb.run_cell(index, wait=wait, timeout=timeout)
    return wait_for_panel(nb.output(index))


def wait_panel_shows(panel: Any, state: str = "finished", timeout: float = 30) -> None:
    """Wait until the panel's header shows the run in ``state``. The page draws what the kernel
    sent at its next frame, which can come after the cell is marked done; the draw that shows
    the state also lays out the tabs, so the views offered are read after it."""
    panel.locator(f"[data-role=state][data-state={state}]").wait_for(
        state="attached", timeout=timeout * 1000
    )


def poll_text_changes(
    read: Callable[[], str], until: Callable[[], bool], interval: float = 0.1
) -> list[str]:
    """Read a text repeatedly until ``until()``; returns the distinct values in order."""
    seen: list[str] = []
    while True:
        done = until()  # sampled before the read: the last read is of a finished state
        with contextlib.suppress(Exception):
            text = read()
            if not seen or seen[-1] != text:
                seen.append(text)
        if done:
            return seen
        time.sleep(interval)


def optuna_cell(options: str = "-n 200 --seed 1", *, sleep: float = 0.05, extra: str = "") -> str:
    """The test cell of issue 3: one float parameter, a slow-enough objective."""
    return (
        f"%%optuna {options}\n"
        "import time\n"
        f"time.sleep({sleep})\n"
        "x = hp.float(-10, 10)\n"
        f"{extra}"
        "(x - 2) ** 2\n"
    )


def panel_views(panel: Any) -> list[str]:
    """The views the panel offers now: its visible tabs and the entries of its "More" menu (a
    view that does not apply to the study is hidden, not offered)."""
    return panel.evaluate(
        """(root) => [
            ...Array.from(root.querySelectorAll("[role=tab]")).filter((b) => !b.hidden)
                .map((b) => b.dataset.view),
            ...Array.from(root.querySelectorAll("[data-role=more-views] option"))
                .map((o) => o.value).filter(Boolean),
        ]"""
    )


def open_view(panel: Any, view: str) -> None:
    """Show a view: its tab, or its entry in the "More" menu where the tab row is full."""
    tab = panel.locator(f"[role=tab][data-view={view}]")
    if tab.is_visible():
        tab.click()
    else:
        panel.locator("[data-role=more-views]").select_option(view)
    panel.locator(f"[role=tab][data-view={view}][aria-selected=true]").wait_for(state="attached")
