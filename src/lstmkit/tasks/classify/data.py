"""Data for text classification: examples from IMDB or a table, a seeded validation split,
tokens, vocabulary, label set, id tensors and length-bucketed batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import torch
from torch import Tensor

from lstmkit.config import DataConfig
from lstmkit.tasks.classify.options import ClassifyOptions
from lstmkit.data.batching import BucketBatchSampler, pad_batch
from lstmkit.data.datasets import imdb
from lstmkit.data.datasets.examples import TextExample
from lstmkit.data.datasets.fetch import cache_dir, candidates
from lstmkit.data.datasets.table import read_table
from lstmkit.data.tokenize import get_tokenizer
from lstmkit.data.vocab import PAD, UNK, Vocab
from lstmkit.errors import DataError, listing

logger = logging.getLogger(__name__)

def imdb_location(download: bool = False) -> Path:
    """Where ``--data imdb`` reads from: ``$LSTMKIT_DATA/imdb``, then ``../shared/data/imdb``,
    then the download cache; with ``download`` the archive is fetched there (MD5 checked)."""
    for candidate in candidates("imdb"):
        if candidate.is_dir() and candidate.parent == cache_dir():
            candidate = candidate / "aclImdb_v1.tar.gz"
        if candidate.exists():
            return candidate
    if download:
        return imdb.download()
    raise DataError("IMDB not found (looked in $LSTMKIT_DATA/imdb, ../shared/data/imdb and the cache); "
                    "pass --download to fetch it, or --data PATH to the aclImdb/ folder or archive")


def imdb_root(cfg: DataConfig, download: bool = False) -> Path | None:
    """The IMDB location when ``data.path`` names IMDB, else None."""
    if cfg.path == "imdb":
        return imdb_location(download)
    if cfg.path and _looks_like_imdb(Path(cfg.path)):
        return Path(cfg.path)
    return None


def load_examples(cfg: DataConfig, cls: ClassifyOptions, download: bool = False
                  ) -> tuple[list[TextExample], list[TextExample], list[TextExample]]:
    """Train, validation and test examples for ``data.path`` (``imdb`` or a table, with
    ``data.valid_path`` and ``data.test_path`` when given; validation is empty without one)."""
    root = imdb_root(cfg, download)
    def table(path: str) -> list[TextExample]:
        return read_table(path, cls.text_column, cls.label_column, cfg.encoding) if path else []
    if root is not None:
        return imdb.read_imdb(root, "train"), table(cfg.valid_path), imdb.read_imdb(root, "test")
    if not cfg.path:
        raise DataError("no data given; pass --data imdb or --data PATH to a CSV/TSV/JSONL file")
    return table(cfg.path), table(cfg.valid_path), table(cfg.test_path)


def _looks_like_imdb(path: Path) -> bool:
    return path.is_dir() or path.name.endswith(".tar.gz")


def split_valid(examples: Sequence[TextExample], fraction: float, seed: int) -> tuple[list, list]:
    """A seeded random share of the training examples for validation."""
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed)).tolist()
    cut = int(len(examples) * fraction)
    return [examples[i] for i in order[cut:]], [examples[i] for i in order[:cut]]


@dataclass
class EncodedSplit:
    ids: list[Tensor]     # each (T_i,)
    labels: Tensor        # (N,)

    def __len__(self) -> int:
        return len(self.ids)


def build_vocab(token_lists: Sequence[list[str]], min_freq: int, max_size: int | None) -> Vocab:
    return Vocab.build(chain.from_iterable(token_lists), specials=[PAD, UNK], min_freq=min_freq,
                       max_size=max_size or None)


def label_names(examples: Sequence[TextExample]) -> list[str]:
    """The sorted label names of the training data."""
    return sorted({e.label for e in examples})


def encode(token_lists: Sequence[list[str]], labels: Sequence[str], vocab: Vocab, names: Sequence[str],
           max_len: int = 0, source: str = "data") -> EncodedSplit:
    """Tokens to id tensors (truncated to ``max_len`` when > 0), labels to class indices.

    Raises:
        DataError: for a label the model was not trained on, or a text with no tokens.
    """
    index = {name: i for i, name in enumerate(names)}
    unseen = sorted(set(labels) - set(index))
    if unseen:
        raise DataError(f"{source} has label(s) [{listing(unseen)}] never seen in training "
                        f"(known: [{listing(names)}]); evaluate on data with the same classes")
    ids = []
    for number, tokens in enumerate(token_lists, 1):
        if not tokens:
            raise DataError(f"{source}: example {number} has no tokens after tokenisation; remove it")
        ids.append(torch.tensor(vocab.encode(tokens[:max_len] if max_len > 0 else tokens), dtype=torch.long))
    return EncodedSplit(ids, torch.tensor([index[label] for label in labels], dtype=torch.long))


def batches(split: EncodedSplit, batch_size: int, pad_id: int, shuffle: bool,
            generator: torch.Generator | None = None) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Length-bucketed batches: ids (B, T), lengths (B,), labels (B,)."""
    sampler = BucketBatchSampler([len(s) for s in split.ids], batch_size, shuffle=shuffle, generator=generator)
    for rows in sampler:
        ids, lengths = pad_batch([split.ids[i] for i in rows], pad_id)
        yield ids, lengths, split.labels[rows]


