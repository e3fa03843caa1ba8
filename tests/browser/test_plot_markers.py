"""Large marker traces painted on canvas, in a real JupyterLab (issue 17, "every view fast").

The history, slice, contour, rank and Pareto views draw their many markers on one canvas in the
trace's own SVG group, with plotly drawing the axes, legend and colour bar around a stand-in.
What a user does with the markers must work as with plotly's own: each sits where the axes say,
the pointer on one shows its trial, a click opens it, a zoom moves them, the legend hides them,
and the modebar's "Download plot as a PNG" saves them too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_harness import (
    SCREENSHOTS,
    Console,
    JupyterServer,
    open_view,
    run_panel_cell,
    shot,
    wait_panel_shows,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
CELL = (
    "%%optuna -n 1200 --seed 3 --sampler random --pruner none -o painted\n"
    "x = hp.float(-5, 5)\n"
    "y = hp.float(0.001, 10, log=True)\n"
    "for step in range(3):\n"
    "    report((x - 1) ** 2 + y + 3 - step, step)\n"
    "(x - 1) ** 2 + y\n"
)

# The page position of trial N's marker in a plot, from plotly's own axes.
WHERE = """(el, [n, v]) => {
    const fl = el._fullLayout, box = el.getBoundingClientRect();
    return [box.left + fl.xaxis._offset + fl.xaxis.l2p(n),
            box.top + fl.yaxis._offset + fl.yaxis.l2p(v)];
}"""
# The painted pictures, as data URLs.
PAINTED = "(el) => [...el.querySelectorAll('.om-markers canvas')].map((c) => c.toDataURL())"
SVG_POINTS = "(el) => el.querySelectorAll('.scatterlayer .trace:first-child .point').length"
HOVER = "(el) => el.querySelector('.om-hoverlayer')?.textContent ?? ''"
PLOTLY_HOVER = "(el) => el.querySelector('.hoverlayer')?.textContent ?? ''"


def _pixel(page: Any, x: float, y: float) -> tuple[int, int, int]:
    """The colour the page shows at (x, y)."""
    from io import BytesIO

    from PIL import Image

    png = page.screenshot(clip={"x": x - 1, "y": y - 1, "width": 3, "height": 3})
    r, g, b = Image.open(BytesIO(png)).convert("RGB").getpixel((1, 1))
    return int(r), int(g), int(b)


def _blue_pixels(png: bytes) -> int:
    """How many pixels of a PNG are the markers' blue."""
    from io import BytesIO

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(BytesIO(png)).convert("RGB")).astype(int)
    r, b = rgb[..., 0], rgb[..., 2]
    return int(((b > r + 40) & (b > 120)).sum())


