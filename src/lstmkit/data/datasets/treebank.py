"""Tagged sentences: CoNLL-U treebanks (Universal Dependencies), simple ``word<TAB>tag`` and
``word/tag`` files, and raw Chinese text segmented and tagged by jieba (the tutorial's way).

CoNLL-U follows the UD guidelines for tagging: the syntactic words (integer ids) are tagged;
multi-word token lines (``1-2``, the surface form "don't") and empty nodes (``3.1``, enhanced
graphs only) are skipped. Each line is checked first, so a malformed one is reported with its
file and line number; the ``conllu`` library then reads the fields.

Named treebanks (``ud-en-ewt``: UD English-EWT 2.16; ``ud-zh``: UD Chinese 1.4) are found in
``$LSTMKIT_DATA/ud/...``, ``../shared/data/ud/...`` or the cache, and downloaded from the
treebanks' GitHub release tags with SHA-256 checks when asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lstmkit.data.datasets.fetch import candidates, fetch
from lstmkit.data.text import read_text
from lstmkit.errors import DataError

COLUMNS = {"upos": 3, "xpos": 4}
_ID = re.compile(r"^(\d+)(-\d+|\.\d+)?$")


@dataclass(frozen=True)
class TaggedSentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]
    text: str = ""          # the sentence as written, when the source has it (# text = ...)
    sent_id: str = ""


@dataclass(frozen=True)
class Treebank:
    folder: str                          # under the data roots, e.g. ud/UD_English-EWT
    files: dict[str, str]                # split -> file name
    url: str                             # base URL of the release
    sha256: dict[str, str]               # split -> checksum
    description: str


TREEBANKS = {
    "ud-en-ewt": Treebank(
        "ud/UD_English-EWT",
        {s: f"en_ewt-ud-{s}.conllu" for s in ("train", "dev", "test")},
        "https://raw.githubusercontent.com/UniversalDependencies/UD_English-EWT/r2.16/",
        {"train": "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
         "dev": "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
         "test": "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"},
        "UD English-EWT, release 2.16"),
    "ud-zh": Treebank(
        "ud/UD_Chinese-GSD_v1.4",
        {s: f"zh-ud-{s}.conllu" for s in ("train", "dev", "test")},
        "https://raw.githubusercontent.com/UniversalDependencies/UD_Chinese-GSD/r1.4/",
        {"train": "94c1ad7f8f7d545169bafbef367852b965ec5eada13d614d8e8b6b9297ee6d0d",
         "dev": "574a2c826fc4207530be65b9cd9d8d9611a9749716ab1e3349ec681b93c7a42f",
         "test": "c5fe2733ca4a118725fc06d6a7dbce9952254a4a174f3bd75e13ab4d504e9970"},
        "UD Chinese (GSD), release 1.4"),
}


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Sentences as (first line number, lines), split at blank lines."""
    blocks, current, start = [], [], 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def read_conllu(path: str | Path, column: str = "upos", encoding: str = "utf-8") -> list[TaggedSentence]:
    """Words and their UPOS (or XPOS) tags from a CoNLL-U file.

    Raises:
        DataError: naming the file and line, for a line without 10 tab-separated fields, a bad
            ID, a word without a tag in ``column``, or a sentence without words.

    Example:
        >>> import tempfile, os
        >>> line = "{}\\t{}\\t_\\t{}\\t_\\t_\\t_\\t_\\t_\\t_"
        >>> rows = [line.format("1-2", "Don't", "_"), line.format(1, "Do", "AUX"),
        ...         line.format(2, "n't", "PART"), line.format(3, "go", "VERB")]
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = os.path.join(d, "a.conllu")
        ...     _ = open(p, "w").write("# text = Don't go\\n" + "\\n".join(rows) + "\\n\\n")
        ...     read_conllu(p)[0]
        TaggedSentence(words=('Do', "n't", 'go'), tags=('AUX', 'PART', 'VERB'), text="Don't go", sent_id='')
    """
    import conllu

    if column not in COLUMNS:
        raise DataError(f"unknown tag column {column!r}; choose upos or xpos")
    text = read_text(path, encoding)
    sentences = []
    for start, lines in _blocks(text):
        words = 0
        for offset, line in enumerate(lines):
            if line.startswith("#"):
                continue
            where = f"{path}:{start + offset}"
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataError(f"{where}: a CoNLL-U word line has 10 tab-separated fields, this one has "
                                f"{len(fields)}: {line[:60]!r}")
            match = _ID.match(fields[0])
            if not match:
                raise DataError(f"{where}: bad ID {fields[0]!r}; expected 1, 1-2 or 1.1")
            if match.group(2) is None:
                words += 1
                if fields[COLUMNS[column]] in ("", "_"):
                    raise DataError(f"{where}: the word {fields[1]!r} has no {column.upper()} tag; "
                                    f"use the other column (--tag-column) or fix the file")
        if words == 0:
            raise DataError(f"{path}:{start}: a sentence with no words (only comments or multi-word lines)")
        try:
            parsed = conllu.parse("\n".join(lines) + "\n\n")[0]
        except (conllu.exceptions.ParseException, IndexError, ValueError) as err:
            raise DataError(f"{path}:{start}: the sentence starting here is not valid CoNLL-U "
                            f"({str(err).splitlines()[0][:100]})") from None
        kept = [tok for tok in parsed if isinstance(tok["id"], int)]          # syntactic words only
        ids = [tok["id"] for tok in kept]
        if ids != list(range(1, len(ids) + 1)):
            wrong = next(i for i, k in enumerate(ids, 1) if k != i)
            raise DataError(f"{path}:{start}: the sentence starting here numbers its words {ids[:8]}"
                            f"{'...' if len(ids) > 8 else ''}; CoNLL-U numbers them 1, 2, 3, ... (word {wrong} is "
                            f"numbered {ids[wrong - 1]}): the file is damaged or two sentences lack the blank line "
                            "between them")
        sentences.append(TaggedSentence(tuple(t["form"] for t in kept), tuple(t[column] for t in kept),
                                        parsed.metadata.get("text", ""), parsed.metadata.get("sent_id", "")))
    if not sentences:
        raise DataError(f"{str(path)!r} holds no sentences")
    return sentences


