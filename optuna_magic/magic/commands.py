"""The ``%optuna`` line commands: ``wait``, ``stop``, ``export``, ``watch`` and ``compare``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from optuna_magic.run.handle import RunHandle


class OptunaMagics(Protocol):
    """What the line commands use of the magics (``optuna_magic.magic.magics.OptunaMagics``)."""

    background: list[RunHandle]
    last_cell: tuple[str, str] | None
    shell: Any
    poll_interval: float
    widget: bool

    def optuna(self, line: str, cell: str | None = None) -> Any:
        """The magic itself: its argument parser is the options' parser."""


__all__ = ["compare", "export", "line_command", "report_background", "stop", "wait", "watch"]

_USAGE = (
    "use `%optuna wait` or `%optuna stop` for a --background run, "
    "`%optuna export [PATH] [--with-secrets]`, `%optuna compare STUDY STUDY [...]`, "
    "or `%%optuna` as a cell magic (see %%optuna?)"
)


def line_command(magics: OptunaMagics, line: str) -> Any:
    """Run the ``%optuna`` command that ``line`` names."""
    words = _words(line)
    cmd = words[0] if words else ""
    if cmd == "wait":
        return wait(magics)
    if cmd == "stop":
        return stop(magics)
    if cmd == "export":
        paths = [w for w in words[1:] if w != "--with-secrets"]
        if len(paths) > 1 or any(w.startswith("--") for w in paths):
            raise UsageError("%optuna export [PATH] [--with-secrets]")
        return export(magics, paths[0] if paths else None, "--with-secrets" in words)
    if cmd == "watch":
        return watch(magics, words[1:])
    if cmd == "compare":
        return compare(magics, words[1:])
    raise UsageError(f"%optuna {cmd!r} is not a command; {_USAGE}")


def wait(magics: OptunaMagics) -> None:
    """``%optuna wait``: wait for the background runs, then print their summaries."""
    for r in list(magics.background):
        r.wait()
    report_background(magics)


def stop(magics: OptunaMagics) -> None:
    """``%optuna stop``: ask the background runs to stop, wait for them, print their summaries."""
    for r in list(magics.background):
        r.request_stop()
    wait(magics)


def report_background(magics: OptunaMagics) -> None:
    """Print the summary of each finished background run and forget the finished ones."""
    from optuna_magic.outputs.text import format_summary

    if not magics.background:
        print("No background run.")
    for r in magics.background:
        if r.result is not None:
            print(format_summary(r.result))
    magics.background = [r for r in magics.background if r.running]


def export(magics: OptunaMagics, path: str | None, with_secrets: bool = False) -> None:
    """``%optuna export [PATH] [--with-secrets]``: the last cell as a plain Optuna script."""
    from optuna_magic.cell.export import export_script
    from optuna_magic.magic.options import CellOptions

    if magics.last_cell is None:
        raise UsageError("%optuna export: no %%optuna cell has run in this session yet")
    line, cell = magics.last_cell
    options = CellOptions.parse(line, magics.optuna, magics)
    shell = magics.shell
    assert shell is not None
    script = export_script(
        options, shell.transform_cell(cell), shell.user_ns, with_secrets=with_secrets
    )
    if path is None:
        print(script)
        return
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
    except OSError as e:
        raise UsageError(f"%optuna export: cannot write {path}: {e.strerror}") from None
    print(f"Wrote {path}: run it with `python {path}`.")


def watch(magics: OptunaMagics, words: list[str]) -> None:
    """``%optuna watch``: a live panel on a stored study; it runs in the background."""
    import argparse

    from optuna_magic.api import watch as watch_study
    from optuna_magic.study.factories import unquote

    parser = argparse.ArgumentParser(prog="%optuna watch", add_help=False, exit_on_error=False)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study-name", required=True)
    parser.add_argument("--idle", type=float, default=600.0)
    parser.add_argument("--interval", type=float, default=None)
    try:
        args = parser.parse_args(words)
    except (argparse.ArgumentError, SystemExit) as e:
        raise UsageError(
            f"%optuna watch --storage URL --study-name NAME [--idle S] [--interval S]: {e}"
        ) from None
    run = watch_study(
        unquote(args.storage),
        unquote(args.study_name),
        interval=args.interval or magics.poll_interval,
        idle_timeout=args.idle or None,
        panel=magics.widget,
    )
    magics.background = [r for r in magics.background if r.running] + [run]
    if magics.shell is not None and not hasattr(magics.shell, "kernel"):
        run.wait()  # a terminal has no live panel: follow it until idle or Ctrl-C


def compare(magics: OptunaMagics, names: list[str]) -> Any:
    """``%optuna compare a b [...]``: one panel over the studies these variables hold."""
    import optuna

    from optuna_magic.cell.space import OptunaMagicError
    from optuna_magic.outputs.panel.compare import compare_data, compare_panel, compare_text

    if len(names) < 2:
        raise UsageError("%optuna compare STUDY STUDY [...]: name two or more study variables")
    ns = magics.shell.user_ns if magics.shell is not None else {}
    studies = []
    for name in names:
        value = ns.get(name)
        if not isinstance(value, optuna.Study):
            kind = type(value).__name__
            held = "nothing" if name not in ns else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
            raise UsageError(f"%optuna compare: `{name}` holds {held}, not an Optuna study")
        studies.append(value)
    try:
        if magics.widget and magics.shell is not None and hasattr(magics.shell, "kernel"):
            return compare_panel(studies, names)
        print(compare_text(*compare_data(studies, names)))
    except OptunaMagicError as e:
        raise UsageError(f"%optuna compare: {e}") from None
    return None


def _words(line: str) -> list[str]:
    """The words of a ``%optuna`` line without their quotes (paths and names may hold spaces)."""
    from IPython.utils.process import arg_split  # type: ignore[attr-defined]

    from optuna_magic.study.factories import unquote

    try:
        return [unquote(w) for w in arg_split(line, posix=False)]
    except ValueError:
        raise UsageError("%optuna: a quote in the line is not closed") from None
