"""A million trivial trials with the live panel open in JupyterLab (issue 17.3).

A real ``%%optuna -n N --sampler random`` cell (one float parameter, ``x ** 2``) runs in a
notebook open in headless Chromium, and the same trials run with plain ``study.optimize`` in a
kernel of their own (no page), one run of each:

(a) the kernel's record: the deep size of the panel's ``record`` (its numpy columns and the
    Python objects it holds, walked with ``gc.get_referents``) over N, target <= 100 B/trial. The
    panel is found in ipywidgets' widget registry as the ``optuna_magic.StudyPanel`` instance
    (the magic offers no public handle on the panel of a cell);
(b) the tab's JS heap (CDP, after a garbage collection) at the end of the run minus the page
    before it (after a warm-up cell whose panel was closed, so the bundle is already loaded),
    over N, target <= 200 B/trial;
(c) header lag: the page reads the header's ``[data-role=progress]`` every 100 ms (its clock,
    ``Date.now()``); after the run the kernel gives, for each sample, when the first trial the
    header did not count yet had finished (the trials' ``datetime_complete``): the lag is how
    long the header had been behind; target max <= 0.5 s;
(d) each view's first draw and its redraw after a live delta (100 trials, ``update_from`` +
    ``flush`` on the run's panel) at N trials, target < 200 ms;
and the run's time and the kernel's RSS at its end against plain Optuna's.
"""

from __future__ import annotations

import math
import time
from typing import Any

from _figures import Results, median
from _kernel import Kernel
from _lab import LONGTASKS, ROOT, Lab, fmt_costs, lab_session

# The kernel's garbage collections that took over 50 ms, as (wall start, seconds, generation):
# a full collection over a million in-memory trials freezes the whole kernel, the run with it.
GC_PAUSES = r"""
import gc as _gc, time as _time
_om_gc, _om_gc_at = [], [0.0, 0.0]
def _om_gc_cb(phase, info):
    if phase == "start":
        _om_gc_at[:] = [_time.time(), _time.perf_counter()]
    elif _time.perf_counter() - _om_gc_at[1] > 0.05:
        _om_gc.append((_om_gc_at[0], _time.perf_counter() - _om_gc_at[1], info["generation"]))
_gc.callbacks.append(_om_gc_cb)
"""

SETUP = r"""%load_ext optuna_magic
import gc, os, sys, time, types
import numpy as np
import ipywidgets
import optuna
from optuna.distributions import FloatDistribution
import optuna_magic
optuna.logging.set_verbosity(optuna.logging.WARNING)
def _om_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def _om_panels():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Widget.widgets, ipywidgets 8
        live = list(ipywidgets.Widget.widgets.values())
    return [w for w in live if isinstance(w, optuna_magic.StudyPanel)]
_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
         types.MethodType, types.CodeType, types.FrameType)
def _om_deep_size(obj):
    # Every object reachable from obj (not through types, modules or functions), once.
    seen, todo, total, arrays = set(), [obj], 0, 0
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        size = sys.getsizeof(o)
        total += size
        if isinstance(o, _SKIP):
            continue
        if isinstance(o, np.ndarray):
            arrays += o.nbytes if o.base is None else 0
            if o.base is not None:
                todo.append(o.base)
            continue
        todo.extend(gc.get_referents(o))
    return total, arrays
def _om_done_times(study):
    ts = [t.datetime_complete.timestamp() for t in study.get_trials(deepcopy=False)
          if t.datetime_complete is not None]
    return np.sort(np.array(ts))
def _om_window(study):
    ts = study.get_trials(deepcopy=False)
    return (ts[0].datetime_start.timestamp(), ts[-1].datetime_complete.timestamp())
def _om_lag(done, samples, pauses=()):
    # samples: (page time, count shown); done: sorted completion times (the same clock). The
    # lag of a sample: how long ago the first trial it does not count yet had finished; its
    # net lag leaves out the kernel's collector pauses in that time (the run was frozen too).
    lags = []
    for t, shown in samples:
        lag = float(t - done[shown]) if shown < len(done) and done[shown] <= t else 0.0
        frozen = sum(max(0.0, min(t, a + d) - max(t - lag, a)) for a, d, _ in pauses)
        lags.append((lag, shown, t, lag - frozen))
    worst = max(lags) if lags else (0.0, None, None, 0.0)
    net = max(lags, key=lambda x: x[3]) if lags else (0.0, None, None, 0.0)
    p95 = float(np.percentile([x[0] for x in lags], 95)) if lags else 0.0
    return (*worst[:3], p95, net[3], net[2], net[0])
_D1 = {"x": FloatDistribution(-10, 10)}
_rng = np.random.default_rng(0)
def _om_more(k=3, rows=100, pause=0.45):
    p = _om_panels()[-1]
    base = len(p.record)
    for j in range(k):
        trials = []
        for i in range(rows):
            x = float(_rng.uniform(-10, 10))
            t = optuna.trial.create_trial(params={"x": x}, distributions=_D1, value=x * x)
            t.number = base + j * rows + i
            trials.append(t)
        p.update_from(trials)
        p.flush()
        time.sleep(pause)
"""

