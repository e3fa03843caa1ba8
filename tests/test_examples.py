"""Every notebook in ``examples/`` runs top to bottom in a real Jupyter kernel without an error.

Each test executes one notebook with nbclient in a temporary copy of ``examples/`` (so the SQLite
studies and MLflow stores the notebooks write never dirty the repository), then checks the
notebook's own promise (e.g. trials were pruned) from its outputs. The movie-ratings study is also
opened with optuna-dashboard's server on loopback and read back through its API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb") if ".executed." not in p.name)
# What a notebook needs beyond the core package; a missing extra skips it with the reason.
NEEDS = {
    "movie_ratings.ipynb": ["surprise", "pandas", "optuna_dashboard"],
    "pytorch_pruning.ipynb": ["torch", "sklearn"],
    "pytorch_ann.ipynb": ["torch", "sklearn", "pandas"],
    "mlflow_tracking.ipynb": ["mlflow", "sklearn", "pandas"],
    "quickstart.ipynb": ["sklearn", "pandas"],
}
# Each notebook is meant to run in under two minutes on 2 CPU cores; this is the hard stop.
CELL_TIMEOUT_S = 300

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``examples/`` (without leftovers of earlier runs) shared by this module's tests."""
    dest = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(
        EXAMPLES,
        dest,
        ignore=shutil.ignore_patterns("*.db", "mlruns", "mlartifacts", "*.executed.ipynb"),
    )
    return dest


def execute(path: Path) -> tuple[Any, float]:
    """Run the notebook at ``path`` in a fresh kernel (cwd: its folder); return it and the time."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.monotonic()
    # Raises CellExecutionError with the cell's traceback on the first error. No MLflow usage
    # telemetry from the kernel: there is no network to send it to, it would only wait.
    client.execute(env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    return nb, time.monotonic() - start


def text_of(nb: Any) -> str:
    """All the plain-text outputs of the notebook, in order."""
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name: str, workdir: Path, record_property: Any) -> None:
    for module in NEEDS.get(name, []):
        pytest.importorskip(module)
    nb, elapsed = execute(workdir / name)
    record_property("seconds", round(elapsed, 1))
    print(f"{name}: {elapsed:.1f} s")
    out = text_of(nb)
    # A sink or the panel that fails logs a traceback instead of failing the cell: still an error.
    assert "Traceback (most recent call last)" not in out, out[out.index("Traceback") :][:3000]
    # Every example ends by printing its best trial.
    assert "best trial: #" in out, out[-2000:]
    if name == "pytorch_pruning.ipynb":
        pruned = int(out.split(" pruned\n")[0].rsplit(", ", 1)[1])
        assert pruned > 0, "the pruning example pruned nothing"
    if name == "mlflow_tracking.ipynb":
        assert "MLflow trial runs for" in out
    if name == "quickstart.ipynb":
        # `%optuna compare` shows the compare panel (its text form names both studies).
        assert "Compare (minimize):" in out and "study_tpe" in out and "study_random" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dashboard_serves_movie_study(workdir: Path) -> None:
    """The movie-ratings SQLite study opens in optuna-dashboard (its CLI, on loopback)."""
    pytest.importorskip("optuna_dashboard")
    pytest.importorskip("surprise")
    db = workdir / "movie_recommendation_study.db"
    if not db.exists():  # this test alone was selected
        execute(workdir / "movie_ratings.ipynb")
    port = _free_port()
    cli = Path(sys.executable).with_name("optuna-dashboard")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "optuna_dashboard._cli"]
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(
        [*command, f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return json.load(r)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                listing = get("/api/studies")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"optuna-dashboard did not answer: {err[-2000:]}")
                time.sleep(0.3)
        studies = {s["study_name"]: s for s in listing["study_summaries"]}
        assert "movie-recommendation-study" in studies, listing
        summary = studies["movie-recommendation-study"]
        assert summary["directions"] == ["minimize"]
        detail = get(f"/api/studies/{summary['study_id']}")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # 10 trials, then 6 more added with --resume: one study of 16 trials.
    assert len(detail["trials"]) == 16
    params = {p["name"] for p in detail["trials"][0]["params"]}
    assert params == {"k", "min_k", "similarity", "user_based"}
