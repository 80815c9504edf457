"""The shared workspace of the bad-input table and the tests that reuse its runs: small data
files of every task and one tiny trained run per task (``build_workspace``)."""

from __future__ import annotations

import contextlib
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from lstmkit.cli import main

TASKS = ("lm", "classify", "tag", "forecast", "image")


@dataclass
class Workspace:
    root: Path
    data: dict[str, Path]              # task -> its small training data
    runs: dict[str, Path]              # task -> a trained run directory (never modified by a case)


def write_sine_series(path: Path, rows: int) -> Path:
    """An hourly CSV of date, OT = sin(i/4) and x = cos(i/4): a forecaster's small real-looking data."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "OT", "x"])
        for i in range(rows):
            w.writerow([f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00", math.sin(i / 4), math.cos(i / 4)])
    return path


def _write_data(root: Path) -> dict[str, Path]:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import TINY_TEXT, fake_mnist

    root.mkdir(parents=True, exist_ok=True)
    lm = root / "tiny.txt"
    lm.write_text(TINY_TEXT, encoding="utf-8")
    table = root / "table.csv"
    rows = ["text,label"] + [f"the film was {'great' if i % 2 else 'dull'} {i % 5},{'pos' if i % 2 else 'neg'}"
                             for i in range(60)]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tags = root / "tags.txt"
    tags.write_text("\n".join(["the/DET cat/NOUN runs/VERB", "a/DET dog/NOUN sees/VERB the/DET bird/NOUN"] * 20) + "\n")
    series = write_sine_series(root / "series.csv", 200)
    mnist = fake_mnist(root / "mnist", n_train=60, n_test=20)
    return {"lm": lm, "classify": table, "tag": tags, "forecast": series, "image": mnist}


TRAIN_FLAGS = {
    "lm": ["--set", "lm.num_steps=16", "--set", "model.embedding_dim=8", "--set", "train.batch_size=4"],
    "classify": ["--set", "data.min_freq=1", "--set", "model.embedding_dim=8", "--set", "train.batch_size=16"],
    "tag": ["--set", "model.embedding_dim=8", "--set", "train.batch_size=8"],
    "forecast": ["--target", "OT", "--input-len", "8", "--horizon", "2"],
    "image": ["--set", "image.valid_size=10"],
}


def build_workspace(root: Path) -> Workspace:
    data = _write_data(root / "data")
    runs = {}
    for task in TASKS:
        run = root / "runs" / task
        argv = ["train", task, "--data", str(data[task]), "--run-dir", str(run), "--epochs", "1", "--no-progress",
                "-q", "--set", "model.hidden_size=8", *TRAIN_FLAGS[task]]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 0, argv
        runs[task] = run
    return Workspace(root, data, runs)
