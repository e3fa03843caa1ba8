"""Instructions per trial: what the runner, the cell's objective and the panel add to plain Optuna.

Counted, not timed: each scenario runs in a child process of this Python under valgrind
(cachegrind without its cache simulation, about three times faster than callgrind here and just
as exact for the total), which counts every instruction the process executes, in every thread.
Timings on a shared two-core machine swing by tens of percent; these counts repeat to within a
few instructions a trial. Each scenario runs twice, with ``N1`` and ``N2`` trivial trials
(RandomSampler, one float parameter, an in-memory study), and the figure is
``(I(N2) - I(N1)) / (N2 - N1)``: start-up, imports and what a run does once cancel out.

The scenarios, each in a plain Python process (no kernel), built on one another:

- ``plain``: ``study.optimize(objective)``;
- ``runner``: the same objective through the project's runner (``wiring.start_run`` without a
  progress sink, as ``%%optuna --quiet`` starts a run);
- ``cell``: the runner with the objective a ``%%optuna`` cell compiles to (``parse_cell`` +
  ``build_objective``, as the magic does) in place of the plain one;
- ``panel``: that run with the live panel (``StudyPanel``) among its sinks, as the magic wires
  it; the panel flushes when the run starts and ends only, so the count holds every trial's
  queueing, its batch apply and its delta encoding, and no flush's fixed cost;
- ``flushes``: the same with a flush after every trial, which gives a flush's fixed cost
  (``flushes`` - ``panel``, per trial).

A real run flushes every 0.25 s, about every 6,250 trials of ~40 us, and valgrind slows the
process ~50 times, so a time-based flush would run ~50 times as often per trial as it does in a
real run; the fixed cost is therefore measured once per flush and spread at the real cadence.
Without a kernel the panel's messages go to a comm that sends nothing: the kernel's
serialization of a flush's message (amortized over ~6,250 trials) is not counted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from optuna_magic.run.sink import BaseSink

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SECTION = "10. Instructions per trial (valgrind)"
SCENARIOS = ("plain", "runner", "cell", "panel", "flushes")
CELL = "x = hp.float(-10, 10)\n(x - 2) ** 2\n"
# A real run's flush cadence: every 0.25 s, at ~40 us a trivial trial (docs/architecture.md).
FLUSH_SECONDS = 0.25
TRIAL_SECONDS = 40e-6
TARGET_PERCENT = 3.0


def valgrind() -> str:
    """The valgrind executable; RuntimeError (the suite's error) where there is none."""
    exe = os.environ.get("OPTUNA_MAGIC_VALGRIND") or shutil.which("valgrind") or "/usr/bin/valgrind"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeError(
            f"the instructions benchmark needs valgrind ({exe}: {e}); install it "
            "(apt-get install valgrind) or set OPTUNA_MAGIC_VALGRIND"
        ) from None
    if out.returncode != 0:
        raise RuntimeError(f"the instructions benchmark needs valgrind: {exe} --version failed")
    return exe


# ------------------------------------------------------------------ the child
def _objective(trial: Any) -> float:
    x = trial.suggest_float("x", -10, 10)
    return (x - 2) ** 2


def _cell_objective() -> tuple[Any, Any, list[Any]]:
    """The objective a ``%%optuna`` cell compiles to, its search space, and where its
    ``report`` finds the runner (as the magic's ``cell_objective`` builds it)."""
    from optuna_magic.cell.compile import build_objective
    from optuna_magic.cell.parse import parse_cell

    parsed = parse_cell(CELL, "<cell>", line_offset=1, namespace={}, magic_line="%%optuna")
    runner: list[Any] = []

    def report(trial: Any, value: float, step: int) -> None:
        runner[0].report(trial, value, step)

    ns: dict[str, Any] = {"__name__": "__main__"}
    return build_objective(parsed, "<cell>", ns, report, 1), parsed.space.params, runner


class _EveryTrial(BaseSink):
    """Makes ``panel`` flush after every trial once its run has started: its flusher thread
    already waits out the long interval it started with, and from then on every trial finds
    a flush due (``flush`` sets the next one an interval after now, and the interval is now
    negative)."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel

    def run_started(self, info: Any, control: Any) -> None:
        self.panel.flush_interval = -1.0
        self.panel._next_flush = 0.0


def child(scenario: str, n: int) -> dict[str, Any]:
    """Run ``n`` trials of ``scenario`` in this process; what ran, for the parent to check.

    Every scenario imports and builds the same things (the cell's objective, a panel) and
    uses only its own: the garbage collector's full collections come less often in a larger
    heap, and a layer that imported more than the one below it looked cheaper by ~1,000
    instructions a trial than it is.
    """
    import optuna

    from optuna_magic.outputs.panel.widget import StudyPanel
    from optuna_magic.run.info import run_info
    from optuna_magic.wiring import start_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    cell, space, runner = _cell_objective()
    # No time-based flush during the run (see the module's note); "flushes" flushes after
    # every trial instead, from the trial's thread as a due flush does.
    panel = StudyPanel(flush_interval=1e9)
    if scenario == "plain":
        study.optimize(_objective, n_trials=n)
    else:
        objective = _objective if scenario == "runner" else cell
        sinks: list[Any] = [panel] if scenario in ("panel", "flushes") else []
        if scenario == "flushes":
            sinks.append(_EveryTrial(panel))
        info = run_info(study, n_trials=n, space=space if objective is cell else ())
        handle = start_run(
            study,
            objective,
            info,
            n_trials=n,
            timeout=None,
            sinks=sinks,
            progress=False,
            before_start=runner.append,
        )
        # Not handle.wait(): it wakes ten times a second of wall time to let Ctrl-C in, and
        # under valgrind a second is ~50 times fewer trials, so its wake-ups (and the GIL
        # switches they force) would count ~50 times as much per trial as in a real run, and
        # vary with the machine's load. The magic's cell awaits the run without polling.
        handle._done.wait()
        assert handle.result is not None and handle.result.state == "finished", handle.result
    panel.close()
    complete = sum(1 for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE")
    return {"scenario": scenario, "n": n, "complete": complete}


# ----------------------------------------------------------------- the parent
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _env() -> dict[str, str]:
    # The same string hashes run after run; and numpy's OpenBLAS in one thread: its idle
    # worker threads spin for as long as the machine lets them, 13 million instructions or
    # more a process, different every run.
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def warm_up() -> None:
    """One child without valgrind first, allowed to write bytecode caches (this machine sets
    PYTHONDONTWRITEBYTECODE): a counted child that compiled a module its pair had found
    compiled (millions of instructions) would skew that scenario's difference."""
    env = _env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "flushes", "3"]
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=600)


