"""Two CPU processes (gloo, torchrun) end with the weights one process gets on the same global batches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import sentiment_jsonl
from lstmkit.cli import main


def _table(path, n, seed):
    return sentiment_jsonl(path, n, seed, max_words=12)


ARGS = ["--epochs", "2", "--embedding-dim", "8", "--no-progress", "--set", "model.hidden_size=8",
        "--set", "model.dropout=0.0", "--set", "data.min_freq=1", "--set", "train.batch_size=16",
        "--set", "train.lr=0.01"]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_two_gloo_processes_match_one(tmp_path):
    data = _table(tmp_path / "train.jsonl", 200, 0)
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    assert main(["train", "classify", "--data", str(data), "--run-dir", str(single), *ARGS]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "lstmkit.cli", "-q", "train", "classify", "--data", str(data), "--run-dir", str(ddp), *ARGS],
        capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = load_file(str(single / "last.safetensors")), load_file(str(ddp / "last.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5, msg=name)
    assert not any(p.name.startswith(".rank") for p in ddp.iterdir())
