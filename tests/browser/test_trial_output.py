"""What trials print, in a real JupyterLab (the trust contract, DESIGN 3.2).

Every line a trial prints is shown under its cell and saved with the notebook while the panel
talks to the kernel (its bundle and sync requests, a second view, Stop); the status bar reads
busy while the cell runs.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from jupyter_harness import (
    Console,
    JupyterServer,
    panel_text,
    run_panel_cell,
    shot,
    wait_for_panel,
    wait_panel_shows,
)

pytestmark = pytest.mark.browser

LOAD = "%load_ext optuna_magic"
PRINTING = (
    "%%optuna -n 2000 --seed 1\n"
    "import time, warnings\n"
    "x = hp.float(-10, 10)\n"
    "for i in range(3):\n"
    "    print(f'trial {trial.number} line {i}')\n"
    "if trial.number % 10 == 0:\n"
    "    warnings.warn(f'warned in trial {trial.number}')\n"
    "time.sleep(0.05)\n"
    "(x - 2) ** 2\n"
)


def _finished(panel: Any) -> int:
    """``k`` of the panel's ``k / N`` (0 while the header is not drawn yet)."""
    m = re.search(r"(\d[\d,]*)\s*/\s*[\d,]+", panel_text(panel, "progress"))
    return int(m.group(1).replace(",", "")) if m else 0


def test_every_printed_line_is_shown_and_saved_while_the_panel_talks(
    lab_server: JupyterServer, page: Any, notebook_factory: Any, console: Console
) -> None:
    nb = notebook_factory(lab_server, page, [LOAD, PRINTING])
    panel = run_panel_cell(nb)
    statuses: list[str] = []

    def sample_until(n: int) -> None:
        deadline = time.monotonic() + 90
        while _finished(panel) < n:
            assert time.monotonic() < deadline, f"fewer than {n} trials in 90 s"
            statuses.append(nb.kernel_status())
            time.sleep(0.1)

    sample_until(5)
    # A second view asks the kernel for the whole record mid-run.
    nb.select_cell(1)
    nb.execute_command("notebook:create-output-view")
    wait_for_panel(page.locator(".jp-LinkedOutputView"))
    sample_until(120)
    panel.locator("[data-role=stop]").click()
    nb.wait_cell_done(1, timeout=60)
    wait_panel_shows(panel, "stopped", timeout=10)  # drawn at the page's next frame
    assert "stopped" in panel_text(panel, "state").lower()
    shot(page, "panel/lab-stopped", panel)  # a stopped run's bar shows how far it got
    assert len(statuses) >= 20
    assert statuses.count("busy") == len(statuses), statuses

    out = nb.run_code("print(*[t.number for t in study.trials if t.state.name == 'COMPLETE'])")
    ran = [int(v) for v in out.split()]
    assert len(ran) >= 120
    expected = {f"trial {n} line {i}" for n in ran for i in range(3)}
    shown = set(nb.output(1).inner_text().splitlines())
    assert expected <= shown, sorted(expected - shown)[:5]

    nb.save()
    time.sleep(1.0)
    saved = lab_server.api(f"api/contents/{nb.name}?content=1")["content"]
    outputs = saved["cells"][1]["outputs"]

    def stream(name: str) -> list[str]:
        # stdout and stderr are separate streams in a saved notebook, interleaved in the order
        # their chunks were flushed; a print's text and its newline are two writes, so a
        # warning's stderr chunk may sit between them. Each stream is read whole on its own.
        kept = [o for o in outputs if o.get("output_type") == "stream" and o["name"] == name]
        return "".join("".join(o["text"]) for o in kept).splitlines()

    lines = [ln for ln in stream("stdout") if ln.startswith("trial ")]
    assert sorted(lines) == sorted(expected)
    warned = [ln for ln in stream("stderr") if "UserWarning: warned in trial" in ln]
    assert len(warned) == len([n for n in ran if n % 10 == 0])
    assert console.relevant() == []
