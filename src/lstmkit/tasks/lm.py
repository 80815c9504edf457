"""Character language model: the tutorial's job (d2l.ai ch. 8-9) done with lstmkit's pieces.

Embedding -> LSTM/GRU/peephole -> linear over the vocabulary; trained with truncated BPTT
(state carried and detached between sequential batches), gradient clipping, perplexity;
generates text from a prefix. Legend: B batch, T time, E embedding, H hidden, V vocab.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import DataConfig, ModelConfig, RunConfig
from lstmkit.data.batching import SAMPLERS, num_batches
from lstmkit.data.text import read_text, sample_path
from lstmkit.data.tokenize import letters_only
from lstmkit.data.vocab import Vocab
from lstmkit.errors import DataError
from lstmkit.nn import make_rnn
from lstmkit.train import checkpoint
from lstmkit.train.build import device_of, make_optimizer
from lstmkit.train.hooks import LogEpoch, MetricsFile, PlotMetrics, SaveBest, TimeBudget
from lstmkit.train.metrics import bits_per_token, perplexity
from lstmkit.train.trainer import Trainer

logger = logging.getLogger(__name__)

State = Tensor | tuple[Tensor, ...]


class LanguageModel(nn.Module):
    """Embedding -> recurrent layers -> vocabulary logits.

    Shapes: tokens (B, T) -> logits (B, T, V); state as the recurrent layer's.

    Example:
        >>> model = LanguageModel(28, ModelConfig(hidden_size=16, embedding_dim=8))
        >>> logits, state = model(torch.zeros(2, 5, dtype=torch.long))
        >>> logits.shape
        torch.Size([2, 5, 28])
    """

    def __init__(self, vocab_size: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.embedding_dim)
        self.rnn = make_rnn(cfg.cell, cfg.embedding_dim, cfg.hidden_size, num_layers=cfg.num_layers,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, batch_first=True,
                            backend=cfg.backend)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size, vocab_size)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        x = self.drop(self.embed(tokens))                      # (B, T) -> (B, T, E)
        out, state = self.rnn(x, state)                        # (B, T, H)
        return self.head(self.drop(out)), state                # (B, T, V)


def detach_state(state: State | None) -> State | None:
    """Cut the graph at a BPTT window, keeping the values."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@dataclass
class Corpus:
    text: str
    vocab: Vocab
    train_ids: Tensor   # (N_train,)
    valid_ids: Tensor   # (N_valid,)
    normalize: str


def resolve_normalize(cfg: DataConfig) -> str:
    """``auto``: the tutorial's letters-only text for the shipped sample, raw text otherwise."""
    if cfg.normalize != "auto":
        return cfg.normalize
    return "none" if cfg.path else "letters"


def load_corpus(cfg: DataConfig) -> Corpus:
    """Read, normalise, build the character vocabulary and split train/valid (the tail).

    Raises:
        DataError: for a missing, empty or undecodable file, or one too short to split.
    """
    path = cfg.path or sample_path("timemachine")
    text = read_text(path, cfg.encoding)
    normalize = resolve_normalize(cfg)
    if normalize == "letters":
        text = letters_only(text)
        if not text:
            raise DataError(f"{str(path)!r} has no Latin letters; use --set data.normalize=none")
    vocab = Vocab.build(list(text), specials=())
    ids = torch.tensor(vocab.encode(text), dtype=torch.long)
    num_valid = int(len(ids) * cfg.valid_fraction)
    if len(ids) - num_valid < 2:
        raise DataError(f"{str(path)!r} is too short to train on ({len(ids)} characters)")
    return Corpus(text, vocab, ids[: len(ids) - num_valid], ids[len(ids) - num_valid :], normalize)


