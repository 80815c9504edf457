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

from lstmkit.data.text import bounded_lines, check_path
from lstmkit.data.vocab import Vocab
from lstmkit.errors import DataError, listing

logger = logging.getLogger(__name__)

MAX_DIM = 65_536             # numbers per word; published vectors have 25 to 1,000
MAX_LINE = 2**20             # characters in one text line: 65,536 numbers of up to 15 characters fit
_LINE_FIX = (f"a vectors line is a word and at most {MAX_DIM:,} numbers; the file is damaged or is not a "
             "GloVe/word2vec text file")


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
            raise DataError(f"{str(path)!r} must hold exactly one .txt/.vec file, it holds {len(names)}: "
                            f"{listing(names)}")
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8")
    return open(path, encoding="utf-8")


def _dim_of(path: Path, number: int, dim: int) -> int:
    if not 1 <= dim <= MAX_DIM:
        raise DataError(f"{path}:{number}: vectors of {dim:,} dimensions; lstmkit reads 1 to {MAX_DIM:,} (published "
                        "vectors have 25 to 1,000): the file is damaged or is not a vectors file")
    return dim


def _parse_lines(path: Path, handle: io.TextIOBase, limit: int | None) -> WordVectors:
    """Words and vectors, line by line: no line over ``MAX_LINE`` characters or ``MAX_DIM``
    numbers is ever held whole, so one huge line costs a bounded amount of memory."""
    with np.errstate(over="ignore"):
        return _parse_numbered(path, bounded_lines(handle, str(path), MAX_LINE, _LINE_FIX), limit)


