"""The magic through a real IPython InteractiveShell."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from typing import Any

import optuna
import pytest
from shell_helpers import run

from optuna_magic import OptunaMagicError


def test_load_registers_and_unload_removes(ip: Any) -> None:
    assert "optuna" in ip.magics_manager.magics["cell"]
    assert "optuna" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "optuna_magic")
    assert "optuna" not in ip.magics_manager.magics["cell"]
    assert "optuna" not in ip.magics_manager.magics["line"]
    ip.run_line_magic("load_ext", "optuna_magic")


def test_help_lists_every_option(ip: Any) -> None:
    magic = ip.magics_manager.magics["cell"]["optuna"]
    doc = magic.__doc__
    # Every option the magic declares, read from its own parser (not a hand list that drifts).
    declared = [max(a.option_strings, key=len) for a in magic.parser._actions if a.option_strings]
    assert {"--mlflow", "--workers", "--dask", "--n-trials", "--keep-best"} <= set(declared)
    for opt in declared:
        assert opt in doc, opt


def test_loading_imports_neither_optuna_nor_plotly() -> None:
    code = (
        "import sys\nfrom IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\nip.run_line_magic('load_ext', 'optuna_magic')\n"
        "print(sorted(m for m in ('optuna', 'plotly', 'torch', 'anywidget') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_inline_space_runs_and_binds_study(ip: Any) -> None:
    ip.user_ns["OFFSET"] = 3.0
    r = run(
        ip,
        "%%optuna -n 15 --seed 1 --quiet\n"
        "x = hp.float(-10, 10)\ncfg = {}\ncfg['k'] = hp.int(1, 4)\n"
        "opts = {'kind': hp.choice(['a', 'bb'])}\n"
        "(x - 2) ** 2 + cfg['k'] + len(opts['kind']) + OFFSET\n",
    )
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    assert isinstance(study, optuna.Study)
    assert len(study.trials) == 15
    assert set(study.best_params) == {"x", "k", "kind"}
    t = study.best_trial
    assert t.value == pytest.approx(
        (t.params["x"] - 2) ** 2 + t.params["k"] + len(t.params["kind"]) + 3.0
    )
    for leaked in ("x", "cfg", "opts"):
        assert leaked not in ip.user_ns


def test_loop_names_and_conditional_space(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 12 --seed 2 --quiet\n"
        "n = hp.int(1, 3)\nunits = []\nfor i in range(n):\n"
        "    units.append(hp.int(4, 64, log=True, name=f'units_{i}'))\n"
        "kind = hp.choice(['lin', 'rbf'])\n"
        "if kind == 'rbf':\n    gamma = hp.float(1e-3, 1, log=True)\n"
        "sum(units) / 100\n",
    )
    assert r.success, r.error_in_exec
    for t in ip.user_ns["study"].trials:
        assert len([p for p in t.params if p.startswith("units_")]) == t.params["n"]
        assert ("gamma" in t.params) == (t.params["kind"] == "rbf")


def test_same_name_reached_twice_in_a_trial_is_an_error(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 3 --quiet\n"
        "def layer():\n    return hp.int(1, 5, name='w')\n"
        "layer() + layer()\n",
    )
    err = r.error_in_exec
    assert isinstance(err, OptunaMagicError)
    assert "declared twice in one trial" in str(err) and err.line == 3


def test_multi_objective_tuple(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 10 --directions minimize maximize --quiet -o mo\n"
        "a = hp.float(0, 1)\na, a ** 2\n",
    )
    assert r.success, r.error_in_exec
    assert len(ip.user_ns["mo"].directions) == 2
    assert all(len(t.values) == 2 for t in ip.user_ns["mo"].trials)


def test_top_level_return(ip: Any) -> None:
    r = run(
        ip, "%%optuna -n 5 --quiet\na = hp.float(0, 1)\nif a > 0.5:\n    return 1.0\nreturn 0.0\n"
    )
    assert r.success, r.error_in_exec
    assert {t.value for t in ip.user_ns["study"].trials} <= {0.0, 1.0}


def test_plain_optuna_objective_runs_unchanged(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 6 --quiet --direction maximize\nimport math\n"
        "def objective(trial):\n    x = trial.suggest_float('x', 0, math.pi)\n"
        "    return math.sin(x)\n",
    )
    assert r.success, r.error_in_exec
    study = ip.user_ns["study"]
    assert len(study.trials) == 6 and study.direction.name == "MAXIMIZE"
    assert study.best_value == pytest.approx(math.sin(study.best_params["x"]))


SAMPLERS = [
    ("name", "random", optuna.samplers.RandomSampler),
    ("call", '"tpe(n_startup_trials=3)"', optuna.samplers.TPESampler),
    ("qmc", "qmc", optuna.samplers.QMCSampler),
    ("grid from space", "grid", optuna.samplers.GridSampler),
    ("variable", "my_sampler", optuna.samplers.RandomSampler),
]


@pytest.mark.parametrize(("spec", "cls"), [s[1:] for s in SAMPLERS], ids=[s[0] for s in SAMPLERS])
def test_sampler_specs(ip: Any, spec: str, cls: type) -> None:
    ip.user_ns["my_sampler"] = optuna.samplers.RandomSampler(seed=3)
    seed = "" if spec == "my_sampler" else "--seed 0 "  # a built sampler keeps its own seed
    r = run(
        ip,
        f"%%optuna -n 4 {seed}--quiet --sampler {spec}\n"
        "x = hp.int(0, 3)\nc = hp.choice(['a', 'b'])\nx\n",
    )
    assert r.success, r.error_in_exec
    assert isinstance(ip.user_ns["study"].sampler, cls)
    if spec == "my_sampler":
        assert ip.user_ns["study"].sampler is ip.user_ns["my_sampler"]


def test_seed_makes_runs_repeatable(ip: Any) -> None:
    cell = "%%optuna -n 8 --seed 42 --quiet -o s{}\nx = hp.float(0, 1)\nx\n"
    run(ip, cell.format(1))
    run(ip, cell.format(2))
    assert [t.params for t in ip.user_ns["s1"].trials] == [
        t.params for t in ip.user_ns["s2"].trials
    ]


PRUNERS = [
    ("median", "median", optuna.pruners.MedianPruner),
    ("call", '"median(n_startup_trials=2, n_warmup_steps=1)"', optuna.pruners.MedianPruner),
    ("percentile default", "percentile", optuna.pruners.PercentilePruner),
    ("hyperband", "hyperband", optuna.pruners.HyperbandPruner),
    ("sha", "sha", optuna.pruners.SuccessiveHalvingPruner),
    ("wilcoxon", "wilcoxon", optuna.pruners.WilcoxonPruner),
    ("none", "none", optuna.pruners.NopPruner),
    ("variable", "my_pruner", optuna.pruners.MedianPruner),
]


@pytest.mark.parametrize(("spec", "cls"), [p[1:] for p in PRUNERS], ids=[p[0] for p in PRUNERS])
def test_pruner_specs(ip: Any, spec: str, cls: type) -> None:
    ip.user_ns["my_pruner"] = optuna.pruners.MedianPruner()
    r = run(ip, f"%%optuna -n 3 --quiet --pruner {spec}\nx = hp.float(0, 1)\nx\n")
    assert r.success, r.error_in_exec
    assert isinstance(ip.user_ns["study"].pruner, cls)


def test_report_prunes(ip: Any) -> None:
    r = run(
        ip,
        '%%optuna -n 30 --seed 0 --quiet --pruner "median(n_startup_trials=3)"\n'
        "x = hp.float(0, 1)\nfor step in range(5):\n    report(x * (step + 1), step)\nx\n",
    )
    assert r.success, r.error_in_exec
    states = [t.state for t in ip.user_ns["study"].trials]
    assert optuna.trial.TrialState.PRUNED in states
    pruned = [t for t in ip.user_ns["study"].trials if t.state.name == "PRUNED"]
    assert all(t.intermediate_values for t in pruned)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_storage_resume_and_refuse_to_recreate(ip: Any, tmp_path: Any, kind: str) -> None:
    url = f"sqlite:///{tmp_path}/s.db" if kind == "sqlite" else f"journal:{tmp_path}/s.log"
    cell = "x = hp.float(0, 1)\nx\n"
    r = run(ip, f"%%optuna -n 4 --quiet --storage {url} --study-name s1\n{cell}")
    assert r.success, r.error_in_exec
    r = run(ip, f"%%optuna -n 4 --quiet --storage {url} --study-name s1\n{cell}")
    assert "--resume" in str(r.error_in_exec)
    from optuna_magic.study.storage import open_storage

    assert len(optuna.load_study(study_name="s1", storage=open_storage(url)).trials) == 4
    r = run(ip, f"%%optuna -n 3 --quiet --storage {url} --study-name s1 --resume\n{cell}")
    assert r.success, r.error_in_exec
    assert len(optuna.load_study(study_name="s1", storage=open_storage(url)).trials) == 7
    r = run(ip, f"%%optuna -n 3 --quiet --storage {url} --study-name nope --resume\n{cell}")
    assert "no study named 'nope'" in str(r.error_in_exec)


def test_resume_in_memory_continues_the_bound_study(ip: Any) -> None:
    run(ip, "%%optuna -n 3 --quiet -o s\nx = hp.float(0, 1)\nx\n")
    first = ip.user_ns["s"]
    r = run(ip, "%%optuna -n 2 --quiet -o s --resume\nx = hp.float(0, 1)\nx\n")
    assert r.success, r.error_in_exec
    assert ip.user_ns["s"] is first and len(first.trials) == 5


def test_n_jobs_threads(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 12 --n-jobs 3 --quiet\nimport threading, time\n"
        "x = hp.float(0, 1)\ntime.sleep(0.01)\ntrial.set_user_attr('t', "
        "threading.get_ident())\nx\n",
    )
    assert r.success, r.error_in_exec
    trials = ip.user_ns["study"].trials
    assert len(trials) == 12
    assert len({t.user_attrs["t"] for t in trials}) > 1


def test_catch_records_failures_and_goes_on(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 10 --catch --seed 0 --quiet\nx = hp.float(0, 1)\n"
        "if x > 0.5:\n    raise ValueError('too big')\nx\n",
    )
    assert r.success, r.error_in_exec
    states = {t.state.name for t in ip.user_ns["study"].trials}
    assert states == {"COMPLETE", "FAIL"} and len(ip.user_ns["study"].trials) == 10


def test_exception_stops_the_run_with_the_cells_traceback(ip: Any, capsys: Any) -> None:
    r = run(ip, "%%optuna -n 10 --quiet\nx = hp.float(0, 1)\nvalue = 1 / 0\nvalue\n")
    assert isinstance(r.error_in_exec, ZeroDivisionError)
    out = capsys.readouterr().out
    assert "value = 1 / 0" in out and "line 3" in out
    assert "_optimize.py" not in out  # Optuna's frames are not shown
    assert len(ip.user_ns["study"].trials) == 1


def test_nan_and_inf_are_recorded_as_optuna_does(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 2 --quiet --sampler random\nx = hp.float(0, 1)\n"
        "float('nan') if trial.number == 0 else float('inf')\n",
    )
    assert r.success, r.error_in_exec
    # Optuna fails a NaN trial and keeps an infinite value as a completed one.
    t0, t1 = ip.user_ns["study"].trials
    assert (t0.state.name, t0.value) == ("FAIL", None)
    assert (t1.state.name, t1.value) == ("COMPLETE", math.inf)


def test_dry_run_prints_space_and_runs_nothing(ip: Any, capsys: Any) -> None:
    r = run(
        ip,
        "%%optuna --dry-run -o dr\nn = hp.int(10, 100, step=10)\n"
        "lr = hp.float(1e-4, 1e-1, log=True)\nk = hp.choice(['a', 'b'])\nn\n",
    )
    assert r.success
    out = capsys.readouterr().out
    assert "int [10, 100] step 10" in out and "float [0.0001, 0.1] log" in out
    assert "choice ('a', 'b')" in out and "dr" not in ip.user_ns


def test_keep_best_binds_best_trials_variables(ip: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 10 --seed 1 --quiet --keep-best\nx = hp.float(-5, 5)\n"
        "model = {'x': x}\n(x - 1) ** 2\n",
    )
    assert r.success, r.error_in_exec
    assert ip.user_ns["model"]["x"] == ip.user_ns["study"].best_params["x"]
    assert ip.user_ns["x"] == ip.user_ns["study"].best_params["x"]


def test_quiet_prints_nothing(ip: Any, capsys: Any) -> None:
    run(ip, "%%optuna -n 3 --quiet\nx = hp.float(0, 1)\nx\n")
    assert capsys.readouterr().out == ""


def test_config_defaults(ip: Any) -> None:
    ip.run_line_magic("config", "OptunaMagics.n_trials = 7")
    ip.run_line_magic("config", "OptunaMagics.quiet = True")
    ip.run_line_magic("config", "OptunaMagics.sampler = 'random'")
    try:
        r = run(ip, "%%optuna\nx = hp.float(0, 1)\nx\n")
        assert r.success, r.error_in_exec
        assert len(ip.user_ns["study"].trials) == 7
        assert isinstance(ip.user_ns["study"].sampler, optuna.samplers.RandomSampler)
    finally:
        # %config writes to the shell's config, which every later OptunaMagics would read.
        del ip.config["OptunaMagics"]
        magics = ip.magics_manager.registry["OptunaMagics"]
        magics.n_trials, magics.quiet, magics.sampler = None, False, None


def test_background_wait_and_stop(ip: Any, capsys: Any) -> None:
    r = run(
        ip,
        "%%optuna -n 1000 --background -o bg\nimport time\nx = hp.float(0, 1)\n"
        "time.sleep(0.01)\nx\n",
    )
    assert r.success
    study = ip.user_ns["bg"]
    deadline = time.time() + 10
    while len(study.trials) < 3 and time.time() < deadline:
        time.sleep(0.02)
    ip.run_line_magic("optuna", "stop")
    n = len(study.trials)
    assert 3 <= n < 1000
    assert all(t.state.is_finished() for t in study.trials)
    time.sleep(0.1)
    assert len(study.trials) == n  # nothing runs after stop
    assert "stopped" in capsys.readouterr().out
    r = run(ip, "%%optuna -n 5 --background -o bg2 --quiet\nx = hp.float(0, 1)\nx\n")
    ip.run_line_magic("optuna", "wait")
    assert len(ip.user_ns["bg2"].trials) == 5


OPTION_ERRORS = [
    ("unknown option", "--bogus", "unrecognized arguments"),
    ("unknown sampler", "--sampler nope", "--sampler 'nope' is unknown"),
    ("unknown pruner", "--pruner nope", "--pruner 'nope' is unknown"),
    ("sampler variable of wrong type", "--sampler not_a_sampler", "not an Optuna sampler"),
    ("sampler positional args", '--sampler "tpe(5)"', "by keyword"),
    ("bad storage", "--storage nowhere", "neither a database URL"),
    ("both directions", "--direction maximize --directions minimize maximize", "not both"),
    ("zero trials", "-n 0", "at least 1"),
]


@pytest.mark.parametrize(
    ("opts", "message"), [e[1:] for e in OPTION_ERRORS], ids=[e[0] for e in OPTION_ERRORS]
)
def test_bad_options_are_refused_before_any_trial(ip: Any, opts: str, message: str) -> None:
    ip.user_ns["not_a_sampler"] = 3
    ip.user_ns["probe"] = []
    r = run(ip, f"%%optuna -n 3 --quiet -o never {opts}\nprobe.append(1)\nx = hp.float(0, 1)\nx\n")
    assert message in str(r.error_in_exec)
    assert ip.user_ns["probe"] == [] and "never" not in ip.user_ns


def test_directions_mismatch_static_and_at_first_trial(ip: Any) -> None:
    r = run(ip, "%%optuna -n 3 --quiet\na = hp.float(0, 1)\na, a\n")
    assert isinstance(r.error_in_exec, OptunaMagicError) and r.error_in_exec.line == 3
    r = run(
        ip,
        "%%optuna -n 3 --quiet --directions minimize maximize\n"
        "a = hp.float(0, 1)\nvals = [a]\nreturn vals\n",
    )
    err = r.error_in_exec
    assert isinstance(err, OptunaMagicError) and "--directions gives 2" in str(err)
    assert len(ip.user_ns["study"].trials) == 1  # stopped at the first trial


def test_dynamic_bounds_checked_at_first_reach(ip: Any) -> None:
    r = run(ip, "%%optuna -n 3 --quiet --catch\nn = 0\nk = hp.int(1, n)\nk\n")
    err = r.error_in_exec
    assert isinstance(err, OptunaMagicError) and err.line == 3 and "out of order" in str(err)
    assert len(ip.user_ns["study"].trials) == 1  # --catch does not hide a wrong space


def test_syntax_error_shows_cell_line(ip: Any) -> None:
    r = run(ip, "%%optuna -n 3\nx = hp.float(0, 1)\ny = (\n")
    assert isinstance(r.error_in_exec, SyntaxError) and r.error_in_exec.lineno == 3


def test_a_finished_run_frees_its_study_when_rebound(ip: Any) -> None:
    """No reference cycle through the run: rebinding `study` frees the old one at once (a cycle
    would keep every trial until a full garbage collection, ~0.1 s in a kernel)."""
    import gc
    import weakref

    cell = "%%optuna -n 5 --seed 1\nx = hp.float(0, 1)\nfor s in range(3):\n    report(x, s)\nx\n"
    assert run(ip, cell).success
    old = weakref.ref(ip.user_ns["study"])
    gc.disable()
    try:
        assert run(ip, cell).success
        assert old() is None
    finally:
        gc.enable()
