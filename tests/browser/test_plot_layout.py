"""A plot view lays its figure out once per draw, in JupyterLab. Where tick labels or a title
need more room than the layout's margins give, plotly widens the margin and draws the whole
figure a second time (its auto-margin pass): the EDF and timeline views did so at each first
draw, before they asked for the room their labels take."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_harness import (
    Console,
    JupyterServer,
    open_view,
    panel_views,
    run_panel_cell,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
# A finished study with intermediate values (every plot view applies), shown by a live panel so
# that a trial added from another cell reaches it as a delta: a redraw.
STUDY = (
    "import random, optuna, optuna_magic\n"
    "from optuna.distributions import CategoricalDistribution, FloatDistribution\n"
    "optuna.logging.set_verbosity(optuna.logging.WARNING)\n"
    "dist = {{'x': FloatDistribution(-10, 10), 'lr': FloatDistribution(1e-5, 1e-1, log=True),\n"
    "        'kind': CategoricalDistribution(['a', 'b'])}}\n"
    "rnd = random.Random(0)\n"
    "def one(state=optuna.trial.TrialState.COMPLETE):\n"
    "    p = {{'x': rnd.uniform(-10, 10), 'lr': 10 ** rnd.uniform(-5, -1),\n"
    "         'kind': rnd.choice('ab')}}\n"
    "    v = (p['x'] - 2) ** 2 + p['lr']\n"
    "    values = [v, (p['x'] + 2) ** 2 * 1e4] if {objectives} == 2 else None\n"
    "    done = state == optuna.trial.TrialState.COMPLETE\n"
    "    return optuna.trial.create_trial(params=p, distributions=dist, state=state,\n"
    "        value=v if done and values is None else None, values=values,\n"
    "        intermediate_values={{s: v + 3 - s for s in range(3)}} if values is None else {{}})\n"
    "study = optuna.create_study(directions=['minimize'] * {objectives})\n"
    "study.add_trials([one(optuna.trial.TrialState.PRUNED if i % 5 == 0 and {objectives} == 1\n"
    "                      else optuna.trial.TrialState.COMPLETE) for i in range(300)])\n"
    "optuna_magic.panel(study, live=True, interval=0.2)\n"
)
ADD_ONE = "study.add_trial(one())"

# The view's om-drawn events (one per redraw the panel asks for) from the first call on, and
# whether plotly made an extra pass for margins: its auto-margin code (plots.js, doAutoMargin)
# adds a private field to the full layout when it draws again, and each draw's new full layout
# takes the last one's private fields, so the test removes it before the redraw (FORGET).
COUNTERS = (
    "(el, view) => { el.__omDrawn ??= {};"
    " if (!el.__omListening) { el.__omListening = 1; el.addEventListener('om-drawn', (e) => {"
    " el.__omDrawn[e.detail.view] = (el.__omDrawn[e.detail.view] || 0) + 1; }); }"
    " const gd = el.querySelector(`[data-role=plot-${view}]`);"
    " const full = gd && gd._fullLayout;"
    " return [el.__omDrawn[view] || 0, full ? +('_redrawFromAutoMarginCount' in full) : -1]; }"
)


FORGET = (
    "(el, view) => { delete el.querySelector(`[data-role=plot-${view}]`)._fullLayout"
    "._redrawFromAutoMarginCount; }"
)

# The plot views of a study of one objective, and those two objectives add.
PLOTS = {
    1: ("history", "intermediate", "slice", "contour", "rank", "edf", "timeline"),
    2: ("pareto", "hypervolume"),
}


@pytest.mark.parametrize("objectives", [1, 2])
def test_each_plot_view_draws_in_one_layout_pass(
    lab_server: JupyterServer,
    page: Any,
    notebook_factory: Any,
    console: Console,
    objectives: int,
) -> None:
    """A view's first draw and a live redraw each lay the figure out once; labels wider than
    the margins (values of ~1e6) cost a second pass at the first draw only: plotly keeps the
    margins it widened for the plot's next draws."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    nb = notebook_factory(lab_server, page, [LOAD, STUDY.format(objectives=objectives), ADD_ONE])
    panel = run_panel_cell(nb, wait=True)
    panel.locator(".om-muted", has_text="300 trials").first.wait_for(timeout=60_000)
    plots = [v for v in PLOTS[objectives] if v in panel_views(panel)]
    assert len(plots) >= len(PLOTS[objectives]) - 1, panel_views(panel)  # contour: 2+ params
    extra: dict[str, list[int]] = {}
    for view in plots:
        open_view(panel, view)
        page.wait_for_function(
            "([el, view, f]) => eval(f)(el, view)[1] >= 0",
            arg=[panel.element_handle(), view, COUNTERS],
            timeout=60_000,
        )
        page.wait_for_timeout(500)  # the first draw's passes are over
        drawn, first = panel.evaluate(COUNTERS, view)
        panel.evaluate(FORGET, view)
        nb.run_cell(2)  # one more trial: a delta, one redraw
        page.wait_for_function(
            "([el, view, f, k]) => eval(f)(el, view)[0] > k",
            arg=[panel.element_handle(), view, COUNTERS, drawn],
            timeout=30_000,
        )
        page.wait_for_timeout(800)  # a second layout pass would have come by now
        extra[view] = [first, panel.evaluate(COUNTERS, view)[1]]
    if objectives == 1:  # ordinary values: every view's margins hold its labels at once
        assert extra == {view: [0, 0] for view in plots}
    else:  # values of ~1e6 (ticks such as "1.2e+6"): a first draw may widen, a redraw never
        assert {view: r for view, (_, r) in extra.items()} == {view: 0 for view in plots}
        assert extra["pareto"][0] == 1  # it did widen: the case the redraw is tested in
    assert console.relevant() == []
