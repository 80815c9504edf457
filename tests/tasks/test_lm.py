from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from lstmkit.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.errors import DataError, RunDirError
from lstmkit.tasks.lm import model as lm
from lstmkit.tasks.lm.generate import generate
from lstmkit.training.recipe import fit

SMALL = ModelConfig(embedding_dim=8, hidden_size=32)
LM_FIELDS = {f for f in LMOptions.__dataclass_fields__}


def _cfg(path, model=SMALL, data=None, lm_cfg=None, **train):
    """A small LM config; ``train`` keys that belong to [lm] go there."""
    train = {"epochs": 15, "batch_size": 4, "num_steps": 16, "lr": 0.02, **train}
    lm_values = {k: train.pop(k) for k in list(train) if k in LM_FIELDS}
    return RunConfig(model=model, data=data or DataConfig(path=str(path)), train=TrainConfig(**train),
                     options=lm_cfg or LMOptions(**lm_values))


def test_learns_a_repetitive_text(tiny_text_file, tmp_path):
    result = fit(_cfg(tiny_text_file), tmp_path / "run")
    history = result.history
    assert history[-1]["train_ppl"] < 0.4 * history[0]["train_ppl"]
    assert result.test["valid_ppl"] < 2.0         # the text repeats, so the tail is predictable
    assert generate(result.model, result.data.vocab, "the quick", 30).startswith("the quick brown fox")
    saved = json.loads((tmp_path / "run" / lm.EVAL_FILE).read_text())
    assert saved == pytest.approx(result.test)


@pytest.mark.parametrize("sampling", ["sequential", "random"])
@pytest.mark.parametrize("cell,backend", [("lstm", "reference"), ("gru", "native"), ("peephole", "reference")])
def test_every_cell_backend_and_sampling_trains(tiny_text_file, tmp_path, cell, backend, sampling):
    model = ModelConfig(cell=cell, backend=backend, embedding_dim=8, hidden_size=16)
    history = fit(_cfg(tiny_text_file, model, epochs=3, sampling=sampling), tmp_path / "run").history
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_awd_options_train_and_round_trip(tiny_text_file, tmp_path):
    """Every regulariser at once (tied weights with a projection, locked/embedding/weight
    dropout, AR/TAR, variable BPTT, NT-ASGD from the start, plateau schedule) trains, and the
    saved run reloads to the same scores."""
    model = ModelConfig(embedding_dim=8, hidden_size=24, num_layers=2, dropout=0.2)
    cfg = _cfg(tiny_text_file, model, epochs=6, optimizer="sgd", lr=2.0, ar=1.0, tar=1.0, variable_bptt=True,
               asgd=True, asgd_nonmono=0, lr_schedule="plateau", num_steps=10, tie_weights=True,
               locked_dropout=True, dropout_embed=0.1, weight_drop=0.2, init_range=0.1)
    result = fit(cfg, tmp_path / "run")
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert [m["lr"] for m in result.history][0] == 2.0
    loaded, _, _ = lm.load_lm(tmp_path / "run")
    assert loaded.head.weight.data_ptr() == loaded.embed.weight.data_ptr()     # still tied
    assert lm.score_run(loaded, result.data) == pytest.approx(result.test)


def test_step_schedule_is_recorded(tiny_text_file, tmp_path):
    cfg = _cfg(tiny_text_file, epochs=4, optimizer="sgd", lr=1.0, lr_schedule="step", decay_start=2, lr_decay=0.5)
    history = fit(cfg, tmp_path / "run").history
    assert [m["lr"] for m in history] == [1.0, 1.0, 0.5, 0.25]


