"""Shared helpers for benchmarks: machine facts, interleaved timing, result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What ran the benchmark: CPU model, cores, threads, torch build."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    # BENCH_NOTE says what else shared the machine (e.g. a second one-thread run on the other core).
    if os.environ.get("BENCH_NOTE"):
        info["note"] = os.environ["BENCH_NOTE"]
    return info


def interleaved(fns: dict[str, Callable[[], None]], repeats: int, warmup: int = 1,
                sync: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    """Time each function ``repeats`` times, round-robin so drift hits all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
            sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def git_revision() -> dict:
    """The commit the benchmark ran from, and whether the tree had uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


_STARTED = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "git": git_revision(),
            "load_average_1m": os.getloadavg()[0]}


def write_result(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/NAME.json`` with the command, the machine, the date and the
    commit; date and commit are taken when the benchmark started (this module's import), so a
    long run records the code it ran, not what was committed while it ran."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "started": _STARTED["date"],
        "machine": {**machine(), "load_average_1m_at_start": _STARTED["load_average_1m"]},
        "git": _STARTED["git"],
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
