"""kill -9 at random moments of export, eval, predict and --save-vectors: every file they write
is afterwards the old one or a complete new one, never partial, and no temporary is left once
lstmkit writes there again."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import fake_mnist
from lstmkit.files import TMP_MARK

FIXTURES = Path(__file__).parent / "fixtures" / "runs_format2"


def _kill_at_random(argv: list[str], rng: random.Random, longest: float) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.2, longest))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _complete(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "lstmkit.cli", *argv], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-1000:]


def _whole_json(path: Path) -> None:
    json.loads(path.read_text())


def _whole_png(path: Path) -> None:
    from matplotlib.image import imread

    assert imread(str(path)).size > 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill-runs")
    for task in ("classify", "forecast", "image"):
        shutil.copytree(FIXTURES / task, root / task)
    fake_mnist(root / "mnist", n_train=40, n_test=300)
    return root


def test_kill_9_during_export_keeps_a_whole_export(runs) -> None:
    import torch

    target = runs / "model.pt2"
    argv = ["export", str(runs / "classify"), "--format", "pt2", "--output", str(target), "--force",
            "--length", "24"]                                 # a few seconds to export (T = 256: about 30 s)
    _complete(argv)
    rng = random.Random(1)
    for _ in range(3):
        _kill_at_random(argv, rng, 4.0)
        torch.export.load(str(target))                        # a whole program, old or new
        _whole_json(Path(str(target) + ".json"))
    _complete(argv)
    assert not [p.name for p in runs.iterdir() if TMP_MARK in p.name]


def test_kill_9_during_eval_keeps_whole_scores_and_plots(runs) -> None:
    argv = ["eval", str(runs / "image"), "--data", str(runs / "mnist")]
    _complete(argv)
    rng = random.Random(2)
    for _ in range(3):
        _kill_at_random(argv, rng, 7.0)
        _whole_json(runs / "image" / "eval.json")
        _whole_png(runs / "image" / "confusion.png")


def test_kill_9_during_predict_keeps_a_whole_forecast(runs) -> None:
    out = runs / "forecast.csv"
    argv = ["predict", str(runs / "forecast"), "--data", str(FIXTURES / "recent.csv"), "--output", str(out), "--force"]
    _complete(argv)
    expected = out.read_text()
    rng = random.Random(3)
    for _ in range(3):
        _kill_at_random(argv, rng, 6.0)
        assert out.read_text() == expected                     # the same forecast again, never a part of it


SAVE_VECTORS = """
import sys, torch
from lstmkit.data.vectors import save_vectors
from lstmkit.data.vocab import Vocab
vocab = Vocab(["w%d" % i for i in range(3000)])
for i in range(10**6):
    save_vectors(sys.argv[1], vocab, torch.full((len(vocab), 50), float(i)))
"""


def test_kill_9_during_save_vectors_keeps_whole_files(tmp_path) -> None:
    from gensim.models import KeyedVectors

    folder = tmp_path / "vectors"
    rng = random.Random(4)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", SAVE_VECTORS, str(folder)])
        deadline = time.monotonic() + 60
        while not (folder / "vectors.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        array = np.load(folder / "vectors.npy")
        assert array.shape[1] == 50 and len(set(array.ravel().tolist())) == 1    # one whole save
        assert len(json.loads((folder / "vectors.vocab.json").read_text())) == array.shape[0]
        assert KeyedVectors.load_word2vec_format(str(folder / "vectors.txt")).vector_size == 50


def test_predict_output_naming_no_file_is_refused_before_the_forecast(tmp_path, capsys):
    from lstmkit.cli import main

    run = tmp_path / "forecast"
    shutil.copytree(FIXTURES / "forecast", run)
    for bad, said in (("", "--output is empty ('')"), ("/proc/self/f.csv", "cannot write files in the folder")):
        assert main(["predict", str(run), "--data", str(FIXTURES / "recent.csv"), "--output", bad]) == 2
        assert said in capsys.readouterr().err
    assert not (run / "forecast.csv").exists()
