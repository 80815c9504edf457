from __future__ import annotations

import json
import random

import pytest
import torch

from lstmkit.config import ModelConfig, RunConfig, apply_overrides
from lstmkit.errors import ConfigError, DataError
from lstmkit.tasks.classify import model as classify
from lstmkit.tasks.classify.data import encode
from lstmkit.training.recipe import fit
from lstmkit.data.vocab import Vocab

POS = ["great", "wonderful", "superb", "moving", "brilliant"]
NEG = ["awful", "boring", "dull", "terrible", "weak"]
FILL = ["the", "film", "plot", "actor", "was", "and", "a", "story"]


def _reviews(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = rng.choices(FILL, k=rng.randint(3, 25)) + [rng.choice(POS if label == "pos" else NEG)]
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "label": label})
    return rows


@pytest.fixture()
def sentiment_files(tmp_path):
    paths = []
    for name, n, seed in (("train.jsonl", 600, 0), ("test.jsonl", 100, 1)):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in _reviews(n, seed)))
        paths.append(path)
    return paths


def _cfg(train, test, *extra):
    base = RunConfig(task="classify")
    return apply_overrides(base, [f"data.path={train}", f"data.test_path={test}", "data.min_freq=1",
                                  "model.embedding_dim=16", "model.hidden_size=16", "model.dropout=0.0",
                                  "model.bidirectional=true", "train.epochs=6", "train.lr=0.01",
                                  "train.batch_size=16", *extra])


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_learns_keyword_sentiment(sentiment_files, tmp_path, pooling):
    summary = fit(_cfg(*sentiment_files, f"classify.pooling={pooling}"), tmp_path / "run")
    assert summary.test["accuracy"] >= 0.95
    assert {"model.safetensors", "config.json", "vocab.json", "labels.json", "eval.json", "eval.txt",
            "metrics.json", "loss.png"} <= {p.name for p in (tmp_path / "run").iterdir()}


def test_gru_reference_and_bf16_train(sentiment_files, tmp_path):
    cfg = _cfg(*sentiment_files, "model.cell=gru", "model.backend=reference", "train.bf16=true", "train.epochs=2")
    summary = fit(cfg, tmp_path / "run")
    assert summary.history[-1]["train_loss"] < summary.history[0]["train_loss"]
    assert "train_ppl" not in summary.history[-1]              # perplexity is for language models


def test_predict_and_round_trip(sentiment_files, tmp_path):
    fit(_cfg(*sentiment_files), tmp_path / "run")
    model, vocab, cfg = classify.load_classifier(tmp_path / "run")
    labels = classify.run_labels(tmp_path / "run")
    out = classify.predict_texts(model, vocab, labels, cfg, ["the film was superb", "a dull boring plot"])
    assert [label for label, _ in out] == ["pos", "neg"] and all(0.5 < p <= 1 for _, p in out)
    with pytest.raises(DataError, match="text 1 is empty"):
        classify.predict_texts(model, vocab, labels, cfg, ["  "])


