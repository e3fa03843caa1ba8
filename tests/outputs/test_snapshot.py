"""The static snapshot: escaping, no scripts, counts, the chart, bounded size, the text line."""

from __future__ import annotations

import html
import re
import time
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from optuna_magic.outputs.snapshot.html import (
    WIDGET_VIEW_MIMETYPE,
    panel_bundle,
    render_snapshot,
    snapshot_bundle,
    snapshot_placeholder,
)
from optuna_magic.outputs.snapshot.info import MAX_CHART_POINTS, _envelope, snapshot_info
from optuna_magic.outputs.snapshot.summary import duration_text, summary_line
from optuna_magic.run.runner import RunInfo, RunResult

optuna.logging.set_verbosity(optuna.logging.WARNING)

XSS_CHOICE = "<img src=x onerror=alert(1)>"
DIST = {
    "x": FloatDistribution(-10, 10),
    "kind": CategoricalDistribution(["a", XSS_CHOICE]),
}


def _info(study: optuna.Study, **kw: Any) -> RunInfo:
    base: dict[str, Any] = dict(
        study_name=study.study_name,
        directions=[d.name.lower() for d in study.directions],
        sampler="TPESampler",
        pruner="MedianPruner",
        storage="in memory",
        n_trials=None,
        timeout=None,
        space=[],
        objective_names=[],
        started_at=time.time(),
    )
    base.update(kw)
    return RunInfo(**base)


def _result(study: optuna.Study, state: str = "finished", error: str | None = None) -> RunResult:
    return RunResult(
        state=state, study=study, n_trials_run=len(study.trials), elapsed=3.25, error=error
    )


def _trial(x: float, kind: str = "a", state: TrialState = TrialState.COMPLETE) -> Any:
    value = (x - 2) ** 2 if state == TrialState.COMPLETE else None
    return create_trial(params={"x": x, "kind": kind}, distributions=DIST, value=value, state=state)


def _study(*trials: Any, name: str = "demo", direction: str = "minimize") -> optuna.Study:
    study = optuna.create_study(study_name=name, direction=direction)
    study.add_trials(list(trials))
    return study


def _svg_of(page: str) -> str:
    """The chart's SVG document, decoded from the img's data URI."""
    m = re.search(r'<img src="data:image/svg\+xml,([^"]*)"', page)
    assert m, "no chart image in the snapshot"
    return urllib.parse.unquote(m.group(1).replace("&amp;", "&").replace("&#x27;", "'"))


