"""Data for language models: a corpus's parts as token-id streams, at character or word level.

Character level: every character is a token (newlines included). Word level: each line is
split by ``data.tokenizer`` and ends with ``<eos>``, as Mikolov's PTB set-up does (PTB itself
is pre-tokenised, so it is always split on whitespace). Chinese works either way: characters,
or words cut by jieba (``--level word --tokenizer jieba``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import Tensor

from lstmkit.config import DataConfig
from lstmkit.tasks.lm.options import LMOptions
from lstmkit.data.datasets.corpora import read_corpus
from lstmkit.data.tokenize import get_tokenizer, letters_only
from lstmkit.data.vocab import EOS, UNK, Vocab
from lstmkit.errors import DataError

logger = logging.getLogger(__name__)


@dataclass
class Corpus:
    vocab: Vocab
    train_ids: Tensor   # (N_train,)
    valid_ids: Tensor   # (N_valid,), may be empty
    test_ids: Tensor    # (N_test,), empty when the corpus has no test part
    normalize: str      # what was done to the text: letters or none
    tokenizer: str      # char, or the word tokenizer's name
    source: str


def resolve_normalize(cfg: DataConfig, lm: LMOptions) -> str:
    """``auto``: the tutorial's letters-only text for the shipped sample, raw text otherwise."""
    if lm.normalize != "auto":
        return lm.normalize
    return "letters" if cfg.path in ("", "timemachine") else "none"


def word_tokenizer(cfg: DataConfig) -> str:
    """PTB is pre-tokenised (``<unk>`` must stay one token); other corpora use data.tokenizer."""
    return "whitespace" if cfg.path == "ptb" else cfg.tokenizer


def tokens_of(text: str, level: str, tokenizer: str = "whitespace") -> list[str]:
    """Character tokens, or per-line word tokens each line closed by ``<eos>``.

    Example:
        >>> tokens_of("a b\\n\\nc\\n", "word")
        ['a', 'b', '<eos>', 'c', '<eos>']
        >>> tokens_of("ab\\n", "char")
        ['a', 'b', '\\n']
    """
    if level == "char":
        return list(text)
    split = get_tokenizer(tokenizer)
    tokens: list[str] = []
    for line in text.split("\n"):
        words = split(line)
        if words:
            tokens += [*words, EOS]
    return tokens


def load_corpus(cfg: DataConfig, lm: LMOptions, download: bool = False, vocab: Vocab | None = None) -> Corpus:
    """Read the corpus named by ``data.path``, tokenise its parts and build the vocabulary on
    the training part (tokens of valid/test outside it become ``<unk>``), or use ``vocab``
    (a trained model's) as given.

    Raises:
        DataError: for a missing, empty or undecodable corpus, or one too short to train on.
    """
    splits = read_corpus(cfg.path or "timemachine", cfg.valid_fraction, cfg.encoding, download)
    normalize = resolve_normalize(cfg, lm)
    parts = [splits.train, splits.valid, splits.test]
    if normalize == "letters":
        parts = [letters_only(p) for p in parts]
        if not parts[0].strip():
            raise DataError(f"{splits.source!r} has no Latin letters; use --set lm.normalize=none")
    tokenizer = "char" if lm.level == "char" else word_tokenizer(cfg)
    train, valid, test = (tokens_of(p, lm.level, tokenizer) for p in parts)
    if len(train) < 2:
        raise DataError(f"{splits.source!r} is too short to train on ({len(train)} tokens in its training part)")
    if vocab is not None:
        pass
    elif lm.level == "char":
        seen = set(train)
        unseen = any(t not in seen for t in valid) or any(t not in seen for t in test)
        vocab = Vocab.build(train, specials=(UNK,) if unseen else ())
    else:
        vocab = Vocab.build(train, specials=(UNK,), min_freq=cfg.min_freq, max_size=cfg.max_vocab or None)
    ids = [torch.tensor(vocab.encode(t), dtype=torch.long) for t in (train, valid, test)]
    if vocab.unk_id is not None:
        unknown = [int((i == vocab.unk_id).sum()) for i in ids]
        logger.info("tokens mapped to <unk>: train %d, valid %d, test %d", *unknown)
    return Corpus(vocab, *ids, normalize=normalize, tokenizer=tokenizer, source=splits.source)