def count(exe: str, scenario: str, n: int) -> int:
    """Instructions of a child process that runs ``n`` trials of ``scenario``."""
    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                exe,
                "--tool=cachegrind",
                "--cache-sim=no",
                f"--cachegrind-out-file={Path(tmp) / 'cg.out'}",
                sys.executable,
                str(Path(__file__).resolve()),
                scenario,
                str(n),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
    refs = _REFS.findall(out.stderr)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not refs or not lines:
        raise RuntimeError(
            f"valgrind run of {scenario} ({n} trials) failed (exit {out.returncode}):\n"
            f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        )
    ran = json.loads(lines[-1])
    if ran["complete"] != n:
        raise RuntimeError(f"{scenario}: {ran['complete']} of {n} trials completed")
    return int(refs[-1].replace(",", ""))


def per_trial(exe: str, n1: int, n2: int) -> dict[str, float]:
    """Instructions per trial of every scenario, two child processes at a time."""
    warm_up()
    jobs = [(s, n) for s in SCENARIOS for n in (n1, n2)]
    workers = max(
        1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        counts = dict(zip(jobs, pool.map(lambda j: count(exe, *j), jobs), strict=True))
    return {s: (counts[s, n2] - counts[s, n1]) / (n2 - n1) for s in SCENARIOS}


def run(results: Any, *, quick: bool = False) -> None:
    exe = valgrind()
    n1, n2 = (200, 700) if quick else (500, 2500)
    pt = per_trial(exe, n1, n2)
    r = results
    r.section = SECTION
    plain = pt["plain"]
    runner = pt["runner"] - plain
    cell = pt["cell"] - pt["runner"]
    queue = pt["panel"] - pt["cell"]
    flush = pt["flushes"] - pt["panel"]  # one flush a trial: a flush's fixed cost
    spread = flush * TRIAL_SECONDS / FLUSH_SECONDS
    added = runner + cell + queue + spread
    label = f"RandomSampler, 1 float parameter, ({n2:,} - {n1:,} trials)"
    r.add(f"plain study.optimize, {label}", plain, "instr/trial", digits=0)
    r.add("added by the runner's per-trial wrapper", runner, "instr/trial", digits=0)
    r.add("added by the %%optuna cell's objective (vs a plain objective)", cell, "instr/trial")
    r.add("added by the panel: queue, batch apply and delta of each trial", queue, "instr/trial")
    r.add(
        "a panel flush's fixed cost (flushing after every trial - flushing at the end)",
        flush,
        "instr/flush",
    )
    r.add(
        f"the panel's flushes spread at the real cadence (every {FLUSH_SECONDS:g} s at "
        f"{TRIAL_SECONDS * 1e6:.0f} us a trial)",
        spread,
        "instr/trial",
        digits=1,
    )
    r.add("added by runner + cell + panel", added, "instr/trial", digits=0)
    r.add(
        "added by runner + cell + panel, % of plain Optuna's",
        100 * added / plain,
        "%",
        at_most=TARGET_PERCENT,
        digits=2,
    )
    r.note(
        f"valgrind --tool=cachegrind --cache-sim=no, one child process per scenario and trial "
        f"count (PYTHONHASHSEED=0; every child imports and builds the same, so the garbage "
        f"collector sees one heap), per trial = (I({n2:,}) - I({n1:,})) / {n2 - n1:,}; "
        "scenarios build on each other (runner on plain, cell on runner, panel on cell), each "
        "layer's figure is the difference. No kernel: the panel's comm sends nothing, so the "
        "kernel's serialization of a flush's message is not counted (it is spread over "
        "~6,250 trials)."
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))), flush=True)
