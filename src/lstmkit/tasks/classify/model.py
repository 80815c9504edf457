"""The classifier's model, prediction, evaluation and loading (its Task is task.py).

Text classification (IMDB sentiment and any labelled text): the tutorials' most repeated job.

Embedding (optionally pretrained, frozen or fine-tuned) -> (Bi)LSTM/GRU over a padded batch
with lengths (the layers' exact fast path) -> pooling over the real steps -> linear head.
Legend: B batch, T time, E embedding, H hidden, D directions, C classes, V vocab.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.boundary import parse_json
from lstmkit.config import ModelConfig, RunConfig
from lstmkit.data.batching import BucketBatchSampler, pad_batch, padding_mask
from lstmkit.data.text import check_inherited_encoding
from lstmkit.data.tokenize import get_tokenizer
from lstmkit.data.vectors import load_vectors, pretrained_matrix, train_word2vec
from lstmkit.data.vocab import PAD, UNK, Vocab
from lstmkit.errors import DataError, RunDirError
from lstmkit.nn import make_rnn
from lstmkit.tasks.classify.data import EncodedSplit, Prepared, encode, load_examples
from lstmkit.training import checkpoint
from lstmkit.training.build import device_of
from lstmkit.training.memory import check_batches_fit
from lstmkit.training.classification_metrics import ClassificationReport, report

logger = logging.getLogger(__name__)

POOLINGS = ("last", "mean", "max")


class TextClassifier(nn.Module):
    """Embedding -> recurrent layers -> pooling -> dropout -> linear.

    Args:
        vocab_size, num_classes: sizes.
        cfg: model settings (cell, backend, sizes, ``bidirectional``, ``pooling``, dropout).
        pooling: last (each direction's true last step), mean or max over the real steps.
        pad_id: the padding token id (its embedding is zero and gets no gradient).
        embedding: optional pretrained (V, E) weight; ``freeze`` keeps it fixed.

    Shapes: ids (B, T), lengths (B,) -> logits (B, C)

    Example:
        >>> cfg = ModelConfig(embedding_dim=8, hidden_size=16, bidirectional=True)
        >>> model = TextClassifier(50, 3, cfg, pooling="max")
        >>> model(torch.randint(1, 50, (4, 9)), torch.tensor([9, 3, 1, 5])).shape
        torch.Size([4, 3])
    """

    def __init__(self, vocab_size: int, num_classes: int, cfg: ModelConfig, pooling: str = "last", pad_id: int = 0,
                 embedding: Tensor | None = None, freeze: bool = False) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of: {', '.join(POOLINGS)}")
        self.pooling = pooling
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


def check_fits(cfg: RunConfig, split: EncodedSplit, batch_size: int, training: bool, source: str) -> None:
    """Refuse texts whose padded batch cannot fit in memory (see :mod:`lstmkit.training.memory`)."""
    if not training:
        fix = ("shorten the text (this model keeps every token: it was trained with classify.max_len=0; "
               "a run trained with --set classify.max_len=1000 truncates)" if cfg.classify.max_len == 0
               else "give shorter texts")
    elif cfg.classify.max_len == 0:
        fix = "set classify.max_len (e.g. --set classify.max_len=1000) to truncate long texts"
    else:
        fix = "lower classify.max_len or train.batch_size"
    check_batches_fit([len(s) for s in split.ids], batch_size, cfg.model, bidirectional=cfg.model.bidirectional,
                      training=training and source == "training data", source=source, fix=fix,
                      numbered=not training)


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
    return pretrained_matrix(data.vocab, vectors, cfg.model.embedding_dim, lowercase_fallback=v.lowercase_fallback,
                             unknown_init=v.unknown_init, seed=cfg.train.seed)




def load_classifier(run_dir: str | Path, device: str = "cpu", cfg: RunConfig | None = None,
                    labels: list[str] | None = None) -> tuple[TextClassifier, Vocab, RunConfig]:
    """Rebuild a trained classifier from its run directory (no unpickling)."""
    cfg = cfg or checkpoint.read_run_config(run_dir, task="classify")       # a loaded run passes its own
    vocab = checkpoint.load_vocab(run_dir)
    labels = labels or run_labels(run_dir)
    model = checkpoint.build_and_load(
        run_dir, lambda: TextClassifier(len(vocab), len(labels), cfg.model, cfg.classify.pooling, vocab.stoi[PAD]),
        sizes=cfg.model)
    return model.to(device_of(device)).eval(), vocab, cfg


def run_labels(run_dir: str | Path) -> list[str]:
    path = Path(run_dir) / "labels.json"
    if path.is_file():
        path = checkpoint.run_file(run_dir, "labels.json")
    try:
        labels = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunDirError(f"cannot read the labels of {str(run_dir)!r} ({err}); is it a classifier run?") from None
    if (not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) and x for x in labels)
            or len(set(labels)) != len(labels)):
        raise RunDirError(f"{str(path)!r} is damaged: it must list two or more distinct label names; train again")
    return labels


def evaluate_run(run_dir: str | Path, data: str, download: bool = False, device: str = "cpu",
                 encoding: str | None = None) -> tuple[ClassificationReport, float]:
    """Evaluate a saved classifier on ``imdb`` (its test split) or a whole table file, read in
    ``encoding`` (default: the training data's; a file that does not decode is an error).

    Raises:
        DataError: for labels the model never saw, empty texts, unreadable data.
    """
    model, vocab, cfg = load_classifier(run_dir, device)
    labels = run_labels(run_dir)
    if encoding is None:
        check_inherited_encoding(data, cfg.data.encoding)
    data_cfg = dataclasses.replace(cfg.data, path=data, valid_path="", test_path="",
                                   encoding=encoding or cfg.data.encoding)
    train, _, test = load_examples(data_cfg, cfg.classify, download)
    examples = test or train                     # imdb: its test split; a table: the whole file
    tokenize = get_tokenizer(cfg.data.tokenizer)
    split = encode([tokenize(e.text) for e in examples], [e.label for e in examples], vocab, labels,
                   cfg.classify.max_len, data)
    check_fits(cfg, split, 128, False, data)
    return evaluate(model, split, labels, 128, vocab.stoi[PAD], next(model.parameters()).device)


@torch.no_grad()
def predict_texts(model: TextClassifier, vocab: Vocab, labels: Sequence[str], cfg: RunConfig,
                  texts: Sequence[str]) -> list[tuple[str, float]]:
    """Label and probability for each text.

    Raises:
        DataError: for an empty text.
    """
    probs = predict_probabilities(model, vocab, labels, cfg, texts)
    best = probs.argmax(-1)
    return [(labels[int(i)], float(probs[row, i])) for row, i in enumerate(best)]


@torch.no_grad()
def predict_probabilities(model: TextClassifier, vocab: Vocab, labels: Sequence[str], cfg: RunConfig,
                          texts: Sequence[str]) -> Tensor:
    """Class probabilities of each text.  Shapes: -> (N, C)

    Raises:
        DataError: for no texts or an empty text. A text whose words are all unknown to the
            model is classified with a warning (its label says nothing about it).
    """
    if not texts:
        raise DataError("nothing to classify; give at least one text")
    tokenize = get_tokenizer(cfg.data.tokenizer)
    tokens = [tokenize(t) for t in texts]
    for number, toks in enumerate(tokens, 1):
        if not toks:
            raise DataError(f"text {number} is empty; give some words to classify")
    split = encode(tokens, [labels[0]] * len(tokens), vocab, labels, cfg.classify.max_len, "input")
    check_fits(cfg, split, 64, False, "input")
    unk = vocab.stoi.get(UNK)
    for number, ids in enumerate(split.ids, 1):
        if unk is not None and bool((ids == unk).all()):
            logger.warning("text %d has no word the model knows; its label is a guess", number)
    device = next(model.parameters()).device
    probs, _ = predict_split(model, split, 64, vocab.stoi[PAD], device)
    return probs
