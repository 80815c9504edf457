"""The one recipe, for every task: exact resume, kill -9, bf16 fallback, data parallelism,
refused settings and divergence."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY_TEXT, fake_mnist, sentiment_jsonl
from lstmkit.cli import main
from lstmkit.config import apply_overrides
from lstmkit.errors import ConfigError
from lstmkit.tasks import get_task
from lstmkit.training.recipe import fit
from lstmkit.training.trainer import DivergenceError

TASKS = ["lm", "classify", "tag", "forecast", "sine", "image"]


def _classify_file(path):
    return sentiment_jsonl(path, 160, 0, max_words=10)


def _tag_file(path):
    rng = random.Random(0)
    lines = []
    for _ in range(120):
        pairs = [(rng.choice(["the", "a"]), "DET"), (rng.choice(["cat", "dog", "fish"]), "NOUN"),
                 (rng.choice(["runs", "eats"]), "VERB")]
        lines.append(" ".join(f"{w}/{t}" for w, t in pairs))
    path.write_text("\n".join(lines) + "\n")
    return path


def _series_file(path, n=300):
    rows = ["date,load,temp"] + [f"2020-01-{1 + i // 24:02d} {i % 24:02d}:00:00,{10 + 3 * math.sin(i / 4):.4f},"
                                 f"{5 + math.cos(i / 4):.4f}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


def task_args(name: str, tmp_path) -> tuple[str, list[str]]:
    """(task, --set overrides) for a tiny run of each task with dropout on."""
    small = ["model.hidden_size=8", "train.epochs=4", "train.lr=0.01"]
    if name == "lm":
        text = tmp_path / "t.txt"
        text.write_text(TINY_TEXT)
        return "lm", [f"data.path={text}", "model.embedding_dim=8", "model.num_layers=2", "model.dropout=0.3",
                      "train.batch_size=4", "lm.num_steps=10", *small]
    if name == "classify":
        return "classify", [f"data.path={_classify_file(tmp_path / 'c.jsonl')}", "model.embedding_dim=8",
                            "data.min_freq=1", "train.batch_size=16", "train.patience=0", *small]
    if name == "tag":
        return "tag", [f"data.path={_tag_file(tmp_path / 't.txt')}", "model.embedding_dim=8", "data.min_freq=1",
                       "tag.char_embedding_dim=4", "tag.char_hidden_size=4", "train.batch_size=16",
                       "train.patience=0", *small]
    if name == "forecast":
        return "forecast", [f"data.path={_series_file(tmp_path / 's.csv')}", "forecast.input_len=12",
                            "forecast.horizon=3", "model.num_layers=2", "model.dropout=0.2", "train.patience=0", *small]
    if name == "sine":
        return "forecast", ["data.path=sine", "forecast.stateful=true", "forecast.input_len=50", *small]
    folder = fake_mnist(tmp_path / "m", n_train=120, n_test=20)
    return "image", [f"data.path={folder}", "image.valid_size=20", "model.num_layers=2", "model.dropout=0.2",
                     "train.batch_size=32", *small]


def _cfg(name, tmp_path, *extra):
    task, overrides = task_args(name, tmp_path)
    return apply_overrides(get_task(task).defaults, [*overrides, *extra])


def _same_weights(a_dir, b_dir):
    a, b = load_file(str(a_dir / "last.safetensors")), load_file(str(b_dir / "last.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("name", TASKS)
def test_two_epochs_then_resume_to_four_equals_four_epochs(name, tmp_path):
    """Dropout on: without the saved RNG states the resumed run would draw other masks."""
    full = fit(_cfg(name, tmp_path), tmp_path / "full")
    fit(_cfg(name, tmp_path, "train.epochs=2"), tmp_path / "split")
    resumed = fit(_cfg(name, tmp_path), tmp_path / "split", resume=True)
    assert [m["epoch"] for m in resumed.history] == [1, 2, 3, 4]
    _same_weights(tmp_path / "full", tmp_path / "split")
    assert [m["train_loss"] for m in resumed.history] == [m["train_loss"] for m in full.history]


def test_resume_of_a_finished_run_asks_for_more_epochs(tmp_path):
    fit(_cfg("forecast", tmp_path, "train.epochs=1"), tmp_path / "run")
    with pytest.raises(ConfigError, match="already trained 1 epochs; pass a larger --epochs"):
        fit(_cfg("forecast", tmp_path, "train.epochs=1"), tmp_path / "run", resume=True)


@pytest.mark.parametrize("name", TASKS)
def test_kill_9_mid_training_then_resume_reaches_the_uninterrupted_weights(name, tmp_path):
    task, overrides = task_args(name, tmp_path)
    overrides = [o for o in overrides if not o.startswith("train.epochs")] + ["train.epochs=40"]
    args = ["-q", "train", task, "--no-progress", *sum((["--set", o] for o in overrides), [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", *args, "--run-dir", str(tmp_path / "killed")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = tmp_path / "killed" / "train_state.safetensors"
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(random.Random(name).uniform(0.0, 0.3))       # somewhere inside a later epoch or a save
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert state.exists(), proc.stderr.read().decode()[-2000:]
    done = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    target = min(len(done) + 1, 40)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)               # as the killed process ran: reductions over 2 threads round otherwise
    try:
        assert main(["-q", "train", task, "--resume", "--epochs", str(target), "--no-progress",
                     "--run-dir", str(tmp_path / "killed")]) == 0
        assert main(["-q", *args[1:], "--set", f"train.epochs={target}", "--run-dir", str(tmp_path / "straight")]) == 0
    finally:
        torch.set_num_threads(threads)
    _same_weights(tmp_path / "straight", tmp_path / "killed")


@pytest.mark.parametrize("name", ["lm", "classify", "tag", "forecast", "image"])
def test_bf16_trains_every_task_where_the_cpu_lacks_bf16_recurrent_kernels(name, tmp_path, monkeypatch):
    """The fallback runs the recurrent layers in float32 inside the bf16 region, never crashes."""
    from lstmkit.nn import LSTM, precision

    monkeypatch.setattr(precision, "cpu_bf16_rnn_supported", lambda: False)
    result = fit(_cfg(name, tmp_path, "train.bf16=true", "train.epochs=2"), tmp_path / "run")
    assert all(math.isfinite(m["train_loss"]) for m in result.history)
    layer = LSTM(3, 4, batch_first=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = layer(torch.randn(2, 5, 3))
        assert out.dtype == torch.float32
        assert torch.nn.Linear(4, 2)(out).dtype == torch.bfloat16      # the layers around it stay bf16


def test_values_a_task_does_not_use_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"tag\.crf=True is not used by task lm"):
        fit(_cfg("lm", tmp_path, "tag.crf=true"), tmp_path / "run")
    with pytest.raises(ConfigError, match=r"vectors\.path='g\.txt' is not used by task forecast"):
        fit(_cfg("forecast", tmp_path, "vectors.path=g.txt"), tmp_path / "run")
    with pytest.raises(ConfigError, match="forecast.stateful .* works with --data sine only"):
        fit(_cfg("forecast", tmp_path, "forecast.stateful=true"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_diverging_run_stops_with_the_epoch_and_the_fix(tmp_path, capsys):
    task, overrides = task_args("classify", tmp_path)
    args = ["train", task, "--no-progress", "--run-dir", str(tmp_path / "run"),
            *sum((["--set", o] for o in overrides), []), "--set", "train.lr=1e6", "--set", "train.clip_norm=0"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "lstmkit: error:" in err and "epoch 1" in err and "lower train.lr" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model.safetensors").exists()      # nothing diverged was kept as best


def test_summary_names_the_metric_that_chose_the_best_epoch(tmp_path):
    result = fit(_cfg("tag", tmp_path), tmp_path / "run")
    best = max(result.history, key=lambda m: m["valid_acc"])
    assert f"by highest valid accuracy: valid accuracy {100 * best['valid_acc']:.2f}%" in result.summary()
    assert result.best["epoch"] == best["epoch"]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
@pytest.mark.parametrize("name", ["lm", "tag"])
def test_two_gloo_processes_equal_one_process(name, tmp_path):
    """The same global batches: rank r trains rows r::2 and the gradients are averaged by count."""
    task, overrides = task_args(name, tmp_path)
    overrides = [o for o in overrides if "dropout" not in o and "epochs" not in o]
    overrides += ["model.dropout=0.0", "train.epochs=2"]
    args = [task, "--no-progress", *sum((["--set", o] for o in overrides), [])]
    assert main(["-q", "train", *args, "--run-dir", str(tmp_path / "single")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                             "-m", "lstmkit.cli", "-q", "train", *args, "--run-dir", str(tmp_path / "ddp")],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = load_file(str(tmp_path / "single" / "last.safetensors")), load_file(str(tmp_path / "ddp" / "last.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


def test_validating_on_the_training_file_warns(tmp_path, capsys):
    """Found by a tester: --valid-data equal to --data trained without a word."""
    train = _classify_file(tmp_path / "train.jsonl")
    link = tmp_path / "same.jsonl"
    link.symlink_to(train)                                        # the same file under another name
    main(["train", "classify", "--data", str(train), "--valid-data", str(link), "--epochs", "1",
          "--run-dir", str(tmp_path / "run"), "--set", "model.hidden_size=8"])
    assert "data.valid_path (--valid-data) is the training data" in capsys.readouterr().err


def test_resume_refuses_data_that_changed(tmp_path, capsys):
    """Found by a tester: labels renamed in the data file relabelled the trained model on
    --resume; labels flipped trained on the opposite, without a word."""
    data = _classify_file(tmp_path / "d.jsonl")
    run = tmp_path / "run"
    assert main(["train", "classify", "--data", str(data), "--epochs", "1", "--run-dir", str(run),
                 "--set", "model.hidden_size=8"]) == 0
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    for row in rows:
        row["label"] = {"pos": "neg", "neg": "pos"}[row["label"]]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    capsys.readouterr()
    assert main(["train", "classify", "--run-dir", str(run), "--epochs", "2", "--resume"]) == 2
    assert "the data changed since this run started: the file of data.path" in capsys.readouterr().err


def test_api_switches_are_booleans_and_seeds_are_bounded(tmp_path):
    import lstmkit
    from lstmkit.errors import LstmkitError

    run = tmp_path / "keep"
    lstmkit.train("lm", data=TINY_TEXT, run_dir=run, epochs=1, hidden_size=8)
    before = (run / "manifest.json").read_bytes()
    with pytest.raises(LstmkitError, match="overwrite must be True or False, got str 'no'"):
        lstmkit.train("lm", data=TINY_TEXT, run_dir=run, epochs=1, overwrite="no")
    assert (run / "manifest.json").read_bytes() == before
    with pytest.raises(LstmkitError, match=r"train.seed must be in 0..9223372036854775807"):
        lstmkit.train("lm", data=TINY_TEXT, run_dir=tmp_path / "s", epochs=1, seed=2**70)
    with pytest.raises(LstmkitError, match="download must be True or False"):
        lstmkit.load(run).perplexity("the time traveller")
