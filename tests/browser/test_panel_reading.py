"""The panel as a data scientist reads it, in JupyterLab: a steady layout, live updates that
leave a zoom alone, the trials table, a trial opened from a row or a point, the stop signal, and
the compare panel. Each test takes a screenshot (artifacts/screenshots/reading/)."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from jupyter_harness import (
    Console,
    JupyterServer,
    open_view,
    panel_text,
    panel_views,
    run_panel_cell,
    shot,
    wait_panel_shows,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
# Prunes, fails (with --catch) and completes; two parameters; a slow enough run to act on.
RICH_CELL = (
    "%%optuna -n {n} --seed 5 --catch --metric-names loss -o rich\n"
    "import time\n"
    "lr = hp.float(1e-5, 1e-1, log=True)\n"
    "layers = hp.int(1, 6)\n"
    "time.sleep({sleep})\n"
    "if trial.number % 7 == 3:\n"
    "    raise ValueError(f'bad batch in trial {{trial.number}}')\n"
    "for step in range(3):\n"
    "    report((lr * 1000 - 3) ** 2 + layers + step, step)\n"
    "(lr * 1000 - 3) ** 2 + layers\n"
)


def _height(panel: Any) -> float:
    return float(panel.evaluate("(el) => el.getBoundingClientRect().height"))


def test_a_steady_panel_whose_tabs_fit_one_row_at_700px(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    # JupyterLab's side bars and margins take ~430 px: the cell's output is ~700 px wide.
    page.set_viewport_size({"width": 1130, "height": 1000})
    nb = notebook_factory(lab_server, page, [LOAD, RICH_CELL.format(n=60, sleep=0.05)])
    panel = run_panel_cell(nb)
    heights = {round(_height(panel))}
    while nb.is_running(1):
        heights.add(round(_height(panel)))
        time.sleep(0.2)
    nb.wait_cell_done(1)
    wait_panel_shows(panel)
    for view in panel_views(panel):
        open_view(panel, view)
        heights.add(round(_height(panel)))
    assert len(heights) == 1, f"the panel changed height: {sorted(heights)}"
    # One row of tabs: every visible tab at the same height, the rest in the "More" menu.
    tops = panel.evaluate(
        "(el) => [...el.querySelectorAll('[role=tab]')].filter((b) => !b.hidden)"
        ".map((b) => Math.round(b.getBoundingClientRect().top))"
    )
    assert len(set(tops)) == 1, tops
    width = panel.evaluate("(el) => el.getBoundingClientRect().width")
    assert 650 <= width <= 760, width
    # Nothing is cut: the tabs that show fit beside the "More" menu.
    assert panel.evaluate(
        "(el) => { const s = el.querySelector('.om-tab-strip');"
        " return s.scrollWidth <= s.clientWidth + 1; }"
    )
    offered = panel_views(panel)
    assert "pareto" not in offered  # one objective
    assert {"trials", "history", "intermediate", "contour", "events"} <= set(offered)
    # Chips never break inside a chip.
    chip_lines = panel.evaluate(
        "(el) => [...el.querySelectorAll('.om-chip')].map((c) => c.getClientRects().length)"
    )
    assert set(chip_lines) == {1}, chip_lines
    open_view(panel, "trials")
    shot(page, "reading/lab-700px", panel)
    assert console.relevant() == []


def test_a_zoom_survives_live_updates(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, RICH_CELL.format(n=400, sleep=0.03)])
    panel = run_panel_cell(nb)
    deadline = time.monotonic() + 60
    while "complete" not in panel_text(panel, "counts") and time.monotonic() < deadline:
        time.sleep(0.1)
    open_view(panel, "history")
    plot = panel.locator("[data-role=plot-history]")
    plot.locator(".nsewdrag").first.wait_for(timeout=30_000)
    box = plot.locator(".nsewdrag").first.bounding_box()
    assert box is not None
    # A drag-zoom over the middle of the plot.
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + box["width"] * 0.3, y0 + box["height"] * 0.5, steps=8)
    page.mouse.up()
    page.mouse.move(box["x"] - 40, box["y"] - 40)  # away: no hover holds the redraws
    ranges = "(el) => JSON.stringify([el._fullLayout.xaxis.range, el._fullLayout.yaxis.range])"
    zoomed = plot.evaluate(ranges)
    drawn_before = _count_draws(panel)
    time.sleep(1.5)  # the run goes on: several redraws
    assert nb.is_running(1), "the run ended before the redraws could be seen"
    assert _count_draws(panel) > drawn_before, "no redraw happened while the run went on"
    assert plot.evaluate(ranges) == zoomed, "a live update undid the zoom"
    shot(page, "reading/history-zoomed", panel)
    # A scrolled table keeps its place while rows keep coming.
    open_view(panel, "trials")
    scroller = panel.locator("[data-role=trials-table] .om-scroll")
    scroller.evaluate("(el) => { el.scrollTop = 240; }")
    time.sleep(1.0)
    assert nb.is_running(1)
    assert scroller.evaluate("(el) => el.scrollTop") == 240
    panel.locator("[data-role=stop]").click()
    nb.wait_cell_done(1, timeout=60)
    assert console.relevant() == []


def _count_draws(panel: Any) -> int:
    # The panel dispatches om-drawn on each real redraw; count them from the first call on.
    return int(
        panel.evaluate(
            "(el) => { if (el.__omDraws === undefined) { el.__omDraws = 0;"
            " el.addEventListener('om-drawn', () => el.__omDraws++); } return el.__omDraws; }"
        )
    )


def test_the_trials_table_and_a_trial_opened_from_a_row(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, RICH_CELL.format(n=30, sleep=0.0)])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1)
    open_view(panel, "trials")
    table = panel.locator("[data-role=trials-table]")
    # The best trial is marked; the header says the objective's name.
    best = table.locator(".om-tr[data-best=true]")
    best.wait_for()
    assert "★" in best.inner_text()
    assert "loss" in table.locator(".om-thead").inner_text()
    failed = table.locator(".om-tr[data-state=FAIL]").first
    assert "failed: ValueError: bad batch" in failed.inner_text()
    # Full values on hover.
    value_cell = best.locator(".om-td").nth(2)
    assert len(str(value_cell.get_attribute("title"))) > len(value_cell.inner_text())
    # A text filter, then the CSV of what is shown.
    table.locator("[data-role=table-filter]").fill("FAIL")
    deadline = time.monotonic() + 5
    while table.locator(".om-tr[data-state=COMPLETE]").count() and time.monotonic() < deadline:
        time.sleep(0.1)
    with page.expect_download() as info:
        table.locator("[data-role=download]").click()
    rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert rows[0][:3] == ["number", "state", "loss"]
    assert len(rows) > 1 and {r[1] for r in rows[1:]} == {"FAIL"}
    table.locator("[data-role=table-filter]").fill("")
    # A row opens its trial.
    best.wait_for()
    number = str(best.get_attribute("data-number"))
    _click_row(page, table, number)
    detail = panel.locator("[data-role=trial-detail]")
    detail.wait_for()
    assert f"Trial {number}" in detail.inner_text()
    assert "lr" in detail.locator("[data-role=trial-params]").inner_text()
    dict_text = detail.locator("[data-role=params-dict]").inner_text()
    assert dict_text.startswith("{'lr': ") and "'layers': " in dict_text
    detail.locator("[data-role=trial-curve] polyline").wait_for(state="attached")
    shot(page, "reading/trial-detail", panel)
    # A failed trial shows its traceback, from the kernel.
    detail.locator(".om-detail-close").click()
    failed_number = str(table.locator(".om-tr[data-state=FAIL]").first.get_attribute("data-number"))
    _click_row(page, table, failed_number)
    assert f"Trial {failed_number}" in detail.inner_text()
    detail.locator("[data-role=trial-traceback]").wait_for()
    deadline = time.monotonic() + 10
    while "ValueError" not in detail.locator("[data-role=trial-traceback]").inner_text():
        assert time.monotonic() < deadline, "the traceback did not come"
        time.sleep(0.1)
    # The stop signal: where the best last improved, and since when.
    improving = panel_text(panel, "improving")
    assert "improved at trial" in improving or "no better value" in improving
    assert console.relevant() == []


BODY = "x = hp.float(-5, 5)\n(x - 1) ** 2\n"


def _click_row(page: Any, table: Any, number: str) -> None:
    """Click a trial's row once the virtual table has drawn it in view (a scroll redraws the
    rows: a row found before it may show another trial after it)."""
    table.locator(f'.om-tr[data-number="{number}"]').scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    table.locator(f'.om-tr[data-number="{number}"]').click()


def test_compare_draws_studies_over_one_another(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    cells = [
        LOAD,
        f"%%optuna -n 25 --seed 1 --sampler tpe -o tpe --quiet\n{BODY}",
        f"%%optuna -n 25 --seed 1 --sampler random -o rnd --quiet\n{BODY}",
        "%optuna compare tpe rnd",
    ]
    nb = notebook_factory(lab_server, page, cells)
    for i in range(4):
        nb.run_cell(i)
    root = nb.output(3).locator(".optuna-magic[data-studies='2']")
    root.wait_for(timeout=60_000)
    root.locator("[data-role=compare-plot] .main-svg").first.wait_for(timeout=30_000)
    legend = root.locator("[data-role=compare-plot]").inner_text()
    assert "tpe" in legend and "rnd" in legend
    shot(page, "reading/compare-history", root)
    root.locator("[data-view=edf]").click()
    root.locator("[data-role=compare-plot] .main-svg").first.wait_for()
    root.locator("[data-view=best]").click()
    best = root.locator("[data-role=compare-best]")
    assert "best value" in best.inner_text() and best.locator("[data-winner=true]").count() >= 1
    shot(page, "reading/compare-best", root)
    assert console.relevant() == []


# Conditional parameters (a trial without some of them), more than 8 of them, log and int ones.
WIDE_CELL = (
    "%%optuna -n 40 --seed 3 --n-jobs 2\n"
    "n_layers = hp.int(1, 3)\n"
    "lr = hp.float(1e-5, 1e-1, log=True)\n"
    "width = hp.int(3, 20, log=True)\n"
    "a = hp.float(0, 1)\nb = hp.float(0, 1)\nc = hp.float(0, 1)\nd = hp.float(0, 1)\n"
    "e = hp.float(0, 1)\n"
    "units = [hp.int(4, 64, name=f'n_units_l{i}') for i in range(n_layers)]\n"
    "(lr * 1000 - 3) ** 2 + sum(units) / 100 + width / 10 + a + b + c + d + e\n"
)


def test_views_read_well_with_conditional_log_and_many_parameters(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, WIDE_CELL])
    panel = run_panel_cell(nb)
    nb.wait_cell_done(1)
    open_view(panel, "parcoords")
    plot = panel.locator("[data-role=plot-parcoords]")
    plot.locator(".om-pc-title").first.wait_for()
    # More than 8 parameters: an axis chooser; trials that lack n_units_l2 pass a "not set" band.
    assert "Axes:" in plot.inner_text()
    shot(page, "reading/parcoords-conditional", panel)
    ticks = " ".join(plot.locator(".om-pc-tick").all_text_contents())
    assert "µ" not in ticks
    open_view(panel, "contour")
    panel.locator("[data-role=plot-contour] .main-svg").first.wait_for(timeout=30_000)
    assert "µ" not in panel.locator("[data-role=plot-contour]").inner_text()
    open_view(panel, "timeline")
    timeline = panel.locator("[data-role=plot-timeline]")
    timeline.locator(".main-svg").first.wait_for(timeout=30_000)
    # No text squeezed into the bars (it shrank to 5 px past a few hundred trials).
    assert timeline.locator(".bartext").count() == 0
    shot(page, "reading/timeline-lanes", panel)
    open_view(panel, "space")
    space = panel.locator("[data-role=search-space]").inner_text()
    # The names as Optuna stores them, not the source text of the computed name.
    assert "n_units_l0" in space and "f'n_units_l" not in space
    assert "float [1e-05, 0.1] log" in space
    shot(page, "reading/search-space", panel)
    assert console.relevant() == []
