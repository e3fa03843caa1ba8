"""The panel in marimo: a real ``marimo edit`` server, its notebooks opened in headless Chromium.

marimo has no magics, so its notebooks call the public API. What marimo does with a widget's
messages decides what works (see ``optuna_magic.outputs.panel.marimo.marimo_panel``): it
handles them only while no cell runs. So a run that blocks its cell (``optimize``, or
``await optimize_async``) shows the live panel updating during the run, and a run in a
``mo.Thread`` also gets the panel's Stop click at once.

Each test writes its own notebook into the server's root and opens it; ``.marimo.toml`` there
makes marimo run a notebook's cells when it opens (as a user would with "Run all"). One test
serves a notebook as an app with ``marimo run`` instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jupyter_harness import Console, end_process, open_view, shot, wait_for_panel

pytest.importorskip("marimo")

pytestmark = [pytest.mark.host_marimo, pytest.mark.slow, pytest.mark.timeout(240)]

START_TIMEOUT = 90.0


@dataclass
class MarimoServer:
    url: str
    root: Path
    log_path: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def write(self, *cells: str) -> str:
        """A marimo notebook of ``cells`` (each a function body); returns its file name."""
        body = "".join(
            f"\n\n@app.cell\n{'async ' if 'await ' in c else ''}def _():\n"
            f"{textwrap.indent(textwrap.dedent(c).strip(), '    ')}\n    return\n"
            for c in cells
        )
        name = f"m_{uuid.uuid4().hex[:8]}.py"
        (self.root / name).write_text(
            f"import marimo\n\napp = marimo.App()\n{body}\n\nif __name__ == '__main__':\n"
            "    app.run()\n"
        )
        return name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_marimo(base: Path, command: str, target: str) -> MarimoServer:
    """``marimo <command>`` (edit, run) of ``target`` under ``base/root``, isolated from the
    user's marimo config; returns once it answers."""
    root, home = base / "root", base / "home"
    root.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    # Found by walking up from the server's working directory: run every cell on open.
    (root / ".marimo.toml").write_text("[runtime]\nauto_instantiate = true\n")
    port = _free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = base / f"marimo-{command}.log"
    cmd = [sys.executable, "-m", "marimo", command, "--headless"]
    # `marimo run` has neither option (no token, no update check there).
    cmd += ["--no-token", "--skip-update-check"] if command == "edit" else []
    cmd += ["--host", "127.0.0.1", "--port", str(port), target]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = MarimoServer(f"http://127.0.0.1:{port}/", root, log_path, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"marimo exited ({proc.returncode}):\n{server.log_tail()}")
        try:
            urllib.request.urlopen(f"{server.url}health", timeout=5).close()
            return server
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                stop_marimo(server)
                raise RuntimeError(f"marimo not up:\n{server.log_tail()}") from None
            time.sleep(0.25)


def stop_marimo(server: MarimoServer) -> None:
    end_process(server.proc)


@pytest.fixture(scope="module")
def marimo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarimoServer]:
    """``marimo edit`` over a folder of notebooks (each test opens its own)."""
    base = tmp_path_factory.mktemp("marimo")
    server = start_marimo(base, "edit", str(base / "root"))
    yield server
    stop_marimo(server)


@pytest.fixture
def marimo_page(
    browser: Any, console: Console, request: pytest.FixtureRequest, marimo_server: MarimoServer
) -> Iterator[Any]:
    """A fresh page recording console errors; on failure, a screenshot and the server log."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        with contextlib.suppress(Exception):
            shot(pg, f"failures/{request.node.name}")
        request.node.add_report_section("call", "marimo server log", marimo_server.log_tail())
        request.node.add_report_section("call", "console errors", "\n".join(console.errors))
    context.close()


SETUP = """
import time
import marimo as mo
import optuna
import optuna_magic
optuna.logging.set_verbosity(optuna.logging.WARNING)

def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    time.sleep(0.1)
    print(f"trial {trial.number} says hi")
    return (x - 2) ** 2
