"""Pretrained word vectors: read, match to a vocabulary, train with gensim, save.

Formats read: GloVe text (``.txt``, ``.gz``, or a ``.zip`` holding one ``.txt``), word2vec text
(a ``count dim`` header line), fastText ``.vec`` (the same), and word2vec binary (``.bin``,
through gensim's ``KeyedVectors``). Legend: V vocab, E embedding dim.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from lstmkit.data.vocab import Vocab
from lstmkit.errors import DataError

logger = logging.getLogger(__name__)


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # (N, E) float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [n for n in archive.namelist() if n.endswith((".txt", ".vec"))]
        if len(names) != 1:
            raise DataError(f"{str(path)!r} must hold exactly one .txt/.vec file, it holds {names}")
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8")
    return open(path, encoding="utf-8")


def _parse_lines(path: Path, lines: Iterator[str], limit: int | None) -> WordVectors:
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    first = next(lines, None)
    if first is None:
        raise DataError(f"vectors file {str(path)!r} is empty")
    number = 1
    header = first.split()
    if len(header) == 2 and all(p.isdigit() for p in header):          # word2vec/fastText text
        dim = int(header[1])
    else:
        lines = _chain(first, lines)
        number = 0
    for line in lines:
        number += 1
        parts = line.rstrip("\n").rstrip(" ").split(" ")
        if len(parts) < 2:
            if not line.strip():
                continue
            raise DataError(f"{path}:{number}: malformed vectors line (a word and numbers expected)")
        if dim is None:
            dim = len(parts) - 1
        if len(parts) - 1 != dim:
            raise DataError(f"{path}:{number}: {len(parts) - 1} numbers where the file has {dim} per word")
        try:
            row = np.asarray(parts[1:], dtype=np.float32)
        except ValueError:
            raise DataError(f"{path}:{number}: malformed vectors line for {parts[0]!r} (a value is not a number)") from None
        if not np.isfinite(row).all():
            raise DataError(f"{path}:{number}: the vector of {parts[0]!r} holds nan or inf; a vectors file must hold "
                            "finite numbers (the file is damaged or was saved from a diverged model)")
        rows.append(row)
        words.append(parts[0])
        if limit is not None and len(words) >= limit:
            break
    if not words:
        raise DataError(f"vectors file {str(path)!r} has no vectors")
    return WordVectors(words, np.stack(rows))


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def load_vectors(path: str | Path, limit: int | None = None) -> WordVectors:
    """Read word vectors in any of the module's formats (see the module docstring).

    Args:
        limit: read only the first ``limit`` words (files are ordered by frequency).

    Raises:
        DataError: a missing file, a malformed line (with its line number), inconsistent
            dimensions, a file that is not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"vectors file {str(path)!r} not found")
    if path.suffix == ".bin":
        from gensim.models import KeyedVectors

        try:
            kv = KeyedVectors.load_word2vec_format(str(path), binary=True, limit=limit)
        except (ValueError, EOFError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read word2vec binary {str(path)!r}: {err}") from None
        matrix = np.asarray(kv.vectors, dtype=np.float32)
        if not np.isfinite(matrix).all():
            row = int(np.nonzero(~np.isfinite(matrix).all(1))[0][0])
            raise DataError(f"{str(path)!r}: the vector of {kv.index_to_key[row]!r} holds nan or inf; a vectors file "
                            "must hold finite numbers")
        return WordVectors(list(kv.index_to_key), matrix)
    try:
        with _open_text(path) as handle:
            return _parse_lines(path, iter(handle), limit)
    except UnicodeDecodeError:
        raise DataError(f"vectors file {str(path)!r} is not UTF-8 text; for word2vec binary name it .bin") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"cannot read vectors file {str(path)!r}: {err}") from None


@dataclass
class Coverage:
    exact: int
    lowercase: int
    missing: int

    @property
    def fraction(self) -> float:
        total = self.exact + self.lowercase + self.missing
        return (self.exact + self.lowercase) / max(total, 1)


def embedding_matrix(
    vocab: Vocab,
    vectors: WordVectors,
    lowercase_fallback: bool = True,
    unknown_init: str = "normal",
    specials_zero: Sequence[str] = ("<pad>",),
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Coverage]:
    """One row per vocabulary entry: the pretrained vector where the word (or its lower-case
    form) has one, else a random normal vector scaled like the pretrained ones, or zeros.

    Shapes: -> weight (V, E)

    Raises:
        ValueError: for an unknown ``unknown_init``.
    """
    if unknown_init not in ("normal", "zeros"):
        raise ValueError(f"unknown unknown_init {unknown_init!r}; choose one of: normal, zeros")
    index = vectors.index()
    source = torch.from_numpy(vectors.vectors)
    weight = torch.zeros(len(vocab), vectors.dim)
    if unknown_init == "normal":
        weight.normal_(0.0, float(source.std()), generator=generator)
    exact = lower = 0
    for i, word in enumerate(vocab.itos):
        j = index.get(word)
        if j is not None:
            exact += 1
        elif lowercase_fallback and (j := index.get(word.lower())) is not None:
            lower += 1
        if j is not None:
            weight[i] = source[j]
    for special in specials_zero:
        if special in vocab:
            weight[vocab.stoi[special]] = 0.0
    coverage = Coverage(exact, lower, len(vocab) - exact - lower)
    logger.info("vectors cover %.1f%% of the vocabulary (%d exact, %d lower-cased, %d missing)",
                100 * coverage.fraction, exact, lower, coverage.missing)
    return weight, coverage


def train_word2vec(sentences: Iterable[list[str]], dim: int = 100, window: int = 5, min_count: int = 2,
                   epochs: int = 5, workers: int = 2, seed: int = 0) -> WordVectors:
    """Train skip-gram word2vec with gensim (e.g. on IMDB's 50,000 unlabelled reviews)."""
    from gensim.models import Word2Vec

    sentences = list(sentences)
    if not sentences:
        raise DataError("no sentences to train word2vec on")
    model = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=min_count, sg=1,
                     epochs=epochs, workers=workers, seed=seed)
    return WordVectors(list(model.wv.index_to_key), np.asarray(model.wv.vectors, dtype=np.float32))


def save_vectors(directory: str | Path, vocab: Vocab, weight: Tensor) -> list[Path]:
    """Save (fine-tuned) vectors as ``vectors.npy`` + ``vectors.vocab.json`` and word2vec text.

    Shapes: weight (V, E)
    """
    from gensim.models import KeyedVectors

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    array = weight.detach().float().cpu().numpy()
    np.save(directory / "vectors.npy", array)
    (directory / "vectors.vocab.json").write_text(json.dumps(vocab.itos, ensure_ascii=False), encoding="utf-8")
    kv = KeyedVectors(vector_size=array.shape[1])
    kv.add_vectors(vocab.itos, array)
    kv.save_word2vec_format(str(directory / "vectors.txt"))
    return [directory / "vectors.npy", directory / "vectors.vocab.json", directory / "vectors.txt"]
