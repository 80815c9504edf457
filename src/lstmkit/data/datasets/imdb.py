"""IMDB Large Movie Review Dataset v1.0 (Maas et al., ACL 2011).

Three forms are read, all to the same examples (label ``pos`` or ``neg``):

* the published layout, an ``aclImdb/`` folder with ``{train,test}/{pos,neg}/<id>_<rating>.txt``;
* the published archive ``aclImdb_v1.tar.gz``, read in place without unpacking;
* JSON Lines ``{train,test}.jsonl[.gz]`` with ``text`` and ``label`` fields.

:func:`download` fetches the archive to a cache directory and checks its MD5 (pooch).

In the folder and the archive, a file in a label folder that is not named ``<id>_<rating>.txt``
(a ``notes.txt``, a ``README``, an editor's backup) is not a review: it is skipped, with one
warning that counts them and names one. A review that is not UTF-8 is an error naming the file
and the byte.
"""

from __future__ import annotations

import gzip
import logging
import re
import tarfile
from pathlib import Path

from lstmkit.boundary import parse_json
from lstmkit.data.datasets.examples import TextExample
from lstmkit.data.datasets.fetch import fetch
from lstmkit import boundary
from lstmkit.data.datasets.table import json_text, normal_labels
from lstmkit.data.text import check_path, decode
from lstmkit.errors import DataError

logger = logging.getLogger(__name__)

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
SPLITS = ("train", "test", "unsup")   # unsup: the 50,000 unlabelled reviews (label "unsup")
LABELS = ("neg", "pos")
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt$")
_IN_LABEL_FOLDER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg|unsup)/[^/]+$")
_REVIEW = re.compile(r"(\d+)_(\d+)\.txt")
_NOT_UTF8 = ("convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) or remove it; IMDB reviews are read as UTF-8")


def _warn_skipped(skipped: list[str], where: str) -> None:
    if skipped:
        logger.warning("%s: skipped %d file(s) not named <id>_<rating>.txt, e.g. %r; they are not IMDB reviews",
                       where, len(skipped), skipped[0])


RATINGS = {"pos": range(7, 11), "neg": range(1, 5), "unsup": range(0, 1)}   # the dataset's own rule


def _warn_odd_names(names: list[tuple[str, int, int, str]], where: str) -> None:
    """(label, id, rating, name) of the reviews read: one warning each for ratings that do not
    belong in their folder (a 2/10 review in pos/) and for ids used twice in one folder. The
    reviews are kept, labelled by their folder, which is what the dataset defines."""
    odd = [name for label, _, rating, name in names if rating not in RATINGS[label]]
    if odd:
        logger.warning("%s: %d review(s) have a rating that does not belong in their folder (pos: 7-10, neg: 1-4, "
                       "unsup: 0), e.g. %r; they are labelled by their folder: move them if the folder is wrong",
                       where, len(odd), odd[0])
    seen: dict[tuple[str, int], str] = {}
    twice = []
    for label, number, _, name in names:
        if (label, number) in seen:
            twice.append((seen[(label, number)], name))
        seen.setdefault((label, number), name)
    if twice:
        logger.warning("%s: %d review id(s) are used more than once in the same folder, e.g. %r and %r; "
                       "both are read: remove the copy if it is one", where, len(twice), *twice[0])


def _where(split: str) -> tuple[str, tuple[str, ...]]:
    """The published folder and label sub-folders of a split."""
    return ("train", ("unsup",)) if split == "unsup" else (split, LABELS)


def _review(text: str, label: str, where: str) -> TextExample:
    """One review, as every form of the dataset reads it: an empty one is refused by its file
    (or line), not met later as an empty text at an index nobody can find."""
    if not text.strip():
        raise DataError(f"{where}: the review is empty; remove the file (or line) or fill it in")
    return TextExample(text, label)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown IMDB split {split!r}; choose one of: {', '.join(SPLITS)}")


def _from_folder(root: Path, split: str) -> list[TextExample]:
    examples = []
    split, labels = _where(split)
    for label in labels:
        folder = root / split / label
        if not folder.is_dir():
            raise DataError(f"{str(root)!r} has no {split}/{label}/ folder; pass the aclImdb/ folder")
        reviews, skipped = [], []
        for p in folder.iterdir():
            match = _REVIEW.fullmatch(p.name)
            if match:
                reviews.append((int(match.group(1)), p))
            else:
                skipped.append(str(p))
        _warn_skipped(sorted(skipped), str(folder))
        _warn_odd_names([(label, n, int(_REVIEW.fullmatch(p.name).group(2)), str(p)) for n, p in sorted(reviews)],
                        str(folder))
        for _, p in sorted(reviews):
            raw = check_path(p, "IMDB review").read_bytes()
            examples.append(_review(decode(raw, str(p), "utf-8", _NOT_UTF8), label, repr(str(p))))
    return examples


