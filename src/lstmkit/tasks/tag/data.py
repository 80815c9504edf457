"""Data for sequence tagging: sentences from a treebank, a word/tag file or raw Chinese tagged by
jieba; word, character and tag vocabularies; padded batches with each word's characters.

Legend: B batch, T words per sentence, N words in the batch, L characters per word.
"""

from __future__ import annotations

import logging
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from lstmkit.config import DataConfig
from lstmkit.tasks.tag.options import TagOptions
from lstmkit.data.batching import BucketBatchSampler, pad_batch
from lstmkit.data.datasets.treebank import (
    TREEBANKS, TaggedSentence, jieba_tagged, locate_treebank, read_conllu, read_word_tag,
)
from lstmkit.data.text import read_text
from lstmkit.data.vocab import PAD, UNK, Vocab
from lstmkit.errors import DataError

logger = logging.getLogger(__name__)

MAX_WORD_CHARS = 30          # longer words (URLs, numbers) are cut for the character encoder


@dataclass
class TagSplits:
    train: list[TaggedSentence]
    valid: list[TaggedSentence]
    test: list[TaggedSentence]
    source: str


def read_sentences(path: str | Path, fmt: str, column: str, encoding: str = "utf-8") -> list[TaggedSentence]:
    """One file in ``fmt``: conllu, word-tag, jieba (raw Chinese), or auto (by extension)."""
    path = Path(path)
    if fmt == "auto":
        fmt = "conllu" if path.suffix == ".conllu" else "word-tag"
    if fmt == "conllu":
        return read_conllu(path, column, encoding)
    if fmt == "jieba":
        return jieba_tagged(read_text(path, encoding))
    return read_word_tag(path, encoding)


def split_off(sentences: list[TaggedSentence], fraction: float, seed: int) -> tuple[list, list]:
    """A seeded random ``fraction`` of the sentences for validation."""
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    cut = max(1, int(len(sentences) * fraction)) if fraction > 0 and len(sentences) > 1 else 0
    held = set(order[:cut])
    return [s for i, s in enumerate(sentences) if i not in held], [s for i, s in enumerate(sentences) if i in held]


def load_splits(cfg: DataConfig, tag: TagOptions, download: bool = False, seed: int = 0) -> TagSplits:
    """Train/valid/test sentences for ``data.path``: a named treebank (its own dev and test), or
    a file (valid = ``data.valid_path`` if given, else a seeded share of it; test =
    ``data.test_path`` if given).

    Raises:
        DataError: for a missing or malformed file.
    """
    def read(path: str) -> list[TaggedSentence]:
        return read_sentences(path, tag.format, tag.column, cfg.encoding) if path else []
    if cfg.path in TREEBANKS:
        paths = locate_treebank(cfg.path, download)
        parts = {s: read_conllu(p, tag.column, cfg.encoding) for s, p in paths.items()}
        return TagSplits(parts["train"], read(cfg.valid_path) or parts["dev"], read(cfg.test_path) or parts["test"],
                         cfg.path)
    if not cfg.path:
        raise DataError("tagging needs --data: ud-en-ewt, ud-zh, a .conllu file, a word/tag file, "
                        "or raw Chinese text with --format jieba")
    train, valid = read(cfg.path), read(cfg.valid_path)
    if not valid:
        train, valid = split_off(train, cfg.valid_fraction, seed)
    return TagSplits(train, valid, read(cfg.test_path), cfg.path)


def fold_forms(word: str) -> str:
    """Full-width forms as their ASCII twins (NFKC: ，-> ,  ２ -> 2  Ａ -> A) and the ideographic
    full stop 。 as '.', so text typed either way meets one vocabulary: UD Chinese 1.4 writes ASCII
    punctuation, most Chinese text (and jieba's output) full-width.

    Example:
        >>> fold_forms("，"), fold_forms("。"), fold_forms("２０２６年"), fold_forms("、")
        (',', '.', '2026年', '、')
    """
    return unicodedata.normalize("NFKC", word).replace("。", ".")


def word_key(word: str) -> str:
    """The word embedding's key: forms folded, lower case, digits folded to 0 (case and digits stay
    visible to the character encoder)."""
    return "".join("0" if c.isdigit() else c for c in fold_forms(word).lower())


@dataclass
class TagVocabs:
    words: Vocab          # word_key forms, <pad> 0, <unk> 1
    chars: Vocab          # characters, <pad> 0, <unk> 1
    tags: Vocab           # training tags, no specials

    @classmethod
    def build(cls, sentences: Sequence[TaggedSentence], min_freq: int = 1, max_size: int | None = None) -> TagVocabs:
        words = Vocab.build((word_key(w) for s in sentences for w in s.words), specials=(PAD, UNK),
                            min_freq=min_freq, max_size=max_size)
        chars = Vocab.build((c for s in sentences for w in s.words for c in fold_forms(w)), specials=(PAD, UNK))
        tags = Vocab.build((t for s in sentences for t in s.tags), specials=())
        return cls(words, chars, tags)


@dataclass
class TagBatch:
    words: Tensor          # (B, T) word ids, 0 = padding
    lengths: Tensor        # (B,)
    chars: Tensor          # (N, L) character ids of the N real words, row-major over (B, T)
    char_lengths: Tensor   # (N,)
    tags: Tensor           # (B, T) tag ids, -1 where unknown or padded


def encode_batch(sentences: Sequence[TaggedSentence], vocabs: TagVocabs) -> TagBatch:
    """Pad a list of sentences into one batch (tags outside the tag vocabulary become -1)."""
    words, _ = pad_batch([torch.tensor(vocabs.words.encode(word_key(w) for w in s.words)) for s in sentences])
    lengths = torch.tensor([len(s.words) for s in sentences])
    flat = [fold_forms(w)[:MAX_WORD_CHARS] for s in sentences for w in s.words]
    chars, char_lengths = pad_batch([torch.tensor(vocabs.chars.encode(w)) for w in flat])
    tags = torch.full(words.shape, -1, dtype=torch.long)
    for row, s in enumerate(sentences):
        tags[row, : len(s.tags)] = torch.tensor([vocabs.tags.stoi.get(t, -1) for t in s.tags])
    return TagBatch(words, lengths, chars, char_lengths, tags)


def sentence_batches(sentences: Sequence[TaggedSentence], batch_size: int, shuffle: bool,
                     generator: torch.Generator | None = None) -> Iterator[list[TaggedSentence]]:
    """Length-bucketed lists of sentences (sorted within pools when shuffling, in order otherwise)."""
    if not sentences:
        return
    sampler = BucketBatchSampler([len(s.words) for s in sentences], batch_size, shuffle=shuffle, generator=generator)
    for indices in sampler:
        yield [sentences[i] for i in indices]


def batches(sentences: Sequence[TaggedSentence], vocabs: TagVocabs, batch_size: int, shuffle: bool,
            generator: torch.Generator | None = None) -> Iterator[TagBatch]:
    """Length-bucketed, encoded batches."""
    for chunk in sentence_batches(sentences, batch_size, shuffle, generator):
        yield encode_batch(chunk, vocabs)


def check_sentences(sentences: Sequence[TaggedSentence], where: str) -> None:
    """Raises DataError for a sentence without words or with words and tags of unequal count."""
    for i, s in enumerate(sentences):
        if not s.words:
            raise DataError(f"{where}: sentence {i + 1} has no tokens")
        if len(s.words) != len(s.tags):
            raise DataError(f"{where}: sentence {i + 1} has {len(s.words)} words but {len(s.tags)} tags")
