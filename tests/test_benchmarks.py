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


def test_bench_lm_and_bench_task_record_scores(tmp_path, monkeypatch):
    import json

    import bench_lm
    import bench_task
    import common

    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, n in (("train", 30), ("valid", 3), ("test", 3)):
        (corpus / f"c.{split}.txt").write_text("the cat sat on the mat\n" * n)
    config = tmp_path / "lm.toml"
    config.write_text(f'[model]\nhidden_size = 16\nembedding_dim = 8\n[data]\npath = "{corpus}"\n'
                      'tokenizer = "whitespace"\n[train]\nepochs = 2\nbatch_size = 4\n[lm]\nlevel = "word"\nnum_steps = 5\n')
    assert bench_lm.main(["--config", str(config), "--name", "lm_tiny", "--gen-length", "5"]) == 0
    record = json.loads((tmp_path / "results" / "lm_tiny.json").read_text())
    assert {"valid_ppl", "test_ppl"} <= set(record["scores_of_best_model"]) and record["git"]["commit"]
    assert set(record["samples"]) == {"greedy", "temperature_0.8_seed_0", "top_p_0.9_seed_0"}
    sine = Path(__file__).resolve().parents[1] / "benchmarks" / "configs" / "forecast_sine.toml"
    assert bench_task.main(["--task", "forecast", "--config", str(sine), "--name", "sine_tiny",
                            "--set", "train.epochs=2"]) == 0
    record = json.loads((tmp_path / "results" / "sine_tiny.json").read_text())
    assert record["task"] == "forecast" and record["epochs_run"] == 2 and "mse" in record["test"]
