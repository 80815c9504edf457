"""The ``[classify]`` section: the text classifier's own settings."""

from __future__ import annotations

from dataclasses import dataclass

from lstmkit.config import check_at_least, check_choice, setting


@dataclass(frozen=True)
class ClassifyOptions:
    text_column: str = setting("text", "tables: the column with the text")
    label_column: str = setting("label", "tables: the column with the label")
    max_len: int = setting(0, "truncate texts to this many tokens, 0 = keep all")
    pooling: str = setting("last", "true last step per direction, or mean/max over real steps")

    def __post_init__(self) -> None:
        check_at_least("classify.max_len", self.max_len, 0)
        check_choice("classify.pooling", self.pooling, ("last", "max", "mean"))
