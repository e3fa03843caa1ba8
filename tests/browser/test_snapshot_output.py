"""How the panel's output and the snapshot's output behave in JupyterLab, Notebook 7 and nbconvert.

One output per run, in every host: the live panel where widgets render, the snapshot where they
cannot. (VS Code's widget manager: ``test_vscode_host.py``.)

The layout under test (``optuna_magic.outputs.snapshot.html``): the cell's first output is the
panel's widget view (``panel_bundle``), its last the static snapshot (``snapshot_bundle``). A
stand-in widget with the panel's root class plays the panel here, so these tests check the output
contract on their own, whatever state the real panel is in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import nbformat
import pytest
from jupyter_harness import Console, JupyterServer, NotebookPage, shot

pytestmark = pytest.mark.browser

CELL = r"""
import anywidget, optuna
from IPython.display import display
from optuna_magic.run.runner import RunResult
from optuna_magic.outputs.snapshot.html import panel_bundle, snapshot_bundle, snapshot_placeholder

optuna.logging.set_verbosity(optuna.logging.WARNING)

class StandIn(anywidget.AnyWidget):
    _esm = '''export default { render({ el }) {
        const d = document.createElement("div");
        d.className = "optuna-magic";
        d.textContent = "LIVE PANEL";
        el.append(d);
    } }'''

panel = StandIn()
display(panel_bundle(panel.model_id), raw=True, display_id=True)
snap_out = display(snapshot_placeholder(), raw=True, display_id=True)
print("a line a trial printed")
sampler = optuna.samplers.RandomSampler(seed=1)
study = optuna.create_study(study_name="snapshot-test", sampler=sampler)
choices = ["a", "<img src=x onerror=window.__xss=1>"]


def objective(t):
    # The hostile choice scores best, so it lands in the best line and the top table.
    return (t.suggest_float("x", -10, 10) - 2) ** 2 + (t.suggest_categorical("k", choices) == "a")

