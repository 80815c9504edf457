"""Text classification (IMDB sentiment and any labelled text): the tutorials' most repeated job.

Embedding (optionally pretrained, frozen or fine-tuned) -> (Bi)LSTM/GRU over a padded batch
with lengths (the layers' exact fast path) -> pooling over the real steps -> linear head.
Legend: B batch, T time, E embedding, H hidden, D directions, C classes, V vocab.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.data.batching import BucketBatchSampler, pad_batch, padding_mask
from lstmkit.data.tokenize import get_tokenizer
from lstmkit.data.vectors import embedding_matrix, load_vectors, save_vectors, train_word2vec
from lstmkit.data.vocab import PAD, Vocab
from lstmkit.errors import ConfigError, DataError, RunDirError
from lstmkit.nn import make_rnn
from lstmkit.tasks.classify_data import EncodedSplit, Prepared, batches, encode, load_examples, prepare
from lstmkit.train import checkpoint, distributed
from lstmkit.train.build import device_of, make_optimizer
from lstmkit.train.classification_metrics import ClassificationReport, report
from lstmkit.train.hooks import (
    EarlyStopping, LogEpoch, MetricsFile, PlotMetrics, SaveBest, SaveTrainingState, TimeBudget,
)
from lstmkit.train.trainer import Trainer

logger = logging.getLogger(__name__)

POOLINGS = ("last", "mean", "max")


class TextClassifier(nn.Module):
    """Embedding -> recurrent layers -> pooling -> dropout -> linear.

    Args:
        vocab_size, num_classes: sizes.
        cfg: model settings (cell, backend, sizes, ``bidirectional``, ``pooling``, dropout).
        pad_id: the padding token id (its embedding is zero and gets no gradient).
        embedding: optional pretrained (V, E) weight; ``freeze`` keeps it fixed.

    Shapes: ids (B, T), lengths (B,) -> logits (B, C)

    Example:
        >>> cfg = ModelConfig(embedding_dim=8, hidden_size=16, bidirectional=True, pooling="max")
        >>> model = TextClassifier(50, 3, cfg)
        >>> model(torch.randint(1, 50, (4, 9)), torch.tensor([9, 3, 1, 5])).shape
        torch.Size([4, 3])
    """

    def __init__(self, vocab_size: int, num_classes: int, cfg: ModelConfig, pad_id: int = 0,
                 embedding: Tensor | None = None, freeze: bool = False) -> None:
        super().__init__()
        if cfg.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {cfg.pooling!r}; choose one of: {', '.join(POOLINGS)}")
        self.pooling = cfg.pooling
        self.embed = nn.Embedding(vocab_size, cfg.embedding_dim, padding_idx=pad_id)
        if embedding is not None:
            if tuple(embedding.shape) != (vocab_size, cfg.embedding_dim):
                raise ValueError(f"pretrained embedding has shape {tuple(embedding.shape)}, the model needs "
                                 f"({vocab_size}, {cfg.embedding_dim}); set model.embedding_dim={embedding.size(1)}")
            self.embed.weight.data.copy_(embedding)
        self.embed.weight.requires_grad_(not freeze)
        self.rnn = make_rnn(cfg.cell, cfg.embedding_dim, cfg.hidden_size, num_layers=cfg.num_layers,
                            bidirectional=cfg.bidirectional, batch_first=True, backend=cfg.backend,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.num_directions = 2 if cfg.bidirectional else 1
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.num_directions * cfg.hidden_size, num_classes)

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        x = self.drop(self.embed(ids))                                      # (B, T) -> (B, T, E)
        out, state = self.rnn(x, lengths=lengths, need_cell_state=False)    # (B, T, D*H)
        h_n = state[0] if isinstance(state, tuple) else state               # (L*D, B, H)
        if self.pooling == "last":                                          # true last step per direction
            pooled = torch.cat(list(h_n[-self.num_directions:]), dim=-1)    # (B, D*H)
        else:
            mask = padding_mask(lengths.to(out.device), out.size(1)).unsqueeze(-1)  # (B, T, 1)
            if self.pooling == "mean":
                pooled = (out * mask).sum(1) / lengths.to(out.device).unsqueeze(1)  # (B, D*H)
            else:
                pooled = out.masked_fill(~mask, float("-inf")).amax(1)          # (B, D*H)
        return self.head(self.drop(pooled))                                 # (B, C)


@torch.no_grad()
def predict_split(model: TextClassifier, split: EncodedSplit, batch_size: int, pad_id: int,
                  device: torch.device, autocast: bool = False) -> tuple[Tensor, Tensor]:
    """Probabilities and labels in the split's order. Shapes: -> probs (N, C), labels (N,)"""
    model.eval()
    sampler = BucketBatchSampler([len(s) for s in split.ids], batch_size, shuffle=False)
    probs: list[Tensor] = []
    order: list[int] = []
    for rows in sampler:
        ids, lengths = pad_batch([split.ids[i] for i in rows], pad_id)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            logits = model(ids.to(device), lengths)
        probs.append(F.softmax(logits.float(), dim=-1).cpu())
        order += rows
    result = torch.empty(len(split), probs[0].size(1))
    result[torch.tensor(order)] = torch.cat(probs)
    return result, split.labels


