"""A JupyterLab page in headless Chromium for the view and million-trial benchmarks.

``lab_session()`` starts JupyterLab and Chromium with the browser tests' harness
(``tests/browser/jupyter_harness.py``) and yields a :class:`Lab`: the notebook page, its CDP
session (the JS heap after a garbage collection) and in-page timers that drive the panel without
Playwright's round trips in what is timed:

- ``open_timed(view)``: the click on the view's tab (or its entry in the "More" menu) up to the
  frame painted after the draw it causes. The panel draws in a ``setTimeout(draw, 0)`` that the
  click schedules; the page waits for that task, then a ``requestAnimationFrame`` and a task after
  it (the frame is painted). A plot view announces its redraw with the ``om-drawn`` CustomEvent
  ({view, ms, plotlyMs}: its draw, and plotly's synchronous part of it); a view that does not
  (the table, the lists) is timed the same way, to the frame after the draw task.
- ``delta_costs(view, code)``: the redraws that live deltas cause while ``view`` is open. The
  kernel runs ``code`` (it sends deltas); each delta is timed from its ``msg:custom`` dispatch
  (the record applied) plus its redraw to the next painted frame, the throttle wait between them
  not counted (idle time). Plot views: each real redraw (``om-drawn``) counted where it happens,
  a deferred one too; other views: the ``setTimeout`` the delta scheduled.
"""

from __future__ import annotations

import ast
import contextlib
import math
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))

from _figures import median  # noqa: E402
from bench_browser import INSTRUMENT  # noqa: E402

# The newest panel on the page.
ROOT = "[...document.querySelectorAll('.optuna-magic')].pop()"

# Opens a view in the page and times it (see the module docstring).
OPEN_TIMED = (
    """async ([view]) => {
  const root = """
    + ROOT
    + """;
  const tab = root.querySelector(`[role=tab][data-view="${view}"]`);
  const more = root.querySelector("[data-role=more-views]");
  const drawn = [];
  const onDrawn = (e) => { if (e.detail.view === view) drawn.push(e.detail); };
  document.addEventListener("om-drawn", onDrawn);
  const hop = () => new Promise((r) => setTimeout(r, 0));
  const t0 = performance.now();
  if (tab && !tab.hidden) tab.click();
  else if (more) { more.value = view; more.dispatchEvent(new Event("change")); }
  await hop();  // the panel's setTimeout(draw, 0), scheduled by the click, runs first
  if (!drawn.length) await hop();  // a draw that re-laid the tabs first draws in one more task
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const ms = performance.now() - t0;
  document.removeEventListener("om-drawn", onDrawn);
  const sel = root.querySelector(`[role=tab][data-view="${view}"]`);
  return { ms, drawn: drawn.length, drawMs: drawn.length ? drawn[0].ms : null,
           plotlyMs: drawn.length ? (drawn[0].plotlyMs ?? null) : null,
           selected: sel ? sel.getAttribute("aria-selected") === "true" : false };
}"""
)

# Records every long task (>= 50 ms) of the main thread, and what the bench did when.
LONGTASKS = """() => {
  window.__omLong = [];
  window.__omActs = [];
  if (window.__omLongObs) window.__omLongObs.disconnect();
  window.__omLongObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__omLong.push({ start: e.startTime, ms: e.duration });
  });
  window.__omLongObs.observe({ type: "longtask", buffered: false });
  // Long animation frames over 200 ms with their scripts: what a long task was running (a
  // script's function and file, its invoker), or, where no script is named, style, layout or the
  // engine's own work (a collection).
  window.__omFrames = [];
  if (window.__omFrameObs) window.__omFrameObs.disconnect();
  if (PerformanceObserver.supportedEntryTypes.includes("long-animation-frame")) {
    window.__omFrameObs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.duration < 200) continue;
        const scripts = (e.scripts || [])
          .map((s) => ({
            ms: Math.round(s.duration),
            fn: s.sourceFunctionName || "",
            file: (s.sourceURL || "").split("/").pop().split("?")[0],
            invoker: s.invoker || "",
          }))
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 3);
        const layout = e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0;
        window.__omFrames.push({ start: e.startTime, ms: e.duration, layout, scripts });
      }
    });
    window.__omFrameObs.observe({ type: "long-animation-frame", buffered: false });
  }
  return PerformanceObserver.supportedEntryTypes.includes("longtask");
}"""


