"""The command line: the main job end to end on small data, and its one-line errors."""

from __future__ import annotations

import json

import pytest

from lstmkit.cli import main

SMALL = ["--set", "model.hidden_size=32", "--set", "model.embedding_dim=8", "--set", "train.batch_size=4",
         "--set", "lm.num_steps=16", "--no-progress"]


def test_train_then_generate(tiny_text_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "2", "--run-dir", str(run),
                 "--prefix", "the", "--gen-length", "10", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "perplexity" in out and "generated (temperature 0.8, top-k 5, seed 0): the" in out and str(run) in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2] and metrics[0]["tokens_per_s"] > 0
    assert main(["generate", str(run), "--prefix", "the q", "--length", "20", "--seed", "1",
                 "--temperature", "0.8", "--top-k", "5"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("the q") and len(line) == 25


def test_default_job_runs_on_the_shipped_sample(tmp_path, capsys):
    """One epoch of the README's main job (the full default run is the README's first command)."""
    run = tmp_path / "tm"
    assert main(["train", "lm", "--epochs", "1", "--run-dir", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "generated (temperature 0.8, top-k 5, seed 0): time traveller" in out
    assert json.loads((run / "config.json").read_text())["data"]["path"] == ""


def test_reference_backend_flag(tiny_text_file, tmp_path):
    run = tmp_path / "ref"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--backend", "reference",
                 "--run-dir", str(run), *SMALL]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["backend"] == "reference"


def _error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("lstmkit: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("content,message", [
    (None, "not found"),
    (b"", "is empty"),
    (b"\xff\xfe\x00bad", "is not valid utf-8"),
])
def test_bad_text_files(tmp_path, capsys, content, message):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    assert main(["train", "lm", "--data", str(path), "--run-dir", str(tmp_path / "r"), *SMALL]) == 2
    assert message in _error(capsys)
    assert not (tmp_path / "r").exists()                   # nothing written half-way


def test_generate_from_a_directory_that_is_not_a_run(tmp_path, capsys):
    assert main(["generate", str(tmp_path), "--prefix", "a"]) == 2
    assert "is not a run directory (no config.json)" in _error(capsys)
    assert main(["generate", str(tmp_path / "nope"), "--prefix", "a"]) == 2
    assert "does not exist" in _error(capsys)


def test_generate_with_unknown_prefix_characters(tiny_text_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--run-dir", str(run), *SMALL]) == 0
    capsys.readouterr()
    assert main(["generate", str(run), "--prefix", "the 42", "--length", "5"]) == 2
    assert "prefix characters '42' are not in the model's vocabulary" in _error(capsys)
    assert main(["generate", str(run), "--prefix", "the", "--length", "0"]) == 2
    assert "length must be >= 1" in _error(capsys)


def test_existing_run_is_not_overwritten(tiny_text_file, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--run-dir", str(run), *SMALL]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "already holds a run" in _error(capsys)
    assert main([*args, "--overwrite"]) == 0


def test_bad_override(capsys):
    assert main(["train", "lm", "--set", "train.lr=fast"]) == 2
    assert "cannot read 'fast' as float" in _error(capsys)


def _sentiment_table(path, n, seed):
    import random

    rng = random.Random(seed)
    lines = ["review,sentiment"]
    for i in range(n):
        good = i % 2 == 1
        word = rng.choice(["great", "superb"] if good else ["awful", "dull"])
        lines.append(f"the film was {word} and the plot {rng.choice(['ok', 'long', 'short'])},{'pos' if good else 'neg'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_classify_train_eval_predict(tmp_path, capsys):
    train = _sentiment_table(tmp_path / "train.csv", 200, 0)
    test = _sentiment_table(tmp_path / "test.csv", 40, 1)
    run = tmp_path / "cls"
    assert main(["train", "classify", "--data", str(train), "--test-data", str(test), "--text-column", "review",
                 "--label-column", "sentiment", "--run-dir", str(run), "--no-progress", "--epochs", "4",
                 "--embedding-dim", "16", "--set", "model.hidden_size=16", "--set", "data.min_freq=1",
                 "--set", "train.lr=0.01", "--set", "train.batch_size=16"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["eval", str(run), "--data", str(test)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and (run / "confusion.png").is_file()
    import hashlib

    scores = json.loads((run / "eval.json").read_text())     # what was scored is recorded ...
    assert scores["data"] == {"given": str(test), "bytes": test.stat().st_size,
                              "sha256": hashlib.sha256(test.read_bytes()).hexdigest()}
    assert "the test part at training" in out and scores["earlier"][0]["accuracy"] > 0   # ... and the training's kept
    other = _sentiment_table(tmp_path / "other.csv", 30, 7)
    assert main(["eval", str(run), "--data", str(other)]) == 0
    assert f"of {str(test)!r}, are kept under 'earlier'" in capsys.readouterr().out
    scores = json.loads((run / "eval.json").read_text())
    assert scores["data"]["given"] == str(other) and [e.get("data", {}).get("given") for e in scores["earlier"]] == [
        None, str(test)]
    assert main(["predict", str(run), "the film was superb", "the film was dull"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("pos\t") and lines[1].startswith("neg\t")
    texts = tmp_path / "texts.txt"
    texts.write_text("the film was dull\n\nthe film was great\n")
    assert main(["predict", str(run), "--file", str(texts)]) == 0
    labels = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert labels == ["neg", "pos"]                          # blank lines are skipped
    # A text's own control characters are escaped: no screen clearing, no forged record line.
    assert main(["predict", str(run), "superb\x1b[2J\rneg\t0.99\tforged\nline\u202e"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert out.count("\t") == 2 and "superb\\x1b[2J\\rneg\\t0.99\\tforged\\nline\\u202e" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("review,sentiment\nthe film was great,maybe\n")
    assert main(["eval", str(run), "--data", str(bad)]) == 2
    assert "never seen in training" in _error(capsys)
    assert main(["predict", str(run)]) == 2
    assert "nothing to predict" in _error(capsys)
    (tmp_path / "none.txt").write_text("\n")
    assert main(["predict", str(run), "--file", str(tmp_path / "none.txt")]) == 2
    assert "is empty; give it one text per line to predict" in _error(capsys)


def test_classify_bad_inputs(tmp_path, capsys):
    assert main(["train", "classify", "--data", str(tmp_path / "missing.csv"), "--run-dir", str(tmp_path / "r")]) == 2
    assert "not found" in _error(capsys)
    table = _sentiment_table(tmp_path / "t.csv", 20, 0)
    assert main(["train", "classify", "--data", str(table), "--run-dir", str(tmp_path / "r")]) == 2
    assert "no column(s) ['text', 'label']; its columns are ['review', 'sentiment']" in _error(capsys)
    glove = tmp_path / "g.txt"
    glove.write_text("the 0.1 0.2\nfilm 0.3\n")
    assert main(["train", "classify", "--data", str(table), "--text-column", "review", "--label-column",
                 "sentiment", "--vectors", str(glove), "--embedding-dim", "2", "--run-dir", str(tmp_path / "r")]) == 2
    assert "g.txt:2: 1 numbers where the file has 2 per word" in _error(capsys)
    assert not (tmp_path / "r").exists()


def test_peephole_cell_flag_picks_the_reference_backend(tiny_text_file, tmp_path):
    run = tmp_path / "peep"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--cell", "peephole",
                 "--run-dir", str(run), *SMALL]) == 0
    model = json.loads((run / "config.json").read_text())["model"]
    assert (model["cell"], model["backend"]) == ("peephole", "reference")


def test_word_level_train_eval_generate(tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "c.train.txt").write_text("the cat sat on the mat\n" * 40)
    (folder / "c.valid.txt").write_text("the cat sat on the mat\n" * 4)
    (folder / "c.test.txt").write_text("the cat sat on the mat\n" * 4)
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(folder), "--level", "word", "--tokenizer", "whitespace",
                 "--epochs", "3", "--run-dir", str(run), "--gen-length", "4", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "best model, test: perplexity" in out and "bits/word" in out and "): the cat" in out
    assert main(["eval", str(run)]) == 0
    scores = dict(line.split("\t") for line in capsys.readouterr().out.strip().splitlines())
    assert set(scores) == {"valid_loss", "valid_ppl", "valid_bpt", "test_loss", "test_ppl", "test_bpt"}
    assert main(["generate", str(run), "--prefix", "the cat", "--length", "4", "--top-p", "0.9", "--seed", "0"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("the cat") and len(out.replace("\n", " <eos> ").split()) == 6   # <eos> printed as a newline
    assert main(["eval", str(run), "--data", "imdb"]) == 2
    assert "drop --data" in _error(capsys)


@pytest.mark.parametrize("option,message", [
    (["--temperature", "0"], "--temperature must be > 0, got 0.0; leave it out for greedy decoding"),
    (["--top-p", "1.5"], r"--top-p must be in (0, 1], got 1.5"),
    (["--length", "0"], "--length must be >= 1, got 0"),   # the API's argument names, said as the flags
])
def test_generate_rejects_bad_sampling_options(tiny_text_file, tmp_path, capsys, option, message):
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--run-dir", str(run), *SMALL]) == 0
    capsys.readouterr()
    assert main(["generate", str(run), "--prefix", "the", *option]) == 2
    assert message in _error(capsys)


def test_tag_train_eval_predict(tmp_path, capsys):
    rows = ["the/DET cat/NOUN runs/VERB", "a/DET dog/NOUN sees/VERB the/DET bird/NOUN", "this/DET fish/NOUN eats/VERB"]
    (tmp_path / "train.txt").write_text("\n".join(rows * 40) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(rows) + "\n")
    run = tmp_path / "tagger"
    assert main(["train", "tag", "--data", str(tmp_path / "train.txt"), "--test-data", str(tmp_path / "test.txt"),
                 "--crf", "--epochs", "4", "--embedding-dim", "16", "--set", "model.hidden_size=16",
                 "--set", "train.lr=0.01", "--run-dir", str(run), "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert "token accuracy" in out and "costliest confusions" in out
    assert main(["predict", str(run), "the dog runs", "--tokenizer", "whitespace"]) == 0
    assert capsys.readouterr().out.strip() == "the/DET dog/NOUN runs/VERB"
    assert main(["predict", str(run), "   "]) == 2
    assert "has no words to tag" in _error(capsys)


def test_tag_malformed_conllu_names_the_line(tmp_path, capsys):
    path = tmp_path / "bad.conllu"
    path.write_text("1\tok\t_\tADJ\t_\t_\t_\t_\t_\t_\n2\tbroken line\n")
    assert main(["train", "tag", "--data", str(path), "--run-dir", str(tmp_path / "r")]) == 2
    assert "bad.conllu:2: a CoNLL-U word line has 10 tab-separated fields, this one has 2" in _error(capsys)
    assert not (tmp_path / "r").exists()


def test_forecast_train_eval_predict_and_bad_csv(tmp_path, capsys):
    from workspace import write_sine_series

    path = write_sine_series(tmp_path / "s.csv", 400)
    run = tmp_path / "fc"
    assert main(["train", "forecast", "--data", str(path), "--target", "OT", "--input-len", "16", "--horizon", "4",
                 "--epochs", "2", "--run-dir", str(run), "--no-progress"]) == 0
    assert "test MSE" in capsys.readouterr().out and (run / "forecast.png").is_file()
    assert main(["eval", str(run)]) == 0
    assert "mse\t" in capsys.readouterr().out
    assert main(["predict", str(run), "--data", str(path)]) == 0
    assert (run / "forecast.csv").read_text().splitlines()[0] == "step,date,OT"
    config = tmp_path / "fc.toml"                 # the data may come from --config instead of --data
    config.write_text(f'[data]\npath = "{path.as_posix()}"\n[forecast]\ninput_len = 16\nhorizon = 4\n')
    assert main(["train", "forecast", "--config", str(config), "--epochs", "1", "--run-dir", str(tmp_path / "fc2"),
                 "--no-progress"]) == 0
    capsys.readouterr()
    for task in ("forecast", "tag", "classify"):
        assert main(["train", task, "--run-dir", str(tmp_path / "r")]) == 2
        assert f"train {task} needs data: pass --data" in _error(capsys)
    bad = tmp_path / "bad.csv"
    bad.write_text("date,OT\n2020-01-01,1\n2020-01-02,oops\n")
    assert main(["train", "forecast", "--data", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    assert "bad.csv:3: column 'OT' holds 'oops', not a number" in _error(capsys)
    assert not (tmp_path / "r").exists()


def test_image_train_eval_predict(tmp_path, capsys):
    import numpy as np

    from conftest import fake_mnist

    folder = fake_mnist(tmp_path / "m", n_train=300)
    run = tmp_path / "img"
    assert main(["train", "image", "--data", str(folder), "--epochs", "2", "--set", "model.hidden_size=16",
                 "--set", "image.valid_size=50", "--run-dir", str(run), "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["eval", str(run), "--data", str(folder)]) == 0
    assert "accuracy" in capsys.readouterr().out and (run / "confusion.png").is_file()
    np.save(tmp_path / "digit.npy", np.zeros((28, 28)))
    assert main(["predict", str(run), str(tmp_path / "digit.npy")]) == 0
    assert capsys.readouterr().out.strip().endswith("digit.npy")
    np.save(tmp_path / "big.npy", np.zeros((32, 32)))
    assert main(["predict", str(run), str(tmp_path / "big.npy")]) == 2
    assert "has shape 32x32 (rows x columns); the model reads one 28x28" in _error(capsys)
    (tmp_path / "bad-idx").mkdir()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "bad-idx" / name).write_bytes((folder / "train-labels-idx1-ubyte.gz").read_bytes())
    assert main(["train", "image", "--data", str(tmp_path / "bad-idx"), "--run-dir", str(tmp_path / "r")]) == 2
    assert "IDX magic number 2049, expected images (2051)" in _error(capsys)


def test_a_newline_in_a_run_path_forges_no_line(tiny_text_file, tmp_path, capsys, monkeypatch):
    """Found by a tester: ESC in --run-dir was escaped, a newline was not (a fake output line)."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--run-dir", "r\nFAKE", *SMALL]) == 0
    captured = capsys.readouterr()
    assert not any(line.startswith("FAKE") for line in (captured.out + captured.err).splitlines())
    assert "run directory: r\\nFAKE" in captured.out
    assert main(["train", "classify", "--data", str(tiny_text_file), "--run-dir", "r\nFAKE", "--resume"]) == 2
    assert "holds a lm run; use `lstmkit train lm --resume`" in _error(capsys)   # the task first, not "only --epochs"


def test_training_on_a_file_of_the_run_it_replaces_is_refused(tiny_text_file, tmp_path, capsys):
    """Found by a tester: --data RUN/vocab.json --overwrite trained on it, then replaced it with
    the new vocabulary; the config named a file that was no longer the data."""
    run = tmp_path / "run"
    assert main(["train", "lm", "--data", str(tiny_text_file), "--epochs", "1", "--run-dir", str(run), *SMALL]) == 0
    capsys.readouterr()
    before = (run / "vocab.json").read_bytes()
    assert main(["train", "lm", "--data", str(run / "vocab.json"), "--epochs", "1", "--run-dir", str(run),
                 "--overwrite", *SMALL]) == 2
    assert "is the file vocab.json of the run in" in _error(capsys)
    assert (run / "vocab.json").read_bytes() == before        # the old run is untouched