CELL = "%%optuna -n {n} --sampler random\nx = hp.float(-10, 10)\nx ** 2"

PLAIN = r"""
import os, time
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
def _om_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def trivial(trial):
    return trial.suggest_float("x", -10, 10) ** 2
study = optuna.create_study(sampler=optuna.samplers.RandomSampler())
_t = time.perf_counter()
study.optimize(trivial, n_trials={n})
_wall = time.perf_counter() - _t
_ts = study.get_trials(deepcopy=False)
_window = (_ts[0].datetime_start.timestamp(), _ts[-1].datetime_complete.timestamp())
del _ts
"""

SAMPLER = (
    """() => {
  window.__omLag = [];
  window.__omLagTimer = setInterval(() => {
    const root = """
    + ROOT
    + """;
    const el = root && root.querySelector("[data-role=progress]");
    const m = el && /^\\s*([\\d,]+)/.exec(el.textContent || "");
    if (m) window.__omLag.push([Date.now() / 1000, Number(m[1].replace(/,/g, ""))]);
  }, 100);
}"""
)


def plain(n: int) -> dict[str, Any]:
    with Kernel() as k:
        k.execute(GC_PAUSES, timeout=60)
        k.execute(PLAIN.replace("{n}", str(n)), timeout=3600)
        wall, rss, pauses, window = k.value("(_wall, _om_rss(), _om_gc, _window)")
        tracked = k.value("len(__import__('gc').get_objects())")
    return {
        "wall": wall,
        "span": window[1] - window[0],  # first trial start to last trial end
        "rss": rss,
        "pauses": pauses,
        "window": window,
        "tracked": tracked,
    }


def magic(lab: Lab, n: int) -> dict[str, Any]:
    nb, pg = lab.nb, lab.pg
    nb.run_cell(0, timeout=180)
    # Warm-up: the bundle and the kernel's imports loaded once; its panel closed and cleared.
    nb.run_cell(1, timeout=180)
    lab.value("for _w in _om_panels(): _w.close()\ngc.collect()\nprint(1)")
    pg.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets[1].model.outputs.clear()"
    )
    pg.wait_for_timeout(1000)
    heap0 = lab.heap()
    pg.evaluate(LONGTASKS)
    pg.evaluate(SAMPLER)
    t0 = time.perf_counter()
    nb.run_cell(2, wait=False)
    nb.wait_cell_done(2, timeout=max(600.0, n * 0.002))
    wall = time.perf_counter() - t0
    pg.wait_for_timeout(1500)  # the last flush is shown
    pg.evaluate("() => clearInterval(window.__omLagTimer)")
    samples = pg.evaluate("() => window.__omLag")
    # Long tasks of the page's main thread during the run, on the epoch clock (seconds).
    longs = pg.evaluate(
        "() => window.__omLong.map((x) => [(performance.timeOrigin + x.start) / 1000, x.ms])"
    )
    frames = pg.evaluate(
        "() => window.__omFrames.map((f) => ({ ...f, start: (performance.timeOrigin + f.start)"
        " / 1000 }))"
    )
    rss = lab.value("print(repr(_om_rss()))")
    tracked = lab.value("print(len(gc.get_objects()))")
    heap1 = lab.heap()
    size, arrays, rows = lab.value(
        "_om_p = _om_panels()[-1]\nprint(repr((*_om_deep_size(_om_p.record), len(_om_p.record))))"
    )
    window = lab.value("print(repr(_om_window(study)))")
    # The lag is computed in the kernel, which has the completion times.
    lab.nb.run_code(f"_om_samples = {[(round(t, 3), int(c)) for t, c in samples]!r}", 120)
    lag, lag_at, lag_t, lag_p95, lag_net, net_t, net_gross = lab.value(
        "_om_done = _om_done_times(study)\nprint(repr(_om_lag(_om_done, _om_samples, _om_gc)))",
        300,
    )
    pauses = lab.value("print(repr(_om_gc))")
    return {
        "wall": wall,
        "span": window[1] - window[0],  # first trial start to last trial end
        "rss": rss,
        "heap": heap1["js"] - heap0["js"],
        "heap_parts": {k: heap1[k] - heap0[k] for k in heap0},
        "longs": longs,
        "frames": frames,
        "tracked": tracked,
        "lag_t": lag_t,
        "lag_p95": lag_p95,
        "lag_net": lag_net,
        "net_t": net_t,
        "net_gross": net_gross,
        "pauses": pauses,
        "window": window,
        "record": size,
        "arrays": arrays,
        "rows": rows,
        "lag": lag,
        "lag_at": lag_at,
        "samples": len(samples),
        "shown_last": samples[-1][1] if samples else None,
    }


