"""The live panel in VS Code's widget manager in Chromium (see ``vscode_harness``).

A real kernel behind a real Jupyter server, VS Code's own ipywidgets 8 widget manager and
anywidget's installed nbextension loaded by RequireJS, in headless Chromium. Each output of the
``%%optuna`` cell is rendered by its richest MIME type, as VS Code renders it.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from jupyter_harness import Console, optuna_cell, panel_text, shot

pytestmark = [pytest.mark.browser, pytest.mark.host_vscode]

WIDGET = "application/vnd.jupyter.widget-view+json"
SNAPSHOT = ".optuna-magic-snapshot"
SETUP = (
    "%load_ext optuna_magic\nimport optuna\noptuna.logging.set_verbosity(optuna.logging.WARNING)"
)


def _panel(host: Any, cell: str, timeout: float = 90) -> Any:
    panel = host.cell(cell).locator(".optuna-magic").first
    panel.wait_for(state="visible", timeout=timeout * 1000)
    return panel


def _check_study(host: Any) -> str:
    cell = host.run(
        "print(sorted({t.state.name for t in study.trials}), len(study.trials))", timeout=60
    )
    return "".join(o["text"] or "" for o in host.outputs(cell))


def _distinct_progress(
    panel: Any, host: Any, cell: str, want: int, timeout: float = 60
) -> list[str]:
    """Read the panel's progress until it has shown ``want`` distinct values (or the run ended)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while len(seen) < want and not host.cell_done(cell) and time.monotonic() < deadline:
        text = panel_text(panel, "progress")
        if not seen or seen[-1] != text:
            seen.append(text)
        time.sleep(0.1)
    return seen


def _wait_state(host: Any, cell: str, word: str, timeout: float = 20) -> None:
    state = host.cell(cell).locator(".optuna-magic [data-role=state]").first
    deadline = time.monotonic() + timeout
    while word not in state.inner_text().lower():
        assert time.monotonic() < deadline, f"panel state: {state.inner_text()!r}"
        time.sleep(0.2)


def _wait_snapshot_output(host: Any, cell: str, timeout: float = 30) -> None:
    """Until the snapshot's output holds the snapshot (it is filled when the run ends)."""
    deadline = time.monotonic() + timeout
    while not any("text/html" in o["mimes"] for o in host.outputs(cell)):
        assert time.monotonic() < deadline, host.outputs(cell)
        time.sleep(0.2)
    host.cell(cell).locator(SNAPSHOT).wait_for(state="attached", timeout=10_000)


def test_panel_renders_live_and_stop_stops_the_run(vscode_host: Any, console: Console) -> None:
    host = vscode_host()
    host.run(SETUP)
    cell = host.execute(optuna_cell("-n 400 --seed 1", sleep=0.05, extra="print('trial line')\n"))
    panel = _panel(host, cell)
    seen = _distinct_progress(panel, host, cell, want=3)
    assert len(seen) >= 3, f"the panel did not update live: {seen}"
    assert not host.cell_done(cell)
    shot(host.page, "vscode/panel-live")
    panel.locator("[data-role=stop]").click()
    host.wait_done(cell, timeout=60)
    _wait_state(host, cell, "stopped")
    _wait_snapshot_output(host, cell)

    # One output per run: VS Code's widget manager renders every output, the snapshot too;
    # beneath the live panel it must not show.
    snapshot = host.cell(cell).locator(SNAPSHOT)
    assert snapshot.count() == 1
    assert not snapshot.is_visible(), "the live panel and the snapshot both show"
    shown = [t for t in host.visible_outputs(cell) if t and not t.startswith("trial line")]
    assert len(shown) == 1 and shown[0].startswith("study-"), shown  # the panel alone
    outputs = host.outputs(cell)
    assert outputs[0]["mime"] == WIDGET  # the panel, rendered by the widget manager
    assert any(o["mime"] == "text/html" for o in outputs)  # the snapshot, rendered (hidden)
    assert any("trial line" in (o["text"] or "") for o in outputs), "trial prints left the cell"
    shot(host.page, "vscode/panel-stopped")

    text = _check_study(host)
    assert "RUNNING" not in text, text
    assert "COMPLETE" in text
    n = int(text.rsplit(" ", 1)[-1])
    assert 0 < n < 400, text
    printed = sum((o["text"] or "").count("trial line") for o in outputs)
    assert printed == n, f"{printed} printed lines in the cell for {n} trials"
    assert host.violations() == []
    assert console.relevant() == []