@torch.no_grad()
def evaluate_nll(model: LanguageModel, ids: Tensor, window: int = 256) -> float:
    """Mean NLL per token over a whole stream, state carried window to window (batch 1)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    for start in range(0, ids.numel() - 1, window):
        x = ids[start : start + window].to(device)[None]             # (1, T)
        y = ids[start + 1 : start + window + 1].to(device)[None]     # (1, T')
        x = x[:, : y.size(1)]
        logits, state = model(x, state)                               # (1, T, V)
        total += float(F.cross_entropy(logits[0], y[0], reduction="sum"))
        count += y.numel()
    model.train(was_training)
    return total / max(count, 1)


def train_lm(cfg: RunConfig, run_dir: str | Path, progress: bool = False) -> tuple[LanguageModel, Vocab, list[dict]]:
    """Train a character LM and save it to ``run_dir`` (the best epoch by validation loss).

    Returns:
        The trained model (the last epoch's weights), its vocabulary and the metrics per epoch.
    """
    device = device_of(cfg.train.device)
    corpus = load_corpus(cfg.data)
    t = cfg.train
    torch.manual_seed(t.seed)
    model = LanguageModel(len(corpus.vocab), cfg.model).to(device)
    optimizer = make_optimizer(model.parameters(), t)
    logger.info("corpus: %d train / %d valid characters, vocabulary %d (%s text)",
                corpus.train_ids.numel(), corpus.valid_ids.numel(), len(corpus.vocab), corpus.normalize)

    sampler = SAMPLERS[t.sampling]
    carried: dict[str, State | None] = {"state": None}

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor]]:
        carried["state"] = None                                       # a new stream each epoch
        generator = torch.Generator().manual_seed(t.seed * 1000 + epoch)
        return sampler(corpus.train_ids, t.batch_size, t.num_steps, generator)

    def step(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
        x, y = (b.to(device) for b in batch)                           # (B, T) each
        state = detach_state(carried["state"]) if t.sampling == "sequential" else None
        logits, carried["state"] = model(x, state)                    # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        return loss, y.numel()

    def evaluate() -> dict[str, float]:
        if corpus.valid_ids.numel() < 2:
            return {}
        nll = evaluate_nll(model, corpus.valid_ids)
        return {"valid_loss": nll, "valid_ppl": perplexity(nll), "valid_bpc": bits_per_token(nll)}

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus.vocab.save(run_dir / checkpoint.VOCAB)
    hooks = [
        LogEpoch(["train_ppl", "valid_ppl", "tokens_per_s"]),
        MetricsFile(run_dir),
        PlotMetrics(run_dir / "perplexity.png", ["train_ppl", "valid_ppl"], "perplexity"),
        SaveBest(lambda: checkpoint.save_run(run_dir, model, cfg, corpus.vocab),
                 "valid_loss" if corpus.valid_ids.numel() >= 2 else "train_loss"),
    ]
    if t.max_minutes > 0:
        hooks.append(TimeBudget(t.max_minutes))
    trainer = Trainer(model, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress)
    state = trainer.fit(t.epochs, batches, step, evaluate,
                        num_batches(corpus.train_ids.numel(), t.batch_size, t.num_steps))
    return model, corpus.vocab, state.history


def load_lm(run_dir: str | Path, device: str = "cpu") -> tuple[LanguageModel, Vocab, RunConfig]:
    """Rebuild a trained language model from its run directory (no unpickling)."""
    cfg = checkpoint.read_run_config(run_dir)
    if cfg.task != "lm":
        raise DataError(f"{str(run_dir)!r} holds a {cfg.task!r} model, not a language model")
    vocab = checkpoint.load_vocab(run_dir)
    model = LanguageModel(len(vocab), cfg.model)
    checkpoint.load_weights(run_dir, model)
    return model.to(device_of(device)).eval(), vocab, cfg


def prepare_prefix(prefix: str, vocab: Vocab, normalize: str) -> list[int]:
    """Encode a prefix; with letters-only training, the prefix is lower-cased first.

    Raises:
        DataError: for an empty prefix or one with characters outside the vocabulary.
    """
    if normalize == "letters":
        prefix = prefix.lower()
    if not prefix:
        raise DataError("the prefix is empty; give at least one character to start from")
    unknown = vocab.unknown(prefix)
    if unknown:
        shown = "".join(sorted(vocab.itos))
        raise DataError(
            f"prefix characters {''.join(unknown)!r} are not in the model's vocabulary; "
            f"use only these characters: {shown!r}"
        )
    return vocab.encode(prefix)


def _pick(logits: Tensor, temperature: float, top_k: int, generator: torch.Generator | None) -> int:
    """Greedy when temperature is 0, else sample from the (top-k) softmax.  logits (V,)"""
    if temperature == 0:
        return int(logits.argmax())
    logits = logits / temperature
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = torch.softmax(logits.float(), dim=-1).cpu()
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.no_grad()
def generate(
    model: LanguageModel,
    vocab: Vocab,
    prefix: str,
    length: int,
    normalize: str = "none",
    temperature: float = 0.0,
    top_k: int = 0,
    seed: int | None = None,
) -> str:
    """Warm the state up on ``prefix`` (the tutorial's warm-up), then emit ``length`` characters.

    Args:
        temperature: 0 for greedy (the tutorial's argmax), > 0 to sample.
        top_k: sample only among the k most likely characters (0 = all).
        seed: seed of the sampling generator, for reproducible samples.

    Raises:
        DataError: for a bad prefix; ValueError for length < 1, temperature < 0 or top_k < 0.
    """
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 = no limit), got {top_k}")
    ids = prepare_prefix(prefix, vocab, normalize)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    model.eval()
    logits, state = model(torch.tensor([ids], device=device))         # (1, T_prefix, V)
    out: list[int] = []
    for _ in range(length):
        out.append(_pick(logits[0, -1], temperature, top_k, generator))
        logits, state = model(torch.tensor([[out[-1]]], device=device), state)  # (1, 1, V)
    return "".join(vocab.decode(ids + out))