"""


THREAD_RUN = """
study = optuna.create_study(study_name="marimo-thread")
# The cell ends at once; the run goes on beside it and marimo hands the panel its messages.
mo.Thread(target=optuna_magic.optimize, args=(study, objective), kwargs={"n_trials": 500}).start()
"""


def open_notebook(server: MarimoServer, pg: Any, name: str) -> Any:
    """Open notebook ``name``; returns the locator of its (first) panel once it shows."""
    pg.goto(f"{server.url}?file={name}")
    return wait_for_panel(pg, timeout=90)


def state(panel: Any) -> str:
    return str(panel.locator("[data-role=state]").first.inner_text(timeout=5_000))


def progress(panel: Any) -> str:
    return str(panel.locator("[data-role=progress]").first.inner_text(timeout=5_000))


def wait_state(panel: Any, wanted: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while (now := state(panel)) != wanted:
        assert time.monotonic() < deadline, f"panel still {now!r}, not {wanted!r}"
        time.sleep(0.2)


@pytest.mark.parametrize(
    "call",
    [
        "optuna_magic.optimize(study, objective, n_trials=120)",
        "await optuna_magic.optimize_async(study, objective, n_trials=120)",
    ],
    ids=["optimize", "optimize_async"],
)
def test_a_run_that_blocks_its_cell_shows_the_live_panel_updating_during_the_run(
    call: str, marimo_server: MarimoServer, marimo_page: Any, console: Console
) -> None:
    # An awaiting cell blocks marimo's kernel as much as a blocking one: the same panel.
    name = marimo_server.write(
        SETUP
        + f"""
study = optuna.create_study(study_name="marimo-blocking")
{call}
print("cell done:", len(study.trials), "trials")
"""
    )
    panel = open_notebook(marimo_server, marimo_page, name)
    wait_state(panel, "running")
    tag = call.split("(")[0].split(".")[-1]
    seen: list[str] = []
    drawn_live = False
    history = panel.locator("[data-role=plot-history]").locator(".main-svg, canvas")
    deadline = time.monotonic() + 90
    while state(panel) == "running":  # sampled before the read: the last read is a running one
        now = progress(panel)
        if not seen or seen[-1] != now:
            if len(seen) == 1:
                shot(marimo_page, f"marimo/blocking-live-{tag}", panel)  # mid-run, cell blocked
                # A plot while the kernel cannot answer the page: plotly came with the panel.
                open_view(panel, "history")
            seen.append(now)
        drawn_live = drawn_live or (len(seen) > 1 and history.count() > 0)
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
    # Several different counts while the cell still ran: the panel is live, not drawn at the end.
    assert len({p for p in seen if not p.startswith("120 /")}) >= 2, seen
    assert drawn_live, "the history plot did not draw while the cell ran"
    wait_state(panel, "finished")
    assert progress(panel) == "120 / 120"
    body = marimo_page.locator("body")
    deadline = time.monotonic() + 30
    while "cell done: 120 trials" not in (text := str(body.inner_text())):
        assert time.monotonic() < deadline, text[-2000:]
        time.sleep(0.2)
    # What the trials printed is in the cell's console output, as marimo shows a cell's prints.
    assert "trial 0 says hi" in text and "trial 119 says hi" in text
    # Trials that ended before the view opened come with the whole record the view asked for,
    # which marimo delivers once the cell is over: then the table has every trial.
    open_view(panel, "trials")
    deadline = time.monotonic() + 30
    while "120 trials" not in (text := str(panel.inner_text())):
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    path = shot(marimo_page, f"marimo/blocking-run-{tag}")
    assert path.stat().st_size > 10_000
    assert not console.relevant(), console.errors


def test_a_run_in_a_mo_thread_stops_from_the_panels_stop_button(
    marimo_server: MarimoServer, marimo_page: Any, console: Console
) -> None:
    name = marimo_server.write(SETUP + THREAD_RUN)
    panel = open_notebook(marimo_server, marimo_page, name)
    wait_state(panel, "running")
    deadline = time.monotonic() + 60
    while progress(panel).startswith("0 /"):
        assert time.monotonic() < deadline, "no trial shown"
        time.sleep(0.2)
    panel.locator("[data-role=stop]").first.click()
    wait_state(panel, "stopped", timeout=30)
    done = int(progress(panel).split("/")[0])
    assert 0 < done < 500  # stopped early; the finished trials stay counted
    shot(marimo_page, "marimo/thread-stopped", panel)
    assert not console.relevant(), console.errors


def test_the_panel_of_a_finished_study_as_a_cells_value(
    marimo_server: MarimoServer, marimo_page: Any, console: Console
) -> None:
    name = marimo_server.write(
        """
