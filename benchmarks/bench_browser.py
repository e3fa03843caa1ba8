"""Front-end figures in headless Chromium with a real JupyterLab (the browser tests' harness).

Update + redraw cost: a panel on a study of N trials (``optuna_magic.panel``, the panel of
``%optuna watch``) is shown in JupyterLab; the kernel then sends small deltas (100 new trials
each, as a live run's flush does) and the page times, for each one, (a) the ``msg:custom``
dispatch on the widget's model (the panel applies the delta to its record inside it) and (b) the
redraw the panel schedules from it (its ``setTimeout(draw)``), up to the frame after it was
painted (a ``requestAnimationFrame`` then a task). The throttle wait between (a) and (b) is not
counted: it is idle time, not work. The page is instrumented from outside (the model's
``trigger`` is wrapped through the widget manager); the panel's code is not changed.

The JS heap is read with CDP (``HeapProfiler.collectGarbage`` then ``Runtime.getHeapUsage``: V8's
used heap plus the ArrayBuffer backing stores, where typed arrays keep their data).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _figures import Results, median
from _kernel import Kernel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

SETUP = r"""
%load_ext optuna_magic
import time, gc
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
import optuna_magic
optuna.logging.set_verbosity(optuna.logging.WARNING)
_D = {"x": FloatDistribution(-10, 10), "y": FloatDistribution(1e-3, 1.0, log=True),
      "n": IntDistribution(1, 100), "c": CategoricalDistribution(["a", "b", "c"])}
_rng = np.random.default_rng(0)
def _trial(i, steps=5):
    p = {"x": float(_rng.uniform(-10, 10)), "y": float(np.exp(_rng.uniform(-6.9, 0))),
         "n": int(_rng.integers(1, 101)), "c": "abc"[int(_rng.integers(0, 3))]}
    v = (p["x"] - 2) ** 2 + p["y"] + p["n"] / 100 + (p["c"] == "b")
    t = optuna.trial.create_trial(params=p, distributions=_D, value=v,
        intermediate_values={s: v * (1 + 1 / (s + 1)) for s in range(steps)})
    t.number = i
    return t
def _study(n):
    s = optuna.create_study(study_name=f"bench-{n}")
    s.add_trials([_trial(i) for i in range(n)])
    return s
_panels = []
def _show(n):
    for p in _panels:
        p.close()
    _panels.clear()
    gc.collect()
    p = optuna_magic.panel(_study(n), live=False)
    _panels.append(p)
    display(p)
    return p
def _updates(k=6, rows=100, pause=0.45):
    p = _panels[-1]
    base = len(p.record)
    for j in range(k):
        p.update_from([_trial(base + j * rows + i) for i in range(rows)])
        p.flush()
        time.sleep(pause)
