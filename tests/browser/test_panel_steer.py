"""Steering a study from its panel in JupyterLab (headless Chromium): a trial's edited parameters
enqueued from its detail, "Run N more" after the run ended (the enqueued trial runs first, the
new trials stream into the same panel, their prints show beneath the cell), and the refusals a
busy kernel gets: in words while a cell awaits, "no kernel answered" while one blocks, and no
run started late. Screenshots: artifacts/screenshots/steer/."""

from __future__ import annotations

import time
from typing import Any

import pytest
from jupyter_harness import Console, JupyterServer, panel_text, run_panel_cell, shot

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
CELL = (
    "%%optuna -n 4 --seed 3 -o steered\n"
    "import time\n"
    "x = hp.float(0, 1)\n"
    "k = hp.int(1, 9, step=2)\n"
    "act = hp.choice(['relu', 'tanh'])\n"
    "time.sleep(0.1)\n"
    "print(f'printed by trial {trial.number}')\n"
    "x + k\n"
)
AWAITING = "import asyncio\nawait asyncio.sleep(6)"
BLOCKING = "import time\ntime.sleep(9)"


def _wait_text(read: Any, want: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = str(read())
        if want in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{want!r} never showed; last: {text!r}")


def test_enqueue_from_a_trial_then_run_more_into_the_same_panel(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    page.set_viewport_size({"width": 1130, "height": 1100})
    nb = notebook_factory(lab_server, page, [LOAD, CELL, AWAITING, BLOCKING])
    panel = run_panel_cell(nb, wait=True)
    _wait_text(lambda: panel_text(panel, "state"), "finished")
    run_more = panel.locator("[data-role=run-more]")
    run_more.wait_for(state="visible")
    count = panel.locator("[data-role=run-more-n]")
    assert count.input_value() == "4"  # the last run's number of trials

    # A trial's detail: its parameters as fields, edited and enqueued.
    table = panel.locator("[data-role=trials-table]")
    table.locator('.om-tr[data-number="1"]').click()
    detail = panel.locator("[data-role=trial-detail]")
    detail.wait_for()
    detail.locator("[data-param=x]").fill("1.5")
    detail.locator("[data-role=enqueue]").click()
    message = detail.locator("[data-role=enqueue-message]")
    assert message.inner_text() == "x must be from 0 to 1, not 1.5"  # checked before sending
    detail.locator("[data-param=x]").fill("0.123456789012345")
    detail.locator("[data-param=k]").fill("7")
    detail.locator("[data-param=act]").select_option("tanh")
    detail.locator("[data-role=enqueue]").click()
    _wait_text(message.inner_text, "Enqueued: runs first in the next run")
    shot(page, "steer/trial-detail-enqueue", panel)
    detail.locator(".om-detail-close").click()

    # Run 3 more: the header runs again, then counts the new run's 3.
    count.fill("3")
    run_more.click()
    _wait_text(lambda: panel_text(panel, "progress"), "3 / 3", timeout=60)
    _wait_text(lambda: panel_text(panel, "state"), "finished")
    _wait_text(lambda: panel_text(panel, "counts"), "complete 7")
    # What the continued trials printed shows beneath the cell (the first run's too).
    out = _wait_text(nb.output(1).first.inner_text, "printed by trial 6")
    assert all(f"printed by trial {n}" in out for n in range(7)), out
    # ... after the first run's lines, in the order the trials ran.
    assert [out.index(f"printed by trial {n}") for n in range(7)] == sorted(
        out.index(f"printed by trial {n}") for n in range(7)
    ), out
    shot(page, "steer/cell-after-run-more", nb.output(1).first)  # the prints under the panel
    # The enqueued parameters were the first trial of the continued run.
    assert nb.run_code("print(steered.trials[4].params)").strip() == (
        "{'x': 0.123456789012345, 'k': 7, 'act': 'tanh'}"
    )
    table.locator('.om-tr[data-number="6"]').wait_for()
    shot(page, "steer/after-run-more", panel)

    # While a cell awaits, the kernel answers: refused, in words.
    nb.run_cell(2, wait=False)
    time.sleep(0.5)
    run_more.click()
    note = panel.locator("[data-role=run-more-message]")
    _wait_text(note.inner_text, "the kernel is running a cell: Run more starts when it is idle")
    shot(page, "steer/refused-busy", panel)
    nb.wait_cell_done(2)

    # While a cell blocks, no answer comes: the panel says so, and nothing starts later.
    nb.run_cell(3, wait=False)
    time.sleep(0.5)
    run_more.click()
    _wait_text(note.inner_text, "no kernel answered", timeout=15)
    nb.wait_cell_done(3, timeout=60)
    time.sleep(2)
    assert nb.run_code("print(len(steered.trials))").strip() == "7"
    assert panel_text(panel, "state") == "finished"
    assert console.relevant() == []