def views_at_end(lab: Lab) -> dict[str, dict[str, Any]]:
    """Each view of the run's panel: its first draw, then its redraws after live deltas."""
    model_id = lab.value("print(repr(_om_panels()[-1].model_id))")
    lab.instrument(str(model_id))
    offered = lab.views()
    active = lab.panel().evaluate(
        "(r) => r.querySelector('[role=tab][aria-selected=true]')?.dataset.view"
    )
    order = [v for v in offered if v != active] + [v for v in offered if v == active]
    out: dict[str, dict[str, Any]] = {}
    for view in order:
        first = lab.open_timed(view, timeout=300)
        red = lab.delta_costs(view, "_om_more()", wait_ms=first.get("drawMs"))
        out[view] = {"first": first, **red}
    return out


def run(results: Results, *, quick: bool = False, trials: int | None = None) -> None:
    n = trials or (20_000 if quick else 1_000_000)
    results.section = f"9. {n:,} trials with the live panel (headless Chromium, JupyterLab)"
    base = plain(n)
    cells = [GC_PAUSES + SETUP, CELL.format(n=20), CELL.format(n=n)]
    with lab_session(cells) as lab:
        got = magic(lab, n)
        views = views_at_end(lab)
    report(results, n, got, base, views)


def during(pauses: list[Any], window: tuple[float, float]) -> list[float]:
    """The durations of the collector's pauses that began within ``window`` (epoch seconds)."""
    return [d for at, d, _ in pauses if window[0] <= at <= window[1]]


def report(
    r: Results, n: int, got: dict[str, Any], base: dict[str, float], views: dict[str, Any]
) -> None:
    rows = got["rows"] or n
    r.add(
        f"kernel: the panel's record, {n:,} trials",
        got["record"] / rows,
        "B/trial",
        at_most=100,
        digits=1,
    )
    r.add(
        f"page: JS heap (V8 + ArrayBuffers) over the page before, {n:,} trials",
        got["heap"] / n,
        "B/trial",
        at_most=200,
        digits=1,
    )
    r.add(f"header lag behind the run, {n:,} trials (max)", got["lag"], "s", at_most=0.5)
    r.add(
        f"header lag, the kernel's collector pauses left out, {n:,} trials (max)",
        got["lag_net"],
        "s",
    )
    # Pauses from the run's first trial start to its last trial end: after it, the benchmark's
    # own reads (the record's deep size, every tracked object counted) set off collections too.
    for who, m in (("%%optuna + panel", got), ("plain", base)):
        r.add(
            f"longest garbage collection pause in the kernel during the run, {who}, {n:,} trials",
            max(during(m["pauses"], m["window"]), default=0.0),
            "s",
        )
    # What a full collection walks: the objects the collector tracks, mostly Optuna's trials.
    r.add(
        f"objects the kernel's collector tracks at the end, %%optuna + panel / plain, {n:,} trials",
        got["tracked"] / base["tracked"],
        digits=3,
    )
    for view, m in views.items():
        kind = "om-drawn" if m["first"].get("drawn") else "frame"
        r.add(
            f"first draw, {view} view, {n:,} trials ({kind})",
            m["first"]["ms"],
            "ms",
            below=200,
            digits=1,
        )
        ms = median(m["costs"]) if m["costs"] else math.nan
        if math.isnan(ms):
            r.add(f"redraw after a live delta, {view} view, {n:,} trials", None, "ms")
        else:
            r.add(
                f"redraw after a live delta, {view} view, {n:,} trials ({m['kind']})",
                ms,
                "ms",
                below=200,
                digits=1,
            )
    r.add(
        f"plain study.optimize, {n:,} trivial trials (first start to last end)",
        base["span"],
        "s",
        digits=1,
    )
    r.add(
        f"%%optuna with the panel in the page, {n:,} trials (first start to last end)",
        got["span"],
        "s",
        digits=1,
    )
    r.add(
        f"ratio %%optuna + panel / plain, {n:,} trials (run time)",
        got["span"] / base["span"],
        digits=2,
    )
    r.add(f"kernel RSS at the end, plain study.optimize, {n:,} trials", base["rss"], "MB", digits=0)
    r.add(
        f"kernel RSS at the end, %%optuna + panel in the page, {n:,} trials",
        got["rss"],
        "MB",
        digits=0,
    )
    r.add(
        f"ratio kernel RSS %%optuna + panel / plain, {n:,} trials",
        got["rss"] / base["rss"],
        digits=2,
    )
    parts = got["heap_parts"]
    r.note(
        f"One run of each. Record: deep size of the panel's `record` ({got['rows']:,} rows; "
        f"{got['arrays'] / rows:.1f} B/trial of it in numpy arrays, capacity included), the "
        "panel found as the StudyPanel in ipywidgets' registry (no public handle on a cell's "
        f"panel). JS heap over the page after a warm-up cell whose panel was closed: "
        f"V8 {parts['v8'] / 2**20:.1f} MiB + ArrayBuffers {parts['buffers'] / 2**20:.1f} MiB "
        f"(Blink's DOM heap {parts['dom'] / 2**20:+.1f} MiB, not counted). "
        + _lag_note(got)
        + f" Cell wall time (run command to cell done, bench side): {got['wall']:.1f} s; "
        f"plain study.optimize wall {base['wall']:.1f} s."
    )
    r.note(
        "Views at the end (first draw: click to painted frame; redraw: 3 deltas of 100 trials "
        "sent with the panel's update_from + flush, as in section 8): "
        + "; ".join(
            f"{v} first {m['first']['ms']:.0f}{_error(m['first'])}"
            f" redraws {fmt_costs(m['costs'])} {m['draws']}/{m['deltas']}"
            for v, m in views.items()
        )
    )