def evaluate(model: TextClassifier, split: EncodedSplit, label_names: Sequence[str], batch_size: int,
             pad_id: int, device: torch.device, autocast: bool = False) -> tuple[ClassificationReport, float]:
    """Report and mean cross-entropy of a split."""
    probs, labels = predict_split(model, split, batch_size, pad_id, device, autocast)
    nll = float(F.nll_loss(probs.clamp(min=1e-12).log(), labels))
    return report(labels, probs.argmax(-1), label_names), nll



def pretrained_embedding(cfg: RunConfig, data: Prepared) -> Tensor | None:
    """The (V, E) matrix from ``vectors.path`` (a file, or ``word2vec`` to train one), or None."""
    v = cfg.vectors
    if not v.path:
        return None
    if v.path == "word2vec":
        corpus = list(data.train_tokens)
        if v.word2vec_unlabelled and data.unlabelled:
            tokenize = get_tokenizer(cfg.data.tokenizer)
            corpus += [tokenize(text) for text in data.unlabelled]
        logger.info("training word2vec (%d-d) on %d texts", v.word2vec_dim, len(corpus))
        vectors = train_word2vec(corpus, dim=v.word2vec_dim, epochs=v.word2vec_epochs, seed=cfg.train.seed)
    else:
        vectors = load_vectors(v.path)
    if vectors.dim != cfg.model.embedding_dim:
        raise ConfigError(f"the vectors have dimension {vectors.dim} but model.embedding_dim is "
                          f"{cfg.model.embedding_dim}; pass --embedding-dim {vectors.dim}")
    generator = torch.Generator().manual_seed(cfg.train.seed)
    weight, coverage = embedding_matrix(data.vocab, vectors, v.lowercase_fallback, v.unknown_init,
                                        generator=generator)
    logger.info("pretrained vectors: %d x %d, %.1f%% of the vocabulary covered", *weight.shape, 100 * coverage.fraction)
    return weight


def _step_fn(trained: nn.Module, rank: distributed.Rank, device: torch.device, bf16: bool):
    """Loss of one global batch on this rank's share of it."""

    def step(batch: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, int, int]:
        ids, lengths, labels = batch
        global_size = len(labels)
        if rank.world > 1:
            rows = rank.slice(list(range(global_size)))
            ids, lengths, labels = ids[rows], lengths[rows], labels[rows]
            ids = ids[:, : int(lengths.max())]                               # (b, T')
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = trained(ids.to(device), lengths)                        # (b, C)
        # sum * world / B: the global batch's mean once DDP averages the ranks' gradients,
        # and the plain mean in one process.
        loss = F.cross_entropy(logits.float(), labels.to(device), reduction="sum") * rank.world / global_size
        return loss, labels.numel(), int(lengths.sum())

    return step