def test_without_dropout_the_layers_equal_a_stacked_torch_lstm():
    """One module per layer computes exactly what torch.nn.LSTM(num_layers=2) computes."""
    model = lm.LanguageModel(11, ModelConfig(embedding_dim=6, hidden_size=7, num_layers=2, dropout=0.0), LMOptions()).eval()
    stacked = nn.LSTM(6, 7, num_layers=2, batch_first=True)
    with torch.no_grad():
        for layer, module in enumerate(model.layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(stacked, f"{name}_l{layer}").copy_(getattr(module, f"{name}_l0"))
    tokens = torch.randint(0, 11, (3, 9))
    logits, state = model(tokens)
    out, (h, c) = stacked(model.embed(tokens))
    torch.testing.assert_close(logits, model.head(out))
    torch.testing.assert_close(torch.cat([s[0] for s in state]), h)
    torch.testing.assert_close(torch.cat([s[1] for s in state]), c)


def test_tied_weights_share_one_matrix_and_project_when_sizes_differ():
    tied = LMOptions(tie_weights=True)
    same = lm.LanguageModel(20, ModelConfig(embedding_dim=8, hidden_size=8), tied)
    assert same.head.weight is same.embed.weight and same.project is None
    other = lm.LanguageModel(20, ModelConfig(embedding_dim=8, hidden_size=12), tied)
    assert other.head.weight is other.embed.weight and other.project.weight.shape == (8, 12)
    untied = sum(p.numel() for p in lm.LanguageModel(20, ModelConfig(embedding_dim=8, hidden_size=8), LMOptions()).parameters())
    assert sum(p.numel() for p in same.parameters()) == untied - 20 * 8


def test_init_range_bounds_every_weight():
    model = lm.LanguageModel(30, ModelConfig(embedding_dim=8, hidden_size=16), LMOptions(init_range=0.05))
    assert max(float(p.detach().abs().max()) for p in model.parameters()) <= 0.05


def test_evaluation_carries_the_state_over_the_whole_stream():
    """Batch 1 in windows equals one pass over the whole stream; restarting each window differs."""
    torch.manual_seed(0)
    model = lm.LanguageModel(30, SMALL, LMOptions()).eval()
    ids = torch.randint(0, 30, (200,))
    whole = torch.nn.functional.cross_entropy(model(ids[None, :-1])[0][0], ids[1:]).item()
    assert lm.evaluate_nll(model, ids, window=50) == pytest.approx(whole, rel=1e-5)
    restarted = sum(lm.evaluate_nll(model, ids[i : i + 51], window=50) for i in range(0, 200, 50)) / 4
    assert whole != pytest.approx(restarted, abs=1e-6)
    batched = lm.evaluate_nll(model, ids, batch_size=4, window=50)
    assert batched == pytest.approx(whole, abs=0.05) and batched != whole


def test_evaluation_needs_two_tokens():
    with pytest.raises(DataError, match="needs at least 2"):
        lm.evaluate_nll(lm.LanguageModel(5, SMALL, LMOptions()), torch.tensor([1]))


def test_word_level_corpus_folder_with_test_part(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    line = "the cat sat on the mat\nthe dog sat on the log\n"
    (folder / "w.train.txt").write_text(line * 30)
    (folder / "w.valid.txt").write_text(line * 3)
    (folder / "w.test.txt").write_text("the cat sat on the zebra\n" * 3)
    data = DataConfig(path=str(folder), tokenizer="whitespace")
    result = fit(_cfg(None, data=data, epochs=8, lr=0.05, num_steps=6, level="word"), tmp_path / "run")
    assert set(result.test) == {f"{s}_{m}" for s in ("valid", "test") for m in ("loss", "ppl", "bpt")}
    assert result.test["valid_ppl"] < 3.0
    assert generate(result.model, result.data.vocab, "the cat", 5, tokenizer="whitespace").startswith("the cat sat on the")
    assert lm.evaluate_run(tmp_path / "run") == pytest.approx(result.test)


def test_too_short_text(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text("a")
    with pytest.raises(DataError, match="too short"):
        lm.load_corpus(DataConfig(path=str(path)), LMOptions())


def test_load_lm_rejects_a_classifier_run(tmp_path):
    from lstmkit.training.checkpoint import save_run

    save_run(tmp_path, nn.Linear(1, 1), RunConfig(task="classify"))
    with pytest.raises(RunDirError, match="holds a run of task 'classify', not of task 'lm'"):
        lm.load_lm(tmp_path)