def _lag_note(got: dict[str, Any]) -> str:
    longs = got["longs"]
    worst = max((ms for _, ms in longs), default=0.0)

    def window(t: float | None, lag: float) -> str:
        """The page's long tasks and the kernel's collector pauses while the header was behind."""

        def inside(at: float) -> bool:
            return t is not None and t - lag - 0.1 <= at <= t

        tasks = [ms for at, ms in longs if inside(at)]
        frozen = [p for p in got["pauses"] if t is not None and p[0] < t and p[0] + p[1] > t - lag]
        named = [f for f in got["frames"] if inside(f["start"])]
        return (
            "page long tasks "
            + (", ".join(f"{ms:.0f} ms" for ms in tasks) or "none")
            + (" (" + "; ".join(_frame(f) for f in named) + ")" if named else "")
            + ", the kernel's collector pauses over 50 ms "
            + (", ".join(f"{d:.2f} s (generation {g})" for _, d, g in frozen) or "none")
        )

    return (
        f"Header lag: {got['samples']} samples every 100 ms, 95th percentile "
        f"{got['lag_p95']:.2f} s; the worst when the header showed {got['lag_at']} trials; "
        f"the last sample showed {got['shown_last']}. Page long tasks during the run: "
        f"{len(longs)} (>= 50 ms), {sum(1 for _, ms in longs if ms > 100)} over 100 ms, the "
        f"longest {worst:.0f} ms"
        + (f" ({_frame(max(got['frames'], key=lambda f: f['ms']))})" if got["frames"] else "")
        + f". In the worst lag's window: {window(got['lag_t'], got['lag'])}"
        f" (of {len(during(got['pauses'], got['window']))} pauses over 50 ms during the run; "
        f"after its last trial, while the benchmark read the kernel, the longest "
        f"{max((d for at, d, _ in got['pauses'] if at > got['window'][1]), default=0.0):.2f} s)."
        " In the worst net lag's window "
        f"({got['net_gross']:.2f} s behind, {got['lag_net']:.2f} s net): "
        f"{window(got['net_t'], got['net_gross'])}."
    )


def _frame(f: dict[str, Any]) -> str:
    """A long animation frame in words: its length and what ran in it."""
    scripts = ", ".join(
        f"{s['fn'] or 'anonymous'} in {s['file'] or '?'} ({s['invoker']}) {s['ms']} ms"
        for s in f["scripts"]
    )
    layout = f"style and layout {f['layout']:.0f} ms"
    return f"a {f['ms']:.0f} ms frame: {scripts or 'no script'}, {layout}"


def _error(first: dict[str, Any]) -> str:
    return f" ({first['error']})" if first.get("error") else ""