def _resume(run_dir: Path, data: Prepared, model: nn.Module, optimizer: torch.optim.Optimizer,
            generator: torch.Generator) -> tuple[int, list]:
    saved_vocab = checkpoint.load_vocab(run_dir)
    if saved_vocab.itos != data.vocab.itos:
        raise RunDirError(f"the data of {str(run_dir)!r} no longer gives the vocabulary it was trained with; "
                          "resume with the same data and data settings")
    last_epoch, history = checkpoint.load_training_state(run_dir, model, optimizer, generator)
    logger.info("resuming %s after epoch %d", run_dir, last_epoch)
    return last_epoch + 1, history


def train_classifier(cfg: RunConfig, run_dir: str | Path, progress: bool = False, download: bool = False,
                     save_vectors_too: bool = False, resume: bool = False) -> dict:
    """Train, keep the best epoch by validation loss, evaluate it on the test split.

    Under ``torchrun`` the ranks train data-parallel (:mod:`lstmkit.train.distributed`) and
    rank 0 alone writes ``run_dir``.

    Args:
        resume: go on from the last epoch saved in ``run_dir`` (weights, optimizer, history,
            sampler state) up to ``cfg.train.epochs``.

    Returns:
        A summary with the metrics per epoch, the test report and timings.
    """
    t = cfg.train
    device = device_of(t.device)
    rank = distributed.setup(device)
    data = prepare(cfg.data, t.seed, download,
                   with_unlabelled=cfg.vectors.path == "word2vec" and cfg.vectors.word2vec_unlabelled)
    embedding = pretrained_embedding(cfg, data)
    torch.manual_seed(t.seed)
    pad_id = data.vocab.stoi[PAD]
    model = TextClassifier(len(data.vocab), len(data.labels), cfg.model, pad_id, embedding,
                           freeze=cfg.vectors.freeze).to(device)
    trained = distributed.wrap(model, rank)                                # DDP when torchrun started us
    optimizer = make_optimizer(model.parameters(), t)
    generator = torch.Generator().manual_seed(t.seed)
    # Every rank resumes from the run directory; only rank 0 writes there.
    start_epoch, history = _resume(Path(run_dir), data, model, optimizer, generator) if resume else (1, [])
    run_dir = Path(run_dir) if rank.is_main else Path(tempfile.mkdtemp(prefix=f"lstmkit-rank{rank.rank}-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    data.vocab.save(run_dir / checkpoint.VOCAB)
    (run_dir / "labels.json").write_text(json.dumps(data.labels, ensure_ascii=False), encoding="utf-8")

    def validate() -> dict[str, float]:
        rep, nll = evaluate(model, data.valid, data.labels, t.batch_size * 2, pad_id, device, t.bf16)
        return {"valid_loss": nll, "valid_acc": rep.accuracy}

    hooks = [LogEpoch(["train_loss", "valid_loss", "valid_acc", "tokens_per_s"]), MetricsFile(run_dir),
             PlotMetrics(run_dir / "loss.png", ["train_loss", "valid_loss"], "cross-entropy"),
             SaveBest(lambda: checkpoint.save_run(run_dir, model, cfg, data.vocab), "valid_loss"),
             SaveTrainingState(run_dir, model, optimizer, generator)]
    hooks += [EarlyStopping("valid_loss", t.patience)] if t.patience > 0 else []
    # several processes stop together only at epoch ends (SyncStop), so mid-epoch stops are single-process
    hooks += [TimeBudget(t.max_minutes, t.stop_mid_epoch and rank.world == 1)] if t.max_minutes > 0 else []
    hooks += [distributed.SyncStop()] if rank.world > 1 else []
    trainer = Trainer(trained, optimizer, clip_norm=t.clip_norm, hooks=hooks, progress=progress and rank.is_main)
    state = trainer.fit(t.epochs, lambda epoch: batches(data.train, t.batch_size, pad_id, True, generator),
                        _step_fn(trained, rank, device, t.bf16), validate, -(-len(data.train) // t.batch_size),
                        start_epoch, history)
    best, _, _ = load_classifier(run_dir, t.device)
    summary = {"history": state.history, "train_seconds": state.history[-1]["elapsed_s"],
               "prepare_seconds": data.seconds, "labels": data.labels, "vocab_size": len(data.vocab),
               "train_tokens_per_epoch": sum(len(x) for x in data.train.ids)}
    if data.test is not None:
        rep, nll = evaluate(best, data.test, data.labels, t.batch_size * 2, pad_id, device, t.bf16)
        summary["test"] = {**rep.to_dict(), "loss": nll}
        (run_dir / "eval.json").write_text(json.dumps(summary["test"], indent=2), encoding="utf-8")
        (run_dir / "eval.txt").write_text(rep.as_text() + "\n", encoding="utf-8")
    if save_vectors_too:
        save_vectors(run_dir / "vectors", data.vocab, best.embed.weight)
    if rank.world > 1:
        distributed.teardown()
    return summary


def load_classifier(run_dir: str | Path, device: str = "cpu") -> tuple[TextClassifier, Vocab, RunConfig]:
    """Rebuild a trained classifier from its run directory (no unpickling)."""
    cfg = checkpoint.read_run_config(run_dir, task="classify")
    vocab = checkpoint.load_vocab(run_dir)
    labels = run_labels(run_dir)
    model = TextClassifier(len(vocab), len(labels), cfg.model, vocab.stoi[PAD])
    checkpoint.load_weights(run_dir, model)
    return model.to(device_of(device)).eval(), vocab, cfg


def run_labels(run_dir: str | Path) -> list[str]:
    path = Path(run_dir) / "labels.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunDirError(f"cannot read the labels of {str(run_dir)!r} ({err}); is it a classifier run?") from None


def evaluate_run(run_dir: str | Path, data: str, download: bool = False) -> tuple[ClassificationReport, float]:
    """Evaluate a saved classifier on ``imdb`` (its test split) or a whole table file.

    Raises:
        DataError: for labels the model never saw, empty texts, unreadable data.
    """
    model, vocab, cfg = load_classifier(run_dir)
    labels = run_labels(run_dir)
    train, test = load_examples(dataclasses.replace(cfg.data, path=data, test_path=""), download)
    examples = test or train                     # imdb: its test split; a table: the whole file
    tokenize = get_tokenizer(cfg.data.tokenizer)
    split = encode([tokenize(e.text) for e in examples], [e.label for e in examples], vocab, labels,
                   cfg.data.max_len, data)
    return evaluate(model, split, labels, 128, vocab.stoi[PAD], next(model.parameters()).device)


@torch.no_grad()
def predict_texts(model: TextClassifier, vocab: Vocab, labels: Sequence[str], cfg: RunConfig,
                  texts: Sequence[str]) -> list[tuple[str, float]]:
    """Label and probability for each text.

    Raises:
        DataError: for an empty text.
    """
    tokenize = get_tokenizer(cfg.data.tokenizer)
    tokens = [tokenize(t) for t in texts]
    for number, toks in enumerate(tokens, 1):
        if not toks:
            raise DataError(f"text {number} is empty; give some words to classify")
    split = encode(tokens, [labels[0]] * len(tokens), vocab, labels, cfg.data.max_len, "input")
    device = next(model.parameters()).device
    probs, _ = predict_split(model, split, 64, vocab.stoi[PAD], device)
    best = probs.argmax(-1)
    return [(labels[int(i)], float(probs[row, i])) for row, i in enumerate(best)]