SAFE_TAGS = {
    "div",
    "span",
    "strong",
    "code",
    "pre",
    "img",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def _tags(page: str) -> list[tuple[str, list[str]]]:
    """Every element the browser would build from ``page``: (tag, attribute names)."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[str]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, [a for a, _ in attrs]))

    Collect().feed(page)
    return found


def _text(page: str) -> str:
    """The text a reader sees (tags dropped, entities left as they are)."""
    return re.sub(r"<[^>]+>", "", page)


# ------------------------------------------------------------------- escaping
HOSTILE = [
    pytest.param("choice", XSS_CHOICE, id="choice-value"),
    pytest.param("study", "<script>alert(1)</script>", id="study-name"),
    pytest.param("error", 'ZeroDivisionError: <b onmouseover="x()">boom</b>', id="error"),
    pytest.param("objective", "</svg><script>alert(1)</script>", id="objective-name"),
    pytest.param("param", "<i>lr</i>", id="param-name"),
]


@pytest.mark.parametrize(("where", "payload"), HOSTILE)
def test_study_strings_are_escaped(where: str, payload: str) -> None:
    dist: dict[str, Any] = dict(DIST)
    params: dict[str, Any] = {"x": 2.5, "kind": "a"}
    if where == "choice":
        params["kind"] = payload
    if where == "param":
        dist[payload] = FloatDistribution(0, 1)
        params[payload] = 0.5
    study = optuna.create_study(study_name=payload if where == "study" else "demo")
    study.add_trials(
        [create_trial(params=params, distributions=dist, value=v) for v in (0.25, 1.0)]
    )
    info = _info(study, objective_names=[payload] if where == "objective" else [])
    result = _result(study, "failed" if where == "error" else "finished", error=payload)

    page = render_snapshot(study, info, result)

    assert payload not in page
    tags = _tags(page)
    assert {t for t, _ in tags} <= SAFE_TAGS
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert html.escape(payload, quote=True) in page  # shown, as text
    svg = _svg_of(page)
    assert "<script" not in svg
    ET.fromstring(svg)  # still one well-formed document: nothing broke out of a <text>
    line = summary_line(result, info)
    assert "\n" not in line


def test_choice_value_is_shown_as_text_in_table_and_best() -> None:
    study = _study(_trial(2.0, XSS_CHOICE), _trial(5.0))
    page = render_snapshot(study, _info(study), _result(study))
    shown = _text(page)
    assert shown.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # best line + table row
    assert "<img src=x" not in page


# ----------------------------------------------------------- structure, counts
def test_no_scripts_styles_or_external_resources() -> None:
    study = _study(*(_trial(x) for x in (-3.0, 0.5, 2.2, 7.0)))
    page = render_snapshot(study, _info(study), _result(study))
    assert re.search(r"<script|<style|<link|<iframe|javascript:", page, re.I) is None
    srcs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:image/svg+xml,") for s in srcs)
    assert page.startswith('<div class="optuna-magic-snapshot"')
    # The live panel's hooks belong to the panel; the snapshot must not be mistaken for it.
    assert 'class="optuna-magic"' not in page and "data-role=" not in page


COUNTS = [
    pytest.param(
        [TrialState.COMPLETE] * 3 + [TrialState.PRUNED] * 2 + [TrialState.FAIL],
        {"COMPLETE": 3, "PRUNED": 2, "FAIL": 1},
        "3 complete, 2 pruned, 1 failed",
        id="mixed",
    ),
    pytest.param([TrialState.COMPLETE], {"COMPLETE": 1}, "1 complete", id="one"),
    pytest.param([TrialState.FAIL] * 2, {"COMPLETE": 0, "FAIL": 2}, "2 failed", id="all-failed"),
    pytest.param([], {"COMPLETE": 0}, "no trials", id="empty"),
]


@pytest.mark.parametrize(("states", "expected", "text"), COUNTS)
def test_counts_by_state(states: list[TrialState], expected: dict[str, int], text: str) -> None:
    study = _study(*(_trial(float(i), state=s) for i, s in enumerate(states)))
    result = _result(study)
    info = snapshot_info(study, _info(study), result)
    for state, n in expected.items():
        assert info.counts[state] == n
    page = render_snapshot(study, _info(study), result)
    assert text in _text(page)
    assert text in summary_line(result)
    has_complete = TrialState.COMPLETE in states
    assert ("data:image/svg+xml" in page) == has_complete
    assert ("No completed trial" in page) == (not has_complete)


STATES = [
    pytest.param("finished", None, id="finished"),
    pytest.param("stopped", None, id="stopped"),
    pytest.param("interrupted", None, id="interrupted"),
    pytest.param("failed", "ValueError: bad input", id="failed"),
]


@pytest.mark.parametrize(("state", "error"), STATES)
def test_run_state_and_error(state: str, error: str | None) -> None:
    study = _study(_trial(1.0), _trial(3.0))
    page = render_snapshot(study, _info(study), _result(study, state, error))
    m = re.search(r'class="om-snapshot-state"[^>]*>([^<]*)<', page)
    assert m and m.group(1) == state
    assert ('class="om-snapshot-error"' in page) == (error is not None)
    line = summary_line(_result(study, state, error))
    assert f"'demo' {state}," in line
    if error:
        assert f"error: {error}" in line


# ------------------------------------------------------------------ best, top
BEST = [
    pytest.param("minimize", [5.0, 2.5, -1.0, 9.0], 2.5, 1, id="minimize"),
    pytest.param("maximize", [5.0, 2.5, -1.0, 9.0], 9.0, 3, id="maximize"),
]


@pytest.mark.parametrize(("direction", "xs", "best_x", "best_number"), BEST)
def test_best_trial_and_top_order(
    direction: str, xs: list[float], best_x: float, best_number: int
) -> None:
    study = _study(*(_trial(x) for x in xs), direction=direction)
    result = _result(study)
    info = snapshot_info(study, _info(study), result, top=3)
    assert [r.number for r in info.best] == [best_number]
    assert info.best[0].params["x"] == best_x
    assert len(info.top) == 3 and info.top[0].number == best_number
    values = [r.values[0] for r in info.top]
    assert values == sorted(values, reverse=direction == "maximize")
    line = summary_line(result)
    assert f"at trial {best_number}: x={best_x:g}, kind='a'" in line
    assert "4 trials (4 complete)" in line


def test_param_columns_follow_the_declared_order_and_are_capped() -> None:
    from optuna_magic.cell.space import ParamSpec

    dist = {f"p{i}": FloatDistribution(0, 1) for i in range(20)}
    study = optuna.create_study()
    study.add_trial(create_trial(params=dict.fromkeys(dist, 0.5), distributions=dist, value=1.0))
    space = [ParamSpec(name=f"p{i}", kind="float", low=0, high=1) for i in reversed(range(20))]
    info = snapshot_info(study, _info(study, space=space), _result(study))
    assert info.param_names[:3] == ["p19", "p18", "p17"]
    assert len(info.param_names) == 12 and info.n_hidden_params == 8
    assert "8 more parameters not shown" in render_snapshot(study, None, _result(study))


def test_multi_objective_shows_the_pareto_front() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    dist = {"a": FloatDistribution(0, 1)}
    points = [(0.1, 0.9), (0.5, 0.5), (0.9, 0.1), (0.6, 0.6), (0.95, 0.95)]
    study.add_trials(
        [create_trial(params={"a": a}, distributions=dist, values=[a, b]) for a, b in points]
    )
    info_ = _info(study, objective_names=["error", "latency"])
    result = _result(study)
    info = snapshot_info(study, info_, result)
    assert info.n_best == 3 and [r.number for r in info.top] == [0, 1, 2]
    assert info.chart is not None and info.chart.kind == "pareto"
    assert len(info.chart.highlight) == 3 and len(info.chart.points) == 2
    page = render_snapshot(study, info_, result)
    assert "Pareto front: <strong>3</strong>" in page
    svg = _svg_of(page)
    assert ">error<" in svg and ">latency<" in svg
    assert "Pareto front of 3 trials" in summary_line(result)


# ----------------------------------------------------------------------- chart
def test_history_chart_is_a_labelled_svg() -> None:
    study = _study(*(_trial(x) for x in (-5.0, 4.0, 2.5, 1.9, 8.0)))
    page = render_snapshot(study, _info(study, objective_names=["loss"]), _result(study))
    svg = _svg_of(page)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "trial" in labels and "loss (log)" in labels  # both axes labelled; 0.01..49 is log
    info = snapshot_info(study, None, None)
    assert info.chart is not None
    # Best so far: 49 (trial 0), 4 (trial 1), 0.25 (trial 2), 0.01 (trial 3), carried to trial 4.
    assert [p[0] for p in info.chart.line] == [0, 1, 2, 3, 4]
    assert info.chart.line[-1][1] == pytest.approx(0.01)


def test_one_trial_draws() -> None:
    study = _study(_trial(2.0))
    svg = _svg_of(render_snapshot(study, None, _result(study)))
    assert ET.fromstring(svg).tag.endswith("svg")


@pytest.fixture(scope="module")
def big_study() -> optuna.Study:
    import random

    rng = random.Random(0)
    xs = [rng.uniform(-10, 10) for _ in range(50_000)]
    return _study(*(_trial(x, "a" if i % 3 else XSS_CHOICE) for i, x in enumerate(xs)))


@pytest.mark.slow
def test_large_study_is_bounded(big_study: optuna.Study) -> None:
    result = _result(big_study)  # study.trials deep-copies: keep it out of the timing
    t0 = time.perf_counter()
    bundle = snapshot_bundle(big_study, _info(big_study), result)
    assert time.perf_counter() - t0 < 3
    page, line = bundle["text/html"], bundle["text/plain"]
    assert len(page) < 60_000  # the same order as a 50-trial study, not 1,000 times it
    info = snapshot_info(big_study, None, None)
    assert info.chart is not None and info.chart.n_points == 50_000
    assert len(info.chart.points) <= MAX_CHART_POINTS
    assert len(info.chart.line) <= MAX_CHART_POINTS
    # Downsampling keeps the extremes: the best point is still drawn.
    best = min(t.value for t in big_study.trials if t.value is not None)
    assert min(p[1] for p in info.chart.points) == best
    assert "50000 trials (50000 complete)" in line


ENVELOPE = [
    pytest.param(10, 20, 10, id="small-untouched"),
    pytest.param(10_000, 100, 100, id="large-capped"),
    pytest.param(1_001, 1_000, 1_000, id="just-over"),
]


@pytest.mark.parametrize(("n", "limit", "max_len"), ENVELOPE)
def test_envelope_bounds_and_keeps_extremes(n: int, limit: int, max_len: int) -> None:
    pts = [(float(i), float((i * 7919) % 1013)) for i in range(n)]
    out = _envelope(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]), limit)
    assert len(out) <= max_len
    assert min(p[1] for p in out) == min(p[1] for p in pts)
    assert max(p[1] for p in out) == max(p[1] for p in pts)


@pytest.mark.parametrize("limit", [2, 7, 400])
@pytest.mark.parametrize("values", ["random", "ties", "constant"])
def test_envelope_is_each_buckets_first_lowest_and_highest(values: str, limit: int) -> None:
    rng = np.random.default_rng(7)
    n = 4_321
    xs = np.sort(rng.choice(10**6, n, replace=False)).astype(np.float64)
    ys = {
        "random": rng.normal(size=n),
        "ties": rng.integers(0, 3, n).astype(np.float64),
        "constant": np.ones(n),
    }[values]
    expected: list[tuple[float, float]] = []
    buckets = max(1, limit // 2)
    for b in range(buckets):
        lo_i, hi_i = b * n // buckets, (b + 1) * n // buckets
        chunk = list(ys[lo_i:hi_i])
        picks = sorted({lo_i + chunk.index(min(chunk)), lo_i + chunk.index(max(chunk))})
        expected.extend((float(xs[i]), float(ys[i])) for i in picks)
    assert _envelope(xs, ys, limit) == expected


# ------------------------------------------------------------------- bundle
def test_snapshot_bundle_is_its_own_output() -> None:
    study = _study(_trial(1.0), _trial(2.0))
    bundle = snapshot_bundle(study, _info(study), _result(study), run_id="run1")
    assert set(bundle) == {"text/html", "text/plain"}  # no widget view: see the docstring
    assert "\n" not in bundle["text/plain"]
    page = bundle["text/html"]
    assert (
        page.startswith("<style>") and '<div class="optuna-magic-snapshot" data-run="run1"' in page
    )
    assert snapshot_placeholder() == {"text/plain": ""}


def test_scoped_css_only_touches_its_own_cell() -> None:
    study = _study(_trial(1.0))
    page = render_snapshot(study, None, _result(study), run_id="abc-1")
    css = re.fullmatch(r"<style>(.*?)</style>.*", page, re.S)
    assert css
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", css.group(1))
    assert len(rules) == 4
    for selectors, body in rules:
        assert body == "display:none"
        for selector in selectors.split(","):
            # Every selector is anchored on this run's snapshot and on an output wrapper of
            # the same cell: JupyterLab's / Notebook 7's, or VS Code's webview's.
            assert '.optuna-magic-snapshot[data-run="abc-1"]' in selector
            assert selector.startswith((".jp-OutputArea-child", ".output_container"))
    # Beneath a live panel the snapshot hides in every host that renders both outputs.
    mine = '.optuna-magic-snapshot[data-run="abc-1"]'
    assert f".output_container:has(.optuna-magic) ~ .output_container:has({mine})" in css.group(1)
    assert "<style" not in render_snapshot(study, None, _result(study))  # no run id: no CSS


@pytest.mark.parametrize("run_id", ['x"]{}*{display:none}', "a b", "", "<s>"])
def test_run_id_cannot_inject_css(run_id: str) -> None:
    study = _study(_trial(1.0))
    with pytest.raises(ValueError, match="run_id"):
        render_snapshot(study, None, _result(study), run_id=run_id or "\n")


def test_panel_bundle_and_legacy_one_output_layout() -> None:
    study = _study(_trial(1.0))
    panel = panel_bundle("m1")
    assert panel == {
        WIDGET_VIEW_MIMETYPE: {"version_major": 2, "version_minor": 1, "model_id": "m1"},
        "text/plain": "",
    }
    legacy = snapshot_bundle(study, None, _result(study), model_id="m1")
    assert legacy[WIDGET_VIEW_MIMETYPE]["model_id"] == "m1"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0003, "0.3 ms"),
        (0.0123, "12 ms"),
        (0.094, "94 ms"),
        (0.1, "0.1 s"),
        (4.25, "4.2 s"),
        (125, "2 min 05 s"),
        (3725, "1 h 02 min"),
    ],
)
def test_duration_text_says_milliseconds_under_a_tenth_of_a_second(
    seconds: float, text: str
) -> None:
    assert duration_text(seconds) == text
