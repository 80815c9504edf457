from __future__ import annotations

import pytest
import torch

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.errors import DataError
from lstmkit.tasks import lm

SMALL = ModelConfig(embedding_dim=8, hidden_size=32)


def _cfg(path, **train):
    return RunConfig(model=SMALL, data=DataConfig(path=str(path)),
                     train=TrainConfig(**{"epochs": 15, "batch_size": 4, "num_steps": 16, "lr": 0.02, **train}))


def test_learns_a_repetitive_text(tiny_text_file, tmp_path):
    model, vocab, history = lm.train_lm(_cfg(tiny_text_file), tmp_path / "run")
    assert history[-1]["train_ppl"] < 0.4 * history[0]["train_ppl"]
    assert history[-1]["valid_ppl"] < 2.0             # the text repeats, so the tail is predictable
    text = lm.generate(model, vocab, "the quick", 30)
    assert text.startswith("the quick brown fox")


@pytest.mark.parametrize("sampling", ["sequential", "random"])
@pytest.mark.parametrize("cell,backend", [("lstm", "reference"), ("gru", "native"), ("peephole", "reference")])
def test_every_cell_backend_and_sampling_trains(tiny_text_file, tmp_path, cell, backend, sampling):
    cfg = _cfg(tiny_text_file, epochs=3, sampling=sampling)
    cfg = RunConfig(model=ModelConfig(cell=cell, backend=backend, embedding_dim=8, hidden_size=16),
                    data=cfg.data, train=cfg.train)
    _, _, history = lm.train_lm(cfg, tmp_path / "run")
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_run_directory_round_trip(tiny_text_file, tmp_path):
    run = tmp_path / "run"
    lm.train_lm(_cfg(tiny_text_file, epochs=2), run)
    assert {p.name for p in run.iterdir()} >= {"model.safetensors", "config.json", "vocab.json",
                                               "metrics.json", "perplexity.png"}
    model, vocab, cfg = lm.load_lm(run)
    assert cfg.model == SMALL
    a = lm.generate(model, vocab, "the", 40, temperature=1.0, seed=3)
    b = lm.generate(model, vocab, "the", 40, temperature=1.0, seed=3)
    c = lm.generate(model, vocab, "the", 40, temperature=1.0, seed=4)
    assert a == b and len(a) == 43 and a != c


def test_sequential_sampling_carries_state_into_the_next_window(tiny_text_file):
    """Evaluating with the state carried differs from restarting each window."""
    model = lm.LanguageModel(30, SMALL)
    ids = torch.randint(0, 30, (200,))
    carried = lm.evaluate_nll(model, ids, window=50)
    restarted = sum(lm.evaluate_nll(model, ids[i : i + 51], window=50) for i in range(0, 200, 50)) / 4
    assert carried != pytest.approx(restarted, abs=1e-6)


def test_generate_rejects_bad_arguments(tiny_text_file, tmp_path):
    model, vocab, _ = lm.train_lm(_cfg(tiny_text_file, epochs=1), tmp_path / "run")
    with pytest.raises(DataError, match=r"prefix characters 'XZ' are not in the model's vocabulary"):
        lm.generate(model, vocab, "the XZ", 5)
    with pytest.raises(DataError, match="the prefix is empty"):
        lm.generate(model, vocab, "", 5)
    with pytest.raises(ValueError, match="length must be >= 1, got 0"):
        lm.generate(model, vocab, "the", 0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        lm.generate(model, vocab, "the", 5, temperature=-1)


def test_letters_normalisation_lowercases_the_prefix():
    vocab = lm.Vocab.build("abc ", specials=())
    assert lm.prepare_prefix("ABC", vocab, "letters") == vocab.encode("abc")
    with pytest.raises(DataError):
        lm.prepare_prefix("ABC", vocab, "none")


def test_too_short_text(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("a")
    with pytest.raises(DataError, match="too short"):
        lm.load_corpus(DataConfig(path=str(path)))
