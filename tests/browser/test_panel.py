"""The live panel in a real JupyterLab and Notebook 7 (issue 3, "Browser, in make test and CI").

Written against the contract (DESIGN section 2): root ``.optuna-magic``; ``[data-role=progress]``,
``state``, ``best``, ``stop``, ``trials-table``; views are ``[role=tab]`` buttons (``data-view``)
and each plot view draws into ``[data-role=plot-<view>]``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from jupyter_harness import (
    PANEL,
    Console,
    JupyterServer,
    open_view,
    optuna_cell,
    panel_text,
    panel_views,
    poll_text_changes,
    run_panel_cell,
    shot,
    wait_for_panel,
    wait_panel_shows,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
XSS = "<img src=x onerror=window.__xss=1>"
# What plotly leaves in a drawn plot (the plot element is the .js-plotly-plot itself): its SVG
# layers, or a WebGL canvas for scattergl.
DRAWN = ".main-svg, canvas"


def _progress_count(text: str) -> int | None:
    """``k`` of the ``k / N`` progress text."""
    m = re.search(r"(\d[\d,]*)\s*/\s*[\d,]+", text)
    return int(m.group(1).replace(",", "")) if m else None


def test_progress_changes_while_the_cell_runs(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, optuna_cell("-n 200 --seed 1")])
    panel = run_panel_cell(nb)
    seen_running: list[str] = []

    def read() -> str:
        text = panel_text(panel, "progress")
        if nb.is_running(1):
            seen_running.append(text)
        return text

    poll_text_changes(read, until=lambda: not nb.is_running(1), interval=0.1)
    distinct = list(dict.fromkeys(seen_running))
    assert len(distinct) >= 3, f"progress while running: {distinct}"
    # The page draws the final state at its next frame, which can come after Lab marks the
    # cell done (its reply and the panel's last message travel on two channels).
    wait_panel_shows(panel, timeout=10)
    assert "finished" in panel_text(panel, "state").lower()
    assert _progress_count(panel_text(panel, "progress")) == 200
    assert re.search(r"\d", panel_text(panel, "best"))
    shot(page, "panel/lab-light", panel)
    nb.set_theme(dark=True)
    try:
        shot(page, "panel/lab-dark", panel)
    finally:
        nb.set_theme(dark=False)
    assert console.relevant() == []


VIEWS_CELL = (
    "%%optuna -n 40 --seed 2\n"
    "x = hp.float(-10, 10)\n"
    "n = hp.int(1, 8)\n"
    "kind = hp.choice(['a', 'b'])\n"
    "for step in range(3):\n"
    "    report((x - 2) ** 2 + n / (step + 1), step)\n"
    "(x - 2) ** 2 + n + (kind == 'b')\n"
)
PARETO_CELL = (
    "%%optuna -n 30 --seed 3 --directions minimize minimize -o mo\n"
    "x = hp.float(0, 1)\n"
    "y = hp.float(0, 1)\n"
    "x, (1 - x) ** 2 + y\n"
)


@pytest.mark.parametrize(
    ("cell", "not_offered"),
    [
        # Single objective: no Pareto front to draw, so no Pareto view is offered.
        pytest.param(VIEWS_CELL, {"pareto"}, id="single-objective"),
        # Two objectives: report() is single-objective only, so no intermediate values.
        pytest.param(PARETO_CELL, {"intermediate"}, id="two-objectives"),
    ],
)
def test_every_view_renders_without_console_errors(
    lab_server: JupyterServer,
    page: Any,
    notebook_factory: Any,
    console: Console,
    cell: str,
    not_offered: set[str],
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, cell])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1)
    wait_panel_shows(panel)
    views = panel_views(panel)
    assert {"trials", "history", "parcoords", "importance", "slice", "contour"} <= set(views)
    assert not (not_offered & set(views)), views
    for view in views:
        open_view(panel, view)
        plot = panel.locator(f"[data-role=plot-{view}]")
        if plot.count() == 0:
            # Not a plot view (trials table, event log, search space): it shows content
            # (drawn in the frame after the click).
            body = panel.locator(".om-view")
            deadline = time.monotonic() + 5
            while not body.inner_text().strip() and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            assert body.inner_text().strip(), f"view {view} is empty"
            continue
        # Importance is computed in the kernel every few seconds: allow for one round.
        plot.locator(DRAWN).first.wait_for(state="visible", timeout=20_000)
        shot(page, f"panel/view-{view}-{'mo' if 'directions' in cell else 'so'}", panel)
    assert console.relevant() == []


def test_stop_ends_a_long_run_early_and_keeps_its_trials(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, optuna_cell("-n 2000 --seed 1")])
    panel = run_panel_cell(nb)
    deadline = time.monotonic() + 60
    while (_progress_count(panel_text(panel, "progress")) or 0) < 5:
        assert time.monotonic() < deadline, "no trial finished in 60 s"
        time.sleep(0.2)
    started = time.monotonic()
    panel.locator("[data-role=stop]").click()
    nb.wait_cell_done(1, timeout=30)
    assert time.monotonic() - started < 30
    # The final status is drawn at the panel's next frame (<= 0.1 s after it arrives), which
    # can come after the cell's idle: read it once drawn.
    deadline = time.monotonic() + 5
    while "stopped" not in panel_text(panel, "state").lower():
        assert time.monotonic() < deadline, panel_text(panel, "state")
        time.sleep(0.1)
    shown = _progress_count(panel_text(panel, "progress"))
    out = nb.run_code("print(len(study.trials), sum(t.state.is_finished() for t in study.trials))")
    total, finished = (int(v) for v in out.split())
    assert 5 <= finished <= total < 2000
    assert shown is not None and shown <= total
    assert console.relevant() == []


def test_second_view_opened_mid_run_is_complete_and_live(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, optuna_cell("-n 400 --seed 1")])
    panel = run_panel_cell(nb)
    deadline = time.monotonic() + 60
    while (_progress_count(panel_text(panel, "progress")) or 0) < 10:
        assert time.monotonic() < deadline, "fewer than 10 trials in 60 s"
        time.sleep(0.2)
    nb.select_cell(1)
    nb.execute_command("notebook:create-output-view")
    second = wait_for_panel(page.locator(".jp-LinkedOutputView"))
    open_view(second, "trials")
    assert second.locator("[data-role=trials-table]").is_visible()
    # Complete: the late view got the whole record at once, so it agrees with the first view
    # on the best trial (usually one that ended before it opened) and on the count.
    deadline = time.monotonic() + 5
    while True:
        k1 = _progress_count(panel_text(panel, "progress")) or 0
        k2 = _progress_count(panel_text(second, "progress")) or 0
        same_best = panel_text(second, "best") == panel_text(panel, "best")
        if same_best and abs(k1 - k2) <= 2 and k2 >= 10:
            break
        assert time.monotonic() < deadline, f"second view incomplete: {k2} vs {k1} trials"
        time.sleep(0.1)
    # Live: it keeps counting while the run goes on.
    seen = poll_text_changes(
        lambda: panel_text(second, "progress"),
        until=lambda: (_progress_count(panel_text(second, "progress")) or 0) >= k2 + 20,
    )
    assert len(seen) >= 2
    shot(page, "panel/lab-second-view")
    panel.locator("[data-role=stop]").click()
    nb.wait_cell_done(1, timeout=30)
    # Both views end in the same state.
    deadline = time.monotonic() + 5
    while panel_text(second, "progress") != panel_text(panel, "progress"):
        assert time.monotonic() < deadline, "the second view did not catch up"
        time.sleep(0.2)
    wait_panel_shows(second, "stopped", timeout=10)  # drawn at the page's next frame
    assert "stopped" in panel_text(second, "state").lower()
    assert console.relevant() == []


def test_hostile_choice_value_is_text_and_runs_nothing(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    cell = (
        "%%optuna -n 12 --seed 4\n"
        f"kind = hp.choice([{XSS!r}, 'b'])\n"
        "x = hp.float(-1, 1)\n"
        f"x ** 2 + (kind == 'b')\n"
    )
    nb = notebook_factory(lab_server, page, [LOAD, cell])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1)
    for view in ("trials", "space", "history", "parcoords", "slice"):
        if panel.locator(f"[role=tab][data-view={view}]").count():
            open_view(panel, view)
            page.wait_for_timeout(300)
            assert page.evaluate("() => window.__xss") is None, f"script ran in view {view}"
    assert panel.locator("img[src=x]").count() == 0
    open_view(panel, "trials")
    assert XSS in panel.inner_text() or XSS in panel_text(panel, "best")
    assert page.evaluate("() => window.__xss") is None
    assert console.relevant() == []


def test_notebook7_basic_run(
    notebook_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(notebook_server, page, [LOAD, optuna_cell("-n 60 --seed 1")])
    panel = run_panel_cell(nb)
    seen = poll_text_changes(lambda: panel_text(panel, "progress"), lambda: not nb.is_running(1))
    assert len(seen) >= 3, seen
    wait_panel_shows(panel, timeout=10)  # drawn at the page's next frame
    assert "finished" in panel_text(panel, "state").lower()
    assert _progress_count(panel_text(panel, "progress")) == 60
    open_view(panel, "trials")
    assert page.locator(f"{PANEL} [data-role=trials-table]").first.is_visible()
    shot(page, "panel/notebook7-light", panel)
    assert console.relevant() == []


def test_plots_follow_a_theme_switch(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    """Switching JupyterLab's theme while a plot is shown redraws it in the new colours."""
    nb = notebook_factory(lab_server, page, [LOAD, VIEWS_CELL])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1)
    open_view(panel, "history")
    plot = panel.locator("[data-role=plot-history]")
    plot.locator(DRAWN).first.wait_for(state="visible", timeout=20_000)

    def text_fill() -> str:
        # The colour plotly gave the axis tick labels: the theme's foreground at draw time.
        return str(plot.locator(".xtick text").first.evaluate("e => getComputedStyle(e).fill"))

    light = text_fill()
    nb.set_theme(dark=True)
    try:
        deadline = time.time() + 20
        while text_fill() == light and time.time() < deadline:
            time.sleep(0.2)
        assert text_fill() != light, "the plot kept the light theme's colours"
    finally:
        nb.set_theme(dark=False)
    assert console.relevant() == []
