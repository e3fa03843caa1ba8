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
        "constraints",
        "--seed 4",
        "x = hp.float(0, 6)\nconstraint(x - 3)\nconstraint(-x, name='positive')\nx\n",
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
        "{k: repr(d) for k, d in t.distributions.items()}, t.state.name, t.constraints] "
        "for t in study.trials]))\n"
    )
    path.write_text(probe)
    out = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    exported = json.loads(out.split("TRIALS=")[1])
    cell = [
        [t.params, {k: repr(d) for k, d in t.distributions.items()}, t.state.name, t.constraints]
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


# ------------------------------------------- every form the magic accepts, exported and run
FORM_BODY = "x = hp.int(0, 3)\nc = hp.choice(['a', 'b'])\nreport(x, 0)\nx + (c == 'a')\n"


def _forms() -> list[tuple[str, str, str | None]]:
    """(id, options, the journal or SQLite file the script must write, relative to its folder)."""
    from optuna_magic.study.factories import PRUNERS, SAMPLERS

    forms: list[tuple[str, str, str | None]] = [
        (f"sampler-{s}", f"--sampler {s} --seed 1", None) for s in SAMPLERS
    ]
    forms += [(f"pruner-{p}", f"--pruner {p}", None) for p in PRUNERS if p != "threshold"]
    forms += [
        ("pruner-threshold-call", '--pruner "threshold(upper=10.0)"', None),
        ("sampler-call", '--sampler "tpe(n_startup_trials=5, seed=2)" --seed 1', None),
        ("pruner-call", '--pruner "percentile(percentile=50.0, n_startup_trials=1)"', None),
        ("journal-prefix", "--storage journal:j1.log --study-name s", "j1.log"),
        ("journal-log", "--storage j2.log --study-name s", "j2.log"),
        ("journal-jsonl", "--storage j3.jsonl --study-name s", "j3.jsonl"),
        ("sqlite", "--storage sqlite:///s.db --study-name s", "s.db"),
        ("in-memory", "--study-name s", None),
        ("metric-names", "--storage sqlite:///m.db --study-name s --metric-names score", "m.db"),
    ]
    return forms


FORMS = _forms()


def test_every_form_exports_a_script_that_runs(
    ip: Any, tmp_path: Any, monkeypatch: Any, capsys: Any
) -> None:
    import importlib.util

    monkeypatch.chdir(tmp_path)  # the cell and the scripts resolve relative storage paths here
    scripts = []
    for name, opts, _stored in FORMS:
        if name == "sampler-cmaes" and importlib.util.find_spec("cmaes") is None:
            continue  # the magic itself needs the cmaes package for this sampler
        cell = tmp_path / "cells" / name
        cell.mkdir(parents=True)
        monkeypatch.chdir(cell)
        r = run(ip, f"%%optuna -n 3 --quiet {opts}\n{FORM_BODY}")
        assert r.success, (name, r.error_in_exec)
        out = tmp_path / name
        out.mkdir()
        ip.run_line_magic("optuna", f"export {out / 'run.py'}")
        scripts.append((name, out))
    capsys.readouterr()
    # One interpreter runs every script in its own folder, as `python run.py` would: a
    # subprocess per script would spend most of the time importing optuna.
    driver = (
        "import os, runpy, sys, traceback\n"
        "failed = []\n"
        "for folder in sys.argv[1:]:\n"
        "    os.chdir(folder)\n"
        "    try:\n"
        "        runpy.run_path('run.py', run_name='__main__')\n"
        "    except BaseException:\n"
        "        failed.append(folder + '\\n' + traceback.format_exc())\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver, *(str(out) for _, out in scripts)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    import optuna

    for name, out in scripts:
        stored = dict((f[0], f[2]) for f in FORMS)[name]
        if stored is None:
            continue
        path = out / stored
        assert path.exists(), name
        if stored.endswith(".db"):
            storage: Any = f"sqlite:///{path}"
        else:
            storage = optuna.storages.JournalStorage(
                optuna.storages.journal.JournalFileBackend(str(path))
            )
        study = optuna.load_study(study_name="s", storage=storage)
        assert len(study.trials) == 3, name
        assert study.metric_names == (["score"] if name == "metric-names" else None), name


PASSWORD_URL = "postgresql://u:p/w@ss@db.example:5432/optuna?sslmode=require"


def test_export_keeps_the_storage_password_out_of_the_script(ip: Any, tmp_path: Any) -> None:
    magics = ip.magics_manager.registry["OptunaMagics"]
    magics.last_cell = (f"-n 3 --storage '{PASSWORD_URL}' --study-name s", FORM_BODY)
    path = tmp_path / "run.py"
    ip.run_line_magic("optuna", f"export {path}")
    script = path.read_text()
    for secret in ("p/w", "w@ss", "ss@"):
        assert secret not in script
    assert 'os.environ["OPTUNA_STORAGE_PASSWORD"]' in script
    assert "postgresql://u:***@db.example:5432/optuna" in script  # said in a comment
    compile(script, str(path), "exec")
    # The URL it builds is the user's, the password percent-encoded so SQLAlchemy reads it whole.
    from sqlalchemy.engine import make_url

    ns: dict[str, Any] = {}
    env = {"OPTUNA_STORAGE_PASSWORD": "p/w@ss"}
    code = script.split('if __name__ == "__main__":')[0]
    exec(compile(code.replace("os.environ", "ENV"), "run.py", "exec"), {"ENV": env}, ns)
    url = make_url(ns["STORAGE"])
    assert (url.password, url.host, url.port, url.database) == (
        "p/w@ss",
        "db.example",
        5432,
        "optuna",
    )


def test_export_with_secrets_writes_the_url(ip: Any, tmp_path: Any, capsys: Any) -> None:
    magics = ip.magics_manager.registry["OptunaMagics"]
    magics.last_cell = (f"-n 3 --storage '{PASSWORD_URL}' --study-name s", FORM_BODY)
    path = tmp_path / "run.py"
    ip.run_line_magic("optuna", f"export {path} --with-secrets")
    script = path.read_text()
    assert "OPTUNA_STORAGE_PASSWORD" not in script
    from sqlalchemy.engine import make_url

    written = script.split("storage=")[1].split(",\n")[0]
    assert make_url(eval(written)).password == "p/w@ss"
    ip.run_line_magic("optuna", "export")  # printed: the password is never shown
    out = capsys.readouterr().out
    assert "p/w" not in out and "OPTUNA_STORAGE_PASSWORD" in out