import marimo as mo
import optuna
import optuna_magic
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(study_name="marimo-finished")
study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=12)
mo.ui.anywidget(optuna_magic.panel(study))  # the cell's value, wrapped as marimo expects
"""
    )
    panel = open_notebook(marimo_server, marimo_page, name)
    wait_state(panel, "finished")
    assert "marimo-finished" in str(panel.inner_text())
    assert "complete 12" in str(panel.locator("[data-role=counts]").first.inner_text())
    # The trials table, once the whole record came (the panel asked for it as it opened).
    deadline = time.monotonic() + 30
    while "12 trials" not in (text := str(panel.inner_text())):
        assert time.monotonic() < deadline, text
        time.sleep(0.2)
    assert not console.relevant(), console.errors


def test_marimos_interrupt_stops_a_blocking_run_and_keeps_its_trials(
    marimo_server: MarimoServer, marimo_page: Any, console: Console
) -> None:
    name = marimo_server.write(
        SETUP
        + """
study = optuna.create_study(study_name="marimo-interrupt")
""",
        # A cell of its own: the study is defined whatever happens to the run's cell.
        """
optuna_magic.optimize(study, objective, n_trials=500)
""",
    )
    panel = open_notebook(marimo_server, marimo_page, name)
    wait_state(panel, "running")
    deadline = time.monotonic() + 60
    while progress(panel).startswith("0 /"):
        assert time.monotonic() < deadline, "no trial shown"
        time.sleep(0.2)
    # marimo's own interrupt (SIGINT to its kernel): what stops a run that blocks its cell.
    marimo_page.locator("[data-testid=interrupt-button]").first.click()
    # marimo then shows the cell as interrupted, in place of its output (the panel with it),
    # and the error the run raised.
    body = marimo_page.locator("body")
    deadline = time.monotonic() + 30
    while "RunInterrupted" not in (text := str(body.inner_text())):
        assert time.monotonic() < deadline, text[-2000:]
        time.sleep(0.2)
    kept = re.search(r"the run stopped; (\d+) finished trial\(s\) kept in study 'marimo-", text)
    assert kept is not None, text[-2000:]
    assert 0 < int(kept.group(1)) < 500
    shot(marimo_page, "marimo/interrupted")


def test_an_app_served_by_marimo_run_stops_from_the_panel(
    marimo_server: MarimoServer,
    marimo_page: Any,
    console: Console,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    # `marimo run`: the notebook as an app (no code shown), one kernel per visitor.
    name = marimo_server.write(SETUP + THREAD_RUN)
    app = start_marimo(tmp_path, "run", str(marimo_server.root / name))
    try:
        marimo_page.goto(app.url)
        panel = wait_for_panel(marimo_page, timeout=90)
        wait_state(panel, "running")
        deadline = time.monotonic() + 60
        while progress(panel).startswith("0 /"):
            assert time.monotonic() < deadline, "no trial shown"
            time.sleep(0.2)
        panel.locator("[data-role=stop]").first.click()
        wait_state(panel, "stopped", timeout=30)
        assert 0 < int(progress(panel).split("/")[0]) < 500
        shot(marimo_page, "marimo/app-stopped")
        assert not console.relevant(), console.errors
    except BaseException:
        request.node.add_report_section("call", "marimo run log", app.log_tail())
        raise
    finally:
        stop_marimo(app)
