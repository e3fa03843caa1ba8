"""``make bench``: what the magic and its panel cost, measured side by side in one run.

Prints each figure as ``name: value unit (target)``, writes ``BENCHMARKS.md`` (the table and the
machine), and exits 1 when a target is missed (2 when a benchmark could not run).

    .venv/bin/python benchmarks/run.py                 # everything (about 8-12 minutes, 2 cores)
    .venv/bin/python benchmarks/run.py --only kernel   # kernel|browser|size|parallel|views|
                                                       # million|instructions
    .venv/bin/python benchmarks/run.py --quick         # smaller studies, a smoke run
    .venv/bin/python benchmarks/run.py --only million --million 100000   # fewer trials

The ``views`` suite (every view at 3,000 and 50,000 trials, stalls in a live run) and the
``million`` suite (1,000,000 trials with the page open, plain Optuna beside it) add about
10-20 minutes to the full run (an estimate from runs under load). The ``instructions`` suite
counts with valgrind what the runner, the cell's objective and the panel add to a trial of plain
Optuna (5-7 minutes under load; it fails where valgrind is missing).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _figures import Results  # noqa: E402
from _machine import machine  # noqa: E402

REPO = HERE.parent
SUITES = ("kernel", "browser", "size", "parallel", "views", "million", "instructions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SUITES), help=",".join(SUITES))
    parser.add_argument("--quick", action="store_true", help="smaller studies (a smoke run)")
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="report file")
    parser.add_argument("--no-write", action="store_true", help="do not write the report")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the sections this run measures in an existing report",
    )
    parser.add_argument(
        "--million",
        type=int,
        default=None,
        help="trials of the million suite (default 1,000,000; 20,000 with --quick)",
    )
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    results = Results()
    started = time.monotonic()
    _compile_package()
    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    for suite in only:
        if suite not in SUITES:
            parser.error(f"unknown suite {suite!r} (choose from {', '.join(SUITES)})")
        t0 = time.monotonic()
        try:
            if suite == "kernel":
                import bench_kernel

                bench_kernel.run(results, quick=args.quick)
            elif suite == "browser":
                import bench_browser

                bench_browser.run(results, quick=args.quick)
            elif suite == "size":
                import bench_size

                bench_size.run(results, quick=args.quick)
            elif suite == "parallel":
                import bench_parallel

                bench_parallel.run(results, quick=args.quick)
            elif suite == "views":
                import bench_views

                bench_views.run(results, quick=args.quick)
            elif suite == "million":
                import bench_million

                bench_million.run(results, quick=args.quick, trials=args.million)
            elif suite == "instructions":
                import bench_instructions

                bench_instructions.run(results, quick=args.quick)
        except Exception:
            text = traceback.format_exc()
            results.errors.append(f"{suite}: {text}")
            print(f"ERROR in {suite} benchmarks:\n{text}", file=sys.stderr, flush=True)
        print(f"  ({suite} benchmarks took {time.monotonic() - t0:.0f} s)", flush=True)
    elapsed = time.monotonic() - started
    print(f"total: {elapsed:.0f} s", flush=True)
    if not args.no_write:
        from _report import write_report

        write_report(
            Path(args.out),
            results,
            info,
            elapsed,
            quick=args.quick,
            suites=only,
            merge=args.merge,
        )
        print(f"wrote {args.out}")
    missed = results.missed
    if missed:
        print(f"{len(missed)} target(s) missed:", file=sys.stderr)
        for f in missed:
            print(f"  {f.text()}", file=sys.stderr)
    if results.errors:
        return 2
    return 1 if missed else 0


def _compile_package() -> None:
    """Write the package's bytecode, as installing its wheel does (pip compiles what it installs).

    An editable install has none until an import writes it, and an environment that sets
    PYTHONDONTWRITEBYTECODE (this machine's does) never writes it: every kernel of the benchmark
    would then compile the package's modules from source on first use, which a user's kernel
    does not (measured here: ~0.19 s of compile in a kernel's first ``%%optuna`` cell).
    """
    import compileall

    compileall.compile_dir(str(REPO / "optuna_magic"), quiet=1)


if __name__ == "__main__":
    sys.exit(main())
