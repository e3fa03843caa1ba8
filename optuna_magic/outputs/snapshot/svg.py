"""The snapshot's chart as a standalone SVG document, drawn from a :class:`ChartInfo` only.

The chart is shown through an ``<img>`` (a ``data:`` URI): sanitizers drop inline ``<svg>`` but
keep images, and an SVG loaded as an image never runs scripts or fetches anything. As an image it
cannot inherit the page's text colour, so it uses mid-tone colours that read on light and dark
backgrounds alike.
"""

from __future__ import annotations

import html
import math

from optuna_magic.outputs.snapshot.info import ChartInfo
from optuna_magic.outputs.snapshot.summary import cut

__all__ = ["HEIGHT", "WIDTH", "chart_svg"]

# Mid-tones: legible on white and on JupyterLab Dark's near-black.
_AXIS = "#8c8c8c"
_POINT = "#4a90d9"
_BEST = "#f08c2e"

WIDTH, HEIGHT = 640, 240
_ML, _MR, _MT, _MB = 64, 14, 24, 38  # the legend sits in the top margin


def chart_svg(c: ChartInfo) -> str:
    """The chart as a standalone SVG document (shown through an ``<img>``)."""
    allx = [p[0] for p in c.points + c.highlight + c.line]
    ally = [p[1] for p in c.points + c.highlight + c.line]
    fx = _Scale(min(allx), max(allx), _ML, WIDTH - _MR, c.log_x)
    fy = _Scale(min(ally), max(ally), HEIGHT - _MB, _MT, c.log_y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
    ]
    _axes(parts, c, fx, fy)
    _marks(parts, c, fx, fy)
    _legend(parts, c)
    parts.append("</svg>")
    return "".join(parts)


def _axes(parts: list[str], c: ChartInfo, fx: _Scale, fy: _Scale) -> None:
    x0, x1, y0, y1 = _ML, WIDTH - _MR, HEIGHT - _MB, _MT
    parts.append(f'<path d="M{x0} {y1}V{y0}H{x1}" fill="none" stroke="{_AXIS}" stroke-width="1"/>')
    for v in fx.ticks(integer=c.kind == "history"):
        px = fx(v)
        parts.append(
            f'<path d="M{px:.1f} {y0}v4" stroke="{_AXIS}"/>'
            f'<text x="{px:.1f}" y="{y0 + 15}" fill="{_AXIS}" '
            f'text-anchor="middle">{_x(_tick(v))}</text>'
        )
    for v in fy.ticks():
        py = fy(v)
        parts.append(
            f'<path d="M{x0 - 4} {py:.1f}h4" stroke="{_AXIS}"/>'
            f'<path d="M{x0} {py:.1f}H{x1}" stroke="{_AXIS}" stroke-opacity="0.2"/>'
            f'<text x="{x0 - 6}" y="{py + 4:.1f}" fill="{_AXIS}" '
            f'text-anchor="end">{_x(_tick(v))}</text>'
        )
    log = " (log)"
    parts.append(
        f'<text x="{(x0 + x1) / 2:.0f}" y="{HEIGHT - 4}" fill="{_AXIS}" text-anchor="middle">'
        f"{_x(cut(c.x_label, 40) + (log if c.log_x else ''))}</text>"
        f'<text transform="translate(12 {(y0 + y1) / 2:.0f}) rotate(-90)" fill="{_AXIS}" '
        f'text-anchor="middle">{_x(cut(c.y_label, 40) + (log if c.log_y else ""))}</text>'
    )


def _marks(parts: list[str], c: ChartInfo, fx: _Scale, fy: _Scale) -> None:
    # Points as zero-length round-capped segments: one <path> however many there are.
    if c.points:
        d = "".join(f"M{fx(x):.1f} {fy(y):.1f}h0" for x, y in c.points)
        opacity = "0.55" if c.kind == "pareto" else "0.8"
        parts.append(
            f'<path d="{d}" stroke="{_POINT}" stroke-opacity="{opacity}" stroke-width="5" '
            'stroke-linecap="round" fill="none"/>'
        )
    if c.line:
        d = f"M{fx(c.line[0][0]):.1f} {fy(c.line[0][1]):.1f}" + "".join(
            f"H{fx(x):.1f}V{fy(y):.1f}" for x, y in c.line[1:]
        )
        parts.append(f'<path d="{d}" stroke="{_BEST}" stroke-width="2" fill="none"/>')
    if c.highlight:
        d = "".join(f"M{fx(x):.1f} {fy(y):.1f}h0" for x, y in c.highlight)
        parts.append(
            f'<path d="{d}" stroke="{_BEST}" stroke-width="7" stroke-linecap="round" fill="none"/>'
        )


def _legend(parts: list[str], c: ChartInfo) -> None:
    lx, ly = WIDTH - _MR - 150, 6  # ly: the legend row, above the plot area
    if c.kind == "history":
        parts.append(
            f'<path d="M{lx} {ly + 6}h0" stroke="{_POINT}" stroke-width="5" '
            'stroke-linecap="round"/>'
            f'<text x="{lx + 8}" y="{ly + 10}" fill="{_AXIS}">trial</text>'
            f'<path d="M{lx + 46} {ly + 6}h16" stroke="{_BEST}" stroke-width="2"/>'
            f'<text x="{lx + 66}" y="{ly + 10}" fill="{_AXIS}">best so far</text>'
        )
    else:
        parts.append(
            f'<path d="M{lx + 30} {ly + 6}h0" stroke="{_BEST}" stroke-width="7" '
            'stroke-linecap="round"/>'
            f'<text x="{lx + 40}" y="{ly + 10}" fill="{_AXIS}">Pareto front</text>'
        )


def _x(s: str) -> str:
    # XML text inside the SVG document (which is then URL-encoded into the img's src).
    return html.escape(s, quote=True)


def _tick(v: float) -> str:
    return format(v, ".4g")


class _Scale:
    """Maps data to pixels, linear or log10; a degenerate range is widened around its value."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, log: bool) -> None:
        self.log = log
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi == lo:
            pad = abs(lo) * 0.05 or 1.0
            lo, hi = lo - pad, hi + pad
        else:
            pad = (hi - lo) * 0.04
            lo, hi = lo - pad, hi + pad
        self.lo, self.hi, self.p0, self.p1 = lo, hi, p0, p1

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.p0 + (t - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def ticks(self, *, integer: bool = False) -> list[float]:
        if self.log:
            e_lo, e_hi = math.ceil(self.lo), math.floor(self.hi)
            e_step = max(1, math.ceil((e_hi - e_lo + 1) / 6))
            return [10.0**e for e in range(e_lo, e_hi + 1, e_step)]
        step = _nice_step((self.hi - self.lo) / 5)
        if integer:
            step = max(1.0, float(round(step)))
        first = math.ceil(self.lo / step) * step
        out: list[float] = []
        v = first
        while v <= self.hi + 1e-12 and len(out) < 12:
            out.append(0.0 if abs(v) < step * 1e-9 else v)
            v += step
        return out


def _nice_step(raw: float) -> float:
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag
