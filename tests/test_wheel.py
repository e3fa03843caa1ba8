"""Installed as users install it: the wheel built from this repository, in a fresh virtual
environment, running ``%load_ext optuna_magic`` and one ``%%optuna`` cell in a real kernel.

The wheel must carry the built panel (``optuna_magic/static/``, git-ignored and built by the
package build), and installing it must need no node: the install runs with a ``PATH`` that
holds only the new environment. Dependencies come from the pip index (and pip's cache; no
byte-compiling). 45-85 s on this two-core machine, idle or shared: 8-13 s to build the wheel,
the rest for the environment, the install and the kernel's cells.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env, check=False, cwd="/"
    )
    assert done.returncode == 0, f"{args[:4]}...\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``python -m build`` makes from the repository (its own isolated build env)."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)])
    (found,) = out.glob("optuna_magic-*.whl")
    return found


def test_the_wheel_carries_the_built_panel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        static = ("widget.js", "plotly.js", "loader.js", "version.txt")
        assert {f"optuna_magic/static/{name}" for name in static} <= names
        bundle = z.read("optuna_magic/static/widget.js")
        plotly = z.read("optuna_magic/static/plotly.js")
        loader = z.read("optuna_magic/static/loader.js").decode()
        assert not [n for n in names if n.startswith(("tests/", "js/", "examples/"))]
    assert len(bundle) > 50_000  # the panel itself, not a stub
    assert len(plotly) > 1_000_000  # plotly, the bundle's second part
    assert "__OPTUNA_MAGIC_BUNDLE__" in loader  # the loader the bundle's hash is put into
    # The same bytes the repository's build made: the wheel does not ship a stale panel.
    built = REPO / "optuna_magic" / "static" / "widget.js"
    if built.is_file():
        assert bundle == built.read_bytes()


def test_an_installed_wheel_runs_a_cell_in_a_kernel_of_its_own_environment(
    wheel: Path, tmp_path: Path
) -> None:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    # Only the new environment on PATH: no node, no npm, nothing from the repository's venv.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(venv / "bin")
    run(
        [python, "-m", "pip", "install", "--quiet", "--no-compile", str(wheel), "ipykernel"],
        env=env,
        timeout=480,
    )

    # A kernel spec naming the new environment's interpreter.
    spec = tmp_path / "kernels" / "wheel-venv"
    spec.mkdir(parents=True)
    argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "wheel venv", "language": "python"})
    )
    km = KernelManager(
        kernel_name="wheel-venv",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in (
            "import sys, optuna_magic\nprint(optuna_magic.__file__)\nprint(sys.prefix)",
            "%load_ext optuna_magic\nimport optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.WARNING)",
            "%%optuna -n 6 --sampler random --seed 2 --study-name from-wheel\n"
            "x = hp.float(-1, 1)\nx ** 2",
        )
    ]
    NotebookClient(nb, km=km, timeout=120).execute(cwd=str(tmp_path), env=env)

    where = "".join(o.text for o in nb.cells[0].outputs if o.output_type == "stream").split()
    module, prefix = Path(where[0]), Path(where[1])
    assert prefix == venv and module.is_relative_to(venv / "lib"), where
    assert not module.is_relative_to(REPO)
    outputs = nb.cells[2].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    data = [o.data for o in outputs if o.output_type == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in data)  # the live panel
    plain = " ".join(d.get("text/plain", "") for d in data)
    assert "'from-wheel' finished, 6 trials" in plain  # the end-of-run snapshot
