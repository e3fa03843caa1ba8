"""What the compare panel shows of several studies (``%optuna compare``, ``optuna_magic.compare``).

For each study, from its COMPLETE trials: the best value so far against the trial number (only
the trials that improved it, and the last one), the empirical distribution function of its
values (as in Optuna's ``plot_edf``: at most ``EDF_POINTS`` quantiles, so a study of a million
trials sends the same few kB as one of a thousand), and its best trial. Studies are compared on
their one objective, in the one direction they share; anything else is refused in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from optuna_magic.cell.space import OptunaMagicError
from optuna_magic.outputs.constraints import is_infeasible

if TYPE_CHECKING:
    import optuna

__all__ = ["EDF_POINTS", "CompareStudy", "compare_data", "compare_panel", "compare_text"]

EDF_POINTS = 512


class CompareStudy(TypedDict):
    """One study of a compare panel (the ``studies`` trait's items; js/src/protocol.ts)."""

    name: str
    n_trials: int
    n_complete: int
    counts: dict[str, int]
    # [trial number, best value so far] at every trial that improved the best, and the last.
    history: list[list[float]]
    # The EDF: sorted values (quantiles when there are more than EDF_POINTS) and their
    # fractions in (0, 1].
    edf_values: list[float]
    edf_fractions: list[float]
    best: dict[str, Any] | None  # number, value, params (None: no trial completed)


def _check(studies: Sequence[optuna.Study]) -> str:
    if len(studies) < 2:
        raise OptunaMagicError("compare needs at least two studies")
    for s in studies:
        if len(s.directions) != 1:
            raise OptunaMagicError(
                f"compare draws studies of one objective; study {s.study_name!r} has "
                f"{len(s.directions)}"
            )
    directions = {s.directions[0].name.lower() for s in studies}
    if len(directions) > 1:
        raise OptunaMagicError(
            "compare needs studies that go the same way; these "
            + ", ".join(f"{s.study_name!r} {s.directions[0].name.lower()}" for s in studies)
        )
    return directions.pop()


def compare_data(
    studies: Sequence[optuna.Study], names: Sequence[str] | None = None
) -> tuple[str, list[CompareStudy]]:
    """The direction the studies share, and what the panel shows of each.

    ``names``: how to label them (default their study names; the magic gives the variables').
    Raises ``OptunaMagicError`` for fewer than two studies, several objectives, or studies that
    go different ways.
    """
    direction = _check(studies)
    labels = list(names) if names is not None else [s.study_name for s in studies]
    return direction, [_one(s, label, direction) for s, label in zip(studies, labels, strict=True)]


def _one(study: optuna.Study, name: str, direction: str) -> CompareStudy:
    import numpy as np

    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    sign = -1.0 if direction == "maximize" else 1.0
    done = [
        (t.number, float(t.values[0]), is_infeasible(t))
        for t in trials
        if t.state.name == "COMPLETE" and t.values and math.isfinite(float(t.values[0]))
    ]
    done.sort()
    history: list[list[float]] = []
    best_key, best_trial = math.inf, None
    # The best so far and the best trial are of feasible trials only, as study.best_trial.
    for number, value, infeasible in done:
        if not infeasible and sign * value < best_key:
            best_key = sign * value
            best_trial = number
            history.append([number, value])
    if history and history[-1][0] != done[-1][0]:
        history.append([done[-1][0], history[-1][1]])
    values = np.sort(np.fromiter((v for _, v, _ in done), float, len(done)))
    if values.size > EDF_POINTS:
        q = np.linspace(0.0, 1.0, EDF_POINTS)
        edf_values = np.quantile(values, q)
        fractions = np.maximum(q, 1.0 / values.size)
    else:
        edf_values = values
        fractions = np.arange(1, values.size + 1) / max(values.size, 1)
    best = None
    if best_trial is not None:
        t = next(x for x in trials if x.number == best_trial)
        best = {
            "number": best_trial,
            "value": float(t.values[0]),
            "params": {k: _plain(v) for k, v in t.params.items()},
        }
    return {
        "name": name,
        "n_trials": len(trials),
        "n_complete": len(done),
        "counts": counts,
        "history": history,
        "edf_values": [float(v) for v in edf_values],
        "edf_fractions": [float(f) for f in fractions],
        "best": best,
    }


def _plain(value: Any) -> Any:
    """A parameter value as JSON can carry it (numpy scalars, odd choices as text)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return repr(value)


def compare_panel(studies: Sequence[optuna.Study], names: Sequence[str] | None = None) -> Any:
    """The compare panel of ``studies``, to display (a :class:`ComparePanel`)."""
    direction, data = compare_data(studies, names)
    return _panel_class()(direction=direction, studies=data)


_PANEL: Any = None


def _panel_class() -> Any:
    """:class:`ComparePanel`, defined on first use (anywidget is imported only then)."""
    global _PANEL
    if _PANEL is None:
        _PANEL = _define_panel()
    return _PANEL


def _define_panel() -> Any:
    import anywidget
    import traitlets

    from optuna_magic.outputs.panel.bundle import BUNDLE
    from optuna_magic.outputs.panel.wire import parse_request

    class ComparePanel(anywidget.AnyWidget):
        """Several studies in one panel: best-so-far histories, EDFs, best trials.

        Its data is two small traits (bounded whatever the studies' sizes); its code is the
        panel's bundle, fetched by the same loader as a study's panel.
        """

        _esm = BUNDLE.esm
        kind = traitlets.Unicode("compare").tag(sync=True)
        direction = traitlets.Unicode("minimize").tag(sync=True)
        studies: traitlets.List[Any] = traitlets.List().tag(sync=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._buffers = True
            self.on_msg(self._on_message)

        def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
            request = parse_request(content)
            if request is None:
                return
            if request["type"] == "no_buffers":
                self._buffers = False
            elif request["type"] == "bundle":
                reply = BUNDLE.reply(request, buffers=self._buffers)
                if reply is not None:
                    self.send(*reply)

        def __repr__(self) -> str:
            # The text/plain of the output: a table where no widget renders (a terminal, a
            # notebook saved without widget state).
            return compare_text(self.direction, self.studies)

    return ComparePanel


def compare_text(direction: str, studies: Sequence[CompareStudy]) -> str:
    """The comparison as a few lines of text."""
    width = max(len(s["name"]) for s in studies)
    lines = [f"Compare ({direction}):"]
    for s in studies:
        best = s["best"]
        head = f"  {s['name']:<{width}}  {s['n_complete']:>6} complete"
        if best is None:
            lines.append(
                f"{head}  {'no feasible trial' if s['n_complete'] else 'no trial completed'}"
            )
            continue
        params = ", ".join(
            f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v!r}"
            for k, v in best["params"].items()
        )
        lines.append(f"{head}  best {best['value']:.6g} at trial #{best['number']}  {params}")
    return "\n".join(lines)
