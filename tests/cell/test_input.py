"""Input: what Optuna accepts is accepted, what the cell shows is refused before trial 0, and
every refusal is an OptunaMagicError or UsageError in our words (issue 12, point 5)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import optuna
import pytest
from IPython.core.error import UsageError

from optuna_magic import OptunaMagicError
from optuna_magic.cell.parse import parse_cell


class Model:
    """A class a user might offer as a choice (an estimator)."""


def parse(code: str, **ns: object) -> Any:
    return parse_cell(code, "<cell>", line_offset=1, namespace=ns, magic_line="%%optuna")


NS: dict[str, Any] = {
    "OPTS": [{"a": 1}],
    "OBJS": [object()],
    "Model": Model,
    "BIG": 10**400,
    "helper": lambda h: 0,
}

# (id, cell body, cell line, fragment of the message)
REFUSED_CELLS = [
    ("name is an int", "x = hp.int(1, 3, name=123)\nx", 2, "name= must be a string, got 123"),
    ("same keyword twice", "f(a=hp.int(1, 3))\ng(a=hp.int(1, 3))\n0", 3, "declared twice"),
    (
        "same name twice in a def",
        "def m():\n    a = hp.int(1, 3)\n    b = hp.int(1, 3, name='a')\n    return a\nm()",
        4,
        "line 3 and line 4",
    ),
    ("dict choice", "x = hp.choice([{'a': 1}])\n0", 2, "{'a': 1} is a dict"),
    ("object choice", "x = hp.choice([object()])\n0", 2, "object() makes an object"),
    ("class instance choice", "x = hp.choice([Model(), 'b'])\n0", 2, "Model() makes a Model"),
    ("variable holding dicts", "x = hp.choice(OPTS)\n0", 2, "is a dict"),
    ("variable holding objects", "x = hp.choice(OBJS)\n0", 2, "is a object"),
    ("hp assigned", "hp = 3\nx = 1\nx", 2, "assigns `hp`"),
    ("hp imported", "from math import pi as hp\n0", 2, "assigns `hp`"),
    ("hp as an argument", "def f(hp):\n    return 1\nf(1)", 2, "assigns `hp`"),
    ("hp as a loop target", "for hp in range(3):\n    pass\n0", 2, "assigns `hp`"),
    ("alias of hp.int", "f = hp.int\nx = f(1, 3)\nx", 2, "only as hp.int(...)"),
    ("alias of hp", "h = hp\nx = h.int(1, 3)\nx", 2, "only as hp.int(...)"),
    ("getattr on hp", "x = getattr(hp, 'int')(1, 3)\nx", 2, "only as hp.int(...)"),
    ("hp passed on", "x = helper(hp)\nx", 2, "trial.suggest_"),
    (
        "line magic",
        "get_ipython().run_line_magic('time', 'y = 1')\nx = hp.int(1, 3)\nx",
        2,
        "%time y = 1",
    ),
    ("shell command", "get_ipython().system('ls')\n0", 2, "!ls"),
    ("int step over the range", "x = hp.int(1, 3, step=5)\nx", 2, "larger than the range"),
    ("float step over the range", "x = hp.float(0, 1, step=2)\nx", 2, "larger than the range"),
    ("int bound too large", "x = hp.int(0, 10**400)\nx", 2, "too large"),
    ("float bound too large", "x = hp.float(0, BIG)\nx", 2, "too large"),
]


@pytest.mark.parametrize(
    ("code", "line", "fragment"),
    [c[1:] for c in REFUSED_CELLS],
    ids=[c[0] for c in REFUSED_CELLS],
)
def test_what_the_cell_shows_is_refused_with_its_line(code: str, line: int, fragment: str) -> None:
    with pytest.raises(OptunaMagicError) as info:
        parse(code, **NS)
    assert info.value.line == line
    assert fragment in str(info.value)


ACCEPTED_CELLS = [
    ("same name in if and else", "if c:\n    a = hp.int(1, 3)\nelse:\n    a = hp.int(1, 3)\na"),
    (
        "same name in a conditional expression",
        "a = hp.int(1, 3, name='a') if c else hp.int(1, 3, name='a')\na",
    ),
    (
        "same name in two functions",
        "def f():\n    a = hp.int(1, 3)\ndef g():\n    a = hp.int(1, 3)\n0",
    ),
    (
        "same name after a try that may stop early",
        "try:\n    risky()\n    a = hp.int(1, 3)\nexcept ValueError:\n    pass\n"
        "b = hp.int(1, 3, name='a')\nb",
    ),
    ("step equal to the range", "x = hp.int(1, 3, step=2)\ny = hp.float(0, 1, step=1)\nx"),
    ("str subclass choice", "x = hp.choice([Name('a')])\n0"),
    ("hp is free in a def objective cell", "hp = {'lr': 0.1}\ndef objective(trial):\n    return 1"),
]


@pytest.mark.parametrize("code", [c[1] for c in ACCEPTED_CELLS], ids=[c[0] for c in ACCEPTED_CELLS])
def test_what_optuna_accepts_is_accepted(code: str) -> None:
    class Name(str):
        pass

    parsed = parse(code, Name=Name)
    # Accepted: the search space is there to show (what --dry-run prints), no refusal.
    assert isinstance(parsed.space.table(), str)


def test_name_none_is_the_default_and_infers_the_name() -> None:
    assert [d.name for d in parse("x = hp.int(1, 3, name=None)\nx").declarations] == ["x"]


def test_numpy_bounds_and_choices_from_globals_become_python_values() -> None:
    cell = parse(
        "x = hp.int(LOW, HIGH, step=STEP)\ny = hp.float(FLO, 1.0)\nc = hp.choice(CHOICES)\nx",
        LOW=np.int64(1),
        HIGH=np.int32(10),
        STEP=np.int64(3),
        FLO=np.float32(0.5),
        CHOICES=[np.int64(1), np.str_("a"), np.float64(0.5), np.bool_(True), None],
    )
    ints, floats, choices = (d.static_args for d in cell.declarations)
    assert ints == {"low": 1, "high": 10, "step": 3, "log": False}
    assert [type(v) for v in (ints["low"], ints["high"], ints["step"])] == [int, int, int]
    assert floats is not None and type(floats["low"]) is float
    assert choices is not None
    assert [type(c) for c in choices["choices"]] == [int, str, float, bool, type(None)]


def test_a_name_the_cell_binds_is_not_read_from_the_namespace() -> None:
    # The cell's N = 5 wins over the user's N = 100 at run time: no check on the stale value.
    cell = parse("N = 5\nx = hp.int(1, N)\nx", N=100)
    assert cell.declarations[0].static_args is None


# ------------------------------------------------------------ through the shell
@pytest.fixture
def tmp(tmp_path: Any) -> Any:
    (tmp_path / "folder.log").mkdir()
    (tmp_path / "garbage.log").write_text("not a journal\n{{{\n")
    return tmp_path


# (id, options, cell body, fragment of the message); {tmp} is a fresh folder.
REFUSALS = [
    ("timeout nan", "--timeout nan", "x = hp.int(1, 3)\nx", "--timeout must be"),
    ("timeout inf", "--timeout inf", "x = hp.int(1, 3)\nx", "--timeout must be"),
    ("timeout negative", "--timeout -1", "x = hp.int(1, 3)\nx", "--timeout must be"),
    ("zero trials", "-n 0", "x = hp.int(1, 3)\nx", "at least 1"),
    ("name is an int", "", "x = hp.int(1, 3, name=123)\nx", "name= must be a string"),
    ("same name twice", "", "f(a=hp.int(1, 3))\nf(a=hp.int(1, 3))\n0", "declared twice"),
    ("dict choice", "", "x = hp.choice([{'a': 1}])\n0", "is a dict"),
    ("object choice", "", "x = hp.choice([object()])\n0", "makes an object"),
    ("hp rebound", "", "hp = None\nx = 1\nx", "assigns `hp`"),
    ("alias of hp.int", "", "f = hp.int\nx = f(1, 3)\nx", "only as hp.int(...)"),
    ("alias of hp", "", "h = hp\nx = h.int(1, 3)\nx", "only as hp.int(...)"),
    ("getattr on hp", "", "x = getattr(hp, 'int')(1, 3)\nx", "only as hp.int(...)"),
    ("%time line", "", "%time y = 1\nx = hp.int(1, 3)\nx", "%time y = 1"),
    ("%time declaration", "", "%time x = hp.int(1, 3)\nx", "%time x = hp.int(1, 3)"),
    ("%timeit line", "", "%timeit z = 1\nx = hp.int(1, 3)\nx", "%timeit z = 1"),
    ("shell escape", "", "!echo hi\nx = hp.int(1, 3)\nx", "!echo hi"),
    ("int step over the range", "", "x = hp.int(1, 3, step=5)\nx", "larger than the range"),
    ("float step over the range", "", "x = hp.float(0, 1, step=2)\nx", "larger than"),
    ("int bound too large", "", "x = hp.int(0, 10**400)\nx", "too large"),
    ("float bound too large", "", "x = hp.float(0, 10**400)\nx", "too large"),
    ("sampler variable and seed", "--sampler my_sampler --seed 3", "x = hp.int(1, 3)\nx", "seed="),
    (
        "pruner constructor refuses",
        '--pruner "percentile(percentile=200)"',
        "x = hp.int(1, 3)\nx",
        "--pruner percentile(percentile=200): Percentile must be between 0 and 100",
    ),
    ("unknown database", "--storage foo://x", "x = hp.int(1, 3)\nx", "no database driver"),
    (
        "sqlite in a missing folder",
        "--storage sqlite:///{tmp}/missing/x.db",
        "x = hp.int(1, 3)\nx",
        "does not exist",
    ),
    ("sqlite on a folder", "--storage sqlite:///{tmp}", "x = hp.int(1, 3)\nx", "is a folder"),
    ("journal on a folder", "--storage journal:{tmp}", "x = hp.int(1, 3)\nx", "is a folder"),
    ("journal .log folder", "--storage {tmp}/folder.log", "x = hp.int(1, 3)\nx", "is a folder"),
    (
        "journal of garbage",
        "--storage {tmp}/garbage.log",
        "x = hp.int(1, 3)\nx",
        "is not an Optuna journal",
    ),
    (
        "journal in a missing folder",
        "--storage journal:{tmp}/missing/x.log",
        "x = hp.int(1, 3)\nx",
        "does not exist",
    ),
]


@pytest.mark.parametrize(
    ("opts", "body", "fragment"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_through_the_shell_change_nothing(
    ip: Any, tmp: Any, opts: str, body: str, fragment: str
) -> None:
    ip.user_ns.update(res="untouched", probe=[], my_sampler=optuna.samplers.RandomSampler())
    before = sorted(os.listdir(tmp))
    line = f"-n 3 --quiet -o res --study-name s {opts.format(tmp=tmp)}"
    with pytest.raises((OptunaMagicError, UsageError)) as info:
        ip.run_cell_magic("optuna", line, "probe.append(1)\n" + body)
    assert fragment in str(info.value)
    assert ip.user_ns["res"] == "untouched" and ip.user_ns["probe"] == []
    assert sorted(os.listdir(tmp)) == before  # no storage file created
    assert (tmp / "garbage.log").read_text() == "not a journal\n{{{\n"


def test_numpy_values_run_and_are_stored_as_python_values(ip: Any, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/np.db"
    ip.run_cell("import numpy as np\nHIGH = np.int64(10)\nCH = [np.int64(1), np.str_('a')]")
    ip.run_cell_magic(
        "optuna",
        f"-n 4 --quiet --storage {url} --study-name np",
        "x = hp.int(1, np.int64(10))\ny = hp.float(np.float32(0.5), 1.0, step=np.float64(0.25))\n"
        "c = hp.choice([np.int64(1), np.str_('a')])\nk = hp.int(1, HIGH)\nd = hp.choice(CH)\n"
        "float(x)",
    )
    stored = optuna.load_study(study_name="np", storage=url)
    assert [t.state.name for t in stored.trials] == ["COMPLETE"] * 4
    for t in stored.trials:
        assert {type(v) for v in (t.params["x"], t.params["k"])} == {int}
        assert type(t.params["y"]) is float
        assert type(t.params["c"]) in (int, str) and type(t.params["d"]) in (int, str)


def test_an_indirect_hp_call_at_run_time_is_refused_in_our_words(ip: Any) -> None:
    # eval hides the call from the syntax tree; the trial must still refuse it by name.
    ip.user_ns["res"] = "untouched"
    with pytest.raises(OptunaMagicError, match=r"hp\.int was called without"):
        ip.run_cell_magic("optuna", "-n 3 --quiet", "x = eval('hp.int(1, 3)')\nx")


def test_string_options_are_unquoted(ip: Any, tmp_path: Any) -> None:
    journal = tmp_path / "q.log"
    ip.run_cell_magic(
        "optuna",
        f'-n 2 --quiet --study-name "my study" -o "res" --storage "journal:{journal}" '
        "--sampler 'random'",
        "x = hp.int(1, 3)\nx",
    )
    study = ip.user_ns["res"]
    assert study.study_name == "my study"
    assert isinstance(study.sampler, optuna.samplers.RandomSampler)
    stored = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(f"{journal}")
    )
    assert [s.study_name for s in optuna.get_all_study_summaries(stored)] == ["my study"]


def test_dollar_and_brace_expand_in_the_shell(ip: Any) -> None:
    ip.user_ns["MYNAME"] = "shell"
    ip.run_cell("%%optuna -n 1 --quiet --study-name $MYNAME\nx = hp.int(1, 3)\nx")
    ip.run_cell('%%optuna -n 1 --quiet -o s2 --study-name "{MYNAME}_x"\nx = hp.int(1, 3)\nx')
    assert ip.user_ns["study"].study_name == "shell"
    assert ip.user_ns["s2"].study_name == "shell_x"


def test_export_to_a_missing_folder_is_refused(ip: Any, tmp_path: Any) -> None:
    ip.run_cell_magic("optuna", "--dry-run", "x = hp.int(1, 3)\nx")
    with pytest.raises(UsageError, match="cannot write"):
        ip.run_line_magic("optuna", f"export {tmp_path}/missing/x.py")
    ip.run_line_magic("optuna", f'export "{tmp_path}/my script.py"')
    assert (tmp_path / "my script.py").read_text().startswith(("#", "import", '"""'))


