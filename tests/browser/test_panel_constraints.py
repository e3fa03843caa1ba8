"""A constrained run in JupyterLab (``constraint(...)`` in the cell, Optuna's rule: feasible when
<= 0): the header shows the best feasible trial, History draws infeasible trials apart and keeps
them out of the best so far, and the trials table marks them. Screenshots in
artifacts/screenshots/constraints/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_harness import (
    Console,
    JupyterServer,
    open_view,
    panel_text,
    run_panel_cell,
    shot,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
# The unconstrained best is x = 2; feasible only from x = 3 on, so the best feasible is near 3.
CELL = (
    "%%optuna -n 40 --seed 3 -o cons\n"
    "x = hp.float(0, 6)\n"
    "constraint(3 - x, name='at_least_3')\n"
    "(x - 2) ** 2\n"
)
PROBE = (
    "import json\n"
    "b = cons.best_trial\n"
    "print('PROBE=' + json.dumps({'number': b.number, 'value': b.value,"
    " 'infeasible': [t.number for t in cons.trials if t.params['x'] < 3],"
    " 'unconstrained': min(cons.trials, key=lambda t: t.value).number}))"
)


def test_a_constrained_run_shows_the_best_feasible_trial_and_marks_infeasible_ones(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    page.set_viewport_size({"width": 1130, "height": 1000})
    nb = notebook_factory(lab_server, page, [LOAD, CELL])
    panel = run_panel_cell(nb, wait=True)
    probe = json.loads(nb.run_code(PROBE).split("PROBE=")[1])
    assert probe["infeasible"] and probe["unconstrained"] != probe["number"]
    # The header: the best feasible trial (Optuna's study.best_trial), not the lowest value.
    best = panel_text(panel, "best")
    assert f"(trial {probe['number']})" in best, best

    open_view(panel, "history")
    plot = panel.locator("[data-role=plot-history]")
    plot.locator(".nsewdrag").first.wait_for(timeout=30_000)
    traces = plot.evaluate("(el) => el.omData.map((d) => ({name: d.name, x: d.x, y: d.y}))")
    by_name = {t["name"]: t for t in traces}
    assert sorted(by_name["infeasible"]["x"]) == probe["infeasible"]
    assert by_name["best so far"]["y"][-1] == pytest.approx(probe["value"])
    shot(page, "constraints/history", panel)

    open_view(panel, "trials")
    table = panel.locator("[data-role=trials-table]")
    table.locator("[data-column=constraint]").wait_for(timeout=10_000)
    marked = table.evaluate(
        "(el) => [...el.querySelectorAll('.om-tr[data-infeasible=true]')]"
        ".map((tr) => Number(tr.dataset.number))"
    )
    assert marked and set(marked) <= set(probe["infeasible"])
    shot(page, "constraints/table", panel)
    # The other views mark them too (their figures are tested in vitest): seen here.
    for view in ("slice", "parcoords", "timeline"):
        open_view(panel, view)
        panel.locator(f"[data-role=plot-{view}]").first.wait_for(timeout=10_000)
        page.wait_for_timeout(500)
        shot(page, f"constraints/{view}", panel)
    assert console.relevant() == []
