"""The benchmark harness runs (tiny config, one repeat), so it does not rot between runs."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_rnn  # noqa: E402
import torch  # noqa: E402


def test_bench_rnn_measures_every_method():
    cfg = bench_rnn.Config("tiny", 4, 8, 2, True, 3, 6, repeats=1)
    result = bench_rnn.bench_config(cfg, torch.device("cpu"), repeats=1)
    methods = {"torch", "native", "reference", "tutorial", "torch_packed_unequal", "native_lengths_unequal"}
    assert set(result["train"]["median_s"]) == methods
    assert all(v > 0 for v in result["train"]["median_s"].values())
    assert result["train"]["ratio_to_torch"]["torch"] == 1.0
    checks = bench_rnn.check_targets({"a": result})
    assert set(checks) == {"a/native<= 1.05x", "a/reference<= 4.0x", "a/lengths_unequal_over_equal<= 1.1"}


def test_tutorial_lstm_shapes():
    from baselines import TutorialLSTM

    out = TutorialLSTM(4, 8, num_layers=2, bidirectional=True)(torch.randn(3, 5, 4))
    assert out.shape == (3, 5, 16)
