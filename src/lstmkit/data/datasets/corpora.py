"""Language-modelling corpora as train/valid/test text: PTB, Tiny Shakespeare, The Time
Machine, 三國志演義, any text file, or a folder of split files.

Each named corpus is read from its published form (what a user downloads) and found in
``$LSTMKIT_DATA/<folder>``, ``../shared/data/<folder>`` or the download cache; with
``download=True`` a missing one is fetched and its checksum verified.

- ``ptb``: Mikolov's preprocessed Penn Treebank, ``ptb.{train,valid,test}.txt`` (one sentence
  per line, ``<unk>`` for rare words), from a folder, d2l's ``ptb.zip`` or Mikolov's
  ``simple-examples.tgz``.
- ``tinyshakespeare``: char-rnn's ``input.txt``, split 90/10 as nanoGPT's character example
  does (first 90% train, last 10% valid; no test part).
- ``timemachine``: d2l's copy of The Time Machine (shipped with lstmkit); valid = the tail.
- ``zh-novel``: 三國志演義, Project Gutenberg #23950 (traditional characters); the Gutenberg
  header and footer are removed, hard-wrapped lines of a paragraph are joined, and the 120
  chapters are split by number: chapters 5, 15, ..., 115 valid, 10, 20, ..., 120 test, the
  other 96 train.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lstmkit.data.datasets.fetch import candidates, fetch
from lstmkit.data.text import check_path, decode, read_text, sample_path
from lstmkit.errors import DataError, listing


@dataclass(frozen=True)
class TextSplits:
    """Raw text of each part; ``test`` is empty when the corpus has no test part."""

    train: str
    valid: str
    test: str
    source: str


@dataclass(frozen=True)
class Published:
    folder: str        # the folder name under the data roots and the cache
    fname: str         # the file a download writes
    url: str
    known_hash: str    # pooch's "algorithm:hex"


PUBLISHED = {
    "ptb": Published("ptb", "ptb.zip", "http://d2l-data.s3-accelerate.amazonaws.com/ptb.zip",
                     "sha1:319d85e578af0cdc590547f26231e4e31cdf1e42"),
    "tinyshakespeare": Published(
        "tinyshakespeare", "input.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
        "data/tinyshakespeare/input.txt",
        "sha256:86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
    "timemachine": Published("timemachine", "timemachine.txt",
                             "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
                             "sha1:090b5e7e70c295757f55df93cb0a180b9691891a"),
    "zh-novel": Published(
        "zh_novel", "23950-0.txt",
        "https://raw.githubusercontent.com/gutenbergbooks/23950/857ef0f69f6360beef86bd8fde7f8b66fccd7d06/23950-0.txt",
        "sha256:23742ec2440bb0fecfd6dcf78590158d81e2fa918063941329cdb9ee5b7d67db"),
}
NAMES = tuple(PUBLISHED)
_SPLITS = ("train", "valid", "test")


def tail_split(text: str, valid_fraction: float, source: str) -> TextSplits:
    """The last ``valid_fraction`` of the characters is the validation part (no test part).

    Example:
        >>> tail_split("abcdefghij", 0.2, "x").valid
        'ij'
    """
    cut = len(text) - int(len(text) * valid_fraction)
    return TextSplits(text[:cut], text[cut:], "", source)


# --- PTB ------------------------------------------------------------------------------------

def _ptb_from_archive(path: Path) -> TextSplits:
    """d2l's ptb.zip or Mikolov's simple-examples.tgz: members ending in ptb.<split>.txt."""
    found: dict[str, bytes] = {}
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    for split in _SPLITS:
                        if name.endswith(f"ptb.{split}.txt") and split not in found:
                            found[split] = archive.read(name)
        else:
            with tarfile.open(path) as archive:
                for member in archive:
                    for split in _SPLITS:
                        if member.isfile() and member.name.endswith(f"data/ptb.{split}.txt") and split not in found:
                            found[split] = archive.extractfile(member).read()  # type: ignore[union-attr]
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read the PTB archive {str(path)!r}: {err}") from None
    missing = [s for s in _SPLITS if s not in found]
    if missing:
        raise DataError(f"{str(path)!r} has no ptb.{missing[0]}.txt; pass d2l's ptb.zip, Mikolov's "
                        "simple-examples.tgz or a folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt")
    texts = {s: decode(found[s], f"{path}:ptb.{s}.txt") for s in _SPLITS}
    return TextSplits(texts["train"], texts["valid"], texts["test"], str(path))


def read_ptb(path: str | Path) -> TextSplits:
    """PTB's three files from a folder (also ``<folder>/ptb/`` or ``simple-examples/data/``)
    or an archive.

    Raises:
        DataError: if a split is missing, a file does not decode, or the path is not a
            regular file or folder.
    """
    path = check_path(path, "PTB path", folder=True)
    if path.is_file():
        return _ptb_from_archive(path)
    for root in (path, path / "ptb", path / "simple-examples" / "data"):
        if (root / "ptb.train.txt").exists():                  # read_text says what it is if not a file
            return split_folder(root)
    for name in ("ptb.zip", "simple-examples.tgz"):
        if (path / name).exists():
            return _ptb_from_archive(check_path(path / name, "PTB archive"))
    raise DataError(f"{str(path)!r} holds no PTB data (ptb.train.txt, ptb.zip or simple-examples.tgz)")


def split_folder(root: str | Path) -> TextSplits:
    """A folder with one ``*train*``, ``*valid*`` (or ``*dev*``) and optional ``*test*`` text file.

    Raises:
        DataError: if there is no single train or valid file.
    """
    root = check_path(root, "corpus folder", folder=True)
    files = sorted(p for p in root.iterdir() if p.suffix in (".txt", ".tokens", "") and not p.is_dir())
    chosen: dict[str, Path] = {}
    for split, keys in (("train", ("train",)), ("valid", ("valid", "dev")), ("test", ("test",))):
        matches = [p for p in files if any(k in p.name.lower() for k in keys)]
        if len(matches) > 1:
            raise DataError(f"{str(root)!r} has several {split} files ({listing(p.name for p in matches)}); "
                            "keep one per split")
        if matches:
            chosen[split] = matches[0]
    for split in ("train", "valid"):
        if split not in chosen:
            raise DataError(f"{str(root)!r} has no {split} file; a corpus folder needs files named "
                            "*train*.txt and *valid*.txt (and optionally *test*.txt)")
    texts = {s: read_text(p) for s, p in chosen.items()}
    return TextSplits(texts["train"], texts["valid"], texts.get("test", ""), str(root))


# --- 三國志演義 -------------------------------------------------------------------------------

_CHAPTER = re.compile(r"^第[一二三四五六七八九十百○〇零]+回", re.MULTILINE)
_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF .*$", re.MULTILINE)
_GUTENBERG_END = re.compile(r"^(\*\*\* ?END OF |End of (the )?Project Gutenberg).*", re.MULTILINE)


def strip_gutenberg(text: str) -> str:
    """Drop a Project Gutenberg header (up to ``*** START OF ...``) and footer (from ``End of``)."""
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end():]
    end = _GUTENBERG_END.search(text)
    return text[: end.start()] if end else text


def unwrap_paragraphs(text: str) -> str:
    """Join hard-wrapped lines: a paragraph starts with full-width spaces, a heading or a blank.

    Example:
        >>> unwrap_paragraphs("第一回：題\\n\\n　　話說天下\\n大勢。\\n")
        '第一回：題\\n\\n　　話說天下大勢。\\n'
    """
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        continues = out and out[-1].strip() and line.strip() and not line.startswith("　") \
            and not _CHAPTER.match(line) and not _CHAPTER.match(out[-1])
        if continues:
            out[-1] += line.strip()
        else:
            out.append(line.rstrip())
    return "\n".join(out)


def chapters(text: str) -> list[str]:
    """The text of each chapter, heading included, in order (text before the first is dropped)."""
    starts = [m.start() for m in _CHAPTER.finditer(text)]
    return [text[a:b].strip() + "\n" for a, b in zip(starts, [*starts[1:], len(text)])]


def read_zh_novel(path: str | Path) -> TextSplits:
    """三國志演義 split by chapter number (see the module docstring).

    Raises:
        DataError: if the file does not decode or holds fewer than 10 chapters.
    """
    path = check_path(path, "novel file", folder=True)
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if len(files) != 1:
            raise DataError(f"{str(path)!r} should hold the novel's one .txt file, found {len(files)}")
        path = files[0]
    parts = chapters(unwrap_paragraphs(strip_gutenberg(read_text(path))))
    if len(parts) < 10:
        raise DataError(f"{str(path)!r} has {len(parts)} chapters (headings 第…回); expected the 120 of 三國志演義")
    pick = {"train": [], "valid": [], "test": []}
    for number, chapter in enumerate(parts, start=1):
        pick["test" if number % 10 == 0 else "valid" if number % 10 == 5 else "train"].append(chapter)
    return TextSplits(*("\n".join(pick[s]) for s in _SPLITS), str(path))


# --- finding and reading ----------------------------------------------------------------------

def locate(name: str, download: bool = False) -> Path:
    """Where a named corpus is: the data roots, the shipped sample, or a fresh download.

    Raises:
        DataError: if it is nowhere and ``download`` is False, or the download fails.
    """
    if name not in PUBLISHED:
        raise DataError(f"unknown corpus {name!r}; choose one of: {', '.join(NAMES)}, or pass a file")
    if name == "timemachine":
        return sample_path("timemachine")
    pub = PUBLISHED[name]
    for candidate in candidates(pub.folder):
        if candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):   # checked when read
            return candidate
    if download:
        return fetch(pub.url, pub.known_hash, pub.folder, pub.fname, f"{name} corpus")
    raise DataError(f"corpus {name!r} not found (looked in {', '.join(str(c) for c in candidates(pub.folder))}); "
                    "pass --download to fetch it, or --data PATH to its file")


def read_corpus(name_or_path: str, valid_fraction: float = 0.1, encoding: str = "utf-8",
                download: bool = False) -> TextSplits:
    """Train/valid/test text of a named corpus (``NAMES``), a split folder or one text file
    (whose tail ``valid_fraction`` is the validation part).

    Raises:
        DataError: for a missing, empty or undecodable corpus.
    """
    if name_or_path in PUBLISHED:
        path = locate(name_or_path, download)
        if name_or_path == "ptb":
            return read_ptb(path)
        if name_or_path == "zh-novel":
            return read_zh_novel(path)
        if path.is_dir():
            path = path / PUBLISHED[name_or_path].fname
        text = read_text(path, encoding)
        if name_or_path == "tinyshakespeare":                    # nanoGPT: data[:int(n * 0.9)]
            cut = int(len(text) * 0.9)
            return TextSplits(text[:cut], text[cut:], "", str(path))
        return tail_split(text, valid_fraction, str(path))
    path = check_path(name_or_path, "text file", folder=True,
                      fix=f"pass a text file, a folder of split files, or a corpus name: {', '.join(NAMES)}")
    if path.is_dir():
        return split_folder(path)
    return tail_split(read_text(path, encoding), valid_fraction, str(path))


__all__ = ["NAMES", "PUBLISHED", "TextSplits", "chapters", "locate", "read_corpus", "read_ptb", "read_zh_novel",
           "split_folder", "strip_gutenberg", "tail_split", "unwrap_paragraphs"]