def test_word2vec_vectors_and_saved_fine_tuned_vectors(sentiment_files, tmp_path):
    cfg = _cfg(*sentiment_files, "vectors.path=word2vec", "vectors.word2vec_dim=16", "train.epochs=2")
    from lstmkit.cli import main

    train, test = sentiment_files
    assert main(["-q", "train", "classify", "--data", str(train), "--test-data", str(test), "--vectors", "word2vec",
                 "--embedding-dim", "16", "--set", "vectors.word2vec_dim=16", "--epochs", "1", "--hidden-size", "8",
                 "--save-vectors", "--no-progress", "--run-dir", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "vectors" / "vectors.txt").is_file()


def test_frozen_vectors_stay_fixed(sentiment_files, tmp_path):
    glove = tmp_path / "g.txt"
    glove.write_text("".join(f"{w} " + " ".join(["0.5"] * 16) + "\n" for w in POS + NEG + FILL))
    cfg = _cfg(*sentiment_files, f"vectors.path={glove}", "vectors.freeze=true", "train.epochs=1")
    fit(cfg, tmp_path / "run")
    model, vocab, _ = classify.load_classifier(tmp_path / "run")
    torch.testing.assert_close(model.embed.weight[vocab.stoi["great"]], torch.full((16,), 0.5))


def test_vectors_of_the_wrong_dimension(sentiment_files, tmp_path):
    glove = tmp_path / "g.txt"
    glove.write_text("great 0.1 0.2\n")
    with pytest.raises(ConfigError, match="dimension 2 but model.embedding_dim is 16; pass --embedding-dim 2"):
        fit(_cfg(*sentiment_files, f"vectors.path={glove}"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unseen_label_at_eval_time():
    vocab = Vocab.build(["a"], specials=["<pad>", "<unk>"])
    with pytest.raises(DataError, match=r"label\(s\) \['maybe'\] never seen in training"):
        encode([["a"]], ["maybe"], vocab, ["neg", "pos"], source="test data")


def test_last_pooling_ignores_padding():
    cfg = ModelConfig(embedding_dim=8, hidden_size=8, bidirectional=True, dropout=0.0)
    model = classify.TextClassifier(20, 2, cfg, pooling="last").eval()
    ids = torch.randint(2, 20, (1, 5))
    padded = torch.cat([ids, torch.zeros(1, 7, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(ids, torch.tensor([5])), model(padded, torch.tensor([5])))


def test_resume_equals_an_uninterrupted_run(sentiment_files, tmp_path):
    """2 epochs, then resume to 4, gives the weights of 4 epochs in one go."""
    full = _cfg(*sentiment_files, "train.epochs=4")
    fit(full, tmp_path / "full")
    half = _cfg(*sentiment_files, "train.epochs=2")
    fit(half, tmp_path / "split")
    summary = fit(full, tmp_path / "split", resume=True)
    assert [m["epoch"] for m in summary.history] == [1, 2, 3, 4]
    from safetensors.torch import load_file

    a, b = load_file(str(tmp_path / "full" / "last.safetensors")), load_file(str(tmp_path / "split" / "last.safetensors"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=name)


def test_three_classes(tmp_path):
    rng = random.Random(0)
    keywords = {"sports": ["match", "goal"], "tech": ["laptop", "code"], "food": ["pasta", "soup"]}
    rows = []
    for i in range(450):
        label = list(keywords)[i % 3]
        words = rng.choices(FILL, k=rng.randint(3, 12)) + [rng.choice(keywords[label])]
        rng.shuffle(words)
        rows.append(json.dumps({"text": " ".join(words), "topic": label}))
    (tmp_path / "t.jsonl").write_text("\n".join(rows[:360]) + "\n")
    (tmp_path / "v.jsonl").write_text("\n".join(rows[360:]) + "\n")
    cfg = _cfg(tmp_path / "t.jsonl", tmp_path / "v.jsonl", "classify.label_column=topic")
    summary = fit(cfg, tmp_path / "run")
    assert summary.data.labels == ["food", "sports", "tech"]
    assert summary.test["accuracy"] >= 0.95 and len(summary.test["confusion"]) == 3


def test_save_vectors_never_replaces_its_own_input_or_a_users_file(sentiment_files, tmp_path, capsys):
    """Found by a tester: `--save-vectors --vectors RUN/vectors/vectors.txt --overwrite` replaced
    the vectors the command read; a user's file named `vectors` failed only after training."""
    from lstmkit.cli import main

    train, _ = sentiment_files
    run = tmp_path / "run"
    small = ["--embedding-dim", "8", "--hidden-size", "8", "--epochs", "1", "--no-progress", "--run-dir", str(run)]
    assert main(["-q", "train", "classify", "--data", str(train), "--save-vectors", *small]) == 0
    saved = run / "vectors" / "vectors.txt"
    before = saved.read_bytes()
    capsys.readouterr()
    assert main(["-q", "train", "classify", "--data", str(train), "--save-vectors", "--vectors", str(saved),
                 "--overwrite", *small]) == 2
    assert "is the file vectors.txt that --save-vectors writes" in capsys.readouterr().err
    assert saved.read_bytes() == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "vectors").write_text("my notes")
    assert main(["-q", "train", "classify", "--data", str(train), "--save-vectors",
                 *small[:-1], str(other)]) == 2
    assert "which is a file or a link that lstmkit did not make" in capsys.readouterr().err
    assert (other / "vectors").read_text() == "my notes"
