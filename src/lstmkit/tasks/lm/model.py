"""The language model's modules, scoring and loading (its Task is task.py).

Language models, character or word level: the tutorials' job (d2l.ai ch. 8-9, Zaremba et al.
2014) with the regularisation of AWD-LSTM (Merity et al. 2018) as options.

Embedding -> LSTM/GRU/peephole layers -> (projection) -> linear over the vocabulary, the output
layer optionally tied to the embedding. Trained with truncated BPTT (state carried and detached
between sequential batches, optionally variable window length), gradient clipping, a
learning-rate schedule and optionally NT-ASGD; perplexity over whole splits with the state
carried. Legend: B batch, T time, E embedding, H hidden, V vocabulary.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.data.vocab import Vocab
from lstmkit.errors import DataError, RunDirError
from lstmkit.nn import make_rnn
from lstmkit.nn.regularize import (
    dropout,
    embedding_dropout,
    weight_dropped_call,
)
from lstmkit.tasks.lm.data import Corpus, load_corpus, resolve_normalize
from lstmkit.training import checkpoint
from lstmkit.training.build import device_of
from lstmkit.training.metrics import bits_per_token, perplexity

logger = logging.getLogger(__name__)

LayerState = Tensor | tuple[Tensor, ...]
State = list[LayerState]          # one entry per layer, each as that layer returns it
EVAL_FILE = checkpoint.SCORES


class LanguageModel(nn.Module):
    """Embedding -> recurrent layers (one module per layer) -> vocabulary logits.

    Layers are separate one-layer modules so that dropout between them can be locked over
    time and DropConnect can reach each hidden-to-hidden matrix; each still runs as one fused
    kernel call. With ``tie_weights`` the output layer reuses the embedding matrix, after a
    linear projection H -> E when the sizes differ.

    Shapes: tokens (B, T) -> logits (B, T, V); state: a list of per-layer states.

    Example:
        >>> model = LanguageModel(28, ModelConfig(hidden_size=16, embedding_dim=8, num_layers=2), LMOptions())
        >>> logits, state = model(torch.zeros(2, 5, dtype=torch.long))
        >>> logits.shape, len(state), state[0][0].shape
        (torch.Size([2, 5, 28]), 2, torch.Size([1, 2, 16]))
    """

    def __init__(self, vocab_size: int, cfg: ModelConfig, lm: LMOptions) -> None:
        super().__init__()
        self.cfg, self.lm = cfg, lm
        E, H = cfg.embedding_dim, cfg.hidden_size
        self.embed = nn.Embedding(vocab_size, E)
        self.layers = nn.ModuleList(
            make_rnn(cfg.cell, E if i == 0 else H, H, batch_first=True, backend=cfg.backend)
            for i in range(cfg.num_layers)
        )
        self.project = nn.Linear(H, E) if lm.tie_weights and H != E else None
        self.head = nn.Linear(E if lm.tie_weights else H, vocab_size)
        if lm.init_range > 0:
            for param in self.parameters():
                nn.init.uniform_(param, -lm.init_range, lm.init_range)
        if lm.tie_weights:
            self.head.weight = self.embed.weight                             # (V, E), shared

    def features(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, Tensor, State]:
        """The last layer's output before and after dropout, and the new state.

        Shapes: tokens (B, T) -> raw (B, T, H), dropped (B, T, H), state
        """
        cfg, lm, training = self.cfg, self.lm, self.training
        x = embedding_dropout(self.embed, tokens, lm.dropout_embed, training)       # (B, T, E)
        x = dropout(x, lm.input_dropout(cfg.dropout), training, lm.locked_dropout)
        new_state: State = []
        for i, layer in enumerate(self.layers):
            x, layer_state = weight_dropped_call(layer, lm.weight_drop, training, x,
                                                 None if state is None else state[i])  # (B, T, H)
            new_state.append(layer_state)
            if i < len(self.layers) - 1:
                x = dropout(x, lm.hidden_dropout(cfg.dropout), training, lm.locked_dropout)
        return x, dropout(x, cfg.dropout, training, lm.locked_dropout), new_state

    def logits(self, features: Tensor) -> Tensor:
        """Shapes: (B, T, H) -> (B, T, V)"""
        if self.project is not None:
            features = self.project(features)                                # (B, T, E)
        return self.head(features)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        _, dropped, state = self.features(tokens, state)
        return self.logits(dropped), state


def detach_state(state: State | None) -> State | None:
    """Cut the graph at a BPTT window, keeping the values."""
    if state is None:
        return None
    return [tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach() for st in state]


@torch.no_grad()
def evaluate_nll(model: LanguageModel, ids: Tensor, batch_size: int = 1, window: int = 256) -> float:
    """Mean NLL per token over a whole stream, the state carried from window to window.

    With ``batch_size`` 1 every token but the first is predicted (the literature's number);
    larger batches cut the stream into that many contiguous rows (faster, drops the remainder).
    """
    if ids.numel() < 2:
        raise DataError(f"cannot evaluate on {ids.numel()} token(s); the split needs at least 2")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    usable = ((ids.numel() - 1) // batch_size) * batch_size
    xs = ids[:usable].view(batch_size, -1)                                   # (B, N/B)
    ys = ids[1 : usable + 1].view(batch_size, -1)
    total, count, state = 0.0, 0, None
    for start in range(0, xs.size(1), window):
        x = xs[:, start : start + window].to(device)                         # (B, T)
        y = ys[:, start : start + window].to(device)
        logits, state = model(x, state)                                      # (B, T, V)
        total += float(F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1),
                                       reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / max(count, 1)


def split_scores(model: LanguageModel, ids: Tensor, prefix: str, batch_size: int = 1) -> dict[str, float]:
    """``{prefix}_loss``, ``_ppl`` and ``_bpt`` (bits per token; bits per character at char level)."""
    nll = evaluate_nll(model, ids, batch_size)
    return {f"{prefix}_loss": nll, f"{prefix}_ppl": perplexity(nll), f"{prefix}_bpt": bits_per_token(nll)}




def _same_vocab(run_dir: Path, vocab: Vocab) -> None:
    if checkpoint.load_vocab(run_dir).itos != vocab.itos:
        raise RunDirError(f"the data of {str(run_dir)!r} no longer gives the vocabulary it was trained with; "
                          "resume with the same data and data settings")


def score_run(model: LanguageModel, corpus: Corpus, run_dir: str | Path | None = None) -> dict[str, float]:
    """Valid and test scores over the whole parts (batch 1, state carried); saved to eval.json."""
    scores: dict[str, float] = {}
    for name, ids in (("valid", corpus.valid_ids), ("test", corpus.test_ids)):
        if ids.numel() >= 2:
            scores.update(split_scores(model, ids, name))
    if run_dir is not None:
        checkpoint.save_scores(run_dir, scores)
    return scores


def load_lm(run_dir: str | Path, device: str = "cpu", cfg: RunConfig | None = None
            ) -> tuple[LanguageModel, Vocab, RunConfig]:
    """Rebuild a trained language model from its run directory (no unpickling)."""
    cfg = cfg or checkpoint.read_run_config(run_dir, task="lm")             # a loaded run passes its own
    vocab = checkpoint.load_vocab(run_dir)
    model = checkpoint.build_and_load(run_dir, lambda: LanguageModel(len(vocab), cfg.model, cfg.lm),
                                      sizes=cfg.model)
    return model.to(device_of(device)).eval(), vocab, cfg


def evaluate_run(run_dir: str | Path, download: bool = False) -> dict[str, float]:
    """Re-read the run's corpus with its vocabulary and score valid and test."""
    model, vocab, cfg = load_lm(run_dir)
    corpus = load_corpus(cfg.data, cfg.lm, download, vocab=vocab)
    return score_run(model, corpus, run_dir)


__all__ = ["LanguageModel", "detach_state", "evaluate_nll", "evaluate_run", "load_lm",
           "resolve_normalize", "score_run", "split_scores"]