def _from_archive(path: Path, split: str) -> list[TextExample]:
    found: list[tuple[str, int, TextExample]] = []
    names: list[tuple[str, int, int, str]] = []
    skipped: list[str] = []
    split, labels = _where(split)
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                match = _MEMBER.search(member.name)
                if not match and member.isfile() and (folder := _IN_LABEL_FOLDER.search(member.name)) \
                        and folder.group(1) == split and folder.group(2) in labels:
                    skipped.append(member.name)
                if not member.isfile() or not match or match.group(1) != split or match.group(2) not in labels:
                    continue
                handle = tar.extractfile(member)
                assert handle is not None
                text = decode(handle.read(), f"{path}:{member.name}", "utf-8", _NOT_UTF8)
                found.append((match.group(2), int(match.group(3)), _review(text, match.group(2), f"{path}:{member.name}")))
                names.append((match.group(2), int(match.group(3)), int(match.group(4)), member.name))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataError(f"cannot read the IMDB archive {str(path)!r}: {err}") from None
    _warn_skipped(skipped, str(path))
    _warn_odd_names(names, str(path))
    if not found:
        raise DataError(f"{str(path)!r} holds no aclImdb/{split}/pos|neg/*.txt files")
    found.sort(key=lambda item: (labels.index(item[0]), item[1]))
    return [example for _, _, example in found]


def _from_jsonl(path: Path) -> list[TextExample]:
    path = check_path(path, "IMDB file")
    opener = gzip.open if path.suffix == ".gz" else open
    examples = []
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):              # bytes: a bad one is named by its line
                line = decode(raw, f"{path}:{number}", "utf-8", _NOT_UTF8)
                if not line.strip():
                    continue
                try:
                    row = parse_json(line)
                    text, label = row["text"], row.get("label", "unsup")
                except (ValueError, KeyError, TypeError) as err:
                    raise DataError(f"{path}:{number}: not an IMDB JSON line with text and label ({err})") from None
                examples.append(_review(json_text(f"{path}:{number}: 'text'", text),
                                        boundary.label(f"{path}:{number}: 'label'", label, error=DataError),
                                        f"{path}:{number}"))
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {str(path)!r}: {err}") from None
    return normal_labels(path, examples)


def read_imdb(path: str | Path, split: str) -> list[TextExample]:
    """Read one split of IMDB from a folder, archive or JSON Lines directory.

    Args:
        path: ``aclImdb/`` (or its parent), ``aclImdb_v1.tar.gz``, or a folder with
            ``train.jsonl.gz``/``test.jsonl.gz`` (the ``.jsonl`` names also work).
        split: ``train``, ``test`` or ``unsup`` (the unlabelled reviews, label ``"unsup"``).

    Returns:
        Examples in a fixed order: negatives then positives by review id for the published
        forms, file order for JSON Lines.

    Raises:
        DataError: if the path is missing, is not a regular file or folder, holds none of the
            three forms, or holds a review that is not UTF-8 (naming the file and the byte).
    """
    _check_split(split)
    path = check_path(path, "IMDB path", folder=True,
                      fix="pass the aclImdb/ folder, the aclImdb_v1.tar.gz archive, or a folder of train/test "
                          ".jsonl.gz files")
    if path.is_file():
        return _from_archive(path, split)
    for name in (f"{split}.jsonl.gz", f"{split}.jsonl"):
        if (path / name).exists():                             # _from_jsonl says what it is if not a file
            return _from_jsonl(path / name)
    for root in (path, path / "aclImdb"):
        if (root / _where(split)[0]).is_dir():
            return _from_folder(root, split)
    if (path / "aclImdb_v1.tar.gz").exists():
        return _from_archive(check_path(path / "aclImdb_v1.tar.gz", "IMDB archive"), split)
    raise DataError(f"{str(path)!r} holds no IMDB data (no aclImdb/{split}/, {split}.jsonl.gz or aclImdb_v1.tar.gz)")


def download() -> Path:
    """Download ``aclImdb_v1.tar.gz`` into the cache (once), verifying its MD5.

    Raises:
        DataError: when offline or when the checksum does not match.
    """
    return fetch(URL, f"md5:{MD5}", "imdb", "aclImdb_v1.tar.gz", "IMDB archive")