def test_second_view_of_the_running_panel(vscode_host: Any, console: Console) -> None:
    host = vscode_host()
    host.run(SETUP)
    cell = host.execute(optuna_cell("-n 400 --seed 2", sleep=0.05))
    first = _panel(host, cell)
    _distinct_progress(first, host, cell, want=2)
    assert not host.cell_done(cell), "the run ended before the second view opened"
    # The same widget output rendered again into a new element of the page, as VS Code does
    # when an output scrolls back into view: a second view of the same model, mid-run.
    host.second_view(cell, 0)
    views = host.cell(cell).locator(".optuna-magic")
    views.nth(1).wait_for(state="visible", timeout=60_000)
    second = views.nth(1)
    seen = _distinct_progress(second, host, cell, want=2)
    assert len(seen) >= 2, f"the second view did not update: {seen}"
    second.locator("[data-role=stop]").click()  # Stop works from either view
    host.wait_done(cell, timeout=60)
    _wait_state(host, cell, "stopped")
    deadline = time.monotonic() + 20
    while panel_text(second, "progress") != panel_text(first, "progress"):
        assert time.monotonic() < deadline, (
            f"{panel_text(second, 'progress')!r} vs {panel_text(first, 'progress')!r}"
        )
        time.sleep(0.2)
    assert "stopped" in panel_text(second, "state").lower()
    text = _check_study(host)
    assert "RUNNING" not in text, text
    assert panel_text(first, "progress").startswith(f"{text.split()[-1]} / 400"), text
    assert host.violations() == []
    assert console.relevant() == []


def test_saved_outputs_without_a_kernel_show_the_snapshot_alone(
    vscode_host: Any, console: Console
) -> None:
    host = vscode_host()
    host.run(SETUP)
    cell = host.run(optuna_cell("-n 12 --seed 3", sleep=0.0, extra="print('trial line')\n"))
    _wait_snapshot_output(host, cell)
    saved = [
        {k: o[k] for k in ("output_type", "data", "text") if o.get(k) is not None}
        | ({"name": "stdout"} if o["output_type"] == "stream" else {})
        for o in host.outputs(cell)
    ]
    host.shutdown()

    # The notebook opened again with no kernel: VS Code's widget renderer finds no model for
    # the panel and falls back to the output's next MIME type; the snapshot shows alone.
    offline = vscode_host(kernel=False)
    (again,) = offline.open_offline([saved])
    offline.cell(again).locator(SNAPSHOT).wait_for(state="visible", timeout=30_000)
    shown = offline.outputs(again)
    assert shown[0]["mime"] == "text/plain"  # the panel output's empty text, not the widget
    visible = [t for t in offline.visible_outputs(again) if t]
    assert len([t for t in visible if "trial line" not in t]) == 1, visible
    assert offline.cell(again).locator(".optuna-magic").count() == 0
    shot(offline.page, "vscode/reopened-without-kernel")
    assert offline.violations() == []
    assert console.relevant() == []


def test_vscode_experimental_csp_blocks_widget_code_and_the_snapshot_still_shows(
    vscode_host: Any, console: Console
) -> None:
    """With ``notebook.experimental.enableCsp`` on, VS Code's notebook webview policy allows no
    ``blob:`` script: anywidget imports every widget's code from a Blob URL, so no anywidget can
    render there (and the ipywidgets bundle's own data: fonts are refused too). The run still
    works, its prints stay in the cell, and the snapshot shows the result when it ends."""
    host = vscode_host(csp="vscode")
    host.run(SETUP)
    cell = host.run(optuna_cell("-n 8 --seed 4", sleep=0.0, extra="print('trial line')\n"))
    _wait_snapshot_output(host, cell)
    host.cell(cell).locator(SNAPSHOT).wait_for(state="visible", timeout=30_000)
    assert host.cell(cell).locator(".optuna-magic").count() == 0
    outputs = host.outputs(cell)
    assert any("trial line" in (o["text"] or "") for o in outputs)
    violations = host.violations()
    assert any(v.startswith("script-src-elem blob") for v in violations), violations
    assert all(v.split()[0] in ("script-src-elem", "font-src") for v in violations), violations
    shot(host.page, "vscode/experimental-csp")
    console.errors.clear()  # the refusals above are the point of this test