def test_painted_markers_sit_on_the_axes_hover_open_zoom_and_hide(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, CELL])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1, timeout=120)
    wait_panel_shows(panel)
    # The highest value is always drawn in the history (each stretch's lowest and highest).
    number, value = (
        float(v)
        for v in nb.run_code(
            "t = max(painted.trials, key=lambda t: t.value); print(t.number, t.value)"
        ).split()
    )
    for view in ("history", "slice", "contour", "rank"):
        open_view(panel, view)
        plot = panel.locator(f"[data-role=plot-{view}]")
        plot.locator(".om-markers").first.wait_for(state="attached", timeout=30_000)
        # One picture, and plotly's own SVG markers only the stand-in's two.
        assert len(plot.evaluate(PAINTED)) == 1, view
        assert plot.evaluate(SVG_POINTS) == 2, view
    # The timeline's bars (the latest 1,000 trials, one lane) are painted, and hover as bars.
    open_view(panel, "timeline")
    plot = panel.locator("[data-role=plot-timeline]")
    plot.locator(".om-markers").first.wait_for(state="attached", timeout=30_000)
    assert len(plot.evaluate(PAINTED)) == 1
    assert plot.evaluate("(el) => el.querySelectorAll('.barlayer .point').length") == 2
    # Its note ("latest 1000 of 1200 trials") came before plotly sized the figure: the figure
    # fits its element, x axis title included (it hung under the panel's edge).
    assert "latest 1000 of 1200" in panel.inner_text()
    assert plot.evaluate("(el) => el._fullLayout.height - el.clientHeight") <= 1
    assert (
        plot.evaluate(
            "(el) => el.querySelector('.g-xtitle').getBoundingClientRect().bottom"
            " - el.getBoundingClientRect().bottom"
        )
        <= 0
    )
    # The pointer on the middle of the longest bar, from the view's own trace: the axis's centre
    # can fall between two trials (CI saw a pause there, on a loaded machine), and Optuna's
    # datetime_start and datetime_complete hold the storage's create and tell too, which the
    # bar (the objective's own call, as the runner timed it) does not.
    x, y = plot.evaluate(
        "(el) => { const t = el.omData[0], fl = el._fullLayout, box = el.getBoundingClientRect();"
        " let k = 0; for (let i = 1; i < t.x.length; i++) if (t.x[i] > t.x[k]) k = i;"
        " return [box.left + fl.xaxis._offset + fl.xaxis.l2p(t.base[k] + t.x[k] / 2),"
        " box.top + fl.yaxis._offset + fl.yaxis.l2p(t.y[k])]; }"
    )
    page.mouse.move(x, y)
    deadline = time.monotonic() + 5
    while "(complete)" not in plot.evaluate(HOVER):
        assert time.monotonic() < deadline, plot.evaluate(HOVER)
        time.sleep(0.05)
    r, g, b = _pixel(page, x, y)
    assert b > r + 40 and b > 120, (r, g, b)
    shot(page, "markers/timeline-hover", panel)
    page.mouse.move(0, 0)
    # The intermediate values' lines (one trace of 1,200 trials' stretches) are painted too.
    open_view(panel, "intermediate")
    plot = panel.locator("[data-role=plot-intermediate]")
    plot.locator(".om-markers").first.wait_for(state="attached", timeout=30_000)
    assert len(plot.evaluate(PAINTED)) == 1
    shot(page, "markers/intermediate", panel)
    open_view(panel, "history")
    plot = panel.locator("[data-role=plot-history]")
    plot.locator(".om-markers").first.wait_for(state="attached")
    x, y = plot.evaluate(WHERE, [number, value])
    page.mouse.move(x + 40, y + 60)
    page.mouse.move(x, y)
    deadline = time.monotonic() + 5
    while f"trial {int(number)}" not in plot.evaluate(HOVER):
        assert time.monotonic() < deadline, plot.evaluate(HOVER)
        time.sleep(0.05)
    shot(page, "markers/history-hover", panel)
    page.mouse.move(x, y - 30)  # off every marker (the highest value: nothing above it)
    assert plot.evaluate(HOVER) == ""
    # The marker is there on screen, in the trace's blue, and the background is not.
    r, g, b = _pixel(page, x, y)
    assert b > r + 40 and b > 120, (r, g, b)
    r0, g0, b0 = _pixel(page, x, y - 30)
    assert abs(r0 - g0) < 20 and abs(g0 - b0) < 20, (r0, g0, b0)  # white or a grey grid line
    # A click on it opens its trial.
    page.mouse.click(x, y)
    detail = panel.locator("[data-role=trial-detail]")
    detail.wait_for()
    assert f"Trial {int(number)}" in detail.inner_text()
    detail.locator(".om-detail-close").click()
    # The modebar's "Download plot as a PNG" saves the markers too (plotly's own button drew
    # the plot again from its data, which holds only the stand-in's two transparent points).
    page.mouse.move(x, y - 30)
    with page.expect_download() as got:
        plot.locator('.modebar-btn[data-title="Download plot as a PNG"]').click()
    assert got.value.suggested_filename == "optuna-history.png"
    saved = Path(got.value.path()).read_bytes()
    (SCREENSHOTS / "markers").mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "markers" / "history-download.png").write_bytes(saved)
    assert _blue_pixels(saved) > 3000, _blue_pixels(saved)
    # A zoom paints the markers again, where the new axes put them.
    before = plot.evaluate(PAINTED)
    ranges = "(el) => JSON.stringify(el._fullLayout.xaxis.range)"
    unzoomed = plot.evaluate(ranges)
    # A drag across the marker, level: plotly zooms the x axis alone.
    page.mouse.move(x - 120, y + 80)
    page.mouse.down()
    page.mouse.move(x + 60, y + 82, steps=8)
    page.mouse.up()
    assert plot.evaluate(ranges) != unzoomed
    deadline = time.monotonic() + 10
    while plot.evaluate(PAINTED) == before:
        assert time.monotonic() < deadline, "the zoom did not paint the markers again"
        time.sleep(0.05)
    x2, y2 = plot.evaluate(WHERE, [number, value])
    assert abs(x2 - x) > 20  # the marker moved with the axis
    page.mouse.move(x2, y2)
    deadline = time.monotonic() + 5
    while f"trial {int(number)}" not in plot.evaluate(HOVER):
        assert time.monotonic() < deadline, "no hover after the zoom"
        time.sleep(0.05)
    r, g, b = _pixel(page, x2, y2)
    assert b > r + 40 and b > 120, (r, g, b)
    shot(page, "markers/history-zoomed", panel)
    # The legend hides the trace: its picture goes.
    page.mouse.move(0, 0)
    plot.locator(".legend .traces").first.click()
    deadline = time.monotonic() + 10
    while plot.evaluate(PAINTED):
        assert time.monotonic() < deadline, "the legend did not hide the painted markers"
        time.sleep(0.05)
    assert console.relevant() == []


# Each odd trial: its even predecessor's values, a little worse in both (dominated, painted, a
# pixel away); the even ones lie on x + y = 1 (the Pareto front, plotly's SVG markers).
FRONT = (
    "%%optuna -n 700 --seed 3 --sampler random --directions minimize minimize -o front\n"
    "x = hp.float(0, 1)\n"
    "if trial.number % 2:\n"
    "    a, b = trial.study.trials[trial.number - 1].values\n"
    "    a, b = a + 1e-3, b + 1e-3\n"
    "else:\n"
    "    a, b = x, 1 - x\n"
    "(a, b)\n"
)


def test_one_hover_label_where_a_plotly_trace_lies_over_painted_markers(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, FRONT])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1, timeout=120)
    wait_panel_shows(panel)
    a, b = (float(v) for v in nb.run_code("print(*front.trials[100].values)").split())
    open_view(panel, "pareto")
    plot = panel.locator("[data-role=plot-pareto]")
    plot.locator(".om-markers").first.wait_for(state="attached", timeout=30_000)
    x, y = plot.evaluate(WHERE, [a, b])
    page.mouse.move(x + 30, y + 40)
    page.mouse.move(x, y)
    deadline = time.monotonic() + 5
    while "trial " not in plot.evaluate(PLOTLY_HOVER):  # trial 100's, or a close neighbour's
        assert time.monotonic() < deadline, plot.evaluate(PLOTLY_HOVER)
        time.sleep(0.05)
    time.sleep(0.3)
    # Trial 101's painted marker is under the pointer too; plotly's front marker is on top.
    assert plot.evaluate(HOVER) == ""
    shot(page, "markers/pareto-hover", panel)
    assert console.relevant() == []