def test_watch_takes_quoted_values(ip: Any, tmp_path: Any, capsys: Any) -> None:
    journal = f"journal:{tmp_path}/w.log"
    ip.run_cell_magic(
        "optuna",
        f'-n 1 --quiet --storage {journal} --study-name "two words"',
        "x = hp.int(1, 3)\nx",
    )
    ip.run_line_magic("optuna", f'watch --storage "{journal}" --study-name "two words" --idle 0.2')
    assert "'two words'" in capsys.readouterr().out


@pytest.mark.kernel
def test_dollar_and_brace_expand_in_a_kernel_as_in_the_shell() -> None:
    """In a kernel the cell becomes an awaited call that IPython's var_expand never sees."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(s)
        for s in (
            "%load_ext optuna_magic\n%config OptunaMagics.widget = False\nMYNAME = 'kern'",
            "%%optuna -n 1 --quiet --study-name $MYNAME\nx = hp.int(1, 3)\nx",
            '%%optuna -n 1 --quiet -o s2 --study-name "{MYNAME}_x"\nx = hp.int(1, 3)\nx',
            "print(study.study_name, s2.study_name)",
            "%%optuna -n 2 --quiet -o s3\n%time y = 1\nx = hp.int(1, 3)\nx",
            "print('s3' in globals())",
        )
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    assert nb.cells[3].outputs[0].text.strip() == "kern kern_x"
    (err,) = [o for o in nb.cells[4].outputs if o.output_type == "error"]
    assert err.ename == "OptunaMagicError" and "`%time y = 1` is IPython syntax" in err.evalue
    assert nb.cells[5].outputs[0].text.strip() == "False"
