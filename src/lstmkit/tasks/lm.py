"""Language models, character or word level: the tutorials' job (d2l.ai ch. 8-9, Zaremba et al.
2014) with the regularisation of AWD-LSTM (Merity et al. 2018) as options.

Embedding -> LSTM/GRU/peephole layers -> (projection) -> linear over the vocabulary, the output
layer optionally tied to the embedding. Trained with truncated BPTT (state carried and detached
between sequential batches, optionally variable window length), gradient clipping, a
learning-rate schedule and optionally NT-ASGD; perplexity over whole splits with the state
carried. Legend: B batch, T time, E embedding, H hidden, V vocabulary.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.data.batching import SAMPLERS, num_batches, variable_batches
from lstmkit.data.vocab import Vocab
from lstmkit.errors import DataError
from lstmkit.nn import make_rnn
from lstmkit.nn.regularize import (
    activation_penalty,
    dropout,
    embedding_dropout,
    weight_dropped_call,
)
from lstmkit.tasks.lm_data import Corpus, load_corpus, resolve_normalize
from lstmkit.train import checkpoint
from lstmkit.train.averaging import WeightAverager
from lstmkit.train.build import device_of, make_optimizer
from lstmkit.train.hooks import LogEpoch, MetricsFile, PlotMetrics, SaveBest, TimeBudget
from lstmkit.train.metrics import bits_per_token, perplexity
from lstmkit.train.schedule import LRSchedule
from lstmkit.train.trainer import Trainer

logger = logging.getLogger(__name__)

LayerState = Tensor | tuple[Tensor, ...]
State = list[LayerState]          # one entry per layer, each as that layer returns it
EVAL_FILE = "eval.json"


class LanguageModel(nn.Module):
    """Embedding -> recurrent layers (one module per layer) -> vocabulary logits.

    Layers are separate one-layer modules so that dropout between them can be locked over
    time and DropConnect can reach each hidden-to-hidden matrix; each still runs as one fused
    kernel call. With ``tie_weights`` the output layer reuses the embedding matrix, after a
    linear projection H -> E when the sizes differ.

    Shapes: tokens (B, T) -> logits (B, T, V); state: a list of per-layer states.

    Example:
        >>> model = LanguageModel(28, ModelConfig(hidden_size=16, embedding_dim=8, num_layers=2))
        >>> logits, state = model(torch.zeros(2, 5, dtype=torch.long))
        >>> logits.shape, len(state), state[0][0].shape
        (torch.Size([2, 5, 28]), 2, torch.Size([1, 2, 16]))
    """

    def __init__(self, vocab_size: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        E, H = cfg.embedding_dim, cfg.hidden_size
        self.embed = nn.Embedding(vocab_size, E)
        self.layers = nn.ModuleList(
            make_rnn(cfg.cell, E if i == 0 else H, H, batch_first=True, backend=cfg.backend)
            for i in range(cfg.num_layers)
        )
        self.project = nn.Linear(H, E) if cfg.tie_weights and H != E else None
        self.head = nn.Linear(E if cfg.tie_weights else H, vocab_size)
        if cfg.init_range > 0:
            for param in self.parameters():
                nn.init.uniform_(param, -cfg.init_range, cfg.init_range)
        if cfg.tie_weights:
            self.head.weight = self.embed.weight                             # (V, E), shared

    def features(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, Tensor, State]:
        """The last layer's output before and after dropout, and the new state.

        Shapes: tokens (B, T) -> raw (B, T, H), dropped (B, T, H), state
        """
        cfg, training = self.cfg, self.training
        x = embedding_dropout(self.embed, tokens, cfg.dropout_embed, training)      # (B, T, E)
        x = dropout(x, cfg.input_dropout(), training, cfg.locked_dropout)
        new_state: State = []
        for i, layer in enumerate(self.layers):
            x, layer_state = weight_dropped_call(layer, cfg.weight_drop, training, x,
                                                 None if state is None else state[i])  # (B, T, H)
            new_state.append(layer_state)
            if i < len(self.layers) - 1:
                x = dropout(x, cfg.hidden_dropout(), training, cfg.locked_dropout)
        return x, dropout(x, cfg.dropout, training, cfg.locked_dropout), new_state

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


@dataclass
class TrainedLM:
    model: LanguageModel                 # the best epoch's weights (averaged when NT-ASGD ran)
    vocab: Vocab
    history: list[dict[str, float]]
    scores: dict[str, float] = field(default_factory=dict)   # valid_* and test_* of the best model
    corpus: Corpus | None = None


def train_lm(cfg: RunConfig, run_dir: str | Path, progress: bool = False, download: bool = False) -> TrainedLM:
    """Train a language model, save the best epoch (by validation loss) to ``run_dir`` and
    score it on the whole validation and test parts (``eval.json``).
    """
    device = device_of(cfg.train.device)
    corpus = load_corpus(cfg.data, download)
    t = cfg.train
    torch.manual_seed(t.seed)
    model = LanguageModel(len(corpus.vocab), cfg.model).to(device)
    optimizer = make_optimizer(model.parameters(), t)
    logger.info("corpus %s (%s tokens): %d train / %d valid / %d test tokens, vocabulary %d",
                corpus.source, corpus.tokenizer, corpus.train_ids.numel(), corpus.valid_ids.numel(),
                corpus.test_ids.numel(), len(corpus.vocab))
    logger.info("model: %d parameters", sum(p.numel() for p in model.parameters()))
    has_valid = corpus.valid_ids.numel() >= 2
    averager = WeightAverager(model, t.asgd_nonmono) if t.asgd else None
    averaged = averager.swapped if averager is not None else nullcontext
    carried: dict[str, State | None] = {"state": None}

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        carried["state"] = None                                              # a new stream each epoch
        generator = torch.Generator().manual_seed(t.seed * 1000 + epoch)
        if t.variable_bptt:
            return variable_batches(corpus.train_ids, t.batch_size, t.num_steps, generator)
        return SAMPLERS[t.sampling](corpus.train_ids, t.batch_size, t.num_steps, generator)

    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if t.bf16 else nullcontext()

    def step(batch: tuple[Tensor, Tensor]) -> tuple[tuple[Tensor, Tensor], int]:
        x, y = (b.to(device) for b in batch)                                 # (B, T) each
        state = detach_state(carried["state"]) if t.sampling == "sequential" else None
        with autocast:
            raw, dropped, carried["state"] = model.features(x, state)        # (B, T, H)
            logits = model.logits(dropped)                                   # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))
        objective = loss + activation_penalty(dropped.float(), raw.float(), t.ar, t.tar)
        if t.variable_bptt:                     # AWD scales the step by the window's length
            objective = objective * (x.size(1) / t.num_steps)
        return (objective, loss), y.numel()

    def evaluate() -> dict[str, float]:
        if not has_valid:
            return {}
        with averaged():
            return split_scores(model, corpus.valid_ids, "valid", t.eval_batch_size)

    def save() -> None:
        with averaged():
            checkpoint.save_run(run_dir, model, cfg, corpus.vocab)

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus.vocab.save(run_dir / checkpoint.VOCAB)
    hooks = [LRSchedule(optimizer, t.lr_schedule, t.lr, t.epochs, t.lr_decay, t.decay_start)]
    hooks += [averager] if averager is not None else []
    hooks += [
        LogEpoch(["train_ppl", "valid_ppl", "lr", "tokens_per_s"]),
        MetricsFile(run_dir),
        PlotMetrics(run_dir / "perplexity.png", ["train_ppl", "valid_ppl"], "perplexity"),
        SaveBest(save, "valid_loss" if has_valid else "train_loss"),
    ]
    if t.max_minutes > 0:
        hooks.append(TimeBudget(t.max_minutes, t.stop_mid_epoch))
    trainer = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress)
    state = trainer.fit(t.epochs, batches, step, evaluate,
                        num_batches(corpus.train_ids.numel(), t.batch_size, t.num_steps))
    best, _, _ = load_lm(run_dir, cfg.train.device)
    scores = score_run(best, corpus, run_dir)
    return TrainedLM(best, corpus.vocab, state.history, scores, corpus)


def score_run(model: LanguageModel, corpus: Corpus, run_dir: str | Path | None = None) -> dict[str, float]:
    """Valid and test scores over the whole parts (batch 1, state carried); saved to eval.json."""
    scores: dict[str, float] = {}
    for name, ids in (("valid", corpus.valid_ids), ("test", corpus.test_ids)):
        if ids.numel() >= 2:
            scores.update(split_scores(model, ids, name))
    if run_dir is not None:
        (Path(run_dir) / EVAL_FILE).write_text(json.dumps(scores, indent=2), encoding="utf-8")
    return scores


def load_lm(run_dir: str | Path, device: str = "cpu") -> tuple[LanguageModel, Vocab, RunConfig]:
    """Rebuild a trained language model from its run directory (no unpickling)."""
    cfg = checkpoint.read_run_config(run_dir, task="lm")
    vocab = checkpoint.load_vocab(run_dir)
    model = LanguageModel(len(vocab), cfg.model)
    checkpoint.load_weights(run_dir, model)
    return model.to(device_of(device)).eval(), vocab, cfg


def evaluate_run(run_dir: str | Path, download: bool = False) -> dict[str, float]:
    """Re-read the run's corpus with its vocabulary and score valid and test."""
    model, vocab, cfg = load_lm(run_dir)
    corpus = load_corpus(cfg.data, download, vocab=vocab)
    return score_run(model, corpus, run_dir)


__all__ = ["LanguageModel", "TrainedLM", "detach_state", "evaluate_nll", "evaluate_run", "load_lm",
           "resolve_normalize", "score_run", "split_scores", "train_lm"]
