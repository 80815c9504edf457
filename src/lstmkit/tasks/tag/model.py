"""The tagger's model, scoring, Chinese from raw text, and loading (its Task is task.py).

Sequence tagging (part of speech): the tutorial's LSTM tagger grown into a BiLSTM(-CRF).

Each word is its embedding (optionally pretrained) joined with a character BiLSTM's final
states (for unknown and rare words); a BiLSTM reads the sentence; a linear layer scores the
tags of each word, followed by a softmax per word or a linear-chain CRF over the sentence.
Legend: B batch, T words, N real words in the batch, L characters, E/C embedding sizes,
H hidden, K tags.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lstmkit.config import ModelConfig, RunConfig
from lstmkit.tasks.tag.options import TagOptions
from lstmkit.data.batching import padding_mask
from lstmkit.data.datasets.treebank import TaggedSentence
from lstmkit.data.vectors import load_vectors, pretrained_matrix
from lstmkit.errors import DataError
from lstmkit.nn import LSTM, make_rnn
from lstmkit.nn.crf import CRF
from lstmkit.tasks.tag.data import (
    TagBatch, TagSplits, TagVocabs, check_sentences, encode_batch,
)
from lstmkit.training import checkpoint
from lstmkit.training.build import device_of
from lstmkit.training.classification_metrics import ClassificationReport, confusion_matrix
from lstmkit.training.memory import check_batches_fit

logger = logging.getLogger(__name__)

VOCAB_FILES = {"words": "vocab.json", "chars": "chars.json", "tags": "tags.json"}
EVAL_FILE = checkpoint.SCORES


class Tagger(nn.Module):
    """Word + character features -> BiLSTM -> tag scores -> softmax or CRF.

    Shapes: batch.words (B, T), batch.chars (N, L) -> emissions (B, T, K)

    Example:
        >>> from lstmkit.tasks.tag.data import TagVocabs, encode_batch
        >>> s = [TaggedSentence(("The", "cat"), ("DET", "NOUN"))]
        >>> vocabs = TagVocabs.build(s)
        >>> model = Tagger(vocabs, ModelConfig(embedding_dim=8, hidden_size=16), TagOptions(crf=True))
        >>> model.emissions(encode_batch(s, vocabs)).shape
        torch.Size([1, 2, 2])
        >>> [len(tags) for tags in model.predict(encode_batch(s, vocabs))]
        [2]
    """

    def __init__(self, vocabs: TagVocabs, cfg: ModelConfig, tag: TagOptions, embedding: Tensor | None = None,
                 freeze: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(len(vocabs.words), cfg.embedding_dim, padding_idx=0)
        if embedding is not None:
            self.embed.weight.data.copy_(embedding)
        self.embed.weight.requires_grad_(not freeze)
        features = cfg.embedding_dim
        self.char_embed, self.char_rnn = None, None
        if tag.char_embedding_dim > 0:
            self.char_embed = nn.Embedding(len(vocabs.chars), tag.char_embedding_dim, padding_idx=0)
            self.char_rnn = LSTM(tag.char_embedding_dim, tag.char_hidden_size, bidirectional=True, batch_first=True)
            features += 2 * tag.char_hidden_size
        self.rnn = make_rnn(cfg.cell, features, cfg.hidden_size, num_layers=cfg.num_layers, bidirectional=True,
                            batch_first=True, backend=cfg.backend, dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.hidden_size, len(vocabs.tags))
        self.crf = CRF(len(vocabs.tags)) if tag.crf else None

    def _char_features(self, batch: TagBatch, mask: Tensor) -> Tensor:
        """Final states of the character BiLSTM, both directions, placed at each word.
        Shapes: chars (N, L) -> (B, T, 2C)"""
        assert self.char_embed is not None and self.char_rnn is not None
        chars = self.char_embed(batch.chars)                                       # (N, L, C_e)
        _, (h, _) = self.char_rnn(chars, lengths=batch.char_lengths, need_cell_state=False)  # h (2, N, C)
        per_word = torch.cat([h[0], h[1]], dim=-1)                                  # (N, 2C)
        out = per_word.new_zeros(*mask.shape, per_word.size(-1))                   # (B, T, 2C)
        out[mask] = per_word
        return out

    def emissions(self, batch: TagBatch) -> Tensor:
        device = self.head.weight.device
        words = batch.words.to(device)
        mask = padding_mask(batch.lengths, words.size(1)).to(device)                # (B, T)
        x = self.embed(words)                                                       # (B, T, E)
        if self.char_embed is not None:
            x = torch.cat([x, self._char_features(_to(batch, device), mask)], dim=-1)
        out, _ = self.rnn(self.drop(x), lengths=batch.lengths, need_cell_state=False)  # (B, T, 2H)
        return self.head(self.drop(out))                                            # (B, T, K)

    def loss(self, batch: TagBatch) -> tuple[Tensor, int]:
        """Mean loss per tagged word (words whose tag is unknown are skipped), and their count."""
        emissions = self.emissions(batch)
        tags = batch.tags.to(emissions.device)
        known = tags >= 0
        count = int(known.sum())
        if self.crf is None:
            return F.cross_entropy(emissions[known].float(), tags[known]), count
        mask = padding_mask(batch.lengths, tags.size(1)).to(emissions.device)
        nll = self.crf.nll(emissions.float(), tags.clamp(min=0), mask)              # (B,)
        return nll.sum() / max(count, 1), count

    @torch.no_grad()
    def predict(self, batch: TagBatch) -> list[list[int]]:
        """Tag ids of each sentence (Viterbi with the CRF, argmax otherwise)."""
        emissions = self.emissions(batch)
        mask = padding_mask(batch.lengths, emissions.size(1)).to(emissions.device)
        if self.crf is not None:
            return self.crf.decode(emissions.float(), mask)
        best = emissions.argmax(-1).tolist()
        return [row[:n] for row, n in zip(best, batch.lengths.tolist())]


def _to(batch: TagBatch, device: torch.device) -> TagBatch:
    return TagBatch(*(t.to(device) if t.device != device else t for t in
                      (batch.words, batch.lengths, batch.chars, batch.char_lengths, batch.tags)))


# --- evaluation -----------------------------------------------------------------------------

@dataclass
class TagReport:
    report: ClassificationReport            # over training tags plus any unseen ones
    unseen: dict[str, int] = field(default_factory=dict)    # gold tags never seen in training
    sentences: int = 0

    @property
    def accuracy(self) -> float:
        return self.report.accuracy

    def top_confusions(self, k: int = 10) -> list[tuple[str, str, int]]:
        """(gold, predicted, count) of the most frequent errors."""
        c = self.report.confusion.clone()
        c.fill_diagonal_(0)
        values, index = c.flatten().topk(min(k, c.numel()))
        n = c.size(0)
        return [(self.report.labels[i // n], self.report.labels[i % n], int(v))
                for v, i in zip(values.tolist(), index.tolist()) if v > 0]

    def as_text(self) -> str:
        lines = [f"token accuracy {100 * self.accuracy:.2f}% over {int(self.report.confusion.sum())} words, "
                 f"{self.sentences} sentences"]
        if self.unseen:
            lines.append("tags never seen in training (always counted wrong): "
                         + ", ".join(f"{t} x{n}" for t, n in self.unseen.items()))
        lines += ["", f"{'tag':<10} precision  recall     f1  support"]
        for tag, m in self.report.per_class().items():
            if m["support"] or m["precision"]:
                lines.append(f"{tag:<10} {m['precision']:9.4f} {m['recall']:7.4f} {m['f1']:6.4f} {m['support']:8d}")
        lines += ["", "costliest confusions (gold -> predicted: count)"]
        lines += [f"  {g} -> {p}: {n}" for g, p, n in self.top_confusions()]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "sentences": self.sentences, "unseen_tags": self.unseen,
                "per_tag": self.report.per_class(), "top_confusions": self.top_confusions(20)}


def evaluate(model: Tagger, sentences: Sequence[TaggedSentence], vocabs: TagVocabs,
             batch_size: int = 64) -> TagReport:
    """Token accuracy, per-tag P/R/F1 and confusions; gold tags unseen in training are reported."""
    check_sentences(sentences, "evaluation data")
    check_batches_fit([len(s.words) for s in sentences], batch_size, model.cfg, bidirectional=True, training=False,
                      source="evaluation data", fix="split long sentences")
    was_training = model.training
    model.eval()
    unseen = Counter(t for s in sentences for t in s.tags if t not in vocabs.tags)
    labels = [*vocabs.tags.itos, *unseen]
    index = {t: i for i, t in enumerate(labels)}
    gold, predicted = [], []
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start : start + batch_size]
        for s, tags in zip(chunk, model.predict(encode_batch(chunk, vocabs))):
            gold += [index[t] for t in s.tags]
            predicted += tags
    model.train(was_training)
    confusion = confusion_matrix(torch.tensor(gold), torch.tensor(predicted), len(labels))
    return TagReport(ClassificationReport(labels, confusion), dict(unseen), len(sentences))


# --- training -------------------------------------------------------------------------------

def pretrained(cfg: RunConfig, vocabs: TagVocabs) -> Tensor | None:
    if not cfg.vectors.path:
        return None
    return pretrained_matrix(vocabs.words, load_vectors(cfg.vectors.path), cfg.model.embedding_dim,
                             unknown_init=cfg.vectors.unknown_init, seed=cfg.train.seed)


@dataclass
class TagData:
    splits: TagSplits
    vocabs: TagVocabs
    embedding: Tensor | None




def save_vocabs(run_dir: Path, vocabs: TagVocabs) -> None:
    checkpoint.save_files(run_dir, {fname: getattr(vocabs, name).to_json() for name, fname in VOCAB_FILES.items()})


def load_tagger(run_dir: str | Path, device: str = "cpu", cfg: RunConfig | None = None
                ) -> tuple[Tagger, TagVocabs, RunConfig]:
    """Rebuild a trained tagger from its run directory (no unpickling)."""
    cfg = cfg or checkpoint.read_run_config(run_dir, task="tag")            # a loaded run passes its own
    vocabs = TagVocabs(*(checkpoint.load_vocab(run_dir, fname) for fname in VOCAB_FILES.values()))
    model = checkpoint.build_and_load(run_dir, lambda: Tagger(vocabs, cfg.model, cfg.tag), sizes=cfg.model)
    return model.to(device_of(device)).eval(), vocabs, cfg


# --- Chinese from raw text ------------------------------------------------------------------

@dataclass
class SpanScores:
    """Scores of (character span, tag) pairs against gold words, as the CoNLL 2018 shared task
    aligns system and gold words by their characters."""

    segmentation_f1: float    # word spans alone
    tagging_f1: float         # word span and tag both right
    tagging_precision: float
    tagging_recall: float
    gold_words: int
    system_words: int


def _spans(words: Sequence[str]) -> list[tuple[int, int]]:
    out, at = [], 0
    for w in words:
        out.append((at, at + len(w)))
        at += len(w)
    return out


def _f1(right: int, system: int, gold: int) -> tuple[float, float, float]:
    p, r = right / max(system, 1), right / max(gold, 1)
    return p, r, 2 * p * r / max(p + r, 1e-12)


def end_to_end_chinese(model: Tagger, vocabs: TagVocabs, gold: Sequence[TaggedSentence],
                       batch_size: int = 64) -> SpanScores:
    """Segment each gold sentence's characters with jieba, tag the words, and score by spans.

    Example (one sentence, every word and tag right):
        >>> _f1(3, 3, 3)
        (1.0, 1.0, 1.0)
    """
    import jieba

    jieba.setLogLevel(60)
    system: list[TaggedSentence] = []
    for s in gold:
        raw = "".join(s.words)
        words = tuple(w for w in jieba.cut(raw) if w.strip()) or (raw,)
        system.append(TaggedSentence(words, ("X",) * len(words)))
    seg_right = tag_right = n_gold = n_system = 0
    for start in range(0, len(system), batch_size):
        chunk = system[start : start + batch_size]
        for s, g, ids in zip(chunk, gold[start : start + batch_size], model.predict(encode_batch(chunk, vocabs))):
            gold_pairs = dict(zip(_spans(g.words), g.tags))
            for span, tag_id in zip(_spans(s.words), ids):
                if span in gold_pairs:
                    seg_right += 1
                    tag_right += gold_pairs[span] == vocabs.tags.itos[tag_id]
            n_gold += len(g.words)
            n_system += len(s.words)
    _, _, seg_f1 = _f1(seg_right, n_system, n_gold)
    p, r, f1 = _f1(tag_right, n_system, n_gold)
    return SpanScores(seg_f1, f1, p, r, n_gold, n_system)


WINDOW, CONTEXT, WINDOWS_PER_BATCH = 256, 32, 64   # long texts are tagged in overlapping windows


def _windows(n: int) -> list[tuple[int, int, int, int]]:
    """(start, end, keep_from, keep_to) windows over ``n`` words: each keeps ``WINDOW`` words
    and reads ``CONTEXT`` more on each side, so memory stays bounded for any text length."""
    if n <= WINDOW + 2 * CONTEXT:
        return [(0, n, 0, n)]
    return [(max(0, k - CONTEXT), min(n, k + WINDOW + CONTEXT), k, min(n, k + WINDOW)) for k in range(0, n, WINDOW)]


def tag_texts(model: Tagger, vocabs: TagVocabs, texts: Sequence[str], tokenizer: str) -> list[list[tuple[str, str]]]:
    """Tag raw texts: split into words (whitespace, basic_english or jieba) and predict.

    A text longer than a few hundred words is tagged in overlapping windows (``WINDOW`` words
    with ``CONTEXT`` words of context on each side), a batch of windows at a time, so a
    10 MB line needs no more memory than a page.

    Raises:
        DataError: for an empty list or a text with no words.
    """
    from lstmkit.data.tokenize import get_tokenizer

    if not texts:
        raise DataError("nothing to tag; pass at least one text")
    split = get_tokenizer(tokenizer)
    words_of: list[tuple[str, ...]] = []
    for text in texts:
        words = tuple(w for w in split(text) if w.strip())
        if not words:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise DataError(f"the text {shown!r} has no words to tag")
        words_of.append(words)
    pieces = [(i, w) for i, words in enumerate(words_of) for w in _windows(len(words))]
    tags_of: list[list[str]] = [[] for _ in words_of]
    for b in range(0, len(pieces), WINDOWS_PER_BATCH):
        chunk = pieces[b : b + WINDOWS_PER_BATCH]
        sentences = [TaggedSentence(words_of[i][s:e], ("X",) * (e - s)) for i, (s, e, _, _) in chunk]
        for (i, (s, _, keep_from, keep_to)), ids in zip(chunk, model.predict(encode_batch(sentences, vocabs))):
            tags_of[i] += [vocabs.tags.itos[t] for t in ids[keep_from - s : keep_to - s]]
    return [list(zip(words, tags)) for words, tags in zip(words_of, tags_of)]
