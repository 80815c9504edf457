"""The ``[tag]`` section: the tagger's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.config import check_at_least, check_choice, setting


@dataclass(frozen=True)
class TagOptions:
    column: str = setting("upos", "the CoNLL-U column to learn, upos or xpos")
    format: str = setting("auto",
        "conllu, word-tag (word<TAB>tag or word/tag), jieba (raw Chinese, segmented and tagged by "
        "jieba.posseg); auto = by extension")
    crf: bool = setting(False, "a linear-chain CRF over the tags instead of a softmax per word")
    char_embedding_dim: int = setting(32, "the character encoder of each word; 0 = words only")
    char_hidden_size: int = setting(50, "per direction of the character BiLSTM")

    def __post_init__(self) -> None:
        check_choice("tag.column", self.column, ("upos", "xpos"))
        check_choice("tag.format", self.format, ("auto", "conllu", "jieba", "word-tag"))
        check_at_least("tag.char_embedding_dim", self.char_embedding_dim, 0)
        check_at_least("tag.char_hidden_size", self.char_hidden_size, 1)
