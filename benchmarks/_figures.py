"""Figures: a measured value, its unit, and the target it is checked against (if any)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One line of the report: ``name: value (target)``."""

    section: str
    name: str
    value: float | None
    unit: str = ""
    target: str = ""  # e.g. "<= 1.10"; empty for a figure reported for information
    ok: bool | None = None  # None: no target
    note: str = ""
    digits: int = 2

    def value_text(self) -> str:
        """The value with its unit, e.g. ``66.4 B/trial``."""
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            v = "n/a"
        elif abs(self.value) >= 1000 and self.digits <= 2:
            v = f"{self.value:,.0f}"
        else:
            v = f"{self.value:.{self.digits}f}"
        return f"{v} {self.unit}" if self.unit else v

    def text(self) -> str:
        target = f" ({self.target})" if self.target else ""
        flag = "" if self.ok is None else ("" if self.ok else "  [MISSED]")
        return f"{self.name}: {self.value_text()}{target}{flag}"


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    section: str = ""

    def add(
        self,
        name: str,
        value: float | None,
        unit: str = "",
        *,
        at_most: float | None = None,
        below: float | None = None,
        at_least: float | None = None,
        note: str = "",
        digits: int = 2,
    ) -> Figure:
        target, ok = "", None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if at_most is not None or below is not None or at_least is not None:
                ok = False
                target = (
                    f"<= {at_most:g}"
                    if at_most is not None
                    else f"< {below:g}"
                    if below is not None
                    else f">= {at_least:g}"
                )
        elif at_most is not None:
            target, ok = f"target <= {at_most:g}{(' ' + unit) if unit else ''}", value <= at_most
        elif below is not None:
            target, ok = f"target < {below:g}{(' ' + unit) if unit else ''}", value < below
        elif at_least is not None:
            target, ok = f"target >= {at_least:g}{(' ' + unit) if unit else ''}", value >= at_least
        fig = Figure(self.section, name, value, unit, target, ok, note, digits)
        self.figures.append(fig)
        print(fig.text(), flush=True)
        return fig

    def note(self, text: str) -> None:
        self.notes.setdefault(self.section, []).append(text)
        print(f"  # {text}", flush=True)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.ok is False]


def median(xs: Iterable[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def bootstrap_median_interval(
    xs: list[float], level: float = 0.90, resamples: int = 2000
) -> tuple[float, float]:
    """A percentile bootstrap interval of the median of ``xs`` (seeded: the same data gives the
    same interval)."""
    import random

    xs = [x for x in xs if not math.isnan(x)]
    if not xs:
        return math.nan, math.nan
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(resamples))
    tail = (1 - level) / 2
    return meds[int(tail * (resamples - 1))], meds[int((1 - tail) * (resamples - 1))]