"""

# Fresh pages (each with a fresh kernel) the start-up figures are the median of.
STARTUP_REPEATS = 5

CELL = (
    "%%optuna -n 200 --seed 1\n"
    "x = hp.float(-10, 10)\n"
    "y = hp.float(1e-3, 1.0, log=True)\n"
    "n = hp.int(1, 100)\n"
    "c = hp.choice(['a', 'b', 'c'])\n"
    "(x - 2) ** 2 + y + n / 100 + (c == 'b')\n"
)

# Runs cell ``i`` with the notebook's run command and times, in the page, the command to the
# frame painted after the new panel's root (with its progress element) is laid out with a height.
# The figure timed from Python adds Playwright's round trips and its polling (~100-150 ms measured
# beside it on 2 loaded cores) to what the user waits for.
RUN_TIMED = r"""
(i) => {
  const old = new Set(document.querySelectorAll('.optuna-magic'));
  const run = (window.__omRun = { t0: performance.now() });
  const found = () => [...document.querySelectorAll('.optuna-magic')].find((x) => !old.has(x)
    && x.querySelector('[data-role=progress]') && x.getBoundingClientRect().height > 0);
  const obs = new MutationObserver(() => {
    if (!found()) return;
    obs.disconnect();
    run.shown = true;
    requestAnimationFrame(() => setTimeout(() => { run.painted = performance.now() - run.t0; }, 0));
  });
  obs.observe(document.body, { subtree: true, childList: true });
  const p = window.jupyterapp.shell.currentWidget;
  p.content.activeCellIndex = i;
  p.content.deselectAll();
  window.jupyterapp.commands.execute('notebook:run-cell');  // resolves when the cell ends
}
"""

# Wraps the widget model's trigger to time msg:custom dispatch and the draw it schedules.
INSTRUMENT = r"""
async (modelId) => {
  const app = window.jupyterapp;
  let manager = null;
  const visit = (w) => {
    if (manager || !w) return;
    if (w._manager && w._manager.promise) { manager = w._manager.promise; return; }
    for (const c of (w.widgets || [])) visit(c);
  };
  for (const cell of app.shell.currentWidget.content.widgets) visit(cell.outputArea);
  if (!manager) throw new Error("no widget manager found");
  const mgr = await manager;
  const model = await mgr.get_model(modelId);
  window.__om = { recs: [], draws: [] };
  if (!window.__omDrawHook) {
    // Plot views announce each real redraw (a data-driven redraw may be deferred by the
    // panel's cool-down, so the timeout scheduled by a delta is not always the redraw).
    window.__omDrawHook = true;
    document.addEventListener("om-drawn", (e) => {
      const rec = { view: e.detail.view, start: performance.now() - e.detail.ms };
      window.__om.draws.push(rec);
      requestAnimationFrame(() => setTimeout(() => { rec.painted = performance.now(); }, 0));
    });
  }
  if (model.__omWrapped) return true;
  model.__omWrapped = true;
  const orig = model.trigger;
  model.trigger = function (name, ...args) {
    if (name !== "msg:custom") return orig.call(this, name, ...args);
    const head = args[0] || {};
    const rec = { t0: performance.now(), type: head.type, rows: head.n_trials };
    const st = window.setTimeout;
    window.setTimeout = function (fn, ms, ...rest) {
      if (typeof fn !== "function") return st.call(window, fn, ms, ...rest);
      const wrapped = function (...a) {
        rec.drawStart = performance.now();
        try { return fn.apply(this, a); }
        finally {
          rec.drawEnd = performance.now();
          const painted = () => { rec.painted = performance.now(); };
          requestAnimationFrame(() => st.call(window, painted, 0));
        }
      };
      return st.call(window, wrapped, ms, ...rest);
    };
    try { return orig.call(this, name, ...args); }
    finally { window.setTimeout = st; rec.applied = performance.now(); window.__om.recs.push(rec); }
  };
  return true;
}
"""


class BrowserBench:
    def __init__(self, results: Results, *, quick: bool = False) -> None:
        self.r = results
        self.quick = quick

    def run(self) -> None:
        from jupyter_harness import (
            CHROMIUM,
            CHROMIUM_ARGS,
            NotebookPage,
            missing_reason,
            start_server,
            stop_server,
            write_notebook,
        )
        from playwright.sync_api import sync_playwright

        reason = missing_reason()
        if reason:
            raise RuntimeError(f"browser benchmarks need Chromium and Playwright: {reason}")
        with tempfile.TemporaryDirectory(prefix="om-bench-lab-") as tmp:
            server = start_server("lab", Path(tmp))
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(
                        executable_path=CHROMIUM,
                        args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"],
                        timeout=60_000,
                    )
                    try:
                        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                        pg = ctx.new_page()
                        # The start-up figure: a kernel's first %%optuna cell after
                        # `import optuna` (which a notebook has done by then), each time in a
                        # fresh page with a fresh kernel.
                        startups = []
                        for _ in range(1 if self.quick else STARTUP_REPEATS):
                            fresh = ctx.new_page()
                            name = write_notebook(
                                server, ["%load_ext optuna_magic\nimport optuna", CELL]
                            )
                            nb = NotebookPage(server, fresh, name)
                            nb.open()
                            startups.append(self.startup(nb))
                            fresh.evaluate(
                                "() => window.jupyterapp.shell.currentWidget"
                                ".sessionContext.shutdown()"
                            )
                            fresh.close()
                        self.report_startup(startups)
                        nb = NotebookPage(server, pg, write_notebook(server, [CELL]))
                        nb.open()
                        self.updates(nb, pg, ctx)
                    finally:
                        browser.close()
            finally:
                stop_server(server)
        self.visualization()

    # ------------------------------------------------------------- figure 5
    def startup(self, nb: Any) -> tuple[float, float, float, float]:
        """The kernel's first %%optuna cell and the next: (seconds to the panel on screen as
        Playwright polls it, first; ms painted timed in the page, first; the same, next)."""
        nb.run_cell(0)
        # A user types the %%optuna cell after `import optuna`: the kernel imports the panel's
        # code meanwhile (optuna_magic.magic.warm). One second stands for that typing.
        time.sleep(1.0)
        times = []
        in_page = []
        for _ in range(2):  # the kernel's first %%optuna cell, then the next one
            t0 = time.perf_counter()
            nb.page.evaluate(RUN_TIMED, 1)
            # The same panel as before, polled from Python (the figure's first definition).
            nb.page.wait_for_function("() => window.__omRun.shown", timeout=120_000)
            times.append(time.perf_counter() - t0)
            nb.page.wait_for_function("() => window.__omRun.painted !== undefined", timeout=60_000)
            in_page.append(float(nb.page.evaluate("() => window.__omRun.painted")))
            nb.wait_cell_done(1, 120)
            time.sleep(1.0)  # the user reads the panel; the page fetches plotly meanwhile
        return times[0] * 1000, in_page[0], times[1] * 1000, in_page[1]

    def report_startup(self, runs: list[tuple[float, float, float, float]]) -> None:
        r = self.r
        r.section = "5. Start-up"
        first, first_page, nxt, next_page = (median([run[i] for run in runs]) for i in range(4))
        r.add(
            "run cell -> panel on screen, the kernel's first %%optuna cell after `import optuna`",
            first,
            "ms",
            at_most=300,
            digits=0,
        )
        r.add("run cell -> panel on screen, next %%optuna cell", nxt, "ms", digits=0)
        r.add(
            "run cell -> panel painted, timed in the page, the kernel's first %%optuna cell",
            first_page,
            "ms",
            digits=0,
        )
        r.add(
            "run cell -> panel painted, timed in the page, next %%optuna cell",
            next_page,
            "ms",
            digits=0,
        )
        r.note(
            "Measured in JupyterLab in headless Chromium from the run command to the panel's "
            "root (.optuna-magic with its progress element) laid out with a height; timed in the "
            "page: from the run command to the frame painted after it (performance.now()). The "
            "first cell starts 1 s after the one with `import optuna` ends (a user typing it), "
            "the next 1 s after the first ends. Median of "
            f"{len(runs)} fresh pages, each with a fresh kernel; per page (ms: first on screen, "
            "first painted, next on screen, next painted): "
            + "; ".join("/".join(f"{v:.0f}" for v in run) for run in runs)
        )

    # ------------------------------------------------------------- figure 3
    def updates(self, nb: Any, pg: Any, ctx: Any) -> None:
        from jupyter_harness import open_view

        r = self.r
        r.section = "3. Front-end cost (headless Chromium, JupyterLab)"
        nb.run_code(SETUP, timeout=120)
        cdp = ctx.new_cdp_session(pg)
        cdp.send("HeapProfiler.enable")

        def heap() -> float:
            for _ in range(2):
                cdp.send("HeapProfiler.collectGarbage")
            # Typed arrays' data (the record's columns) is in the ArrayBuffer backing stores,
            # outside V8's usedSize.
            u = cdp.send("Runtime.getHeapUsage")
            return float(u["usedSize"]) + float(u.get("backingStorageSize", 0))

        base_heap = heap()
        sizes = (1000, 10_000) if self.quick else (1000, 10_000, 50_000)
        views = ("trials", "history", "intermediate", "parcoords")
        results: dict[tuple[int, str], float] = {}
        detail: dict[tuple[int, str], list[float]] = {}
        drawn: dict[tuple[int, str], tuple[int, int]] = {}
        for n in sizes:
            t0 = time.perf_counter()
            out = nb.run_code(f"_p = _show({n}); print(_p.model_id)", timeout=300)
            model_id = out.strip().splitlines()[-1].strip()
            loc = pg.locator(".optuna-magic").last
            loc.wait_for(state="visible", timeout=120_000)
            pg.wait_for_function(
                "(n) => [...document.querySelectorAll('.optuna-magic .om-muted')]"
                ".some((e) => e.textContent.startsWith(n + ' trials'))",
                arg=n,
                timeout=120_000,
            )
            shown = time.perf_counter() - t0
            r.note(f"{n:,} trials: study built, sent whole and shown in {shown:.1f} s")
            pg.evaluate(INSTRUMENT, model_id)
            for view in views:
                open_view(loc, view)
                pg.wait_for_timeout(800)
                pg.evaluate("() => { window.__om.recs = []; window.__om.draws = []; }")
                nb.run_code("_updates()", timeout=120)
                pg.wait_for_timeout(2000)  # a deferred last redraw lands too
                recs = pg.evaluate("() => window.__om.recs")
                deltas = [x for x in recs if x.get("type") == "delta"]
                draws = [
                    d["painted"] - d["start"]
                    for d in pg.evaluate("() => window.__om.draws")
                    if d["view"] == view and d.get("painted") is not None
                ]
                if draws:
                    # Plot views: the median delta's dispatch + the median real redraw (to
                    # the next paint), each real redraw counted, deferred or not.
                    costs = [median([x["applied"] - x["t0"] for x in deltas]) + d for d in draws]
                    drawn[(n, view)] = (len(draws), len(deltas))
                else:  # the table redraws in the frame the delta scheduled
                    costs = [
                        (x["applied"] - x["t0"]) + (x["painted"] - x["drawStart"])
                        for x in deltas
                        if x.get("painted") is not None
                    ]
                detail[(n, view)] = costs
                results[(n, view)] = median(costs) if costs else float("nan")
            if n == sizes[-1]:
                open_view(loc, "trials")
                pg.wait_for_timeout(500)
                self.heap_at = (heap() - base_heap, n)
        for (n, view), ms in results.items():
            limit = 200.0 if n >= 50_000 else None
            r.add(f"update + redraw, {view} view, {n:,} trials", ms, "ms", below=limit, digits=1)
        used, n = self.heap_at
        r.add(
            f"page JS heap (V8 + ArrayBuffers) used by the panel at {n:,} trials (over the page "
            "before)",
            used / 2**20,
            "MiB",
            digits=1,
        )
        r.note(
            "Per delta of 100 new trials (each with 5 intermediate values), 6 deltas per view: "
            "the delta's msg:custom dispatch (record apply) + the redraw up to the next painted "
            "frame. Plot views announce each real redraw (event `om-drawn`), so a redraw the "
            "panel deferred (it waits 4x the last redraw's cost before a data-driven redraw) "
            "is measured where it happens; the table redraws in the frame the delta scheduled. "
            "Real redraws / deltas: "
            + ", ".join(f"{v} {n:,}: {a}/{b}" for (n, v), (a, b) in drawn.items())
            + "; samples (ms): "
            + "; ".join(f"{v} {n:,}: {[round(c) for c in cs]}" for (n, v), cs in detail.items())
        )

    # ------------------------------------------------- optuna.visualization
    def visualization(self) -> None:
        r = self.r
        r.section = "3. Front-end cost (headless Chromium, JupyterLab)"
        with Kernel() as k:
            k.execute(SETUP.replace("%load_ext optuna_magic\n", ""))
            k.execute(
                "import optuna.visualization as _vis\n"
                "_s5 = _study(5000)\n"
                "def _time_plot(f):\n"
                "    t = time.perf_counter(); fig = f(_s5); dt = time.perf_counter() - t\n"
                "    return dt, len(fig.to_json())\n"
                "_time_plot(_vis.plot_optimization_history)\n"
            )
            for fn in (
                "plot_parallel_coordinate",
                "plot_intermediate_values",
                "plot_optimization_history",
            ):
                dt, size = k.value(f"_time_plot(_vis.{fn})")
                r.add(
                    f"optuna.visualization.{fn} in the kernel, 5,000 trials",
                    dt * 1000,
                    "ms",
                    digits=0,
                )
                r.add(
                    f"optuna.visualization.{fn} figure JSON, 5,000 trials",
                    size / 2**20,
                    "MiB",
                    digits=2,
                )
        r.note(
            "optuna.visualization figures are rebuilt from the whole study at each refresh "
            "(the cost the panel's own drawing from the columnar record avoids); 4 params, "
            "5 intermediate values per trial."
        )


def run(results: Results, *, quick: bool = False) -> None:
    BrowserBench(results, quick=quick).run()
