"""Screenshots of the live panel for the README: one per example notebook, plus one in dark mode.

    .venv/bin/python docs/screenshots.py                 # all notebooks
    .venv/bin/python docs/screenshots.py quickstart      # only some (names without .ipynb)

Starts JupyterLab (the browser tests' harness, ``tests/browser/jupyter_harness.py``) in a
temporary copy of ``examples/``, opens each notebook in Debian's headless Chromium, runs its code
cells in order as a user would (waiting for the kernel to go idle after each), then selects a view
of one ``%%optuna`` panel and saves a PNG of the panel alone to ``docs/images/<notebook>.png``.
The quickstart panel is also shot in JupyterLab Dark (``docs/images/panel-dark.png``).

Nothing in ``examples/`` is changed: the notebooks run (and write their databases) in the copy.
Takes a few minutes; the movie_ratings notebook alone about one.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import jupyter_harness as h  # noqa: E402

EXAMPLES = REPO / "examples"
IMAGES = REPO / "docs" / "images"
VIEWPORT = {"width": 1100, "height": 900}
CELL_TIMEOUT = 600.0  # seconds for one cell (the slowest example cell takes about a minute)
SETTLE = 1.5  # seconds for plotly to finish drawing after the plot's SVG appears
MAX_BYTES = 250_000


@dataclass(frozen=True)
class Shot:
    notebook: str  # name without .ipynb
    optuna_cell: int  # which %%optuna cell of the notebook (0 the first, -1 the last)
    view: str  # the panel tab's data-view: history, parcoords, intermediate, importance...


SHOTS = [
    Shot("quickstart", 0, "history"),  # TPE: the best value falling, trial by trial
    Shot("movie_ratings", -1, "parcoords"),  # the resumed study: all its trials, by parameter
    Shot("pytorch_pruning", 0, "intermediate"),  # learning curves, pruned ones cut short
    Shot("pytorch_ann", 0, "importance"),  # which of the architecture's choices matter
    Shot("mlflow_tracking", 0, "history"),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def code_cells(path: Path) -> tuple[list[int], list[int]]:
    """The indices of the notebook's code cells, and of its ``%%optuna`` cells among them."""
    cells = json.loads(path.read_text())["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    source = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in cells]
    optuna = [i for i in code if source[i].lstrip().startswith("%%optuna")]
    return code, optuna


def cell_error(nb: h.NotebookPage, index: int) -> str | None:
    """The error a cell raised (``ename: evalue``), or ``None``."""
    value = nb.page.evaluate(
        f"""(i) => {{
            const outs = {h.NotebookPage._PANEL}.content.widgets[i].model.outputs.toJSON();
            const e = outs.find((o) => o.output_type === 'error');
            return e ? `${{e.ename}}: ${{e.evalue}}` : null;
        }}""",
        index,
    )
    return None if value is None else str(value)


def run_all(nb: h.NotebookPage, cells: list[int]) -> None:
    """Run the code cells in order, each after the previous one ended and the kernel is idle."""
    for i in cells:
        started = time.monotonic()
        nb.run_cell(i, timeout=CELL_TIMEOUT)
        nb.wait_idle(CELL_TIMEOUT)
        if err := cell_error(nb, i):
            raise RuntimeError(f"{nb.name}: cell {i} raised {err}")
        log(f"  cell {i} done in {time.monotonic() - started:.1f} s")


def show_view(panel: Any, view: str) -> None:
    """Select the panel's ``view`` tab and wait until its plot is drawn."""
    panel.scroll_into_view_if_needed()
    panel.locator(f"[role=tab][data-view={view}]").click()
    panel.locator(f"[role=tab][data-view={view}][aria-selected=true]").wait_for()
    panel.page.mouse.move(0, 0)  # no hover highlight on the tab in the picture
    # Importance is computed in the kernel a little after the run: allow for that.
    # plotly's SVG, or the axes of the panel's own parallel coordinates.
    panel.locator(f"[data-role=plot-{view}] :is(.main-svg, .om-pc-axes)").first.wait_for(
        state="visible", timeout=90_000
    )
    time.sleep(SETTLE)


def save(panel: Any, name: str) -> Path:
    path = IMAGES / f"{name}.png"
    panel.screenshot(path=str(path), animations="disabled")
    size = path.stat().st_size
    log(f"  wrote {path.relative_to(REPO)} ({size / 1000:.0f} kB)")
    if size > MAX_BYTES:
        log(f"  WARNING: {path.name} is over {MAX_BYTES / 1000:.0f} kB")
    return path


def redraw_history_dark(nb: h.NotebookPage, panel: Any) -> None:
    """Switch to JupyterLab Dark and make the History plot redraw in the new colours.

    The panel takes plotly's colours from the theme when it draws, and redraws only when what it
    shows changes; toggling the log-scale box (on, then off again) is such a change.
    """
    nb.set_theme(dark=True)
    box = panel.locator("input[aria-label='Log scale']")
    for _ in range(2):
        box.click()
        time.sleep(0.5)
    panel.page.mouse.move(0, 0)
    time.sleep(SETTLE)


def shoot(browser: Any, server: h.JupyterServer, shot: Shot) -> None:
    name = f"{shot.notebook}.ipynb"
    code, optuna = code_cells(server.root / name)
    target = optuna[shot.optuna_cell]
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        pg = context.new_page()
        nb = h.NotebookPage(server, pg, name)
        log(f"{name}: opening")
        nb.open(timeout=120)
        # The notebook gets the page's width (no file browser beside it).
        pg.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        run_all(nb, code)
        panel = h.wait_for_panel(nb.output(target))
        show_view(panel, shot.view)
        save(panel, shot.notebook)
        if shot.notebook == "quickstart":
            redraw_history_dark(nb, panel)
            save(panel, "panel-dark")
            nb.set_theme(dark=False)
    finally:
        context.close()
        server.shutdown_kernels()


def main(argv: list[str]) -> int:
    if reason := h.missing_reason():
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    wanted = set(argv)
    unknown = wanted - {s.notebook for s in SHOTS}
    if unknown:
        print(f"unknown notebook(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    shots = [s for s in SHOTS if not wanted or s.notebook in wanted]
    IMAGES.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="optuna-magic-shots-") as tmp:
        base = Path(tmp)
        # A clean copy: no databases or executed copies left over from earlier runs.
        shutil.copytree(
            EXAMPLES,
            base / "root",
            ignore=shutil.ignore_patterns(
                "*.db",
                "*.log",
                "mlruns",
                "mlartifacts",
                "*.executed.ipynb",
                "__pycache__",
                ".ipynb_checkpoints",
            ),
        )
        log("starting JupyterLab")
        server = h.start_server("lab", base)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=h.CHROMIUM, args=h.CHROMIUM_ARGS, timeout=60_000
                )
                try:
                    for shot in shots:
                        shoot(browser, server, shot)
                finally:
                    browser.close()
        finally:
            h.stop_server(server)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
