"""The benchmarks' own code runs against the package as it is now.

``make bench`` is not part of ``make test``; its children call the package's internal wiring
(the runner without a progress sink, a panel with no front end), and a rename there broke the
instructions benchmark without any test noticing. Each child runs here with a few trials and
no valgrind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("scenario", ["plain", "runner", "cell", "panel", "flushes"])
def test_each_instructions_child_runs_its_trials(scenario: str) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_instructions.py"), scenario, "5"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"scenario": scenario, "n": 5, "complete": 5}