def _parse_numbered(path: Path, lines: Iterator[tuple[int, str]], limit: int | None) -> WordVectors:
    """The lines of :func:`_parse_lines`: a word2vec header, then a word and its numbers per line."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    first = next(lines, None)
    if first is None:
        raise DataError(f"vectors file {str(path)!r} is empty")
    header = first[1].split()
    count = None
    if len(header) == 2 and all(p.isdigit() for p in header):          # word2vec/fastText text
        count, dim = int(header[0]), _dim_of(path, 1, int(header[1]))
    else:
        lines = _chain(first, lines)
    seen: set[str] = set()
    repeated: list[str] = []
    for number, line in lines:
        if "\t" in line:                                # "word\t0.1 0.2": the word would swallow a number
            raise DataError(f"{path}:{number}: the line holds a tab; GloVe and word2vec text files separate the word "
                            "and its numbers by single spaces: replace the tabs (e.g. tr '\\t' ' ' < in > out)")
        parts = line.rstrip("\n").rstrip(" ").split(" ", MAX_DIM + 1)     # never more than MAX_DIM + 2 pieces
        if len(parts) < 2:
            if not line.strip():
                continue
            raise DataError(f"{path}:{number}: malformed vectors line (a word and numbers expected)")
        if dim is None:
            dim = _dim_of(path, number, len(parts) - 1)
        if len(parts) - 1 != dim:
            raise DataError(f"{path}:{number}: {len(parts) - 1 if len(parts) <= MAX_DIM + 1 else 'more'} numbers "
                            f"where the file has {dim} per word")
        word = parts[0]
        if "\0" in word:
            raise DataError(f"{path}:{number}: the word {word!r} holds a NUL byte; the file is binary or damaged "
                            "(a word2vec binary file must be named .bin)")
        try:
            row = np.asarray(parts[1:], dtype=np.float32)   # beyond float32: inf (errstate), said below
        except ValueError:
            raise DataError(f"{path}:{number}: malformed vectors line for {word!r} (a value is not a number)") from None
        if not np.isfinite(row).all():
            wide = np.asarray(parts[1:], dtype=np.float64)
            if np.isfinite(wide).all():
                raise DataError(f"{path}:{number}: the vector of {word!r} holds {np.abs(wide).max():.3g}, beyond the "
                                "range of float32 (about 3.4e38); the file is damaged or was saved from a diverged model")
            raise DataError(f"{path}:{number}: the vector of {word!r} holds nan or inf; a vectors file must hold "
                            "finite numbers (the file is damaged or was saved from a diverged model)")
        if word in seen:
            repeated.append(word)                     # the first (the more frequent) vector is kept
            continue
        seen.add(word)
        rows.append(row)
        words.append(word)
        if limit is not None and len(words) >= limit:
            break
    if not words:
        raise DataError(f"vectors file {str(path)!r} has no vectors")
    if repeated:
        logger.warning("%s: %d word(s) appear more than once, e.g. %r; the first vector of each is used",
                       path, len(repeated), repeated[0])
    read = len(words) + len(repeated)
    if count is not None and read != count and (limit is None or read < min(count, limit)):
        logger.warning("%s: the header says %s words, the file holds %s; the file may be cut short or its "
                       "header wrong: all %s are used", path, f"{count:,}", f"{read:,}", f"{len(words):,}")
    return WordVectors(words, np.stack(rows))


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
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
    path = check_path(path, "vectors file")
    if path.suffix == ".bin":
        from gensim.models import KeyedVectors

        _check_binary_header(path, limit)

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
            return _parse_lines(path, handle, limit)
    except UnicodeDecodeError:
        raise DataError(f"vectors file {str(path)!r} is not UTF-8 text; for word2vec binary name it .bin") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"cannot read vectors file {str(path)!r}: {err}") from None


def _check_binary_header(path: Path, limit: int | None) -> None:
    """word2vec binary starts ``count dim\\n``; gensim allocates count x dim floats from it, so a
    damaged header (or a text file named .bin) is refused before that."""
    with path.open("rb") as f:
        header = f.readline(100).split()
    if len(header) != 2 or not all(p.isdigit() for p in header):
        raise DataError(f"{path}:1: a word2vec binary file starts with 'count dim', this one with {header[:2]!r}; "
                        "for GloVe/word2vec text name it .txt")
    count, dim = int(header[0]), _dim_of(path, 1, int(header[1]))
    needed = min(count, limit or count) * dim * 4
    if needed > path.stat().st_size:
        raise DataError(f"{path}:1: the header says {count:,} words of {dim} dimensions ({needed:,} bytes of numbers), "
                        f"the file has {path.stat().st_size:,} bytes; it is damaged or cut short")


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
    logger.log(logging.WARNING if coverage.fraction < 0.05 else logging.INFO,
               "vectors cover %.1f%% of the vocabulary (%d exact, %d lower-cased, %d missing)%s",
               100 * coverage.fraction, exact, lower, coverage.missing,
               "; are they for this language and tokenizer?" if coverage.fraction < 0.05 else "")
    return weight, coverage


def pretrained_matrix(vocab: Vocab, vectors: WordVectors, embedding_dim: int, *, lowercase_fallback: bool = True,
                      unknown_init: str = "normal", seed: int = 0) -> Tensor:
    """The (V, E) embedding matrix of ``vocab`` from pretrained ``vectors``, for a model whose
    embeddings are ``embedding_dim`` wide: the one way every task starts from GloVe, word2vec or
    vectors it trained (unknown words drawn with ``seed``), its coverage logged.

    Raises:
        ConfigError: when the vectors' dimension is not ``embedding_dim``, with the flag to pass.
    """
    from lstmkit.errors import ConfigError

    if vectors.dim != embedding_dim:
        raise ConfigError(f"the vectors have dimension {vectors.dim} but model.embedding_dim is {embedding_dim}; "
                          f"pass --embedding-dim {vectors.dim}")
    weight, coverage = embedding_matrix(vocab, vectors, lowercase_fallback, unknown_init,
                                        generator=torch.Generator().manual_seed(seed))
    logger.info("pretrained vectors: %d x %d, %.1f%% of the vocabulary covered", *weight.shape, 100 * coverage.fraction)
    return weight


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

    from lstmkit.files import write_file, writing

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    array = weight.detach().float().cpu().numpy()
    write_file(directory / "vectors.npy", lambda f: np.save(f, array))           # each file atomically
    write_file(directory / "vectors.vocab.json", json.dumps(vocab.itos, ensure_ascii=False))
    kv = KeyedVectors(vector_size=array.shape[1])
    kv.add_vectors(vocab.itos, array)
    kv.allocate_vecattrs(["count"], [np.int64])
    kv.expandos["count"][:] = np.arange(len(vocab.itos), 0, -1)    # "counts" that keep the vocabulary's order
    with writing(directory / "vectors.txt") as tmp:                # (gensim warned of missing counts, then did so)
        kv.save_word2vec_format(str(tmp))
    return [directory / "vectors.npy", directory / "vectors.vocab.json", directory / "vectors.txt"]