def read_word_tag(path: str | Path, encoding: str = "utf-8") -> list[TaggedSentence]:
    """``word<TAB>tag`` one per line with blank lines between sentences, or one sentence per
    line of space-separated ``word/tag`` (the tag after the last slash).

    Raises:
        DataError: naming the file and line of a token without a tag.
    """
    text = read_text(path, encoding)
    sentences = []
    if "\t" in text:
        for start, lines in _blocks(text):
            pairs = []
            for offset, line in enumerate(lines):
                fields = line.rstrip("\r").split("\t")
                if len(fields) > 2:                              # a third column was read into the word
                    raise DataError(f"{path}:{start + offset}: expected word<TAB>tag, got {len(fields)} tab-separated "
                                    f"fields {line[:60]!r}; keep two columns (a CoNLL-U file must be named .conllu)")
                word, sep, tag = line.rstrip("\r").rpartition("\t")
                if not sep or not word.strip() or not tag.strip():
                    raise DataError(f"{path}:{start + offset}: expected word<TAB>tag, got {line[:60]!r}")
                pairs.append((word.strip(), tag.strip()))
            sentences.append(TaggedSentence(tuple(w for w, _ in pairs), tuple(t for _, t in pairs)))
    else:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            pairs = []
            for item in line.split():
                word, sep, tag = item.rpartition("/")
                if not sep or not word or not tag:
                    raise DataError(f"{path}:{number}: expected word/tag, got {item!r}")
                pairs.append((word, tag))
            sentences.append(TaggedSentence(tuple(w for w, _ in pairs), tuple(t for _, t in pairs), line.strip()))
    if not sentences:
        raise DataError(f"{str(path)!r} holds no tagged sentences")
    return sentences


def jieba_tagged(text: str) -> list[TaggedSentence]:
    """Segment and tag raw Chinese with ``jieba.posseg`` (ICTCLAS-style tags: n, v, nr, ...),
    one sentence per non-empty line, as the tutorial builds its training data.

    Raises:
        DataError: if the text has no words.
    """
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    sentences = []
    for line in text.split("\n"):
        pairs = [(p.word, p.flag) for p in jieba.posseg.cut(line.strip()) if p.word.strip()]
        if pairs:
            sentences.append(TaggedSentence(tuple(w for w, _ in pairs), tuple(t for _, t in pairs), line.strip()))
    if not sentences:
        raise DataError("the text has no words for jieba to tag")
    return sentences


def locate_treebank(name: str, download: bool = False) -> dict[str, Path]:
    """Paths of a named treebank's train/dev/test files.

    Raises:
        DataError: when it is not found and ``download`` is False, or the download fails.
    """
    if name not in TREEBANKS:
        raise DataError(f"unknown treebank {name!r}; choose one of: {', '.join(TREEBANKS)}, or pass a file")
    bank = TREEBANKS[name]
    for root in candidates(bank.folder):
        paths = {split: root / fname for split, fname in bank.files.items()}
        if all(p.exists() for p in paths.values()):            # read_conllu says what one is if not a file
            return paths
    if not download:
        looked = ", ".join(str(c) for c in candidates(bank.folder))
        raise DataError(f"treebank {name!r} ({bank.description}) not found (looked in {looked}); "
                        "pass --download to fetch it, or --data PATH to a .conllu file")
    return {split: fetch(bank.url + fname, f"sha256:{bank.sha256[split]}", bank.folder, fname,
                         f"{name} {split} file")
            for split, fname in bank.files.items()}
