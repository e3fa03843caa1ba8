"""The machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def chromium_version() -> str:
    exe = os.environ.get("OPTUNA_MAGIC_CHROMIUM", "/usr/bin/chromium")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "not installed"


def machine() -> dict[str, str]:
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return {
        "CPU": _cpu_model(),
        "cores": str(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "RAM": _ram(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "optuna": _version("optuna"),
        "ipykernel": _version("ipykernel"),
        "jupyterlab": _version("jupyterlab"),
        "anywidget": _version("anywidget"),
        "chromium": chromium_version(),
        "load average at start": load,
    }