@dataclass
class Lab:
    """One notebook page in JupyterLab (``nb``: the harness's ``NotebookPage``)."""

    nb: Any
    pg: Any
    ctx: Any
    cdp: Any = None
    plot_views: set[str] = field(default_factory=set)

    def heap(self) -> dict[str, float]:
        """The page's JS heap in bytes after two garbage collections: ``js`` is V8's used heap
        plus the ArrayBuffer backing stores (typed arrays' data lives there, outside V8's
        ``usedSize``), ``dom`` the embedder's (Blink's) heap."""
        if self.cdp is None:
            self.cdp = self.ctx.new_cdp_session(self.pg)
            self.cdp.send("HeapProfiler.enable")
        for _ in range(2):
            self.cdp.send("HeapProfiler.collectGarbage")
        u = self.cdp.send("Runtime.getHeapUsage")
        return {
            "js": float(u["usedSize"]) + float(u.get("backingStorageSize", 0)),
            "v8": float(u["usedSize"]),
            "buffers": float(u.get("backingStorageSize", 0)),
            "dom": float(u.get("embedderHeapUsedSize", 0)),
        }

    def panel(self) -> Any:
        return self.pg.locator(".optuna-magic").last

    def views(self) -> list[str]:
        """The views the newest panel offers (the harness's ``panel_views``)."""
        from jupyter_harness import panel_views

        return list(panel_views(self.panel()))

    def value(self, code: str, timeout: float = 600) -> Any:
        """Run ``code`` in a new cell; its last output line is a Python literal."""
        out = self.nb.run_code(code, timeout=timeout)
        for line in reversed(out.strip().splitlines()):
            with contextlib.suppress(SyntaxError, ValueError):
                return ast.literal_eval(line.strip())
        raise RuntimeError(f"cell failed:\n{code}\n--- output:\n{out[-3000:]}")

    def instrument(self, model_id: str) -> None:
        self.pg.evaluate(INSTRUMENT, model_id)

    def open_timed(self, view: str, timeout: float = 120) -> dict[str, Any]:
        """Open ``view`` and time it (see the module docstring)."""
        self.pg.set_default_timeout(timeout * 1000)
        try:
            out = dict(self.pg.evaluate(OPEN_TIMED, [view]))
        except Exception as exc:  # reported as n/a with its reason; the other views still run
            return {"ms": math.nan, "drawn": 0, "drawMs": None, "error": str(exc).splitlines()[0]}
        finally:
            self.pg.set_default_timeout(30_000)
        if out.get("drawn"):
            self.plot_views.add(view)
        return out

    def delta_costs(
        self, view: str, code: str, timeout: float = 300, wait_ms: float | None = None
    ) -> dict[str, Any]:
        """Per-delta costs (ms) while ``view`` is open and the kernel runs ``code``;
        ``wait_ms``: the view's last draw cost (its deferred redraw is waited for)."""
        pg = self.pg
        pg.wait_for_timeout(500)
        pg.evaluate("() => { window.__om.recs = []; window.__om.draws = []; }")
        self.nb.run_code(code, timeout=timeout)
        pg.wait_for_timeout(2000)  # a deferred last redraw lands too
        deltas = [x for x in pg.evaluate("() => window.__om.recs") if x.get("type") == "delta"]
        if view in self.plot_views and deltas:
            # A slow plot defers a data-driven redraw by 4x its last cost: wait for it.
            with contextlib.suppress(Exception):
                pg.wait_for_function(
                    "([v, t]) => window.__om.draws.some((d) => d.view === v && d.start >= t"
                    " && d.painted !== undefined)",
                    arg=[view, deltas[-1]["t0"]],
                    timeout=min(60_000.0, max(2000.0, 5 * float(wait_ms or 0) + 2000)),
                )
            deltas = [x for x in pg.evaluate("() => window.__om.recs") if x.get("type") == "delta"]
        draws = [
            d["painted"] - d["start"]
            for d in pg.evaluate("() => window.__om.draws")
            if d["view"] == view and d.get("painted") is not None
        ]
        if draws or view in self.plot_views:
            apply = median([x["applied"] - x["t0"] for x in deltas]) if deltas else 0.0
            costs = [apply + d for d in draws]
            kind = "om-drawn"
        else:  # drawn in the task the delta scheduled, to the next painted frame
            costs = [
                (x["applied"] - x["t0"]) + (x["painted"] - x["drawStart"])
                for x in deltas
                if x.get("painted") is not None and x.get("drawStart") is not None
            ]
            kind = "frame"
        return {"costs": costs, "draws": len(draws), "deltas": len(deltas), "kind": kind}


@contextlib.contextmanager
def lab_session(cells: list[str], viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Lab]:
    """JupyterLab + Chromium with a notebook of ``cells`` open (kernel idle)."""
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
                    w, h = viewport
                    ctx = browser.new_context(viewport={"width": w, "height": h})
                    pg = ctx.new_page()
                    nb = NotebookPage(server, pg, write_notebook(server, cells))
                    nb.open()
                    yield Lab(nb, pg, ctx)
                finally:
                    browser.close()
        finally:
            stop_server(server)


def fmt_costs(costs: list[float]) -> str:
    return "[" + ", ".join(f"{c:.0f}" for c in costs) + "]"
