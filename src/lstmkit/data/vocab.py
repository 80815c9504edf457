"""Vocabulary: tokens to ids and back, saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from lstmkit.boundary import parse_json
from lstmkit.errors import DataError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"


class Vocab:
    """A fixed mapping between tokens and ids.

    Specials come first, then tokens by decreasing frequency (ties by first appearance).
    Unknown tokens map to ``<unk>`` when it is a special, else raise.

    Args:
        tokens: the id order, specials included.
        specials: which of ``tokens`` are specials.

    Example:
        >>> v = Vocab.build(["a", "b", "a"], specials=[UNK])
        >>> v.encode(["a", "z"]), v.decode([1, 2])
        ([1, 0], ['a', 'b'])
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = ()) -> None:
        self.itos = list(tokens)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise DataError("vocabulary tokens must be unique")
        self.specials = list(specials)
        self.unk_id = self.stoi.get(UNK)

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        specials: Sequence[str] = (UNK,),
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocab:
        """Count tokens and keep those seen at least ``min_freq`` times, at most ``max_size``."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(tokens)
        kept = [t for t, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= min_freq and t not in specials]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(specials))]
        return cls([*specials, *kept], specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        if self.unk_id is None:
            try:
                return [self.stoi[t] for t in tokens]
            except KeyError as err:
                raise DataError(f"token {err.args[0]!r} is not in the vocabulary") from None
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The tokens that are not in the vocabulary, in order, without repeats."""
        return list(dict.fromkeys(t for t in tokens if t not in self.stoi))

    def to_json(self) -> str:
        return json.dumps({"tokens": self.itos, "specials": self.specials}, ensure_ascii=False)

    def save(self, path: str | Path) -> None:
        from lstmkit.files import write_file

        write_file(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        fix = "the run directory is damaged; train again or restore it from a copy"
        try:
            raw = parse_json(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise DataError(f"cannot read vocabulary {str(path)!r}: {err.strerror}") from None
        except ValueError as err:
            raise DataError(f"vocabulary {str(path)!r} is not valid JSON ({err}); {fix}") from None
        tokens = raw.get("tokens") if isinstance(raw, dict) else None
        specials = raw.get("specials", []) if isinstance(raw, dict) else None
        if (not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens)
                or not isinstance(specials, list) or not all(isinstance(t, str) and t in tokens for t in specials)):
            raise DataError(f"vocabulary {str(path)!r} is damaged: it needs a non-empty list of strings under "
                            f"\"tokens\" and its \"specials\" among them; {fix}")
        try:
            return cls(tokens, specials)
        except DataError as err:
            raise DataError(f"vocabulary {str(path)!r} is damaged: {err}; {fix}") from None
