"""What a tagger exports: tags and emissions from dense word and character ids (:class:`TaggerTags`, :func:`dense_tag_inputs`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from lstmkit.config import RunConfig
from lstmkit.nn.exportable import MAX_EXPORT_LEN, ExportSpec, IdCheck, LengthCheck, checks_note



TAG_LEN = 64                # the words per sentence a tagger is exported for, unless --length says


class TaggerTags(nn.Module):
    """A tagger on dense inputs: every position's characters, not only the real words'.

    Shapes: words (B, T), lengths (B,), chars (B*T, L), char_lengths (B*T,) (>= 1, also at
        padding) -> tags (B, T) int64 (Viterbi with a CRF, else argmax), emissions (B, T, K)
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.check_lengths = LengthCheck("lengths")
        self.check_char_lengths = LengthCheck("char_lengths")
        self.check_words, self.check_chars = IdCheck("words"), IdCheck("chars")

    def forward(self, words: Tensor, lengths: Tensor, chars: Tensor, char_lengths: Tensor) -> tuple[Tensor, Tensor]:
        from lstmkit.data.batching import padding_mask

        lengths = self.check_lengths(lengths, words.size(1))
        char_lengths = self.check_char_lengths(char_lengths, chars.size(1))
        m = self.model
        words = self.check_words(words, m.embed.num_embeddings - 1)
        if m.char_embed is not None:
            chars = self.check_chars(chars, m.char_embed.num_embeddings - 1)
        mask = padding_mask(lengths, words.size(1))                           # (B, T)
        x = m.embed(words)                                                    # (B, T, E)
        if m.char_embed is not None:
            _, (h, _) = m.char_rnn(m.char_embed(chars), lengths=char_lengths, need_cell_state=False)
            per_word = torch.cat([h[0], h[1]], dim=-1).view(words.size(0), words.size(1), -1)  # (B, T, 2C)
            x = torch.cat([x, per_word * mask.unsqueeze(-1)], dim=-1)
        out, _ = m.rnn(x, lengths=lengths, need_cell_state=False)            # (B, T, 2H)
        emissions = m.head(out)                                              # (B, T, K)
        tags = m.crf.viterbi(emissions.float(), mask) if m.crf is not None else emissions.argmax(-1)
        return tags, emissions


def dense_tag_inputs(words: Sequence[Sequence[str]], vocabs, length: int) -> tuple[Tensor, ...]:
    """The inputs of :class:`TaggerTags` for sentences of words, padded to ``length`` words."""
    from lstmkit.boundary import integer, word_sentences
    from lstmkit.tasks.tag.data import MAX_WORD_CHARS, fold_forms, word_key

    length = integer("length", length, low=1, high=MAX_EXPORT_LEN)
    words = word_sentences("words", words, max_words=length)
    batch = len(words)
    word_ids = torch.zeros(batch, length, dtype=torch.long)
    chars = torch.zeros(batch * length, MAX_WORD_CHARS, dtype=torch.long)          # always 30 wide
    char_lengths = torch.ones(batch * length, dtype=torch.long)
    for b, sentence in enumerate(words):
        word_ids[b, : len(sentence)] = torch.tensor(vocabs.words.encode(word_key(w) for w in sentence))
        for t, word in enumerate(sentence):
            ids = vocabs.chars.encode(fold_forms(word)[:MAX_WORD_CHARS])
            chars[b * length + t, : len(ids)] = torch.tensor(ids)
            char_lengths[b * length + t] = len(ids)
    return word_ids, torch.tensor([len(s) for s in words]), chars, char_lengths


def export_spec(run_dir: Path, cfg: RunConfig, length: int | None, fmt: str) -> ExportSpec:
    """The exportable module of a tag run (see :func:`lstmkit.export.export_spec`)."""
    from lstmkit.tasks.tag.model import load_tagger

    model, vocabs, _ = load_tagger(run_dir)
    words = length or TAG_LEN
    example = dense_tag_inputs([["the"] * words, ["a"] * max(1, words // 3), ["x"] * max(1, words // 12)],
                               vocabs, words)
    ranges = {"lengths": (1, int(example[0].shape[1])), "char_lengths": (1, int(example[2].shape[1])),
              "words": (0, model.embed.num_embeddings - 1)}
    if model.char_embed is not None:
        ranges["chars"] = (0, model.char_embed.num_embeddings - 1)
    notes = {"checks": checks_note(ranges) + " (char_lengths also at padding)"}
    return ExportSpec(TaggerTags(model).eval(), example, ["words", "lengths", "chars", "char_lengths"],
                      ["tags", "emissions"], {"words": 0, "lengths": 0}, {}, {"chars": 0, "char_lengths": 0},
                      notes, ranges)