@dataclass
class Prepared:
    vocab: Vocab
    labels: list[str]
    train: EncodedSplit
    valid: EncodedSplit
    test: EncodedSplit | None
    train_tokens: list[list[str]]
    seconds: float
    unlabelled: list[str]   # IMDB's unlabelled reviews (for word2vec), empty for other data
    embedding: Tensor | None = None   # the pretrained (V, E) matrix, when vectors are given


def prepare(cfg: DataConfig, cls: ClassifyOptions, seed: int, download: bool = False, with_unlabelled: bool = False,
            examples: tuple[list[TextExample], list[TextExample], list[TextExample]] | None = None) -> Prepared:
    """Read (or take ``examples``: train, valid, test), split, tokenise, build the vocabulary
    and encode every split. Without validation examples a seeded share of train is held out."""
    train_all, valid, test = examples if examples is not None else load_examples(cfg, cls, download)
    start = time.perf_counter()
    train, valid = split_valid(train_all, cfg.valid_fraction, seed) if not valid else (list(train_all), list(valid))
    if not valid:
        raise DataError(f"data.valid_fraction={cfg.valid_fraction} leaves no validation examples out of "
                        f"{len(train_all)}; early stopping and the best checkpoint need some (e.g. 0.1)")
    tokenize = get_tokenizer(cfg.tokenizer)
    train_tokens = [tokenize(e.text) for e in train]
    vocab = build_vocab(train_tokens, cfg.min_freq, cfg.max_vocab)
    names = label_names(train)
    if len(names) < 2:
        raise DataError(f"the training data has {len(names)} class(es) {names}; classification needs at least 2")

    def enc(examples: Sequence[TextExample], tokens: list[list[str]] | None, source: str) -> EncodedSplit:
        tokens = tokens if tokens is not None else [tokenize(e.text) for e in examples]
        return encode(tokens, [e.label for e in examples], vocab, names, cls.max_len, source)

    encoded_train = enc(train, train_tokens, "training data")
    encoded_valid = enc(valid, None, "validation data")
    encoded_test = enc(test, None, "test data") if test else None
    seconds = time.perf_counter() - start
    logger.info("data: %d train / %d valid / %d test examples, %d classes, vocabulary %d, prepared in %.1fs",
                len(train), len(valid), len(test), len(names), len(vocab), seconds)
    root = imdb_root(cfg)
    unlabelled = [e.text for e in imdb.read_imdb(root, "unsup")] if root is not None and with_unlabelled else []
    return Prepared(vocab, names, encoded_train, encoded_valid, encoded_test, train_tokens, seconds, unlabelled)
