"""Labelled text from any CSV, TSV or JSON Lines file (optionally gzipped)."""

from __future__ import annotations

import collections
import csv
import gzip
import logging
import math
from pathlib import Path

from lstmkit.boundary import parse_json
from lstmkit import boundary
from lstmkit.data.datasets.examples import TextExample
from lstmkit.data.text import check_decoded, check_path, is_gzip, is_utf8, normal_label
from lstmkit.errors import DataError, listing

logger = logging.getLogger(__name__)
MAX_FIELD = 2**27          # characters in one cell (128 Mi); csv's default is 131,072
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def table_format(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    fmt = FORMATS.get(suffixes[-1].lower() if suffixes else "")
    if fmt is None:
        raise DataError(f"cannot tell the format of {str(path)!r}; name it .csv, .tsv or .jsonl (optionally .gz)")
    return fmt


def read_table(path: str | Path, text_column: str = "text", label_column: str = "label",
               encoding: str = "utf-8") -> list[TextExample]:
    """Read (text, label) pairs; any number of classes, labels kept as strings (whitespace
    around them dropped and Unicode in NFC form, so "pos" and "pos " are one class, with a
    warning when that merges labels).

    Raises:
        DataError: for a missing file or one that is not a regular file, the same column for
            text and label, a missing column (listing the columns there are), an empty text
            (with its line number), a malformed JSON line, a decoding error, or UTF-8 text read
            with another ``encoding`` (mojibake).
    """
    path = check_path(path, "data file")
    if text_column == label_column:
        raise DataError(f"the text and the label are both read from column {text_column!r}: the model would read its "
                        "own label; choose two columns with --text-column and --label-column")
    fmt = table_format(path)
    opener = gzip.open if is_gzip(path) else open              # by its bytes: a gzipped .jsonl too
    examples: list[TextExample] = []
    codec = "utf-8-sig" if is_utf8(encoding) else encoding         # a byte-order mark is not part of the header
    csv.field_size_limit(MAX_FIELD)
    reader: csv.DictReader | None = None
    try:
        with opener(path, "rt", encoding=codec, newline="") as handle:
            if fmt == "jsonl":
                rows_numbered = ((n, _json_row(path, n, line)) for n, line in enumerate(handle, 1) if line.strip())
            else:
                delimiter = sniff_delimiter(path, handle.readline(), "," if fmt == "csv" else "\t")
                handle.seek(0)
                reader = csv.DictReader(handle, delimiter=delimiter)
                check_header(path, reader.fieldnames or [])
                missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
                if missing:
                    raise DataError(f"{str(path)!r} has no column(s) [{listing(missing)}]; its columns are "
                                    f"[{listing(reader.fieldnames or [], 10)}]; choose them with "
                                    "--text-column/--label-column")
                rows_numbered = ((n, row) for n, row in enumerate(reader, 2))  # line 1 is the header
            json_labels: list[object] = []                  # as JSON wrote them: true, 1, "pos"
            for number, row in rows_numbered:
                examples.append(_example(path, number, row, text_column, label_column, fmt != "jsonl"))
                if fmt == "jsonl":
                    json_labels.append(row[label_column])
            boundary.warn_mixed_label_kinds(str(path), json_labels)
    except UnicodeDecodeError:
        raise DataError(f"{str(path)!r} is not valid {encoding}; pass its encoding with --encoding") from None
    except csv.Error as err:
        line = reader.line_num if reader is not None else "?"
        raise DataError(f"{path}:{line}: not a well-formed {fmt.upper()} row ({err}); a cell may hold an unclosed "
                        f"quote or exceed {MAX_FIELD:,} characters") from None
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {str(path)!r}: {err}") from None
    if not examples:
        raise DataError(f"{str(path)!r} has no rows")
    check_decoded("\n".join(e.label for e in examples) + "\n" + "\n".join(e.text for e in examples), str(path),
                  encoding)
    return _canonical_numeric_labels(normal_labels(path, examples))


def check_header(path: str | Path, names: list[str]) -> None:
    """Every CSV/TSV reader's header rule: each column named once, once surrounding spaces are
    dropped (a reader would keep one copy silently; `text,label,text` trained on the last).
    Linear in the columns: a header of a million columns is checked in a second.

    Raises:
        DataError: naming the repeated columns.
    """
    counts = collections.Counter(n.strip() for n in names)
    twice = sorted(n for n, k in counts.items() if k > 1)
    if twice:
        raise DataError(f"{path}: the header names the column(s) {listing(twice)} more than once; "
                        "rename them so that each column has its own name")


def sniff_delimiter(path: str | Path, header: str, default: str) -> str:
    """``;`` for a European-style CSV (a header with semicolons and no commas), else ``default``."""
    if default == "," and "," not in header and ";" in header:
        logger.info("%s is separated by semicolons; reading it so", path)
        return ";"
    return default


def normal_labels(path: str | Path, examples: list[TextExample]) -> list[TextExample]:
    """Labels through :func:`~lstmkit.data.text.normal_label` (every reader of labelled text
    calls it); a warning names the labels that it merged ("pos" and "pos " would be two
    classes otherwise)."""
    name = {label: normal_label(label) for label in {e.label for e in examples}}
    by_case: dict[str, set[str]] = {}
    for clean in set(name.values()):
        by_case.setdefault(clean.casefold(), set()).add(clean)
    cased = sorted(sorted(v) for v in by_case.values() if len(v) > 1)
    if cased:
        logger.warning("%s: %d label(s) differ only in case, e.g. %s: they are different classes; write them one "
                       "way if they are meant to be one", path, len(cased), listing(cased[0], limit=3))
    if all(k == v for k, v in name.items()):
        return examples
    merged: dict[str, list[str]] = {}
    for raw, clean in name.items():
        merged.setdefault(clean, []).append(raw)
    merged = {clean: sorted(raws) for clean, raws in merged.items() if len(raws) > 1}
    if merged:
        clean, raws = sorted(merged.items())[0]
        logger.warning("%s: %d label(s) written in several ways (spaces around them, or Unicode forms) were merged, "
                       "e.g. %s -> %r; fix the file if they are meant to be different classes",
                       path, len(merged), listing(raws, limit=3), clean)
    return [TextExample(e.text, name[e.label]) for e in examples]


def _canonical_numeric_labels(examples: list[TextExample]) -> list[TextExample]:
    """Labels that are all numbers are written one way: ``1`` and ``1.0`` are the same class."""
    try:
        values = {e.label: float(e.label) for e in examples}
    except ValueError:
        return examples
    if not all(math.isfinite(v) for v in values.values()):
        return examples
    name = {label: str(int(v)) if v.is_integer() else repr(v) for label, v in values.items()}
    if all(k == v for k, v in name.items()):
        return examples
    return [TextExample(e.text, name[e.label]) for e in examples]


def _json_row(path: Path, number: int, line: str) -> dict:
    try:
        row = parse_json(line)
    except ValueError as err:
        raise DataError(f"{path}:{number}: not valid JSON Lines, which hold one JSON object per line ({err}); "
                        "a table is read as JSON Lines (.jsonl/.json), CSV or TSV") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: expected a JSON object per line")
    return row


def _example(path: Path, number: int, row: dict, text_column: str, label_column: str,
             csv_row: bool = True) -> TextExample:
    if csv_row and (None in row or any(v is None for v in row.values())):
        raise DataError(f"{path}:{number}: the row has {'more' if None in row else 'fewer'} fields than the header; "
                        "a cell may hold an unclosed quote or an unquoted delimiter")
    for column in (text_column, label_column):
        if column not in row or (csv_row and row[column] is None):
            raise DataError(f"{path}:{number}: no {column!r} field; its fields are [{listing(sorted(row), 10)}]; "
                            "choose them with --text-column/--label-column")
    text, label = json_text(f"{path}:{number}: {text_column!r}", row[text_column]), row[label_column]
    if not text.strip():
        raise DataError(f"{path}:{number}: empty text; remove the line or fill it in")
    label = boundary.label(f"{path}:{number}: {label_column!r}", label, error=DataError)
    if not label.strip():
        raise DataError(f"{path}:{number}: empty label; remove the line or give it a label")
    return TextExample(text, label)


def json_text(name: str, value: object) -> str:
    """A text field of a JSON line: a string (a CSV cell always is one). A number, list or
    object is refused instead of read as its Python form ("['a', 'film']")."""
    if not isinstance(value, str):
        raise DataError(f"{name} is {boundary.shown(value)}; the text must be a JSON string")
    return value