study.optimize(objective, n_trials=25)
snap_out.update(snapshot_bundle(study, None, RunResult("finished", study, 25, 1.5)), raw=True)
"""

SNAPSHOT = ".optuna-magic-snapshot"
WIDGET_ERROR = "text=Error displaying widget"


def _visible_outputs(nb: NotebookPage) -> list[str]:
    return list(
        nb.page.eval_on_selector_all(
            ".jp-Cell .jp-OutputArea-child",
            "els => els.filter(e => e.offsetParent !== null)"
            ".map(e => e.innerText.trim().slice(0, 40))",
        )
    )


def _chart_loaded(nb: NotebookPage) -> bool:
    return bool(
        nb.page.eval_on_selector(
            f"{SNAPSHOT} .om-snapshot-chart img", "img => img.complete && img.naturalWidth > 0"
        )
    )


def test_live_panel_hides_snapshot_and_reopened_notebook_shows_it(
    lab_server: JupyterServer,
    page: Any,
    browser: Any,
    notebook_factory: Any,
    console: Console,
) -> None:
    nb = notebook_factory(lab_server, page, [CELL])
    nb.run_cell(0)
    out = nb.output(0)
    out.locator(".optuna-magic").wait_for(state="visible")
    assert out.locator(SNAPSHOT).count() == 1
    assert not out.locator(SNAPSHOT).is_visible(), "the live panel already shows the snapshot"
    assert out.get_by_text("a line a trial printed").is_visible()
    shot(page, "snapshot/lab-live")
    nb.save()
    nb.page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=10_000
    )
    lab_server.shutdown_kernels()

    # Reopened by the same user: trusted, so JupyterLab picks the widget view, whose model is
    # gone; the snapshot must stand in for it.
    saved = json.loads((lab_server.root / nb.name).read_text())
    kinds = [sorted(o.get("data", {})) for o in saved["cells"][0]["outputs"]]
    assert kinds[0] == ["application/vnd.jupyter.widget-view+json", "text/plain"]
    assert kinds[1] == ["text/html", "text/plain"]  # the placeholder, filled at run end
    again = NotebookPage(
        lab_server, browser.new_page(viewport={"width": 1400, "height": 1000}), nb.name
    )
    try:
        again.open()
        assert again.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.trusted"
        )
        snap = again.output(0).locator(SNAPSHOT)
        snap.wait_for(state="visible")
        # The widget manager gives up on the model after ~2 s; its error must stay hidden.
        again.page.wait_for_timeout(3000)
        assert not again.page.locator(WIDGET_ERROR).first.is_visible()
        assert _chart_loaded(again)
        assert again.page.evaluate("() => window.__xss") is None
        assert "<img src=x onerror=window.__xss=1>" in snap.inner_text()
        shot(again.page, "snapshot/lab-reopened-light", again.output(0))
        again.set_theme(dark=True)
        try:
            shot(again.page, "snapshot/lab-reopened-dark", again.output(0))
        finally:
            again.set_theme(dark=False)
    finally:
        again.page.close()
        lab_server.shutdown_kernels()
    assert console.relevant() == []


def test_notebook7_live_panel_hides_snapshot(
    notebook_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(notebook_server, page, [CELL])
    nb.run_cell(0)
    out = nb.output(0)
    out.locator(".optuna-magic").wait_for(state="visible")
    assert out.locator(SNAPSHOT).count() == 1
    assert not out.locator(SNAPSHOT).is_visible(), "the live panel already shows the snapshot"
    assert out.get_by_text("a line a trial printed").is_visible()
    assert [t for t in _visible_outputs(nb) if t] == ["LIVE PANEL", "a line a trial printed"]
    shot(page, "snapshot/nb7-live")
    assert console.relevant() == []


def test_untrusted_notebook_and_nbconvert_show_the_snapshot(
    lab_server: JupyterServer, page: Any, tmp_path: Any
) -> None:
    # Built in a kernel-less process (nbclient-like): outputs exactly as the magic writes them.
    from optuna_magic.outputs.snapshot.html import panel_bundle

    shown: list[dict[str, Any]] = []
    cell = CELL.replace("from IPython.display import display\n", "")

    class Handle:
        def update(self, b: dict[str, Any], raw: bool = True) -> None:
            shown[-1] = b

    def display(b: dict[str, Any], raw: bool = True, display_id: bool = False) -> Handle:
        shown.append(b)
        return Handle()

    exec(cell, {"display": display})
    assert shown[0] == panel_bundle(
        shown[0]["application/vnd.jupyter.widget-view+json"]["model_id"]
    )
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("%%optuna -n 25")
    code.outputs = [nbformat.v4.new_output("display_data", data=b) for b in shown]
    nb.cells = [code]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    name = "untrusted_snapshot.ipynb"
    nbformat.write(nb, lab_server.root / name)  # not signed: untrusted

    view = NotebookPage(lab_server, page, name)
    view.open()
    snap = view.output(0).locator(SNAPSHOT)
    snap.wait_for(state="visible")
    page.wait_for_timeout(1000)
    assert not page.locator(WIDGET_ERROR).first.is_visible()
    assert page.locator(".jp-OutputArea-output style").count() == 0  # sanitized away
    assert _chart_loaded(view)  # the chart survives the sanitizer (an <img>, not <svg>)
    assert page.evaluate("() => window.__xss") is None
    shot(page, "snapshot/lab-untrusted", view.output(0))

    html = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--stdout",
            str(lab_server.root / name),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert 'class="optuna-magic-snapshot"' in html
    assert "application/vnd.jupyter.widget-view+json" not in html  # no widget placeholder
    assert "<img src=x onerror" not in html
    (tmp_path / "nbconvert.html").write_text(html)
    page.goto((tmp_path / "nbconvert.html").as_uri())
    page.locator(SNAPSHOT).wait_for(state="visible")
    # Exactly one of them: the panel's output shows nothing, the snapshot shows the run.
    texts: list[str] = list(
        page.eval_on_selector_all(
            ".jp-OutputArea-output",
            "els => els.map(e => e.innerText.trim()).filter(t => t).map(t => t.slice(0, 40))",
        )
    )
    assert len(texts) == 1 and texts[0].startswith("snapshot-test"), texts
    assert page.evaluate("() => window.__xss") is None
    shot(page, "snapshot/nbconvert", page.locator(SNAPSHOT))
