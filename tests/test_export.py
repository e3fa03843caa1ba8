"""`%optuna export`: the last cell as a plain Optuna script that runs and matches the cell."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from shell_helpers import run

CELLS = [
    (
        "inline space with pruning",
        '--seed 3 --pruner "median(n_startup_trials=2)"',
        "import math\n# a comment survives\nn_layers = hp.int(1, 3)\nwidths = []\n"
        "for i in range(n_layers):\n    widths.append(hp.int(4, 64, log=True, name=f'w{i}'))\n"
        "opt = {'lr': hp.float(1e-4, 1e-1, log=True), 'kind': hp.choice(['adam', 'sgd'])}\n"
        "for epoch in range(3):\n    report(sum(widths) * opt['lr'] / (epoch + 1), epoch)\n"
        "math.log(sum(widths)) * opt['lr']\n",
    ),
    (
        "grid sampler and return",
        "--sampler grid --seed 0",
        "cfg = {}\ncfg['k'] = hp.int(1, 4)\nc = hp.choice(['a', 'b'])\nif c == 'a':\n"
        "    return cfg['k']\nreturn -cfg['k']\n",
    ),
    (
        "plain objective",
        "--seed 5 --direction maximize",
        "def objective(trial):\n    x = trial.suggest_float('x', -1, 1)\n    return -x * x\n",
    ),
    (
        "several objectives",
        "--seed 2 --directions minimize maximize",
        "a = hp.float(0, 1)\nb = hp.int(1, 5, step=2)\na * b, a + b\n",
    ),
]


@pytest.mark.parametrize(("opts", "body"), [c[1:] for c in CELLS], ids=[c[0] for c in CELLS])
def test_exported_script_reproduces_the_cells_study(
    ip: Any, tmp_path: Any, opts: str, body: str
) -> None:
    r = run(ip, f"%%optuna -n 8 --quiet {opts}\n{body}")
    assert r.success, r.error_in_exec
    path = tmp_path / "exported.py"
    ip.run_line_magic("optuna", f"export {path}")
    script = path.read_text()
    assert "hp." not in script and "import optuna" in script
    probe = (
        script + "\n    import json\n    print('TRIALS=' + json.dumps([[t.params, "
        "{k: repr(d) for k, d in t.distributions.items()}, t.state.name] "
        "for t in study.trials]))\n"
    )
    path.write_text(probe)
    out = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    exported = json.loads(out.split("TRIALS=")[1])
    cell = [
        [t.params, {k: repr(d) for k, d in t.distributions.items()}, t.state.name]
        for t in ip.user_ns["study"].trials
    ]
    assert exported == cell


def test_export_without_a_cell_is_a_usage_error(ip: Any) -> None:
    from IPython.core.error import UsageError

    ip.magics_manager.registry["OptunaMagics"].last_cell = None
    with pytest.raises(UsageError, match="no %%optuna cell"):
        ip.run_line_magic("optuna", "export")


def test_export_names_notebook_globals(ip: Any, capsys: Any) -> None:
    ip.user_ns["X_train"] = [1, 2]
    run(ip, "%%optuna --dry-run\nk = hp.int(1, 3)\nlen(X_train) * k\n")
    ip.run_line_magic("optuna", "export")
    out = capsys.readouterr().out
    assert "# X_train" in out
